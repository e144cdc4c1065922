package upload

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/communitycube/cube/server/grid/broker"
	"github.com/communitycube/cube/server/grid/gbs"
	"github.com/communitycube/cube/server/grid/placement"
	"github.com/communitycube/cube/server/grid/storage/wire"
)

// tracker is the uploader's view of one server (Tahoe's ServerTracker).
type tracker struct {
	s            *broker.Server
	c            *gbs.Client
	lease        gbs.LeaseSecrets
	uploadSecret []byte
	queried      bool         // answered the initial query
	writable     bool         // accepts shares of our size
	bad          bool         // failed; no longer used
	has          map[int]bool // shares it holds that we rely on
	distrust     map[int]bool // shares it holds that we must not rely on
	ours         map[int]bool // buckets allocated to this upload
	asked        bool         // received an allocate request
	refused      bool         // turned down a share for lack of room
	err          error
}

func (t *tracker) placement() placement.Server {
	ps := placement.Server{ID: t.s.ID(), Writable: t.writable && !t.bad}
	for sh := range t.has {
		ps.Has = append(ps.Has, sh)
	}
	for sh := range t.ours {
		if !t.has[sh] {
			ps.Has = append(ps.Has, sh)
		}
	}
	for sh := range t.distrust {
		ps.Refuses = append(ps.Refuses, sh)
	}
	slices.Sort(ps.Has)
	slices.Sort(ps.Refuses)
	return ps
}

// selector finds homes for shares (Tahoe's Tahoe2ServerSelector).
type selector struct {
	u        *uploader
	trackers []*tracker // permuted order of the servers that answered
	queried  int
	failed   int
	full     int
	lastErr  error
}

// recordErr notes a server failure, unless the upload itself was
// cancelled (then the server is not to blame).
func (u *uploader) recordErr(s *broker.Server, err error) {
	if u.ctx.Err() == nil && !errors.Is(err, context.Canceled) {
		s.RecordFailure(err)
	}
}

// query asks one server what it holds and how much it accepts.
func (sel *selector) query(t *tracker) error {
	u := sel.u
	c, err := t.s.Client()
	if err != nil {
		return err
	}
	t.c = c
	ctx, cancel := context.WithTimeout(u.ctx, u.opts.QueryTimeout)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	var ver wire.Version
	var verErr error
	wg.Go(func() { ver, verErr = c.Version(ctx) })
	list, err := c.ListImmutableShares(ctx, u.si)
	wg.Wait()
	if err = errors.Join(err, verErr); err != nil {
		return err
	}
	t.s.RecordSuccess(time.Since(start) / 2) // two requests in parallel: roughly one round trip each
	t.s.SetAvailableSpace(int64(min(ver.AvailableSpace, 1<<62)))
	t.writable = ver.MaximumImmutableShareSize >= uint64(u.lay.ShareSize)
	for _, sh := range list {
		t.addHeld(int(sh))
	}
	t.queried = true
	return nil
}

func (t *tracker) addHeld(sh int) {
	if t.distrust[sh] {
		return
	}
	t.has[sh] = true
}

// queryServers asks servers in permuted order, keeping up to
// opts.MaxServers queries answered: a server that fails is replaced by the
// next one on the ring.
func (sel *selector) queryServers(servers []*broker.Server) {
	u := sel.u
	want := u.opts.MaxServers
	if want <= 0 {
		want = 2 * u.p.N
	}
	type res struct {
		t   *tracker
		err error
	}
	results := make(chan res)
	next, inflight, answered := 0, 0, 0
	all := make([]*tracker, 0, len(servers))
	launch := func() {
		s := servers[next]
		next++
		ls, err := u.opts.LeaseSecret.For(u.si[:], s)
		t := &tracker{s: s, lease: ls, has: map[int]bool{}, ours: map[int]bool{}, distrust: map[int]bool{}}
		for _, sh := range u.opts.Distrust[s.ID()] {
			t.distrust[sh] = true
		}
		all = append(all, t)
		inflight++
		sel.queried++
		go func() {
			if err == nil {
				t.uploadSecret = make([]byte, 32)
				rand.Read(t.uploadSecret)
				err = sel.query(t)
			}
			results <- res{t, err}
		}()
	}
	for next < len(servers) && inflight < want {
		launch()
	}
	for inflight > 0 {
		r := <-results
		inflight--
		if r.err != nil {
			r.t.bad, r.t.err = true, r.err
			sel.failed++
			sel.lastErr = fmt.Errorf("%s: %w", r.t.s, r.err)
			u.recordErr(r.t.s, r.err)
			if next < len(servers) && answered+inflight < want && u.ctx.Err() == nil {
				launch()
			}
			continue
		}
		answered++
	}
	for _, t := range all { // keep the permuted order
		if t.queried {
			sel.trackers = append(sel.trackers, t)
		}
	}
}

// layout is what the trackers hold plus what was allocated to us and is
// still alive according to alive (nil: every allocation).
func (sel *selector) layout(alive func(t *tracker, sh int) bool) placement.Placements {
	p := placement.Placements{}
	for _, t := range sel.trackers {
		if t.bad {
			// A server that failed mid-upload may still hold older
			// shares, but we cannot count on it any more.
			continue
		}
		for sh := range t.has {
			p[t.s.ID()] = append(p[t.s.ID()], sh)
		}
		for sh := range t.ours {
			if !t.has[sh] && (alive == nil || alive(t, sh)) {
				p[t.s.ID()] = append(p[t.s.ID()], sh)
			}
		}
	}
	return placement.Merge(p)
}

// allocate runs Tahoe's placement loop: plan, ask each server for its
// planned shares, learn from the answers (already held, refused for lack
// of room, failed), and plan again until the plan is realised or stops
// improving.
func (sel *selector) allocate() {
	u := sel.u
	for round := 0; round <= u.p.N+1 && u.ctx.Err() == nil; round++ {
		cands := make([]placement.Server, len(sel.trackers))
		for i, t := range sel.trackers {
			cands[i] = t.placement()
		}
		plan := placement.PlanShares(cands, u.p.N)
		asks := map[*tracker][]int{}
		for _, t := range sel.trackers {
			if t.bad {
				continue
			}
			for _, sh := range slices.Sorted(maps.Keys(plan.Upload)) {
				if plan.Upload[sh] == t.s.ID() && !t.ours[sh] {
					asks[t] = append(asks[t], sh)
				}
			}
		}
		if len(asks) == 0 {
			return
		}
		progress := false
		var mu sync.Mutex
		var wg sync.WaitGroup
		for t, shares := range asks {
			wg.Go(func() {
				got, full, err := sel.ask(t, shares)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.bad, t.err = true, err
					sel.failed++
					sel.lastErr = fmt.Errorf("%s: %w", t.s, err)
					u.recordErr(t.s, err)
					return
				}
				if full {
					sel.full++
				}
				if got {
					progress = true
				}
			})
		}
		wg.Wait()
		if !progress {
			return
		}
	}
}

// ask sends one allocate request and folds the answer into t. It reports
// whether anything was gained and whether the server turned shares down
// for lack of room. It touches only t.
func (sel *selector) ask(t *tracker, shares []int) (gained, full bool, err error) {
	u := sel.u
	req := make([]uint16, len(shares))
	for i, sh := range shares {
		req[i] = uint16(sh)
	}
	ctx, cancel := context.WithTimeout(u.ctx, u.opts.QueryTimeout)
	defer cancel()
	start := time.Now()
	t.asked = true
	resp, err := t.c.Allocate(ctx, u.si, req, uint64(u.lay.ShareSize), t.lease, t.uploadSecret)
	if err != nil {
		return false, false, err
	}
	t.s.RecordSuccess(time.Since(start))
	for _, sh := range resp.AlreadyHave {
		if int(sh) < u.p.N && !t.has[int(sh)] && !t.distrust[int(sh)] {
			t.addHeld(int(sh))
			gained = true
		}
	}
	for _, sh := range resp.Allocated {
		if int(sh) < u.p.N && slices.Contains(shares, int(sh)) {
			t.ours[int(sh)] = true
			gained = true
		}
	}
	for _, sh := range shares {
		if !t.ours[sh] && !t.has[sh] {
			// Turned down: no room for shares this size (Tahoe then treats
			// the server as read-only for the rest of the upload).
			t.writable = false
			t.refused = true
			full = true
			break
		}
	}
	return gained, full, nil
}

// unhappy builds the error for a layout that falls short.
func (sel *selector) unhappy(layout placement.Placements, cause error) *UnhappyError {
	u := sel.u
	h := placement.Happiness(layout)
	holders := 0
	for _, shs := range layout {
		if len(shs) > 0 {
			holders++
		}
	}
	// Servers whose version already said they have no room for a share
	// this size were never asked to allocate; they are full all the same.
	full := sel.full
	for _, t := range sel.trackers {
		if t.queried && !t.writable && !t.refused && !t.bad {
			full++
		}
	}
	e := &UnhappyError{
		K: u.p.K, Happy: u.p.Happy, Achieved: h,
		Message: placement.FailureMessage(holders, u.p.K, u.p.Happy, h),
		Detail: fmt.Sprintf("queried %d server(s) of %d known: %d answered, %d failed, %d full",
			sel.queried, u.known, len(sel.trackers), sel.failed, full),
		Cause: cause,
	}
	if cause == nil && sel.lastErr != nil {
		e.Detail += "; last failure: " + sel.lastErr.Error()
	}
	return e
}
