package introducer

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/communitycube/cube/server/grid/gbs"
	"github.com/communitycube/cube/server/grid/storage/wire"
)

// rawClient makes requests with full control over headers and bodies.
type rawClient struct {
	t    testing.TB
	ti   *testIntro
	hc   *http.Client
	auth string
}

func newRawClient(t testing.TB, ti *testIntro) *rawClient {
	tc, err := gbs.PinnedTLSConfig(ti.NURL.SPKIHash)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: tc}
	t.Cleanup(tr.CloseIdleConnections)
	return &rawClient{t: t, ti: ti, hc: &http.Client{Transport: tr}, auth: wire.AuthorizationValue(ti.NURL.Swissnum)}
}

func (c *rawClient) do(method, path string, hdr map[string]string, body []byte) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, "https://"+c.ti.addr+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", c.auth)
	if body != nil {
		req.Header.Set("Content-Type", mediaTypeCBOR)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (c *rawClient) announce(raws ...[]byte) []announceResult {
	c.t.Helper()
	code, b := c.do("POST", PathAnnounce, nil, encodeAnnounceRequest(raws))
	if code != 200 {
		c.t.Fatalf("announce: %d %s", code, b)
	}
	rs, err := decodeAnnounceResponse(b, len(raws))
	if err != nil {
		c.t.Fatal(err)
	}
	return rs
}

func (c *rawClient) get(query string) snapshot {
	c.t.Helper()
	code, b := c.do("GET", PathAnnouncements+query, nil, nil)
	if code != 200 {
		c.t.Fatalf("get: %d %s", code, b)
	}
	s, err := decodeSnapshot(b)
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

func statuses(rs []announceResult) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.status)
	}
	return strings.Join(s, ",")
}

func TestServerAuthorization(t *testing.T) {
	ti := startIntro(t, nil)
	c := newRawClient(t, ti)
	for _, auth := range []string{"", wire.AuthorizationValue("wrong"), "Tahoe-LAFS", "Bearer " + ti.NURL.Swissnum} {
		for _, path := range []string{PathAnnouncements, PathAnnounce, PathPrefix + "nothing-here"} {
			code, _ := c.do("GET", path, map[string]string{"Authorization": auth}, nil)
			if code != http.StatusUnauthorized {
				t.Errorf("auth %q, %s: %d, want 401", auth, path, code)
			}
		}
	}
	if code, _ := c.do("GET", PathAnnouncements, nil, nil); code != 200 {
		t.Errorf("right swissnum: %d", code)
	}
}

func TestServerBadRequests(t *testing.T) {
	ti := startIntro(t, nil)
	c := newRawClient(t, ti)
	k := newKey(t)
	good := mustSign(t, storageAnn(1, 1), k).Bytes()
	big := signMap(k, func() map[string]any {
		m := annMap(k)
		m[kNickname] = strings.Repeat("x", MaxAnnouncementSize)
		return m
	}())
	forged := bytes.Clone(good)
	forged[len(forged)-1] ^= 1

	cases := []struct {
		name, method, path string
		hdr                map[string]string
		body               []byte
		want               int
	}{
		{"GET announce", "GET", PathAnnounce, nil, nil, 405},
		{"POST announcements", "POST", PathAnnouncements, nil, good, 405},
		{"unknown path", "GET", PathPrefix + "foo", nil, nil, 404},
		{"not CBOR", "POST", PathAnnounce, nil, []byte("{}"), 400},
		{"empty list", "POST", PathAnnounce, nil, encodeAnnounceRequest(nil), 400},
		{"bare announcement", "POST", PathAnnounce, nil, good, 400},
		{"forged", "POST", PathAnnounce, nil, encodeAnnounceRequest([][]byte{good, forged}), 400},
		{"too many", "POST", PathAnnounce, nil, encodeAnnounceRequest(make([][]byte, MaxAnnouncementsPerRequest+1)), 400},
		{"oversize announcement", "POST", PathAnnounce, nil, encodeAnnounceRequest([][]byte{big}), 413},
		{"oversize body", "POST", PathAnnounce, nil, make([]byte, maxAnnounceBody+1), 413},
		{"JSON", "POST", PathAnnounce, map[string]string{"Content-Type": "application/json"}, good, 415},
		{"bad since", "GET", PathAnnouncements + "?since=-1", nil, nil, 400},
		{"bad wait", "GET", PathAnnouncements + "?wait=soon", nil, nil, 400},
	}
	for _, tc := range cases {
		if code, b := c.do(tc.method, tc.path, tc.hdr, tc.body); code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, b, tc.want)
		}
	}
	// Nothing of the rejected requests was stored, not even the good
	// announcement sent along with the forged one.
	if s := c.get(""); len(s.anns) != 0 {
		t.Errorf("table has %d entries", len(s.anns))
	}
}

func TestServerSequenceRules(t *testing.T) {
	ti := startIntro(t, nil)
	c := newRawClient(t, ti)
	k := newKey(t)
	old := mustSign(t, storageAnn(5, 100), k)
	cur := mustSign(t, storageAnn(6, 200), k)
	twin := mustSign(t, storageAnn(6, 300), k) // same seq, other content

	if got := statuses(c.announce(old.raw, cur.raw)); got != "accepted,accepted" {
		t.Fatalf("got %s", got)
	}
	rs := c.announce(old.raw, cur.raw, twin.raw)
	if got := statuses(rs); got != "stale,refreshed,stale" {
		t.Fatalf("got %s", got)
	}
	if !bytes.Equal(rs[0].current, cur.raw) || !bytes.Equal(rs[2].current, cur.raw) {
		t.Error("stale result does not carry the current announcement")
	}
	s := c.get("")
	if len(s.anns) != 1 || !bytes.Equal(s.anns[0], cur.raw) {
		t.Fatal("a replay replaced the newer announcement")
	}
	// Other services and nodes have their own entries.
	c.announce(mustSign(t, helperAnn(1, 0), k).raw, mustSign(t, storageAnn(1, 1), newKey(t)).raw)
	if s := c.get(""); len(s.anns) != 3 {
		t.Errorf("%d entries, want 3", len(s.anns))
	}
}

func TestServerTableFull(t *testing.T) {
	ti := startIntro(t, func(c *ServerConfig) { c.MaxEntries = 2 })
	c := newRawClient(t, ti)
	k := newKey(t)
	rs := c.announce(mustSign(t, storageAnn(1, 1), k).raw, mustSign(t, helperAnn(1, 1), k).raw,
		mustSign(t, storageAnn(1, 1), newKey(t)).raw, mustSign(t, storageAnn(2, 1), k).raw)
	if got := statuses(rs); got != "accepted,accepted,full,accepted" {
		t.Errorf("got %s", got)
	}
}

func TestServerLongPoll(t *testing.T) {
	ti := startIntro(t, nil)
	c := newRawClient(t, ti)
	k := newKey(t)
	first := c.get("")
	if !first.changed || len(first.anns) != 0 {
		t.Fatalf("first answer %+v", first)
	}
	// Nothing changes: wait=0 answers "unchanged" at once.
	q := "?since=" + itoa(first.counter)
	if s := c.get(q + "&wait=0"); s.changed || s.counter != first.counter {
		t.Fatalf("unchanged answer %+v", s)
	}
	// A counter from elsewhere (e.g. before a restart) gets the table at once.
	if s := c.get("?since=" + itoa(first.counter+12345)); !s.changed {
		t.Fatal("foreign counter did not get the table")
	}
	// A waiting poll returns as soon as something is announced.
	got := make(chan snapshot, 1)
	start := time.Now()
	go func() { got <- c.get(q + "&wait=20") }()
	time.Sleep(50 * time.Millisecond) // let the poll start waiting
	sa := mustSign(t, storageAnn(1, 1), k)
	c.announce(sa.raw)
	s := <-got
	if time.Since(start) > 5*time.Second || !s.changed || len(s.anns) != 1 || s.counter == first.counter {
		t.Fatalf("long poll: %+v after %v", s, time.Since(start))
	}
	// A refresh is not a change.
	c.announce(sa.raw)
	if s2 := c.get("?since=" + itoa(s.counter) + "&wait=0"); s2.changed {
		t.Error("a refresh changed the counter")
	}
	// The wait is capped by MaxWait; a client going away ends it.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "https://"+ti.addr+PathAnnouncements+"?since="+itoa(s.counter), nil)
	req.Header.Set("Authorization", c.auth)
	if _, err := c.hc.Do(req); err == nil {
		t.Error("expected the poll to still be waiting")
	}
}

func TestServerTTL(t *testing.T) {
	clk := newFakeClock()
	ti := startIntro(t, func(c *ServerConfig) {
		c.Clock = clk.Now
		c.TTL = time.Hour
		c.SweepInterval = 10 * time.Millisecond
	})
	c := newRawClient(t, ti)
	k := newKey(t)
	stor := mustSign(t, storageAnn(1, 1), k)
	help := mustSign(t, helperAnn(1, 1), k)
	c.announce(stor.raw, help.raw)

	clk.Advance(50 * time.Minute)
	c.announce(stor.raw) // refresh: the storage entry lives on
	clk.Advance(20 * time.Minute)
	s := c.get("")
	if len(s.anns) != 1 || !bytes.Equal(s.anns[0], stor.raw) {
		t.Fatalf("after 70 min: %d entries", len(s.anns))
	}
	// A waiting subscriber learns of an expiry from the sweeper.
	got := make(chan snapshot, 1)
	go func() { got <- c.get("?since=" + itoa(s.counter) + "&wait=20") }()
	time.Sleep(50 * time.Millisecond)
	clk.Advance(41 * time.Minute)
	select {
	case s := <-got:
		if !s.changed || len(s.anns) != 0 {
			t.Fatalf("after expiry: %+v", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("expiry did not wake the long poll")
	}
	// Once expired, the node can announce again from scratch.
	if got := statuses(c.announce(stor.raw)); got != "accepted" {
		t.Errorf("re-announce after expiry: %s", got)
	}
}

func TestServerPersistence(t *testing.T) {
	clk := newFakeClock()
	ti := startIntro(t, func(c *ServerConfig) { c.Clock = clk.Now })
	c := newRawClient(t, ti)
	k := newKey(t)
	sa := mustSign(t, storageAnn(3, 1), k)
	c.announce(sa.raw, mustSign(t, introAnn(1, ti.NURL), k).raw)
	before := c.get("")

	// Down for longer than the TTL: loaded entries get a fresh TTL, since
	// nodes could not refresh while the introducer was down.
	ti.Stop()
	clk.Advance(2 * time.Hour)
	ti.Restart()
	c = newRawClient(t, ti)
	after := c.get("?since=" + itoa(before.counter))
	if !after.changed || len(after.anns) != 2 || after.counter == before.counter {
		t.Fatalf("after restart: changed=%v %d entries", after.changed, len(after.anns))
	}
	// Sequence rules survive too.
	if got := statuses(c.announce(mustSign(t, storageAnn(2, 1), k).raw)); got != "stale" {
		t.Errorf("older announcement after restart: %s", got)
	}

	// A tampered entry in the file is dropped, the rest kept.
	ti.Stop()
	b, _ := os.ReadFile(ti.cfg.StatePath)
	var st serverState
	if err := json.Unmarshal(b, &st); err != nil || len(st.Announcements) != 2 {
		t.Fatalf("state file: %v", err)
	}
	st.Announcements[0][len(st.Announcements[0])-1] ^= 1
	b, _ = json.Marshal(st)
	os.WriteFile(ti.cfg.StatePath, b, 0o600)
	ti.Restart()
	if n := len(ti.Server().Announcements()); n != 1 {
		t.Errorf("%d entries after tampering, want 1", n)
	}
	// A corrupt file stops the server rather than being overwritten.
	ti.Stop()
	os.WriteFile(ti.cfg.StatePath, []byte("{"), 0o600)
	if _, err := NewServer(ti.cfg); err == nil {
		t.Error("corrupt state file accepted")
	}
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
