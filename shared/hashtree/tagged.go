// Package hashtree implements the Merkle hash trees of Tahoe-LAFS immutable
// files and the tagged SHA-256d hashes they (and the rest of the CHK format)
// are built from.
//
// A tree over L leaves is padded with "empty leaf" hashes up to P, the next
// power of two, and stored as a flat array of 2P-1 nodes in breadth-first
// order: node 0 is the root, the children of node i are 2i+1 and 2i+2, and
// leaf j is node P-1+j. This numbering is part of the on-disk share format.
package hashtree

import (
	"crypto/sha256"
	"hash"
	"strconv"

	"github.com/communitycube/cube/shared/netstring"
)

// HashSize is the size of every hash in the format.
const HashSize = 32

// Hash is a SHA-256d digest.
type Hash [HashSize]byte

// Tags for the tree's own nodes. Distinct tags keep a leaf from ever being
// confused with an interior node (second-preimage attacks on the tree).
const (
	tagEmptyLeaf = "Merkle tree empty leaf"
	tagInterior  = "Merkle tree internal node"
)

// Hasher computes SHA-256d (SHA-256 applied twice, which defeats length
// extension) over netstring(tag) followed by the written data.
type Hasher struct {
	h hash.Hash
}

// NewHasher returns a Hasher primed with netstring(tag).
func NewHasher(tag string) *Hasher {
	h := sha256.New()
	h.Write(netstring.Encode([]byte(tag)))
	return &Hasher{h: h}
}

// Write adds p to the hash. It never fails.
func (s *Hasher) Write(p []byte) (int, error) { return s.h.Write(p) }

// Sum returns SHA-256(SHA-256(netstring(tag) || data)). It does not change
// the state, so more data may be written afterwards.
func (s *Hasher) Sum() Hash {
	var inner [HashSize]byte
	s.h.Sum(inner[:0])
	return sha256.Sum256(inner[:])
}

// Reset returns the Hasher to its freshly primed state for tag.
func (s *Hasher) Reset(tag string) {
	s.h.Reset()
	s.h.Write(netstring.Encode([]byte(tag)))
}

// TaggedHash returns SHA-256d(netstring(tag) || data).
func TaggedHash(tag string, data []byte) Hash {
	h := NewHasher(tag)
	h.Write(data)
	return h.Sum()
}

// TaggedPairHash returns SHA-256d(netstring(tag) || netstring(a) || netstring(b)),
// the way two values are combined without ambiguity about where one ends.
func TaggedPairHash(tag string, a, b []byte) Hash {
	buf := make([]byte, 0, 3*12+len(tag)+len(a)+len(b))
	buf = netstring.Append(buf, []byte(tag))
	buf = netstring.Append(buf, a)
	buf = netstring.Append(buf, b)
	inner := sha256.Sum256(buf)
	return sha256.Sum256(inner[:])
}

// PairHash returns the interior node hash of a left and right child.
func PairHash(left, right Hash) Hash {
	// Fixed layout: netstring(tag) "32:" left "," "32:" right ",".
	var buf [len("25:"+tagInterior+",") + 2*(3+HashSize+1)]byte
	b := buf[:0]
	b = append(b, "25:"+tagInterior+","...)
	b = append(b, "32:"...)
	b = append(b, left[:]...)
	b = append(b, ",32:"...)
	b = append(b, right[:]...)
	b = append(b, ',')
	inner := sha256.Sum256(b)
	return sha256.Sum256(inner[:])
}

// EmptyLeafHash returns the hash used for padding leaf number i (counted
// among the leaves, not as a node index).
func EmptyLeafHash(i int) Hash {
	return TaggedHash(tagEmptyLeaf, strconv.AppendInt(nil, int64(i), 10))
}
