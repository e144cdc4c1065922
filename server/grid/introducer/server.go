package introducer

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/communitycube/cube/server/grid/storage/wire"
)

// Server defaults, used for zero ServerConfig fields.
const (
	// DefaultTTL is how long an announcement stays listed without being
	// refreshed: six missed refreshes at DefaultRefreshInterval.
	DefaultTTL = time.Hour
	// DefaultMaxWait is the longest a GET waits for a change. Below common
	// proxy and NAT idle timeouts (60 s and more), long enough that an idle
	// subscriber costs one request per half minute.
	DefaultMaxWait = 30 * time.Second
	// DefaultMaxEntries bounds the table (node and service pairs).
	DefaultMaxEntries = 4096
	// DefaultPersistDelay is the longest a change waits before the table
	// is written to disk; changes within it are written together.
	DefaultPersistDelay = time.Second
)

// ServerConfig configures a Server. Swissnum is required.
type ServerConfig struct {
	// Swissnum is the introducer role's own swissnum (docs/grid.md);
	// requests must present it as storage protocol requests do.
	Swissnum string
	// StatePath is the file the table is kept in, e.g.
	// private/introducer-state.json; "" keeps it in memory only.
	StatePath string
	// TTL is how long an announcement is listed after it was last
	// received; 0 means DefaultTTL. Publishers must refresh well within
	// it.
	TTL time.Duration
	// MaxWait caps how long a GET waits for a change; 0 means
	// DefaultMaxWait. The HTTP server's WriteTimeout must exceed it.
	MaxWait time.Duration
	// MaxEntries caps the number of (node, service) entries; 0 means
	// DefaultMaxEntries.
	MaxEntries int
	// SweepInterval is how often expired announcements are removed (and
	// waiting subscribers told); 0 means TTL/60, between 1 s and 1 min.
	SweepInterval time.Duration
	// PersistDelay coalesces writes of the state file; 0 means
	// DefaultPersistDelay.
	PersistDelay time.Duration
	// Clock returns the current time; nil means time.Now. It drives
	// expiry; tests inject a fake one.
	Clock func() time.Time
	// Logger receives operational logs; nil means slog.Default().
	Logger *slog.Logger
}

// Server is an introducer: an http.Handler for the paths under
// PathPrefix. It keeps the newest verified announcement of every node and
// service, drops those not refreshed within the TTL, and persists the
// table so that a restart does not forget the grid.
type Server struct {
	cfg  ServerConfig
	log  *slog.Logger
	now  func() time.Time
	auth string
	mux  *http.ServeMux

	done   chan struct{} // closed by Close
	dirty  chan struct{} // capacity 1: the table changed since the last write
	wg     sync.WaitGroup
	closer sync.Once

	mu      sync.Mutex
	entries map[slotKey]*serverEntry
	// counter changes with every change of the set of announcements. It
	// starts at a random value so that a counter a subscriber remembers
	// from an earlier run of this server (or another server) is never
	// mistaken for the current one; subscribers only test it for equality.
	counter uint64
	changed chan struct{} // closed and replaced on every change
	saveErr error         // of the last write, reported by Close
}

type serverEntry struct {
	sa       *SignedAnnouncement
	lastSeen time.Time
}

// NewServer returns an introducer, loading its table from cfg.StatePath if
// that file exists. Loaded announcements are verified again and given a
// fresh TTL: while the introducer was down their nodes could not refresh
// them. Call Close when done.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Swissnum == "" {
		return nil, errors.New("introducer: ServerConfig.Swissnum is required")
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = DefaultMaxWait
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = min(max(cfg.TTL/60, time.Second), time.Minute)
	}
	if cfg.PersistDelay <= 0 {
		cfg.PersistDelay = DefaultPersistDelay
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var seed [8]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "introducer"),
		now:     cfg.Clock,
		auth:    wire.AuthorizationValue(cfg.Swissnum),
		done:    make(chan struct{}),
		dirty:   make(chan struct{}, 1),
		entries: map[slotKey]*serverEntry{},
		counter: binary.BigEndian.Uint64(seed[:]),
		changed: make(chan struct{}),
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST "+PathAnnounce, s.handleAnnounce)
	s.mux.HandleFunc("GET "+PathAnnouncements, s.handleAnnouncements)
	s.wg.Add(2)
	go s.sweepLoop()
	go s.persistLoop()
	return s, nil
}

// Close stops the background work, wakes waiting subscribers, and writes
// the table one last time. It does not close connections: that is the
// HTTP server's job.
func (s *Server) Close() error {
	s.closer.Do(func() {
		close(s.done)
		s.wg.Wait()
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveErr
}

// Announcements returns the current announcements ordered by node id and
// service, for status pages.
func (s *Server) Announcements() []*SignedAnnouncement {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(s.now())
	return s.sortedLocked()
}

func (s *Server) sortedLocked() []*SignedAnnouncement {
	out := make([]*SignedAnnouncement, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, e.sa)
	}
	slices.SortFunc(out, func(a, b *SignedAnnouncement) int {
		if c := strings.Compare(a.ann.NodeID, b.ann.NodeID); c != 0 {
			return c
		}
		return strings.Compare(a.ann.Service, b.ann.Service)
	})
	return out
}

// changedLocked records a change of the set: new counter, waiters woken,
// state file due.
func (s *Server) changedLocked() {
	s.counter++
	close(s.changed)
	s.changed = make(chan struct{})
	select {
	case s.dirty <- struct{}{}:
	default:
	}
}

// storeLocked applies one verified announcement. The rules are Tahoe's: a
// higher sequence number replaces, the identical announcement refreshes,
// anything else (lower, or equal but different) is stale and changes
// nothing, so a replayed old announcement never displaces a newer one.
func (s *Server) storeLocked(sa *SignedAnnouncement, now time.Time) announceResult {
	k := sa.slot()
	e := s.entries[k]
	switch {
	case e == nil:
		if len(s.entries) >= s.cfg.MaxEntries {
			return announceResult{status: resultFull}
		}
		s.entries[k] = &serverEntry{sa: sa, lastSeen: now}
		s.changedLocked()
		return announceResult{status: resultAccepted}
	case sa.ann.Seq > e.sa.ann.Seq:
		e.sa, e.lastSeen = sa, now
		s.changedLocked()
		return announceResult{status: resultAccepted}
	case sa.ann.Seq == e.sa.ann.Seq && bytes.Equal(sa.raw, e.sa.raw):
		e.lastSeen = now
		return announceResult{status: resultRefreshed}
	default:
		return announceResult{status: resultStale, current: e.sa.raw}
	}
}

func (s *Server) expireLocked(now time.Time) {
	removed := 0
	for k, e := range s.entries {
		if now.Sub(e.lastSeen) > s.cfg.TTL {
			delete(s.entries, k)
			removed++
			s.log.Info("announcement expired", "node", e.sa.ann.NodeID, "service", e.sa.ann.Service, "nickname", e.sa.ann.Nickname)
		}
	}
	if removed > 0 {
		s.changedLocked()
	}
}

func (s *Server) sweepLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.mu.Lock()
			s.expireLocked(s.now())
			s.mu.Unlock()
		}
	}
}

// persistLoop writes the table after changes, at most once per
// PersistDelay. Losing the last moment of changes in a crash is harmless:
// nodes refresh their announcements, and subscribers keep their own
// copies.
func (s *Server) persistLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.done:
			s.saveIfDirty()
			return
		case <-s.dirty:
		}
		s.save()
		select {
		case <-s.done:
			s.saveIfDirty()
			return
		case <-time.After(s.cfg.PersistDelay):
		}
	}
}

func (s *Server) saveIfDirty() {
	select {
	case <-s.dirty:
		s.save()
	default:
	}
}

// serverState is the state file: the signed announcements, exactly as
// received. JSON rather than SQLite: the table is small, lives in memory,
// and is only ever read whole at start and written whole after a change;
// one atomically replaced file gives crash consistency with nothing to
// migrate, and an operator can read it.
type serverState struct {
	Version       int      `json:"version"`
	Announcements [][]byte `json:"announcements"`
}

const stateVersion = 1

func (s *Server) save() {
	if s.cfg.StatePath == "" {
		return
	}
	s.mu.Lock()
	st := serverState{Version: stateVersion, Announcements: [][]byte{}}
	for _, sa := range s.sortedLocked() {
		st.Announcements = append(st.Announcements, sa.raw)
	}
	s.mu.Unlock()
	b, err := json.MarshalIndent(st, "", " ")
	if err == nil {
		err = writeFileAtomic(s.cfg.StatePath, append(b, '\n'))
	}
	if err != nil {
		s.log.Error("saving introducer state", "err", err)
	}
	s.mu.Lock()
	s.saveErr = err
	s.mu.Unlock()
}

func (s *Server) load() error {
	if s.cfg.StatePath == "" {
		return nil
	}
	b, err := os.ReadFile(s.cfg.StatePath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var st serverState
	if err := json.Unmarshal(b, &st); err != nil {
		// Refuse rather than start empty and overwrite the file: an
		// operator may want to look at it.
		return fmt.Errorf("introducer: %s: %w", s.cfg.StatePath, err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("introducer: %s: unknown state version %d", s.cfg.StatePath, st.Version)
	}
	now := s.now()
	for _, raw := range st.Announcements {
		sa, err := DecodeAnnouncement(raw)
		if err != nil {
			s.log.Warn("dropping invalid announcement from state file", "err", err)
			continue
		}
		s.storeLocked(sa, now)
	}
	// Loading is not a change anyone is waiting for, and the file
	// already says this.
	select {
	case <-s.dirty:
	default:
	}
	return nil
}

// ServeHTTP implements http.Handler. The swissnum is checked first, for
// every path, so that an unauthorised client learns nothing.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !wire.CheckAuthorization(r.Header.Get(wire.HeaderAuthorization), s.auth) {
		writeError(w, http.StatusUnauthorized, "missing or wrong Authorization")
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) handleAnnounce(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != mediaTypeCBOR {
			writeError(w, http.StatusUnsupportedMediaType, "request body must be "+mediaTypeCBOR)
			return
		}
	}
	if r.ContentLength > maxAnnounceBody {
		writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAnnounceBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
		} else {
			writeError(w, http.StatusBadRequest, "reading request body failed")
		}
		return
	}
	raws, err := decodeAnnounceRequest(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// Verify everything before storing anything, so a request is applied
	// entirely or not at all.
	anns := make([]*SignedAnnouncement, len(raws))
	for i, raw := range raws {
		if anns[i], err = DecodeAnnouncement(raw); err != nil {
			code := http.StatusBadRequest
			if errors.Is(err, ErrTooLarge) {
				code = http.StatusRequestEntityTooLarge
			}
			writeError(w, code, fmt.Sprintf("announcement %d: %v", i, err))
			return
		}
	}
	results := make([]announceResult, len(anns))
	s.mu.Lock()
	now := s.now()
	s.expireLocked(now)
	for i, sa := range anns {
		results[i] = s.storeLocked(sa, now)
	}
	s.mu.Unlock()
	for i, sa := range anns {
		if results[i].status != resultRefreshed {
			s.log.Info("announcement", "result", results[i].status, "node", sa.ann.NodeID,
				"service", sa.ann.Service, "seq", sa.ann.Seq, "nickname", sa.ann.Nickname)
		}
	}
	writeCBOR(w, encodeAnnounceResponse(results))
}

// handleAnnouncements answers with the whole table, unless the client's
// since equals the current counter: then it waits, up to the requested
// wait (capped by MaxWait), for a change, and if none comes answers
// "unchanged" without the list.
func (s *Server) handleAnnouncements(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var since uint64
	hasSince := q.Has("since")
	if hasSince {
		v, err := strconv.ParseUint(q.Get("since"), 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "since must be a decimal counter")
			return
		}
		since = v
	}
	wait := s.cfg.MaxWait
	if q.Has("wait") {
		v, err := strconv.ParseUint(q.Get("wait"), 10, 32)
		if err != nil {
			writeError(w, http.StatusBadRequest, "wait must be a decimal number of seconds")
			return
		}
		wait = min(wait, time.Duration(v)*time.Second)
	}

	s.mu.Lock()
	s.expireLocked(s.now())
	counter, changed := s.counter, s.changed
	s.mu.Unlock()
	if hasSince && since == counter && wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-changed:
		case <-t.C:
		case <-s.done:
		case <-r.Context().Done():
			t.Stop()
			return
		}
		t.Stop()
	}

	s.mu.Lock()
	snap := snapshot{counter: s.counter, changed: !hasSince || since != s.counter}
	if snap.changed {
		for _, sa := range s.sortedLocked() {
			snap.anns = append(snap.anns, sa.raw)
		}
	}
	s.mu.Unlock()
	writeCBOR(w, encodeSnapshot(snap))
}

func writeCBOR(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", mediaTypeCBOR)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(body) // an error means the client went away
}

func writeError(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}
