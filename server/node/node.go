// Package node runs a CommunityCube node: one HTTP(S) server for the web app
// and the API, backed by DATA/cube.db. `cube run` is a thin wrapper around Run.
package node

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/communitycube/cube/server/auth"
	"github.com/communitycube/cube/server/db"
	"github.com/communitycube/cube/server/files"
	"github.com/communitycube/cube/server/grid/broker"
	"github.com/communitycube/cube/server/grid/helper"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/server/httpapi"
	webapp "github.com/communitycube/cube/server/web"
	"github.com/communitycube/cube/shared/api"
	"golang.org/x/crypto/acme/autocert"
)

// Config is how a node is started: its data directory (whose node.json says
// which roles run) and overrides from the command line.
type Config struct {
	Data string // the node's directory

	// Overrides of node.json's web settings; empty leaves them. Setting
	// Addr on a node without the web role turns it on.
	Addr            string
	TLSCert, TLSKey string
	ACMEDomain      string
	ACMEEmail       string

	Version string
	Log     *slog.Logger
	// Ready, if set, is called once the node accepts connections.
	Ready func(Running)
}

// Running describes a started node.
type Running struct {
	WebURL   string // "" without the web role
	GridAddr string // the grid listener's address, "" without one
	NodeID   string
	NURLs    RoleNURLs
}

// DBFile is the database's name inside the data directory.
const DBFile = "cube.db"

// Run serves until ctx is cancelled, then shuts down gracefully: requests in
// flight get up to 15 seconds to finish and the database is closed cleanly.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("creating the data directory: %w", err)
	}
	_, statErr := os.Stat(filepath.Join(cfg.Data, ConfigFile))
	firstStart := errors.Is(statErr, fs.ErrNotExist)
	nc, err := LoadConfig(cfg.Data)
	if err != nil {
		return err
	}
	saved := nc
	cfg.applyTo(&nc)
	if err := nc.Validate(); err != nil {
		return err
	}
	unlock, err := lockDataDir(cfg.Data)
	if err != nil {
		return err
	}
	defer unlock()
	id, err := LoadOrCreateIdentity(cfg.Data)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	run := Running{NodeID: id.NodeID()}
	var tasks []func() error

	var gridStatus func() api.GridStatus
	var gr *grid
	if nc.Listen != "" && (nc.Storage != nil || nc.Helper != nil || nc.Introducer != nil) {
		g, err := newGrid(cfg.Data, nc, id, log)
		if err != nil {
			return err
		}
		run.GridAddr, run.NURLs = g.ln.Addr().String(), g.nurls
		gridStatus, gr = g.Status, g
		tasks = append(tasks, func() error { return g.serve(ctx) })
		if firstStart {
			// An all-in-one node keeps the port it got on its first start,
			// so its NURLs (and any node that learned them) stay valid.
			saved.Listen = run.GridAddr
			if err := SaveConfig(cfg.Data, saved); err != nil {
				return err
			}
		}
	}
	if nc.Web != nil {
		w, err := newWeb(ctx, cfg, nc, log, gridStatus, gr)
		if err != nil {
			return err
		}
		defer w.close()
		run.WebURL = w.url
		tasks = append(tasks, func() error { return w.serve(ctx) })
	}
	if len(tasks) == 0 {
		return errors.New("this node has no role: node.json enables none of web, storage, helper, introducer")
	}
	if run.WebURL != "" {
		log.Info("CommunityCube node running", "url", run.WebURL, "data", cfg.Data, "version", cfg.Version)
	} else {
		log.Info("CommunityCube node running", "grid", run.GridAddr, "data", cfg.Data, "version", cfg.Version)
	}
	if cfg.Ready != nil {
		cfg.Ready(run)
	}
	errc := make(chan error, len(tasks))
	for _, t := range tasks {
		go func() { errc <- t() }()
	}
	// The first role to stop (an error, or ctx's end) stops the others.
	first := <-errc
	cancel()
	for range tasks[1:] {
		<-errc
	}
	if first != nil && !errors.Is(first, http.ErrServerClosed) {
		return first
	}
	return nil
}

func (cfg Config) applyTo(nc *NodeConfig) {
	if cfg.Addr == "" && cfg.TLSCert == "" && cfg.ACMEDomain == "" {
		return
	}
	if nc.Web == nil {
		nc.Web = &WebConfig{Addr: "127.0.0.1:8080"}
	}
	if cfg.Addr != "" {
		nc.Web.Addr = cfg.Addr
	}
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		nc.Web.TLSCert, nc.Web.TLSKey = cfg.TLSCert, cfg.TLSKey
	}
	if cfg.ACMEDomain != "" {
		nc.Web.ACMEDomain, nc.Web.ACMEEmail = cfg.ACMEDomain, cfg.ACMEEmail
		if cfg.Addr == "" {
			nc.Web.Addr = ":443"
		}
	}
}

// web is the node's web role: the PWA and the JSON API.
type web struct {
	log   *slog.Logger
	db    *sql.DB
	srv   *http.Server
	ln    net.Listener
	url   string
	store *auth.Store
	files *files.Store
	grid  *files.Grid // nil without a grid side
}

func newWeb(ctx context.Context, cfg Config, nc NodeConfig, log *slog.Logger, gridStatus func() api.GridStatus, g *grid) (*web, error) {
	database, err := db.Open(ctx, filepath.Join(cfg.Data, DBFile), db.Options{})
	if err != nil {
		return nil, err
	}
	w := &web{log: log, db: database}
	ok := false
	defer func() {
		if !ok {
			database.Close()
		}
	}()
	w.store = auth.New(database, auth.DefaultHasher())
	site, err := webapp.New()
	if err != nil {
		return nil, fmt.Errorf("loading the web app: %w", err)
	}
	if !site.HasBundle() {
		log.Warn("this binary has no web bundle: pages will not start; build with `make build`")
	}
	w.files = files.New(database, w.store, log)
	fa := &httpapi.Files{Store: w.files}
	if g != nil {
		w.grid = &files.Grid{
			Helper: g.helper,
			Broker: g.broker,
			Encoding: helper.Params{K: nc.Encoding.K, N: nc.Encoding.N, Happy: nc.Encoding.Happy,
				MaxSegmentSize: nc.Encoding.SegmentSize},
			LeaseSecret: broker.LeaseSecret(g.id.LeaseSecret),
		}
		fa.Content = w.grid
		if g.helper != nil {
			fa.Uploads = w.grid
		}
	}
	apiHandler := (&httpapi.API{Auth: w.store, Log: log, Version: cfg.Version, GridStatus: gridStatus, Files: fa}).Handler()
	mux := http.NewServeMux()
	mux.Handle(api.Prefix, apiHandler)
	mux.Handle("/api/", apiHandler) // unknown API versions get JSON 404s too
	mux.Handle("/", site)
	w.srv = &http.Server{
		Handler:           logRequests(log, securityHeaders(mux)),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	wc := nc.Web
	scheme := "http"
	var tlsConf *tls.Config
	switch {
	case wc.ACMEDomain != "":
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			HostPolicy: autocert.HostWhitelist(wc.ACMEDomain),
			Cache:      autocert.DirCache(filepath.Join(cfg.Data, "acme")),
			Email:      wc.ACMEEmail,
		}
		tlsConf = m.TLSConfig()
		scheme = "https"
		go serveACMEChallenges(ctx, log, m)
	case wc.TLSCert != "":
		certs, err := newCertReloader(wc.TLSCert, wc.TLSKey)
		if err != nil {
			return nil, err
		}
		tlsConf = &tls.Config{GetCertificate: certs.get, MinVersion: tls.VersionTLS12}
		scheme = "https"
	}
	ln, err := net.Listen("tcp", wc.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", wc.Addr, err)
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	w.ln = ln
	w.url = scheme + "://" + displayAddr(ln.Addr().String(), wc.ACMEDomain)
	ok = true
	return w, nil
}

func (w *web) serve(ctx context.Context) error {
	// The background jobs stop with ctx; serve waits for them, so the
	// database is not closed under them.
	var jobs sync.WaitGroup
	defer jobs.Wait()
	jobs.Go(func() { purgeLoop(ctx, w.log, w.store) })
	var alive func(wire.StorageIndex) bool
	if w.grid != nil {
		alive = w.grid.UploadAlive
		lr := &files.LeaseRenewer{Store: w.files, Leaser: w.grid, Log: w.log}
		jobs.Go(func() { lr.Run(ctx) })
	}
	jobs.Go(func() { w.files.Housekeeping(ctx, time.Hour, alive) })
	errc := make(chan error, 1)
	go func() { errc <- w.srv.Serve(w.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	w.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := w.srv.Shutdown(sctx); err != nil {
		w.log.Warn("shutdown: requests were still running", "err", err)
	}
	return nil
}

func (w *web) close() { w.db.Close() }

// displayAddr makes the listening address into something a person can open.
func displayAddr(addr, domain string) string {
	if domain != "" {
		return domain
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func purgeLoop(ctx context.Context, log *slog.Logger, store *auth.Store) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := store.PurgeExpired(ctx); err != nil && ctx.Err() == nil {
			log.Warn("purging expired sessions", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// serveACMEChallenges answers HTTP-01 challenges and redirects plain HTTP to
// HTTPS on port 80, when that port can be had.
func serveACMEChallenges(ctx context.Context, log *slog.Logger, m *autocert.Manager) {
	srv := &http.Server{Addr: ":80", Handler: m.HTTPHandler(nil), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("port 80 unavailable: HTTP-01 challenges and the HTTP→HTTPS redirect are off (TLS-ALPN-01 still works)", "err", err)
	}
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		webapp.SecurityHeaders(w.Header(), r.TLS != nil)
		next.ServeHTTP(w, r)
	})
}

// logRequests writes one line per request: method, path, status, response
// bytes and duration. It never logs the query string, headers, cookies,
// bodies (which may carry secrets) or the client's address (personal data
// an operator rarely needs).
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		// Paths hold ids and storage indexes only, never names or keys.
		log.Info("request", "method", r.Method, "path", sanitizePath(r.URL.Path), "status", rec.status,
			"bytes", rec.bytes, "ms", float64(time.Since(start).Microseconds())/1000)
	})
}

func sanitizePath(p string) string {
	if len(p) > 200 {
		p = p[:200] + "…"
	}
	return strings.ToValidUTF8(p, "?")
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	n, err := s.ResponseWriter.Write(p)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer (flushing,
// deadlines) through the recorder.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
