package node

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/communitycube/cube/server/grid/broker"
	"github.com/communitycube/cube/server/grid/helper"
	"github.com/communitycube/cube/server/grid/introducer"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/server/grid/upload"
	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/nurl"
)

// seedEncoding is how announcements spell permutation seeds.
var seedEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// storageInfos turns verified storage announcements into broker entries.
func storageInfos(anns []introducer.Announcement) []broker.Info {
	var infos []broker.Info
	for _, a := range anns {
		if a.Storage == nil {
			continue
		}
		seed, err := seedEncoding.DecodeString(a.Storage.PermutationSeed)
		if err != nil {
			continue // the subscriber verified it; a bad one cannot get here
		}
		space := int64(a.Storage.AvailableSpace)
		if a.Storage.ReadOnly {
			space = 0
		}
		infos = append(infos, broker.Info{ID: a.NodeID, Nickname: a.Nickname, PermutationSeed: seed, NURL: a.NURL, AvailableSpace: space})
	}
	return infos
}

// placer stores what the helper received on the grid the node knows.
type placer struct {
	broker    broker.Broker
	lease     broker.LeaseSecret
	completed atomic.Int64
	log       *slog.Logger
}

// Place implements helper.Placer. A grid smaller than the requested
// happiness gets parameters that fit it (upload.ParamsFor), so a one-node
// install stores 1-of-1 instead of failing.
func (p *placer) Place(ctx context.Context, si wire.StorageIndex, r io.Reader, size int64, hp helper.Params) (*helper.Placed, error) {
	params := upload.ParamsFor(len(p.broker.Servers()), upload.Params(hp))
	res, err := upload.Upload(ctx, p.broker, si, r, size, params, &upload.Options{LeaseSecret: p.lease})
	if err != nil {
		return nil, err
	}
	placed := &helper.Placed{VerifyCap: res.VerifyCap(), UEB: res.Encoding.UEB, Happiness: res.Happiness, Shares: map[int][]string{}}
	for id, shares := range res.Layout {
		for _, sh := range shares {
			placed.Shares[sh] = append(placed.Shares[sh], id)
		}
	}
	for _, s := range res.Servers {
		placed.Pushed += len(s.Uploaded)
		placed.Preexisting += len(s.Existing)
	}
	p.completed.Add(1)
	p.log.Info("upload placed", "si", si.String(), "size", size, "k", params.K, "n", params.N, "happiness", res.Happiness)
	return placed, nil
}

// announcer keeps this node's announcements current at every introducer.
func (g *grid) announce(ctx context.Context) {
	publish := func() {
		if g.storage != nil {
			space, _ := g.backend.Available()
			reserved, _ := ParseSize(g.cfg.Storage.ReservedSpace)
			avail := space - reserved
			if avail < 0 {
				avail = 0
			}
			g.pub.Publish(introducer.Announcement{Service: introducer.ServiceStorage, NURL: nurl.MustParse(g.nurls.Storage),
				Storage: &introducer.StorageInfo{AvailableSpace: uint64(avail), ReservedSpace: uint64(reserved), ReadOnly: g.cfg.Storage.ReadOnly}})
		}
		if g.helper != nil {
			l := g.helper.Load()
			g.pub.Publish(introducer.Announcement{Service: introducer.ServiceHelper, NURL: nurl.MustParse(g.nurls.Helper),
				Helper: &introducer.HelperInfo{ActiveUploads: uint64(l.Sessions), QueuedBytes: uint64(l.StagedBytes + l.PlacingBytes)}})
		}
		if g.introducer != nil {
			g.pub.Publish(introducer.Announcement{Service: introducer.ServiceIntroducer, NURL: nurl.MustParse(g.nurls.Introducer)})
		}
	}
	publish()
	// Space and load change slowly; every change makes every subscriber
	// fetch the whole table, so a few minutes is often enough.
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			publish()
		}
	}
}

// follow keeps the broker in step with the subscriber.
func (g *grid) follow(ctx context.Context) {
	for {
		ch := g.sub.Changed()
		if err := g.broker.Set(storageInfos(g.sub.Announcements(introducer.ServiceStorage))); err != nil {
			g.log.Warn("updating the server list", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}

// Status describes the node's grid side for the status page and `cube status`.
func (g *grid) Status() api.GridStatus {
	s := api.GridStatus{
		NodeID:      g.id.NodeID(),
		Nickname:    g.cfg.Nickname,
		Encoding:    api.Encoding{K: g.cfg.Encoding.K, Happy: g.cfg.Encoding.Happy, N: g.cfg.Encoding.N},
		Roles:       g.roles(),
		Servers:     []api.ServerStatus{},
		Introducers: []api.IntroducerStatus{},
	}
	if g.sub != nil {
		for _, in := range g.sub.Introducers() {
			s.Introducers = append(s.Introducers, api.IntroducerStatus{Address: hostPortOf(in.NURL), Connected: in.Connected,
				LastContact: in.LastContact, LastError: in.LastError})
		}
	}
	if g.broker != nil {
		for _, srv := range g.broker.Servers() {
			st := srv.Status()
			s.Servers = append(s.Servers, api.ServerStatus{NodeID: st.ID, Nickname: st.Nickname, Address: srv.NURL().Address(),
				AvailableSpace: st.AvailableSpace, Connected: st.Connected, LastContact: st.LastSuccess, LastError: st.LastError,
				Self: st.ID == s.NodeID})
		}
		sort.Slice(s.Servers, func(i, j int) bool {
			if s.Servers[i].Nickname != s.Servers[j].Nickname {
				return s.Servers[i].Nickname < s.Servers[j].Nickname
			}
			return s.Servers[i].NodeID < s.Servers[j].NodeID
		})
	}
	if g.storage != nil {
		space, _ := g.backend.Available()
		reserved, _ := ParseSize(g.cfg.Storage.ReservedSpace)
		s.Storage = &api.StorageStatus{AvailableSpace: max(space-reserved, 0), ReservedSpace: reserved, ReadOnly: g.cfg.Storage.ReadOnly}
	}
	if g.helper != nil {
		l := g.helper.Load()
		s.Helper = &api.HelperStatus{ActiveUploads: l.Sessions, StagedBytes: l.StagedBytes, PlacingBytes: l.PlacingBytes, Completed: g.placer.completed.Load()}
	}
	return s
}

func (g *grid) roles() []string {
	var r []string
	if g.storage != nil {
		r = append(r, "storage")
	}
	if g.helper != nil {
		r = append(r, "helper")
	}
	if g.introducer != nil {
		r = append(r, "introducer")
	}
	if g.cfg.Web != nil {
		r = append(r, "web")
	}
	return r
}

// ServerList is what the control endpoint hands local tools so they can
// reach the grid the way the node does.
type ServerList struct {
	Servers  []ServerEntry `json:"servers"`
	Helper   string        `json:"helper,omitempty"`
	Encoding Encoding      `json:"encoding"`
}

// ServerEntry is one storage server of a ServerList.
type ServerEntry struct {
	ID              string `json:"id"`
	Nickname        string `json:"nickname,omitempty"`
	PermutationSeed string `json:"permutation_seed"`
	NURL            string `json:"nurl"`
	AvailableSpace  int64  `json:"available_space"`
}

// controlHandler serves local tools (`cube status`, `cube put --node DIR`)
// on the grid listener, behind the control swissnum that only the node's
// owner can read from its private directory.
func (g *grid) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /control/v1/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSONResponse(w, g.Status())
	})
	mux.HandleFunc("GET /control/v1/servers", func(w http.ResponseWriter, r *http.Request) {
		l := ServerList{Helper: g.nurls.Helper, Encoding: g.cfg.Encoding, Servers: []ServerEntry{}}
		if g.broker != nil {
			for _, s := range g.broker.Servers() {
				l.Servers = append(l.Servers, ServerEntry{ID: s.ID(), Nickname: s.Nickname(),
					PermutationSeed: seedEncoding.EncodeToString(s.PermutationSeed()), NURL: s.NURL().String(), AvailableSpace: s.Status().AvailableSpace})
			}
		}
		writeJSONResponse(w, l)
	})
	want := wire.AuthorizationValue(g.id.ControlSwissnum)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !wire.CheckAuthorization(r.Header.Get(wire.HeaderAuthorization), want) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// startClientRoles starts the introducer role, the helper, the publisher,
// the subscriber and the broker, as the configuration asks.
func (g *grid) startClientRoles() error {
	pdir := filepath.Join(g.dir, PrivateDir)
	if g.cfg.Introducer != nil {
		srv, err := introducer.NewServer(introducer.ServerConfig{
			Swissnum:  g.id.IntroducerSwissnum,
			StatePath: filepath.Join(pdir, "introducer-state.json"),
			Logger:    g.log.With("role", "introducer"),
		})
		if err != nil {
			return err
		}
		g.introducer = srv
		g.mux.Handle(introducer.PathPrefix, srv)
		g.nurls.Introducer = g.nurl(g.id.IntroducerSwissnum)
	}
	var intros []nurl.NURL
	for _, s := range g.cfg.Introducers {
		u, err := nurl.Parse(s)
		if err != nil {
			return errors.New("introducers: " + err.Error())
		}
		intros = append(intros, u)
	}
	if g.introducer != nil {
		// A node that is an introducer meets the grid at itself too.
		intros = append(intros, nurl.MustParse(g.nurls.Introducer))
	}
	g.broker = broker.NewDynamic(nil)
	g.placer = &placer{broker: g.broker, lease: broker.LeaseSecret(g.id.LeaseSecret), log: g.log.With("role", "helper")}
	if g.cfg.Helper != nil {
		svc, err := helper.New(helper.Config{
			Dir:         filepath.Join(g.dir, "helper"),
			Placer:      g.placer,
			MaxSessions: g.cfg.Helper.MaxConcurrent,
			Logger:      g.log.With("role", "helper"),
		})
		if err != nil {
			return err
		}
		g.helper = svc
		g.mux.Handle(helper.PathPrefix, helper.NewHandler(svc, g.id.HelperSwissnum))
		g.nurls.Helper = g.nurl(g.id.HelperSwissnum)
	}
	g.nurls.Control = g.nurl(g.id.ControlSwissnum)
	g.mux.Handle("/control/v1/", g.controlHandler())
	if len(intros) == 0 {
		return nil
	}
	pub, err := introducer.NewPublisher(introducer.PublisherConfig{
		Key:         g.id.Key,
		Nickname:    g.cfg.Nickname,
		Introducers: intros,
		SeqPath:     filepath.Join(pdir, "announcement-seqnum"),
		Logger:      g.log.With("role", "announce"),
	})
	if err != nil {
		return err
	}
	g.pub = pub
	sub, err := introducer.NewSubscriber(introducer.SubscriberConfig{
		Introducers: intros,
		CachePath:   filepath.Join(pdir, "introducer-cache.json"),
		Publisher:   pub,
		Logger:      g.log.With("role", "subscribe"),
	})
	if err != nil {
		pub.Close()
		return err
	}
	g.sub = sub
	return nil
}

// hostPortOf extracts host:port from a (possibly redacted) NURL.
func hostPortOf(u string) string {
	if i := strings.IndexByte(u, '@'); i >= 0 {
		u = u[i+1:]
	}
	if i := strings.IndexByte(u, '/'); i >= 0 {
		u = u[:i]
	}
	return u
}

func writeJSONResponse(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// probe asks the known storage servers for their version, so the status
// page shows who is reachable and how much space they have before anything
// is uploaded, and a failing server is put aside early. Connected servers
// are asked once a minute; the others every few seconds, so a server that
// comes back is used again quickly.
func (g *grid) probe(ctx context.Context) {
	const (
		tick    = 5 * time.Second
		healthy = time.Minute
	)
	var mu sync.Mutex
	last := map[string]time.Time{}
	inFlight := map[string]bool{}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		changed := g.sub.Changed()
		for _, s := range g.broker.Servers() {
			st := s.Status()
			mu.Lock()
			skip := inFlight[s.ID()] || (st.Connected && time.Since(last[s.ID()]) < healthy)
			if !skip {
				inFlight[s.ID()], last[s.ID()] = true, time.Now()
			}
			mu.Unlock()
			if skip {
				continue
			}
			go func() {
				defer func() { mu.Lock(); delete(inFlight, s.ID()); mu.Unlock() }()
				c, err := s.Client()
				if err != nil {
					s.RecordFailure(err)
					return
				}
				pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				defer cancel()
				start := time.Now()
				v, err := c.Version(pctx)
				if err != nil {
					if ctx.Err() == nil {
						s.RecordFailure(err)
					}
					return
				}
				s.RecordSuccess(time.Since(start))
				s.SetAvailableSpace(int64(v.AvailableSpace))
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-changed:
			// New servers: probe them once the broker took them in.
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
}
