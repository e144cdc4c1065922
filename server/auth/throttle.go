package auth

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"strings"
	"time"
)

// ThrottlePolicy limits password guessing. Each account and each client
// network gets a number of free failures; the last free one and every
// further failure block that key for Delay, doubling up to MaxDelay. While blocked, even the
// right password is refused without being checked, so a blocked attacker
// learns nothing. A success clears the account's count (not the network's: one
// valid account must not launder guesses against others).
type ThrottlePolicy struct {
	FreePerAccount int
	FreePerNetwork int
	Delay          time.Duration
	MaxDelay       time.Duration
	// Forget is how long after the last failure a key's count is dropped.
	Forget time.Duration
}

// DefaultThrottle: 5 misses per account, 20 per network, then 30 s, 60 s, ...
// up to 15 minutes per attempt.
var DefaultThrottle = ThrottlePolicy{
	FreePerAccount: 5,
	FreePerNetwork: 20,
	Delay:          30 * time.Second,
	MaxDelay:       15 * time.Minute,
	Forget:         24 * time.Hour,
}

// Block is how long the failures-th failure of a key with free failures
// blocks it: nothing before the free-th, then Delay, doubling with each
// further failure up to MaxDelay.
func (p ThrottlePolicy) Block(failures, free int64) time.Duration {
	over := failures - free
	if over < 0 {
		return 0
	}
	d := p.Delay
	for i := int64(0); i < over && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

// ThrottledError says when the caller may try again.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("Too many failed sign-in attempts. Try again in %s.", humanDuration(e.RetryAfter))
}

func humanDuration(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	switch {
	case s <= 1:
		return "1 second"
	case s < 90:
		return fmt.Sprintf("%d seconds", s)
	default:
		return fmt.Sprintf("%d minutes", (s+59)/60)
	}
}

func accountKey(name string) string { return "user:" + strings.ToLower(name) }

// NetworkKey names the client network of remote (host:port) that throttles
// count: an IPv4 address, or an IPv6 /64, since one host usually owns a
// whole /64 and could otherwise rotate addresses to dodge the limit.
func NetworkKey(remote string) string {
	host := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return "addr:" + host
	}
	if v4 := ip.To4(); v4 != nil {
		return "addr:" + v4.String()
	}
	return "addr:" + ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

func (s *Store) throttled(ctx context.Context, keys ...string) error {
	now := s.now().Unix()
	var worst int64
	for _, k := range keys {
		var until int64
		err := s.DB.QueryRowContext(ctx, `SELECT blocked_until FROM login_failures WHERE key = ?`, k).Scan(&until)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return err
		}
		if until > now && until-now > worst {
			worst = until - now
		}
	}
	if worst > 0 {
		return &ThrottledError{RetryAfter: time.Duration(worst) * time.Second}
	}
	return nil
}

func (s *Store) recordFailure(ctx context.Context, key string, free int) error {
	p := s.Throttle
	now := s.now().Unix()
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var failures, last int64
	err = tx.QueryRowContext(ctx, `SELECT failures, last_failure FROM login_failures WHERE key = ?`, key).Scan(&failures, &last)
	if err != nil && err != sql.ErrNoRows {
		return err
	}
	if now-last > int64(p.Forget/time.Second) {
		failures = 0
	}
	failures++
	var blocked int64
	if d := p.Block(failures, int64(free)); d > 0 {
		blocked = now + int64(d/time.Second)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO login_failures(key, failures, last_failure, blocked_until) VALUES(?, ?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, last_failure = excluded.last_failure, blocked_until = excluded.blocked_until`,
		key, failures, now, blocked); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Store) clearFailures(ctx context.Context, key string) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM login_failures WHERE key = ?`, key)
	return err
}

// The same throttle guards other proofs of an account than its password
// (the recovery key, POST keys/recover): they share the sign-in counts, so
// alternating between them gains a guesser nothing.

// CheckThrottle returns a *ThrottledError while the account name or the
// client network of remote (host:port) is blocked. Check it before looking
// at the proof, so that a blocked guesser learns nothing.
func (s *Store) CheckThrottle(ctx context.Context, name, remote string) error {
	return s.throttled(ctx, accountKey(name), NetworkKey(remote))
}

// RecordFailedAttempt counts a failed proof for the account name and the
// client network of remote, as a wrong password does.
func (s *Store) RecordFailedAttempt(ctx context.Context, name, remote string) error {
	if err := s.recordFailure(ctx, accountKey(name), s.Throttle.FreePerAccount); err != nil {
		return err
	}
	return s.recordFailure(ctx, NetworkKey(remote), s.Throttle.FreePerNetwork)
}

// ClearFailedAttempts forgets the account's failures after a success (not
// the network's, as for sign-in).
func (s *Store) ClearFailedAttempts(ctx context.Context, name string) error {
	return s.clearFailures(ctx, accountKey(name))
}
