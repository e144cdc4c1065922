// Package placement decides which storage servers hold which shares of a
// file, the way Tahoe-LAFS does: every file has its own "permuted ring" of
// servers (so load spreads evenly and each file's servers can be found
// again without a directory), and uploads aim for "servers of happiness",
// the size of a maximum matching between servers and the shares they hold.
//
// Everything here is a pure function of its arguments; the upload,
// download and repair packages do the talking. docs/spec/placement.md is
// the specification.
package placement

import (
	"bytes"
	"crypto/sha1"
	"slices"
)

// PermutationKey is the position of a server on the ring of storage index
// si: SHA-1(si ‖ seed), Tahoe's permute_server_hash. SHA-1 is kept for
// compatibility (the order decides where shares live, so it can never
// change); nothing relies on it being collision resistant.
func PermutationKey(si, seed []byte) [sha1.Size]byte {
	h := sha1.New()
	h.Write(si)
	h.Write(seed)
	var k [sha1.Size]byte
	h.Sum(k[:0])
	return k
}

// Order returns the indexes of seeds sorted into the permuted order for
// storage index si: ascending PermutationKey, equal keys in input order.
// If preferred is non-nil, servers with preferred[i] set come first (each
// group in permuted order), as with Tahoe's preferred_peers setting.
func Order(si []byte, seeds [][]byte, preferred []bool) []int {
	keys := make([][sha1.Size]byte, len(seeds))
	idx := make([]int, len(seeds))
	for i, s := range seeds {
		keys[i] = PermutationKey(si, s)
		idx[i] = i
	}
	pref := func(i int) bool { return preferred != nil && preferred[i] }
	slices.SortStableFunc(idx, func(a, b int) int {
		if pa, pb := pref(a), pref(b); pa != pb {
			if pa {
				return -1
			}
			return 1
		}
		return bytes.Compare(keys[a][:], keys[b][:])
	})
	return idx
}

// Permute returns a copy of items in the permuted order for si.
func Permute[T any](si []byte, items []T, seed func(T) []byte) []T {
	seeds := make([][]byte, len(items))
	for i, it := range items {
		seeds[i] = seed(it)
	}
	out := make([]T, 0, len(items))
	for _, i := range Order(si, seeds, nil) {
		out = append(out, items[i])
	}
	return out
}
