package introducer

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/communitycube/cube/shared/nurl"
)

// DefaultRefreshInterval is how often a Publisher re-sends its
// announcements when nothing changed: six times per DefaultTTL, so an
// introducer keeps listing a node through several lost refreshes.
const DefaultRefreshInterval = 10 * time.Minute

// PublisherConfig configures a Publisher. Key is required.
type PublisherConfig struct {
	// Key is the node's signing key (private/node.key, see docs/grid.md).
	Key ed25519.PrivateKey
	// Nickname is used for announcements that do not set their own.
	Nickname string
	// Introducers are the configured introducers; every announcement is
	// published to each of them.
	Introducers []nurl.NURL
	// SeqPath is the file that keeps the last sequence number (e.g.
	// private/announcement-seqnum). "" relies on the clock alone, which
	// goes backwards if the clock is set back across a restart.
	SeqPath string
	// RefreshInterval is how often unchanged announcements are re-sent;
	// 0 means DefaultRefreshInterval. It must be well below the
	// introducers' TTL.
	RefreshInterval time.Duration
	// MinBackoff and MaxBackoff bound the delay between attempts to reach
	// an introducer that is down; 0 means DefaultMinBackoff and
	// DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// DialContext replaces the TCP dialer, e.g. for pb+tor NURLs.
	DialContext DialFunc
	// Clock returns the current time; nil means time.Now. Sequence
	// numbers are derived from it.
	Clock func() time.Time
	// Logger receives operational logs; nil means slog.Default().
	Logger *slog.Logger
}

// Publisher signs this node's announcements and keeps them published at
// every introducer it knows: at once when they change, every
// RefreshInterval otherwise, retrying with backoff while an introducer is
// down. Each introducer is served by its own goroutine, so one that hangs
// delays no other.
type Publisher struct {
	cfg  PublisherConfig
	log  *slog.Logger
	seq  *sequencer
	pub  ed25519.PublicKey
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu      sync.Mutex
	anns    map[string]*SignedAnnouncement // by service
	targets map[string]*pubTarget          // by NURL string
	order   []string                       // NURL strings: configured, then learned
	closed  bool
}

type pubTarget struct {
	c       *introClient
	learned bool
	state   connState
	kick    chan struct{} // capacity 1: something new to send
	cancel  context.CancelFunc
}

// NewPublisher returns a Publisher for the configured introducers. It
// sends nothing until Publish is called. Call Close when done.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	if len(cfg.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("introducer: PublisherConfig.Key must be an Ed25519 private key")
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = DefaultRefreshInterval
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	seq, err := newSequencer(cfg.SeqPath, cfg.Clock)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	p := &Publisher{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "introducer-publisher"),
		seq:     seq,
		pub:     cfg.Key.Public().(ed25519.PublicKey),
		ctx:     ctx,
		stop:    stop,
		anns:    map[string]*SignedAnnouncement{},
		targets: map[string]*pubTarget{},
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range cfg.Introducers {
		if err := p.addTargetLocked(n, false); err != nil {
			stop()
			p.closeTargetsLocked()
			return nil, err
		}
	}
	return p, nil
}

// NodeID returns the node id the Publisher announces under.
func (p *Publisher) NodeID() string { return NodeID(p.pub) }

// Publish signs a as this node's current announcement of a.Service,
// replacing any earlier one, and sends it to every introducer. It fills
// in the node id, a new sequence number, a fresh nonce, the nickname (if
// empty) and the storage permutation seed. A helper should publish its
// load when it changes noticeably, not on every byte: each Publish makes
// every subscriber fetch the whole table.
func (p *Publisher) Publish(a Announcement) error {
	if a.Nickname == "" {
		a.Nickname = p.cfg.Nickname
	}
	a.NodeID, a.Nonce = "", nil
	if a.Storage != nil {
		s := *a.Storage
		s.PermutationSeed = ""
		a.Storage = &s
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("introducer: publisher closed")
	}
	// Validate before spending a sequence number.
	if _, err := Sign(a, p.cfg.Key); err != nil {
		return err
	}
	return p.signLocked(a, 0)
}

// signLocked signs a with a sequence number above floor and queues it.
func (p *Publisher) signLocked(a Announcement, floor uint64) error {
	n, err := p.seq.next(floor)
	if err != nil {
		return err
	}
	a.Seq, a.Nonce = n, nil // a fresh nonce with every sequence number
	sa, err := Sign(a, p.cfg.Key)
	if err != nil {
		return err
	}
	p.anns[a.Service] = sa
	for _, t := range p.targets {
		kick(t.kick)
	}
	return nil
}

func kick(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// SetLearnedIntroducers sets the introducers this node publishes to
// besides the configured ones, replacing the previous set. A Subscriber
// given this Publisher calls it with the introducers it learned, so the
// node's announcements reach them too.
func (p *Publisher) SetLearnedIntroducers(ns []nurl.NURL) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	want := map[string]bool{}
	for _, n := range ns {
		want[n.String()] = true
		if _, ok := p.targets[n.String()]; !ok {
			if err := p.addTargetLocked(n, true); err != nil {
				p.log.Warn("cannot publish to learned introducer", "introducer", n.Redacted(), "err", err)
			}
		}
	}
	kept := p.order[:0]
	for _, k := range p.order {
		t := p.targets[k]
		if t.learned && !want[k] {
			t.cancel()
			t.c.close()
			delete(p.targets, k)
			continue
		}
		kept = append(kept, k)
	}
	p.order = kept
}

func (p *Publisher) addTargetLocked(n nurl.NURL, learned bool) error {
	k := n.String()
	if _, ok := p.targets[k]; ok {
		return nil
	}
	c, err := newIntroClient(n, p.cfg.DialContext, DefaultMaxResponseSize)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(p.ctx)
	t := &pubTarget{c: c, learned: learned, kick: make(chan struct{}, 1), cancel: cancel}
	t.state.st = IntroducerStatus{NURL: n.Redacted(), Learned: learned}
	if len(p.anns) > 0 {
		kick(t.kick)
	}
	p.targets[k] = t
	p.order = append(p.order, k)
	p.wg.Add(1)
	go p.run(ctx, t)
	return nil
}

// Status reports the connection to each introducer, configured ones first.
func (p *Publisher) Status() []IntroducerStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]IntroducerStatus, 0, len(p.order))
	for _, k := range p.order {
		out = append(out, p.targets[k].state.get())
	}
	return out
}

// Close stops publishing. Announcements already sent stay listed at the
// introducers until their TTL runs out.
func (p *Publisher) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.stop()
	p.wg.Wait()
	p.mu.Lock()
	p.closeTargetsLocked()
	p.mu.Unlock()
}

func (p *Publisher) closeTargetsLocked() {
	for _, t := range p.targets {
		t.cancel()
		t.c.close()
	}
}

func (p *Publisher) current() (raws [][]byte, anns []*SignedAnnouncement) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, svc := range []string{ServiceStorage, ServiceHelper, ServiceIntroducer} {
		if sa := p.anns[svc]; sa != nil {
			raws = append(raws, sa.raw)
			anns = append(anns, sa)
		}
	}
	return raws, anns
}

// run serves one introducer until ctx is cancelled.
func (p *Publisher) run(ctx context.Context, t *pubTarget) {
	defer p.wg.Done()
	bo := backoff{min: p.cfg.MinBackoff, max: p.cfg.MaxBackoff}
	refresh := time.NewTimer(p.cfg.RefreshInterval)
	defer refresh.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.kick:
		case <-refresh.C:
		}
		for {
			raws, anns := p.current()
			if len(raws) == 0 {
				break
			}
			results, err := t.c.announce(ctx, raws)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				t.state.fail(p.cfg.Clock(), err)
				p.log.Debug("publishing failed", "introducer", t.c.n.Redacted(), "err", err)
				if !sleep(ctx, bo.next()) {
					return
				}
				continue
			}
			t.state.ok(p.cfg.Clock())
			bo.reset()
			p.handleResults(t, anns, results)
			break
		}
		refresh.Reset(p.cfg.RefreshInterval)
	}
}

// handleResults acts on what the introducer said. "stale" comes with the
// announcement the introducer holds; if that is genuinely ours (signed by
// our key) and at least as new as what we sent, our sequence numbers went
// backwards (state lost and clock set back), and we re-sign above it. An
// unverifiable claim is ignored: otherwise any introducer could push our
// sequence numbers to their maximum.
func (p *Publisher) handleResults(t *pubTarget, sent []*SignedAnnouncement, results []announceResult) {
	for i, r := range results {
		sa := sent[i]
		switch r.status {
		case resultAccepted, resultRefreshed:
		case resultFull:
			p.log.Warn("introducer table is full", "introducer", t.c.n.Redacted(), "service", sa.ann.Service)
		case resultStale:
			cur, err := DecodeAnnouncement(r.current)
			if err != nil || cur.ann.NodeID != sa.ann.NodeID || cur.ann.Service != sa.ann.Service || cur.ann.Seq < sa.ann.Seq {
				p.log.Warn("introducer calls our announcement stale without proof", "introducer", t.c.n.Redacted(), "service", sa.ann.Service)
				continue
			}
			p.mu.Lock()
			if mine := p.anns[sa.ann.Service]; mine == sa && !p.closed {
				p.log.Warn("introducer holds a newer announcement of ours; re-signing above it",
					"introducer", t.c.n.Redacted(), "service", sa.ann.Service, "theirs", cur.ann.Seq, "ours", sa.ann.Seq)
				if err := p.signLocked(mine.ann.clone(), cur.ann.Seq); err != nil {
					p.log.Error("re-signing announcement", "err", err)
				}
			}
			p.mu.Unlock()
		default:
			p.log.Warn("unknown announce result", "introducer", t.c.n.Redacted(), "status", r.status)
		}
	}
}
