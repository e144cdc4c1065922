package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/communitycube/cube/server/grid/storage/container"
)

// ExpiryMode selects how the LeaseExpirer decides that a lease has expired.
type ExpiryMode int

const (
	// ExpiryDisabled never deletes anything (Tahoe's default).
	ExpiryDisabled ExpiryMode = iota
	// ExpiryAge expires a lease at its recorded expiration time or, if
	// OverrideLeaseDuration is set, once that long has passed since it was
	// last renewed (Tahoe's expire.mode = age).
	ExpiryAge
	// ExpiryCutoffDate expires every lease last renewed before CutoffDate,
	// whatever its recorded expiration (Tahoe's expire.mode = cutoff-date).
	// Operators use it to reclaim space from clients that stopped renewing.
	ExpiryCutoffDate
)

// ExpiryPolicy configures a LeaseExpirer.
type ExpiryPolicy struct {
	Mode ExpiryMode
	// OverrideLeaseDuration (ExpiryAge only), if positive, replaces the
	// lease period the client was granted.
	OverrideLeaseDuration time.Duration
	// CutoffDate (ExpiryCutoffDate only).
	CutoffDate time.Time
	// SkipImmutable and SkipMutable exempt a share kind from expiry (Tahoe's
	// expire.immutable / expire.mutable = false).
	SkipImmutable bool
	SkipMutable   bool
}

// LeaseExpirer deletes shares all of whose leases have expired under its
// policy. A share with no leases at all is never deleted (Tahoe behaves the
// same way). Individual expired leases on a share that is kept are left in
// place; they are harmless and rewriting containers to drop them would
// cost I/O for nothing.
//
// Each pass asks the lease index only for shares whose latest lease
// expiration is before the policy's threshold, so a pass costs time
// proportional to the number of candidate shares, not to the size of the
// store. Every candidate's container is re-read under the storage-index
// lock before anything is deleted, so a stale index entry can never cause a
// live share to be removed.
type LeaseExpirer struct {
	s      *Server
	policy ExpiryPolicy
}

// ExpiryStats summarises one pass.
type ExpiryStats struct {
	Examined   int
	Deleted    int
	BytesFreed int64
}

// NewLeaseExpirer returns an expirer for s.
func NewLeaseExpirer(s *Server, p ExpiryPolicy) (*LeaseExpirer, error) {
	switch p.Mode {
	case ExpiryDisabled, ExpiryAge:
	case ExpiryCutoffDate:
		if p.CutoffDate.IsZero() {
			return nil, errors.New("storage: cutoff-date expiry needs a CutoffDate")
		}
	default:
		return nil, fmt.Errorf("storage: unknown expiry mode %d", p.Mode)
	}
	if p.OverrideLeaseDuration < 0 {
		return nil, errors.New("storage: negative OverrideLeaseDuration")
	}
	return &LeaseExpirer{s: s, policy: p}, nil
}

// threshold returns T such that a lease with expiration E (Unix seconds) is
// expired iff E < T. The time a lease was last renewed is taken to be its
// expiration minus the lease period, as Tahoe does (the containers do not
// record renewal times).
func (e *LeaseExpirer) threshold(now time.Time) int64 {
	period := int64(e.s.cfg.LeaseDuration / time.Second)
	switch {
	case e.policy.Mode == ExpiryCutoffDate:
		// renewed < cutoff  <=>  E - period < cutoff
		return e.policy.CutoffDate.Unix() + period
	case e.policy.OverrideLeaseDuration > 0:
		// now - renewed > override  <=>  E < now - override + period
		return now.Unix() - int64(e.policy.OverrideLeaseDuration/time.Second) + period
	default:
		// E <= now
		return now.Unix() + 1
	}
}

const expiryBatch = 256

// RunOnce performs one expiry pass. It also aborts immutable uploads that
// have been idle for longer than the upload timeout.
func (e *LeaseExpirer) RunOnce(ctx context.Context) (ExpiryStats, error) {
	var st ExpiryStats
	e.s.reapIdleUploads()
	if e.policy.Mode == ExpiryDisabled {
		return st, nil
	}
	t := e.threshold(e.s.now())
	var cursor *indexEntry
	for {
		batch, err := e.s.index.due(ctx, t, !e.policy.SkipImmutable, !e.policy.SkipMutable, cursor, expiryBatch)
		if err != nil {
			return st, err
		}
		for i := range batch {
			if err := ctx.Err(); err != nil {
				return st, err
			}
			cursor = &batch[i]
			st.Examined++
			freed, deleted := e.consider(batch[i], t)
			if deleted {
				st.Deleted++
				st.BytesFreed += freed
			}
		}
		if len(batch) < expiryBatch {
			return st, nil
		}
	}
}

// consider re-checks one candidate against its container and deletes it if
// all its leases have expired.
func (e *LeaseExpirer) consider(ent indexEntry, threshold int64) (int64, bool) {
	s := e.s
	unlock := s.lockSI(ent.SI)
	defer unlock()
	o, err := s.openShare(ent.SI, ent.Shnum)
	if errors.Is(err, ErrNotFound) {
		s.indexRemove(ent.SI, ent.Shnum)
		return 0, false
	}
	if err != nil {
		s.log.Warn("expirer: cannot read share", "si", ent.SI.String(), "shnum", ent.Shnum, "err", err)
		return 0, false
	}
	leases, err := o.leases()
	size, serr := o.c.Size()
	kind := o.kind
	o.close()
	if err != nil || serr != nil {
		s.log.Warn("expirer: cannot read leases", "si", ent.SI.String(), "shnum", ent.Shnum, "err", errors.Join(err, serr))
		return 0, false
	}
	mutable := kind == container.KindMutable
	latest, hasLease := container.LatestExpiration(leases)
	skip := (mutable && e.policy.SkipMutable) || (!mutable && e.policy.SkipImmutable)
	if skip || !hasLease || int64(latest) >= threshold {
		// Renewed since indexed, or indexed under the wrong kind: refresh
		// the entry so later passes do not look at it again.
		s.indexPut(ent.SI, ent.Shnum, mutable, leases)
		return 0, false
	}
	if err := s.backend.Delete(ent.SI, ent.Shnum); err != nil && !errors.Is(err, ErrNotFound) {
		s.log.Error("expirer: delete failed", "si", ent.SI.String(), "shnum", ent.Shnum, "err", err)
		return 0, false
	}
	s.indexRemove(ent.SI, ent.Shnum)
	s.log.Info("expired share deleted", "kind", kind.String(), "si", ent.SI.String(), "shnum", ent.Shnum, "bytes", size)
	return size, true
}

// Run performs a pass every interval (real time) until ctx is done, logging
// pass results. It returns ctx.Err().
func (e *LeaseExpirer) Run(ctx context.Context, interval time.Duration) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		st, err := e.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			e.s.log.Error("expiry pass failed", "err", err)
		} else if st.Deleted > 0 {
			e.s.log.Info("expiry pass", "examined", st.Examined, "deleted", st.Deleted, "bytes_freed", st.BytesFreed)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
