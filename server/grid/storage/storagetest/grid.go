// Package storagetest runs in-process grids of GBS storage servers for
// tests: real servers on loopback TLS listeners, with real share files in
// the test's temporary directory, and pinned gbs clients for each.
//
//	g := storagetest.NewGrid(t, 5)
//	for _, c := range g.Clients() { ... }
//	g.Nodes[2].Stop()    // simulate an outage
//	g.Nodes[2].Restart() // new server process on the same directory
//	g.Clock.Advance(40 * 24 * time.Hour)
package storagetest

import (
	"context"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/communitycube/cube/server/grid/gbs"
	"github.com/communitycube/cube/server/grid/storage"
	"github.com/communitycube/cube/shared/nurl"
)

// Clock is a manually driven clock shared by a grid's servers, so tests of
// leases and timeouts never sleep.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Options customise a grid. The zero value gives default servers.
type Options struct {
	// Configure adjusts node i's server configuration before each start
	// (including restarts).
	Configure func(i int, cfg *storage.Config)
	// WrapBackend wraps node i's disk backend, e.g. to fake free space.
	WrapBackend func(i int, b storage.Backend) storage.Backend
	// Client configures the clients; nil uses a fast-retrying default.
	Client *gbs.Options
	// Clock is shared by all nodes; nil means a new Clock at the current
	// time.
	Clock *Clock
	// Logger receives server logs; nil discards them.
	Logger *slog.Logger
}

// Grid is a set of running storage nodes.
type Grid struct {
	Nodes []*Node
	Clock *Clock
}

// Node is one storage server of a grid.
type Node struct {
	Index    int
	Dir      string
	Identity *storage.Identity
	NURL     nurl.NURL
	Client   *gbs.Client

	t    testing.TB
	opts *Options
	clk  *Clock
	addr string

	mu      sync.Mutex
	server  *storage.Server
	backend storage.Backend
	httpSrv *http.Server
	handler atomic.Pointer[http.Handler]
}

// NewGrid starts n default storage servers and registers their shutdown
// with t.Cleanup.
func NewGrid(t testing.TB, n int) *Grid {
	t.Helper()
	return NewGridWithOptions(t, n, nil)
}

// NewGridWithOptions is NewGrid with customised servers and clients; opts
// may be nil.
func NewGridWithOptions(t testing.TB, n int, opts *Options) *Grid {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	clk := opts.Clock
	if clk == nil {
		clk = NewClock(time.Now().Truncate(time.Second))
	}
	g := &Grid{Clock: clk}
	root := t.TempDir()
	for i := 0; i < n; i++ {
		nd := &Node{Index: i, Dir: filepath.Join(root, "node"+strconv.Itoa(i)), t: t, opts: opts, clk: clk}
		id, err := storage.LoadOrCreateIdentity(nd.Dir)
		if err != nil {
			t.Fatal(err)
		}
		nd.Identity = id
		nd.startServer()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		nd.addr = ln.Addr().String()
		nd.serve(ln)
		port := ln.Addr().(*net.TCPAddr).Port
		if nd.NURL, err = id.NURL("127.0.0.1", uint16(port)); err != nil {
			t.Fatal(err)
		}
		copts := opts.Client
		if copts == nil {
			copts = &gbs.Options{RetryBackoff: 10 * time.Millisecond}
		}
		if nd.Client, err = gbs.New(nd.NURL, copts); err != nil {
			t.Fatal(err)
		}
		g.Nodes = append(g.Nodes, nd)
		t.Cleanup(nd.shutdown)
	}
	return g
}

// NURLs returns every node's NURL.
func (g *Grid) NURLs() []nurl.NURL {
	out := make([]nurl.NURL, len(g.Nodes))
	for i, n := range g.Nodes {
		out[i] = n.NURL
	}
	return out
}

// Clients returns every node's client.
func (g *Grid) Clients() []*gbs.Client {
	out := make([]*gbs.Client, len(g.Nodes))
	for i, n := range g.Nodes {
		out[i] = n.Client
	}
	return out
}

// Server returns the node's current server (it changes on Restart).
func (n *Node) Server() *storage.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.server
}

// StorageDir is where the node's shares and server state live.
func (n *Node) StorageDir() string { return filepath.Join(n.Dir, "storage") }

func (n *Node) startServer() {
	t := n.t
	disk, err := storage.NewDiskBackend(n.StorageDir())
	if err != nil {
		t.Fatal(err)
	}
	var b storage.Backend = disk
	if n.opts.WrapBackend != nil {
		b = n.opts.WrapBackend(n.Index, b)
	}
	logger := n.opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg := storage.Config{
		Backend:  b,
		StateDir: n.StorageDir(),
		Swissnum: n.Identity.Swissnum,
		NodeID:   n.Identity.NodeID(),
		Clock:    n.clk.Now,
		Logger:   logger.With("node", n.Index),
	}
	if n.opts.Configure != nil {
		n.opts.Configure(n.Index, &cfg)
	}
	srv, err := storage.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = srv
	n.mu.Lock()
	n.server, n.backend = srv, b
	n.mu.Unlock()
	n.handler.Store(&h)
}

func (n *Node) serve(ln net.Listener) {
	hs := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			(*n.handler.Load()).ServeHTTP(w, r)
		}),
		TLSConfig:         n.Identity.TLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // handshake failures are expected in pinning tests
	}
	n.mu.Lock()
	n.httpSrv = hs
	n.mu.Unlock()
	go hs.ServeTLS(ln, "", "")
}

// Restart replaces the node's server with a new one opened on the same
// directory, as after a process restart: in-progress uploads are lost,
// stored shares and leases are not. The address and NURL stay the same.
func (n *Node) Restart() {
	n.t.Helper()
	if err := n.Server().Close(); err != nil {
		n.t.Fatal(err)
	}
	n.startServer()
}

// Stop makes the node unreachable (its listener is closed) until Start.
func (n *Node) Stop() {
	n.mu.Lock()
	hs := n.httpSrv
	n.httpSrv = nil
	n.mu.Unlock()
	// Drop the client's idle connections first, or Shutdown waits for
	// them to time out.
	n.Client.Close()
	if hs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
	}
}

// Start makes a stopped node reachable again at its old address.
func (n *Node) Start() {
	n.t.Helper()
	var ln net.Listener
	var err error
	for try := 0; try < 50; try++ {
		if ln, err = net.Listen("tcp", n.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		n.t.Fatal(err)
	}
	n.serve(ln)
}

func (n *Node) shutdown() {
	n.Stop()
	n.Server().Close()
}
