package files

import (
	"context"
	"database/sql"
	"time"

	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/shared/chk"
)

// Upload is one of a user's uploads through the node's helper.
type Upload struct {
	StorageIndex string
	Size         int64
	Created      time.Time
	// Set once the helper placed the file.
	VerifyCap string
	UEB       []byte
}

// Finished reports whether the upload is on the grid.
func (u *Upload) Finished() bool { return u.VerifyCap != "" }

// BeginUpload registers the user's upload of size bytes under si before
// anything is sent to the helper, counting its size towards the user's
// quota from now on: a begin over the quota is refused before any byte is
// stored. Beginning an upload the user already has (a resume) is fine if
// the size agrees; one of another user is refused. created reports whether
// the row is new (the caller removes it with DropUpload if the helper then
// refuses the upload).
func (s *Store) BeginUpload(ctx context.Context, uid int64, si wire.StorageIndex, size int64) (created bool, err error) {
	if size <= chk.LiteralThreshold {
		return false, invalid("size", "A file of at most %d bytes is not uploaded: its content goes in its version's metadata.", chk.LiteralThreshold)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var owner, have int64
		err := tx.QueryRowContext(ctx, `SELECT owner, size FROM uploads WHERE storage_index = ?`, si.String()).Scan(&owner, &have)
		switch {
		case err == nil && owner != uid:
			return ErrUploadTaken
		case err == nil && have != size:
			return invalid("size", "An upload with this storage index and another size (%d bytes) is in progress.", have)
		case err == nil:
			return nil
		case err != sql.ErrNoRows:
			return err
		}
		if err := s.checkQuota(ctx, tx, uid, size, size); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO uploads(storage_index, owner, size, created_at) VALUES(?, ?, ?, ?)`,
			si.String(), uid, size, s.nowMS())
		created = err == nil
		return err
	})
	return created, err
}

// GetUpload returns one of the user's uploads, or ErrNoUpload (also for
// another user's).
func (s *Store) GetUpload(ctx context.Context, uid int64, si wire.StorageIndex) (*Upload, error) {
	u := &Upload{StorageIndex: si.String()}
	var vc sql.NullString
	var created int64
	err := s.DB.QueryRowContext(ctx, `SELECT size, created_at, verify_cap, ueb FROM uploads WHERE storage_index = ? AND owner = ?`,
		si.String(), uid).Scan(&u.Size, &created, &vc, &u.UEB)
	if err == sql.ErrNoRows {
		return nil, ErrNoUpload
	}
	if err != nil {
		return nil, err
	}
	u.Created, u.VerifyCap = fromMS(created), vc.String
	return u, nil
}

// FinishUpload records the placed result of the user's upload: from now on
// a version can be made of it.
func (s *Store) FinishUpload(ctx context.Context, uid int64, si wire.StorageIndex, verifyCap string, ueb []byte) error {
	res, err := s.DB.ExecContext(ctx, `UPDATE uploads SET verify_cap = ?, ueb = ?, finished_at = ? WHERE storage_index = ? AND owner = ?`,
		verifyCap, ueb, s.nowMS(), si.String(), uid)
	if err != nil {
		return err
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return ErrNoUpload
	}
	return nil
}

// DropUpload forgets the user's upload (abandoned, or refused by the
// helper), which frees its room in the quota.
func (s *Store) DropUpload(ctx context.Context, uid int64, si wire.StorageIndex) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM uploads WHERE storage_index = ? AND owner = ?`, si.String(), uid)
	return err
}

// PurgeUploads forgets uploads nobody will finish or use: unfinished ones
// the helper no longer has (it deletes sessions left idle; alive says
// whether it still holds one), and finished ones not made into a version
// within keepFinished. It returns how many it forgot.
func (s *Store) PurgeUploads(ctx context.Context, alive func(si wire.StorageIndex) bool, keepFinished time.Duration) (int, error) {
	cutoff := s.now().Add(-keepFinished).UnixMilli()
	// A row a moment old may not have reached the helper yet.
	young := s.now().Add(-time.Hour).UnixMilli()
	rows, err := s.DB.QueryContext(ctx, `SELECT storage_index, verify_cap IS NOT NULL, COALESCE(finished_at, 0) FROM uploads
		WHERE verify_cap IS NOT NULL OR created_at < ?`, young)
	if err != nil {
		return 0, err
	}
	var gone []string
	for rows.Next() {
		var si string
		var finished bool
		var at int64
		if err := rows.Scan(&si, &finished, &at); err != nil {
			rows.Close()
			return 0, err
		}
		if finished {
			if at < cutoff {
				gone = append(gone, si)
			}
			continue
		}
		if w, err := wire.ParseStorageIndex(si); err != nil || alive == nil || !alive(w) {
			gone = append(gone, si)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, si := range gone {
		if _, err := s.DB.ExecContext(ctx, `DELETE FROM uploads WHERE storage_index = ?`, si); err != nil {
			return 0, err
		}
	}
	return len(gone), nil
}
