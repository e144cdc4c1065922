// Package repair checks, verifies, repairs and keeps alive CHK files on
// the grid, with nothing but their verify caps: it is what
// `cube check [--verify] [--repair] [--add-lease] CAP` runs.
//
//   - Check asks every known server which shares of the file it holds
//     (and, with AddLease, renews the client's lease on them); with Verify
//     it also downloads every share and checks every byte against the
//     cap's hashes, reporting corrupt shares to their servers.
//   - Repair regenerates missing shares from k good ones and places them
//     the way an upload would, so the file is healthy again.
//
// As in Tahoe-LAFS, a file is healthy when all N shares are found (and,
// here, when a happiness goal is given, when they are spread over at least
// that many servers).
package repair

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/communitycube/cube/server/grid/broker"
	"github.com/communitycube/cube/server/grid/gbs"
	"github.com/communitycube/cube/server/grid/placement"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
)

// Defaults for Options fields left zero.
const (
	DefaultParallel     = 10
	DefaultQueryTimeout = 30 * time.Second
	DefaultReadTimeout  = 60 * time.Second
)

// Options tune Check and Repair.
type Options struct {
	// Verify downloads every share and checks all of it; without it the
	// check only asks servers which shares they hold.
	Verify bool
	// AddLease renews (or adds) the client's lease on every share found.
	AddLease bool
	// LeaseSecret is the client's master lease secret; required for
	// AddLease and Repair.
	LeaseSecret broker.LeaseSecret
	// Happy, if positive, is also required of a healthy file: its good
	// shares must reach that servers-of-happiness. Zero is Tahoe's rule:
	// healthy means all N shares are there, wherever they are.
	Happy int
	// Parallel bounds concurrent server queries.
	Parallel int
	// QueryTimeout bounds each listing, lease and advisory request;
	// ReadTimeout each share read while verifying or repairing.
	QueryTimeout, ReadTimeout time.Duration
}

func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.Parallel <= 0 {
		out.Parallel = DefaultParallel
	}
	if out.QueryTimeout <= 0 {
		out.QueryTimeout = DefaultQueryTimeout
	}
	if out.ReadTimeout <= 0 {
		out.ReadTimeout = DefaultReadTimeout
	}
	return out
}

// ServerResult is what one server said.
type ServerResult struct {
	ID, Nickname string
	// Responded is false if the server could not be asked (Error says
	// why); it then counts as holding nothing.
	Responded bool
	Error     string
	// Shares lists the good shares it holds: all it listed for a light
	// check, those that passed for a verifying one.
	Shares []int
	// Corrupt lists shares found corrupt; Unreadable shares it listed but
	// could not serve while verifying.
	Corrupt, Unreadable []int
	// LeaseRenewed is set when AddLease succeeded there; LeaseError when
	// it failed.
	LeaseRenewed bool
	LeaseError   string
}

// CorruptShare is one bad share found by verification.
type CorruptShare struct {
	ServerID string
	Shnum    int
	Reason   string
	Reported error // nil once the server was told
}

// Report is the outcome of a check.
type Report struct {
	Verifier cap.Verifier
	Verified bool                 // a verifying check
	Servers  []ServerResult       // every known server, in permuted order
	Layout   placement.Placements // good shares per server id
	// GoodShares counts distinct good share numbers; Happiness is the
	// servers-of-happiness of Layout.
	GoodShares, Happiness int
	Recoverable, Healthy  bool
	Corrupt               []CorruptShare
	Summary               string
}

// Missing returns the share numbers no server holds a good copy of.
func (r *Report) Missing() []int {
	have := r.Layout.ByShare()
	var out []int
	for sh := range r.Verifier.N {
		if len(have[sh]) == 0 {
			out = append(out, sh)
		}
	}
	return out
}

// Check looks for the shares of the file v names on every server of b. See
// Options for verification and lease renewal. The error is non-nil only
// when the check itself could not be made (bad arguments, cancelled, or
// verification proving the upload itself broken); an unhealthy or
// unrecoverable file is a Report, not an error.
func Check(ctx context.Context, b broker.Broker, v cap.Verifier, opts *Options) (*Report, error) {
	return check(ctx, b, v, opts, nil)
}

// check is Check with some (server id, share) pairs known to be bad
// already (so a post-repair check does not count corrupt copies that are
// still on disk).
func check(ctx context.Context, b broker.Broker, v cap.Verifier, opts *Options, distrust map[string][]int) (*Report, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	if o.AddLease && len(o.LeaseSecret) != 32 {
		return nil, fmt.Errorf("repair: AddLease: %w", broker.ErrLeaseSecret)
	}
	si := wire.StorageIndex(v.StorageIndex)
	servers := broker.Permuted(b.Servers(), v.StorageIndex[:])
	results := make([]ServerResult, len(servers))
	listed := make([][]int, len(servers))

	sem := make(chan struct{}, o.Parallel)
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			r := &results[i]
			r.ID, r.Nickname = s.ID(), s.Nickname()
			shares, err := listShares(ctx, s, si, o.QueryTimeout)
			if err != nil {
				r.Error = err.Error()
				return
			}
			r.Responded = true
			for _, sh := range shares {
				if sh < v.N {
					listed[i] = append(listed[i], sh)
				}
			}
			slices.Sort(listed[i])
			if o.AddLease && len(shares) > 0 {
				if err := addLease(ctx, s, si, o); err != nil {
					r.LeaseError = err.Error()
				} else {
					r.LeaseRenewed = true
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	rep := &Report{Verifier: v, Verified: o.Verify, Layout: placement.Placements{}}
	good := make([]map[int]bool, len(servers))
	for i := range servers {
		good[i] = map[int]bool{}
		for _, sh := range listed[i] {
			if slices.Contains(distrust[servers[i].ID()], sh) {
				results[i].Corrupt = append(results[i].Corrupt, sh)
				continue
			}
			good[i][sh] = true
		}
	}
	if o.Verify {
		if err := verifyAll(ctx, v, servers, good, results, rep, o); err != nil {
			return rep, err
		}
	}
	for i, s := range servers {
		results[i].Shares = slices.Sorted(maps.Keys(good[i]))
		if len(results[i].Shares) > 0 {
			rep.Layout[s.ID()] = results[i].Shares
		}
	}
	rep.Servers = results
	rep.GoodShares = len(rep.Layout.ByShare())
	rep.Happiness = placement.Happiness(rep.Layout)
	rep.Recoverable = rep.GoodShares >= v.K
	rep.Healthy = rep.GoodShares == v.N && rep.Happiness >= o.Happy
	rep.Summary = summary(rep, o.Happy)
	return rep, nil
}

func summary(r *Report, happy int) string {
	v := r.Verifier
	var s string
	switch {
	case r.Healthy:
		s = "Healthy"
	case !r.Recoverable:
		s = "Unrecoverable"
	default:
		s = "Not Healthy"
	}
	s += fmt.Sprintf(": %d shares (enc %d-of-%d) on %d servers, happiness %d", r.GoodShares, v.K, v.N, len(r.Layout), r.Happiness)
	if happy > 0 {
		s += fmt.Sprintf(" (want %d)", happy)
	}
	if len(r.Corrupt) > 0 {
		s += fmt.Sprintf(", %d corrupt", len(r.Corrupt))
	}
	return s
}

func listShares(ctx context.Context, s *broker.Server, si wire.StorageIndex, timeout time.Duration) ([]int, error) {
	c, err := s.Client()
	if err != nil {
		return nil, err
	}
	ctx2, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	list, err := c.ListImmutableShares(ctx2, si)
	if err != nil {
		if ctx.Err() == nil {
			s.RecordFailure(err)
		}
		return nil, err
	}
	s.RecordSuccess(time.Since(start))
	out := make([]int, len(list))
	for i, sh := range list {
		out[i] = int(sh)
	}
	return out, nil
}

func addLease(ctx context.Context, s *broker.Server, si wire.StorageIndex, o Options) error {
	secrets, err := o.LeaseSecret.For(si[:], s)
	if err != nil {
		return err
	}
	c, err := s.Client()
	if err != nil {
		return err
	}
	ctx2, cancel := context.WithTimeout(ctx, o.QueryTimeout)
	defer cancel()
	return c.AddOrRenewLease(ctx2, si, secrets)
}

// roundSource serves one verification round: each share number from one
// chosen server.
type roundSource struct {
	ctx     context.Context
	si      wire.StorageIndex
	timeout time.Duration
	from    map[int]*gbs.Client
}

func (r *roundSource) ReadShare(sh int, off int64, length int) ([]byte, error) {
	c, ok := r.from[sh]
	if !ok {
		return nil, fmt.Errorf("share %d is not part of this round", sh)
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
	defer cancel()
	return c.ReadImmutableShare(ctx, r.si, uint16(sh), uint64(off), uint64(length))
}

// verifyAll verifies every listed (server, share) copy with chk.Verify.
// chk.Verify checks a set of distinct share numbers at once, so copies are
// verified in rounds: round r takes the r-th holder of each share. A round
// with fewer than k shares is topped up with copies already proven good,
// because whole-file decoding (which also checks the ciphertext hashes)
// needs k shares.
func verifyAll(ctx context.Context, v cap.Verifier, servers []*broker.Server, good []map[int]bool,
	results []ServerResult, rep *Report, o Options) error {
	si := wire.StorageIndex(v.StorageIndex)
	holders := map[int][]int{} // share -> server indexes, in permuted order
	for i := range servers {
		for sh := range good[i] {
			holders[sh] = append(holders[sh], i)
		}
	}
	for sh := range holders {
		slices.Sort(holders[sh])
	}
	proven := map[int]int{} // share -> a server index holding a verified copy
	for i := range good {
		clear(good[i]) // refilled with what passes
	}
	for round := 0; ; round++ {
		pick := map[int]int{}
		for sh, hs := range holders {
			if round < len(hs) {
				pick[sh] = hs[round]
			}
		}
		if len(pick) == 0 {
			return nil
		}
		tested := len(pick)
		if round > 0 && tested < v.K {
			for _, sh := range slices.Sorted(maps.Keys(proven)) {
				if len(pick) >= v.K {
					break
				}
				if _, ok := pick[sh]; !ok {
					pick[sh] = proven[sh]
				}
			}
		}
		src := &roundSource{ctx: ctx, si: si, timeout: o.ReadTimeout, from: map[int]*gbs.Client{}}
		var order []int
		for _, sh := range slices.Sorted(maps.Keys(pick)) {
			c, err := servers[pick[sh]].Client()
			if err != nil {
				return err
			}
			src.from[sh] = c
			order = append(order, sh)
		}
		vr, err := chk.Verify(v, src, &chk.DecoderOptions{Shares: order})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, chk.ErrCiphertextHash) || (err != nil && !errors.Is(err, chk.ErrNotEnoughShares)) {
			// The shares match the cap but decode to the wrong ciphertext,
			// or the UEB is unusable: the upload itself is broken and no
			// repair can help.
			return fmt.Errorf("repair: verifying %v: %w", v, err)
		}
		if vr == nil {
			continue
		}
		for _, sh := range vr.Good {
			i := pick[sh]
			good[i][sh] = true
			if _, ok := proven[sh]; !ok {
				proven[sh] = i
			}
		}
		for sh, perr := range vr.Problems {
			i := pick[sh]
			var ce *chk.CorruptShareError
			if errors.As(perr, &ce) {
				results[i].Corrupt = append(results[i].Corrupt, sh)
				cs := CorruptShare{ServerID: servers[i].ID(), Shnum: sh, Reason: strings.TrimPrefix(ce.Error(), "chk: ")}
				cs.Reported = advise(ctx, servers[i], si, sh, cs.Reason, o.QueryTimeout)
				rep.Corrupt = append(rep.Corrupt, cs)
			} else {
				results[i].Unreadable = append(results[i].Unreadable, sh)
			}
		}
	}
}

func advise(ctx context.Context, s *broker.Server, si wire.StorageIndex, sh int, reason string, timeout time.Duration) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	ctx2, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return c.AdviseCorruptImmutable(ctx2, si, uint16(sh), reason)
}

// AddLease renews (or adds) the client's lease on every share of the file
// v names, on every server holding one: a light Check with AddLease. A node
// calls it periodically for the files it wants kept (leases last 31 days).
func AddLease(ctx context.Context, b broker.Broker, v cap.Verifier, secret broker.LeaseSecret) (*Report, error) {
	return Check(ctx, b, v, &Options{AddLease: true, LeaseSecret: secret})
}
