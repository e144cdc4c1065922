// Package transfer holds what uploads (shared/transfer/upload) and downloads
// (shared/transfer/download) share: progress reports with speed and time left, the
// upload rate limiter, and the retry policy (which errors are worth another
// try, and how long to wait). Clocks are injectable so tests can check the
// computed waits without sleeping.
package transfer

import (
	"context"
	"errors"
	"time"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/chk"
)

// State is where a transfer is.
type State string

// States of a transfer.
const (
	Starting  State = "starting"  // asking the node where to begin
	Hashing   State = "hashing"   // reading local bytes the node already holds, to hash them
	Sending   State = "sending"   // moving bytes
	Paused    State = "paused"    // by the user
	Retrying  State = "retrying"  // waiting after an error (Progress.Err) before trying again
	Finishing State = "finishing" // the node is placing the shares
	Done      State = "done"
)

// Progress is what a progress callback receives. Callbacks run on the
// transfer's goroutine: they must return quickly and never block (in the
// go-app UI, hand the value over with ctx.Dispatch).
type Progress struct {
	State State
	Done  int64 // bytes the node acknowledged (upload) or verified and delivered (download)
	Total int64
	// Speed is bytes per second over the last few seconds (0: not known yet).
	Speed float64
	// ETA is the expected time left; negative when unknown.
	ETA time.Duration
	// Err is the error being retried (State Retrying).
	Err error
	// Attempt counts consecutive failures (State Retrying).
	Attempt int
}

// Clock is the time source of a transfer. Tests use a fake that advances
// when Sleep is called.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx is done (then it returns ctx.Err()).
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// Sleep implements Clock.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Meter turns a stream of "bytes done" readings into speed and time left,
// averaged over a sliding window.
type Meter struct {
	clock   Clock
	total   int64
	window  time.Duration
	samples []sample
}

type sample struct {
	t time.Time
	n int64
}

// NewMeter returns a meter for a transfer of total bytes.
func NewMeter(clock Clock, total int64) *Meter {
	return &Meter{clock: clock, total: total, window: 8 * time.Second}
}

// Update records that done bytes are done now and returns the progress.
func (m *Meter) Update(state State, done int64) Progress {
	now := m.clock.Now()
	if k := len(m.samples); k > 0 && done < m.samples[k-1].n {
		m.samples = m.samples[:0] // went backwards (a resume from an earlier point)
	}
	m.samples = append(m.samples, sample{now, done})
	// Keep one sample older than the window, so there is always a span.
	i := 0
	for i+1 < len(m.samples) && now.Sub(m.samples[i+1].t) >= m.window {
		i++
	}
	m.samples = m.samples[i:]
	p := Progress{State: state, Done: done, Total: m.total, ETA: -1}
	first := m.samples[0]
	if dt := now.Sub(first.t); dt >= 500*time.Millisecond && done > first.n {
		p.Speed = float64(done-first.n) / dt.Seconds()
		p.ETA = time.Duration(float64(m.total-done) / p.Speed * float64(time.Second))
	}
	if done >= m.total {
		p.ETA = 0
	}
	return p
}

// ErrCanceled is returned by a transfer the user canceled.
var ErrCanceled = errors.New("the transfer was canceled")

// Retryable reports whether err is worth another try and how long the node
// asked to wait (0: not said). Network failures, a busy or restarting node
// and an upload session that vanished (it is begun again) are retryable;
// what the user must act on (signed out, quota, invalid request) and local
// errors are not.
func Retryable(err error) (bool, time.Duration) {
	if errors.Is(err, api.ErrOffline) {
		return true, 0
	}
	var ae *api.Error
	if !errors.As(err, &ae) {
		return false, 0
	}
	after := time.Duration(ae.RetryAfter) * time.Second
	switch ae.Code {
	case api.CodeBusy, api.CodeThrottled, api.CodeGrid, api.CodeInternal, api.CodeNoHelper,
		api.CodeNotFound, api.CodeConflict, api.CodeDiskFull:
		return true, after
	}
	return false, 0
}

// NeedsUser reports whether err is one only the user can clear: signed
// out, CSRF token gone stale, no permission, quota exceeded, account
// disabled.
func NeedsUser(err error) bool {
	var ae *api.Error
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.Code {
	case api.CodeUnauthenticated, api.CodeCSRF, api.CodeForbidden, api.CodeQuotaExceeded,
		api.CodeAccountDisabled, api.CodeNoKeys, api.CodeSetupNeeded:
		return true
	}
	return false
}

// Backoff is the wait before retry number attempt (1, 2, ...): 1 s doubling
// up to 30 s, or what the node asked for if that is longer.
func Backoff(attempt int, asked time.Duration) time.Duration {
	d := time.Second
	for i := 1; i < attempt && d < 30*time.Second; i++ {
		d *= 2
	}
	return max(min(d, 30*time.Second), asked)
}

// Cipher is a file's AES-128-CTR keystream (shared/chk.NewCTR's), usable at
// any byte offset and from several goroutines: encrypting and decrypting
// are the same XOR. The browser's is wasm/aesctr (WebCrypto); GoCipher is
// the portable one.
type Cipher interface {
	XORKeyStreamAt(dst, src []byte, off int64)
}

// SHA256er is what a Cipher may also offer: SHA-256 computed outside Go
// (WebCrypto, in the browser). Go's SHA-256 compiled to wasm hashes under
// 100 MB/s on the page's only thread and was the largest single cost of a
// download; the browser's runs natively, off that thread. ok false means
// it is not available (hash in Go).
type SHA256er interface {
	SHA256(prefix, data []byte) (sum [32]byte, ok bool)
}

// GoCipher is the Cipher of key in pure Go.
func GoCipher(key chk.Key) Cipher { return goCipher(key) }

type goCipher chk.Key

func (k goCipher) XORKeyStreamAt(dst, src []byte, off int64) {
	chk.NewCTR(chk.Key(k), off).XORKeyStream(dst[:len(src)], src)
}
