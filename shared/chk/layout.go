// Package chk implements Tahoe-LAFS's CHK immutable file format: convergent
// or random AES-128 keys, AES-CTR encryption, segmenting, zfec erasure
// coding, the hash trees that make every block verifiable, the share file
// layout and the URI extension block (UEB). Output is byte-compatible with
// Tahoe-LAFS; docs/spec/chk.md describes the format.
//
// The ciphertext paths (Encoder, NewCiphertextDecoder, Verify) never need the
// key, so a server-side helper can erasure-code data a browser encrypted.
package chk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/hashtree"
)

const (
	// LiteralThreshold is the largest size stored as a LIT cap rather than
	// as shares (Tahoe's URI_LIT_SIZE_THRESHOLD).
	LiteralThreshold = 55
	// DefaultMaxSegmentSize is Tahoe's default maximum segment size.
	DefaultMaxSegmentSize = 128 << 10
	// maxDecodeSegmentSize bounds what a downloader will allocate for one
	// segment, whatever an (authentic but hostile) UEB claims.
	maxDecodeSegmentSize = 128 << 20
	// maxSegments bounds the segment count (8 PiB at 128 KiB segments), so
	// that a hostile cap cannot make a reader size absurd hash trees.
	maxSegments = 1 << 26
	// maxUEBSize is the UEB length above which a share is considered corrupt
	// (the same limit Tahoe applies; real UEBs are ~400 bytes).
	maxUEBSize = 2000
)

// ErrParams is wrapped by errors about invalid encoding parameters.
var ErrParams = errors.New("chk: invalid parameters")

// Params are the uploader's encoding choices.
type Params struct {
	K, N           int   // shares needed to decode, shares produced; 1 <= K <= N <= 256
	MaxSegmentSize int64 // upper bound on the segment size (Tahoe's max_segment_size)
}

// DefaultParams is Tahoe's default: 3-of-10 with 128 KiB segments.
var DefaultParams = Params{K: 3, N: 10, MaxSegmentSize: DefaultMaxSegmentSize}

// Validate reports whether p is usable.
func (p Params) Validate() error {
	if p.K < 1 || p.K > p.N || p.N > cap.MaxShares {
		return fmt.Errorf("%w: k=%d n=%d (need 1 <= k <= n <= %d)", ErrParams, p.K, p.N, cap.MaxShares)
	}
	if p.MaxSegmentSize < 1 {
		return fmt.Errorf("%w: max segment size %d", ErrParams, p.MaxSegmentSize)
	}
	return nil
}

// SegmentSize returns the segment size actually used for a file of the
// given size: the maximum, shrunk to the file size for small files, then
// rounded up to a multiple of K. It is what the convergent key commits to.
func (p Params) SegmentSize(size int64) int64 {
	return nextMultiple(min(p.MaxSegmentSize, size), int64(p.K))
}

// Layout describes a CHK file's segments and the byte layout of each of its
// share files. All shares of a file have the same layout.
type Layout struct {
	Size            int64 // file (plaintext = ciphertext) size
	K, N            int
	SegmentSize     int64
	NumSegments     int
	BlockSize       int64 // SegmentSize / K
	TailSegmentSize int64 // unpadded size of the last segment
	TailBlockSize   int64 // ceil(TailSegmentSize / K)
	ShareDataSize   int64 // ceil(Size / K): all blocks of one share

	Version    int   // share format version: 1 (32-bit offsets) or 2 (64-bit)
	HeaderSize int64 // 0x24 or 0x44

	// Offsets of the share's regions from the start of the share.
	Data              int64
	PlaintextHashTree int64 // unused by the format: written as zeros
	CrypttextHashTree int64
	BlockHashes       int64
	ShareHashes       int64
	URIExtension      int64 // length field, then the UEB

	NumShareHashes int   // (index, hash) pairs in the share hash chain
	UEBSize        int64 // serialised UEB length
	ShareSize      int64 // total length of one share file
}

// SegmentHashTreeSize returns the size of each of the three per-segment hash
// tree regions.
func (l *Layout) SegmentHashTreeSize() int64 {
	return int64(hashtree.NumNodes(l.NumSegments)) * hashtree.HashSize
}

// Layout computes the layout of a file of the given size encoded with p.
func (p Params) Layout(size int64) (Layout, error) {
	if err := p.Validate(); err != nil {
		return Layout{}, err
	}
	return NewLayout(size, p.K, p.N, p.SegmentSize(size))
}

// NewLayout computes the layout for an explicit (already effective)
// segment size, as read back from a UEB.
func NewLayout(size int64, k, n int, segSize int64) (Layout, error) {
	l := Layout{Size: size, K: k, N: n, SegmentSize: segSize}
	switch {
	case k < 1 || k > n || n > cap.MaxShares:
		return l, fmt.Errorf("%w: k=%d n=%d", ErrParams, k, n)
	case size < 1:
		return l, fmt.Errorf("%w: a CHK file needs at least one byte (size %d)", ErrParams, size)
	case segSize < 1 || segSize%int64(k) != 0:
		return l, fmt.Errorf("%w: segment size %d is not a positive multiple of k=%d", ErrParams, segSize, k)
	}
	numSeg := (size-1)/segSize + 1
	if numSeg > maxSegments {
		return l, fmt.Errorf("%w: %d segments is too many (at most %d; use larger segments)", ErrParams, numSeg, maxSegments)
	}
	l.NumSegments = int(numSeg)
	l.BlockSize = segSize / int64(k)
	l.TailSegmentSize = size - (numSeg-1)*segSize
	l.TailBlockSize = (l.TailSegmentSize + int64(k) - 1) / int64(k)
	l.ShareDataSize = (size + int64(k) - 1) / int64(k)
	l.NumShareHashes = len(hashtree.Chain(n, 0, true))
	// The UEB's length does not depend on its hash values, so marshalling it
	// with zero hashes tells how much room to reserve before they are known.
	l.UEBSize = int64(len(newUEB(&l).Marshal()))

	treeSize := l.SegmentHashTreeSize()
	place := func(header int64) {
		l.HeaderSize = header
		x := header
		l.Data = x
		x += l.ShareDataSize
		l.PlaintextHashTree = x
		x += treeSize
		l.CrypttextHashTree = x
		x += treeSize
		l.BlockHashes = x
		x += treeSize
		l.ShareHashes = x
		x += int64(l.NumShareHashes) * (2 + hashtree.HashSize)
		l.URIExtension = x
	}
	// Version 1 is used whenever every value fits its 32-bit fields, like
	// Tahoe does, so that small shares stay readable by old clients.
	place(0x24)
	l.Version = 1
	if l.BlockSize >= 1<<32 || l.ShareDataSize >= 1<<32 || l.URIExtension >= 1<<32 {
		place(0x44)
		l.Version = 2
	}
	fieldSize := int64(4)
	if l.Version == 2 {
		fieldSize = 8
	}
	l.ShareSize = l.URIExtension + fieldSize + l.UEBSize
	return l, nil
}

// segment returns the unpadded size and the block size of segment s.
func (l *Layout) segment(s int) (size, blockSize int64) {
	if s == l.NumSegments-1 {
		return l.TailSegmentSize, l.TailBlockSize
	}
	return l.SegmentSize, l.BlockSize
}

func (l *Layout) fieldSize() int64 {
	if l.Version == 2 {
		return 8
	}
	return 4
}

// header serialises the share's version, sizes and offset table.
func (l *Layout) header() []byte {
	vals := []uint64{uint64(l.BlockSize), uint64(l.ShareDataSize), uint64(l.Data), uint64(l.PlaintextHashTree),
		uint64(l.CrypttextHashTree), uint64(l.BlockHashes), uint64(l.ShareHashes), uint64(l.URIExtension)}
	b := binary.BigEndian.AppendUint32(nil, uint32(l.Version))
	for _, v := range vals {
		if l.Version == 1 {
			b = binary.BigEndian.AppendUint32(b, uint32(v))
		} else {
			b = binary.BigEndian.AppendUint64(b, v)
		}
	}
	return b
}

// shareOffsets is the offset table read back from a share.
type shareOffsets struct {
	version                                                            int
	fieldSize                                                          int64
	data, plaintext, crypttext, blockHashes, shareHashes, uriExtension int64
}

// parseHeader decodes a share's version and offset table. The block size
// and data size fields are informational in the format and are ignored.
func parseHeader(b []byte) (shareOffsets, error) {
	var o shareOffsets
	if len(b) < 4 {
		return o, errors.New("share shorter than its version field")
	}
	o.version = int(binary.BigEndian.Uint32(b))
	var table []int64
	switch o.version {
	case 1:
		if len(b) < 0x24 {
			return o, errors.New("v1 header truncated")
		}
		o.fieldSize = 4
		for i := 0x0c; i < 0x24; i += 4 {
			table = append(table, int64(binary.BigEndian.Uint32(b[i:])))
		}
	case 2:
		if len(b) < 0x44 {
			return o, errors.New("v2 header truncated")
		}
		o.fieldSize = 8
		for i := 0x14; i < 0x44; i += 8 {
			v := binary.BigEndian.Uint64(b[i:])
			if v > math.MaxInt64 {
				return o, fmt.Errorf("offset %d out of range", v)
			}
			table = append(table, int64(v))
		}
	default:
		return o, fmt.Errorf("unknown share version %d", o.version)
	}
	o.data, o.plaintext, o.crypttext, o.blockHashes, o.shareHashes, o.uriExtension =
		table[0], table[1], table[2], table[3], table[4], table[5]
	return o, nil
}

// check compares a share's offset table with the layout the UEB implies.
// Any difference means the share cannot be one of this file's shares.
func (o *shareOffsets) check(l *Layout) error {
	want, err := NewLayout(l.Size, l.K, l.N, l.SegmentSize)
	if err != nil {
		return err
	}
	if o.version != want.Version {
		// Tahoe can be told to write v2 shares for small files; accept
		// either version by recomputing with that header size.
		want = relayout(want, o.version)
	}
	got := [6]int64{o.data, o.plaintext, o.crypttext, o.blockHashes, o.shareHashes, o.uriExtension}
	exp := [6]int64{want.Data, want.PlaintextHashTree, want.CrypttextHashTree, want.BlockHashes, want.ShareHashes, want.URIExtension}
	if got != exp {
		return fmt.Errorf("offset table %v does not match the expected %v", got, exp)
	}
	return nil
}

// relayout returns l re-placed for the given share version.
func relayout(l Layout, version int) Layout {
	shift := int64(0x44 - 0x24)
	if version == 1 {
		shift = -shift
	}
	l.Version, l.HeaderSize = version, l.HeaderSize+shift
	l.Data += shift
	l.PlaintextHashTree += shift
	l.CrypttextHashTree += shift
	l.BlockHashes += shift
	l.ShareHashes += shift
	l.URIExtension += shift
	l.ShareSize = l.URIExtension + l.fieldSize() + l.UEBSize
	return l
}

func nextMultiple(x, k int64) int64 { return (x + k - 1) / k * k }
