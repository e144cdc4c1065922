package helper_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/communitycube/cube/server/grid/gbs"
	"github.com/communitycube/cube/server/grid/helper"
	"github.com/communitycube/cube/server/grid/storage"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/hashtree"
	"github.com/communitycube/cube/shared/nurl"
)

var testParams = helper.Params{K: 3, Happy: 7, N: 10, MaxSegmentSize: 128 << 10}

// fakePlacer runs the real CHK encoder over the ciphertext and throws the
// shares away: the UEB hash it returns commits to every share anyway, so
// comparing it with a direct encode proves the helper encoded the right
// bytes.
//
// With early placement, a call may start while the ciphertext is still
// arriving and end without result (the helper stops it); Completed counts
// the calls that returned a result, which is what "placed" means.
type fakePlacer struct {
	mu        sync.Mutex
	calls     int
	completed int
	errs      []error       // what the failed calls returned
	fail      error         // calls fail with this until changed
	gate      chan struct{} // if set, calls wait for it to close
	// firstRead, if set, is called (once per call) when the call has read
	// its first bytes of ciphertext.
	firstRead func()
}

func (f *fakePlacer) Place(ctx context.Context, si wire.StorageIndex, r io.Reader, size int64, p helper.Params) (res *helper.Placed, err error) {
	f.mu.Lock()
	f.calls++
	fail, gate, first := f.fail, f.gate, f.firstRead
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if err != nil {
			f.errs = append(f.errs, err)
		} else {
			f.completed++
		}
	}()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if fail != nil {
		return nil, fail
	}
	if first != nil {
		r = &firstReadReader{r: r, f: first}
	}
	enc, err := chk.EncodeCiphertext(r, size, p.CHK(), chk.Discard)
	if err != nil {
		return nil, err
	}
	shares := map[int][]string{}
	for i := range p.N {
		shares[i] = []string{"v0-server" + strconv.Itoa(i)}
	}
	return &helper.Placed{VerifyCap: enc.VerifyCap(si), UEB: enc.UEB, Happiness: p.N, Shares: shares, Pushed: p.N}, nil
}

type firstReadReader struct {
	r io.Reader
	f func()
}

func (r *firstReadReader) Read(p []byte) (int, error) {
	k, err := r.r.Read(p)
	if k > 0 && r.f != nil {
		r.f()
		r.f = nil
	}
	return k, err
}

// set changes the placer's behaviour for the next calls.
func (f *fakePlacer) set(fail error, gate chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail, f.gate = fail, gate
}

func (f *fakePlacer) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// Completed counts the calls that returned a result.
func (f *fakePlacer) Completed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.completed
}

// Errors returns what the failed calls returned.
func (f *fakePlacer) Errors() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.errs)
}

// node is a helper served over loopback TLS, restartable on the same
// staging directory and address.
type node struct {
	t      *testing.T
	dir    string
	id     *storage.Identity
	swiss  string
	placer *fakePlacer
	config func(*helper.Config)
	// wrap, if set, wraps the handler (fault injection).
	wrap func(http.Handler) http.Handler

	svc  *helper.Service
	srv  *http.Server
	ln   net.Listener
	addr string
	nurl nurl.NURL

	received atomic.Int64 // chunk body bytes the handler read
}

func newNode(t *testing.T, config func(*helper.Config)) *node {
	t.Helper()
	id, err := storage.LoadOrCreateIdentity(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	swiss, err := storage.NewSwissnum()
	if err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, dir: t.TempDir(), id: id, swiss: swiss, placer: &fakePlacer{}, config: config}
	n.start()
	t.Cleanup(n.stop)
	return n
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func (n *node) newService() *helper.Service {
	cfg := helper.Config{Dir: n.dir, Placer: n.placer, Logger: quiet, SweepInterval: -1}
	if n.config != nil {
		n.config(&cfg)
	}
	svc, err := helper.New(cfg)
	if err != nil {
		n.t.Fatal(err)
	}
	return svc
}

func (n *node) start() {
	t := n.t
	t.Helper()
	n.svc = n.newService()
	addr := n.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	n.ln, n.addr = ln, ln.Addr().String()
	port := ln.Addr().(*net.TCPAddr).Port
	if n.nurl, err = nurl.New(n.id.Leaf, "127.0.0.1", uint16(port), n.swiss); err != nil {
		t.Fatal(err)
	}
	var h http.Handler = helper.NewHandler(n.svc, n.swiss)
	if n.wrap != nil {
		h = n.wrap(h)
	}
	inner := h
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch {
			r.Body = &countBody{ReadCloser: r.Body, n: &n.received}
		}
		inner.ServeHTTP(w, r)
	})
	n.srv = &http.Server{Handler: h, TLSConfig: n.id.TLSConfig(), ErrorLog: log.New(io.Discard, "", 0)}
	go n.srv.ServeTLS(ln, "", "")
}

// stop closes the server abruptly (dropping connections) and the service.
func (n *node) stop() {
	if n.srv != nil {
		n.srv.Close()
		n.ln.Close() // Serve may not have taken it over yet
		n.srv = nil
	}
	if n.svc != nil {
		n.svc.Close()
		n.svc = nil
	}
}

func (n *node) restart() {
	n.stop()
	n.start()
}

func (n *node) client(opts *helper.ClientOptions) *helper.Client {
	n.t.Helper()
	o := helper.ClientOptions{ChunkSize: 64 << 10, RetryBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond}
	if opts != nil {
		o = *opts
	}
	c, err := helper.NewClient(n.nurl, &o)
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(c.Close)
	return c
}

type countBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countBody) Read(p []byte) (int, error) {
	k, err := c.ReadCloser.Read(p)
	c.n.Add(int64(k))
	return k, err
}

// raw sends a request with the given swissnum and returns status and body.
func (n *node) raw(method, path string, body []byte, header map[string]string) (int, []byte) {
	n.t.Helper()
	return n.rawAuth(wire.AuthorizationValue(n.swiss), method, path, body, header)
}

func (n *node) rawAuth(auth, method, path string, body []byte, header map[string]string) (int, []byte) {
	n.t.Helper()
	conf, err := gbs.PinnedTLSConfig(n.nurl.SPKIHash)
	if err != nil {
		n.t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: conf}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequest(method, "https://"+n.addr+path, bytes.NewReader(body))
	if err != nil {
		n.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// chunk sends a raw PATCH of data at off for an upload of size bytes.
func (n *node) chunk(si wire.StorageIndex, off int64, data []byte, size int64) (int, []byte) {
	n.t.Helper()
	cr := wire.FormatContentRange(wire.ByteRange{Begin: uint64(off), End: uint64(off) + uint64(len(data))}, size)
	return n.raw(http.MethodPatch, "/helper/v1/upload/"+si.String(), data, map[string]string{"Content-Range": cr})
}

func (n *node) stagingFiles() []string {
	n.t.Helper()
	entries, err := os.ReadDir(n.dir)
	if err != nil {
		n.t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// file is a test upload: random plaintext, its ciphertext under a random
// key, and the cap a direct encode gives.
type file struct {
	key    chk.Key
	si     wire.StorageIndex
	plain  []byte
	cipher []byte
	hash   hashtree.Hash
	want   string // read cap
}

func newFile(t *testing.T, size int) *file {
	t.Helper()
	f := &file{plain: make([]byte, size)}
	rand.Read(f.plain)
	rand.Read(f.key[:])
	f.si = wire.StorageIndex(chk.StorageIndex(f.key))
	f.cipher = make([]byte, size)
	chk.NewCTR(f.key, 0).XORKeyStream(f.cipher, f.plain)
	h := helper.NewCrypttextHasher()
	h.Write(f.cipher)
	f.hash = h.Sum()
	c, err := chk.EncodeWithKey(bytes.NewReader(f.plain), int64(size), f.key, testParams.CHK(), chk.Discard)
	if err != nil {
		t.Fatal(err)
	}
	f.want = c.String()
	return f
}

func (f *file) spec(withHash bool) helper.Spec {
	s := helper.Spec{Size: int64(len(f.cipher)), Params: testParams}
	if withHash {
		h := f.hash
		s.CrypttextHash = &h
	}
	return s
}

func (f *file) checkPlaced(t *testing.T, p *helper.Placed) {
	t.Helper()
	if p == nil {
		t.Fatal("no result")
	}
	if got := p.ReadCap(f.key).String(); got != f.want {
		t.Fatalf("read cap\n got %s\nwant %s", got, f.want)
	}
	if p.VerifyCap.StorageIndex != f.si {
		t.Fatal("verify cap names another storage index")
	}
}

func mustStatus(t *testing.T, svc *helper.Service, si wire.StorageIndex) helper.Status {
	t.Helper()
	st, err := svc.Status(si)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func wantCode(t *testing.T, code, want int, body []byte) {
	t.Helper()
	if code != want {
		t.Fatalf("status %d, want %d: %s", code, want, body)
	}
}
