package files

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/units"
)

// File drops. Anyone with a drop link uploads files into its folder,
// encrypted in their browser to the owner's public key, without seeing the
// folder. An upload through a drop belongs to the link's owner (it counts
// in their quota from its first request) and is reserved to that link.
// Every limit (expiry, per-file size, number of files, total size, the
// owner's quota) is checked when an upload begins, before any row is made
// or any byte stored. A finished upload becomes a dropped file; the
// owner's client adopts it into the folder (addVersion with FromDrop).

// MaxDropBox bounds a dropped file's sealed box (its key sealed to the
// owner's public key).
const MaxDropBox = 256

// ErrDropNotFound: no such dropped file of this user.
var ErrDropNotFound = errors.New("No such dropped file (it was adopted or discarded already).")

// DropLimitError refuses an upload over a drop's limits; Code is
// api.CodeFileTooLarge or api.CodeDropFull.
type DropLimitError struct {
	Code    string
	Message string
}

func (e *DropLimitError) Error() string { return e.Message }

// DropQuotaError refuses an upload the owner's quota has no room for. It
// tells the uploader no more than that.
type DropQuotaError struct{ Need int64 }

func (e *DropQuotaError) Error() string {
	return fmt.Sprintf("The owner of this upload folder has no room left for this file (%s). Tell them, or send a smaller file.", units.Bytes(e.Need))
}

// dropUsage is what link id has received over its life (the files
// completed, adopted or discarded since or not) and its uploads in
// progress.
func dropUsage(ctx context.Context, q querier, id string) (api.DropUsage, error) {
	var u api.DropUsage
	err := q.QueryRowContext(ctx, `SELECT l.received_files + COUNT(u.size), l.received_bytes + COALESCE(SUM(u.size), 0)
		FROM links l LEFT JOIN uploads u ON u.link = l.id WHERE l.id = ? GROUP BY l.id`, id).Scan(&u.Files, &u.Bytes)
	if err == sql.ErrNoRows {
		return api.DropUsage{}, nil
	}
	return u, err
}

// dropLink is tokenLink for the drop routes.
func (s *Store) dropLink(ctx context.Context, q querier, id, token string) (*link, error) {
	l, _, err := s.tokenLink(ctx, q, id, token)
	if err != nil {
		return nil, err
	}
	if l.Kind != api.LinkDrop {
		return nil, ErrLinkKind
	}
	return l, nil
}

// checkRoom refuses adding a file of size bytes to drop l (one file more).
func checkRoom(ctx context.Context, q querier, l *link, size int64) error {
	d := l.Drop
	if d.MaxFile > 0 && size > d.MaxFile {
		return &DropLimitError{api.CodeFileTooLarge, fmt.Sprintf("This file is too large for this upload folder: it takes %s, and each file may take at most %s.",
			units.Bytes(size), units.Bytes(d.MaxFile))}
	}
	u, err := dropUsage(ctx, q, l.ID)
	if err != nil {
		return err
	}
	if d.MaxFiles > 0 && u.Files+1 > d.MaxFiles {
		return &DropLimitError{api.CodeDropFull, fmt.Sprintf("This upload folder is full: it takes at most %d files.", d.MaxFiles)}
	}
	if d.MaxTotal > 0 && u.Bytes+size > d.MaxTotal {
		return &DropLimitError{api.CodeDropFull, fmt.Sprintf("This upload folder has no room for this file: it takes %s, and %s of its %s are left.",
			units.Bytes(size), units.Bytes(max(d.MaxTotal-u.Bytes, 0)), units.Bytes(d.MaxTotal))}
	}
	return nil
}

// BeginDropUpload registers an upload of size bytes under si through drop
// link id, for the link's owner, once every limit allows it; it returns
// the owner (whose helper session it is). Beginning an upload of this link
// again (a resume) is fine if the size agrees. created reports whether the
// row is new (the caller removes it with DropUpload if the helper refuses).
func (s *Store) BeginDropUpload(ctx context.Context, id, token string, si wire.StorageIndex, size int64) (owner int64, created bool, err error) {
	if size <= chk.LiteralThreshold {
		return 0, false, invalid("size", "A file of at most %d bytes is not uploaded: its content goes in its version's metadata.", chk.LiteralThreshold)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		l, err := s.dropLink(ctx, tx, id, token)
		if err != nil {
			return err
		}
		owner = l.owner
		var have int64
		var upLink sql.NullString
		err = tx.QueryRowContext(ctx, `SELECT size, link FROM uploads WHERE storage_index = ?`, si.String()).Scan(&have, &upLink)
		switch {
		case err == nil && upLink.String != id:
			return ErrUploadTaken
		case err == nil && have != size:
			return invalid("size", "An upload with this storage index and another size (%d bytes) is in progress.", have)
		case err == nil:
			return nil
		case err != sql.ErrNoRows:
			return err
		}
		if err := checkRoom(ctx, tx, l, size); err != nil {
			return err
		}
		if err := s.checkQuota(ctx, tx, l.owner, size, size); err != nil {
			var qe *QuotaError
			if errors.As(err, &qe) {
				return &DropQuotaError{Need: size}
			}
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO uploads(storage_index, owner, size, created_at, link) VALUES(?, ?, ?, ?, ?)`,
			si.String(), l.owner, size, s.nowMS(), id)
		created = err == nil
		return err
	})
	return owner, created, err
}

// GetDropUpload returns an upload of drop link id for a holder of token,
// with its owner; an upload of anyone else is ErrNoUpload.
func (s *Store) GetDropUpload(ctx context.Context, id, token string, si wire.StorageIndex) (int64, *Upload, error) {
	l, err := s.dropLink(ctx, s.DB, id, token)
	if err != nil {
		return 0, nil, err
	}
	u := &Upload{StorageIndex: si.String()}
	var vc sql.NullString
	var created int64
	err = s.DB.QueryRowContext(ctx, `SELECT size, created_at, verify_cap, ueb FROM uploads WHERE storage_index = ? AND owner = ? AND link = ?`,
		si.String(), l.owner, id).Scan(&u.Size, &created, &vc, &u.UEB)
	if err == sql.ErrNoRows {
		return 0, nil, ErrNoUpload
	}
	if err != nil {
		return 0, nil, err
	}
	u.Created, u.VerifyCap = fromMS(created), vc.String
	return l.owner, u, nil
}

// AddDropFile turns a finished upload of drop link id (or, for a literal
// file, nothing) into a dropped file waiting for the owner.
func (s *Store) AddDropFile(ctx context.Context, id, token string, req api.DropFileRequest) error {
	if err := checkID("id", req.ID); err != nil {
		return err
	}
	if err := checkBlob("box", req.Box, 1, MaxDropBox); err != nil {
		return err
	}
	if err := checkBlob("meta", req.Meta, 1, MaxMeta); err != nil {
		return err
	}
	v := req.Version
	if err := checkID("version.id", v.ID); err != nil {
		return err
	}
	if err := checkBlob("version.meta", v.Meta, 1, MaxMeta); err != nil {
		return err
	}
	if v.CopyOf != "" || v.FromDrop != "" {
		return invalid("version", "A dropped file's content is an upload through this link (storage_index), or literal.")
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		l, err := s.dropLink(ctx, tx, id, token)
		if err != nil {
			return err
		}
		var one int
		switch err := tx.QueryRowContext(ctx, `SELECT 1 FROM drop_files WHERE id = ? OR version_id = ?`, req.ID, v.ID).Scan(&one); {
		case err == nil:
			return ErrIDTaken
		case err != sql.ErrNoRows:
			return err
		}
		var verifyCap, si string
		var size int64
		if v.StorageIndex != "" {
			var vc sql.NullString
			err := tx.QueryRowContext(ctx, `SELECT size, verify_cap FROM uploads WHERE storage_index = ? AND link = ?`, v.StorageIndex, id).Scan(&size, &vc)
			if err == sql.ErrNoRows || err == nil && !vc.Valid {
				return ErrUploadNotFound
			}
			if err != nil {
				return err
			}
			verifyCap, si = vc.String, v.StorageIndex
			if _, err := tx.ExecContext(ctx, `DELETE FROM uploads WHERE storage_index = ?`, si); err != nil {
				return err
			}
		} else if err := checkRoom(ctx, tx, l, 0); err != nil {
			// A literal file takes no room, but it is one file more.
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO drop_files(id, link, owner, folder, box, meta, version_id, version_meta,
				verify_cap, storage_index, size, created_at)
			VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			req.ID, id, l.owner, l.Target, req.Box, req.Meta, v.ID, v.Meta, verifyCap, si, size, s.nowMS())
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE links SET received_files = received_files + 1, received_bytes = received_bytes + ? WHERE id = ?`, size, id)
		return err
	})
}

// DropFiles lists the files dropped into one of the user's folders and
// not yet adopted, oldest first.
func (s *Store) DropFiles(ctx context.Context, uid int64, folder string) ([]api.DropFile, error) {
	n, err := s.load(ctx, s.DB, uid, folder)
	if err != nil {
		return nil, err
	}
	if !n.isFolder() {
		return nil, invalid("folder", "Files are dropped into folders: this is a file.")
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT id, link, folder, box, meta, version_id, version_meta, verify_cap, size, created_at
		FROM drop_files WHERE owner = ? AND folder = ? ORDER BY created_at, id LIMIT ?`, uid, folder, MaxChildren)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []api.DropFile{}
	for rows.Next() {
		var d api.DropFile
		var created int64
		if err := rows.Scan(&d.ID, &d.Link, &d.Folder, &d.Box, &d.Meta, &d.Version.ID, &d.Version.Meta, &d.Version.VerifyCap,
			&d.Version.Size, &created); err != nil {
			return nil, err
		}
		d.Created, d.Version.Created = fromMS(created), fromMS(created)
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteDropFile discards a file dropped to the user (its room in the
// quota is freed).
func (s *Store) DeleteDropFile(ctx context.Context, uid int64, id string) error {
	res, err := s.DB.ExecContext(ctx, `DELETE FROM drop_files WHERE id = ? AND owner = ?`, id, uid)
	if err != nil {
		return err
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return ErrDropNotFound
	}
	return nil
}

// adoptDrop takes dropped file id of user uid for a new version: it
// returns the content and removes the dropped file (in tx, with the
// version's creation).
func adoptDrop(ctx context.Context, tx *sql.Tx, uid int64, id string) (verifyCap, si string, size int64, err error) {
	err = tx.QueryRowContext(ctx, `SELECT verify_cap, storage_index, size FROM drop_files WHERE id = ? AND owner = ?`, id, uid).
		Scan(&verifyCap, &si, &size)
	if err == sql.ErrNoRows {
		return "", "", 0, ErrDropNotFound
	}
	if err != nil {
		return "", "", 0, err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM drop_files WHERE id = ?`, id)
	return verifyCap, si, size, err
}
