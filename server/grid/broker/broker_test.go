package broker

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/nurl"
)

func b32(t *testing.T, s string) []byte {
	t.Helper()
	b, err := cap.DecodeBase32(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLeaseSecretTahoeVectors uses the vectors of Tahoe's
// docs/specifications/derive_renewal_secret.py (renewal secrets); the
// cancel secret was computed with an independent Python transcription of
// hashutil.
func TestLeaseSecretTahoeVectors(t *testing.T) {
	vectors := []struct{ secret, si, tubid, renew, cancel string }{
		{"boity2cdh7jvl3ltaeebuiobbspjmbuopnwbde2yeh4k6x7jioga", "vrttmwlicrzbt7gh5qsooogr7u", "v67jiisoty6ooyxlql5fuucitqiok2ic",
			"osd6wmc5vz4g3ukg64sitmzlfiaaordutrez7oxdp5kkze7zp5zq", "yqe3mm5yl6uk76emoelvvu6apk7l4dadfozwkj5ox4hna3ryejwq"},
		{"boity2cdh7jvl3ltaeebuiobbspjmbuopnwbde2yeh4k6x7jioga", "75gmmfts772ww4beiewc234o5e", "v67jiisoty6ooyxlql5fuucitqiok2ic",
			"35itmusj7qm2pfimh62snbyxp3imreofhx4djr7i2fweta75szda", ""},
		{"boity2cdh7jvl3ltaeebuiobbspjmbuopnwbde2yeh4k6x7jioga", "75gmmfts772ww4beiewc234o5e", "lh5fhobkjrmkqjmkxhy3yaonoociggpz",
			"srrlruge47ws3lm53vgdxprgqb6bz7cdblnuovdgtfkqrygrjm4q", ""},
		{"vacviff4xfqxsbp64tdr3frg3xnkcsuwt5jpyat2qxcm44bwu75a", "75gmmfts772ww4beiewc234o5e", "lh5fhobkjrmkqjmkxhy3yaonoociggpz",
			"b4jledjiqjqekbm2erekzqumqzblegxi23i5ojva7g7xmqqnl5pq", ""},
	}
	for i, v := range vectors {
		got, err := LeaseSecret(b32(t, v.secret)).Derive(b32(t, v.si), b32(t, v.tubid))
		if err != nil {
			t.Fatal(err)
		}
		if s := cap.EncodeBase32(got.Renew); s != v.renew {
			t.Errorf("vector %d: renew %s, want %s", i, s, v.renew)
		}
		if s := cap.EncodeBase32(got.Cancel); v.cancel != "" && s != v.cancel {
			t.Errorf("vector %d: cancel %s, want %s", i, s, v.cancel)
		}
		if string(got.Renew) == string(got.Cancel) {
			t.Errorf("vector %d: renew and cancel secrets are equal", i)
		}
	}
	if _, err := LeaseSecret([]byte("short")).Derive(nil, nil); !errors.Is(err, ErrLeaseSecret) {
		t.Errorf("short secret: %v", err)
	}
}

func testNURL(t *testing.T, port uint16) nurl.NURL {
	t.Helper()
	return nurl.MustParse("pb://" + strings.Repeat("A", 43) + "@127.0.0.1:" + strconv.Itoa(int(port)) + "/swiss#v=1")
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestHealthBackoff(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	s, err := NewServer(Info{ID: "v0-x", NURL: testNURL(t, 1)}, &Options{Now: clk.Now, Backoff: time.Second, MaxBackoff: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Usable() || s.Status().Connected {
		t.Fatal("new server should be usable and not yet connected")
	}
	boom := errors.New("boom")
	for i, want := range []time.Duration{1, 2, 4, 4} {
		s.RecordFailure(boom)
		st := s.Status()
		if got := st.AsideUntil.Sub(clk.Now()); got != want*time.Second {
			t.Errorf("failure %d: aside for %v, want %v", i+1, got, want*time.Second)
		}
		if s.Usable() || st.LastError != "boom" || st.ConsecutiveFailures != i+1 || st.Connected {
			t.Errorf("failure %d: %+v", i+1, st)
		}
	}
	clk.Advance(4 * time.Second)
	if !s.Usable() {
		t.Error("server should be usable again after its backoff")
	}
	s.RecordSuccess(10 * time.Millisecond)
	st := s.Status()
	if !st.Connected || st.ConsecutiveFailures != 0 || !st.AsideUntil.IsZero() || st.Latency != 10*time.Millisecond {
		t.Errorf("after success: %+v", st)
	}
	s.RecordSuccess(30 * time.Millisecond)
	if l := s.Latency(); l != 15*time.Millisecond {
		t.Errorf("smoothed latency %v", l)
	}
	if strings.Contains(st.NURL, "swiss") {
		t.Errorf("status leaks the swissnum: %s", st.NURL)
	}
}

func TestDefaults(t *testing.T) {
	s, err := NewServer(Info{ID: "v0-" + strings.Repeat("a", 52), NURL: testNURL(t, 1), AvailableSpace: -5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.PermutationSeed()) != 32 || s.Status().AvailableSpace != -1 {
		t.Errorf("seed %x space %d", s.PermutationSeed(), s.Status().AvailableSpace)
	}
	if len(s.LeaseSeed()) != 20 {
		t.Errorf("lease seed %x", s.LeaseSeed())
	}
	if seed := DefaultPermutationSeed("other"); len(seed) != 32 {
		t.Errorf("hashed seed %x", seed)
	}
	if _, err := NewServer(Info{NURL: testNURL(t, 1)}, nil); err == nil {
		t.Error("server without id accepted")
	}
	if _, err := NewServer(Info{ID: "x", NURL: testNURL(t, 1), LeaseSeed: []byte{1}}, nil); err == nil {
		t.Error("short lease seed accepted")
	}
	if _, err := NewStatic([]Info{{ID: "a", NURL: testNURL(t, 1)}, {ID: "a", NURL: testNURL(t, 2)}}, nil); err == nil {
		t.Error("duplicate ids accepted")
	}
}

func TestDynamicSetKeepsState(t *testing.T) {
	d := NewDynamic(nil)
	if err := d.Set([]Info{{ID: "a", NURL: testNURL(t, 1)}, {ID: "b", NURL: testNURL(t, 2)}}); err != nil {
		t.Fatal(err)
	}
	a, _ := d.Lookup("a")
	a.RecordFailure(errors.New("down"))
	c1, err := a.Client()
	if err != nil {
		t.Fatal(err)
	}
	// Same announcement: same Server object and client.
	err = d.Set([]Info{{ID: "b", NURL: testNURL(t, 2)}, {ID: "a", NURL: testNURL(t, 1), AvailableSpace: 42}})
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := d.Lookup("a")
	c2, _ := a2.Client()
	if a2 != a || c2 != c1 || a2.Status().AvailableSpace != 42 {
		t.Error("unchanged server was replaced")
	}
	if got := d.Servers(); len(got) != 2 || got[0].ID() != "b" {
		t.Errorf("order %v", got)
	}
	// New address: new Server, health kept.
	if err := d.Set([]Info{{ID: "a", NURL: testNURL(t, 3)}, {ID: "", NURL: testNURL(t, 4)}}); err == nil {
		t.Error("invalid entry not reported")
	}
	a3, _ := d.Lookup("a")
	if a3 == a || a3.NURL().Port != 3 || a3.Status().ConsecutiveFailures != 1 {
		t.Errorf("moved server: %+v", a3.Status())
	}
	if _, ok := d.Lookup("b"); ok || len(d.Servers()) != 1 {
		t.Error("withdrawn server still listed")
	}
	if len(Statuses(d)) != 1 {
		t.Error("Statuses")
	}
}

func TestPermutedPutsFailingLast(t *testing.T) {
	var infos []Info
	for i, seed := range []string{"0", "1", "2", "3", "4"} {
		infos = append(infos, Info{ID: seed, PermutationSeed: []byte(seed), NURL: testNURL(t, uint16(i+1))})
	}
	b, err := NewStatic(infos, nil)
	if err != nil {
		t.Fatal(err)
	}
	order := func() string {
		var s string
		for _, srv := range Permuted(b.Servers(), []byte("one")) {
			s += srv.ID()
		}
		return s
	}
	if got := order(); got != "31042" {
		t.Fatalf("permuted %s", got)
	}
	b.Servers()[1].RecordFailure(errors.New("x"))
	if got := order(); got != "30421" {
		t.Errorf("with server 1 failing: %s", got)
	}
}
