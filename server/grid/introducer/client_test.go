package introducer

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/communitycube/cube/server/grid/storage"
	"github.com/communitycube/cube/shared/nurl"
)

func subConfig(ns ...nurl.NURL) SubscriberConfig {
	return SubscriberConfig{
		Introducers: ns,
		PollWait:    time.Second,
		MinBackoff:  10 * time.Millisecond,
		MaxBackoff:  100 * time.Millisecond,
		Logger:      discardLogger,
	}
}

func newSub(t testing.TB, cfg SubscriberConfig) *Subscriber {
	t.Helper()
	s, err := NewSubscriber(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newPub(t testing.TB, k ed25519.PrivateKey, ns ...nurl.NURL) *Publisher {
	t.Helper()
	p, err := NewPublisher(PublisherConfig{
		Key:         k,
		Nickname:    "node",
		Introducers: ns,
		SeqPath:     filepath.Join(t.TempDir(), "announcement-seqnum"),
		MinBackoff:  10 * time.Millisecond,
		MaxBackoff:  100 * time.Millisecond,
		Logger:      discardLogger,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func publish(t testing.TB, p *Publisher, a Announcement) {
	t.Helper()
	if err := p.Publish(a); err != nil {
		t.Fatal(err)
	}
}

// available returns the announced available space of node's storage, or
// -1 if the subscriber does not know it.
func available(s *Subscriber, node string) int64 {
	for _, a := range s.Announcements(ServiceStorage) {
		if a.NodeID == node {
			return int64(a.Storage.AvailableSpace)
		}
	}
	return -1
}

func TestPublishSubscribe(t *testing.T) {
	ti := startIntro(t, nil)
	ks, kh := newKey(t), newKey(t)
	ps, ph := newPub(t, ks, ti.NURL), newPub(t, kh, ti.NURL)
	publish(t, ps, storageAnn(0, 1000))
	publish(t, ph, helperAnn(0, 2))

	var changes atomic.Int32
	cfg := subConfig(ti.NURL)
	cfg.OnChange = func() { changes.Add(1) }
	sub := newSub(t, cfg)
	waitFor(t, "both announcements", func() bool {
		return len(sub.Announcements(ServiceStorage)) == 1 && len(sub.Announcements(ServiceHelper)) == 1
	})
	a := sub.Announcements(ServiceStorage)[0]
	if a.NodeID != ps.NodeID() || a.Nickname != "alice's cube" || a.Storage.PermutationSeed != PermutationSeed(ks.Public().(ed25519.PublicKey)) {
		t.Errorf("storage announcement %+v", a)
	}
	if h := sub.Announcements(ServiceHelper)[0]; h.NodeID != ph.NodeID() || h.Helper.ActiveUploads != 2 {
		t.Errorf("helper announcement %+v", h)
	}

	// An update reaches the subscriber promptly, through the long poll.
	ch := sub.Changed()
	start := time.Now()
	publish(t, ps, storageAnn(0, 999))
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no change notification")
	}
	waitFor(t, "update", func() bool { return available(sub, ps.NodeID()) == 999 })
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("update took %v", d)
	}
	waitFor(t, "OnChange", func() bool { return changes.Load() >= 2 })

	st := sub.Introducers()
	if len(st) != 1 || !st[0].Connected || st[0].LastContact.IsZero() || st[0].Learned || st[0].NURL != ti.NURL.Redacted() {
		t.Errorf("subscriber status %+v", st)
	}
	if ps := ps.Status(); len(ps) != 1 || !ps[0].Connected {
		t.Errorf("publisher status %+v", ps)
	}
}

func TestTwoIntroducersOneDown(t *testing.T) {
	a, b := startIntro(t, nil), startIntro(t, nil)
	dead := deadNURL(t)
	k := newKey(t)
	p := newPub(t, k, dead, a.NURL, b.NURL)
	publish(t, p, storageAnn(0, 1))
	sub := newSub(t, subConfig(dead, a.NURL, b.NURL))
	waitFor(t, "announcement", func() bool { return available(sub, p.NodeID()) == 1 })

	// A goes down too; B alone keeps the subscriber informed.
	a.Stop()
	publish(t, p, storageAnn(0, 2))
	waitFor(t, "update through B", func() bool { return available(sub, p.NodeID()) == 2 })

	waitFor(t, "status", func() bool {
		st := sub.Introducers()
		return len(st) == 3 && !st[0].Connected && st[0].LastError != "" && !st[1].Connected && st[2].Connected
	})
	waitFor(t, "publisher status", func() bool {
		st := p.Status()
		return len(st) == 3 && !st[0].Connected && st[0].LastError != "" && st[2].Connected
	})
	for _, st := range sub.Introducers() {
		if bytes.Contains([]byte(st.NURL+st.LastError), []byte(dead.Swissnum)) {
			t.Error("status leaks a swissnum")
		}
	}
}

// evilIntro is an introducer that says whatever the test wants.
type evilIntro struct {
	NURL     nurl.NURL
	mu       sync.Mutex
	anns     [][]byte
	counter  uint64
	requests atomic.Int32
}

func startEvil(t testing.TB) *evilIntro {
	id, err := storage.LoadOrCreateIdentity(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := &evilIntro{}
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.counter++
		body := encodeSnapshot(snapshot{counter: e.counter, changed: true, anns: e.anns})
		e.mu.Unlock()
		w.Header().Set("Content-Type", mediaTypeCBOR)
		w.Write(body)
		e.requests.Add(1)
	}))
	hs.TLS = id.TLSConfig()
	hs.StartTLS()
	t.Cleanup(hs.Close)
	port := hs.Listener.Addr().(*net.TCPAddr).Port
	if e.NURL, err = id.NURL("127.0.0.1", uint16(port)); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *evilIntro) serve(anns ...[]byte) {
	e.mu.Lock()
	e.anns = anns
	e.mu.Unlock()
}

// waitRequests waits until the subscriber has fetched (and so processed)
// the current answer twice more.
func (e *evilIntro) waitRequests(t testing.TB) {
	n := e.requests.Load()
	waitFor(t, "subscriber polls", func() bool { return e.requests.Load() >= n+2 })
}

func TestSubscriberRejectsForgeries(t *testing.T) {
	evil := startEvil(t)
	k, other := newKey(t), newKey(t)
	v5 := mustSign(t, storageAnn(5, 500), k)
	evil.serve(v5.raw)
	sub := newSub(t, subConfig(evil.NURL))
	waitFor(t, "genuine announcement", func() bool { return available(sub, v5.ann.NodeID) == 500 })

	replay := mustSign(t, storageAnn(3, 300), k).raw // genuine but older
	badSig := mustSign(t, storageAnn(9, 900), k).raw
	badSig[len(badSig)-1] ^= 1
	m := annMap(k) // claims to be k, signed by other
	m[kSeq] = uint64(10)
	ann := marshal(m)
	wrongKey := encodeEnvelope(ann, other.Public().(ed25519.PublicKey), ed25519.Sign(other, signingInput(ann)))
	evil.serve(replay, badSig, wrongKey, []byte("junk"))
	evil.waitRequests(t)

	got := sub.Announcements(ServiceStorage)
	if len(got) != 1 || got[0].Seq != 5 || got[0].Storage.AvailableSpace != 500 {
		t.Fatalf("after forgeries: %+v", got)
	}
	// A genuine newer one is taken.
	evil.serve(mustSign(t, storageAnn(6, 600), k).raw)
	waitFor(t, "newer announcement", func() bool { return available(sub, v5.ann.NodeID) == 600 })
}

func TestSubscriberCache(t *testing.T) {
	ti := startIntro(t, nil)
	k := newKey(t)
	p := newPub(t, k, ti.NURL)
	publish(t, p, storageAnn(0, 42))
	cache := filepath.Join(t.TempDir(), "introducer-cache.json")
	cfg := subConfig(ti.NURL)
	cfg.CachePath = cache
	sub := newSub(t, cfg)
	waitFor(t, "announcement", func() bool { return available(sub, p.NodeID()) == 42 })
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(cache); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache file: %v", err)
	}

	// Every introducer is down; the restarted node still knows its servers.
	ti.Stop()
	sub2 := newSub(t, cfg)
	if available(sub2, p.NodeID()) != 42 {
		t.Fatal("restarted subscriber forgot the grid")
	}
	waitFor(t, "introducer failure noted", func() bool {
		st := sub2.Introducers()
		return len(st) == 1 && !st[0].Connected && st[0].LastError != ""
	})
	if available(sub2, p.NodeID()) != 42 {
		t.Fatal("introducer outage made the subscriber forget")
	}
	sub2.Close()

	// The cache is verified like an introducer's answer.
	b, _ := os.ReadFile(cache)
	var c subscriberCache
	if err := json.Unmarshal(b, &c); err != nil || len(c.Announcements) != 1 {
		t.Fatalf("cache: %v", err)
	}
	c.Announcements[0].Signed[len(c.Announcements[0].Signed)-1] ^= 1
	b, _ = json.Marshal(c)
	os.WriteFile(cache, b, 0o600)
	if sub3 := newSub(t, cfg); len(sub3.Announcements(ServiceStorage)) != 0 {
		t.Error("tampered cache entry accepted")
	}
	// An unreadable cache is ignored, not fatal.
	os.WriteFile(cache, []byte("{"), 0o600)
	newSub(t, cfg)
}

func TestSubscriberForgets(t *testing.T) {
	clk := newFakeClock()
	ti := startIntro(t, func(c *ServerConfig) {
		c.Clock = clk.Now
		c.SweepInterval = 10 * time.Millisecond
	})
	k := newKey(t)
	p := newPub(t, k, ti.NURL)
	publish(t, p, storageAnn(0, 1))
	cfg := subConfig(ti.NURL)
	cfg.Clock = clk.Now
	cfg.ForgetAfter = 30 * time.Minute
	sub := newSub(t, cfg)
	waitFor(t, "announcement", func() bool { return available(sub, p.NodeID()) == 1 })
	p.Close() // the node goes away

	// While the introducer is unreachable, nothing is forgotten.
	ti.Stop()
	clk.Advance(2 * time.Hour)
	waitFor(t, "outage noticed", func() bool { return !sub.Introducers()[0].Connected })
	if available(sub, p.NodeID()) != 1 {
		t.Fatal("forgotten during an outage")
	}
	// The restarted introducer gives it a fresh TTL (the node could not
	// refresh while the introducer was down); once that runs out and the
	// introducer answers without it, the subscriber forgets it too.
	ti.Restart()
	waitFor(t, "reconnection", func() bool { return sub.Introducers()[0].Connected })
	if available(sub, p.NodeID()) != 1 {
		t.Fatal("forgotten while still listed")
	}
	clk.Advance(61 * time.Minute)
	waitFor(t, "forgetting", func() bool { return available(sub, p.NodeID()) == -1 })
}

func TestSpreading(t *testing.T) {
	a, b := startIntro(t, nil), startIntro(t, nil)
	// The node running introducer B announces it to A and to B itself.
	pb := newPub(t, newKey(t), a.NURL, b.NURL)
	publish(t, pb, introAnn(0, b.NURL))

	// A storage node configured with A only; its subscriber tells its
	// publisher about B.
	ks := newKey(t)
	ps := newPub(t, ks, a.NURL)
	scfg := subConfig(a.NURL)
	scfg.Publisher = ps
	newSub(t, scfg)
	publish(t, ps, storageAnn(0, 1))

	// A client that was only ever told about A.
	cache := filepath.Join(t.TempDir(), "cache.json")
	ccfg := subConfig(a.NURL)
	ccfg.CachePath = cache
	client := newSub(t, ccfg)
	learnedB := func(s *Subscriber) func() bool {
		return func() bool {
			st := s.Introducers()
			return len(st) == 2 && st[1].Learned && st[1].NURL == b.NURL.Redacted() && st[1].Connected
		}
	}
	waitFor(t, "client follows B", learnedB(client))
	waitFor(t, "storage node publishes to B", func() bool {
		for _, sa := range b.Server().Announcements() {
			if sa.ann.NodeID == ps.NodeID() && sa.ann.Service == ServiceStorage {
				return true
			}
		}
		return false
	})
	if st := ps.Status(); len(st) != 2 || !st[1].Learned {
		t.Errorf("publisher status %+v", st)
	}

	// A is gone for good; B carries the grid.
	a.Stop()
	publish(t, ps, storageAnn(0, 2))
	waitFor(t, "update through B", func() bool { return available(client, ps.NodeID()) == 2 })

	// The client restarts while A is still gone: it follows B from its
	// cache and keeps getting updates.
	client.Close()
	client2 := newSub(t, ccfg)
	waitFor(t, "restarted client follows B", learnedB(client2))
	publish(t, ps, storageAnn(0, 3))
	waitFor(t, "update after restart", func() bool { return available(client2, ps.NodeID()) == 3 })
}

func TestSpreadingCap(t *testing.T) {
	ti := startIntro(t, nil)
	c := newRawClient(t, ti)
	var ids []string
	for i := 0; i < 3; i++ {
		k := newKey(t)
		c.announce(mustSign(t, introAnn(1, deadNURL(t)), k).raw)
		ids = append(ids, NodeID(k.Public().(ed25519.PublicKey)))
	}
	// The configured introducer announced by itself is not "learned".
	c.announce(mustSign(t, introAnn(1, ti.NURL), newKey(t)).raw)

	for _, tc := range []struct{ max, want int }{{2, 2}, {-1, 0}, {0, 3}} {
		cfg := subConfig(ti.NURL)
		cfg.MaxLearnedIntroducers = tc.max
		sub := newSub(t, cfg)
		waitFor(t, "announcements", func() bool { return len(sub.Announcements(ServiceIntroducer)) == 4 })
		if got := len(sub.Introducers()) - 1; got != tc.want {
			t.Errorf("MaxLearnedIntroducers %d: follows %d learned, want %d", tc.max, got, tc.want)
		}
		sub.Close()
	}
}

func TestPublisherRecoversLostSequence(t *testing.T) {
	ti := startIntro(t, nil)
	k := newKey(t)
	// An earlier life of the node, with its clock a year ahead, published
	// a high sequence number; then its state was lost and the clock fixed.
	future := mustSign(t, storageAnn(uint64(time.Now().Add(365*24*time.Hour).UnixMicro()), 1), k)
	newRawClient(t, ti).announce(future.raw)

	p := newPub(t, k, ti.NURL)
	publish(t, p, storageAnn(0, 2))
	waitFor(t, "re-signed announcement accepted", func() bool {
		anns := ti.Server().Announcements()
		return len(anns) == 1 && anns[0].ann.Seq > future.ann.Seq && anns[0].ann.Storage.AvailableSpace == 2
	})
}

func TestIntroducerRestart(t *testing.T) {
	ti := startIntro(t, nil)
	k := newKey(t)
	p := newPub(t, k, ti.NURL)
	publish(t, p, storageAnn(0, 1))
	sub := newSub(t, subConfig(ti.NURL))
	waitFor(t, "announcement", func() bool { return available(sub, p.NodeID()) == 1 })
	ti.Restart()
	publish(t, p, storageAnn(0, 2))
	waitFor(t, "update after introducer restart", func() bool { return available(sub, p.NodeID()) == 2 })
}
