package helper_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/communitycube/cube/server/grid/helper"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/shared/chk"
)

// zeroCipher is the ciphertext of a file of zeros under key, generated on
// demand at any offset: a large upload without a large buffer.
type zeroCipher struct{ key chk.Key }

func (z zeroCipher) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	chk.NewCTR(z.key, off).XORKeyStream(p, p)
	return len(p), nil
}

// TestLargeUploadMemory uploads 256 MiB through client, HTTP, staging file
// and encoder, and checks that the heap stays flat: nothing on the way may
// hold the file (or a growing part of it) in memory.
func TestLargeUploadMemory(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("large upload: not in -short or -race runs")
	}
	const size = 256 << 20
	const bound = 48 << 20
	var key chk.Key
	key[0] = 7
	z := zeroCipher{key}
	si := wire.StorageIndex(chk.StorageIndex(key))
	h := helper.NewCrypttextHasher()
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		z.ReadAt(buf, off)
		h.Write(buf)
	}
	sum := h.Sum()
	spec := helper.Spec{Size: size, Params: testParams, CrypttextHash: &sum}

	n := newNode(t, nil)
	c := n.client(&helper.ClientOptions{ChunkSize: 4 << 20, RetryBackoff: time.Millisecond})

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	p, err := c.Upload(context.Background(), si, z, spec, nil)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if p.VerifyCap.Size != size || p.VerifyCap.StorageIndex != si {
		t.Fatalf("result %v", p.VerifyCap)
	}
	growth := int64(peak) - int64(base)
	t.Logf("256 MiB in %v; heap in use grew by at most %.1f MiB", time.Since(start).Round(time.Millisecond), float64(growth)/(1<<20))
	if growth > bound {
		t.Fatalf("heap grew by %d MiB during the upload (bound %d MiB)", growth>>20, bound>>20)
	}
}
