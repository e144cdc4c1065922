package transfer_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/transfer"
	"github.com/communitycube/cube/shared/transfer/transfertest"
)

func TestLimiterWaits(t *testing.T) {
	clk := transfertest.NewClock()
	l := transfer.NewLimiter(clk, 100) // 100 KB/s = 102400 B/s
	if d := l.Delay(); d != 0 {
		t.Fatalf("first send waits %v", d)
	}
	l.Take(102400)
	if d := l.Delay(); d != time.Second {
		t.Fatalf("after 1 s worth: %v", d)
	}
	clk.Advance(400 * time.Millisecond)
	if d := l.Delay(); d != 600*time.Millisecond {
		t.Fatalf("400 ms later: %v", d)
	}
	// Halving the rate doubles what is still owed.
	l.SetRate(50)
	if d := l.Delay(); d != 1200*time.Millisecond {
		t.Fatalf("at 50 KB/s: %v", d)
	}
	// Lifting the limit releases the sender at once.
	l.SetRate(0)
	if d := l.Delay(); d != 0 {
		t.Fatalf("unlimited: %v", d)
	}
	l.Take(1 << 30)
	if d := l.Delay(); d != 0 {
		t.Fatalf("unlimited after a big send: %v", d)
	}
	// A new limit starts from now, not from the unlimited past.
	l.SetRate(10)
	l.Take(10240)
	if d := l.Delay(); d != time.Second {
		t.Fatalf("at 10 KB/s: %v", d)
	}
	// Idle time is not saved up as credit for a burst.
	clk.Advance(time.Hour)
	l.Take(10240)
	if d := l.Delay(); d != time.Second {
		t.Fatalf("after idling: %v", d)
	}
}

// Sending 10 MiB through Wait at 256 KB/s sleeps 40 s in total minus the
// first chunk's free start, whatever the chunk sizes.
func TestLimiterWaitTotal(t *testing.T) {
	for _, chunk := range []int{64 << 10, 256 << 10, 1 << 20} {
		clk := transfertest.NewClock()
		l := transfer.NewLimiter(clk, 256)
		total := 10 << 20
		for sent := 0; sent < total; sent += chunk {
			if err := l.Wait(context.Background(), chunk); err != nil {
				t.Fatal(err)
			}
		}
		want := time.Duration(float64(total-chunk) / (256 * 1024) * float64(time.Second))
		if got := clk.Total(); got != want {
			t.Fatalf("chunk %d: slept %v, want %v", chunk, got, want)
		}
	}
}

// A rate change during a wait is honoured by the same wait.
func TestLimiterWaitRateChange(t *testing.T) {
	clk := transfertest.NewClock()
	l := transfer.NewLimiter(clk, 1)
	l.Take(1024 * 100) // 100 s owed
	clk.OnSleep = func(time.Duration) {
		clk.OnSleep = nil
		l.SetRate(0)
	}
	if err := l.Wait(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	// The fake sleep returned after its full 100 s, but the next
	// computation saw no limit: one sleep only.
	if len(clk.Sleeps) != 1 {
		t.Fatalf("sleeps %v", clk.Sleeps)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l.SetRate(1)
	l.Take(1 << 20)
	if err := l.Wait(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled wait: %v", err)
	}
}

func TestChunkSize(t *testing.T) {
	clk := transfertest.NewClock()
	l := transfer.NewLimiter(clk, 0)
	for _, c := range []struct{ kbps, want int }{{0, 1 << 20}, {10, 64 << 10}, {100, 128 << 10}, {512, 576 << 10}, {5000, 1 << 20}} {
		l.SetRate(c.kbps)
		if got := l.ChunkSize(1 << 20); got != c.want {
			t.Errorf("%d KB/s: chunk %d, want %d", c.kbps, got, c.want)
		}
	}
}

func TestMeter(t *testing.T) {
	clk := transfertest.NewClock()
	m := transfer.NewMeter(clk, 100<<20)
	p := m.Update(transfer.Sending, 0)
	if p.Speed != 0 || p.ETA >= 0 {
		t.Fatalf("no speed yet: %+v", p)
	}
	for i := 1; i <= 20; i++ {
		clk.Advance(time.Second)
		p = m.Update(transfer.Sending, int64(i)<<20)
	}
	if p.Speed != 1<<20 || p.ETA != 80*time.Second {
		t.Fatalf("steady 1 MiB/s: %+v", p)
	}
	// The window forgets the old speed.
	for i := 1; i <= 10; i++ {
		clk.Advance(time.Second)
		p = m.Update(transfer.Sending, 20<<20+int64(i)<<19)
	}
	if p.Speed != 1<<19 {
		t.Fatalf("after slowing down: %+v", p)
	}
	if p = m.Update(transfer.Done, 100<<20); p.ETA != 0 {
		t.Fatalf("done: %+v", p)
	}
}

func TestRetryable(t *testing.T) {
	for _, c := range []struct {
		err   error
		retry bool
		after time.Duration
	}{
		{fmt.Errorf("%w (x)", api.ErrOffline), true, 0},
		{&api.Error{Code: api.CodeBusy, RetryAfter: 7}, true, 7 * time.Second},
		{&api.Error{Code: api.CodeNotFound}, true, 0},
		{&api.Error{Code: api.CodeInternal}, true, 0},
		{&api.Error{Code: api.CodeQuotaExceeded}, false, 0},
		{&api.Error{Code: api.CodeUnauthenticated}, false, 0},
		{&api.Error{Code: api.CodeCSRF}, false, 0},
		{errors.New("local"), false, 0},
		{context.Canceled, false, 0},
	} {
		r, a := transfer.Retryable(c.err)
		if r != c.retry || a != c.after {
			t.Errorf("%v: %v %v", c.err, r, a)
		}
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for i, w := range want {
		if got := transfer.Backoff(i+1, 0); got != w {
			t.Errorf("attempt %d: %v", i+1, got)
		}
	}
	if got := transfer.Backoff(1, time.Minute); got != time.Minute {
		t.Errorf("Retry-After ignored: %v", got)
	}
}
