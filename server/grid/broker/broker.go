// Package broker keeps the set of storage servers a grid client knows
// about (Tahoe-LAFS's "storage broker"): their identities, how to reach
// them, and how healthy they have been lately.
//
// A Broker only lists servers; choosing among them for a given file is
// the placement package's job, and talking to them is gbs's. Two
// implementations are provided: Static, a fixed list (tests, `cube put`
// with explicit servers), and Dynamic, which the node refreshes from
// introducer announcements.
//
// Health: every use of a server reports success or failure back to its
// Server. A server that keeps failing is put aside for an exponentially
// growing while (Usable reports false and Permuted puts it last), but it is
// never forgotten: it is still listed, still shown on the status page, and
// still tried when nothing better is left.
package broker

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/communitycube/cube/server/grid/gbs"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/nurl"
)

// Broker lists the known storage servers. Implementations must be safe for
// concurrent use; the returned slice belongs to the caller.
type Broker interface {
	Servers() []*Server
}

// Info describes a storage server as it was announced or configured.
type Info struct {
	// ID identifies the server, e.g. "v0-<base32 public key>" as Tahoe
	// writes server ids. Required and unique within a broker.
	ID string
	// Nickname is the operator's human-readable name; informational.
	Nickname string
	// PermutationSeed orders servers on each file's permuted ring. Nil
	// means DefaultPermutationSeed(ID), as Tahoe does for announcements
	// without "permutation-seed-base32".
	PermutationSeed []byte
	// NURL is where the server's storage service listens.
	NURL nurl.NURL
	// LeaseSeed (20 bytes) enters the per-server lease secret derivation.
	// Tahoe uses the server's Foolscap tub id; a server we only know by
	// NURL has none, so nil means the first 20 bytes of the NURL's SPKI
	// hash, which is also what our storage servers record as their node id
	// (storage.Identity.NodeID). Set it to the tub id for a Tahoe server
	// whose fURL is known, so renewals match the leases Tahoe clients made.
	LeaseSeed []byte
	// AvailableSpace is the announced free space in bytes; negative means
	// unknown.
	AvailableSpace int64
}

// DefaultPermutationSeed returns the seed Tahoe derives for a server that
// announced none: the decoded key for "v0-" + 52 base32 characters, else
// SHA-256 of the id.
func DefaultPermutationSeed(id string) []byte {
	if rest, ok := strings.CutPrefix(id, "v0-"); ok && len(rest) == 52 {
		if b, err := cap.DecodeBase32(strings.ToLower(rest)); err == nil {
			return b
		}
	}
	sum := sha256.Sum256([]byte(id))
	return sum[:]
}

// DefaultLeaseSeed returns the lease seed used for a server whose Info
// gives none: the first 20 bytes of its NURL's SPKI hash.
func DefaultLeaseSeed(n nurl.NURL) ([]byte, error) {
	h, err := nurl.DecodeSPKIHash(n.SPKIHash)
	if err != nil {
		return nil, err
	}
	return h[:20], nil
}

// Options configure the servers a broker creates.
type Options struct {
	// Client configures the gbs clients (dialer, retries, timeouts); nil
	// uses gbs defaults.
	Client *gbs.Options
	// Backoff is the first put-aside period after a failure; it doubles
	// with each consecutive failure up to MaxBackoff. Zero means
	// DefaultBackoff and DefaultMaxBackoff.
	Backoff, MaxBackoff time.Duration
	// Now is the clock used for health bookkeeping; nil means time.Now.
	Now func() time.Time
}

// Health defaults.
const (
	DefaultBackoff    = 5 * time.Second
	DefaultMaxBackoff = 5 * time.Minute
)

func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.Backoff <= 0 {
		out.Backoff = DefaultBackoff
	}
	if out.MaxBackoff <= 0 {
		out.MaxBackoff = DefaultMaxBackoff
	}
	if out.MaxBackoff < out.Backoff {
		out.MaxBackoff = out.Backoff
	}
	if out.Now == nil {
		out.Now = time.Now
	}
	return out
}

// Server is one known storage server. Its identity is fixed; its client
// is created on first use; its health and space change as it is used. It
// is safe for concurrent use.
type Server struct {
	id, nickname string
	seed         []byte
	leaseSeed    []byte
	nurl         nurl.NURL
	opts         Options

	mu          sync.Mutex
	client      *gbs.Client
	space       int64
	lastSuccess time.Time
	lastFailure time.Time
	lastErr     error
	failures    int // consecutive
	asideUntil  time.Time
	rtt         time.Duration // smoothed request latency, 0 if unmeasured
}

// NewServer makes a Server from its Info. Brokers call it; tests and tools
// may too.
func NewServer(info Info, opts *Options) (*Server, error) {
	if info.ID == "" {
		return nil, errors.New("broker: server without an id")
	}
	if err := info.NURL.Validate(); err != nil {
		return nil, fmt.Errorf("broker: server %s: %w", info.ID, err)
	}
	seed := info.PermutationSeed
	if seed == nil {
		seed = DefaultPermutationSeed(info.ID)
	}
	ls := info.LeaseSeed
	if ls == nil {
		var err error
		if ls, err = DefaultLeaseSeed(info.NURL); err != nil {
			return nil, fmt.Errorf("broker: server %s: %w", info.ID, err)
		}
	}
	if len(ls) != 20 {
		return nil, fmt.Errorf("broker: server %s: lease seed is %d bytes, want 20", info.ID, len(ls))
	}
	space := info.AvailableSpace
	if space < 0 {
		space = -1
	}
	return &Server{
		id: info.ID, nickname: info.Nickname, nurl: info.NURL, opts: opts.withDefaults(),
		seed: slices.Clone(seed), leaseSeed: slices.Clone(ls), space: space,
	}, nil
}

// ID returns the server id.
func (s *Server) ID() string { return s.id }

// Nickname returns the announced nickname.
func (s *Server) Nickname() string { return s.nickname }

// PermutationSeed returns the seed for the permuted ring (do not modify).
func (s *Server) PermutationSeed() []byte { return s.seed }

// LeaseSeed returns the 20-byte per-server input of lease secrets (do not
// modify).
func (s *Server) LeaseSeed() []byte { return s.leaseSeed }

// NURL returns the server's storage NURL.
func (s *Server) NURL() nurl.NURL { return s.nurl }

// String names the server in logs and error messages without secrets.
func (s *Server) String() string {
	if s.nickname != "" {
		return s.nickname + " (" + short(s.id) + ")"
	}
	return short(s.id)
}

func short(id string) string {
	id = strings.TrimPrefix(id, "v0-")
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// Client returns the server's gbs client, creating it on first use.
func (s *Server) Client() (*gbs.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		c, err := gbs.New(s.nurl, s.opts.Client)
		if err != nil {
			return nil, err
		}
		s.client = c
	}
	return s.client, nil
}

// close releases the client's idle connections.
func (s *Server) close() {
	s.mu.Lock()
	c := s.client
	s.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// RecordSuccess notes a successful exchange and how long it took (0 if not
// measured). It ends any put-aside period.
func (s *Server) RecordSuccess(latency time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastSuccess = s.opts.Now()
	s.failures = 0
	s.asideUntil = time.Time{}
	if latency > 0 {
		if s.rtt == 0 {
			s.rtt = latency
		} else {
			s.rtt = (3*s.rtt + latency) / 4 // smoothed, like TCP's SRTT
		}
	}
}

// RecordFailure notes a failed exchange that says something about the
// server's health (connection refused, timeout, 5xx), and puts the server
// aside for a while. Errors that are the caller's doing (context
// cancelled, a share that does not exist) should not be recorded.
func (s *Server) RecordFailure(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	s.lastFailure = now
	s.lastErr = err
	s.failures++
	d := s.opts.Backoff
	for i := 1; i < s.failures && d < s.opts.MaxBackoff; i++ {
		d *= 2
	}
	s.asideUntil = now.Add(min(d, s.opts.MaxBackoff))
}

// Usable reports whether the server is not currently put aside.
func (s *Server) Usable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.opts.Now().Before(s.asideUntil)
}

// SetAvailableSpace records the free space the server last reported.
func (s *Server) SetAvailableSpace(n int64) {
	s.mu.Lock()
	s.space = n
	s.mu.Unlock()
}

// Latency returns the smoothed latency of successful requests, or 0.
func (s *Server) Latency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rtt
}

// Status is a snapshot of a server for a status page.
type Status struct {
	ID, Nickname string
	NURL         string // redacted: no swissnum
	// AvailableSpace is the last known free space, -1 if unknown.
	AvailableSpace int64
	// Connected is true if the last exchange succeeded.
	Connected           bool
	LastSuccess         time.Time
	LastFailure         time.Time
	LastError           string
	ConsecutiveFailures int
	// AsideUntil is when a failing server will be preferred again (zero if
	// it is not put aside).
	AsideUntil time.Time
	Latency    time.Duration
}

// Status returns a snapshot of the server's state.
func (s *Server) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{
		ID: s.id, Nickname: s.nickname, NURL: s.nurl.Redacted(), AvailableSpace: s.space,
		LastSuccess: s.lastSuccess, LastFailure: s.lastFailure, ConsecutiveFailures: s.failures,
		Latency: s.rtt,
	}
	st.Connected = !s.lastSuccess.IsZero() && !s.lastSuccess.Before(s.lastFailure)
	if s.lastErr != nil {
		st.LastError = s.lastErr.Error()
	}
	if s.opts.Now().Before(s.asideUntil) {
		st.AsideUntil = s.asideUntil
	}
	return st
}

// Static is a fixed set of servers.
type Static struct {
	servers []*Server
}

// NewStatic makes a broker for the given servers, in that order.
func NewStatic(infos []Info, opts *Options) (*Static, error) {
	seen := map[string]bool{}
	b := &Static{}
	for _, in := range infos {
		if seen[in.ID] {
			return nil, fmt.Errorf("broker: duplicate server id %s", in.ID)
		}
		seen[in.ID] = true
		s, err := NewServer(in, opts)
		if err != nil {
			return nil, err
		}
		b.servers = append(b.servers, s)
	}
	return b, nil
}

// Servers implements Broker.
func (b *Static) Servers() []*Server { return slices.Clone(b.servers) }

// Close releases idle connections.
func (b *Static) Close() {
	for _, s := range b.servers {
		s.close()
	}
}

// Dynamic is a broker whose server set is replaced as announcements come
// and go. A server that stays (same id) keeps its client, health record and
// latency across updates; one whose NURL changed gets a new client.
type Dynamic struct {
	opts Options

	mu      sync.Mutex
	servers map[string]*Server
	order   []string // ids in the order last given to Set
}

// NewDynamic returns an empty Dynamic broker.
func NewDynamic(opts *Options) *Dynamic {
	return &Dynamic{opts: opts.withDefaults(), servers: map[string]*Server{}}
}

// Set replaces the known servers. Entries with an empty or duplicate id or
// an invalid NURL are skipped and reported in the error; the others are
// applied regardless.
func (d *Dynamic) Set(infos []Info) error {
	var errs []error
	next := map[string]*Server{}
	var order []string
	d.mu.Lock()
	old := d.servers
	for _, in := range infos {
		if _, dup := next[in.ID]; dup {
			errs = append(errs, fmt.Errorf("broker: duplicate server id %s", in.ID))
			continue
		}
		if s, ok := old[in.ID]; ok && s.nurl == in.NURL && s.nickname == in.Nickname &&
			slices.Equal(s.seed, seedOf(in)) && (in.LeaseSeed == nil || slices.Equal(s.leaseSeed, in.LeaseSeed)) {
			if in.AvailableSpace >= 0 {
				s.SetAvailableSpace(in.AvailableSpace)
			}
			next[in.ID] = s
			order = append(order, in.ID)
			continue
		}
		s, err := NewServer(in, &d.opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, ok := old[in.ID]; ok {
			// Keep the health record: an id that re-announces a new address
			// is still the same machine.
			prev.mu.Lock()
			s.lastSuccess, s.lastFailure, s.lastErr = prev.lastSuccess, prev.lastFailure, prev.lastErr
			s.failures, s.asideUntil, s.rtt = prev.failures, prev.asideUntil, prev.rtt
			prev.mu.Unlock()
		}
		next[in.ID] = s
		order = append(order, in.ID)
	}
	var gone []*Server
	for id, s := range old {
		if next[id] != s {
			gone = append(gone, s)
		}
	}
	d.servers, d.order = next, order
	d.mu.Unlock()
	for _, s := range gone {
		s.close()
	}
	return errors.Join(errs...)
}

func seedOf(in Info) []byte {
	if in.PermutationSeed == nil {
		return DefaultPermutationSeed(in.ID)
	}
	return in.PermutationSeed
}

// Servers implements Broker.
func (d *Dynamic) Servers() []*Server {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*Server, 0, len(d.order))
	for _, id := range d.order {
		out = append(out, d.servers[id])
	}
	return out
}

// Close releases the idle connections of every server.
func (d *Dynamic) Close() {
	for _, s := range d.Servers() {
		s.close()
	}
}

// Lookup returns the server with the given id, if known.
func (d *Dynamic) Lookup(id string) (*Server, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.servers[id]
	return s, ok
}

// Statuses returns a snapshot of every server of b, for a status page.
func Statuses(b Broker) []Status {
	var out []Status
	for _, s := range b.Servers() {
		out = append(out, s.Status())
	}
	return out
}
