package chk

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/hashtree"
	"github.com/communitycube/cube/shared/netstring"
)

// A Proof lets a downloader check ciphertext that an untrusted party (the
// node serving a file over HTTP) hands it, segment by segment, without the
// shares: the UEB, whose hash is in the cap, and every segment's crypttext
// hash (the leaves of the crypttext hash tree), whose Merkle root is in the
// UEB. The node reads it from one share (ReadProof) and sends it along; the
// client checks it against its cap (CheckProof) and then every segment it
// receives (CheckSegment), before decrypting anything.
//
// This file is pure Go and builds for wasm: the browser runs CheckProof.
type Proof struct {
	// UEB is the serialised URI extension block.
	UEB []byte
	// SegmentHashes holds each segment's crypttext hash, in order.
	SegmentHashes []hashtree.Hash
	// Layout is the file's layout as the UEB gives it (Size, SegmentSize,
	// NumSegments, TailSegmentSize...).
	Layout Layout

	ueb *UEB
}

// MaxProofSegments bounds the segments of a file whose proof is read or
// checked: 2^20 hashes are 32 MiB. At the node's 1 MiB segments that is a
// 1 TiB file; smaller segments shrink the limit, so an uploader asking for
// tiny segments is refused at the start rather than at the first download.
const MaxProofSegments = 1 << 20

// ErrProof is wrapped by every error of CheckProof and CheckSegment: the
// data does not match the cap, so whoever served it is lying or broken.
var ErrProof = errors.New("chk: the file does not match its cap")

// SegmentHashBytes returns the segment hashes concatenated, 32 bytes each,
// as api.Proof carries them.
func (p *Proof) SegmentHashBytes() []byte {
	b := make([]byte, 0, len(p.SegmentHashes)*hashtree.HashSize)
	for _, h := range p.SegmentHashes {
		b = append(b, h[:]...)
	}
	return b
}

// CrypttextHash returns the UEB's hash of the whole ciphertext, if it has
// one (helper.NewCrypttextHasher computes the same over a whole file).
func (p *Proof) CrypttextHash() (hashtree.Hash, bool) {
	return p.ueb.CrypttextHash, p.ueb.HasCrypttextHash
}

// Segment returns the byte range of segment i in the file: its offset and
// length (the last segment may be shorter).
func (p *Proof) Segment(i int) (off, length int64) {
	size, _ := p.Layout.segment(i)
	return int64(i) * p.Layout.SegmentSize, size
}

// CheckSegment checks the ciphertext of segment i (exactly the bytes of
// Segment(i)) against its hash. A wrong, truncated, padded or misplaced
// segment is refused.
func (p *Proof) CheckSegment(i int, ciphertext []byte) error {
	if i < 0 || i >= p.Layout.NumSegments {
		return fmt.Errorf("%w: segment %d does not exist (the file has %d)", ErrProof, i, p.Layout.NumSegments)
	}
	if _, want := p.Segment(i); int64(len(ciphertext)) != want {
		return fmt.Errorf("%w: segment %d has %d bytes, expected %d (truncated or padded)", ErrProof, i, len(ciphertext), want)
	}
	return p.checkSegmentHash(i, hashtree.TaggedHash(tagCrypttextSegment, ciphertext))
}

// SegmentHashPrefix is what a segment's crypttext hash starts with: the
// hash is SHA-256(SHA-256(SegmentHashPrefix() ‖ ciphertext)). For callers
// that compute the inner SHA-256 elsewhere (WebCrypto in the browser) and
// check it with CheckSegmentDigest.
func SegmentHashPrefix() []byte { return netstring.Encode([]byte(tagCrypttextSegment)) }

// CheckSegmentDigest is CheckSegment for a caller that hashed the
// ciphertext itself: inner is SHA-256(SegmentHashPrefix() ‖ ciphertext) and
// size the ciphertext's length.
func (p *Proof) CheckSegmentDigest(i int, size int, inner [32]byte) error {
	if i < 0 || i >= p.Layout.NumSegments {
		return fmt.Errorf("%w: segment %d does not exist (the file has %d)", ErrProof, i, p.Layout.NumSegments)
	}
	if _, want := p.Segment(i); int64(size) != want {
		return fmt.Errorf("%w: segment %d has %d bytes, expected %d (truncated or padded)", ErrProof, i, size, want)
	}
	return p.checkSegmentHash(i, hashtree.Hash(sha256.Sum256(inner[:])))
}

func (p *Proof) checkSegmentHash(i int, h hashtree.Hash) error {
	if h != p.SegmentHashes[i] {
		return fmt.Errorf("%w: segment %d's ciphertext does not match its hash", ErrProof, i)
	}
	return nil
}

// CheckProof checks a proof received from an untrusted source against the
// cap the client holds (a read cap's Verifier(), or a verify cap): the UEB
// must hash to the cap's UEB hash and agree with its k, n and size, and the
// segment hashes (32 bytes each, as api.Proof carries them) must be exactly
// the file's segments and have the UEB's crypttext root as Merkle root.
func CheckProof(v cap.Verifier, ueb, segmentHashes []byte) (*Proof, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	if len(ueb) >= maxUEBSize {
		return nil, fmt.Errorf("%w: the UEB is %d bytes long", ErrProof, len(ueb))
	}
	if UEBHash(ueb) != v.UEBHash {
		return nil, fmt.Errorf("%w: the UEB does not hash to the cap's UEB hash", ErrProof)
	}
	u, err := ParseUEB(ueb)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProof, err)
	}
	lay, err := u.checkAgainst(&v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProof, err)
	}
	if lay.NumSegments > MaxProofSegments {
		return nil, fmt.Errorf("%w: %d segments is more than a proof may hold (%d)", ErrProof, lay.NumSegments, MaxProofSegments)
	}
	if len(segmentHashes) != lay.NumSegments*hashtree.HashSize {
		return nil, fmt.Errorf("%w: %d bytes of segment hashes for a file of %d segments (want %d)",
			ErrProof, len(segmentHashes), lay.NumSegments, lay.NumSegments*hashtree.HashSize)
	}
	leaves := make([]hashtree.Hash, lay.NumSegments)
	for i := range leaves {
		copy(leaves[i][:], segmentHashes[i*hashtree.HashSize:])
	}
	if hashtree.Root(leaves) != u.CrypttextRootHash {
		return nil, fmt.Errorf("%w: the segment hashes do not match the UEB's crypttext root hash", ErrProof)
	}
	return &Proof{UEB: append([]byte(nil), ueb...), SegmentHashes: leaves, Layout: lay, ueb: u}, nil
}

// ReadProof reads a file's proof from its shares: the UEB and the leaves of
// the crypttext hash tree of one share (every share carries the same),
// checked against v and the UEB's crypttext root. Shares are tried in the
// order of opts.Shares (default 0..N-1) until one yields a valid proof;
// corrupt ones are reported through opts.OnCorrupt. It needs no key.
func ReadProof(v cap.Verifier, src ShareReader, opts *DecoderOptions) (*Proof, error) {
	d, err := newDecoder(v, src, opts)
	if err != nil {
		return nil, err
	}
	for _, sh := range d.queue {
		p, err := d.readProof(sh)
		if err == nil {
			return p, nil
		}
		var ce *CorruptShareError
		var re *ShareReadError
		if !errors.As(err, &ce) && !errors.As(err, &re) {
			return nil, err // the (authentic) UEB contradicts the cap: no share can help
		}
		d.fail(err)
	}
	return nil, errors.Join(append([]error{fmt.Errorf("%w: no share yields the file's proof", ErrNotEnoughShares)}, d.problems...)...)
}

func (d *Decoder) readProof(sh int) (*Proof, error) {
	o, err := d.readHeader(sh)
	if err != nil {
		return nil, err
	}
	raw, err := d.readUEB(sh, o)
	if err != nil {
		return nil, err
	}
	u, err := ParseUEB(raw)
	if err != nil {
		return nil, err
	}
	lay, err := u.checkAgainst(&d.vc)
	if err != nil {
		return nil, err
	}
	if lay.NumSegments > MaxProofSegments {
		return nil, fmt.Errorf("chk: %d segments is more than a proof may hold (%d)", lay.NumSegments, MaxProofSegments)
	}
	if err := o.check(&lay); err != nil {
		return nil, &CorruptShareError{Shnum: sh, Region: RegionHeader, Segment: -1, Length: o.data, Err: err}
	}
	first := int64(hashtree.FirstLeaf(lay.NumSegments))
	off := o.crypttext + first*hashtree.HashSize
	n := int64(lay.NumSegments) * hashtree.HashSize
	b, err := d.read(sh, off, n, RegionCrypttextHashes, -1)
	if err != nil {
		return nil, err
	}
	leaves := make([]hashtree.Hash, lay.NumSegments)
	for i := range leaves {
		copy(leaves[i][:], b[i*hashtree.HashSize:])
	}
	if hashtree.Root(leaves) != u.CrypttextRootHash {
		return nil, &CorruptShareError{Shnum: sh, Region: RegionCrypttextHashes, Segment: -1, Offset: off, Length: n,
			Err: errors.New("crypttext hash tree leaves do not match the UEB's crypttext root")}
	}
	return &Proof{UEB: raw, SegmentHashes: leaves, Layout: lay, ueb: u}, nil
}
