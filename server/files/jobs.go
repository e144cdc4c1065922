package files

import (
	"context"
	"database/sql"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/shared/cap"
)

// Leaser adds or renews this node's lease on every share of a file (on
// the node: repair.AddLease with the node's lease secret).
type Leaser interface {
	AddLease(ctx context.Context, v cap.Verifier) error
}

// DefaultLeaseInterval is how often the node renews its leases: storage
// servers keep a lease 31 days, so a day leaves a month of slack.
const DefaultLeaseInterval = 24 * time.Hour

// LeaseRenewer keeps every stored file alive: it renews the node's leases
// on the shares of every version a user keeps (trash included) and of
// every finished upload not made into a version yet. A deleted version is
// simply no longer renewed: its shares expire by the storage servers'
// expiry policy, unless another version (a copy) still uses them.
type LeaseRenewer struct {
	Store  *Store
	Leaser Leaser
	// Interval between renewals (default DefaultLeaseInterval). The time
	// of the last one is kept in the database, so restarts do not renew
	// more often.
	Interval time.Duration
	// Parallel bounds concurrent renewals (default 4).
	Parallel int
	Log      *slog.Logger
}

// LeaseStats counts one renewal round.
type LeaseStats struct {
	Files, Renewed, Failed int
}

const leaseSetting = "files_leases_renewed_at"

// RunOnce renews every lease now.
func (r *LeaseRenewer) RunOnce(ctx context.Context) (LeaseStats, error) {
	var st LeaseStats
	par := r.Parallel
	if par <= 0 {
		par = 4
	}
	log := r.log()
	after := ""
	for {
		caps, err := r.page(ctx, after, 256)
		if err != nil {
			return st, err
		}
		if len(caps) == 0 {
			break
		}
		after = caps[len(caps)-1]
		var mu sync.Mutex
		var wg sync.WaitGroup
		sem := make(chan struct{}, par)
		for _, c := range caps {
			v, err := cap.ParseVerifier(c)
			if err != nil {
				log.Error("files: a stored verify cap does not parse", "err", err)
				st.Failed++
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				err := r.Leaser.AddLease(ctx, v)
				mu.Lock()
				defer mu.Unlock()
				st.Files++
				if err != nil {
					st.Failed++
					if ctx.Err() == nil {
						log.Warn("files: renewing a lease failed", "si", cap.EncodeBase32(v.StorageIndex[:]), "err", err)
					}
				} else {
					st.Renewed++
				}
			}()
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return st, err
		}
	}
	now := strconv.FormatInt(r.Store.now().Unix(), 10)
	_, err := r.Store.DB.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
		leaseSetting, now)
	log.Info("files: leases renewed", "files", st.Files, "renewed", st.Renewed, "failed", st.Failed)
	return st, err
}

func (r *LeaseRenewer) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return r.Store.Log
}

// page lists distinct verify caps to renew, in order, after after.
func (r *LeaseRenewer) page(ctx context.Context, after string, n int) ([]string, error) {
	rows, err := r.Store.DB.QueryContext(ctx, `SELECT c FROM (
			SELECT verify_cap AS c FROM file_versions WHERE verify_cap != ''
			UNION SELECT verify_cap AS c FROM uploads WHERE verify_cap IS NOT NULL
			UNION SELECT verify_cap AS c FROM drop_files WHERE verify_cap != ''
		) WHERE c > ? ORDER BY c LIMIT ?`, after, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// NextRun returns when the next renewal is due (now if never).
func (r *LeaseRenewer) NextRun(ctx context.Context) (time.Time, error) {
	var v string
	err := r.Store.DB.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, leaseSetting).Scan(&v)
	if err == sql.ErrNoRows {
		return r.Store.now(), nil
	}
	if err != nil {
		return time.Time{}, err
	}
	last, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return r.Store.now(), nil
	}
	return time.Unix(last, 0).Add(r.interval()), nil
}

func (r *LeaseRenewer) interval() time.Duration {
	if r.Interval <= 0 {
		return DefaultLeaseInterval
	}
	return r.Interval
}

// Run renews leases whenever due, until ctx ends.
func (r *LeaseRenewer) Run(ctx context.Context) {
	for {
		next, err := r.NextRun(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log().Warn("files: reading the lease schedule", "err", err)
			next = r.Store.now().Add(time.Hour)
		}
		if d := next.Sub(r.Store.now()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if _, err := r.RunOnce(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log().Warn("files: renewing leases", "err", err)
			select { // retry in an hour rather than at once
			case <-ctx.Done():
				return
			case <-time.After(time.Hour):
			}
		}
	}
}

// Housekeeping runs the hourly jobs until ctx ends: the trash auto-empty,
// forgetting dead uploads (alive, if set, tells whether the helper still
// holds an unfinished one), forgetting expired link tokens and the escrow
// keys of ended sessions.
func (s *Store) Housekeeping(ctx context.Context, every time.Duration, uploadAlive func(si wire.StorageIndex) bool) {
	if every <= 0 {
		every = time.Hour
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.housekeep(ctx, uploadAlive)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// UploadKeep is how long a finished upload not made into a version is
// kept (and counted towards the quota).
const UploadKeep = 7 * 24 * time.Hour

func (s *Store) housekeep(ctx context.Context, uploadAlive func(si wire.StorageIndex) bool) {
	if n, err := s.AutoEmptyTrash(ctx); err != nil && ctx.Err() == nil {
		s.Log.Warn("files: emptying old trash", "err", err)
	} else if n > 0 {
		s.Log.Info("files: old trash deleted", "items", n)
	}
	if n, err := s.PurgeUploads(ctx, uploadAlive, UploadKeep); err != nil && ctx.Err() == nil {
		s.Log.Warn("files: forgetting dead uploads", "err", err)
	} else if n > 0 {
		s.Log.Info("files: dead uploads forgotten", "uploads", n)
	}
	if err := s.forgetExpiredLinkTokens(ctx); err != nil && ctx.Err() == nil {
		s.Log.Warn("files: forgetting expired link tokens", "err", err)
	}
	if err := s.forgetLinkFailures(ctx); err != nil && ctx.Err() == nil {
		s.Log.Warn("files: forgetting old wrong link passwords", "err", err)
	}
	if s.Auth != nil {
		alive := func(th []byte) bool {
			ok, err := s.Auth.SessionExists(ctx, th)
			return ok || err != nil // keep on a database error: try again next time
		}
		s.Escrow.Sweep(s.now(), alive)
		if s.SessionKeys != nil {
			s.SessionKeys.Sweep(s.now(), alive)
		}
	}
}
