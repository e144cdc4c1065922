package hashtree

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
)

// PaddedLeaves returns the number of leaf slots of a tree over n leaves: n
// rounded up to a power of two (1 for n <= 1).
func PaddedLeaves(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}

// NumNodes returns how many nodes a tree over n leaves stores (2P-1).
func NumNodes(n int) int { return 2*PaddedLeaves(n) - 1 }

// FirstLeaf returns the node index of leaf 0 in a tree over n leaves.
func FirstLeaf(n int) int { return PaddedLeaves(n) - 1 }

// Tree is a complete tree: all NumNodes(len(leaves)) nodes in node order.
type Tree []Hash

// New builds the complete tree over leaves, padding with EmptyLeafHash.
func New(leaves []Hash) Tree {
	p := PaddedLeaves(len(leaves))
	t := make(Tree, 2*p-1)
	copy(t[p-1:], leaves)
	for i := len(leaves); i < p; i++ {
		t[p-1+i] = EmptyLeafHash(i)
	}
	for i := p - 2; i >= 0; i-- {
		t[i] = PairHash(t[2*i+1], t[2*i+2])
	}
	return t
}

// Root returns the root hash.
func (t Tree) Root() Hash { return t[0] }

// Root computes the root over leaves without keeping the whole tree: it
// needs only len(leaves)/2 hashes of scratch space.
func Root(leaves []Hash) Hash {
	p := PaddedLeaves(len(leaves))
	if p == 1 {
		if len(leaves) == 1 {
			return leaves[0]
		}
		return EmptyLeafHash(0)
	}
	row := make([]Hash, p/2)
	leaf := func(i int) Hash {
		if i < len(leaves) {
			return leaves[i]
		}
		return EmptyLeafHash(i)
	}
	for i := range row {
		row[i] = PairHash(leaf(2*i), leaf(2*i+1))
	}
	for n := len(row); n > 1; n /= 2 {
		for i := 0; i < n/2; i++ {
			row[i] = PairHash(row[2*i], row[2*i+1])
		}
	}
	return row[0]
}

// Chain returns the node indices needed to check leaf number leaf of a tree
// over n leaves against a trusted root: the sibling of every node on the path
// up to (not including) the root, deepest first, plus the leaf itself first
// when includeLeaf is set.
func Chain(n, leaf int, includeLeaf bool) []int {
	here := FirstLeaf(n) + leaf
	var out []int
	if includeLeaf {
		out = append(out, here)
	}
	for here != 0 {
		out = append(out, sibling(here))
		here = parent(here)
	}
	return out
}

func parent(i int) int { return (i - 1) / 2 }

func sibling(i int) int {
	if i%2 == 1 {
		return i + 1
	}
	return i - 1
}

func depth(i int) int { return bits.Len(uint(i+1)) - 1 }

// Errors reported by Partial.Add, wrapped with detail.
var (
	// ErrBadHash means a supplied hash contradicts the trusted root.
	ErrBadHash = errors.New("hashtree: hash mismatch")
	// ErrNotEnoughHashes means a supplied hash could not be tied to the root
	// because a sibling was neither known nor supplied.
	ErrNotEnoughHashes = errors.New("hashtree: not enough hashes to validate")
)

// Node is one hash together with its node index.
type Node struct {
	Index int
	Hash  Hash
}

// Partial is a tree that starts knowing only its trusted root and accepts
// hashes from an untrusted source, keeping only those it has proven to be
// consistent with the root. It lets a downloader check blocks one at a time
// as they arrive, fetching each interior hash at most once.
//
// Storage is allocated in pages as nodes are validated, so reading a few
// segments of a huge file costs memory for those segments' chains only.
type Partial struct {
	numLeaves int
	first     int
	numNodes  int
	pages     []*page
}

const pageBits = 9 // 512 nodes, ~17 KiB per page

type page struct {
	h     [1 << pageBits]Hash
	known [1 << pageBits]bool
}

// NewPartial returns a Partial tree over numLeaves leaves with the given root.
func NewPartial(numLeaves int, root Hash) *Partial {
	n := NumNodes(numLeaves)
	t := &Partial{numLeaves: numLeaves, first: FirstLeaf(numLeaves), numNodes: n,
		pages: make([]*page, (n>>pageBits)+1)}
	t.set(0, root)
	return t
}

func (t *Partial) set(i int, h Hash) {
	p := t.pages[i>>pageBits]
	if p == nil {
		p = new(page)
		t.pages[i>>pageBits] = p
	}
	p.h[i&(1<<pageBits-1)], p.known[i&(1<<pageBits-1)] = h, true
}

// NumLeaves returns the number of (unpadded) leaves.
func (t *Partial) NumLeaves() int { return t.numLeaves }

// Len returns the number of nodes (NumNodes(NumLeaves())).
func (t *Partial) Len() int { return t.numNodes }

// Get returns node i and whether it has been validated.
func (t *Partial) Get(i int) (Hash, bool) {
	if i < 0 || i >= t.numNodes {
		return Hash{}, false
	}
	p := t.pages[i>>pageBits]
	if p == nil || !p.known[i&(1<<pageBits-1)] {
		return Hash{}, false
	}
	return p.h[i&(1<<pageBits-1)], true
}

// Leaf returns leaf number j and whether it has been validated.
func (t *Partial) Leaf(j int) (Hash, bool) {
	if j < 0 || j >= t.numLeaves {
		return Hash{}, false
	}
	return t.Get(t.first + j)
}

// Needed returns, in ascending order, the not yet validated nodes among
// Chain(NumLeaves(), leaf, includeLeaf).
func (t *Partial) Needed(leaf int, includeLeaf bool) []int {
	var out []int
	for _, i := range Chain(t.numLeaves, leaf, includeLeaf) {
		if _, ok := t.Get(i); !ok {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

// Add offers hashes from an untrusted source. Every one of them must be tied
// to the root, through nodes already validated or supplied in the same call;
// then all are kept and Add returns nil. Otherwise nothing is kept and the
// error wraps ErrBadHash (a contradiction: the source is corrupt) or
// ErrNotEnoughHashes (the caller supplied too little).
func (t *Partial) Add(nodes ...Node) error {
	pending := make(map[int]Hash, 2*len(nodes))
	maxLevel := 0
	for _, nd := range nodes {
		if nd.Index < 0 || nd.Index >= t.numNodes {
			return fmt.Errorf("%w: node %d out of range [0,%d)", ErrBadHash, nd.Index, t.numNodes)
		}
		if old, ok := t.Get(nd.Index); ok {
			if old != nd.Hash {
				return fmt.Errorf("%w: node %d differs from the validated value", ErrBadHash, nd.Index)
			}
			continue
		}
		if h, dup := pending[nd.Index]; dup && h != nd.Hash {
			return fmt.Errorf("%w: node %d supplied twice with different values", ErrBadHash, nd.Index)
		}
		pending[nd.Index] = nd.Hash
		maxLevel = max(maxLevel, depth(nd.Index))
	}
	if len(pending) == 0 {
		return nil
	}
	get := func(i int) (Hash, bool) {
		if h, ok := t.Get(i); ok {
			return h, true
		}
		h, ok := pending[i]
		return h, ok
	}
	// Walk up one level at a time so that each parent is computed once both
	// children are in hand; a parent that is already validated closes the
	// chain, a new one is checked at the next level.
	levels := make([][]int, maxLevel+1)
	for i := range pending {
		levels[depth(i)] = append(levels[depth(i)], i)
	}
	done := make(map[int]bool, len(pending))
	for lv := maxLevel; lv > 0; lv-- {
		for _, i := range levels[lv] {
			if done[i] {
				continue
			}
			s := sibling(i)
			sh, ok := get(s)
			if !ok {
				return fmt.Errorf("%w: node %d has no sibling %d", ErrNotEnoughHashes, i, s)
			}
			done[i], done[s] = true, true
			ih, _ := get(i)
			var ph Hash
			if i < s {
				ph = PairHash(ih, sh)
			} else {
				ph = PairHash(sh, ih)
			}
			p := parent(i)
			if old, ok := get(p); ok {
				if old != ph {
					return fmt.Errorf("%w: children %d,%d do not hash to node %d", ErrBadHash, min(i, s), max(i, s), p)
				}
				continue
			}
			pending[p] = ph
			levels[lv-1] = append(levels[lv-1], p)
		}
	}
	for i, h := range pending {
		t.set(i, h)
	}
	return nil
}

// AddLeaf checks leaf number j with hash h, using chain for missing nodes
// (see Needed). It is Add with the leaf included.
func (t *Partial) AddLeaf(j int, h Hash, chain ...Node) error {
	if j < 0 || j >= t.numLeaves {
		return fmt.Errorf("%w: leaf %d out of range [0,%d)", ErrBadHash, j, t.numLeaves)
	}
	return t.Add(append(slices.Clip(chain), Node{t.first + j, h})...)
}
