package chk

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/communitycube/cube/shared/cap"
)

var benchCases = []struct {
	k, n int
	seg  int64
}{
	{3, 10, 128 << 10}, {3, 10, 1 << 20}, {2, 4, 128 << 10}, {2, 4, 1 << 20},
}

const benchSize = 16 << 20

// BenchmarkEncode measures the single-pass plaintext path (AES-CTR, zfec,
// all hashing) into a discarding writer; MB/s is plaintext bytes.
func BenchmarkEncode(b *testing.B) {
	data := randomBytes(1, benchSize)
	var key Key
	for _, c := range benchCases {
		b.Run(fmt.Sprintf("%dof%d/seg%dKiB", c.k, c.n, c.seg>>10), func(b *testing.B) {
			p := Params{K: c.k, N: c.n, MaxSegmentSize: c.seg}
			b.SetBytes(benchSize)
			for b.Loop() {
				if _, err := EncodeWithKey(bytes.NewReader(data), benchSize, key, p, Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode measures a full verified download from in-memory shares
// (the primary shares, as a downloader prefers), decrypting to io.Discard.
func BenchmarkDecode(b *testing.B) {
	data := randomBytes(1, benchSize)
	for _, c := range benchCases {
		b.Run(fmt.Sprintf("%dof%d/seg%dKiB", c.k, c.n, c.seg>>10), func(b *testing.B) {
			p := Params{K: c.k, N: c.n, MaxSegmentSize: c.seg}
			m := newMemShares(b, c.n)
			rc, err := Encode(bytes.NewReader(data), benchSize, secret, p, m)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(benchSize)
			for b.Loop() {
				d, _ := NewDecoder(rc.(cap.CHK), m, nil)
				if _, err := d.WriteTo(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// zeroReader yields n zero bytes.
type zeroReader struct{ n int64 }

func (z *zeroReader) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	m := min(int64(len(p)), z.n)
	clear(p[:m])
	z.n -= m
	return int(m), nil
}

// peakHeap samples the live heap every few hundred segments while encoding.
type peakHeap struct {
	calls int
	peak  uint64
}

func (h *peakHeap) WriteShare(sh int, p []byte, off int64) error {
	h.calls++
	if h.calls%2000 == 0 || len(p) > 100_000 { // also catch the hash trees written by Close
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		h.peak = max(h.peak, ms.HeapAlloc)
	}
	return nil
}

// TestEncoderMemoryFlat encodes a large stream and checks that the live heap
// stays near the documented bound: a few segments' worth of buffers plus 32
// bytes per segment per share, independent of the file size otherwise.
func TestEncoderMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("large stream")
	}
	var key Key
	p := DefaultParams
	// Warm up: reedsolomon builds one-time multiplication tables on first
	// use (32 MiB of them in pure-Go builds such as wasm), which are not
	// the encoder's own footprint.
	if _, err := EncodeWithKey(&zeroReader{1 << 20}, 1<<20, key, p, Discard); err != nil {
		t.Fatal(err)
	}
	sizes := []int64{64 << 20, 512 << 20}
	if runtime.GOARCH == "wasm" {
		sizes = []int64{16 << 20, 64 << 20} // no SIMD there: keep it quick
	}
	for _, size := range sizes {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		h := &peakHeap{}
		if _, err := EncodeWithKey(&zeroReader{size}, size, key, p, h); err != nil {
			t.Fatal(err)
		}
		lay, _ := p.Layout(size)
		hashes := uint64(lay.NumSegments) * 32 * uint64(p.N+1)
		bound := uint64(4*lay.SegmentSize*int64(p.N)/int64(p.K)) + 2*hashes + 4<<20
		grew := h.peak - min(h.peak, base.HeapAlloc)
		t.Logf("%d MiB: peak live heap growth %.1f MiB (hashes %.1f MiB, bound %.1f MiB)", size>>20, float64(grew)/(1<<20), float64(hashes)/(1<<20), float64(bound)/(1<<20))
		if grew > bound {
			t.Errorf("encoder heap grew %d bytes, bound %d", grew, bound)
		}
	}
}
