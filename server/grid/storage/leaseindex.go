package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	"github.com/communitycube/cube/server/grid/storage/container"
	"github.com/communitycube/cube/server/grid/storage/wire"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// leaseIndex records, for every share, the latest expiration among its
// leases, ordered so that the expirer can ask "which shares might have
// expired by time T?" without reading every container on disk.
//
// Why SQLite (modernc.org/sqlite, pure Go, already a dependency of the
// module) rather than a hand-written index file: the index needs point
// upserts on every lease change, deletes, and ordered range scans by
// expiration, all crash-safe. A B-tree with transactions gives that
// directly, keeps memory use independent of the number of shares (an
// in-memory sorted index replayed from a journal would cost ~100 bytes of
// RAM per share and its own crash-recovery code), and stays a local file
// when the shares themselves move to an object store.
//
// The index is derived data. The containers are the source of truth: the
// expirer re-reads a share's leases before deleting it, and the index is
// rebuilt by a full scan whenever it is missing or was never completed.
// Losing a recent update therefore never deletes a live share; at worst an
// expired share is kept until the next rebuild.
type leaseIndex struct {
	db *sql.DB
}

type indexEntry struct {
	SI      wire.StorageIndex
	Shnum   uint16
	Mutable bool
	// Expires is the latest lease expiration in Unix seconds.
	Expires int64
}

const leaseIndexSchema = `
CREATE TABLE IF NOT EXISTS shares (
	si      BLOB    NOT NULL,
	shnum   INTEGER NOT NULL,
	mutable INTEGER NOT NULL,
	expires INTEGER, -- latest lease expiration, Unix seconds; NULL if no lease
	PRIMARY KEY (si, shnum)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS shares_by_expiry ON shares (expires, si, shnum) WHERE expires IS NOT NULL;
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;
`

func openLeaseIndex(path string) (*leaseIndex, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	// FULL: a committed update survives power loss. Lease changes are rare
	// compared with share data writes, so the extra fsync is affordable.
	q.Add("_pragma", "synchronous(FULL)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	// One connection: SQLite serializes writers anyway, and this avoids
	// SQLITE_BUSY between our own goroutines.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(leaseIndexSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("storage: lease index %s: %w", path, err)
	}
	return &leaseIndex{db: db}, nil
}

func (x *leaseIndex) close() error { return x.db.Close() }

// put records the leases of a share.
func (x *leaseIndex) put(si wire.StorageIndex, shnum uint16, mutable bool, leases []container.Lease) error {
	var exp sql.NullInt64
	if e, ok := container.LatestExpiration(leases); ok {
		exp = sql.NullInt64{Int64: int64(e), Valid: true}
	}
	_, err := x.db.Exec(`INSERT INTO shares (si, shnum, mutable, expires) VALUES (?, ?, ?, ?)
		ON CONFLICT (si, shnum) DO UPDATE SET mutable = excluded.mutable, expires = excluded.expires`,
		si[:], int64(shnum), mutable, exp)
	return err
}

func (x *leaseIndex) remove(si wire.StorageIndex, shnum uint16) error {
	_, err := x.db.Exec(`DELETE FROM shares WHERE si = ? AND shnum = ?`, si[:], int64(shnum))
	return err
}

// due returns up to limit entries whose latest expiration is before
// threshold, in (expires, si, shnum) order, strictly after the cursor (if
// any), restricted to the selected share kinds.
func (x *leaseIndex) due(ctx context.Context, threshold int64, immutable, mutable bool, after *indexEntry, limit int) ([]indexEntry, error) {
	cExp, cSI, cSh := int64(-1<<62), []byte{}, int64(-1)
	if after != nil {
		cExp, cSI, cSh = after.Expires, after.SI[:], int64(after.Shnum)
	}
	rows, err := x.db.QueryContext(ctx, `SELECT si, shnum, mutable, expires FROM shares
		WHERE expires IS NOT NULL AND expires < ?
		  AND (expires, si, shnum) > (?, ?, ?)
		  AND ((mutable = 0 AND ?) OR (mutable = 1 AND ?))
		ORDER BY expires, si, shnum LIMIT ?`,
		threshold, cExp, cSI, cSh, immutable, mutable, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []indexEntry
	for rows.Next() {
		var e indexEntry
		var si []byte
		var sh int64
		if err := rows.Scan(&si, &sh, &e.Mutable, &e.Expires); err != nil {
			return nil, err
		}
		if len(si) != wire.StorageIndexLen || sh < 0 || sh > wire.MaxShareNumber {
			continue
		}
		copy(e.SI[:], si)
		e.Shnum = uint16(sh)
		out = append(out, e)
	}
	return out, rows.Err()
}

const metaComplete = "complete"

func (x *leaseIndex) isComplete() (bool, error) {
	var v string
	err := x.db.QueryRow(`SELECT value FROM meta WHERE key = ?`, metaComplete).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return v == "1", err
}

func (x *leaseIndex) setComplete(done bool) error {
	v := "0"
	if done {
		v = "1"
	}
	_, err := x.db.Exec(`INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, metaComplete, v)
	return err
}

func (x *leaseIndex) count() (int, error) {
	var n int
	err := x.db.QueryRow(`SELECT count(*) FROM shares`).Scan(&n)
	return n, err
}
