package files

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/communitycube/cube/shared/api"
)

// The trash. Putting a node in the trash sets trashed_at on it and in_trash
// on its whole subtree; the node keeps its parent, so it can go back. An
// item put in the trash while its folder was live stays a separate trash
// item (a "trashed root") when the folder follows it there: restoring the
// folder leaves it in the trash, and deleting the folder for good leaves it
// too, with no parent (it then needs a new folder to be restored to).

// subtree is the recursive selection of a node and everything below it,
// not descending into separate trash items (nodes with trashed_at set other
// than the start).
const subtree = `WITH RECURSIVE sub(id) AS (
		SELECT ?
		UNION ALL
		SELECT n.id FROM nodes n JOIN sub ON n.parent = sub.id WHERE n.trashed_at IS NULL
	) `

// TrashNode puts a node, and with it its subtree, in the trash.
func (s *Store) TrashNode(ctx context.Context, uid int64, id string, base int64) (api.Node, error) {
	var out api.Node
	err := s.tx(ctx, func(tx *sql.Tx) error {
		n, g, err := s.accessWrite(ctx, tx, uid, id)
		if err != nil {
			return err
		}
		if !g.owner && id == g.top {
			return ownerOnly("Only the owner can put the item they shared with you in the trash; you can trash what is inside it.")
		}
		if n.Version != base {
			return stale(n.Node)
		}
		if n.inTrash {
			return ErrInTrash
		}
		if root, err := rootFolder(ctx, tx, n.owner); err != nil {
			return err
		} else if root == id {
			return invalid("id", "The root folder cannot be put in the trash.")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE nodes SET trashed_at = ?, version = version + 1 WHERE id = ?`, s.nowMS(), id); err != nil {
			return err
		}
		// Everything below, including separate trash items (already in_trash).
		if _, err := tx.ExecContext(ctx, `WITH RECURSIVE sub(id) AS (
				SELECT ? UNION ALL SELECT n.id FROM nodes n JOIN sub ON n.parent = sub.id
			) UPDATE nodes SET in_trash = 1 WHERE id IN (SELECT id FROM sub)`, id); err != nil {
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

// Trash lists the user's trashed roots, most recently trashed first.
func (s *Store) Trash(ctx context.Context, uid int64) ([]api.Node, error) {
	return s.list(ctx, s.DB, `WHERE n.owner = ? AND n.trashed_at IS NOT NULL ORDER BY n.trashed_at DESC, n.id LIMIT ?`, uid, 10*MaxChildren)
}

// trashedRoot loads a node the user put in the trash.
func (s *Store) trashedRoot(ctx context.Context, q querier, uid int64, id string) (*node, error) {
	n, err := s.load(ctx, q, uid, id)
	if err != nil {
		return nil, err
	}
	if n.Trashed == nil {
		msg := "This item is not in the trash."
		if n.inTrash {
			msg = "This item is in the trash only through the folder it is in: restore or delete that folder."
		}
		return nil, &ConflictError{Node: n.Node, Message: msg}
	}
	return n, nil
}

// RestoreTrash brings a trashed root back: into its old folder if that is
// live and the name is free there, else into req.Parent with the name,
// metadata and wrapped key re-made for it. Neither possible: ErrNameTaken
// (the name is taken) or a *ConflictError (no folder to go to).
func (s *Store) RestoreTrash(ctx context.Context, uid int64, id string, req api.RestoreRequest) (api.Node, error) {
	if req.Parent != "" {
		if err := checkID("parent", req.Parent); err != nil {
			return api.Node{}, err
		}
		if err := checkNodeBlobs(req.NameHMAC, req.Meta, req.WrappedKey, nil, nil, false); err != nil {
			return api.Node{}, err
		}
	}
	var out api.Node
	err := s.tx(ctx, func(tx *sql.Tx) error {
		n, err := s.trashedRoot(ctx, tx, uid, id)
		if err != nil {
			return err
		}
		oldTaken := false
		if n.Parent != "" {
			p, err := s.load(ctx, tx, uid, n.Parent)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if err == nil && !p.inTrash {
				taken, err := nameTaken(ctx, tx, p.ID, n.NameHMAC, id)
				if err != nil {
					return err
				}
				if !taken {
					return s.restore(ctx, tx, uid, n, nil, &out)
				}
				oldTaken = true
			}
		}
		if req.Parent == "" {
			if oldTaken {
				return ErrNameTaken
			}
			return &ConflictError{Node: n.Node, Message: "The folder this item was in is gone or in the trash: choose a folder to restore it to."}
		}
		p, _, err := s.folderFor(ctx, tx, uid, req.Parent)
		if err != nil {
			return err
		}
		if p.owner != n.owner {
			return errCrossOwner
		}
		if p.ID != n.Parent && needsRewrap(n, false) && len(req.WrappedKey) == 0 {
			return invalid("wrapped_key", "Restoring a folder into another folder needs its key re-wrapped under that folder's key.")
		}
		if taken, err := nameTaken(ctx, tx, p.ID, req.NameHMAC, id); err != nil {
			return err
		} else if taken {
			return ErrNameTaken
		}
		return s.restore(ctx, tx, uid, n, &req, &out)
	})
	return out, err
}

func (s *Store) restore(ctx context.Context, tx *sql.Tx, uid int64, n *node, to *api.RestoreRequest, out *api.Node) error {
	if to != nil {
		wrapped := n.WrappedKey
		if len(to.WrappedKey) > 0 {
			wrapped = to.WrappedKey
		}
		if _, err := tx.ExecContext(ctx, `UPDATE nodes SET parent = ?, name_hmac = ?, meta = ?, wrapped_key = ?, modified_at = ? WHERE id = ?`,
			to.Parent, to.NameHMAC, to.Meta, nullBytes(wrapped), s.nowMS(), n.ID); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE nodes SET trashed_at = NULL, version = version + 1 WHERE id = ?`, n.ID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, subtree+`UPDATE nodes SET in_trash = 0 WHERE id IN (SELECT id FROM sub)`, n.ID); err != nil {
		return err
	}
	fresh, err := s.load(ctx, tx, uid, n.ID)
	if err == nil {
		*out = fresh.Node
	}
	return err
}

// DeleteForever deletes a trashed root and its subtree, with every
// version, for good (separate trash items inside it stay in the trash).
func (s *Store) DeleteForever(ctx context.Context, uid int64, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.trashedRoot(ctx, tx, uid, id); err != nil {
			return err
		}
		return deleteSubtree(ctx, tx, id)
	})
}

func deleteSubtree(ctx context.Context, tx *sql.Tx, id string) error {
	// Versions go with their nodes (ON DELETE CASCADE); separate trash
	// items below lose their parent (ON DELETE SET NULL).
	_, err := tx.ExecContext(ctx, subtree+`DELETE FROM nodes WHERE id IN (SELECT id FROM sub)`, id)
	return err
}

// EmptyTrash deletes everything in the user's trash for good.
func (s *Store) EmptyTrash(ctx context.Context, uid int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM nodes WHERE owner = ? AND in_trash = 1`, uid)
		return err
	})
}

// AutoEmptyTrash deletes for good what each user put in the trash longer
// ago than their trash_days setting (default DefaultTrashDays; 0 keeps the
// trash until emptied). It returns how many trashed roots it deleted.
func (s *Store) AutoEmptyTrash(ctx context.Context) (int, error) {
	now := s.nowMS()
	rows, err := s.DB.QueryContext(ctx, `SELECT n.id FROM nodes n LEFT JOIN file_settings f ON f.user_id = n.owner
		WHERE n.trashed_at IS NOT NULL AND COALESCE(f.trash_days, ?) > 0
			AND n.trashed_at < ? - COALESCE(f.trash_days, ?) * ?`,
		DefaultTrashDays, now, DefaultTrashDays, int64(24*time.Hour/time.Millisecond))
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM nodes WHERE id = ? AND trashed_at IS NOT NULL`, id).Scan(&one); err != nil {
				return err
			}
			return deleteSubtree(ctx, tx, id)
		})
		switch {
		case err == nil:
			n++
		case errors.Is(err, sql.ErrNoRows):
		default:
			return n, err
		}
	}
	return n, nil
}
