package chk

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/hashtree"
	"github.com/communitycube/cube/shared/zfec"
)

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Good     []int         // shares that passed every check, ascending
	Problems map[int]error // each other share: *CorruptShareError or *ShareReadError
}

// Verify checks every byte of every listed share (all N by default) using
// only the verify cap: header, UEB, share hash chain, the complete block
// hash tree and crypttext hash tree, and every block. Then it decodes each
// segment from k good blocks and checks the ciphertext against the
// crypttext hash tree and the whole-file crypttext hash.
//
// The report lists bad shares; the error is nil when the file is fully
// recoverable from the good ones, so one corrupt share of a healthy file
// shows up in the report only. Memory: a block per share and 32 bytes per
// segment per share, plus, while reading metadata, both whole hash tree
// regions (64 bytes per segment each) of up to four shares at a time.
func Verify(v cap.Verifier, src ShareReader, opts *DecoderOptions) (*VerifyReport, error) {
	d, err := newDecoder(v, src, opts)
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{Problems: map[int]error{}}
	bad := func(sh int, err error) {
		rep.Problems[sh] = err
		d.fail(err)
	}

	// Phase 1: per-share metadata, fetched in parallel (a few at a time, as
	// each fetch holds two whole hash trees in memory).
	type meta struct {
		off         shareOffsets
		ueb         []byte
		chain       []byte
		blockRegion []byte
		cryptRegion []byte
		err         error
		blockLeaves []hashtree.Hash
	}
	shares := d.queue
	metas := make([]meta, len(shares))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, sh := range shares {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			m := &metas[i]
			if m.off, m.err = d.readHeader(sh); m.err != nil {
				return
			}
			if m.ueb, m.err = d.readUEB(sh, m.off); m.err != nil {
				return
			}
			o := m.off
			if o.data > o.plaintext || o.plaintext > o.crypttext || o.crypttext > o.blockHashes ||
				o.blockHashes > o.shareHashes || o.shareHashes > o.uriExtension || o.uriExtension-o.crypttext > 1<<34 {
				m.err = &CorruptShareError{Shnum: sh, Region: RegionHeader, Segment: -1, Length: o.data, Err: errors.New("offsets out of order")}
				return
			}
			if m.cryptRegion, m.err = d.read(sh, o.crypttext, o.blockHashes-o.crypttext, RegionCrypttextHashes, -1); m.err != nil {
				return
			}
			if m.blockRegion, m.err = d.read(sh, o.blockHashes, o.shareHashes-o.blockHashes, RegionBlockHashes, -1); m.err != nil {
				return
			}
			m.chain, m.err = d.read(sh, o.shareHashes, o.uriExtension-o.shareHashes, RegionShareHashes, -1)
		}()
	}
	wg.Wait()

	var cryptLeaves []hashtree.Hash
	var good []*shareState
	leaves := map[int][]hashtree.Hash{}
	for i, sh := range shares {
		m := &metas[i]
		if m.err != nil {
			bad(sh, m.err)
			continue
		}
		if d.ueb == nil {
			u, err := ParseUEB(m.ueb)
			if err == nil {
				d.lay, err = u.checkAgainst(&d.vc)
			}
			if err != nil {
				return rep, err // authentic yet unusable: the upload itself is broken
			}
			d.ueb = u
			d.shareTree = hashtree.NewPartial(v.N, u.ShareRootHash)
			if d.codec, err = zfec.New(v.K, v.N); err != nil {
				return rep, err
			}
		}
		if err := m.off.check(&d.lay); err != nil {
			bad(sh, &CorruptShareError{Shnum: sh, Region: RegionHeader, Segment: -1, Length: m.off.data, Err: err})
			continue
		}
		st, err := d.adoptShare(sh, m.off, m.chain)
		if err != nil {
			bad(sh, err)
			continue
		}
		root, _ := st.blockTree.Get(0)
		bl, err := checkWholeTree(m.blockRegion, d.lay.NumSegments, root)
		if err != nil {
			bad(sh, &CorruptShareError{Shnum: sh, Region: RegionBlockHashes, Segment: -1, Offset: m.off.blockHashes, Length: int64(len(m.blockRegion)), Err: err})
			continue
		}
		cl, err := checkWholeTree(m.cryptRegion, d.lay.NumSegments, d.ueb.CrypttextRootHash)
		if err != nil {
			bad(sh, &CorruptShareError{Shnum: sh, Region: RegionCrypttextHashes, Segment: -1, Offset: m.off.crypttext, Length: int64(len(m.cryptRegion)), Err: err})
			continue
		}
		if cryptLeaves == nil {
			cryptLeaves = cl
		}
		leaves[sh] = bl
		good = append(good, st)
		*m = meta{} // drop the tree regions
	}
	if d.ueb == nil || len(good) < v.K {
		rep.Good = sortedKeys(leaves)
		return rep, d.notEnough()
	}

	// Phase 2: every block of every good share; decode each segment.
	ctHasher := hashtree.NewHasher(tagCrypttext)
	for s := range d.lay.NumSegments {
		size, bs := d.lay.segment(s)
		blocks := make([][]byte, len(good))
		errs := make([]error, len(good))
		parallel(len(good), func(i int) {
			st := good[i]
			blocks[i], errs[i] = d.read(st.shnum, st.off.data+int64(s)*d.lay.BlockSize, bs, RegionBlock, s)
		})
		var ids []int
		var use [][]byte
		kept := good[:0]
		for i, st := range good {
			err := errs[i]
			if err == nil && hashtree.TaggedHash(tagBlock, blocks[i]) != leaves[st.shnum][s] {
				err = &CorruptShareError{Shnum: st.shnum, Region: RegionBlock, Segment: s,
					Offset: st.off.data + int64(s)*d.lay.BlockSize, Length: bs, Err: errors.New("block hash does not match the block hash tree")}
			}
			if err != nil {
				bad(st.shnum, err)
				delete(leaves, st.shnum)
				continue
			}
			kept = append(kept, st)
			if len(ids) < v.K {
				ids = append(ids, st.shnum)
				use = append(use, blocks[i])
			}
		}
		good = kept
		if len(ids) < v.K {
			rep.Good = sortedKeys(leaves)
			return rep, d.notEnough()
		}
		data, err := d.codec.DecodeSegment(use, ids, int(size))
		if err != nil {
			return rep, err
		}
		if hashtree.TaggedHash(tagCrypttextSegment, data) != cryptLeaves[s] {
			rep.Good = sortedKeys(leaves)
			return rep, fmt.Errorf("%w (segment %d)", ErrCiphertextHash, s)
		}
		ctHasher.Write(data)
	}
	rep.Good = sortedKeys(leaves)
	if d.ueb.HasCrypttextHash && ctHasher.Sum() != d.ueb.CrypttextHash {
		return rep, fmt.Errorf("%w: whole-file crypttext_hash differs", ErrCiphertextHash)
	}
	return rep, nil
}

// checkWholeTree parses a stored hash tree region, recomputes every
// interior node from the stored leaves (and the padding leaves from their
// definition), compares all of them and the root, and returns the leaves.
func checkWholeTree(region []byte, numLeaves int, root hashtree.Hash) ([]hashtree.Hash, error) {
	n := hashtree.NumNodes(numLeaves)
	if len(region) != n*hashtree.HashSize {
		return nil, fmt.Errorf("tree region is %d bytes, expected %d", len(region), n*hashtree.HashSize)
	}
	stored := make([]hashtree.Hash, n)
	for i := range stored {
		copy(stored[i][:], region[i*hashtree.HashSize:])
	}
	first := hashtree.FirstLeaf(numLeaves)
	leaves := stored[first : first+numLeaves]
	full := hashtree.New(leaves)
	for i := range full {
		if full[i] != stored[i] {
			return nil, fmt.Errorf("stored node %d disagrees with its recomputed value", i)
		}
	}
	if full.Root() != root {
		return nil, errors.New("tree root does not match the trusted root")
	}
	return slices.Clone(leaves), nil // not a view: the whole region can be freed
}

func sortedKeys(m map[int][]hashtree.Hash) []int { return slices.Sorted(maps.Keys(m)) }
