package upload_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/communitycube/cube/server/grid/broker/brokertest"
	"github.com/communitycube/cube/server/grid/storage/storagetest"
	"github.com/communitycube/cube/server/grid/upload"
)

// benchSize is the file size of the upload and download benchmarks.
const benchSize = 64 << 20

// stream returns size pseudo-random bytes without holding them.
func stream(seed uint64, size int64) io.Reader {
	var s [32]byte
	s[0] = byte(seed)
	return io.LimitReader(rand.NewChaCha8(s), size)
}

// BenchmarkUpload measures upload throughput (file bytes per second) over
// an in-process grid of real servers on loopback TLS, fsync included.
func BenchmarkUpload(b *testing.B) {
	for _, c := range []struct {
		servers int
		p       upload.Params
	}{
		{10, upload.DefaultParams},
		{4, upload.Params{K: 2, Happy: 3, N: 4, MaxSegmentSize: upload.DefaultParams.MaxSegmentSize}},
	} {
		b.Run(fmt.Sprintf("%d-%d-%d", c.p.K, c.p.Happy, c.p.N), func(b *testing.B) {
			g := storagetest.NewGrid(b, c.servers)
			br := brokertest.New(b, g)
			b.SetBytes(benchSize)
			seed := uint64(0)
			for b.Loop() {
				seed++
				var si [16]byte
				si[0], si[1] = byte(seed), byte(seed>>8)
				if _, err := upload.Upload(context.Background(), br, si, stream(seed, benchSize), benchSize, c.p,
					&upload.Options{LeaseSecret: testSecret}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
