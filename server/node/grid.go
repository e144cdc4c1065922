package node

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/communitycube/cube/server/grid/broker"
	"github.com/communitycube/cube/server/grid/bufnet"
	"github.com/communitycube/cube/server/grid/helper"
	"github.com/communitycube/cube/server/grid/introducer"
	"github.com/communitycube/cube/server/grid/storage"
)

// NURLsFile (in private/) lists the NURLs of the running node's roles, for
// local tools such as `cube put --node DIR` and `cube status`.
const NURLsFile = "nurls.json"

// RoleNURLs are the addresses of a node's grid roles.
type RoleNURLs struct {
	Storage    string `json:"storage,omitempty"`
	Helper     string `json:"helper,omitempty"`
	Introducer string `json:"introducer,omitempty"`
	Control    string `json:"control,omitempty"`
}

// grid is the node's grid side: one TLS listener, the role handlers behind it.
type grid struct {
	log      *slog.Logger
	id       *Identity
	cfg      NodeConfig
	dir      string
	ln       net.Listener
	srv      *http.Server
	mux      *http.ServeMux
	host     string // advertised
	port     uint16
	storage  *storage.Server
	backend  *storage.DiskBackend
	expirer  *storage.LeaseExpirer
	expEvery time.Duration
	nurls    RoleNURLs

	introducer *introducer.Server
	helper     *helper.Service
	pub        *introducer.Publisher
	sub        *introducer.Subscriber
	broker     *broker.Dynamic
	placer     *placer
}

func newGrid(dir string, cfg NodeConfig, id *Identity, log *slog.Logger) (*grid, error) {
	g := &grid{log: log, id: id, cfg: cfg, dir: dir, mux: http.NewServeMux()}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("grid listener on %s: %w", cfg.Listen, err)
	}
	g.ln = ln
	if err := g.setAddress(); err != nil {
		ln.Close()
		return nil, err
	}
	if cfg.Storage != nil {
		if err := g.startStorage(); err != nil {
			ln.Close()
			return nil, err
		}
	}
	if err := g.startClientRoles(); err != nil {
		g.close()
		return nil, err
	}
	g.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such grid service", http.StatusNotFound)
	})
	tlsConf := id.TLS.TLSConfig()
	g.srv = &http.Server{
		Handler:           g.mux,
		ReadHeaderTimeout: 20 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConf,
	}
	return g, nil
}

// setAddress works out the host and port other nodes reach us at.
func (g *grid) setAddress() error {
	_, portStr, err := net.SplitHostPort(g.ln.Addr().String())
	if err != nil {
		return err
	}
	p, _ := strconv.Atoi(portStr)
	g.port = uint16(p)
	host, _, _ := net.SplitHostPort(g.cfg.Listen)
	if g.cfg.Advertise != "" {
		h, ps, _ := net.SplitHostPort(g.cfg.Advertise)
		ap, err := strconv.Atoi(ps)
		if err != nil {
			return fmt.Errorf("advertise: %w", err)
		}
		host, g.port = h, uint16(ap)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if lan := LANAddresses(); len(lan) > 0 {
			host = lan[0]
		}
	}
	g.host = host
	return nil
}

// nurl is the NURL of a role with the given swissnum.
func (g *grid) nurl(swissnum string) string {
	u, err := g.id.TLS.NURL(g.host, g.port)
	if err != nil {
		return ""
	}
	u.Swissnum = swissnum
	return u.String()
}

func (g *grid) startStorage() error {
	sdir := filepath.Join(g.dir, "storage")
	backend, err := storage.NewDiskBackend(sdir)
	if err != nil {
		return err
	}
	reserved, _ := ParseSize(g.cfg.Storage.ReservedSpace)
	srv, err := storage.NewServer(storage.Config{
		Backend:            backend,
		StateDir:           sdir,
		Swissnum:           g.id.TLS.Swissnum,
		NodeID:             g.id.TLS.NodeID(),
		ReservedSpace:      reserved,
		ReadOnly:           g.cfg.Storage.ReadOnly,
		ApplicationVersion: "CommunityCube",
		Logger:             g.log.With("role", "storage"),
	})
	if err != nil {
		return err
	}
	g.storage, g.backend = srv, backend
	g.mux.Handle("/storage/v1/", srv)
	g.nurls.Storage = g.nurl(g.id.TLS.Swissnum)
	if x := g.cfg.Storage.Expire; x != nil {
		p := storage.ExpiryPolicy{Mode: storage.ExpiryAge}
		if x.Mode == "cutoff-date" {
			p.Mode = storage.ExpiryCutoffDate
			p.CutoffDate, _ = time.Parse("2006-01-02", x.CutoffDate)
		}
		if x.Override != "" {
			p.OverrideLeaseDuration, _ = time.ParseDuration(x.Override)
		}
		g.expEvery = time.Hour
		if x.Interval != "" {
			g.expEvery, _ = time.ParseDuration(x.Interval)
		}
		if g.expirer, err = storage.NewLeaseExpirer(srv, p); err != nil {
			return err
		}
	}
	return nil
}

// serve runs until ctx ends.
func (g *grid) serve(ctx context.Context) error {
	if err := g.writeNURLs(); err != nil {
		return err
	}
	if g.expirer != nil {
		go g.expirer.Run(ctx, g.expEvery)
	}
	if g.pub != nil {
		go g.announce(ctx)
	}
	if g.sub != nil {
		go g.follow(ctx)
		go g.probe(ctx)
	}
	g.log.Info("grid listening", "addr", g.ln.Addr().String(), "advertised", net.JoinHostPort(g.host, strconv.Itoa(int(g.port))))
	errc := make(chan error, 1)
	go func() {
		errc <- g.srv.Serve(tls.NewListener(bufnet.Listener(g.ln, bufnet.ReadBuffer), g.srv.TLSConfig))
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	g.log.Info("grid shutting down")
	// Long polls first: the introducer answers its waiting subscribers at
	// Close, and our own subscriber stops polling, so Shutdown does not
	// wait out a 30-second poll.
	g.closeFollowers()
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	g.srv.Shutdown(sctx)
	g.close()
	return nil
}

func (g *grid) closeFollowers() {
	if g.sub != nil {
		g.sub.Close()
	}
	if g.pub != nil {
		g.pub.Close()
	}
	if g.introducer != nil {
		g.introducer.Close()
	}
}

// close releases the roles; the listener is closed by Shutdown or here.
func (g *grid) close() {
	g.closeFollowers()
	if g.helper != nil {
		g.helper.Close()
	}
	if g.broker != nil {
		g.broker.Close()
	}
	if g.storage != nil {
		g.storage.Close()
	}
	g.ln.Close()
}

func (g *grid) writeNURLs() error {
	b, _ := json.MarshalIndent(g.nurls, "", "  ")
	return writeSecret(filepath.Join(g.dir, PrivateDir, NURLsFile), append(b, '\n'))
}

// ReadNURLs reads the NURLs a running (or last run) node wrote.
func ReadNURLs(dir string) (RoleNURLs, error) {
	var n RoleNURLs
	b, err := os.ReadFile(filepath.Join(dir, PrivateDir, NURLsFile))
	if err != nil {
		return n, fmt.Errorf("no running node in %s (%w)", dir, err)
	}
	return n, json.Unmarshal(b, &n)
}
