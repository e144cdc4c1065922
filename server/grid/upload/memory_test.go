package upload_test

import (
	"context"
	"crypto/sha256"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/communitycube/cube/server/grid/broker/brokertest"
	"github.com/communitycube/cube/server/grid/download"
	"github.com/communitycube/cube/server/grid/storage/storagetest"
	"github.com/communitycube/cube/server/grid/upload"
	"github.com/communitycube/cube/shared/cap"
)

// heapPeak samples the live heap (as measured by the latest garbage
// collection: what is reachable, not what awaits collection) until stop is
// called, and returns the highest value seen.
func heapPeak() (stop func() uint64) {
	var mu sync.Mutex
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			metrics.Read(sample)
			mu.Lock()
			peak = max(peak, sample[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// TestMemoryFlat streams a file through an upload and a download and
// checks that the heap (servers included: they run in this process) stays
// far below the file size. CUBE_GRID_MEMTEST_MIB sets the size (default
// 96 MiB; try 2048 by hand).
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("streams a large file")
	}
	size := int64(96 << 20)
	if v, err := strconv.Atoi(os.Getenv("CUBE_GRID_MEMTEST_MIB")); err == nil && v > 0 {
		size = int64(v) << 20
	}
	g := storagetest.NewGrid(t, 10)
	b := brokertest.New(t, g)
	runtime.GC()
	baseSample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(baseSample)
	base := baseSample[0].Value.Uint64()

	key := [16]byte{42} // only to name the file: Upload never sees a key
	h := sha256.New()
	src := io.TeeReader(stream(7, size), h)
	stop := heapPeak()
	start := time.Now()
	res, err := upload.Upload(context.Background(), b, cap.StorageIndexFromKey(key), src, size, upload.DefaultParams, &upload.Options{LeaseSecret: testSecret})
	upPeak := stop()
	if err != nil {
		t.Fatal(err)
	}
	upTime := time.Since(start)
	want := h.Sum(nil)

	runtime.GC()
	h.Reset()
	stop = heapPeak()
	start = time.Now()
	// What was uploaded is ciphertext as far as the grid knows: read it
	// back as such.
	r, err := download.OpenCiphertext(context.Background(), b, res.VerifyCap(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := r.WriteTo(h)
	r.Close()
	downPeak := stop()
	if err != nil || n != size {
		t.Fatal(n, err)
	}
	if string(h.Sum(nil)) != string(want) {
		t.Fatal("downloaded content differs")
	}
	mib := func(x uint64) float64 { return float64(x) / (1 << 20) }
	t.Logf("%d MiB: upload %v (peak heap %.1f MiB, base %.1f), download %v (peak heap %.1f MiB)",
		size>>20, upTime.Round(time.Millisecond), mib(upPeak), mib(base), time.Since(start).Round(time.Millisecond), mib(downPeak))
	const limit = 64 << 20
	if upPeak-base > limit || downPeak-base > limit {
		t.Errorf("heap grew by %.1f MiB (upload) / %.1f MiB (download)", mib(upPeak-base), mib(downPeak-base))
	}
}
