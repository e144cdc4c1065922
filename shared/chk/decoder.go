package chk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/hashtree"
	"github.com/communitycube/cube/shared/zfec"
)

// ShareReader gives access to the shares of one file (one storage index).
// Offsets are within the share itself, as the storage protocol's read
// calls address it (not within a server's on-disk container, which wraps
// the share with its own header and leases).
//
// ReadShare returns length bytes of share shnum starting at offset. It may
// return fewer only when the share ends first. It is called concurrently
// for different share numbers, never concurrently for the same one.
type ShareReader interface {
	ReadShare(shnum int, offset int64, length int) ([]byte, error)
}

// DecoderOptions tune a Decoder or Verify. The zero value is fine.
type DecoderOptions struct {
	// Shares lists the share numbers to use, in order of preference (say,
	// the ones servers reported holding, fastest first). Nil means 0..N-1,
	// which prefers the primary shares 0..k-1 that decode without math.
	Shares []int
	// OnCorrupt, if set, is called (synchronously) for each share found
	// corrupt, so the caller can advise the server holding it.
	OnCorrupt func(*CorruptShareError)
}

// groupLeaves is how many adjacent leaves of a hash tree are fetched and
// validated together: one small read then covers that many segments.
const groupLeaves = 64

// Decoder downloads and checks a CHK file from its shares. It validates
// the UEB against the cap, every block against its share's block hash tree
// (anchored in the share hash tree), and every segment's ciphertext against
// the crypttext hash tree before releasing any of it. It uses k shares at a
// time and replaces any that turn out corrupt or unreadable.
//
// Methods are safe for concurrent use but are serialised.
type Decoder struct {
	mu   sync.Mutex
	vc   cap.Verifier
	key  *Key // nil: output ciphertext
	src  ShareReader
	opts DecoderOptions

	queue    []int                // shares not tried yet
	headers  map[int]shareOffsets // headers read while looking for the UEB
	problems []error              // every share error seen
	corrupt  []*CorruptShareError
	fatal    error

	ueb       *UEB
	lay       Layout
	shareTree *hashtree.Partial
	cryptTree *hashtree.Partial
	codec     *zfec.Codec
	active    []*shareState

	cacheSeg int // segment held in cacheBuf, or -1
	cacheBuf []byte
}

type shareState struct {
	shnum     int
	off       shareOffsets
	blockTree *hashtree.Partial
}

// NewDecoder returns a Decoder that yields the plaintext of the file c names.
func NewDecoder(c cap.CHK, src ShareReader, opts *DecoderOptions) (*Decoder, error) {
	d, err := newDecoder(c.Verifier(), src, opts)
	if err != nil {
		return nil, err
	}
	key := c.Key
	d.key = &key
	return d, nil
}

// NewCiphertextDecoder returns a Decoder that yields the ciphertext of the
// file v names, fully validated, without needing the key (for repair or
// for a helper).
func NewCiphertextDecoder(v cap.Verifier, src ShareReader, opts *DecoderOptions) (*Decoder, error) {
	return newDecoder(v, src, opts)
}

func newDecoder(v cap.Verifier, src ShareReader, opts *DecoderOptions) (*Decoder, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	d := &Decoder{vc: v, src: src, headers: map[int]shareOffsets{}, cacheSeg: -1}
	if opts != nil {
		d.opts = *opts
	}
	if d.opts.Shares != nil {
		seen := map[int]bool{}
		for _, s := range d.opts.Shares {
			if s >= 0 && s < v.N && !seen[s] {
				seen[s] = true
				d.queue = append(d.queue, s)
			}
		}
	} else {
		for s := range v.N {
			d.queue = append(d.queue, s)
		}
	}
	return d, nil
}

// Size returns the file size from the cap.
func (d *Decoder) Size() int64 { return d.vc.Size }

// Layout fetches the UEB if needed and returns the file's layout.
func (d *Decoder) Layout() (Layout, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.setup(); err != nil {
		return Layout{}, err
	}
	return d.lay, nil
}

// Corruptions returns the corrupt shares found so far.
func (d *Decoder) Corruptions() []*CorruptShareError {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.corrupt)
}

// WriteTo writes the whole file to w.
func (d *Decoder) WriteTo(w io.Writer) (int64, error) { return d.WriteRange(w, 0, d.vc.Size) }

// WriteRange writes length bytes starting at off to w, fetching only the
// segments that cover them (so a video player can seek). The range is
// clipped to the end of the file.
func (d *Decoder) WriteRange(w io.Writer, off, length int64) (int64, error) {
	if off < 0 || length < 0 {
		return 0, fmt.Errorf("chk: invalid range %d+%d", off, length)
	}
	if off > d.vc.Size {
		return 0, fmt.Errorf("chk: offset %d beyond end of %d-byte file", off, d.vc.Size)
	}
	length = min(length, d.vc.Size-off)
	if length == 0 {
		return 0, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.setup(); err != nil {
		return 0, err
	}
	var written int64
	seg := d.lay.SegmentSize
	out := make([]byte, 0, min(seg, length))
	for pos := off; pos < off+length; {
		s := int(pos / seg)
		data, err := d.segment(s)
		if err != nil {
			return written, err
		}
		from := pos - int64(s)*seg
		to := min(int64(len(data)), off+length-int64(s)*seg)
		chunk := data[from:to]
		if d.key != nil {
			out = out[:len(chunk)]
			NewCTR(*d.key, pos).XORKeyStream(out, chunk)
			chunk = out
		}
		n, err := w.Write(chunk)
		written += int64(n)
		if err != nil {
			return written, err
		}
		pos += int64(len(chunk))
	}
	return written, nil
}

// ReadAt implements io.ReaderAt, so io.NewSectionReader turns a Decoder
// into an io.ReadSeeker (e.g. for http.ServeContent).
func (d *Decoder) ReadAt(p []byte, off int64) (int, error) {
	if off >= d.vc.Size {
		if len(p) == 0 && off == d.vc.Size {
			return 0, nil
		}
		return 0, io.EOF
	}
	n, err := d.WriteRange(&sliceWriter{p: p}, off, int64(len(p)))
	if err == nil && int(n) < len(p) {
		err = io.EOF
	}
	return int(n), err
}

type sliceWriter struct {
	p []byte
	n int
}

func (s *sliceWriter) Write(b []byte) (int, error) {
	n := copy(s.p[s.n:], b)
	s.n += n
	return n, nil
}

// fail records a share problem and reports it to the caller's hook.
func (d *Decoder) fail(err error) {
	d.problems = append(d.problems, err)
	var ce *CorruptShareError
	if errors.As(err, &ce) {
		d.corrupt = append(d.corrupt, ce)
		if d.opts.OnCorrupt != nil {
			d.opts.OnCorrupt(ce)
		}
	}
}

func (d *Decoder) notEnough() error {
	return errors.Join(append([]error{fmt.Errorf("%w: need %d", ErrNotEnoughShares, d.vc.K)}, d.problems...)...)
}

// read returns exactly length bytes of share sh at off. A short read means
// the share is truncated, which is corruption of the region being read.
func (d *Decoder) read(sh int, off int64, length int64, region Region, seg int) ([]byte, error) {
	b, err := d.src.ReadShare(sh, off, int(length))
	if err != nil {
		return nil, &ShareReadError{Shnum: sh, Err: err}
	}
	if int64(len(b)) != length {
		return nil, &CorruptShareError{Shnum: sh, Region: region, Segment: seg, Offset: off, Length: length,
			Err: fmt.Errorf("share truncated: read %d of %d bytes: %w", len(b), length, io.ErrUnexpectedEOF)}
	}
	return b, nil
}

// readHeader reads and parses a share's offset table.
func (d *Decoder) readHeader(sh int) (shareOffsets, error) {
	b, err := d.read(sh, 0, 0x44, RegionHeader, -1)
	if err != nil {
		return shareOffsets{}, err
	}
	o, err := parseHeader(b)
	if err != nil {
		return o, &CorruptShareError{Shnum: sh, Region: RegionHeader, Segment: -1, Length: 0x44, Err: err}
	}
	return o, nil
}

// readUEB reads the UEB of a share and checks it against the cap's hash.
func (d *Decoder) readUEB(sh int, o shareOffsets) ([]byte, error) {
	lb, err := d.read(sh, o.uriExtension, o.fieldSize, RegionUEB, -1)
	if err != nil {
		return nil, err
	}
	var n uint64
	if o.fieldSize == 4 {
		n = uint64(binary.BigEndian.Uint32(lb))
	} else {
		n = binary.BigEndian.Uint64(lb)
	}
	corrupt := func(err error) error {
		return &CorruptShareError{Shnum: sh, Region: RegionUEB, Segment: -1, Offset: o.uriExtension, Length: o.fieldSize + int64(min(n, maxUEBSize)), Err: err}
	}
	if n >= maxUEBSize {
		return nil, corrupt(fmt.Errorf("UEB length %d is implausible", n))
	}
	b, err := d.read(sh, o.uriExtension+o.fieldSize, int64(n), RegionUEB, -1)
	var ce *CorruptShareError
	if errors.As(err, &ce) {
		return nil, corrupt(ce.Err) // truncated: blame the length field too
	}
	if err != nil {
		return nil, err
	}
	if UEBHash(b) != d.vc.UEBHash {
		return nil, corrupt(errors.New("UEB hash does not match the cap"))
	}
	return b, nil
}

// setup finds a valid UEB, after which the file's layout is known.
func (d *Decoder) setup() error {
	if d.fatal != nil {
		return d.fatal
	}
	if d.ueb != nil {
		return nil
	}
	for d.ueb == nil {
		if len(d.queue) == 0 {
			return d.notEnough()
		}
		sh := d.queue[0]
		d.queue = d.queue[1:]
		o, err := d.readHeader(sh)
		if err != nil {
			d.fail(err)
			continue
		}
		raw, err := d.readUEB(sh, o)
		if err != nil {
			d.fail(err)
			continue
		}
		// The UEB is authentic from here on: any problem with it is the
		// uploader's, not this share's, and no other share can fix it.
		u, err := ParseUEB(raw)
		if err == nil {
			d.lay, err = u.checkAgainst(&d.vc)
		}
		if err != nil {
			d.fatal = err
			return err
		}
		d.ueb = u
		d.headers[sh] = o
		d.queue = append([]int{sh}, d.queue...) // already half set up: use it first
	}
	d.shareTree = hashtree.NewPartial(d.vc.N, d.ueb.ShareRootHash)
	d.cryptTree = hashtree.NewPartial(d.lay.NumSegments, d.ueb.CrypttextRootHash)
	var err error
	d.codec, err = zfec.New(d.vc.K, d.vc.N)
	return err
}

// parallel runs f(0..n-1) concurrently: the reads behind them are network
// round trips to different servers.
func parallel(n int, f func(i int)) {
	if n == 1 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i)
		}()
	}
	wg.Wait()
}

// fillActive brings the set of validated shares up to k.
func (d *Decoder) fillActive() error {
	for len(d.active) < d.vc.K && len(d.queue) > 0 {
		take := min(d.vc.K-len(d.active), len(d.queue))
		batch := d.queue[:take]
		d.queue = d.queue[take:]
		type fetched struct {
			off   shareOffsets
			chain []byte
			err   error
		}
		got := make([]fetched, len(batch))
		parallel(len(batch), func(i int) {
			sh := batch[i]
			f := &got[i]
			var ok bool
			if f.off, ok = d.headers[sh]; !ok {
				if f.off, f.err = d.readHeader(sh); f.err != nil {
					return
				}
			}
			if f.err = f.off.check(&d.lay); f.err != nil {
				f.err = &CorruptShareError{Shnum: sh, Region: RegionHeader, Segment: -1, Length: f.off.data, Err: f.err}
				return
			}
			f.chain, f.err = d.read(sh, f.off.shareHashes, f.off.uriExtension-f.off.shareHashes, RegionShareHashes, -1)
		})
		for i, sh := range batch {
			delete(d.headers, sh)
			f := got[i]
			if f.err != nil {
				d.fail(f.err)
				continue
			}
			st, err := d.adoptShare(sh, f.off, f.chain)
			if err != nil {
				d.fail(err)
				continue
			}
			d.active = append(d.active, st)
		}
	}
	if len(d.active) < d.vc.K {
		return d.notEnough()
	}
	return nil
}

// adoptShare validates a share's hash chain against the share root hash and
// anchors its block hash tree on the now-trusted leaf.
func (d *Decoder) adoptShare(sh int, o shareOffsets, chain []byte) (*shareState, error) {
	corrupt := func(err error) error {
		return &CorruptShareError{Shnum: sh, Region: RegionShareHashes, Segment: -1, Offset: o.shareHashes, Length: int64(len(chain)), Err: err}
	}
	nodes, err := parseChain(chain)
	if err != nil {
		return nil, corrupt(err)
	}
	if err := d.shareTree.Add(nodes...); err != nil {
		return nil, corrupt(err)
	}
	leaf, ok := d.shareTree.Leaf(sh)
	if !ok {
		return nil, corrupt(fmt.Errorf("chain does not include share %d's own hash", sh))
	}
	return &shareState{shnum: sh, off: o, blockTree: hashtree.NewPartial(d.lay.NumSegments, leaf)}, nil
}

func parseChain(b []byte) ([]hashtree.Node, error) {
	const entry = 2 + hashtree.HashSize
	if len(b)%entry != 0 {
		return nil, fmt.Errorf("length %d is not a multiple of %d", len(b), entry)
	}
	nodes := make([]hashtree.Node, 0, len(b)/entry)
	for i := 0; i < len(b); i += entry {
		var n hashtree.Node
		n.Index = int(binary.BigEndian.Uint16(b[i:]))
		copy(n.Hash[:], b[i+2:i+entry])
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// groupNodes lists the unvalidated nodes needed to validate leaf together
// with the aligned group of groupLeaves leaves around it, or nil if the
// leaf is already validated.
func groupNodes(t *hashtree.Partial, leaf int) []int {
	if _, ok := t.Leaf(leaf); ok {
		return nil
	}
	p := hashtree.PaddedLeaves(t.NumLeaves())
	g := min(groupLeaves, p)
	first := p - 1
	start := leaf / g * g
	var idx []int
	for j := start; j < start+g; j++ {
		if _, ok := t.Get(first + j); !ok {
			idx = append(idx, first+j)
		}
	}
	x := first + start
	for w := g; w > 1; w /= 2 {
		x = (x - 1) / 2
	}
	for x != 0 {
		s := x + 1
		if x%2 == 0 {
			s = x - 1
		}
		if _, ok := t.Get(s); !ok {
			idx = append(idx, s)
		}
		x = (x - 1) / 2
	}
	slices.Sort(idx)
	return idx
}

// readNodes fetches tree nodes from the tree region at base, coalescing
// nearby indices into single reads.
func (d *Decoder) readNodes(sh int, base int64, idx []int, region Region, seg int) ([]hashtree.Node, error) {
	const maxGap = 16 // nodes; reading a few unneeded hashes beats a round trip
	var nodes []hashtree.Node
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1]-idx[j] <= maxGap {
			j++
		}
		lo, hi := idx[i], idx[j]
		b, err := d.read(sh, base+int64(lo)*hashtree.HashSize, int64(hi-lo+1)*hashtree.HashSize, region, seg)
		if err != nil {
			return nil, err
		}
		for _, k := range idx[i : j+1] {
			var n hashtree.Node
			n.Index = k
			copy(n.Hash[:], b[(k-lo)*hashtree.HashSize:])
			nodes = append(nodes, n)
		}
		i = j + 1
	}
	return nodes, nil
}

// dropActive removes a share from the working set.
func (d *Decoder) dropActive(sh int) {
	d.active = slices.DeleteFunc(d.active, func(s *shareState) bool { return s.shnum == sh })
}

// segment returns the validated ciphertext of segment s.
func (d *Decoder) segment(s int) ([]byte, error) {
	if s == d.cacheSeg {
		return d.cacheBuf, nil
	}
	size, bs := d.lay.segment(s)
	blocks := map[int][]byte{}
	for len(blocks) < d.vc.K {
		if err := d.fillActive(); err != nil {
			return nil, err
		}
		var todo []*shareState
		for _, st := range d.active {
			if _, ok := blocks[st.shnum]; !ok {
				todo = append(todo, st)
			}
		}
		type fetched struct {
			nodes []hashtree.Node
			block []byte
			hash  hashtree.Hash // of block, computed beside the other fetches
			err   error
		}
		got := make([]fetched, len(todo))
		parallel(len(todo), func(i int) {
			st, f := todo[i], &got[i]
			if idx := groupNodes(st.blockTree, s); idx != nil {
				if f.nodes, f.err = d.readNodes(st.shnum, st.off.blockHashes, idx, RegionBlockHashes, s); f.err != nil {
					return
				}
			}
			f.block, f.err = d.read(st.shnum, st.off.data+int64(s)*d.lay.BlockSize, bs, RegionBlock, s)
			if f.err == nil {
				f.hash = hashtree.TaggedHash(tagBlock, f.block)
			}
		})
		for i, st := range todo {
			f := got[i]
			err := f.err
			if err == nil {
				err = d.checkBlock(st, s, f.nodes, f.block, f.hash)
			}
			if err != nil {
				d.fail(err)
				d.dropActive(st.shnum)
				continue
			}
			blocks[st.shnum] = f.block
		}
	}
	ids := make([]int, 0, d.vc.K)
	for sh := range blocks {
		ids = append(ids, sh)
	}
	slices.Sort(ids)
	bl := make([][]byte, len(ids))
	for i, sh := range ids {
		bl[i] = blocks[sh]
	}
	data, err := d.codec.DecodeSegment(bl, ids, int(size))
	if err != nil {
		return nil, err
	}
	if err := d.checkCiphertext(s, data); err != nil {
		return nil, err
	}
	d.cacheSeg, d.cacheBuf = s, data
	return data, nil
}

// checkBlock validates block s of a share, whose hash is blockHash, against
// its block hash tree.
func (d *Decoder) checkBlock(st *shareState, s int, nodes []hashtree.Node, block []byte, blockHash hashtree.Hash) error {
	if len(nodes) > 0 {
		if err := st.blockTree.Add(nodes...); err != nil {
			return &CorruptShareError{Shnum: st.shnum, Region: RegionBlockHashes, Segment: s,
				Offset: st.off.blockHashes, Length: st.off.shareHashes - st.off.blockHashes, Err: err}
		}
	}
	want, _ := st.blockTree.Leaf(s)
	if blockHash != want {
		return &CorruptShareError{Shnum: st.shnum, Region: RegionBlock, Segment: s,
			Offset: st.off.data + int64(s)*d.lay.BlockSize, Length: int64(len(block)),
			Err: errors.New("block hash does not match the block hash tree")}
	}
	return nil
}

// checkCiphertext validates a decoded segment against the crypttext hash
// tree, fetching missing tree nodes from the active shares.
func (d *Decoder) checkCiphertext(s int, data []byte) error {
	for {
		if _, ok := d.cryptTree.Leaf(s); ok {
			break
		}
		if len(d.active) == 0 {
			if err := d.fillActive(); err != nil && len(d.active) == 0 {
				return err
			}
		}
		st := d.active[0]
		nodes, err := d.readNodes(st.shnum, st.off.crypttext, groupNodes(d.cryptTree, s), RegionCrypttextHashes, s)
		if err == nil {
			if err = d.cryptTree.Add(nodes...); err != nil {
				err = &CorruptShareError{Shnum: st.shnum, Region: RegionCrypttextHashes, Segment: s,
					Offset: st.off.crypttext, Length: st.off.blockHashes - st.off.crypttext, Err: err}
			}
		}
		if err != nil {
			d.fail(err)
			d.dropActive(st.shnum)
		}
	}
	want, _ := d.cryptTree.Leaf(s)
	if hashtree.TaggedHash(tagCrypttextSegment, data) != want {
		d.fatal = fmt.Errorf("%w (segment %d)", ErrCiphertextHash, s)
		return d.fatal
	}
	return nil
}
