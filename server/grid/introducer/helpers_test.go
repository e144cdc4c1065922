package introducer

import (
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/communitycube/cube/server/grid/storage"
	"github.com/communitycube/cube/shared/nurl"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// testIntro is an introducer on a real loopback TLS listener, with the
// storage package's identity and TLS configuration, mounted under
// PathPrefix of a mux as the node will mount it.
type testIntro struct {
	t    testing.TB
	id   *storage.Identity
	Dir  string
	cfg  ServerConfig
	addr string
	NURL nurl.NURL

	mu  sync.Mutex
	srv *Server
	hs  *http.Server
}

func startIntro(t testing.TB, configure func(*ServerConfig)) *testIntro {
	t.Helper()
	dir := t.TempDir()
	id, err := storage.LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	ti := &testIntro{t: t, id: id, Dir: dir}
	ti.cfg = ServerConfig{
		Swissnum:  id.Swissnum,
		StatePath: filepath.Join(dir, "introducer-state.json"),
		Logger:    discardLogger,
	}
	if configure != nil {
		configure(&ti.cfg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ti.addr = ln.Addr().String()
	if ti.NURL, err = id.NURL("127.0.0.1", uint16(ln.Addr().(*net.TCPAddr).Port)); err != nil {
		t.Fatal(err)
	}
	ti.serve(ln)
	t.Cleanup(ti.Stop)
	return ti
}

func (ti *testIntro) serve(ln net.Listener) {
	srv, err := NewServer(ti.cfg)
	if err != nil {
		ti.t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(PathPrefix, srv)
	hs := &http.Server{
		Handler:           mux,
		TLSConfig:         ti.id.TLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	ti.mu.Lock()
	ti.srv, ti.hs = srv, hs
	ti.mu.Unlock()
	go hs.ServeTLS(ln, "", "")
}

func (ti *testIntro) Server() *Server {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	return ti.srv
}

// Stop takes the introducer down: connections are cut, the table is
// saved.
func (ti *testIntro) Stop() {
	ti.mu.Lock()
	srv, hs := ti.srv, ti.hs
	ti.srv, ti.hs = nil, nil
	ti.mu.Unlock()
	if hs == nil {
		return
	}
	hs.Close()
	if err := srv.Close(); err != nil {
		ti.t.Error(err)
	}
}

// Restart starts a new server process on the same address and state.
func (ti *testIntro) Restart() {
	ti.Stop()
	ln, err := net.Listen("tcp", ti.addr)
	if err != nil {
		ti.t.Fatal(err)
	}
	ti.serve(ln)
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// deadNURL points at a loopback port nothing listens on.
func deadNURL(t testing.TB) nurl.NURL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return testNURL(uint16(port), "nobodyhome")
}
