package helper_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
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
	"github.com/communitycube/cube/server/grid/helper"
	"github.com/communitycube/cube/server/grid/storage/storagetest"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/server/grid/upload"
	"github.com/communitycube/cube/shared/hashtree"
)

// Tests of early placement: the helper starts placing while the
// ciphertext still arrives, and the finish only lets it read the end.

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func finishPath(si wire.StorageIndex) string { return "/helper/v1/upload/" + si.String() + "/finish" }

// finishWith sends a finish whose body carries h.
func (n *node) finishWith(si wire.StorageIndex, h *hashtree.Hash) (int, []byte) {
	n.t.Helper()
	return n.raw(http.MethodPost, finishPath(si), helper.EncodeFinishBody(h), map[string]string{"Content-Type": wire.MediaTypeCBOR})
}

// sendAll sends data[from:to] in 64 KiB chunks.
func (n *node) sendAll(si wire.StorageIndex, data []byte, from, to int) {
	n.t.Helper()
	for off := from; off < to; off += 64 << 10 {
		end := min(off+64<<10, to)
		code, body := n.chunk(si, int64(off), data[off:end], int64(len(data)))
		wantCode(n.t, code, http.StatusOK, body)
	}
}

func errorsContain(errs []error, s string) bool {
	for _, err := range errs {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// TestEarlyPlacementOverlapsReceiving: the placer reads its first bytes
// while the upload is still arriving. The last chunk is held back until
// then (or 10 s), so the test does not depend on scheduling: without an
// early placement, no byte is read before the finish.
func TestEarlyPlacementOverlapsReceiving(t *testing.T) {
	f := newFile(t, 1<<20+777)
	size := int64(len(f.cipher))
	n := newNode(t, nil)
	firstRead := make(chan struct{})
	var once sync.Once
	var readAt, lastAckAt, heldAtFirstRead atomic.Int64
	n.placer.firstRead = func() {
		once.Do(func() {
			readAt.Store(time.Now().UnixNano())
			heldAtFirstRead.Store(mustStatus(t, n.svc, f.si).Received)
			close(firstRead)
		})
	}
	lastRange := fmt.Sprintf("-%d/%d", size-1, size)
	n.wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			last := r.Method == http.MethodPatch && strings.HasSuffix(r.Header.Get("Content-Range"), lastRange)
			if last {
				select {
				case <-firstRead:
				case <-time.After(10 * time.Second):
				}
			}
			h.ServeHTTP(w, r)
			if last {
				lastAckAt.Store(time.Now().UnixNano())
			}
		})
	}
	n.restart()
	p, err := n.client(nil).Upload(context.Background(), f.si, bytes.NewReader(f.cipher), f.spec(false), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.checkPlaced(t, p)
	if readAt.Load() == 0 || readAt.Load() > lastAckAt.Load() {
		t.Fatalf("the placer read its first byte %v after the last chunk was acknowledged",
			time.Duration(readAt.Load()-lastAckAt.Load()))
	}
	if h := heldAtFirstRead.Load(); h >= size {
		t.Fatalf("%d of %d bytes held when the placer first read", h, size)
	}
	if n.placer.Calls() != 1 || n.placer.Completed() != 1 {
		t.Fatalf("placer called %d times, %d completed; want one placement", n.placer.Calls(), n.placer.Completed())
	}
}

// gridPlacer places for real, on storage servers, as the node's placer
// does.
type gridPlacer struct {
	b    broker.Broker
	mu   sync.Mutex
	errs []error
}

var testLease = broker.LeaseSecret(bytes.Repeat([]byte{7}, 32))

func (g *gridPlacer) Place(ctx context.Context, si wire.StorageIndex, r io.Reader, size int64, hp helper.Params) (*helper.Placed, error) {
	res, err := upload.Upload(ctx, g.b, si, r, size, upload.Params(hp), &upload.Options{LeaseSecret: testLease, ChunkSize: 16 << 10})
	if err != nil {
		g.mu.Lock()
		g.errs = append(g.errs, err)
		g.mu.Unlock()
		return nil, err
	}
	placed := &helper.Placed{VerifyCap: res.VerifyCap(), UEB: res.Encoding.UEB, Happiness: res.Happiness, Shares: map[int][]string{}}
	for id, shares := range res.Layout {
		for _, sh := range shares {
			placed.Shares[sh] = append(placed.Shares[sh], id)
		}
	}
	return placed, nil
}

func (g *gridPlacer) Errors() []error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]error(nil), g.errs...)
}

// incomingFiles counts the partial shares on the grid's servers.
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

// sharesOnDisk counts the complete shares of si on the grid's servers.
func sharesOnDisk(g *storagetest.Grid, si wire.StorageIndex) int {
	count := 0
	for _, n := range g.Nodes {
		ents, _ := os.ReadDir(filepath.Join(n.StorageDir(), "shares", si.Prefix(), si.String()))
		count += len(ents)
	}
	return count
}

// TestHashAtFinishRealGrid places on real storage servers. A wrong
// crypttext hash given at finish stops the early placement before its
// final step: it has had buckets open on the servers, but no share is
// completed and the partial ones are aborted. The right hash (computed by
// the client while sending) stores a file that downloads intact.
func TestHashAtFinishRealGrid(t *testing.T) {
	grid := storagetest.NewGrid(t, 4)
	b := brokertest.New(t, grid)
	gp := &gridPlacer{b: b}
	n := newNode(t, func(cfg *helper.Config) { cfg.Placer = gp })
	params := helper.Params{K: 2, Happy: 4, N: 4, MaxSegmentSize: 64 << 10}
	ctx := context.Background()
	c := n.client(nil)

	f := newFile(t, 1<<20+5)
	spec := helper.Spec{Size: int64(len(f.cipher)), Params: params}
	if _, err := c.Begin(ctx, f.si, spec); err != nil {
		t.Fatal(err)
	}
	n.sendAll(f.si, f.cipher, 0, len(f.cipher))
	waitFor(t, "the early placement's buckets", func() bool { return incomingFiles(grid) > 0 })
	wrong := f.hash
	wrong[0] ^= 1
	code, body := n.finishWith(f.si, &wrong)
	wantCode(t, code, http.StatusUnprocessableEntity, body)
	// The aborts of the partial shares may still be on their way to the
	// servers (a loaded machine); none may stay.
	waitFor(t, "the partial shares to be aborted", func() bool { return incomingFiles(grid) == 0 })
	if k := sharesOnDisk(grid, f.si); k != 0 {
		t.Errorf("%d shares of the rejected upload completed", k)
	}
	if errs := gp.Errors(); len(errs) != 1 || !errors.Is(errs[0], helper.ErrIntegrity) {
		t.Errorf("placer errors %v, want the integrity error from its reader", errs)
	}
	if _, err := n.svc.Status(f.si); !errors.Is(err, helper.ErrNotFound) {
		t.Errorf("session kept after the integrity failure: %v", err)
	}
	if files := n.stagingFiles(); len(files) != 0 {
		t.Errorf("staging directory holds %v", files)
	}

	// The client computes the hash while sending and gives it at finish.
	g := newFile(t, 1<<20+5)
	spec = helper.Spec{Size: int64(len(g.cipher)), Params: params}
	p, err := c.Upload(ctx, g.si, bytes.NewReader(g.cipher), spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if k := sharesOnDisk(grid, g.si); k != params.N || incomingFiles(grid) != 0 {
		t.Fatalf("%d shares stored, %d partial", k, incomingFiles(grid))
	}
	var buf bytes.Buffer
	if _, err := download.Download(ctx, b, p.ReadCap(g.key), &buf, &download.Options{ReadTimeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), g.plain) {
		t.Fatal("the stored file downloads to other bytes")
	}
}

// TestDisconnectDuringEarlyPlacement: the uploader goes away half way. If it
// comes back soon, the same early placement goes on; if it stays away
// longer than StallTimeout, the placement is stopped and another starts
// when it is back. Either way one placement completes, with the right
// result.
func TestDisconnectDuringEarlyPlacement(t *testing.T) {
	for _, stall := range []bool{false, true} {
		t.Run(fmt.Sprintf("stall=%v", stall), func(t *testing.T) {
			n := newNode(t, func(cfg *helper.Config) {
				if stall {
					cfg.StallTimeout = 300 * time.Millisecond
				}
			})
			f := newFile(t, 1<<20+12345)
			size := int64(len(f.cipher))
			c := n.client(nil)
			ctx, cancel := context.WithCancel(context.Background())
			_, err := c.Upload(ctx, f.si, bytes.NewReader(f.cipher), f.spec(false), func(pr helper.Progress) {
				if pr.Held >= size/2 {
					cancel()
				}
			})
			wantErr(t, err, context.Canceled)
			waitFor(t, "the early placement", func() bool { return n.placer.Calls() == 1 })
			if stall {
				waitFor(t, "the stalled placement to stop", func() bool { return len(n.placer.Errors()) == 1 })
				if !errorsContain(n.placer.Errors(), "no bytes arrived") {
					t.Fatalf("placer errors %v", n.placer.Errors())
				}
			} else {
				time.Sleep(50 * time.Millisecond)
			}
			p, err := c.Upload(context.Background(), f.si, bytes.NewReader(f.cipher), f.spec(false), nil)
			if err != nil {
				t.Fatal(err)
			}
			f.checkPlaced(t, p)
			calls := 1
			if stall {
				calls = 2
			}
			if n.placer.Calls() != calls || n.placer.Completed() != 1 {
				t.Fatalf("placer called %d times, %d completed; want %d calls, one completed", n.placer.Calls(), n.placer.Completed(), calls)
			}
		})
	}
}

// TestAbortStopsEarlyPlacement: deleting a session stops its early
// placement and frees its placement slot.
func TestAbortStopsEarlyPlacement(t *testing.T) {
	n := newNode(t, func(cfg *helper.Config) { cfg.MaxPlacing = 1 })
	read := make(chan struct{}, 10)
	n.placer.firstRead = func() { read <- struct{}{} }
	f := newFile(t, 512<<10)
	c := n.client(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Begin(ctx, f.si, f.spec(true)); err != nil {
		t.Fatal(err)
	}
	n.sendAll(f.si, f.cipher, 0, 128<<10)
	<-read
	if err := c.Abort(ctx, f.si); err != nil {
		t.Fatal(err)
	}
	if errs := n.placer.Errors(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "deleted") || n.placer.Completed() != 0 {
		t.Fatalf("after abort: placer errors %v, %d completed", errs, n.placer.Completed())
	}
	if files := n.stagingFiles(); len(files) != 0 {
		t.Fatalf("staging directory holds %v", files)
	}
	// The only slot is free again (else this would wait for ever).
	g := newFile(t, 200<<10)
	p, err := c.Upload(ctx, g.si, bytes.NewReader(g.cipher), g.spec(false), nil)
	if err != nil {
		t.Fatal(err)
	}
	g.checkPlaced(t, p)
	if n.placer.Calls() != 2 || n.placer.Completed() != 1 {
		t.Fatalf("placer called %d times, %d completed", n.placer.Calls(), n.placer.Completed())
	}
}

// TestRestartDuringEarlyPlacement: a helper restart cancels the early
// placement; a finish after it places from the staged file, and an
// uploader resuming after it gets a new early placement.
func TestRestartDuringEarlyPlacement(t *testing.T) {
	t.Run("finish", func(t *testing.T) {
		n := newNode(t, nil)
		f := newFile(t, 512<<10)
		c := n.client(nil)
		ctx := context.Background()
		if _, err := c.Begin(ctx, f.si, f.spec(false)); err != nil {
			t.Fatal(err)
		}
		n.sendAll(f.si, f.cipher, 0, len(f.cipher))
		waitFor(t, "the early placement", func() bool { return n.placer.Calls() == 1 })
		n.restart()
		if errs := n.placer.Errors(); len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
			t.Fatalf("placer errors %v, want the early placement cancelled", errs)
		}
		code, body := n.finishWith(f.si, &f.hash)
		wantCode(t, code, http.StatusOK, body)
		st, err := n.client(nil).Status(ctx, f.si)
		if err != nil {
			t.Fatal(err)
		}
		f.checkPlaced(t, st.Result)
		if n.placer.Calls() != 2 || n.placer.Completed() != 1 {
			t.Fatalf("placer called %d times, %d completed", n.placer.Calls(), n.placer.Completed())
		}
	})
	t.Run("resume", func(t *testing.T) {
		n := newNode(t, nil)
		f := newFile(t, 1<<20+3)
		size := int64(len(f.cipher))
		var restarted bool
		p, err := n.client(nil).Upload(context.Background(), f.si, bytes.NewReader(f.cipher), f.spec(false), func(pr helper.Progress) {
			if !restarted && pr.Held >= size/3 {
				restarted = true
				n.restart()
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		f.checkPlaced(t, p)
		if n.placer.Calls() != 2 || n.placer.Completed() != 1 {
			t.Fatalf("placer called %d times, %d completed", n.placer.Calls(), n.placer.Completed())
		}
	})
}

// TestFinishPreemptsEarlyPlacement: with every placement slot held by an
// early placement whose uploader is still sending, a finished upload takes
// the slot; the stopped one is placed again later.
func TestFinishPreemptsEarlyPlacement(t *testing.T) {
	n := newNode(t, func(cfg *helper.Config) { cfg.MaxPlacing = 1 })
	a := newFile(t, 512<<10)
	b := newFile(t, 200<<10)
	c := n.client(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Begin(ctx, a.si, a.spec(false)); err != nil {
		t.Fatal(err)
	}
	n.sendAll(a.si, a.cipher, 0, 64<<10)
	waitFor(t, "a's early placement", func() bool { return n.placer.Calls() == 1 })
	pb, err := c.Upload(ctx, b.si, bytes.NewReader(b.cipher), b.spec(false), nil)
	if err != nil {
		t.Fatal(err)
	}
	b.checkPlaced(t, pb)
	if !errorsContain(n.placer.Errors(), "placement slot") {
		t.Fatalf("placer errors %v, want a's early placement preempted", n.placer.Errors())
	}
	pa, err := c.Upload(ctx, a.si, bytes.NewReader(a.cipher), a.spec(false), nil)
	if err != nil {
		t.Fatal(err)
	}
	a.checkPlaced(t, pa)
	if n.placer.Completed() != 2 {
		t.Fatalf("%d placements completed", n.placer.Completed())
	}
}

// TestFinishHash covers the crypttext hash given at finish: adopted
// durably by a session begun without one, a conflict with another one,
// checked against a stored result, and the body's rules.
func TestFinishHash(t *testing.T) {
	n := newNode(t, nil)
	ctx := context.Background()
	c := n.client(nil)
	f := newFile(t, 100<<10)
	other := f.hash
	other[5] ^= 1

	// Begun with a hash: another one at finish conflicts, nothing changes.
	if _, err := c.Begin(ctx, f.si, f.spec(true)); err != nil {
		t.Fatal(err)
	}
	n.sendAll(f.si, f.cipher, 0, len(f.cipher))
	_, err := n.svc.FinishWithHash(ctx, f.si, &other)
	wantErr(t, err, helper.ErrConflict)
	code, body := n.finishWith(f.si, &other)
	wantCode(t, code, http.StatusConflict, body)
	if st := mustStatus(t, n.svc, f.si); st.State != helper.StateReceiving || st.Received != st.Size {
		t.Fatalf("status %+v", st)
	}
	code, body = n.finishWith(f.si, &f.hash)
	wantCode(t, code, http.StatusOK, body)
	// A stored result is checked against a hash given at finish.
	p, err := n.svc.FinishWithHash(ctx, f.si, &f.hash)
	if err != nil {
		t.Fatal(err)
	}
	f.checkPlaced(t, p)
	_, err = n.svc.FinishWithHash(ctx, f.si, &other)
	wantErr(t, err, helper.ErrConflict)

	// Begun without a hash: the one given at finish is adopted, durably,
	// even if the placement then fails.
	g := newFile(t, 100<<10)
	n.placer.set(errors.New("not enough servers"), nil)
	if _, err := c.Begin(ctx, g.si, g.spec(false)); err != nil {
		t.Fatal(err)
	}
	n.sendAll(g.si, g.cipher, 0, len(g.cipher))
	code, body = n.finishWith(g.si, &g.hash)
	wantCode(t, code, http.StatusBadGateway, body)
	n.placer.set(nil, nil)
	n.restart()
	c = n.client(nil) // the old one's connections died with the server
	spec := g.spec(false)
	spec.CrypttextHash = &other
	_, err = c.Begin(ctx, g.si, spec)
	wantErr(t, err, helper.ErrConflict)
	code, body = n.raw(http.MethodPost, finishPath(g.si), nil, nil) // no body: the adopted hash is checked
	wantCode(t, code, http.StatusOK, body)

	// Malformed finish bodies.
	h := newFile(t, 1000)
	if _, err := c.Begin(ctx, h.si, h.spec(false)); err != nil {
		t.Fatal(err)
	}
	n.sendAll(h.si, h.cipher, 0, len(h.cipher))
	for _, tc := range []struct {
		body []byte
		ct   string
		code int
	}{
		{[]byte{0xa1, 0x61, 0x78, 0x01}, wire.MediaTypeCBOR, http.StatusBadRequest},                            // {"x": 1}
		{[]byte{0xa1, 0x6e}, wire.MediaTypeCBOR, http.StatusBadRequest},                                        // truncated
		{append([]byte{0xa1, 0x6e}, append([]byte("crypttext-hash"), 0x41, 0x01)...), wire.MediaTypeCBOR, 400}, // 1-byte hash
		{helper.EncodeFinishBody(&h.hash), "text/plain", http.StatusUnsupportedMediaType},
		{bytes.Repeat([]byte{0}, 5000), wire.MediaTypeCBOR, http.StatusRequestEntityTooLarge},
	} {
		code, body := n.raw(http.MethodPost, finishPath(h.si), tc.body, map[string]string{"Content-Type": tc.ct})
		wantCode(t, code, tc.code, body)
	}
	code, body = n.finishWith(h.si, nil) // an empty map
	wantCode(t, code, http.StatusOK, body)
	if b, err := helper.DecodeFinishBody(helper.EncodeFinishBody(&h.hash)); err != nil || *b != h.hash {
		t.Fatalf("finish body round trip: %v", err)
	}
}

// TestClientHashesWhileSending: without a hash from the caller, the client
// computes it from what it sends, reading again only what the helper
// already held, and gives it at finish; the result is checked against it,
// also when nothing was sent.
func TestClientHashesWhileSending(t *testing.T) {
	n := newNode(t, nil)
	var mu sync.Mutex
	var finishBodies, beginBodies [][]byte
	n.wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				b, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(b))
				mu.Lock()
				if strings.HasSuffix(r.URL.Path, "/finish") {
					finishBodies = append(finishBodies, b)
				} else {
					beginBodies = append(beginBodies, b)
				}
				mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	}
	n.restart()
	f := newFile(t, 1<<20+99)
	size := int64(len(f.cipher))
	c := n.client(nil)
	// Half, then a new Upload call (a new process, say) does the rest.
	ctx, cancel := context.WithCancel(context.Background())
	_, err := c.Upload(ctx, f.si, bytes.NewReader(f.cipher), f.spec(false), func(pr helper.Progress) {
		if pr.Held >= size/2 {
			cancel()
		}
	})
	wantErr(t, err, context.Canceled)
	held := mustStatus(t, n.svc, f.si).Received
	n.received.Store(0)
	p, err := c.Upload(context.Background(), f.si, bytes.NewReader(f.cipher), f.spec(false), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.checkPlaced(t, p)
	if got := n.received.Load(); got != size-held {
		t.Fatalf("resumed upload sent %d bytes, want %d", got, size-held)
	}
	mu.Lock()
	if len(finishBodies) != 1 {
		t.Fatalf("%d finish requests", len(finishBodies))
	}
	h, err := helper.DecodeFinishBody(finishBodies[0])
	if err != nil || h == nil || *h != f.hash {
		t.Fatalf("finish carried hash %v (%v), want the crypttext hash", h, err)
	}
	for _, b := range beginBodies {
		if bytes.Contains(b, []byte("crypttext-hash")) {
			t.Fatal("begin carried a crypttext hash the caller did not give")
		}
	}
	mu.Unlock()

	// Already stored: nothing is sent, and the result is still checked
	// against the source's hash.
	p, err = c.Upload(context.Background(), f.si, bytes.NewReader(f.cipher), f.spec(false), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.checkPlaced(t, p)
	bad := bytes.Clone(f.cipher)
	bad[len(bad)-1] ^= 1
	_, err = c.Upload(context.Background(), f.si, bytes.NewReader(bad), f.spec(false), nil)
	wantErr(t, err, helper.ErrIntegrity)
}
