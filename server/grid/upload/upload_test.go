package upload_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/communitycube/cube/server/grid/broker"
	"github.com/communitycube/cube/server/grid/broker/brokertest"
	"github.com/communitycube/cube/server/grid/download"
	"github.com/communitycube/cube/server/grid/placement"
	"github.com/communitycube/cube/server/grid/storage"
	"github.com/communitycube/cube/server/grid/storage/storagetest"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/server/grid/upload"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
)

var testSecret = broker.LeaseSecret(bytes.Repeat([]byte{7}, 32))

func opts() *upload.Options {
	return &upload.Options{LeaseSecret: testSecret, ChunkSize: 64 << 10}
}

func randomData(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 99))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func put(t *testing.T, b broker.Broker, data []byte, p upload.Params) (cap.Cap, *upload.Result) {
	t.Helper()
	c, res, err := upload.UploadPlaintext(context.Background(), b, bytes.NewReader(data), int64(len(data)), p, []byte("convergence"), opts())
	if err != nil {
		t.Fatal(err)
	}
	return c, res
}

func get(t *testing.T, b broker.Broker, c cap.Cap) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := download.Download(context.Background(), b, c, &buf, &download.Options{ReadTimeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sharesOnDisk lists, per node, the committed shares of si.
func sharesOnDisk(t *testing.T, g *storagetest.Grid, si [16]byte) map[int][]uint16 {
	t.Helper()
	out := map[int][]uint16{}
	for _, n := range g.Nodes {
		dir := filepath.Join(n.StorageDir(), "shares", wire.StorageIndex(si).Prefix(), wire.StorageIndex(si).String())
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			var sh uint16
			fmt.Sscan(e.Name(), &sh)
			out[n.Index] = append(out[n.Index], sh)
		}
	}
	return out
}

// incomingFiles counts files under every node's incoming directory.
func incomingFiles(g *storagetest.Grid) int {
	count := 0
	for _, n := range g.Nodes {
		filepath.WalkDir(filepath.Join(n.StorageDir(), "shares", "incoming"), func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				count++
			}
			return nil
		})
	}
	return count
}

func TestRoundTrip(t *testing.T) {
	seg := int64(chk.DefaultMaxSegmentSize)
	configs := []struct {
		servers int
		p       upload.Params
		sizes   []int
	}{
		{10, upload.DefaultParams, []int{0, 55, 56, 1 << 10, 3<<20 + 1, int(5*seg + 17)}},
		{1, upload.Params{K: 1, Happy: 1, N: 1, MaxSegmentSize: seg}, []int{1 << 10, 1<<20 + 5}},
		{4, upload.Params{K: 2, Happy: 3, N: 4, MaxSegmentSize: seg}, []int{1 << 10, int(2*seg + 1)}},
	}
	for _, cfg := range configs {
		t.Run(fmt.Sprintf("%d-servers-%d-%d-%d", cfg.servers, cfg.p.K, cfg.p.Happy, cfg.p.N), func(t *testing.T) {
			g := storagetest.NewGrid(t, cfg.servers)
			b := brokertest.New(t, g)
			for _, size := range cfg.sizes {
				data := randomData(uint64(size), size)
				c, res := put(t, b, data, cfg.p)
				if size <= chk.LiteralThreshold {
					if _, ok := c.(cap.LIT); !ok || res != nil {
						t.Fatalf("size %d: %T %v", size, c, res)
					}
				} else {
					want := min(cfg.servers, cfg.p.N)
					if res.Happiness != want {
						t.Errorf("size %d: happiness %d, want %d", size, res.Happiness, want)
					}
					if rc := c.(cap.CHK); rc.K != cfg.p.K || rc.N != cfg.p.N || rc.Size != int64(size) {
						t.Errorf("size %d: cap %v", size, c)
					}
					// The cap is the one Tahoe would compute for the same input.
					want2, err := chk.Encode(bytes.NewReader(data), int64(len(data)), []byte("convergence"), cfg.p.Chk(), chk.Discard)
					if err != nil || want2.String() != c.String() {
						t.Errorf("size %d: cap %v, offline encode gives %v (%v)", size, c, want2, err)
					}
				}
				if got := get(t, b, c); !bytes.Equal(got, data) {
					t.Fatalf("size %d: downloaded %d bytes that differ", size, len(got))
				}
			}
			if n := incomingFiles(g); n != 0 {
				t.Errorf("%d incoming files left", n)
			}
		})
	}
}

func TestSharesOnDistinctServers(t *testing.T) {
	g := storagetest.NewGrid(t, 10)
	b := brokertest.New(t, g)
	data := randomData(1, 100<<10)
	c, res := put(t, b, data, upload.DefaultParams)
	si := c.(cap.CHK).StorageIndex()
	disk := sharesOnDisk(t, g, si)
	if len(disk) != 10 {
		t.Fatalf("shares on %d servers: %v", len(disk), disk)
	}
	seen := map[uint16]bool{}
	for node, shs := range disk {
		if len(shs) != 1 || seen[shs[0]] {
			t.Fatalf("node %d holds %v (all: %v)", node, shs, disk)
		}
		seen[shs[0]] = true
	}
	// Share i went to the i-th server of the permuted ring.
	ring := broker.Permuted(b.Servers(), si[:])
	for i, s := range ring {
		n := brokertest.NodeOf(g, s)
		if got := disk[n.Index]; len(got) != 1 || int(got[0]) != i {
			t.Errorf("ring position %d (node %d) holds %v", i, n.Index, got)
		}
		if res.Servers[i].ID != s.ID() || len(res.Servers[i].Uploaded) != 1 {
			t.Errorf("report %d: %+v", i, res.Servers[i])
		}
	}
	if res.Happiness != 10 || len(res.Layout) != 10 {
		t.Errorf("result %+v", res)
	}
	// Uploading the same file again finds every share and writes nothing.
	_, res2 := put(t, b, data, upload.DefaultParams)
	for _, r := range res2.Servers {
		if len(r.Uploaded) != 0 || len(r.Existing) != 1 {
			t.Errorf("re-upload wrote to %+v", r)
		}
	}
	if res2.Happiness != 10 {
		t.Errorf("re-upload happiness %d", res2.Happiness)
	}
	for _, st := range broker.Statuses(b) {
		if !st.Connected || st.Latency <= 0 || st.AvailableSpace <= 0 {
			t.Errorf("status %+v", st)
		}
	}
}

func TestUnhappyUploadLeavesNothing(t *testing.T) {
	g := storagetest.NewGrid(t, 5)
	b := brokertest.New(t, g)
	data := randomData(2, 200<<10)
	_, _, err := upload.UploadPlaintext(context.Background(), b, bytes.NewReader(data), int64(len(data)), upload.DefaultParams, nil, opts())
	var ue *upload.UnhappyError
	if !errors.Is(err, upload.ErrUnhappy) || !errors.As(err, &ue) {
		t.Fatalf("err = %v", err)
	}
	if ue.Achieved != 5 || ue.Happy != 7 || !strings.Contains(err.Error(), "only 5 server(s) such that any 3 of them") {
		t.Errorf("error: %v", err)
	}
	t.Log(err)
	for _, n := range g.Nodes {
		ents, _ := os.ReadDir(filepath.Join(n.StorageDir(), "shares"))
		for _, e := range ents {
			if e.Name() != "incoming" {
				t.Errorf("node %d has %s", n.Index, e.Name())
			}
		}
	}
	if n := incomingFiles(g); n != 0 {
		t.Errorf("%d incoming files left", n)
	}
	// ParamsFor makes the same grid work.
	p := upload.ParamsFor(5, upload.DefaultParams)
	c, res := put(t, b, data, p)
	if res.Happiness != 5 || !bytes.Equal(get(t, b, c), data) {
		t.Errorf("with %+v: happiness %d", p, res.Happiness)
	}
}

func TestParamsFor(t *testing.T) {
	for _, c := range []struct {
		servers, k, happy, n int
	}{{0, 3, 7, 10}, {1, 1, 1, 1}, {2, 1, 2, 3}, {3, 1, 3, 4}, {4, 2, 4, 6}, {5, 2, 5, 7}, {6, 3, 6, 9}, {7, 3, 7, 10}, {50, 3, 7, 10}} {
		p := upload.ParamsFor(c.servers, upload.DefaultParams)
		if p.K != c.k || p.Happy != c.happy || p.N != c.n || p.Validate() != nil {
			t.Errorf("%d servers: %+v, want %d/%d/%d", c.servers, p, c.k, c.happy, c.n)
		}
	}
	if err := (upload.Params{K: 3, Happy: 11, N: 10, MaxSegmentSize: 1}).Validate(); err == nil {
		t.Error("happy > n accepted")
	}
}

// failingBackend makes a node's incoming shares fail after a number of
// bytes, as a disk that fills up or dies would.
type failingBackend struct {
	storage.Backend
	limit   int64
	written *atomic.Int64
	onFail  func()
	once    *sync.Once
}

type failingIncoming struct {
	storage.Incoming
	b *failingBackend
}

func (f *failingBackend) CreateIncoming(si wire.StorageIndex, shnum uint16) (storage.Incoming, error) {
	in, err := f.Backend.CreateIncoming(si, shnum)
	if err != nil {
		return nil, err
	}
	return &failingIncoming{Incoming: in, b: f}, nil
}

func (f *failingIncoming) WriteAt(p []byte, off int64) (int, error) {
	if f.b.limit > 0 && f.b.written.Add(int64(len(p))) > f.b.limit {
		if f.b.onFail != nil {
			f.b.once.Do(f.b.onFail)
		}
		return 0, errors.New("disk on fire")
	}
	return f.Incoming.WriteAt(p, off)
}

// gridWithFailures starts n nodes; those in limits fail after that many
// bytes written, calling onFail(i) once when they do.
func gridWithFailures(t *testing.T, n int, limits map[int]int64, onFail func(i int)) *storagetest.Grid {
	return storagetest.NewGridWithOptions(t, n, &storagetest.Options{WrapBackend: func(i int, b storage.Backend) storage.Backend {
		fb := &failingBackend{Backend: b, limit: limits[i], written: new(atomic.Int64), once: new(sync.Once)}
		if onFail != nil {
			fb.onFail = func() { onFail(i) }
		}
		return fb
	}})
}

func TestServerFailsMidUpload(t *testing.T) {
	g := gridWithFailures(t, 10, map[int]int64{3: 150 << 10}, nil)
	b := brokertest.New(t, g)
	data := randomData(3, 2<<20)
	c, res := put(t, b, data, upload.DefaultParams)
	if res.Happiness != 9 {
		t.Errorf("happiness %d, want 9", res.Happiness)
	}
	var failed int
	for _, r := range res.Servers {
		if len(r.Failed) > 0 {
			failed++
			if !strings.Contains(r.Error, "500 Internal Server Error") {
				t.Errorf("report %+v", r)
			}
		}
	}
	if failed != 1 {
		t.Errorf("%d servers failed: %+v", failed, res.Servers)
	}
	if disk := sharesOnDisk(t, g, c.(cap.CHK).StorageIndex()); len(disk[3]) != 0 || len(disk) != 9 {
		t.Errorf("shares on disk %v", disk)
	}
	if !bytes.Equal(get(t, b, c), data) {
		t.Error("download differs")
	}
}

func TestTooManyFailuresAbortEverything(t *testing.T) {
	limits := map[int]int64{}
	for _, i := range []int{1, 4, 6, 8} {
		limits[i] = 150 << 10
	}
	g := gridWithFailures(t, 10, limits, nil)
	b := brokertest.New(t, g)
	data := randomData(4, 2<<20)
	_, _, err := upload.UploadPlaintext(context.Background(), b, bytes.NewReader(data), int64(len(data)), upload.DefaultParams, nil, opts())
	var ue *upload.UnhappyError
	if !errors.As(err, &ue) || ue.Achieved >= 7 || !strings.Contains(err.Error(), "lost share") {
		t.Fatalf("err = %v", err)
	}
	t.Log(err)
	for _, n := range g.Nodes {
		ents, _ := os.ReadDir(filepath.Join(n.StorageDir(), "shares"))
		for _, e := range ents {
			if e.Name() != "incoming" {
				t.Errorf("node %d has a complete share under %s", n.Index, e.Name())
			}
		}
	}
	if n := incomingFiles(g); n != 0 {
		t.Errorf("%d incoming files left: buckets were not aborted", n)
	}
}

func TestServerStoppedMidUpload(t *testing.T) {
	var g *storagetest.Grid
	stopped := make(chan struct{})
	g = gridWithFailures(t, 10, map[int]int64{5: 300 << 10}, func(i int) {
		// Stop from outside the handler: Stop waits for requests to end.
		go func() { g.Nodes[i].Stop(); close(stopped) }()
	})
	b := brokertest.New(t, g)
	data := randomData(5, 3<<20)
	c, res := put(t, b, data, upload.DefaultParams)
	<-stopped
	if res.Happiness != 9 {
		t.Errorf("happiness %d, want 9", res.Happiness)
	}
	if !bytes.Equal(get(t, b, c), data) {
		t.Error("download differs")
	}
	var down *broker.Server
	for _, s := range b.Servers() {
		if brokertest.NodeOf(g, s).Index == 5 {
			down = s
		}
	}
	if st := down.Status(); st.Connected || st.ConsecutiveFailures == 0 {
		t.Errorf("stopped server status %+v", st)
	}
}

// spaceBackend reports little free space.
type spaceBackend struct {
	storage.Backend
	avail int64
}

func (s spaceBackend) Available() (int64, error) { return s.avail, nil }

func TestFullServerSkipped(t *testing.T) {
	g := storagetest.NewGridWithOptions(t, 11, &storagetest.Options{WrapBackend: func(i int, b storage.Backend) storage.Backend {
		if i == 0 {
			return spaceBackend{b, 1000}
		}
		return b
	}})
	b := brokertest.New(t, g)
	data := randomData(6, 500<<10)
	c, res := put(t, b, data, upload.DefaultParams)
	disk := sharesOnDisk(t, g, c.(cap.CHK).StorageIndex())
	if len(disk[0]) != 0 || len(disk) != 10 || res.Happiness != 10 {
		t.Errorf("shares %v happiness %d", disk, res.Happiness)
	}
}

func TestNoServers(t *testing.T) {
	b, _ := broker.NewStatic(nil, nil)
	_, err := upload.Upload(context.Background(), b, [16]byte{}, bytes.NewReader(make([]byte, 100)), 100, upload.DefaultParams, opts())
	if !errors.Is(err, upload.ErrNoServers) {
		t.Errorf("err = %v", err)
	}
	if _, err := upload.Upload(context.Background(), b, [16]byte{}, nil, 100, upload.DefaultParams, nil); err == nil {
		t.Error("missing lease secret accepted")
	}
}

func TestLayoutMatchesPlacement(t *testing.T) {
	g := storagetest.NewGrid(t, 4)
	b := brokertest.New(t, g)
	data := randomData(7, 10<<10)
	p := upload.DefaultParams
	p.Happy = 4
	_, res := put(t, b, data, p)
	if placement.Happiness(res.Layout) != 4 {
		t.Errorf("layout %v", res.Layout)
	}
	total := 0
	for _, shs := range res.Layout {
		total += len(shs)
		if len(shs) < 2 || len(shs) > 3 {
			t.Errorf("uneven spread: %v", res.Layout)
		}
	}
	if total != 10 {
		t.Errorf("%d shares placed", total)
	}
}

// failingReader yields n zero bytes, then an error.
type failingReader struct{ n atomic.Int64 }

func newFailingReader(n int64) *failingReader {
	f := &failingReader{}
	f.n.Store(n)
	return f
}

func (f *failingReader) Read(p []byte) (int, error) {
	left := f.n.Load()
	if left <= 0 {
		return 0, errors.New("source vanished")
	}
	n := min(int64(len(p)), left)
	clear(p[:n])
	f.n.Add(-n)
	return int(n), nil
}

func TestSourceErrorAborts(t *testing.T) {
	g := storagetest.NewGrid(t, 10)
	b := brokertest.New(t, g)
	var si [16]byte
	_, err := upload.Upload(context.Background(), b, si, newFailingReader(3<<20), 8<<20, upload.DefaultParams, opts())
	if err == nil || !strings.Contains(err.Error(), "source vanished") {
		t.Fatalf("err = %v", err)
	}
	if n := incomingFiles(g); n != 0 {
		t.Errorf("%d incoming files left", n)
	}
	if disk := sharesOnDisk(t, g, si); len(disk) != 0 {
		t.Errorf("shares on disk: %v", disk)
	}
	// A cancelled context stops the upload the same way.
	ctx, cancel := context.WithCancel(context.Background())
	r := newFailingReader(8 << 20)
	go func() {
		for r.n.Load() > 6<<20 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err = upload.Upload(ctx, b, si, r, 8<<20, upload.DefaultParams, opts())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if n := incomingFiles(g); n != 0 {
		t.Errorf("%d incoming files left after cancel", n)
	}
}
