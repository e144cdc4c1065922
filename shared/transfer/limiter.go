package transfer

import (
	"context"
	"sync"
	"time"
)

// KB is the unit of rate limits (FileSettings.UploadRateLimit): 1024 bytes.
const KB = 1024

// Limiter paces a sender to a rate in KB/s, adjustable while it runs. It
// works like a virtual clock: sending n bytes pushes "next" (when those
// bytes would have left at the limit) n/rate further, and the sender waits
// until next before it sends again. So the average never exceeds the rate,
// and a burst is at most one chunk. Changing the rate rescales what is still
// owed, so lowering it takes effect at once and raising it (or lifting it)
// wakes a waiting sender.
type Limiter struct {
	clock   Clock
	mu      sync.Mutex
	rate    float64 // bytes per second; 0: unlimited
	next    time.Time
	changed chan struct{} // closed when the rate changes
}

// NewLimiter returns a limiter at kbps KB/s (0: unlimited).
func NewLimiter(clock Clock, kbps int) *Limiter {
	l := &Limiter{clock: clock, changed: make(chan struct{})}
	l.rate = float64(max(kbps, 0)) * KB
	return l
}

// SetRate changes the limit to kbps KB/s (0: unlimited).
func (l *Limiter) SetRate(kbps int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rate := float64(max(kbps, 0)) * KB
	if rate == l.rate {
		return
	}
	now := l.clock.Now()
	if owed := l.next.Sub(now); owed > 0 && rate > 0 && l.rate > 0 {
		l.next = now.Add(time.Duration(float64(owed) * l.rate / rate))
	} else {
		l.next = now
	}
	l.rate = rate
	close(l.changed)
	l.changed = make(chan struct{})
}

// Rate returns the limit in bytes per second (0: unlimited).
func (l *Limiter) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rate
}

// Delay is how long a sender must wait now before sending.
func (l *Limiter) Delay() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.delay()
}

func (l *Limiter) delay() time.Duration {
	if l.rate == 0 {
		return 0
	}
	return max(l.next.Sub(l.clock.Now()), 0)
}

// Take records that n bytes are being sent now.
func (l *Limiter) Take(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate == 0 {
		return
	}
	now := l.clock.Now()
	start := l.next
	if start.Before(now) {
		start = now
	}
	l.next = start.Add(time.Duration(float64(n) / l.rate * float64(time.Second)))
}

// Wait blocks until Delay is zero (waking early if the rate changes), then
// takes n bytes.
func (l *Limiter) Wait(ctx context.Context, n int) error {
	for {
		l.mu.Lock()
		d, changed := l.delay(), l.changed
		l.mu.Unlock()
		if d == 0 {
			l.Take(n)
			return nil
		}
		wake, stop := context.WithCancel(ctx)
		go func() {
			select {
			case <-changed:
				stop()
			case <-wake.Done():
			}
		}()
		err := l.clock.Sleep(wake, d)
		stop()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		_ = err // woken by a rate change: compute again
	}
}

// ChunkSize is the chunk a sender should use at the current rate: about one
// second's worth in multiples of 64 KiB, at most limit, so that a slow
// limit sends small pieces often rather than big ones in bursts.
func (l *Limiter) ChunkSize(limit int) int {
	r := l.Rate()
	if r == 0 {
		return limit
	}
	return min(limit, int(min(r, float64(limit))/(64<<10)+1)*(64<<10))
}
