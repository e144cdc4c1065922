package files

import (
	"context"
	"database/sql"
	"errors"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
)

// addVersion stores body as the new current version of the file nodeID.
// The content is a finished upload of the user (consumed: its size was
// counted since it began), a copy of one of the user's versions (counted
// now, so it must fit the quota), or literal (in the sealed meta). Without
// keepHistory the file's other versions are deleted. copyFrom, if set,
// restricts CopyOf to the versions of that node (restoring).
//
// uid owns the file; actor makes the version (a recipient of a read-write
// share, or uid): an upload is the actor's, and its size moves from the
// actor's usage to the owner's, so it must then fit the owner's quota.
func (s *Store) addVersion(ctx context.Context, tx *sql.Tx, uid, actor int64, nodeID string, body api.NewVersionBody, keepHistory bool, copyFrom *string) error {
	if err := checkID("version.id", body.ID); err != nil {
		return err
	}
	if err := checkBlob("version.meta", body.Meta, 1, MaxMeta); err != nil {
		return err
	}
	if body.StorageIndex != "" && body.CopyOf != "" || body.FromDrop != "" && (body.StorageIndex != "" || body.CopyOf != "") {
		return invalid("version.copy_of", "A version's content is an upload (storage_index), a copy (copy_of) or a dropped file (from_drop): one of them.")
	}
	if taken, err := idTaken(ctx, tx, body.ID); err != nil {
		return err
	} else if taken {
		return ErrIDTaken
	}
	var (
		verifyCap, si string
		size          int64
		counted       bool // already part of the usage (an upload)
	)
	switch {
	case body.StorageIndex != "":
		var vc sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT size, verify_cap FROM uploads WHERE storage_index = ? AND owner = ?`, body.StorageIndex, actor).Scan(&size, &vc)
		if err == sql.ErrNoRows || err == nil && !vc.Valid {
			return ErrUploadNotFound
		}
		if err != nil {
			return err
		}
		verifyCap, si, counted = vc.String, body.StorageIndex, actor == uid
		if _, err := tx.ExecContext(ctx, `DELETE FROM uploads WHERE storage_index = ?`, si); err != nil {
			return err
		}
	case body.FromDrop != "":
		// A file dropped to the actor, counted in their usage since its
		// upload began (drops.go).
		var err error
		if verifyCap, si, size, err = adoptDrop(ctx, tx, actor, body.FromDrop); err != nil {
			return err
		}
		counted = actor == uid
	case body.CopyOf != "":
		q := `SELECT size, verify_cap, storage_index FROM file_versions WHERE id = ? AND owner = ?`
		args := []any{body.CopyOf, uid}
		if copyFrom != nil {
			q += ` AND node = ?`
			args = append(args, *copyFrom)
		}
		err := tx.QueryRowContext(ctx, q, args...).Scan(&size, &verifyCap, &si)
		if err == sql.ErrNoRows {
			return ErrVersionNotFound
		}
		if err != nil {
			return err
		}
	}
	var freed int64
	if !keepHistory {
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(size), 0) FROM file_versions WHERE node = ?`, nodeID).Scan(&freed); err != nil {
			return err
		}
	}
	if !counted {
		if err := s.checkQuota(ctx, tx, uid, size-freed, size); err != nil {
			return err
		}
	}
	now := s.nowMS()
	if _, err := tx.ExecContext(ctx, `INSERT INTO file_versions(id, node, owner, verify_cap, storage_index, size, meta, created_at, seq)
		VALUES(?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM file_versions WHERE node = ?))`,
		body.ID, nodeID, uid, verifyCap, si, size, body.Meta, now, nodeID); err != nil {
		return err
	}
	if !keepHistory {
		if _, err := tx.ExecContext(ctx, `DELETE FROM file_versions WHERE node = ? AND id != ?`, nodeID, body.ID); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `UPDATE nodes SET current_version = ? WHERE id = ?`, body.ID, nodeID)
	return err
}

// checkQuota refuses a change that adds delta bytes to the user's usage
// and would take it over their quota; need is what the message names.
func (s *Store) checkQuota(ctx context.Context, q querier, uid int64, delta, need int64) error {
	if delta <= 0 {
		return nil
	}
	var quota int64
	if err := q.QueryRowContext(ctx, `SELECT quota_bytes FROM users WHERE id = ?`, uid).Scan(&quota); err != nil {
		return err
	}
	if quota <= 0 {
		return nil
	}
	used, err := usedBytes(ctx, q, uid)
	if err != nil {
		return err
	}
	if used+delta > quota {
		return &QuotaError{Used: used, Quota: quota, Need: need}
	}
	return nil
}

// usedBytes is the user's usage: every version they keep (trash included),
// the uploads they began (drop uploads to them included) and have not made
// into versions yet, and the files dropped to them not yet adopted.
func usedBytes(ctx context.Context, q querier, uid int64) (int64, error) {
	var v, u, d int64
	err := q.QueryRowContext(ctx, `SELECT
		(SELECT COALESCE(SUM(size), 0) FROM file_versions WHERE owner = ?),
		(SELECT COALESCE(SUM(size), 0) FROM uploads WHERE owner = ?),
		(SELECT COALESCE(SUM(size), 0) FROM drop_files WHERE owner = ?)`, uid, uid, uid).Scan(&v, &u, &d)
	return v + u + d, err
}

// fileFor loads a file the user may change (theirs, or shared with them
// read-write: see access), current at base, not in the trash.
func (s *Store) fileFor(ctx context.Context, q querier, uid int64, id string, base int64) (*node, error) {
	n, _, err := s.accessWrite(ctx, q, uid, id)
	if err != nil {
		return nil, err
	}
	if n.Version != base {
		return nil, stale(n.Node)
	}
	if n.inTrash {
		return nil, ErrInTrash
	}
	if n.isFolder() {
		return nil, invalid("id", "A folder has no versions.")
	}
	return n, nil
}

// keepsHistory reports whether the folder holding a file keeps old versions.
func keepsHistory(ctx context.Context, q querier, parent string) (bool, error) {
	if parent == "" {
		return false, nil
	}
	var keep bool
	err := q.QueryRowContext(ctx, `SELECT keep_history FROM nodes WHERE id = ?`, parent).Scan(&keep)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return keep, err
}

// bump records a change of the node's content: a new version counter and
// modification time, and optionally new sealed metadata.
func (s *Store) bump(ctx context.Context, tx *sql.Tx, id string, meta []byte) error {
	q := `UPDATE nodes SET version = version + 1, modified_at = ? WHERE id = ?`
	args := []any{s.nowMS(), id}
	if len(meta) > 0 {
		q = `UPDATE nodes SET version = version + 1, modified_at = ?, meta = ? WHERE id = ?`
		args = []any{s.nowMS(), meta, id}
	}
	_, err := tx.ExecContext(ctx, q, args...)
	return err
}

// NewVersion makes new content the current version of a file.
func (s *Store) NewVersion(ctx context.Context, uid int64, id string, req api.NewVersionRequest) (api.Node, error) {
	if err := checkBlob("meta", req.Meta, 0, MaxMeta); err != nil {
		return api.Node{}, err
	}
	return s.makeCurrent(ctx, uid, id, req.BaseVersion, req.Version, nil, req.Meta)
}

// RestoreVersion makes an old version's content current again, as a new
// version (so the history is kept, where the folder keeps it).
func (s *Store) RestoreVersion(ctx context.Context, uid int64, id, vid string, req api.RestoreVersionRequest) (api.Node, error) {
	if err := checkBlob("node_meta", req.NodeMeta, 0, MaxMeta); err != nil {
		return api.Node{}, err
	}
	body := api.NewVersionBody{ID: req.NewID, CopyOf: vid, Meta: req.Meta}
	return s.makeCurrent(ctx, uid, id, req.BaseVersion, body, &id, req.NodeMeta)
}

// makeCurrent adds version body to file id (based on its version counter
// base; copyFrom as for addVersion) and makes it current, with the file's
// re-sealed metadata nodeMeta if given.
func (s *Store) makeCurrent(ctx context.Context, uid int64, id string, base int64, body api.NewVersionBody, copyFrom *string, nodeMeta []byte) (api.Node, error) {
	var out api.Node
	err := s.tx(ctx, func(tx *sql.Tx) error {
		n, err := s.fileFor(ctx, tx, uid, id, base)
		if err != nil {
			return err
		}
		keep, err := keepsHistory(ctx, tx, n.Parent)
		if err != nil {
			return err
		}
		if err := s.addVersion(ctx, tx, n.owner, uid, id, body, keep, copyFrom); err != nil {
			return err
		}
		if err := s.bump(ctx, tx, id, nodeMeta); err != nil {
			return err
		}
		fresh, err := s.load(ctx, tx, n.owner, id)
		if err == nil {
			out = fresh.Node
		}
		return err
	})
	return out, err
}

// DeleteVersion deletes an old version of a file (not the current one).
func (s *Store) DeleteVersion(ctx context.Context, uid int64, id, vid string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		n, _, err := s.accessWrite(ctx, tx, uid, id)
		if err != nil {
			return err
		}
		if n.current == vid {
			return &ConflictError{Node: n.Node, Message: "This is the file's current version: make another one current first."}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM file_versions WHERE id = ? AND node = ? AND owner = ?`, vid, id, n.owner)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return ErrVersionNotFound
		}
		return nil
	})
}

// Versions lists a file's versions, newest first.
func (s *Store) Versions(ctx context.Context, uid int64, id string) ([]api.Version, error) {
	n, _, err := s.access(ctx, s.DB, uid, id)
	if err != nil {
		return nil, err
	}
	if n.isFolder() {
		return nil, invalid("id", "A folder has no versions.")
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT id, size, created_at, meta, verify_cap FROM file_versions WHERE node = ? ORDER BY seq DESC`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []api.Version{}
	for rows.Next() {
		var v api.Version
		var created int64
		if err := rows.Scan(&v.ID, &v.Size, &created, &v.Meta, &v.VerifyCap); err != nil {
			return nil, err
		}
		v.Created = fromMS(created)
		out = append(out, v)
	}
	return out, rows.Err()
}

// VersionCap returns the verify cap of a version of a file the user may
// read (see access), for its content and proof. A literal version has
// none: ok is false.
func (s *Store) VersionCap(ctx context.Context, uid int64, vid string) (v cap.Verifier, ok bool, err error) {
	if !ValidID(vid) {
		return v, false, ErrVersionNotFound
	}
	var vc, nodeID string
	err = s.DB.QueryRowContext(ctx, `SELECT verify_cap, node FROM file_versions WHERE id = ?`, vid).Scan(&vc, &nodeID)
	if err == sql.ErrNoRows {
		return v, false, ErrVersionNotFound
	}
	if err != nil {
		return v, false, err
	}
	if _, _, err := s.access(ctx, s.DB, uid, nodeID); err != nil {
		if errors.Is(err, ErrNotFound) {
			err = ErrVersionNotFound
		}
		return v, false, err
	}
	if vc == "" {
		return v, false, nil
	}
	v, err = cap.ParseVerifier(vc)
	return v, err == nil, err
}
