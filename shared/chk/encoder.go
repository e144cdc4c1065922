package chk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/hashtree"
	"github.com/communitycube/cube/shared/zfec"
)

// ShareWriter receives share bytes as the encoder produces them.
//
// For each share the encoder writes strictly sequentially: every call for
// share shnum starts where the previous one for that share ended, beginning
// at offset 0 and ending at Layout.ShareSize, with no gaps or overlaps. So a
// writer may stream each share as one append-only body. Calls come from a
// single goroutine; p is only valid during the call.
//
// An error aborts the encode. A writer that prefers to lose one share and
// carry on (as Tahoe does while enough servers remain) should record the
// failure itself and return nil.
type ShareWriter interface {
	WriteShare(shnum int, p []byte, off int64) error
}

// WriterAts adapts one io.WriterAt per share to a ShareWriter. A nil entry
// discards that share.
type WriterAts []io.WriterAt

// WriteShare implements ShareWriter.
func (w WriterAts) WriteShare(shnum int, p []byte, off int64) error {
	if w[shnum] == nil {
		return nil
	}
	_, err := w[shnum].WriteAt(p, off)
	return err
}

// Discard is a ShareWriter that drops everything, for computing a cap
// without storing shares.
var Discard ShareWriter = discard{}

type discard struct{}

func (discard) WriteShare(int, []byte, int64) error { return nil }

// Result describes a finished encode.
type Result struct {
	Layout  Layout
	UEB     []byte        // serialised URI extension block
	UEBHash hashtree.Hash // goes into the caps
}

// ReadCap returns the read cap, given the key the ciphertext was made with.
func (r *Result) ReadCap(key Key) cap.CHK {
	return cap.CHK{Key: key, UEBHash: r.UEBHash, K: r.Layout.K, N: r.Layout.N, Size: r.Layout.Size}
}

// VerifyCap returns the verify cap, given the storage index.
func (r *Result) VerifyCap(si [cap.StorageIndexSize]byte) cap.Verifier {
	return cap.Verifier{StorageIndex: si, UEBHash: r.UEBHash, K: r.Layout.K, N: r.Layout.N, Size: r.Layout.Size}
}

// Encoder erasure-codes a stream of ciphertext into n shares. It never sees
// the key. Feed it exactly Layout().Size bytes with Write or ReadFrom, then
// call Close.
//
// Memory: one segment of input plus n-k parity blocks (about
// SegmentSize·n/k bytes), plus 32 bytes per segment per share for block
// hashes and 32 per segment for ciphertext hashes, which must be kept until
// the trees are written after the data; Close briefly adds about four
// copies of one tree (64 bytes per segment each). For 10 GiB at 3-of-10
// with 128 KiB segments that is ~29 MiB of hashes and a ~43 MiB peak.
type Encoder struct {
	lay   Layout
	w     ShareWriter
	codec *zfec.Codec

	seg    []byte   // one padded segment: the k primary blocks back to back
	parity []byte   // n-k parity blocks back to back
	shares [][]byte // n block views into seg and parity
	fill   int64    // bytes of the current segment received
	segnum int
	total  int64

	segHasher   *hashtree.Hasher // crypttext segment hash
	flatHasher  *hashtree.Hasher // crypttext hash of the whole file
	cryptLeaves []hashtree.Hash
	blockLeaves [][]hashtree.Hash // [share][segment]

	err    error
	closed bool
}

// ErrSize is wrapped when the ciphertext is longer or shorter than declared.
var ErrSize = errors.New("chk: ciphertext length differs from the declared size")

// NewEncoder starts encoding a file of size bytes (size > LiteralThreshold
// for Tahoe compatibility, though any size ≥ 1 works) and writes the share
// headers.
func NewEncoder(size int64, p Params, w ShareWriter) (*Encoder, error) {
	lay, err := p.Layout(size)
	if err != nil {
		return nil, err
	}
	codec, err := zfec.New(lay.K, lay.N)
	if err != nil {
		return nil, err
	}
	e := &Encoder{
		lay: lay, w: w, codec: codec,
		seg:         make([]byte, lay.SegmentSize),
		parity:      make([]byte, lay.BlockSize*int64(lay.N-lay.K)),
		shares:      make([][]byte, lay.N),
		segHasher:   hashtree.NewHasher(tagCrypttextSegment),
		flatHasher:  hashtree.NewHasher(tagCrypttext),
		cryptLeaves: make([]hashtree.Hash, 0, lay.NumSegments),
		blockLeaves: make([][]hashtree.Hash, lay.N),
	}
	for i := range e.blockLeaves {
		e.blockLeaves[i] = make([]hashtree.Hash, 0, lay.NumSegments)
	}
	hdr := lay.header()
	for sh := range lay.N {
		if err := w.WriteShare(sh, hdr, 0); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Layout returns the layout of the shares being written.
func (e *Encoder) Layout() Layout { return e.lay }

// segLen is the unpadded length of the current segment.
func (e *Encoder) segLen() int64 {
	s, _ := e.lay.segment(e.segnum)
	return s
}

// Write consumes ciphertext. Writing past the declared size is an error.
func (e *Encoder) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n := 0
	for len(p) > 0 {
		if e.segnum >= e.lay.NumSegments {
			e.err = fmt.Errorf("%w: more than %d bytes", ErrSize, e.lay.Size)
			return n, e.err
		}
		c := copy(e.seg[e.fill:e.segLen()], p)
		e.fill += int64(c)
		n += c
		p = p[c:]
		if err := e.maybeFlush(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// ReadFrom reads ciphertext from r straight into the segment buffer until
// the declared size is reached or r returns io.EOF; it never reads beyond
// the declared size.
func (e *Encoder) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for e.err == nil && e.segnum < e.lay.NumSegments {
		n, err := r.Read(e.seg[e.fill:e.segLen()])
		e.fill += int64(n)
		total += int64(n)
		if ferr := e.maybeFlush(); ferr != nil {
			return total, ferr
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
	return total, e.err
}

func (e *Encoder) maybeFlush() error {
	if e.fill < e.segLen() {
		return nil
	}
	if err := e.encodeSegment(); err != nil {
		e.err = err
		return err
	}
	return nil
}

// encodeSegment hashes, pads and erasure-codes the full current segment and
// pushes one block to each share.
func (e *Encoder) encodeSegment() error {
	l := &e.lay
	size, bs := l.segment(e.segnum)
	data := e.seg[:size]
	// The two whole-segment hashes only read data, so they can run while
	// the parity is computed and the blocks are hashed.
	var segHash hashtree.Hash
	hashSeg := func() {
		e.segHasher.Reset(tagCrypttextSegment)
		e.segHasher.Write(data)
		segHash = e.segHasher.Sum()
		e.flatHasher.Write(data)
	}
	var wg sync.WaitGroup
	if runtime.GOMAXPROCS(0) > 1 && size >= 64<<10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hashSeg()
		}()
	} else {
		hashSeg()
	}
	padded := e.seg[:bs*int64(l.K)]
	clear(padded[size:]) // the tail is zero-padded to a multiple of k
	for i := range l.N {
		if i < l.K {
			e.shares[i] = padded[int64(i)*bs : int64(i+1)*bs]
		} else {
			j := int64(i - l.K)
			e.shares[i] = e.parity[j*bs : (j+1)*bs]
		}
	}
	err := e.codec.Encode(e.shares)
	var hashes []hashtree.Hash
	if err == nil {
		hashes = hashBlocks(e.shares)
	}
	wg.Wait()
	if err != nil {
		return err
	}
	e.cryptLeaves = append(e.cryptLeaves, segHash)
	off := l.Data + int64(e.segnum)*l.BlockSize
	for i, b := range e.shares {
		e.blockLeaves[i] = append(e.blockLeaves[i], hashes[i])
		if err := e.w.WriteShare(i, b, off); err != nil {
			return err
		}
	}
	e.total += size
	e.fill = 0
	e.segnum++
	return nil
}

// hashBlocks computes the block hash of every block, spreading the work
// over the available CPUs: hashing n/k times the data is the encoder's
// largest cost after I/O.
func hashBlocks(blocks [][]byte) []hashtree.Hash {
	out := make([]hashtree.Hash, len(blocks))
	workers := min(runtime.GOMAXPROCS(0), len(blocks))
	if workers <= 1 || len(blocks[0]) < 16<<10 {
		for i, b := range blocks {
			out[i] = hashtree.TaggedHash(tagBlock, b)
		}
		return out
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(blocks); i += workers {
				out[i] = hashtree.TaggedHash(tagBlock, blocks[i])
			}
		}()
	}
	wg.Wait()
	return out
}

// Close checks that exactly Size bytes arrived, then writes the hash trees,
// share hash chains and UEB to every share and returns the result.
func (e *Encoder) Close() (*Result, error) {
	if e.closed {
		return nil, errors.New("chk: encoder already closed")
	}
	e.closed = true
	if e.err != nil {
		return nil, e.err
	}
	l := &e.lay
	if e.segnum != l.NumSegments {
		return nil, fmt.Errorf("%w: got %d of %d bytes", ErrSize, e.total+e.fill, l.Size)
	}
	e.seg, e.parity = nil, nil // no longer needed; let the trees use the memory

	cryptTree := hashtree.New(e.cryptLeaves)
	roots := make([]hashtree.Hash, l.N)
	for i := range roots {
		roots[i] = hashtree.Root(e.blockLeaves[i])
	}
	shareTree := hashtree.New(roots)

	u := newUEB(l)
	u.CrypttextHash = e.flatHasher.Sum()
	u.CrypttextRootHash = cryptTree.Root()
	u.ShareRootHash = shareTree.Root()
	ueb := u.Marshal()
	if int64(len(ueb)) != l.UEBSize {
		return nil, fmt.Errorf("chk: internal error: UEB is %d bytes, layout reserved %d", len(ueb), l.UEBSize)
	}

	treeBytes := l.SegmentHashTreeSize()
	zeros := make([]byte, min(treeBytes, 1<<20))
	cryptBytes := treeToBytes(nil, cryptTree)
	var tail []byte
	for sh := range l.N {
		// Unused plaintext hash tree: zeros, written in bounded chunks.
		for off := int64(0); off < treeBytes; off += int64(len(zeros)) {
			n := min(int64(len(zeros)), treeBytes-off)
			if err := e.w.WriteShare(sh, zeros[:n], l.PlaintextHashTree+off); err != nil {
				return nil, err
			}
		}
		if err := e.w.WriteShare(sh, cryptBytes, l.CrypttextHashTree); err != nil {
			return nil, err
		}
		// Block hash tree, share hash chain, UEB length and UEB are
		// contiguous: send them as one write.
		tail = treeToBytes(tail[:0], hashtree.New(e.blockLeaves[sh]))
		e.blockLeaves[sh] = nil
		for _, idx := range chainOrder(l.N, sh) {
			tail = binary.BigEndian.AppendUint16(tail, uint16(idx))
			tail = append(tail, shareTree[idx][:]...)
		}
		if l.Version == 1 {
			tail = binary.BigEndian.AppendUint32(tail, uint32(len(ueb)))
		} else {
			tail = binary.BigEndian.AppendUint64(tail, uint64(len(ueb)))
		}
		tail = append(tail, ueb...)
		if int64(len(tail)) != l.ShareSize-l.BlockHashes {
			return nil, fmt.Errorf("chk: internal error: share tail is %d bytes, expected %d", len(tail), l.ShareSize-l.BlockHashes)
		}
		if err := e.w.WriteShare(sh, tail, l.BlockHashes); err != nil {
			return nil, err
		}
	}
	return &Result{Layout: *l, UEB: ueb, UEBHash: UEBHash(ueb)}, nil
}

func treeToBytes(dst []byte, t hashtree.Tree) []byte {
	for i := range t {
		dst = append(dst, t[i][:]...)
	}
	return dst
}

// EncodeCiphertext is NewEncoder, ReadFrom and Close in one call: it reads
// exactly size bytes of ciphertext from r.
func EncodeCiphertext(r io.Reader, size int64, p Params, w ShareWriter) (*Result, error) {
	e, err := NewEncoder(size, p, w)
	if err != nil {
		return nil, err
	}
	if _, err := e.ReadFrom(r); err != nil {
		return nil, err
	}
	return e.Close()
}
