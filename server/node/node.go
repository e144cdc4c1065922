// Package node runs a CommunityCube node: one HTTP(S) server for the web app
// and the API, backed by DATA/cube.db. `cube run` is a thin wrapper around Run.
package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/communitycube/cube/server/auth"
	"github.com/communitycube/cube/server/db"
	"github.com/communitycube/cube/server/httpapi"
	"github.com/communitycube/cube/server/web"
	"github.com/communitycube/cube/shared/api"
	"golang.org/x/crypto/acme/autocert"
)

// Config is how a node is started.
type Config struct {
	Addr string // host:port to listen on; port 0 picks a free one
	Data string // the node's directory

	TLSCert, TLSKey string // serve HTTPS with these PEM files
	ACMEDomain      string // or get a certificate for this public name (Let's Encrypt)
	ACMEEmail       string

	Version string
	Log     *slog.Logger
	// Ready, if set, is called with the node's URL once it accepts connections.
	Ready func(url string)
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
	unlock, err := lockDataDir(cfg.Data)
	if err != nil {
		return err
	}
	defer unlock()

	database, err := db.Open(ctx, filepath.Join(cfg.Data, DBFile), db.Options{})
	if err != nil {
		return err
	}
	defer database.Close()

	store := auth.New(database, auth.DefaultHasher())
	site, err := web.New()
	if err != nil {
		return fmt.Errorf("loading the web app: %w", err)
	}
	if !site.HasBundle() {
		log.Warn("this binary has no web bundle: pages will not start; build with `make build`")
	}
	apiHandler := (&httpapi.API{Auth: store, Log: log, Version: cfg.Version}).Handler()

	mux := http.NewServeMux()
	mux.Handle(api.Prefix, apiHandler)
	mux.Handle("/api/", apiHandler) // unknown API versions get JSON 404s too
	mux.Handle("/", site)

	srv := &http.Server{
		Handler:           logRequests(log, securityHeaders(mux)),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	scheme := "http"
	var tlsConf *tls.Config
	switch {
	case cfg.ACMEDomain != "":
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			HostPolicy: autocert.HostWhitelist(cfg.ACMEDomain),
			Cache:      autocert.DirCache(filepath.Join(cfg.Data, "acme")),
			Email:      cfg.ACMEEmail,
		}
		tlsConf = m.TLSConfig()
		scheme = "https"
		go serveACMEChallenges(ctx, log, m)
	case cfg.TLSCert != "" || cfg.TLSKey != "":
		if cfg.TLSCert == "" || cfg.TLSKey == "" {
			return errors.New("--tls-cert and --tls-key go together")
		}
		certs, err := newCertReloader(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return err
		}
		tlsConf = &tls.Config{GetCertificate: certs.get, MinVersion: tls.VersionTLS12}
		scheme = "https"
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	url := scheme + "://" + displayAddr(ln.Addr().String(), cfg.ACMEDomain)
	log.Info("CommunityCube node running", "url", url, "data", cfg.Data, "version", cfg.Version)
	if cfg.Ready != nil {
		cfg.Ready(url)
	}

	go purgeLoop(ctx, log, store)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown: requests were still running", "err", err)
	}
	return nil
}

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
		web.SecurityHeaders(w.Header(), r.TLS != nil)
		next.ServeHTTP(w, r)
	})
}

// logRequests writes one line per request. It logs the path but never the
// query string, headers, cookies or bodies, which may carry secrets.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		log.Info("request", "method", r.Method, "path", sanitizePath(r.URL.Path), "status", rec.status,
			"bytes", rec.bytes, "ms", float64(time.Since(start).Microseconds())/1000, "remote", host)
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
