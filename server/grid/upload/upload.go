// Package upload stores a file on the grid: it picks servers on the
// file's permuted ring, reaches servers-of-happiness with Tahoe's
// placement rules, and streams the CHK encoder's shares to them.
//
// The flow (docs/spec/placement.md has the details):
//
//  1. Query the first 2N servers of the ring (version and share list, in
//     parallel); a server that does not answer is replaced by the next.
//  2. Plan with placement.PlanShares and ask each server to allocate its
//     shares; fold the answers (already held, refused, failed) back in
//     and plan again until nothing more can be gained.
//  3. If the layout cannot reach Happy, abort every allocation and fail
//     with an UnhappyError before any data is sent.
//  4. Encode, streaming every share to its bucket(s) concurrently in
//     bounded chunks. A bucket that fails is dropped; if the remaining
//     ones can no longer be happy the upload stops, all buckets are
//     aborted, and the error says so.
//  5. The last chunk of every share is held back until the whole file is
//     encoded and the layout is still happy; only then are the shares
//     completed, so a failed upload never leaves a complete share behind
//     unless it failed during that very last step.
package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/communitycube/cube/server/grid/broker"
	"github.com/communitycube/cube/server/grid/placement"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
)

// Defaults for Options fields left zero.
const (
	DefaultChunkSize    = 1 << 20
	DefaultQueueDepth   = 1
	DefaultQueryTimeout = 30 * time.Second
	DefaultWriteTimeout = 2 * time.Minute
)

// Options tune an upload. LeaseSecret is required.
type Options struct {
	// LeaseSecret is the client's master lease secret; the leases on the
	// new shares are derived from it (broker.LeaseSecret.Derive).
	LeaseSecret broker.LeaseSecret
	// ChunkSize is the size of each write (PATCH) to a server. Larger
	// chunks mean fewer round trips and fsyncs on the server (which syncs
	// every chunk before acknowledging it); memory is at most about
	// N × (QueueDepth+2) × ChunkSize, 30 MiB for 3-of-10 by default.
	ChunkSize int
	// QueueDepth is how many chunks may wait for each bucket.
	QueueDepth int
	// QueryTimeout bounds each query and allocation request.
	QueryTimeout time.Duration
	// WriteTimeout bounds each chunk write; a server slower than that is
	// treated as gone.
	WriteTimeout time.Duration
	// MaxServers is how many servers are queried (answering ones; failures
	// are replaced). Zero means 2N, as Tahoe does.
	MaxServers int
	// Distrust lists, per server id, shares that server holds but that
	// must not be relied on (found corrupt): they are neither counted nor
	// asked of that server. The repairer sets it.
	Distrust map[string][]int
	// BeforeCommit, if set, is called once the file is encoded and the
	// layout is happy, before any share is completed; an error aborts the
	// upload. The repairer uses it to check the regenerated UEB hash.
	BeforeCommit func(*chk.Result) error
}

func (o *Options) withDefaults() (Options, error) {
	var out Options
	if o != nil {
		out = *o
	}
	if len(out.LeaseSecret) != 32 {
		return out, fmt.Errorf("upload: Options.LeaseSecret: %w", broker.ErrLeaseSecret)
	}
	if out.ChunkSize <= 0 {
		out.ChunkSize = DefaultChunkSize
	}
	if out.QueueDepth <= 0 {
		out.QueueDepth = DefaultQueueDepth
	}
	if out.QueryTimeout <= 0 {
		out.QueryTimeout = DefaultQueryTimeout
	}
	if out.WriteTimeout <= 0 {
		out.WriteTimeout = DefaultWriteTimeout
	}
	return out, nil
}

// ErrNoServers is returned when the broker knows no servers at all.
var ErrNoServers = errors.New("upload: no storage servers known")

// ErrUnhappy is matched (errors.Is) by every UnhappyError.
var ErrUnhappy = errors.New("upload: servers of happiness not met")

// UnhappyError reports that shares could not be spread over enough
// servers.
type UnhappyError struct {
	K, Happy int
	Achieved int    // happiness reached
	Message  string // Tahoe-style explanation
	Detail   string // what the server queries found
	Cause    error  // the failure that lost happiness mid-upload, if any
}

func (e *UnhappyError) Error() string {
	s := fmt.Sprintf("upload: servers of happiness not met (%d of %d): %s (%s)", e.Achieved, e.Happy, e.Message, e.Detail)
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Is makes errors.Is(err, ErrUnhappy) true.
func (e *UnhappyError) Is(target error) bool { return target == ErrUnhappy }

// Unwrap returns the mid-upload failure, if any.
func (e *UnhappyError) Unwrap() error { return e.Cause }

// ServerReport is what happened with one server.
type ServerReport struct {
	ID, Nickname string
	Existing     []int  // shares it already held, relied upon
	Uploaded     []int  // shares written to it by this upload
	Failed       []int  // shares whose upload to it failed
	Full         bool   // it turned shares down for lack of room
	Error        string // why it was dropped, if it was
}

// Result describes a finished upload.
type Result struct {
	Encoding     *chk.Result
	StorageIndex [cap.StorageIndexSize]byte
	// Layout maps each server id to the shares it holds now (existing and
	// uploaded), Happiness is that layout's servers-of-happiness.
	Layout    placement.Placements
	Happiness int
	Servers   []ServerReport // in permuted order, for every server queried
}

// VerifyCap returns the file's verify cap.
func (r *Result) VerifyCap() cap.Verifier { return r.Encoding.VerifyCap(r.StorageIndex) }

type uploader struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	si     wire.StorageIndex
	p      Params
	opts   Options
	lay    chk.Layout
	known  int
	sel    *selector

	mu      sync.Mutex
	buckets []*bucket
	byShare [][]*bucket
}

func happy(l placement.Placements, want int) bool { return placement.Happiness(l) >= want }

// Upload encodes size bytes of ciphertext read from r with p and stores
// the shares on servers from b under storage index si (which the caller
// derived from the key; the uploader never sees the key). It reads r
// exactly once, as it goes.
func Upload(ctx context.Context, b broker.Broker, si [cap.StorageIndexSize]byte, r io.Reader, size int64, p Params, opts *Options) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	lay, err := p.Chk().Layout(size)
	if err != nil {
		return nil, err
	}
	servers := broker.Permuted(b.Servers(), si[:])
	if len(servers) == 0 {
		return nil, ErrNoServers
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	u := &uploader{ctx: ctx, cancel: cancel, si: wire.StorageIndex(si), p: p, opts: o, lay: lay, known: len(servers)}
	u.sel = &selector{u: u}
	return u.run(servers, r)
}

func (u *uploader) run(servers []*broker.Server, r io.Reader) (*Result, error) {
	sel := u.sel
	sel.queryServers(servers)
	if err := context.Cause(u.ctx); err != nil {
		return nil, err
	}
	sel.allocate()
	u.byShare = make([][]*bucket, u.p.N)
	for _, t := range sel.trackers {
		for _, sh := range slices.Sorted(maps.Keys(t.ours)) {
			b := &bucket{t: t, sh: sh, ch: make(chan *chunk, u.opts.QueueDepth)}
			u.buckets = append(u.buckets, b)
			u.byShare[sh] = append(u.byShare[sh], b)
		}
	}
	if err := context.Cause(u.ctx); err != nil {
		u.abortAll()
		return nil, err
	}
	if l := sel.layout(nil); !happy(l, u.p.Happy) {
		u.abortAll()
		return nil, sel.unhappy(l, nil)
	}

	var wg sync.WaitGroup
	for _, b := range u.buckets {
		wg.Go(func() { u.work(b) })
	}
	w := newShareWriter(u)
	res, err := chk.EncodeCiphertext(r, u.lay.Size, u.p.Chk(), w)
	if err != nil {
		u.cancel(err) // stop the writers at once: nothing they send can be used
	}
	for _, b := range u.buckets {
		close(b.ch)
	}
	wg.Wait()
	if err == nil {
		err = context.Cause(u.ctx)
	}
	if err == nil {
		u.mu.Lock()
		l := sel.layout(u.aliveLocked)
		u.mu.Unlock()
		if !happy(l, u.p.Happy) {
			err = sel.unhappy(l, nil)
		}
	}
	if err == nil && u.opts.BeforeCommit != nil {
		err = u.opts.BeforeCommit(res)
	}
	if err != nil {
		u.abortAll()
		return nil, err
	}
	u.commit(w)
	u.abortAll() // buckets that failed along the way
	u.mu.Lock()
	final := sel.layout(func(t *tracker, sh int) bool {
		for _, b := range u.byShare[sh] {
			if b.t == t {
				return b.complete
			}
		}
		return false
	})
	u.mu.Unlock()
	if !happy(final, u.p.Happy) {
		return nil, sel.unhappy(final, errors.New("servers failed while the shares were being completed; the shares that were completed stay"))
	}
	u.renewExisting()
	return u.result(res, final), nil
}

// renewExisting adds our lease to pre-existing shares on servers that got
// no allocate request (which would have renewed them), so the file's
// leases cover every share it relies on.
func (u *uploader) renewExisting() {
	var wg sync.WaitGroup
	for _, t := range u.sel.trackers {
		if t.bad || t.asked || len(t.has) == 0 {
			continue
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(u.ctx, u.opts.QueryTimeout)
			defer cancel()
			if err := t.c.AddOrRenewLease(ctx, u.si, t.lease); err != nil {
				u.recordErr(t.s, err)
			}
		})
	}
	wg.Wait()
}

func (u *uploader) result(enc *chk.Result, layout placement.Placements) *Result {
	res := &Result{Encoding: enc, StorageIndex: u.si, Layout: layout, Happiness: placement.Happiness(layout)}
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, t := range u.sel.trackers {
		rep := ServerReport{ID: t.s.ID(), Nickname: t.s.Nickname(), Full: t.refused}
		if !t.bad {
			rep.Existing = slices.Sorted(maps.Keys(t.has))
		}
		for _, b := range u.buckets {
			if b.t != t {
				continue
			}
			if b.complete {
				rep.Uploaded = append(rep.Uploaded, b.sh)
			} else {
				rep.Failed = append(rep.Failed, b.sh)
				if rep.Error == "" && b.err != nil {
					rep.Error = b.err.Error()
				}
			}
		}
		if t.err != nil {
			rep.Error = t.err.Error()
		}
		res.Servers = append(res.Servers, rep)
	}
	return res
}
