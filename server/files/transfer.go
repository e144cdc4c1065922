package files

import (
	"context"
	"database/sql"
	"errors"

	"github.com/communitycube/cube/shared/api"
)

// Transferring a folder to another user: the sender offers it (the
// folder's key sealed to the recipient), the recipient accepts it into a
// folder of theirs (their client wraps the key there), and the node moves
// the whole subtree, versions and quota included, to the recipient in one
// transaction. The sender may cancel, the recipient decline, until then.

// Errors of transfers. Their text is shown to the user.
var (
	ErrTransferNotFound = errors.New("No such transfer (it may have been cancelled, declined or accepted meanwhile).")
	ErrTransferPending  = errors.New("This folder is already offered to someone: cancel that offer first.")
)

// subtreeAll selects a node and everything below it, trash included.
const subtreeAll = `WITH RECURSIVE sub(id) AS (
		SELECT ? UNION ALL SELECT n.id FROM nodes n JOIN sub ON n.parent = sub.id
	) `

// CreateTransfer offers one of uid's folders to another user.
func (s *Store) CreateTransfer(ctx context.Context, uid int64, req api.CreateTransferRequest) (api.Transfer, error) {
	if err := checkID("id", req.ID); err != nil {
		return api.Transfer{}, err
	}
	if err := checkBlob("box", req.Box, 49, api.MaxBox); err != nil {
		return api.Transfer{}, err
	}
	if err := checkBlob("meta", req.Meta, 1, api.MaxShareMeta); err != nil {
		return api.Transfer{}, err
	}
	var out api.Transfer
	err := s.tx(ctx, func(tx *sql.Tx) error {
		n, err := s.shareable(ctx, tx, uid, req.Node)
		if err != nil {
			return err
		}
		if !n.isFolder() {
			return invalid("node", "Only folders can be transferred (move the file into a folder first).")
		}
		if _, err := expectedGrantees(ctx, tx, uid, req.To, 0); err != nil {
			return err
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM shares WHERE id = ? UNION ALL SELECT 1 FROM transfers WHERE id = ?`, req.ID, req.ID).Scan(&one)
		if err == nil {
			return ErrIDTaken
		} else if !isNoRows(err) {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM transfers WHERE node = ?`, req.Node).Scan(&one); err == nil {
			return ErrTransferPending
		} else if !isNoRows(err) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO transfers(id, node, from_user, to_user, box, meta, created_at) VALUES(?, ?, ?, ?, ?, ?, ?)`,
			req.ID, req.Node, uid, req.To, req.Box, req.Meta, s.nowMS()); err != nil {
			return err
		}
		out, err = transfer(ctx, tx, uid, req.ID)
		return err
	})
	return out, err
}

// transfer loads a transfer uid sends or receives.
func transfer(ctx context.Context, q querier, uid int64, id string) (api.Transfer, error) {
	var t api.Transfer
	var created int64
	err := q.QueryRowContext(ctx, `SELECT t.id, t.node, t.from_user, f.name, t.to_user, r.name, t.box, t.meta, t.created_at
		FROM transfers t JOIN users f ON f.id = t.from_user JOIN users r ON r.id = t.to_user
		WHERE t.id = ? AND (t.from_user = ? OR t.to_user = ?)`, id, uid, uid).Scan(
		&t.ID, &t.Node, &t.FromID, &t.From, &t.ToID, &t.To, &t.Box, &t.Meta, &created)
	if isNoRows(err) {
		return t, ErrTransferNotFound
	}
	if err != nil {
		return t, err
	}
	t.Created = fromMS(created)
	t.Incoming = t.ToID == uid
	if !t.Incoming {
		t.Box = nil
	}
	err = q.QueryRowContext(ctx, subtreeAll+`SELECT COALESCE(SUM(size), 0) FROM file_versions WHERE node IN (SELECT id FROM sub)`, t.Node).Scan(&t.Size)
	return t, err
}

// Transfers lists the offers uid made and received, newest first.
func (s *Store) Transfers(ctx context.Context, uid int64) ([]api.Transfer, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id FROM transfers WHERE from_user = ? OR to_user = ? ORDER BY created_at DESC, id`, uid, uid)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := []api.Transfer{}
	for _, id := range ids {
		t, err := transfer(ctx, s.DB, uid, id)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// CancelTransfer ends an offer: its sender cancels it or its recipient
// declines it.
func (s *Store) CancelTransfer(ctx context.Context, uid int64, id string) error {
	res, err := s.DB.ExecContext(ctx, `DELETE FROM transfers WHERE id = ? AND (from_user = ? OR to_user = ?)`, id, uid, uid)
	if err != nil {
		return err
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return ErrTransferNotFound
	}
	return nil
}

// AcceptTransfer takes an offered folder into uid's folder req.Parent:
// the folder and everything below it (its trash included), with every
// version, become uid's, and count towards uid's quota. What was tied to
// the sender goes: escrow entries (under the sender's escrow key; the
// items become secure), favourite marks, the sender's shares of items in
// it, and the item's own password on the folder itself (the recipient has
// its key from the offer).
func (s *Store) AcceptTransfer(ctx context.Context, uid int64, id string, req api.AcceptTransferRequest) (api.Node, error) {
	if err := checkID("parent", req.Parent); err != nil {
		return api.Node{}, err
	}
	if err := checkNodeBlobs(req.NameHMAC, req.Meta, req.WrappedKey, nil, nil, false); err != nil {
		return api.Node{}, err
	}
	if len(req.WrappedKey) == 0 {
		return api.Node{}, invalid("wrapped_key", "The folder's key must be wrapped under your folder's key.")
	}
	var out api.Node
	err := s.tx(ctx, func(tx *sql.Tx) error {
		t, err := transfer(ctx, tx, uid, id)
		if err != nil {
			return err
		}
		if !t.Incoming {
			return ErrTransferNotFound
		}
		n, err := s.load(ctx, tx, t.FromID, t.Node)
		if err != nil {
			return err
		}
		if n.inTrash {
			return ErrInTrash
		}
		p, err := s.load(ctx, tx, uid, req.Parent)
		if err != nil {
			return err
		}
		if !p.isFolder() {
			return invalid("parent", "The parent must be a folder.")
		}
		if p.inTrash {
			return ErrInTrash
		}
		if taken, err := nameTaken(ctx, tx, p.ID, req.NameHMAC, ""); err != nil {
			return err
		} else if taken {
			return ErrNameTaken
		}
		if err := s.checkQuota(ctx, tx, uid, t.Size, t.Size); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM shares WHERE node IN (SELECT id FROM sub)`,
			`DELETE FROM transfers WHERE node IN (SELECT id FROM sub)`,
			`UPDATE file_versions SET owner = ?2 WHERE node IN (SELECT id FROM sub)`,
			`UPDATE nodes SET owner = ?2, favorite = 0, escrow = NULL, mode = 'secure' WHERE id IN (SELECT id FROM sub)`,
		} {
			if _, err := tx.ExecContext(ctx, `WITH RECURSIVE sub(id) AS (
					SELECT ?1 UNION ALL SELECT n.id FROM nodes n JOIN sub ON n.parent = sub.id
				) `+q, t.Node, uid); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE nodes SET parent = ?, name_hmac = ?, meta = ?, wrapped_key = ?, lock = NULL,
				version = version + 1, modified_at = ? WHERE id = ?`,
			p.ID, req.NameHMAC, req.Meta, req.WrappedKey, s.nowMS(), t.Node); err != nil {
			return err
		}
		fresh, err := s.load(ctx, tx, uid, t.Node)
		if err == nil {
			out = fresh.Node
		}
		return err
	})
	return out, err
}
