// Package transfertest provides a fake clock for tests of transfers.
package transfertest

import (
	"context"
	"sync"
	"time"
)

// Clock is a transfer.Clock whose time moves only when Sleep or Advance is
// called. Sleep returns at once, having advanced the time by d, and records
// d: tests check the waits a transfer computed without waiting.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	Sleeps []time.Duration
	// OnSleep, if set, runs (without the lock) at each Sleep, before time
	// advances; a test can change the rate or pause there.
	OnSleep func(d time.Duration)
}

// NewClock returns a fake clock at a fixed date.
func NewClock() *Clock { return &Clock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

// Now implements transfer.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the time forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Sleep implements transfer.Clock.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if f := c.OnSleep; f != nil {
		f(d)
	}
	c.mu.Lock()
	c.Sleeps = append(c.Sleeps, d)
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

// Total is the sum of the recorded sleeps.
func (c *Clock) Total() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var t time.Duration
	for _, d := range c.Sleeps {
		t += d
	}
	return t
}
