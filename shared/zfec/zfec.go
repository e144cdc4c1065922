// Package zfec is a Reed-Solomon erasure code whose output is byte-identical
// to zfec, the codec Tahoe-LAFS uses ("crs" in its URI extension blocks).
//
// zfec works in GF(2^8) with the polynomial x^8+x^4+x^3+x^2+1 (0x11d) and
// generator x, the same field klauspost/reedsolomon uses, but it builds a
// different systematic matrix: start from the n×k matrix whose row 0 is
// (1,0,…,0) (the point 0) and whose row r ≥ 1 is (1, a, a², …, a^(k-1)) for
// a = x^(r-1); multiply it on the right by the inverse of its top k×k
// square. The top k rows become the identity (shares 0..k-1 are the input
// blocks themselves) and the bottom n-k rows are the parity coefficients. We
// compute those rows once per (k, n) and hand them to reedsolomon, which does
// the heavy lifting with SIMD where available.
package zfec

import (
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/reedsolomon"
)

// MaxShares is zfec's limit on n: the matrix needs n distinct field points.
const MaxShares = 256

// Errors returned (wrapped) by this package.
var (
	ErrParams  = errors.New("zfec: invalid parameters")
	ErrBlocks  = errors.New("zfec: invalid blocks")
	errBackend = errors.New("zfec: reedsolomon")
)

// Codec encodes k equal-sized primary blocks into n shares and decodes any k
// of those shares back. It is safe for concurrent use.
type Codec struct {
	k, n   int
	parity [][]byte // rows k..n-1 of the systematic matrix
	rs     reedsolomon.Encoder
}

var cache sync.Map // [2]int{k,n} -> *Codec; matrices are pure functions of (k,n)

// New returns the codec for k-of-n, 1 ≤ k ≤ n ≤ 256.
func New(k, n int) (*Codec, error) {
	if k < 1 || n < k || n > MaxShares {
		return nil, fmt.Errorf("%w: k=%d n=%d (need 1 <= k <= n <= %d)", ErrParams, k, n, MaxShares)
	}
	if c, ok := cache.Load([2]int{k, n}); ok {
		return c.(*Codec), nil
	}
	parity := parityRows(k, n)
	opts := []reedsolomon.Option{}
	if len(parity) > 0 {
		opts = append(opts, reedsolomon.WithCustomMatrix(parity))
	}
	rs, err := reedsolomon.New(k, n-k, opts...)
	if err != nil {
		return nil, errors.Join(errBackend, err)
	}
	c := &Codec{k: k, n: n, parity: parity, rs: rs}
	actual, _ := cache.LoadOrStore([2]int{k, n}, c)
	return actual.(*Codec), nil
}

// K returns the number of shares needed to decode.
func (c *Codec) K() int { return c.k }

// N returns the total number of shares.
func (c *Codec) N() int { return c.n }

// Encode fills the parity shares in place: shares must hold n slices of equal
// length, the first k being the primary blocks and the rest output buffers.
// Share i for i < k is primary block i itself.
func (c *Codec) Encode(shares [][]byte) error {
	if len(shares) != c.n {
		return fmt.Errorf("%w: got %d shares, want %d", ErrBlocks, len(shares), c.n)
	}
	size := len(shares[0])
	for i, s := range shares {
		if len(s) != size {
			return fmt.Errorf("%w: share %d has %d bytes, share 0 has %d", ErrBlocks, i, len(s), size)
		}
	}
	if size == 0 || c.k == c.n {
		return nil
	}
	if err := c.rs.Encode(shares); err != nil {
		return errors.Join(errBackend, err)
	}
	return nil
}

// Decode reconstructs the k primary blocks from exactly k shares with
// distinct share numbers shnums (in any order). The result is in primary
// order; blocks that were supplied are returned as given, not copied.
func (c *Codec) Decode(blocks [][]byte, shnums []int) ([][]byte, error) {
	if len(blocks) != c.k || len(shnums) != c.k {
		return nil, fmt.Errorf("%w: need exactly k=%d shares, got %d blocks and %d numbers", ErrBlocks, c.k, len(blocks), len(shnums))
	}
	all := make([][]byte, c.n)
	size := len(blocks[0])
	for i, b := range blocks {
		s := shnums[i]
		if s < 0 || s >= c.n {
			return nil, fmt.Errorf("%w: share number %d out of range [0,%d)", ErrBlocks, s, c.n)
		}
		if all[s] != nil {
			return nil, fmt.Errorf("%w: share number %d given twice", ErrBlocks, s)
		}
		if len(b) != size {
			return nil, fmt.Errorf("%w: blocks differ in length (%d vs %d)", ErrBlocks, len(b), size)
		}
		if b == nil {
			b = []byte{} // non-nil marks "present" below
		}
		all[s] = b
	}
	if size > 0 {
		for i := range c.k {
			if all[i] == nil {
				// reedsolomon treats a zero-length slice with capacity as an
				// output buffer; give it one so it need not allocate.
				all[i] = make([]byte, 0, size)
			}
		}
		present := 0
		for _, b := range all {
			if len(b) > 0 {
				present++
			}
		}
		if present < c.k {
			return nil, fmt.Errorf("%w: too few shares", ErrBlocks)
		}
		if err := c.rs.ReconstructData(all); err != nil {
			return nil, errors.Join(errBackend, err)
		}
	}
	out := all[:c.k:c.k]
	for i := range out {
		if out[i] == nil {
			out[i] = []byte{}
		}
	}
	return out, nil
}

// EncodeSegment erasure-codes one segment the way Tahoe-LAFS does: the
// segment is zero-padded to a multiple of k, cut into k blocks of
// ceil(len/k) bytes, and encoded into n blocks. The primary blocks alias a
// padded copy of seg; seg itself is not modified.
func (c *Codec) EncodeSegment(seg []byte) ([][]byte, error) {
	bs := (len(seg) + c.k - 1) / c.k
	buf := make([]byte, bs*c.n)
	copy(buf, seg)
	shares := make([][]byte, c.n)
	for i := range shares {
		shares[i] = buf[i*bs : (i+1)*bs : (i+1)*bs]
	}
	if err := c.Encode(shares); err != nil {
		return nil, err
	}
	return shares, nil
}

// DecodeSegment reverses EncodeSegment: it decodes k blocks and returns the
// first size bytes of their concatenation (dropping the padding).
func (c *Codec) DecodeSegment(blocks [][]byte, shnums []int, size int) ([]byte, error) {
	prim, err := c.Decode(blocks, shnums)
	if err != nil {
		return nil, err
	}
	bs := 0
	if len(prim) > 0 {
		bs = len(prim[0])
	}
	if size < 0 || size > bs*c.k || (bs > 0 && size <= (bs-1)*c.k) {
		return nil, fmt.Errorf("%w: size %d impossible for %d blocks of %d bytes", ErrBlocks, size, c.k, bs)
	}
	out := make([]byte, 0, bs*c.k)
	for _, b := range prim {
		out = append(out, b...)
	}
	return out[:size], nil
}

// Matrix returns a copy of the full n×k systematic encoding matrix (for
// documentation and tests).
func (c *Codec) Matrix() [][]byte {
	m := make([][]byte, c.n)
	for i := range c.k {
		m[i] = make([]byte, c.k)
		m[i][i] = 1
	}
	for i, row := range c.parity {
		m[c.k+i] = append([]byte(nil), row...)
	}
	return m
}
