package main

import (
	"context"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"

	"github.com/communitycube/cube/server/node"
)

func runNode(ctx context.Context, args []string) error {
	fs := newFlags("run", "[flags]", "Starts the node in DATA with the roles its node.json sets (a directory without one is an\n"+
		"all-in-one node: web app on 127.0.0.1:8080, storage, helper and introducer on loopback).\n"+
		"Stop it with Ctrl-C (or SIGTERM): it finishes the requests in flight and closes the database.")
	var cfg node.Config
	fs.StringVar(&cfg.Addr, "addr", "", "web app `host:port` (default: node.json's, 127.0.0.1:8080 for a new node; 0.0.0.0:8080 to reach it from other devices; port 0 picks one)")
	fs.StringVar(&cfg.Data, "data", "./data", "data `directory`")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "serve HTTPS with this certificate `file` (PEM)")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "private key `file` (PEM) for --tls-cert")
	fs.StringVar(&cfg.ACMEDomain, "acme-domain", "", "get a certificate from Let's Encrypt for this public `name` (listens on :443 unless --addr is given)")
	fs.StringVar(&cfg.ACMEEmail, "acme-email", "", "contact `address` for Let's Encrypt (optional)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, nil)
	if *logFormat == "json" {
		h = slog.NewJSONHandler(os.Stderr, nil)
	} else if *logFormat != "text" {
		return usageError{"--log-format must be text or json"}
	}
	cfg.Log = slog.New(h)
	cfg.Version = version
	if addr := os.Getenv("CUBE_PPROF"); addr != "" {
		// For developers profiling a node; off unless asked for.
		go func() {
			cfg.Log.Warn("serving pprof", "addr", addr, "err", http.ListenAndServe(addr, nil))
		}()
	}
	return node.Run(ctx, cfg)
}
