package helper_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/communitycube/cube/server/grid/helper"
	"github.com/communitycube/cube/server/grid/storage/storagetest"
	"github.com/communitycube/cube/server/grid/storage/wire"
)

func TestUploadAndRetriedFinish(t *testing.T) {
	n := newNode(t, nil)
	f := newFile(t, 300<<10+7)
	c := n.client(nil)
	ctx := context.Background()

	var progress []helper.Progress
	p, err := c.Upload(ctx, f.si, bytes.NewReader(f.cipher), f.spec(true), func(pr helper.Progress) {
		progress = append(progress, pr)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.checkPlaced(t, p)
	if p.Happiness != testParams.N || len(p.Shares) != testParams.N || p.UEB == nil {
		t.Fatalf("placement summary %+v", p)
	}
	if got := n.received.Load(); got != int64(len(f.cipher)) {
		t.Fatalf("helper received %d bytes, want %d", got, len(f.cipher))
	}
	last := progress[len(progress)-1]
	if last.State != helper.StateStored || last.Held != last.Size || last.Sent != int64(len(f.cipher)) {
		t.Fatalf("last progress %+v", last)
	}
	if n.placer.Calls() != 1 {
		t.Fatalf("placer called %d times", n.placer.Calls())
	}
	// Only the result is left in the staging directory.
	if files := n.stagingFiles(); len(files) != 1 || !strings.HasSuffix(files[0], ".done") {
		t.Fatalf("staging directory holds %v", files)
	}
	if l := n.svc.Load(); l != (helper.Load{}) {
		t.Fatalf("load after upload %+v", l)
	}

	// A retried finish, a status and a new begin all give the same answer,
	// also after a restart.
	for _, restart := range []bool{false, true} {
		if restart {
			n.restart()
			c = n.client(nil)
		}
		code, body := n.raw(http.MethodPost, "/helper/v1/upload/"+f.si.String()+"/finish", nil, nil)
		wantCode(t, code, http.StatusOK, body)
		st, err := c.Status(ctx, f.si)
		if err != nil {
			t.Fatal(err)
		}
		if st.State != helper.StateStored || st.Result.VerifyCap != p.VerifyCap || !bytes.Equal(st.Result.UEB, p.UEB) {
			t.Fatalf("status after finish %+v", st)
		}
		var sent int64
		p2, err := c.Upload(ctx, f.si, bytes.NewReader(f.cipher), f.spec(true), func(pr helper.Progress) { sent = pr.Sent })
		if err != nil {
			t.Fatal(err)
		}
		f.checkPlaced(t, p2)
		if sent != 0 {
			t.Fatalf("re-upload sent %d bytes", sent)
		}
	}
	if n.placer.Calls() != 1 {
		t.Fatalf("placer called %d times", n.placer.Calls())
	}
}

func TestResumeAfterCancel(t *testing.T) {
	n := newNode(t, nil)
	f := newFile(t, 1<<20+12345)
	c := n.client(nil)
	size := int64(len(f.cipher))

	ctx, cancel := context.WithCancel(context.Background())
	_, err := c.Upload(ctx, f.si, bytes.NewReader(f.cipher), f.spec(true), func(pr helper.Progress) {
		if pr.Held >= size/2 {
			cancel()
		}
	})
	wantErr(t, err, context.Canceled)
	held := mustStatus(t, n.svc, f.si).Received
	if held < size/2 || held >= size {
		t.Fatalf("held %d after cancelling at half of %d", held, size)
	}

	n.received.Store(0)
	var sent int64
	p, err := c.Upload(context.Background(), f.si, bytes.NewReader(f.cipher), f.spec(true), func(pr helper.Progress) { sent = pr.Sent })
	if err != nil {
		t.Fatal(err)
	}
	f.checkPlaced(t, p)
	if sent != size-held || n.received.Load() != size-held {
		t.Fatalf("resumed upload sent %d, helper received %d; want the %d missing bytes", sent, n.received.Load(), size-held)
	}
}

func TestResumeAfterRestart(t *testing.T) {
	n := newNode(t, nil)
	f := newFile(t, 1<<20+3)
	c := n.client(nil)
	size := int64(len(f.cipher))

	var held, sentAtRestart int64
	var sent int64
	p, err := c.Upload(context.Background(), f.si, bytes.NewReader(f.cipher), f.spec(true), func(pr helper.Progress) {
		sent = pr.Sent
		if held == 0 && pr.Held >= size/3 {
			// The helper goes down between two chunks and comes back on
			// the same staging directory; the client only sees dropped
			// connections.
			held, sentAtRestart = pr.Held, pr.Sent
			n.restart()
			n.received.Store(0)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	f.checkPlaced(t, p)
	if got := n.received.Load(); got != size-held {
		t.Fatalf("restarted helper received %d bytes, want the %d missing", got, size-held)
	}
	// The client may lose part of one chunk to the dead connection.
	if d := sent - sentAtRestart; d < size-held || d > size-held+64<<10 {
		t.Fatalf("client sent %d bytes after the restart, want %d (+ at most one chunk)", d, size-held)
	}
}

// TestDropMidChunk cuts a chunk's connection half way: the helper keeps the
// half it got, and the client resends only the rest.
func TestDropMidChunk(t *testing.T) {
	const chunk = 64 << 10
	var patches int
	var mu sync.Mutex
	n := newNode(t, nil)
	n.wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			if r.Method == http.MethodPatch {
				patches++
			}
			drop := r.Method == http.MethodPatch && patches == 3
			mu.Unlock()
			if !drop {
				h.ServeHTTP(w, r)
				return
			}
			r.Body = &failAfter{ReadCloser: r.Body, left: chunk / 2}
			h.ServeHTTP(httpDiscard{w}, r)
			panic(http.ErrAbortHandler) // the client sees the connection drop
		})
	}
	n.restart()
	f := newFile(t, 5*chunk+100)
	c := n.client(nil)
	p, err := c.Upload(context.Background(), f.si, bytes.NewReader(f.cipher), f.spec(true), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.checkPlaced(t, p)
	if got, want := n.received.Load(), int64(len(f.cipher)); got != want {
		t.Fatalf("helper read %d bytes of chunk bodies, want %d (the half-chunk kept, not resent)", got, want)
	}
}

type failAfter struct {
	io.ReadCloser
	left int
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.left == 0 {
		return 0, errors.New("connection reset (simulated)")
	}
	k, err := f.ReadCloser.Read(p[:min(len(p), f.left)])
	f.left -= k
	return k, err
}

// httpDiscard swallows the response, which the dropped client never sees.
type httpDiscard struct{ http.ResponseWriter }

func (httpDiscard) WriteHeader(int)             {}
func (httpDiscard) Write(p []byte) (int, error) { return len(p), nil }

func TestChunkRules(t *testing.T) {
	n := newNode(t, func(cfg *helper.Config) { cfg.GapWait = 50 * time.Millisecond })
	f := newFile(t, 1000)
	size := int64(len(f.cipher))
	c := n.client(nil)
	ctx := context.Background()
	if _, err := c.Begin(ctx, f.si, f.spec(false)); err != nil {
		t.Fatal(err)
	}
	ct := f.cipher

	code, body := n.chunk(f.si, 0, ct[:100], size)
	wantCode(t, code, http.StatusOK, body)
	// Overlapping with matching bytes: accepted, only the new part kept.
	code, body = n.chunk(f.si, 50, ct[50:150], size)
	wantCode(t, code, http.StatusOK, body)
	// The same chunk again: harmless.
	code, body = n.chunk(f.si, 50, ct[50:150], size)
	wantCode(t, code, http.StatusOK, body)
	// Overlapping with different bytes: conflict, nothing changes.
	bad := slices.Clone(ct[100:200])
	bad[10] ^= 1
	code, body = n.chunk(f.si, 100, bad, size)
	wantCode(t, code, http.StatusConflict, body)
	// A gap that nothing fills (within GapWait).
	code, body = n.chunk(f.si, 300, ct[300:400], size)
	wantCode(t, code, http.StatusRequestedRangeNotSatisfiable, body)
	// A chunk that arrives before the one it follows (an uploader with
	// several on the wire) waits for it instead.
	n2 := newNode(t, func(cfg *helper.Config) { cfg.GapWait = time.Minute })
	c2 := n2.client(nil)
	if _, err := c2.Begin(ctx, f.si, f.spec(false)); err != nil {
		t.Fatal(err)
	}
	ahead := make(chan int, 1)
	go func() {
		code, _ := n2.chunk(f.si, 100, ct[100:200], size)
		ahead <- code
	}()
	select {
	case code := <-ahead:
		t.Fatalf("a chunk after a gap was answered (%d) before the gap was filled", code)
	case <-time.After(100 * time.Millisecond):
	}
	code, body = n2.chunk(f.si, 0, ct[:100], size)
	wantCode(t, code, http.StatusOK, body)
	if code := <-ahead; code != http.StatusOK {
		t.Fatalf("the chunk that waited for the gap: %d", code)
	}
	// Beyond the declared size.
	code, body = n.chunk(f.si, 150, append(slices.Clone(ct[150:]), 1, 2, 3), size+3)
	wantCode(t, code, http.StatusConflict, body) // total differs from the session's
	code, body = n.raw(http.MethodPatch, "/helper/v1/upload/"+f.si.String(), ct[150:250],
		map[string]string{"Content-Range": "bytes 950-1049/*"})
	wantCode(t, code, http.StatusRequestedRangeNotSatisfiable, body)
	// Malformed or missing Content-Range.
	code, body = n.raw(http.MethodPatch, "/helper/v1/upload/"+f.si.String(), ct[150:250],
		map[string]string{"Content-Range": "bytes=150-249"})
	wantCode(t, code, http.StatusRequestedRangeNotSatisfiable, body)
	code, body = n.raw(http.MethodPatch, "/helper/v1/upload/"+f.si.String(), ct[150:250], nil)
	wantCode(t, code, http.StatusBadRequest, body)
	// Finishing early.
	code, body = n.raw(http.MethodPost, "/helper/v1/upload/"+f.si.String()+"/finish", nil, nil)
	wantCode(t, code, http.StatusConflict, body)
	// Beginning again with another size or other parameters.
	other := f.spec(false)
	other.Size++
	_, err := c.Begin(ctx, f.si, other)
	wantErr(t, err, helper.ErrConflict)
	other = f.spec(false)
	other.Params.Happy--
	_, err = c.Begin(ctx, f.si, other)
	wantErr(t, err, helper.ErrConflict)
	// Unknown session, malformed storage index, bad begin body.
	code, body = n.chunk(wire.StorageIndex{1}, 0, ct[:10], size)
	wantCode(t, code, http.StatusNotFound, body)
	code, body = n.raw(http.MethodGet, "/helper/v1/upload/nonsense", nil, nil)
	wantCode(t, code, http.StatusBadRequest, body)
	code, body = n.raw(http.MethodPost, "/helper/v1/upload/"+f.si.String(), []byte{0xa1, 0x61, 0x78, 0x01}, nil)
	wantCode(t, code, http.StatusBadRequest, body)
	code, body = n.raw(http.MethodPut, "/helper/v1/upload/"+f.si.String(), nil, nil)
	wantCode(t, code, http.StatusMethodNotAllowed, body)

	st := mustStatus(t, n.svc, f.si)
	if st.Received != 150 || st.State != helper.StateReceiving {
		t.Fatalf("status %+v, want 150 bytes received", st)
	}
	// Resuming sends only the rest, and the result is right.
	p, err := c.Upload(ctx, f.si, bytes.NewReader(f.cipher), f.spec(false), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.checkPlaced(t, p)
	if n.placer.Calls() != 1 {
		t.Fatalf("placer called %d times", n.placer.Calls())
	}
}

func TestIntegrityCheck(t *testing.T) {
	n := newNode(t, nil)
	f := newFile(t, 200<<10)
	c := n.client(nil)
	spec := f.spec(true)
	spec.CrypttextHash[0] ^= 1
	_, err := c.Upload(context.Background(), f.si, bytes.NewReader(f.cipher), spec, nil)
	wantErr(t, err, helper.ErrIntegrity)
	if n.placer.Completed() != 0 {
		t.Fatal("a corrupt upload was placed")
	}
	if _, err := n.svc.Status(f.si); !errors.Is(err, helper.ErrNotFound) {
		t.Fatalf("session kept after the integrity failure: %v", err)
	}
	if files := n.stagingFiles(); len(files) != 0 {
		t.Fatalf("staging directory holds %v", files)
	}

	// A hash given only when resuming is adopted, and checked against
	// bytes received before it (recomputed from the staged file).
	ctx := context.Background()
	if _, err := c.Begin(ctx, f.si, f.spec(false)); err != nil {
		t.Fatal(err)
	}
	code, body := n.chunk(f.si, 0, f.cipher[:1000], int64(len(f.cipher)))
	wantCode(t, code, http.StatusOK, body)
	if _, err := c.Begin(ctx, f.si, spec); err != nil { // wrong hash, adopted
		t.Fatal(err)
	}
	_, err = c.Begin(ctx, f.si, f.spec(true)) // now a different hash conflicts
	wantErr(t, err, helper.ErrConflict)
	_, err = c.Upload(ctx, f.si, bytes.NewReader(f.cipher), spec, nil)
	wantErr(t, err, helper.ErrIntegrity)
	if n.placer.Completed() != 0 {
		t.Fatal("a corrupt upload was placed")
	}
	// With the right hash from the start it all works.
	p, err := c.Upload(ctx, f.si, bytes.NewReader(f.cipher), f.spec(true), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.checkPlaced(t, p)
}

type fakeChecker struct {
	stored map[wire.StorageIndex]*helper.Placed // read-only once in use
}

func (c *fakeChecker) AlreadyStored(ctx context.Context, si wire.StorageIndex) (*helper.Placed, bool, error) {
	p, ok := c.stored[si]
	return p, ok, nil
}

func TestAlreadyStored(t *testing.T) {
	f := newFile(t, 100<<10)
	g := newFile(t, 100<<10)
	// What the grid holds for f: a real encode of it.
	placed, err := (&fakePlacer{}).Place(context.Background(), f.si, bytes.NewReader(f.cipher), int64(len(f.cipher)), testParams)
	if err != nil {
		t.Fatal(err)
	}
	placed.Pushed, placed.Preexisting = 0, testParams.N
	checker := &fakeChecker{stored: map[wire.StorageIndex]*helper.Placed{f.si: placed}}
	// And under g's storage index, a file of another size.
	wrong := *placed
	wrong.VerifyCap.StorageIndex, wrong.VerifyCap.Size, wrong.UEB = g.si, 5000, nil
	checker.stored[g.si] = &wrong

	n := newNode(t, func(cfg *helper.Config) { cfg.Checker = checker })
	c := n.client(nil)
	var sent int64 = -1
	p, err := c.Upload(context.Background(), f.si, bytes.NewReader(f.cipher), f.spec(true), func(pr helper.Progress) { sent = pr.Sent })
	if err != nil {
		t.Fatal(err)
	}
	f.checkPlaced(t, p)
	if sent != 0 || n.received.Load() != 0 || n.placer.Calls() != 0 || p.Preexisting != testParams.N {
		t.Fatalf("already-stored file was sent (%d bytes) or placed (%d calls): %+v", sent, n.placer.Calls(), p)
	}
	_, err = c.Upload(context.Background(), g.si, bytes.NewReader(g.cipher), g.spec(true), nil)
	wantErr(t, err, helper.ErrConflict)
	if files := n.stagingFiles(); len(files) != 0 {
		t.Fatalf("staging directory holds %v", files)
	}
}

func TestStagingSpace(t *testing.T) {
	f := newFile(t, 300<<10)
	size := int64(len(f.cipher))
	t.Run("limit", func(t *testing.T) {
		n := newNode(t, func(cfg *helper.Config) { cfg.MaxStagingBytes = size - 1 })
		_, err := n.client(nil).Upload(context.Background(), f.si, bytes.NewReader(f.cipher), f.spec(true), nil)
		wantErr(t, err, helper.ErrInsufficientStorage)
		var se *helper.StatusError
		if !errors.As(err, &se) || se.Code != http.StatusInsufficientStorage {
			t.Fatalf("error %v, want a 507", err)
		}
		if files := n.stagingFiles(); len(files) != 0 {
			t.Fatalf("staging directory holds %v", files)
		}
	})
	t.Run("disk", func(t *testing.T) {
		n := newNode(t, func(cfg *helper.Config) {
			cfg.ReservedSpace = 1 << 20
			cfg.DiskAvailable = func(string) (int64, error) { return size + 1<<20 - 1, nil }
		})
		_, err := n.client(nil).Upload(context.Background(), f.si, bytes.NewReader(f.cipher), f.spec(true), nil)
		wantErr(t, err, helper.ErrInsufficientStorage)
		if files := n.stagingFiles(); len(files) != 0 {
			t.Fatalf("staging directory holds %v", files)
		}
	})
	t.Run("write fails", func(t *testing.T) {
		n := newNode(t, nil)
		// The disk fills up in the middle of the third chunk: part of it
		// is written, then ENOSPC.
		const chunk = 64 << 10
		helper.SetFault(n.svc, func(off int64, k int) (int, error) {
			if off+int64(k) > 2*chunk+1000 {
				return int(max(0, 2*chunk+1000-off)), &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}
			}
			return k, nil
		})
		c := n.client(nil)
		_, err := c.Upload(context.Background(), f.si, bytes.NewReader(f.cipher), f.spec(true), nil)
		wantErr(t, err, helper.ErrInsufficientStorage)
		if !strings.Contains(err.Error(), "staging disk full") {
			t.Fatalf("unclear error: %v", err)
		}
		st := mustStatus(t, n.svc, f.si)
		fi, err := os.Stat(filepath.Join(n.dir, f.si.String()+".data"))
		if err != nil {
			t.Fatal(err)
		}
		if st.Received != 2*chunk || fi.Size() != st.Received {
			t.Fatalf("after a failed write: %d bytes acknowledged, %d staged; want %d and no partial chunk", st.Received, fi.Size(), 2*chunk)
		}
		if n.placer.Completed() != 0 {
			t.Fatal("placed")
		}
		// Space comes back: the upload resumes and completes.
		helper.SetFault(n.svc, nil)
		p, err := c.Upload(context.Background(), f.si, bytes.NewReader(f.cipher), f.spec(true), nil)
		if err != nil {
			t.Fatal(err)
		}
		f.checkPlaced(t, p)
	})
}

func TestSweep(t *testing.T) {
	clock := storagetest.NewClock(time.Now())
	n := newNode(t, func(cfg *helper.Config) {
		cfg.Clock = clock.Now
		cfg.IdleTimeout = time.Hour
		cfg.ResultRetention = 2 * time.Hour
	})
	f := newFile(t, 100<<10)
	g := newFile(t, 100<<10)
	c := n.client(nil)
	ctx := context.Background()
	if _, err := c.Begin(ctx, f.si, f.spec(true)); err != nil {
		t.Fatal(err)
	}
	code, body := n.chunk(f.si, 0, f.cipher[:5000], int64(len(f.cipher)))
	wantCode(t, code, http.StatusOK, body)
	if _, err := c.Upload(ctx, g.si, bytes.NewReader(g.cipher), g.spec(true), nil); err != nil {
		t.Fatal(err)
	}

	clock.Advance(50 * time.Minute)
	n.svc.Sweep()
	if st := mustStatus(t, n.svc, f.si); st.Received != 5000 {
		t.Fatalf("status %+v", st)
	}
	// Activity (a begin) restarts the idle time.
	if _, err := c.Begin(ctx, f.si, f.spec(true)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(50 * time.Minute)
	n.svc.Sweep()
	mustStatus(t, n.svc, f.si)

	clock.Advance(11 * time.Minute)
	n.svc.Sweep()
	if _, err := n.svc.Status(f.si); !errors.Is(err, helper.ErrNotFound) {
		t.Fatalf("idle session kept: %v", err)
	}
	if st := mustStatus(t, n.svc, g.si); st.State != helper.StateStored {
		t.Fatalf("result forgotten early: %+v", st)
	}
	if files := n.stagingFiles(); len(files) != 1 || files[0] != g.si.String()+".done" {
		t.Fatalf("staging directory holds %v", files)
	}
	clock.Advance(time.Hour)
	n.svc.Sweep()
	if _, err := n.svc.Status(g.si); !errors.Is(err, helper.ErrNotFound) {
		t.Fatalf("old result kept: %v", err)
	}
	if files := n.stagingFiles(); len(files) != 0 {
		t.Fatalf("staging directory holds %v", files)
	}
	if l := n.svc.Load(); l != (helper.Load{}) {
		t.Fatalf("load %+v", l)
	}
}

func TestAuthorization(t *testing.T) {
	n := newNode(t, nil)
	f := newFile(t, 1000)
	for _, auth := range []string{"", wire.AuthorizationValue("wrong"), "Tahoe-LAFS " + n.swiss} {
		for _, path := range []string{"/helper/v1/upload/" + f.si.String(), "/helper/v1/nothing", "/"} {
			code, body := n.rawAuth(auth, http.MethodGet, path, nil, nil)
			wantCode(t, code, http.StatusUnauthorized, body)
		}
	}
	bad := n.nurl
	bad.Swissnum = "wrong"
	c, err := helper.NewClient(bad, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Upload(context.Background(), f.si, bytes.NewReader(f.cipher), f.spec(true), nil)
	wantErr(t, err, helper.ErrUnauthorized)
	// A helper with another certificate is refused before anything is sent.
	other := newNode(t, nil)
	bad = other.nurl
	bad.SPKIHash = n.nurl.SPKIHash
	c2, err := helper.NewClient(bad, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Status(context.Background(), f.si); err == nil || !strings.Contains(err.Error(), "SPKI") {
		t.Fatalf("pin mismatch not detected: %v", err)
	}
}

func TestLimits(t *testing.T) {
	n := newNode(t, func(cfg *helper.Config) {
		cfg.MaxFileSize = 100 << 10
		cfg.MaxChunkSize = 32 << 10
		cfg.MaxSessions = 1
	})
	c := n.client(nil) // 64 KiB chunks
	ctx := context.Background()
	big := newFile(t, 100<<10+1)
	_, err := c.Upload(ctx, big.si, bytes.NewReader(big.cipher), big.spec(true), nil)
	wantErr(t, err, helper.ErrTooLarge)

	f := newFile(t, 100<<10)
	_, err = c.Upload(ctx, f.si, bytes.NewReader(f.cipher), f.spec(true), nil)
	wantErr(t, err, helper.ErrTooLarge) // the chunk
	if mustStatus(t, n.svc, f.si).Received != 0 {
		t.Fatal("part of an oversize chunk was kept")
	}

	g := newFile(t, 1000)
	_, err = c.Begin(ctx, g.si, g.spec(true))
	wantErr(t, err, helper.ErrBusy) // one session at a time

	// Invalid specs.
	for _, s := range []helper.Spec{
		{Size: 55, Params: testParams},
		{Size: 1000, Params: helper.Params{K: 3, Happy: 11, N: 10, MaxSegmentSize: 1 << 10}},
		{Size: 1000, Params: helper.Params{K: 0, Happy: 1, N: 10, MaxSegmentSize: 1 << 10}},
		{Size: 1000, Params: helper.Params{K: 3, Happy: 7, N: 10, MaxSegmentSize: 0}},
	} {
		_, err := c.Begin(ctx, g.si, s)
		wantErr(t, err, helper.ErrInvalid)
	}
	small := helper.ClientOptions{ChunkSize: 32 << 10, RetryBackoff: time.Millisecond}
	p, err := n.client(&small).Upload(ctx, f.si, bytes.NewReader(f.cipher), f.spec(true), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.checkPlaced(t, p)
}

func TestConcurrentFinish(t *testing.T) {
	n := newNode(t, nil)
	gate := make(chan struct{})
	n.placer.set(nil, gate)
	f := newFile(t, 200<<10)
	c := n.client(nil)
	ctx := context.Background()
	if _, err := c.Begin(ctx, f.si, f.spec(true)); err != nil {
		t.Fatal(err)
	}
	code, body := n.chunk(f.si, 0, f.cipher, int64(len(f.cipher)))
	wantCode(t, code, http.StatusOK, body)

	results := make(chan string, 3)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body := n.raw(http.MethodPost, "/helper/v1/upload/"+f.si.String()+"/finish", nil, nil)
			results <- fmt.Sprint(code, string(body))
		}()
	}
	// While placing: the load shows it, chunks and aborts are refused.
	deadline := time.Now().Add(5 * time.Second)
	for n.svc.Load().Placing != 1 {
		if time.Now().After(deadline) {
			t.Fatal("placement did not start")
		}
		time.Sleep(time.Millisecond)
	}
	if l := n.svc.Load(); l.PlacingBytes != int64(len(f.cipher)) || l.StagedBytes != int64(len(f.cipher)) {
		t.Fatalf("load %+v", l)
	}
	code, body = n.chunk(f.si, 0, f.cipher[:10], int64(len(f.cipher)))
	wantCode(t, code, http.StatusConflict, body)
	code, body = n.raw(http.MethodDelete, "/helper/v1/upload/"+f.si.String(), nil, nil)
	wantCode(t, code, http.StatusConflict, body)
	close(gate)
	wg.Wait()
	close(results)
	var first string
	for r := range results {
		if first == "" {
			first = r
		}
		if r != first || !strings.HasPrefix(r, "200") {
			t.Fatalf("finish answers differ: %q vs %q", r, first)
		}
	}
	if n.placer.Calls() != 1 {
		t.Fatalf("placer called %d times", n.placer.Calls())
	}
}

// A failed placement is final for this attempt (the grid lacks servers;
// retrying within seconds will not change that), but the helper keeps the
// ciphertext: running the upload again places it without resending a byte.
func TestPlacementFailureThenRerun(t *testing.T) {
	n := newNode(t, nil)
	n.placer.set(errors.New("happiness 4 < 7: not enough servers"), nil)
	f := newFile(t, 100<<10)
	c := n.client(nil)
	_, err := c.Upload(context.Background(), f.si, bytes.NewReader(f.cipher), f.spec(true), nil)
	wantErr(t, err, helper.ErrPlacement)
	// The early placement, started at begin, failed; the finish placed
	// again (and failed); the client did not retry the finish.
	if n.placer.Calls() != 2 {
		t.Fatalf("a failed placement was retried: placer called %d times, want 2 (early, finish)", n.placer.Calls())
	}
	n.placer.set(nil, nil)
	p, err := c.Upload(context.Background(), f.si, bytes.NewReader(f.cipher), f.spec(true), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.checkPlaced(t, p)
	if n.placer.Calls() != 3 || n.received.Load() != int64(len(f.cipher)) {
		t.Fatalf("placer called %d times, %d bytes received (want the ciphertext once)", n.placer.Calls(), n.received.Load())
	}

	// Without retries the error reaches the caller, and the status says
	// why while the ciphertext stays staged.
	g := newFile(t, 100<<10)
	n.placer.set(errors.New("happiness 4 < 7: not enough servers"), nil)
	c = n.client(&helper.ClientOptions{MaxRetries: -1, ChunkSize: 1 << 20})
	_, err = c.Upload(context.Background(), g.si, bytes.NewReader(g.cipher), g.spec(true), nil)
	wantErr(t, err, helper.ErrPlacement)
	if !strings.Contains(err.Error(), "happiness 4 < 7") {
		t.Fatalf("error lost the placer's reason: %v", err)
	}
	st := mustStatus(t, n.svc, g.si)
	if st.State != helper.StateReceiving || st.Received != st.Size || !strings.Contains(st.LastError, "happiness") {
		t.Fatalf("status after a failed placement %+v", st)
	}
}

func TestConcurrentChunks(t *testing.T) {
	n := newNode(t, nil)
	f := newFile(t, 256<<10)
	size := int64(len(f.cipher))
	c := n.client(nil)
	if _, err := c.Begin(context.Background(), f.si, f.spec(true)); err != nil {
		t.Fatal(err)
	}
	// Two senders push the same chunks at once; whichever is behind only
	// overlaps what the other already sent.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for off := int64(0); off < size; off += 16 << 10 {
				if code, body := n.chunk(f.si, off, f.cipher[off:off+16<<10], size); code != http.StatusOK {
					errs <- fmt.Errorf("chunk at %d: %d %s", off, code, body)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	p, err := c.Upload(context.Background(), f.si, bytes.NewReader(f.cipher), f.spec(true), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.checkPlaced(t, p)
}

func TestAbort(t *testing.T) {
	n := newNode(t, nil)
	f := newFile(t, 100<<10)
	c := n.client(nil)
	ctx := context.Background()
	if _, err := c.Begin(ctx, f.si, f.spec(true)); err != nil {
		t.Fatal(err)
	}
	code, body := n.chunk(f.si, 0, f.cipher[:1000], int64(len(f.cipher)))
	wantCode(t, code, http.StatusOK, body)
	if err := c.Abort(ctx, f.si); err != nil {
		t.Fatal(err)
	}
	wantErr(t, c.Abort(ctx, f.si), helper.ErrNotFound)
	if _, err := c.Status(ctx, f.si); !errors.Is(err, helper.ErrNotFound) {
		t.Fatalf("status after abort: %v", err)
	}
	if files := n.stagingFiles(); len(files) != 0 {
		t.Fatalf("staging directory holds %v", files)
	}
}

func TestShortSource(t *testing.T) {
	n := newNode(t, nil)
	f := newFile(t, 100<<10)
	_, err := n.client(nil).Upload(context.Background(), f.si, bytes.NewReader(f.cipher[:90<<10]), f.spec(true), nil)
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("upload from a short source: %v", err)
	}
}
