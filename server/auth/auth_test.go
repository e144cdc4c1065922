package auth

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/communitycube/cube/server/db"
	"github.com/communitycube/cube/shared/password"
)

const strong = "Quartz-Lantern-Meadow-71"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newStore uses a cheap hash: the real cost is exercised by TestHasherDefault.
func newStore(t *testing.T) (*Store, *clock) {
	t.Helper()
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "cube.db"), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	s := New(d, NewHasher(1, 64, 1))
	c := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	s.Now = c.now
	return s, c
}

func TestHasherDefault(t *testing.T) {
	ctx := context.Background()
	h := DefaultHasher()
	enc, err := h.Hash(ctx, strong)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("PHC string %q", enc)
	}
	ok, stale, err := h.Verify(ctx, enc, strong)
	if !ok || stale || err != nil {
		t.Fatalf("Verify(right) = %v %v %v", ok, stale, err)
	}
	if ok, _, _ := h.Verify(ctx, enc, strong+"x"); ok {
		t.Fatal("Verify(wrong) = true")
	}
	// A hash made with other parameters verifies and is flagged stale.
	cheap, _ := NewHasher(1, 64, 1).Hash(ctx, strong)
	ok, stale, _ = h.Verify(ctx, cheap, strong)
	if !ok || !stale {
		t.Fatalf("Verify(cheap) = ok %v stale %v, want true true", ok, stale)
	}
}

func TestHasherRejectsMalformed(t *testing.T) {
	h := NewHasher(1, 64, 1)
	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=18$m=64,t=1,p=1$c2FsdA$a2V5",
		"$argon2id$v=19$m=64,t=0,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=64,t=1,p=1$!!$a2V5", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$",
		"$argon2id$v=19$m=1,t=1,p=1$c2FsdA$a2V5"} {
		if _, _, err := h.Verify(context.Background(), bad, "x"); err == nil {
			t.Errorf("Verify(%q) accepted a malformed hash", bad)
		}
	}
}

func TestSetupOnce(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	if need, _ := s.SetupNeeded(ctx); !need {
		t.Fatal("fresh node: setup not needed")
	}
	// Weak password: refused, nothing created.
	var weak *password.WeakError
	if _, err := s.Setup(ctx, "admin", "password123"); !errors.As(err, &weak) {
		t.Fatalf("weak password: %v", err)
	}
	if need, _ := s.SetupNeeded(ctx); !need {
		t.Fatal("a refused setup closed setup")
	}
	// Concurrent setups: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = s.Setup(ctx, "admin"+string(rune('a'+i)), strong)
		}(i)
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, ErrSetupClosed):
		default:
			t.Fatalf("unexpected setup error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d setups succeeded, want exactly 1", wins)
	}
	users, _ := s.Users(ctx)
	if len(users) != 1 || !users[0].Admin {
		t.Fatalf("users after setup: %+v", users)
	}
	// Even with no administrator left, setup stays closed.
	s.DB.Exec(`DELETE FROM users`)
	if _, err := s.Setup(ctx, "late", strong); !errors.Is(err, ErrSetupClosed) {
		t.Fatalf("setup after deleting the admin: %v", err)
	}
}

func TestCreateUserValidates(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	var inv *InvalidError
	for _, name := range []string{"", ".dot", "has space", strings.Repeat("a", 65), "ünï"} {
		if _, err := s.CreateUser(ctx, name, strong, false); !errors.As(err, &inv) || inv.Field != "name" {
			t.Errorf("name %q: %v", name, err)
		}
	}
	// The user's own name makes a password weak.
	var weak *password.WeakError
	if _, err := s.CreateUser(ctx, "margarethe", "margarethe1987", false); !errors.As(err, &weak) {
		t.Errorf("password from the user name accepted: %v", err)
	}
	if _, err := s.CreateUser(ctx, "bob", strong, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, "BOB", strong, false); !errors.Is(err, ErrNameTaken) {
		t.Errorf("names must be unique ignoring case: %v", err)
	}
	// A non-admin user does not close setup; an admin does.
	if need, _ := s.SetupNeeded(ctx); !need {
		t.Error("creating a plain user closed setup")
	}
	if _, err := s.CreateUser(ctx, "root", strong, true); err != nil {
		t.Fatal(err)
	}
	if need, _ := s.SetupNeeded(ctx); need {
		t.Error("creating an administrator left setup open")
	}
}

func TestAuthenticateAndThrottle(t *testing.T) {
	s, c := newStore(t)
	ctx := context.Background()
	if _, err := s.Setup(ctx, "admin", strong); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "admin", strong, "10.0.0.1:5000"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	if _, err := s.Authenticate(ctx, "ADMIN", strong, "10.0.0.1:5000"); err != nil {
		t.Fatalf("names are case-insensitive: %v", err)
	}
	if _, err := s.Authenticate(ctx, "nobody", strong, "10.0.0.1:5000"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
	for i := 0; i < s.Throttle.FreePerAccount; i++ {
		if _, err := s.Authenticate(ctx, "admin", "wrong", "10.0.0.2:5000"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("miss %d: %v", i, err)
		}
	}
	// Blocked now: even the right password is refused without being checked.
	var th *ThrottledError
	if _, err := s.Authenticate(ctx, "admin", strong, "10.0.0.3:5000"); !errors.As(err, &th) {
		t.Fatalf("after %d misses: %v, want throttled", s.Throttle.FreePerAccount, err)
	}
	if th.RetryAfter <= 0 || th.RetryAfter > s.Throttle.Delay {
		t.Fatalf("RetryAfter = %v", th.RetryAfter)
	}
	if !strings.Contains(th.Error(), "Try again in") {
		t.Fatalf("message %q", th.Error())
	}
	c.add(s.Throttle.Delay + time.Second)
	if _, err := s.Authenticate(ctx, "admin", strong, "10.0.0.3:5000"); err != nil {
		t.Fatalf("after the delay: %v", err)
	}
	// Success cleared the account's count: one miss does not block.
	if _, err := s.Authenticate(ctx, "admin", "wrong", "10.0.0.3:5000"); !errors.Is(err, ErrBadCredentials) {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "admin", strong, "10.0.0.3:5000"); err != nil {
		t.Fatalf("one miss after a success blocked the account: %v", err)
	}
}

func TestThrottlePerNetwork(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	s.Setup(ctx, "admin", strong)
	// Many accounts guessed from one IPv6 /64 (rotating addresses) get blocked.
	for i := 0; i < s.Throttle.FreePerNetwork; i++ {
		addr := "[2001:db8:1:2::" + string(rune('a'+i%6)) + "]:443"
		s.Authenticate(ctx, "user"+string(rune('a'+i)), "guess", addr)
	}
	var th *ThrottledError
	if _, err := s.Authenticate(ctx, "admin", strong, "[2001:db8:1:2::ffff]:1"); !errors.As(err, &th) {
		t.Fatalf("network over its budget: %v, want throttled", err)
	}
	// Another network is not affected.
	if _, err := s.Authenticate(ctx, "admin", strong, "[2001:db8:9::1]:1"); err != nil {
		t.Fatalf("other network: %v", err)
	}
}

func TestThrottleDelayDoublesAndCaps(t *testing.T) {
	s, c := newStore(t)
	ctx := context.Background()
	s.Setup(ctx, "admin", strong)
	var last time.Duration
	for i := 0; i < 30; i++ {
		_, err := s.Authenticate(ctx, "admin", "wrong", "10.9.9.9:1")
		var th *ThrottledError
		if errors.As(err, &th) {
			c.add(th.RetryAfter)
			continue
		}
		var until int64
		s.DB.QueryRow(`SELECT max(blocked_until - last_failure, 0) FROM login_failures WHERE key = 'user:admin'`).Scan(&until)
		d := time.Duration(until) * time.Second
		if d != 0 && last != 0 && d != 2*last && d != s.Throttle.MaxDelay {
			t.Fatalf("delay went from %v to %v", last, d)
		}
		if d > s.Throttle.MaxDelay {
			t.Fatalf("delay %v above the cap", d)
		}
		last = d
	}
	if last != s.Throttle.MaxDelay {
		t.Fatalf("after many misses the delay is %v, want the cap %v", last, s.Throttle.MaxDelay)
	}
}

func TestSessions(t *testing.T) {
	s, c := newStore(t)
	ctx := context.Background()
	u, _ := s.Setup(ctx, "admin", strong)
	tok, sess, err := s.NewSession(ctx, u.ID, "test", "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	got, gu, err := s.Session(ctx, tok)
	if err != nil || gu.ID != u.ID || got.CSRFToken != sess.CSRFToken || got.CSRFToken == "" {
		t.Fatalf("Session = %+v %+v %v", got, gu, err)
	}
	// The token itself is not in the database.
	var n int
	s.DB.QueryRow(`SELECT count(*) FROM sessions WHERE token_hash = ? OR csrf_token = ?`, tok, tok).Scan(&n)
	if n != 0 {
		t.Fatal("the session token is stored in clear")
	}
	if _, _, err := s.Session(ctx, tok+"x"); !errors.Is(err, ErrNoSession) {
		t.Fatal("a wrong token was accepted")
	}
	// Logout kills the token for good.
	s.EndSession(ctx, tok)
	if _, _, err := s.Session(ctx, tok); !errors.Is(err, ErrNoSession) {
		t.Fatal("token alive after logout")
	}
	// Idle expiry.
	tok2, _, _ := s.NewSession(ctx, u.ID, "", "")
	c.add(s.SessionIdle + time.Second)
	if _, _, err := s.Session(ctx, tok2); !errors.Is(err, ErrNoSession) {
		t.Fatal("idle session still alive")
	}
	// Use keeps a session alive until its absolute lifetime ends.
	tok3, _, _ := s.NewSession(ctx, u.ID, "", "")
	for elapsed := time.Duration(0); elapsed < s.SessionLifetime-s.SessionIdle; elapsed += s.SessionIdle / 2 {
		c.add(s.SessionIdle / 2)
		if _, _, err := s.Session(ctx, tok3); err != nil {
			t.Fatalf("session used regularly died after %v: %v", elapsed, err)
		}
	}
	c.add(s.SessionLifetime)
	if _, _, err := s.Session(ctx, tok3); !errors.Is(err, ErrNoSession) {
		t.Fatal("session alive past its lifetime")
	}
	if err := s.PurgeExpired(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	u, _ := s.Setup(ctx, "admin", strong)
	keep, _, _ := s.NewSession(ctx, u.ID, "", "")
	other, _, _ := s.NewSession(ctx, u.ID, "", "")
	if err := s.ChangePassword(ctx, u.ID, "wrong", "Another-Strong-Passphrase-93", keep); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong current password: %v", err)
	}
	var weak *password.WeakError
	if err := s.ChangePassword(ctx, u.ID, strong, "admin12345", keep); !errors.As(err, &weak) {
		t.Fatalf("weak new password: %v", err)
	}
	if err := s.ChangePassword(ctx, u.ID, strong, "Another-Strong-Passphrase-93", keep); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Session(ctx, keep); err != nil {
		t.Fatal("the session that changed the password was ended")
	}
	if _, _, err := s.Session(ctx, other); !errors.Is(err, ErrNoSession) {
		t.Fatal("another session survived a password change")
	}
	if _, err := s.Authenticate(ctx, "admin", strong, "127.0.0.1:1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatal("old password still works")
	}
	if _, err := s.Authenticate(ctx, "admin", "Another-Strong-Passphrase-93", "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
}

func TestDisableAndLastAdmin(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	a, _ := s.Setup(ctx, "admin", strong)
	b, _ := s.CreateUser(ctx, "bob", strong, false)
	tok, _, _ := s.NewSession(ctx, b.ID, "", "")
	yes, no := true, false
	if _, err := s.UpdateUser(ctx, b.ID, &yes, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Session(ctx, tok); !errors.Is(err, ErrNoSession) {
		t.Fatal("a disabled user's session survived")
	}
	if _, err := s.Authenticate(ctx, "bob", strong, "127.0.0.1:1"); !errors.Is(err, ErrDisabled) {
		t.Fatalf("disabled user signed in: %v", err)
	}
	if _, err := s.Authenticate(ctx, "bob", "wrong", "127.0.0.1:1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatal("a wrong password must not reveal that the account is disabled")
	}
	if _, err := s.UpdateUser(ctx, a.ID, &yes, nil); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("disabling the last admin: %v", err)
	}
	if _, err := s.UpdateUser(ctx, a.ID, nil, &no); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("demoting the last admin: %v", err)
	}
	if u, _ := s.UserByID(ctx, a.ID); !u.Admin || u.Disabled {
		t.Fatal("a refused update changed the admin")
	}
	s.UpdateUser(ctx, b.ID, &no, &yes)
	if _, err := s.UpdateUser(ctx, a.ID, nil, &no); err != nil {
		t.Fatalf("demoting one of two admins: %v", err)
	}
	if _, err := s.UpdateUser(ctx, 999, &yes, nil); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}
