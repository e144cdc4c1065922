package introducer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/communitycube/cube/shared/nurl"
)

// Subscriber defaults, used for zero SubscriberConfig fields.
const (
	// DefaultPollWait is how long a long poll asks the introducer to wait.
	DefaultPollWait = DefaultMaxWait
	// DefaultForgetAfter is how long an announcement is kept after the
	// last introducer stopped listing it. Long, because forgetting a live
	// server during an introducer outage is worse than trying a dead one.
	DefaultForgetAfter = 24 * time.Hour
	// DefaultMaxLearnedIntroducers caps how many announced introducers a
	// subscriber follows besides its configured ones.
	DefaultMaxLearnedIntroducers = 8
)

const (
	// minPollGap spaces requests to one introducer, so that a hostile or
	// broken one that always answers at once cannot make us spin, and a
	// busy grid is fetched at most a few times a second.
	minPollGap = 250 * time.Millisecond
	// startupGrace is the least time an introducer gets, after a restart,
	// to list a cached announcement again before it may be forgotten: the
	// node's own downtime is no evidence against the servers.
	startupGrace = 10 * time.Minute
	// touchInterval is how often the cache is rewritten just to record
	// when announcements were last listed.
	touchInterval = 10 * time.Minute
)

// SubscriberConfig configures a Subscriber.
type SubscriberConfig struct {
	// Introducers are the configured introducers. They are always
	// followed; learned ones come on top.
	Introducers []nurl.NURL
	// CachePath is the file, in the node's directory, that keeps what was
	// learned (e.g. private/introducer-cache.json), so that a node that
	// restarts while every introducer is down still knows the grid. ""
	// keeps it in memory only.
	CachePath string
	// MaxLearnedIntroducers caps the announced introducers followed
	// besides the configured ones; 0 means DefaultMaxLearnedIntroducers,
	// negative means none.
	MaxLearnedIntroducers int
	// MaxAnnouncements caps the announcements kept; 0 means
	// DefaultMaxEntries.
	MaxAnnouncements int
	// PollWait is how long each long poll may wait for a change (whole
	// seconds, at least one); 0 means DefaultPollWait.
	PollWait time.Duration
	// ForgetAfter is how long an announcement survives not being listed
	// by any introducer that answers; 0 means DefaultForgetAfter.
	ForgetAfter time.Duration
	// MinBackoff and MaxBackoff bound the delay between attempts to reach
	// an introducer that is down; 0 means DefaultMinBackoff and
	// DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// PersistDelay coalesces writes of the cache; 0 means
	// DefaultPersistDelay.
	PersistDelay time.Duration
	// MaxResponseSize bounds an introducer's answer; 0 means
	// DefaultMaxResponseSize.
	MaxResponseSize int64
	// DialContext replaces the TCP dialer, e.g. for pb+tor NURLs.
	DialContext DialFunc
	// Publisher, if set, is told every introducer this subscriber learns
	// (Publisher.SetLearnedIntroducers), so that this node announces
	// itself there too and the grid survives the loss of the introducers
	// it was configured with.
	Publisher *Publisher
	// OnChange, if set, is called (on its own goroutine, never
	// concurrently with itself) after the set of announcements changed.
	// Changed offers the same as a channel.
	OnChange func()
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Logger receives operational logs; nil means slog.Default().
	Logger *slog.Logger
}

// Subscriber follows introducers and keeps the merged, verified set of
// announcements. It verifies every announcement itself: an introducer can
// withhold announcements, but cannot forge, alter or roll back one. Of
// all announcements of one node and service, the one with the highest
// sequence number wins, whichever introducer it came from.
type Subscriber struct {
	cfg  SubscriberConfig
	log  *slog.Logger
	now  func() time.Time
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	dirty     chan struct{} // capacity 1: content changed since the last write
	notify    chan struct{} // capacity 1: OnChange is due
	closeOnce sync.Once
	closeErr  error

	mu    sync.Mutex
	known map[slotKey]*knownEntry
	// byRaw indexes known by encoding, so that the announcements an
	// introducer repeats (nearly all of every answer) are not verified
	// again: a whole table is thousands of Ed25519 verifications.
	byRaw      map[string]*SignedAnnouncement
	configured map[string]bool      // NURL strings
	pollers    map[string]*poller   // by NURL string
	learned    []string             // NURL strings of learned introducers followed, oldest first
	learnedN   map[string]nurl.NURL // the same, parsed
	changed    chan struct{}        // closed and replaced on every change
	touched    bool                 // some lastListed changed since the last write
	closed     bool
}

type knownEntry struct {
	sa         *SignedAnnouncement
	lastListed time.Time
}

type poller struct {
	c       *introClient
	learned bool
	state   connState
	cancel  context.CancelFunc
	// listed is what this introducer listed in its last full answer; an
	// "unchanged" answer vouches for the same entries again.
	listed []slotKey
}

// NewSubscriber loads the cache, if any, and starts following the
// configured introducers (and the learned ones the cache names). The set
// is usable at once, before any introducer answered. Call Close when done.
func NewSubscriber(cfg SubscriberConfig) (*Subscriber, error) {
	if cfg.MaxLearnedIntroducers == 0 {
		cfg.MaxLearnedIntroducers = DefaultMaxLearnedIntroducers
	}
	if cfg.MaxAnnouncements <= 0 {
		cfg.MaxAnnouncements = DefaultMaxEntries
	}
	if cfg.PollWait <= 0 {
		cfg.PollWait = DefaultPollWait
	}
	// The protocol counts whole seconds, and zero would not wait at all.
	cfg.PollWait = max(cfg.PollWait.Truncate(time.Second), time.Second)
	if cfg.ForgetAfter <= 0 {
		cfg.ForgetAfter = DefaultForgetAfter
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	if cfg.PersistDelay <= 0 {
		cfg.PersistDelay = DefaultPersistDelay
	}
	if cfg.MaxResponseSize <= 0 {
		cfg.MaxResponseSize = DefaultMaxResponseSize
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Subscriber{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "introducer-subscriber"),
		now:        cfg.Clock,
		ctx:        ctx,
		stop:       stop,
		dirty:      make(chan struct{}, 1),
		notify:     make(chan struct{}, 1),
		known:      map[slotKey]*knownEntry{},
		byRaw:      map[string]*SignedAnnouncement{},
		configured: map[string]bool{},
		pollers:    map[string]*poller{},
		learnedN:   map[string]nurl.NURL{},
		changed:    make(chan struct{}),
	}
	var introducers []nurl.NURL
	for _, n := range cfg.Introducers {
		if err := n.Validate(); err != nil {
			stop()
			return nil, err
		}
		if !s.configured[n.String()] {
			s.configured[n.String()] = true
			introducers = append(introducers, n)
		}
	}
	s.cfg.Introducers = introducers
	if err := s.load(); err != nil {
		stop()
		return nil, err
	}
	s.mu.Lock()
	var err error
	for _, n := range s.cfg.Introducers {
		if err = s.startPollerLocked(n, false); err != nil {
			break
		}
	}
	var learned []nurl.NURL
	if err == nil {
		learned = s.reconcileLocked()
	}
	if err != nil {
		s.closed = true
		s.mu.Unlock()
		s.stop()
		s.wg.Wait()
		return nil, err
	}
	s.mu.Unlock()
	s.tellPublisher(learned)
	s.wg.Add(2)
	go s.persistLoop()
	go s.notifyLoop()
	return s, nil
}

// Announcements returns the current announcements of service, ordered by
// node id.
func (s *Subscriber) Announcements(service string) []Announcement {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Announcement
	for k, e := range s.known {
		if k.service == service {
			out = append(out, e.sa.Announcement())
		}
	}
	slices.SortFunc(out, func(a, b Announcement) int { return strings.Compare(a.NodeID, b.NodeID) })
	return out
}

// Changed returns a channel that is closed at the next change of the set
// of announcements. Take it before reading Announcements, so that no
// change falls between the two:
//
//	for {
//		ch := sub.Changed()
//		use(sub.Announcements(introducer.ServiceStorage))
//		<-ch
//	}
func (s *Subscriber) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Introducers reports the connection to each introducer followed,
// configured ones first, then learned ones in the order they were learned.
func (s *Subscriber) Introducers() []IntroducerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []IntroducerStatus
	for _, n := range s.cfg.Introducers {
		if p := s.pollers[n.String()]; p != nil {
			out = append(out, p.state.get())
		}
	}
	for _, k := range s.learned {
		if p := s.pollers[k]; p != nil {
			out = append(out, p.state.get())
		}
	}
	return out
}

// Close stops following the introducers and writes the cache a last time,
// returning any error of that write.
func (s *Subscriber) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		for _, p := range s.pollers {
			p.cancel()
		}
		s.mu.Unlock()
		s.stop()
		s.wg.Wait() // pollers close their own connections
		s.closeErr = s.save()
	})
	return s.closeErr
}

func (s *Subscriber) startPollerLocked(n nurl.NURL, learned bool) error {
	k := n.String()
	if _, ok := s.pollers[k]; ok || s.closed {
		return nil
	}
	c, err := newIntroClient(n, s.cfg.DialContext, s.cfg.MaxResponseSize)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(s.ctx)
	p := &poller{c: c, learned: learned, cancel: cancel}
	p.state.st = IntroducerStatus{NURL: n.Redacted(), Learned: learned}
	s.pollers[k] = p
	s.wg.Add(1)
	go s.poll(ctx, p)
	return nil
}

// poll follows one introducer until ctx is cancelled.
func (s *Subscriber) poll(ctx context.Context, p *poller) {
	defer s.wg.Done()
	defer p.c.close()
	bo := backoff{min: s.cfg.MinBackoff, max: s.cfg.MaxBackoff}
	var since *uint64
	failures := 0
	for {
		start := time.Now()
		snap, err := p.c.poll(ctx, since, s.cfg.PollWait)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			p.state.fail(s.now(), err)
			failures++
			if failures == 1 {
				s.log.Warn("introducer unreachable", "introducer", p.c.n.Redacted(), "err", err)
			}
			if !sleep(ctx, bo.next()) {
				return
			}
			continue
		}
		if failures > 0 {
			s.log.Info("introducer reachable again", "introducer", p.c.n.Redacted())
		}
		failures = 0
		p.state.ok(s.now())
		bo.reset()
		s.apply(p, snap)
		since = &snap.counter
		if d := minPollGap - time.Since(start); d > 0 && !sleep(ctx, d) {
			return
		}
	}
}

// apply merges one answer of introducer p.
func (s *Subscriber) apply(p *poller, snap snapshot) {
	var verified []*SignedAnnouncement
	if snap.changed {
		verified = make([]*SignedAnnouncement, len(snap.anns))
		s.mu.Lock()
		for i, raw := range snap.anns {
			verified[i] = s.byRaw[string(raw)]
		}
		s.mu.Unlock()
		for i, raw := range snap.anns {
			if verified[i] != nil {
				continue
			}
			sa, err := DecodeAnnouncement(raw)
			if err != nil {
				// Never trust the introducer's word: skip, keep the rest.
				s.log.Warn("introducer sent an invalid announcement", "introducer", p.c.n.Redacted(), "err", err)
				continue
			}
			verified[i] = sa
		}
	}
	now := s.now()
	s.mu.Lock()
	if s.closed || s.pollers[p.c.n.String()] != p {
		s.mu.Unlock()
		return // stopped following it meanwhile
	}
	changed := false
	if snap.changed {
		p.listed = p.listed[:0]
		for _, sa := range verified {
			if sa == nil {
				continue
			}
			if s.mergeLocked(sa, now) {
				changed = true
			}
			p.listed = append(p.listed, sa.slot())
		}
	}
	for _, k := range p.listed {
		if e := s.known[k]; e != nil {
			e.lastListed = now
			s.touched = true
		}
	}
	// An introducer has just answered, so anything not listed for
	// ForgetAfter is not merely hidden by an outage of all of them.
	for k, e := range s.known {
		if now.Sub(e.lastListed) > s.cfg.ForgetAfter {
			delete(s.known, k)
			delete(s.byRaw, string(e.sa.raw))
			changed = true
			s.log.Info("forgetting announcement no introducer lists", "node", k.node, "service", k.service)
		}
	}
	var learned []nurl.NURL
	if changed {
		learned = s.reconcileLocked()
		s.changedLocked()
	}
	s.mu.Unlock()
	if changed {
		s.tellPublisher(learned)
	}
}

// mergeLocked applies the newest-sequence-wins rule and reports whether
// the set changed. Of two different announcements with the same sequence
// number (a node that reused one), the first one seen is kept, so that
// introducers cannot make subscribers flap between them.
func (s *Subscriber) mergeLocked(sa *SignedAnnouncement, lastListed time.Time) bool {
	k := sa.slot()
	e := s.known[k]
	switch {
	case e == nil:
		if len(s.known) >= s.cfg.MaxAnnouncements {
			s.log.Warn("too many announcements; ignoring a new one", "node", k.node, "service", k.service)
			return false
		}
		s.known[k] = &knownEntry{sa: sa, lastListed: lastListed}
		s.byRaw[string(sa.raw)] = sa
		return true
	case sa.ann.Seq > e.sa.ann.Seq:
		delete(s.byRaw, string(e.sa.raw))
		e.sa = sa
		s.byRaw[string(sa.raw)] = sa
		return true
	case sa.ann.Seq == e.sa.ann.Seq && !bytes.Equal(sa.raw, e.sa.raw):
		s.log.Warn("two announcements with one sequence number; keeping the first", "node", k.node, "service", k.service)
	}
	return false
}

func (s *Subscriber) changedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
	kick(s.dirty)
	kick(s.notify)
}

// reconcileLocked follows the announced introducers, up to the cap, and
// stops following those no longer announced. Introducers followed already
// keep their place (so a flood of new announcements cannot displace them);
// new ones are taken in node id order. It returns the learned set for the
// Publisher.
func (s *Subscriber) reconcileLocked() []nurl.NURL {
	announced := map[string]nurl.NURL{}
	var fresh []*SignedAnnouncement
	for k, e := range s.known {
		if k.service != ServiceIntroducer {
			continue
		}
		key := e.sa.ann.NURL.String()
		if s.configured[key] {
			continue
		}
		if _, dup := announced[key]; dup {
			continue
		}
		announced[key] = e.sa.ann.NURL
		if _, ok := s.learnedN[key]; !ok {
			fresh = append(fresh, e.sa)
		}
	}
	slices.SortFunc(fresh, func(a, b *SignedAnnouncement) int { return strings.Compare(a.ann.NodeID, b.ann.NodeID) })

	limit := max(s.cfg.MaxLearnedIntroducers, 0)
	var keep []string
	for _, k := range s.learned {
		if _, ok := announced[k]; ok && len(keep) < limit {
			keep = append(keep, k)
		}
	}
	for _, sa := range fresh {
		if len(keep) >= limit {
			break
		}
		k := sa.ann.NURL.String()
		if !slices.Contains(keep, k) {
			keep = append(keep, k)
		}
	}
	newN := map[string]nurl.NURL{}
	for _, k := range keep {
		newN[k] = announced[k]
	}
	for _, k := range s.learned {
		if _, ok := newN[k]; !ok {
			if p := s.pollers[k]; p != nil {
				p.cancel()
				delete(s.pollers, k)
			}
			s.log.Info("no longer following introducer", "introducer", s.learnedN[k].Redacted())
		}
	}
	for _, k := range keep {
		if _, ok := s.learnedN[k]; !ok {
			s.log.Info("following announced introducer", "introducer", newN[k].Redacted())
		}
		if err := s.startPollerLocked(newN[k], true); err != nil {
			s.log.Warn("cannot follow announced introducer", "introducer", newN[k].Redacted(), "err", err)
		}
	}
	if !slices.Equal(keep, s.learned) {
		kick(s.dirty)
	}
	s.learned, s.learnedN = keep, newN
	out := make([]nurl.NURL, 0, len(keep))
	for _, k := range keep {
		out = append(out, newN[k])
	}
	return out
}

func (s *Subscriber) tellPublisher(learned []nurl.NURL) {
	if s.cfg.Publisher != nil {
		s.cfg.Publisher.SetLearnedIntroducers(learned)
	}
}

func (s *Subscriber) notifyLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.notify:
			if s.cfg.OnChange != nil {
				s.cfg.OnChange()
			}
		}
	}
}

// persistLoop writes the cache after changes (at most once per
// PersistDelay) and, while introducers answer, every touchInterval.
func (s *Subscriber) persistLoop() {
	defer s.wg.Done()
	touch := time.NewTicker(touchInterval)
	defer touch.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.dirty:
		case <-touch.C:
			s.mu.Lock()
			t := s.touched
			s.mu.Unlock()
			if !t {
				continue
			}
		}
		if err := s.save(); err != nil {
			s.log.Error("saving introducer cache", "err", err)
		}
		if !sleep(s.ctx, s.cfg.PersistDelay) {
			return
		}
	}
}

// subscriberCache is the cache file. The announcements are stored signed,
// exactly as received, and verified again on load: the file is no more
// trusted than an introducer. JSON for the reasons given at serverState.
type subscriberCache struct {
	Version       int         `json:"version"`
	Announcements []cachedAnn `json:"announcements"`
	// LearnedIntroducers are the NURLs of the learned introducers being
	// followed, oldest first, so that a restart keeps following the same
	// ones. Each must still be announced by a cached announcement.
	LearnedIntroducers []string `json:"learned-introducers"`
}

type cachedAnn struct {
	Signed     []byte    `json:"signed"`
	LastListed time.Time `json:"last-listed"`
}

const cacheVersion = 1

func (s *Subscriber) save() error {
	if s.cfg.CachePath == "" {
		return nil
	}
	s.mu.Lock()
	c := subscriberCache{Version: cacheVersion, Announcements: []cachedAnn{}, LearnedIntroducers: append([]string{}, s.learned...)}
	for _, e := range s.known {
		c.Announcements = append(c.Announcements, cachedAnn{Signed: e.sa.raw, LastListed: e.lastListed.UTC()})
	}
	s.touched = false
	s.mu.Unlock()
	slices.SortFunc(c.Announcements, func(a, b cachedAnn) int { return bytes.Compare(a.Signed, b.Signed) })
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.cfg.CachePath, append(b, '\n'))
}

func (s *Subscriber) load() error {
	if s.cfg.CachePath == "" {
		return nil
	}
	b, err := os.ReadFile(s.cfg.CachePath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var c subscriberCache
	if err := json.Unmarshal(b, &c); err != nil || c.Version != cacheVersion {
		// A cache is only a cache: start from the introducers instead of
		// refusing to start.
		s.log.Warn("ignoring unreadable introducer cache", "path", s.cfg.CachePath, "err", err, "version", c.Version)
		return nil
	}
	now := s.now()
	floor := now.Add(startupGrace - s.cfg.ForgetAfter)
	for _, ca := range c.Announcements {
		sa, err := DecodeAnnouncement(ca.Signed)
		if err != nil {
			s.log.Warn("dropping invalid announcement from cache", "err", err)
			continue
		}
		listed := ca.LastListed
		if listed.Before(floor) {
			listed = floor
		}
		if listed.After(now) {
			listed = now
		}
		s.mergeLocked(sa, listed)
	}
	for _, k := range c.LearnedIntroducers {
		n, err := nurl.Parse(k)
		if err != nil {
			continue
		}
		s.learned = append(s.learned, k)
		s.learnedN[k] = n
	}
	if len(s.known) > 0 {
		s.log.Info("loaded introducer cache", "announcements", len(s.known))
	}
	return nil
}
