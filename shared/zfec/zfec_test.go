package zfec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"testing"
)

// Expected values below were produced by zfec 1.5.2 itself (Python
// bindings), with the inputs described next to each.

// matrixPairs lists the (k,n) whose matrices are hashed into matrixDigest,
// in order: every k ≤ n ≤ 32, then a selection up to 256.
func matrixPairs() (out [][2]int) {
	for n := 1; n <= 32; n++ {
		for k := 1; k <= n; k++ {
			out = append(out, [2]int{k, n})
		}
	}
	for _, n := range []int{100, 255, 256} {
		for _, k := range []int{1, 2, 3, 50, 71, 101, 128, 254, 255, 256} {
			if k <= n {
				out = append(out, [2]int{k, n})
			}
		}
	}
	return out
}

const matrixDigest = "7e9189e60f4bf728027a15c66db5382f338ba03b2a6ff9d96e05bbccc2fcd074"

func TestMatrixMatchesZfec(t *testing.T) {
	h := sha256.New()
	pairs := matrixPairs()
	if len(pairs) != 552 {
		t.Fatalf("pair list changed: %d", len(pairs))
	}
	for _, p := range pairs {
		c, err := New(p[0], p[1])
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range c.Matrix() {
			h.Write(row)
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != matrixDigest {
		t.Fatalf("matrix digest %s, zfec gives %s", got, matrixDigest)
	}
	c, _ := New(3, 10)
	want := []string{"010000", "000100", "000001", "0f0806", "2d301c", "99e078", "0be7ed", "893bb3", "46f1b6", "bad962"}
	for i, row := range c.Matrix() {
		if hex.EncodeToString(row) != want[i] {
			t.Errorf("3-of-10 row %d = %x want %s", i, row, want[i])
		}
	}
}

// testData is the deterministic input used when generating the digests:
// byte i of block j is (31j + 7i + 1) mod 256.
func testData(k, bs int) [][]byte {
	out := make([][]byte, k)
	for j := range out {
		out[j] = make([]byte, bs)
		for i := range out[j] {
			out[j][i] = byte((j*31 + i*7 + 1) % 256)
		}
	}
	return out
}

func encodeAll(t testing.TB, k, n int, prim [][]byte) [][]byte {
	c, err := New(k, n)
	if err != nil {
		t.Fatal(err)
	}
	shares := make([][]byte, n)
	copy(shares, prim)
	for i := k; i < n; i++ {
		shares[i] = make([]byte, len(prim[0]))
	}
	if err := c.Encode(shares); err != nil {
		t.Fatal(err)
	}
	return shares
}

func TestEncodeMatchesZfec(t *testing.T) {
	// zfec's own "from_agl" example: 3-of-5 over 8-byte blocks of 1s, 2s, 3s.
	sh := encodeAll(t, 3, 5, [][]byte{bytes.Repeat([]byte{1}, 8), bytes.Repeat([]byte{2}, 8), bytes.Repeat([]byte{3}, 8)})
	if hex.EncodeToString(sh[3]) != "1515151515151515" || hex.EncodeToString(sh[4]) != "6969696969696969" {
		t.Fatalf("agl: %x %x", sh[3], sh[4])
	}
	cases := []struct {
		k, n, bs     int
		digest, last string
	}{
		{3, 10, 16, "66438dad7d5590a8d683dcfbbf8d7ebd1d2354c2ea9dd67a705210072aedf460", "2e5a95231283f54345368a2c0de862c4"},
		{2, 4, 5, "c881204bd286ab3e0fdffe38f48a62804b3078f5c55c58a181e15ec63ebd29d8", "85b48b9a99"},
		{1, 3, 4, "bb67cc78215bf4c2e2a4753763252fbfc767f3e29a8536d06e6f99c5b881538e", "01080f16"},
		{71, 256, 33, "844c0fcfbcf9e2bfb39cb4fa7a20dccd7b64de41ac37ba543f195b7a167bf484", "2f3020b500323da06343944f31716dbd39f61f75f0f0602efdac4b632a2c7eeab9"},
		{255, 256, 7, "4ed79f9fba28339c79e4c2b078255e47ef2c41b00ea45e72b3bf984d9efd4a92", "e2e9f0f7fe050c"},
	}
	for _, c := range cases {
		sh := encodeAll(t, c.k, c.n, testData(c.k, c.bs))
		h := sha256.New()
		for _, s := range sh {
			h.Write(s)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != c.digest {
			t.Errorf("%d-of-%d: digest %s", c.k, c.n, got)
		}
		if got := hex.EncodeToString(sh[c.n-1]); got != c.last {
			t.Errorf("%d-of-%d: last share %s want %s", c.k, c.n, got, c.last)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := [][2]int{{1, 1}, {1, 2}, {1, 10}, {1, 256}, {2, 2}, {3, 3}, {2, 4}, {3, 10}, {7, 8}, {71, 256}, {101, 255}, {255, 256}, {256, 256}, {128, 256}}
	for _, kn := range cases {
		k, n := kn[0], kn[1]
		c, err := New(k, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{1, k - 1, k, k + 1, 3*k + 2, 1000} {
			if size < 1 {
				continue
			}
			seg := make([]byte, size)
			for i := range seg {
				seg[i] = byte(rng.Uint32())
			}
			shares, err := c.EncodeSegment(seg)
			if err != nil {
				t.Fatal(err)
			}
			// Try a few random k-subsets, including all-primary and all-parity-first.
			for trial := range 4 {
				perm := rng.Perm(n)
				if trial == 0 {
					for i := range perm {
						perm[i] = i
					}
				} else if trial == 1 {
					for i := range perm {
						perm[i] = n - 1 - i
					}
				}
				ids := perm[:k]
				blocks := make([][]byte, k)
				for i, id := range ids {
					blocks[i] = append([]byte(nil), shares[id]...)
				}
				got, err := c.DecodeSegment(blocks, ids, size)
				if err != nil {
					t.Fatalf("%d-of-%d size %d: %v", k, n, size, err)
				}
				if !bytes.Equal(got, seg) {
					t.Fatalf("%d-of-%d size %d ids %v: mismatch", k, n, size, ids)
				}
			}
		}
	}
}

func TestErrors(t *testing.T) {
	for _, kn := range [][2]int{{0, 1}, {2, 1}, {1, 257}, {-1, 3}} {
		if _, err := New(kn[0], kn[1]); !errors.Is(err, ErrParams) {
			t.Errorf("New%v: %v", kn, err)
		}
	}
	c, _ := New(2, 4)
	b := []byte{1, 2}
	for _, tc := range []struct {
		blocks [][]byte
		ids    []int
	}{
		{[][]byte{b}, []int{0}},
		{[][]byte{b, b}, []int{1, 1}},
		{[][]byte{b, b}, []int{0, 4}},
		{[][]byte{b, {1}}, []int{0, 1}},
	} {
		if _, err := c.Decode(tc.blocks, tc.ids); !errors.Is(err, ErrBlocks) {
			t.Errorf("Decode(%v): %v", tc.ids, err)
		}
	}
	if _, err := c.DecodeSegment([][]byte{b, b}, []int{0, 1}, 2); !errors.Is(err, ErrBlocks) {
		t.Errorf("impossible size accepted: %v", err)
	}
}

func BenchmarkEncode3of10(b *testing.B) {
	c, _ := New(3, 10)
	seg := make([]byte, 128<<10)
	b.SetBytes(int64(len(seg)))
	for b.Loop() {
		if _, err := c.EncodeSegment(seg); err != nil {
			b.Fatal(err)
		}
	}
}
