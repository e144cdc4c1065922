package download_test

import (
	"bytes"
	"context"
	"errors"
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
	"github.com/communitycube/cube/server/grid/storage"
	"github.com/communitycube/cube/server/grid/storage/storagetest"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/server/grid/upload"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
)

var testSecret = broker.LeaseSecret(bytes.Repeat([]byte{7}, 32))

func randomData(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func put(t *testing.T, b broker.Broker, data []byte, p upload.Params) cap.CHK {
	t.Helper()
	c, _, err := upload.UploadPlaintext(context.Background(), b, bytes.NewReader(data), int64(len(data)), p, nil,
		&upload.Options{LeaseSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	return c.(cap.CHK)
}

var fast = &download.Options{ReadTimeout: 2 * time.Second, QueryTimeout: 2 * time.Second}

func get(t *testing.T, b broker.Broker, c cap.Cap, o *download.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := download.Download(context.Background(), b, c, &buf, o); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hooks lets a test watch and disturb a node's share reads.
type hooks struct {
	opens    atomic.Int64 // containers opened (one per read request, roughly)
	read     atomic.Int64 // bytes read from containers
	onOpen   func(n int64)
	hang     atomic.Bool
	slowList atomic.Bool // answer share lists late, to look slow
	released chan struct{}
}

type hookBackend struct {
	storage.Backend
	h *hooks
}

type hookContainer struct {
	storage.Container
	h *hooks
}

func (b hookBackend) Open(si wire.StorageIndex, shnum uint16) (storage.Container, error) {
	n := b.h.opens.Add(1)
	if b.h.onOpen != nil {
		b.h.onOpen(n)
	}
	c, err := b.Backend.Open(si, shnum)
	if err != nil {
		return nil, err
	}
	return hookContainer{c, b.h}, nil
}

func (b hookBackend) List(si wire.StorageIndex) ([]uint16, error) {
	if b.h.slowList.Load() {
		time.Sleep(300 * time.Millisecond)
	}
	return b.Backend.List(si)
}

func (c hookContainer) ReadAt(p []byte, off int64) (int, error) {
	if c.h.hang.Load() {
		<-c.h.released
	}
	n, err := c.Container.ReadAt(p, off)
	c.h.read.Add(int64(n))
	return n, err
}

func hookedGrid(t *testing.T, n int) (*storagetest.Grid, []*hooks) {
	hs := make([]*hooks, n)
	release := make(chan struct{})
	for i := range hs {
		hs[i] = &hooks{released: release}
	}
	g := storagetest.NewGridWithOptions(t, n, &storagetest.Options{WrapBackend: func(i int, b storage.Backend) storage.Backend {
		return hookBackend{b, hs[i]}
	}})
	// Runs before the grid's own cleanup (LIFO), so hung handlers finish.
	t.Cleanup(func() { close(release) })
	return g, hs
}

func TestDownloadWithServersDown(t *testing.T) {
	g := storagetest.NewGrid(t, 10)
	b := brokertest.New(t, g)
	data := randomData(1, 1<<20+77)
	c := put(t, b, data, upload.DefaultParams)
	for _, i := range []int{0, 4, 9} {
		brokertest.Stop(g, i, b)
	}
	if got := get(t, b, c, fast); !bytes.Equal(got, data) {
		t.Fatal("download differs with 3 servers down")
	}
	for _, i := range []int{1, 2, 3, 5, 6} {
		brokertest.Stop(g, i, b)
	}
	_, err := download.Download(context.Background(), b, c, &bytes.Buffer{}, fast)
	if !errors.Is(err, chk.ErrNotEnoughShares) || !strings.Contains(err.Error(), "found 2 of the 3 needed") {
		t.Fatalf("8 servers down: %v", err)
	}
	t.Log(err)
}

func TestDownloadCorruptShares(t *testing.T) {
	g, hs := hookedGrid(t, 10)
	b := brokertest.New(t, g)
	data := randomData(2, 2<<20)
	c := put(t, b, data, upload.DefaultParams)
	si := wire.StorageIndex(c.StorageIndex())
	lay, _ := upload.DefaultParams.Chk().Layout(int64(len(data)))
	// Seven servers get a flipped byte in their share's first block; the
	// three good ones answer share queries slowly, so the download starts
	// with (and must get past) corrupt shares.
	bad := 0
	for _, n := range g.Nodes {
		dir := filepath.Join(n.StorageDir(), "shares", si.Prefix(), si.String())
		ents, err := os.ReadDir(dir)
		if err != nil || len(ents) != 1 {
			t.Fatalf("node %d: %v %v", n.Index, ents, err)
		}
		if bad == 7 {
			hs[n.Index].slowList.Store(true)
			continue
		}
		bad++
		path := filepath.Join(dir, ents[0].Name())
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		const containerHeader = 12
		off := containerHeader + lay.Data + 100
		var bb [1]byte
		f.ReadAt(bb[:], off)
		bb[0] ^= 0x40
		f.WriteAt(bb[:], off)
		f.Close()
	}
	r, err := download.Open(context.Background(), b, c, fast)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := r.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if !bytes.Equal(buf.Bytes(), data) {
		t.Fatal("download differs")
	}
	found := r.Corruptions()
	// The first three shares tried are corrupt (the good ones are not even
	// known yet); how many more are met depends on timing.
	if len(found) < 3 || len(found) > 7 {
		t.Fatalf("%d corrupt shares noticed: %+v", len(found), found)
	}
	for _, cr := range found {
		if cr.Reported != nil {
			t.Errorf("advisory for share %d failed: %v", cr.Shnum, cr.Reported)
		}
		if !strings.Contains(cr.Reason, "data block (segment 0)") {
			t.Errorf("reason %q", cr.Reason)
		}
		var node *storagetest.Node
		for _, s := range b.Servers() {
			if s.ID() == cr.ServerID {
				node = brokertest.NodeOf(g, s)
			}
		}
		reps, err := node.Server().CorruptionReports()
		if err != nil || len(reps) != 1 {
			t.Fatalf("node %d reports %v %v", node.Index, reps, err)
		}
		rep := reps[0]
		if rep.StorageIndex != si || int(rep.ShareNumber) != cr.Shnum || rep.Reason != cr.Reason || rep.Kind != "immutable" {
			t.Errorf("report %+v for %+v", rep, cr)
		}
		t.Logf("node %d got: %s", node.Index, rep.Reason)
	}
}

func TestServersVanishMidDownload(t *testing.T) {
	g, hs := hookedGrid(t, 10)
	b := brokertest.New(t, g)
	data := randomData(3, 3<<20)
	// Small segments: many reads per share, so servers vanish mid-way.
	p := upload.DefaultParams
	p.MaxSegmentSize = 128 << 10
	c := put(t, b, data, p)
	// The first four servers to serve a dozen reads disappear.
	var mu sync.Mutex
	stopped := 0
	var wg sync.WaitGroup
	for i, h := range hs {
		h.opens.Store(0)
		h.onOpen = func(n int64) {
			if n != 12 {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if stopped < 4 {
				stopped++
				wg.Go(func() { g.Nodes[i].Stop() })
			}
		}
	}
	// A small read-ahead keeps reads block-sized, so servers vanish while
	// the download is well under way.
	o := *fast
	o.ReadAhead = 64 << 10
	if got := get(t, b, c, &o); !bytes.Equal(got, data) {
		t.Fatal("download differs")
	}
	wg.Wait()
	if stopped == 0 {
		t.Fatal("no server was stopped; the test is not testing anything")
	}
	t.Logf("%d servers stopped mid-download", stopped)
}

func TestHungServer(t *testing.T) {
	g, hs := hookedGrid(t, 10)
	b := brokertest.New(t, g)
	data := randomData(4, 1<<20)
	c := put(t, b, data, upload.DefaultParams)
	// Seven servers accept connections but never answer reads; the three
	// good ones answer share queries slowly, so the hung ones are tried
	// first.
	for i, h := range hs {
		if i < 7 {
			h.hang.Store(true)
		} else {
			h.slowList.Store(true)
		}
	}
	start := time.Now()
	o := &download.Options{ReadTimeout: 300 * time.Millisecond}
	if got := get(t, b, c, o); !bytes.Equal(got, data) {
		t.Fatal("download differs")
	}
	took := time.Since(start)
	t.Logf("download with 7 hung servers took %v", took)
	if took < 300*time.Millisecond {
		t.Error("the hung servers were never tried")
	}
}

func TestDownloadRange(t *testing.T) {
	g, hs := hookedGrid(t, 10)
	b := brokertest.New(t, g)
	seg := int(chk.DefaultMaxSegmentSize) + 1 // 3-of-10 segments are 131073 bytes
	data := randomData(5, 40*seg+1234)
	params := upload.DefaultParams
	params.MaxSegmentSize = chk.DefaultMaxSegmentSize
	c := put(t, b, data, params)
	ctx := context.Background()
	for _, r := range [][2]int{{0, 1}, {0, 10}, {seg - 5, 10}, {3*seg + 7, 2 * seg}, {len(data) - 3, 3}, {len(data) - 3, 100}, {len(data), 5}, {100, 0}} {
		var buf bytes.Buffer
		n, err := download.DownloadRange(ctx, b, c, &buf, int64(r[0]), int64(r[1]), fast)
		if err != nil {
			t.Fatalf("range %v: %v", r, err)
		}
		want := data[r[0]:min(len(data), r[0]+r[1])]
		if n != int64(len(want)) || !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("range %v: got %d bytes", r, n)
		}
	}
	if _, err := download.DownloadRange(ctx, b, c, &bytes.Buffer{}, int64(len(data))+1, 1, fast); err == nil {
		t.Error("offset past the end accepted")
	}
	// A small range far into the file reads a small part of the shares.
	var before int64
	for _, h := range hs {
		before += h.read.Load()
	}
	var buf bytes.Buffer
	if _, err := download.DownloadRange(ctx, b, c, &buf, int64(30*seg+10), 1000, fast); err != nil {
		t.Fatal(err)
	}
	var after int64
	for _, h := range hs {
		after += h.read.Load()
	}
	if read := after - before; read > int64(3*seg) {
		t.Errorf("1000-byte range read %d bytes of shares", read)
	}
	// Reader is an io.ReaderAt.
	rd, err := download.Open(ctx, b, c, fast)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	p := make([]byte, 5000)
	if n, err := rd.ReadAt(p, int64(seg-2500)); n != 5000 || err != nil || !bytes.Equal(p, data[seg-2500:seg+2500]) {
		t.Errorf("ReadAt: %d %v", n, err)
	}
	if rd.Size() != int64(len(data)) {
		t.Errorf("size %d", rd.Size())
	}
}

func TestLiteralAndVerifyCaps(t *testing.T) {
	b, _ := broker.NewStatic(nil, nil)
	var buf bytes.Buffer
	if n, err := download.DownloadRange(context.Background(), b, cap.LIT{Data: []byte("hello world")}, &buf, 6, -1, nil); err != nil || n != 5 || buf.String() != "world" {
		t.Errorf("LIT range: %d %v %q", n, err, buf.String())
	}
	if _, err := download.Download(context.Background(), b, cap.Verifier{K: 1, N: 1, Size: 100}, &buf, nil); !errors.Is(err, download.ErrVerifyCap) {
		t.Errorf("verify cap: %v", err)
	}
	if _, err := download.Download(context.Background(), b, cap.CHK{K: 1, N: 1, Size: 100}, &buf, nil); !errors.Is(err, chk.ErrNotEnoughShares) {
		t.Errorf("no servers: %v", err)
	}
}

func TestCiphertextReader(t *testing.T) {
	g := storagetest.NewGrid(t, 4)
	b := brokertest.New(t, g)
	data := randomData(6, 300<<10)
	p := upload.Params{K: 2, Happy: 3, N: 4, MaxSegmentSize: 64 << 10}
	c := put(t, b, data, p)
	r, err := download.OpenCiphertext(context.Background(), b, c.Verifier(), fast)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var buf bytes.Buffer
	if _, err := r.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	want := make([]byte, len(data))
	chk.NewCTR(c.Key, 0).XORKeyStream(want, data)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Error("ciphertext differs")
	}
}
