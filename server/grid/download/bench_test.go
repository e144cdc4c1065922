package download_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/communitycube/cube/server/grid/broker/brokertest"
	"github.com/communitycube/cube/server/grid/download"
	"github.com/communitycube/cube/server/grid/storage/storagetest"
	"github.com/communitycube/cube/server/grid/upload"
	"github.com/communitycube/cube/shared/cap"
)

const benchSize = 64 << 20

// BenchmarkDownload measures download throughput (file bytes per second,
// every block verified, decrypted) over an in-process grid.
func BenchmarkDownload(b *testing.B) {
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
			var seed [32]byte
			data := io.LimitReader(rand.NewChaCha8(seed), benchSize)
			key := [16]byte{1}
			res, err := upload.Upload(context.Background(), br, cap.StorageIndexFromKey(key), data, benchSize, c.p,
				&upload.Options{LeaseSecret: testSecret})
			if err != nil {
				b.Fatal(err)
			}
			rc := res.Encoding.ReadCap(key)
			b.SetBytes(benchSize)
			b.ResetTimer()
			for b.Loop() {
				n, err := download.Download(context.Background(), br, rc, io.Discard, nil)
				if err != nil || n != benchSize {
					b.Fatal(n, err)
				}
			}
		})
	}
}
