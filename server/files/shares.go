package files

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/vault"
)

// Sharing with users and groups of this node (docs/sharing-users.md). The
// owner's client seals the shared item's key to each recipient's public
// key (a box) and the item's name as shared (a LinkMeta) under the item's
// meta key; the node keeps them and, through access (access.go), lets the
// recipients use the Files routes inside the shared subtree. Only the
// owner creates, lists, changes and ends shares.

// Errors of sharing. Their text is shown to the user.
var (
	ErrNoRecipient    = errors.New("There is no user or group of that name on this node.")
	ErrShareSelf      = errors.New("This is your own account: you have access already.")
	ErrRecipientKeys  = errors.New("This user has not signed in to Files yet, so they have no keys to share with. Ask them to sign in once, then try again.")
	ErrShareExists    = errors.New("This item is already shared with them: change the permission in the list instead.")
	ErrShareNotFound  = errors.New("No such share (it may have been removed meanwhile).")
	ErrMembersChanged = errors.New("The people this is shared with changed meanwhile: reload and try again.")
)

func checkPermission(p string) error {
	if p != api.PermRead && p != api.PermWrite {
		return invalid("permission", "permission must be %q or %q.", api.PermRead, api.PermWrite)
	}
	return nil
}

// publicKey returns user uid's X25519 public key from their key bundle
// (in clear there), or nil if they have no keys yet.
func publicKey(ctx context.Context, q querier, uid int64) ([]byte, error) {
	var bundle []byte
	err := q.QueryRowContext(ctx, `SELECT bundle FROM user_keys WHERE user_id = ?`, uid).Scan(&bundle)
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	b, err := vault.ParseBundle(bundle)
	if err != nil {
		return nil, err
	}
	return b.PublicKey, nil
}

// member returns user uid as a Member, with their public key.
func member(ctx context.Context, q querier, uid int64) (api.Member, error) {
	m := api.Member{ID: uid}
	if err := q.QueryRowContext(ctx, `SELECT name FROM users WHERE id = ?`, uid).Scan(&m.Name); err != nil {
		return m, err
	}
	pk, err := publicKey(ctx, q, uid)
	m.PublicKey = pk
	return m, err
}

// groupMembers lists group gid's members, by name.
func groupMembers(ctx context.Context, q querier, gid int64) ([]api.Member, error) {
	rows, err := q.QueryContext(ctx, `SELECT u.id FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = ? ORDER BY u.name`, gid)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
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
	out := []api.Member{}
	for _, id := range ids {
		m, err := member(ctx, q, id)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Recipient finds whom uid may share with by name: a user (not uid), else
// a group. A group's members include those without keys (no PublicKey).
func (s *Store) Recipient(ctx context.Context, uid int64, name string) (api.Recipient, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return api.Recipient{}, invalid("name", "Type the name of a user or a group.")
	}
	var id int64
	err := s.DB.QueryRowContext(ctx, `SELECT id FROM users WHERE name = ? AND disabled = 0`, name).Scan(&id)
	if err == nil {
		if id == uid {
			return api.Recipient{}, ErrShareSelf
		}
		m, err := member(ctx, s.DB, id)
		if err != nil {
			return api.Recipient{}, err
		}
		return api.Recipient{Kind: api.RecipientUser, ID: id, Name: m.Name, Members: []api.Member{m}}, nil
	}
	if !isNoRows(err) {
		return api.Recipient{}, err
	}
	r := api.Recipient{Kind: api.RecipientGroup}
	err = s.DB.QueryRowContext(ctx, `SELECT id, name FROM groups WHERE name = ?`, name).Scan(&r.ID, &r.Name)
	if isNoRows(err) {
		return api.Recipient{}, ErrNoRecipient
	}
	if err != nil {
		return api.Recipient{}, err
	}
	if r.Members, err = groupMembers(ctx, s.DB, r.ID); err != nil {
		return api.Recipient{}, err
	}
	return r, nil
}

// shareable loads an item its owner uid may share: theirs (a recipient
// gets ErrOwnerOnly), not the root folder, not in the trash, without its
// own password.
func (s *Store) shareable(ctx context.Context, q querier, uid int64, id string) (*node, error) {
	n, g, err := s.access(ctx, q, uid, id)
	if err != nil {
		return nil, err
	}
	if !g.owner {
		return nil, ownerOnly("Only the owner of this item can share it, see who has access or change that.")
	}
	if n.inTrash {
		return nil, ErrInTrash
	}
	if n.Parent == "" {
		return nil, invalid("node", "Share a folder or file inside your files, not all of them.")
	}
	if len(n.Lock) > 0 {
		return nil, invalid("node", "An item with its own password cannot be shared with people: remove its password first (or share a link).")
	}
	return n, nil
}

// expectedGrantees is who must get a box of a new share: the user, or the
// group's members with keys but the owner.
func expectedGrantees(ctx context.Context, q querier, owner, userID, groupID int64) ([]api.Member, error) {
	if userID != 0 {
		if userID == owner {
			return nil, ErrShareSelf
		}
		m, err := member(ctx, q, userID)
		if isNoRows(err) {
			return nil, ErrNoRecipient
		}
		if err != nil {
			return nil, err
		}
		if m.PublicKey == nil {
			return nil, ErrRecipientKeys
		}
		return []api.Member{m}, nil
	}
	var one int
	if err := q.QueryRowContext(ctx, `SELECT 1 FROM groups WHERE id = ?`, groupID).Scan(&one); isNoRows(err) {
		return nil, ErrNoRecipient
	} else if err != nil {
		return nil, err
	}
	all, err := groupMembers(ctx, q, groupID)
	if err != nil {
		return nil, err
	}
	var out []api.Member
	for _, m := range all {
		if m.ID != owner && m.PublicKey != nil {
			out = append(out, m)
		}
	}
	return out, nil
}

func checkBoxes(boxes []api.ShareBox) error {
	if len(boxes) > api.MaxGroupMembers {
		return invalid("boxes", "At most %d boxes.", api.MaxGroupMembers)
	}
	seen := map[int64]bool{}
	for _, b := range boxes {
		if err := checkBlob("boxes.box", b.Box, 49, api.MaxBox); err != nil {
			return err
		}
		if seen[b.UserID] {
			return invalid("boxes", "Two boxes for the same user.")
		}
		seen[b.UserID] = true
	}
	return nil
}

// sameUsers reports whether boxes are for exactly the members ms.
func sameUsers(boxes []api.ShareBox, ms []api.Member) bool {
	if len(boxes) != len(ms) {
		return false
	}
	for _, m := range ms {
		if !slices.ContainsFunc(boxes, func(b api.ShareBox) bool { return b.UserID == m.ID }) {
			return false
		}
	}
	return true
}

func (s *Store) insertBoxes(ctx context.Context, tx *sql.Tx, shareID string, boxes []api.ShareBox) error {
	for _, b := range boxes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO share_grantees(share, user_id, box, created_at) VALUES(?, ?, ?, ?)`,
			shareID, b.UserID, b.Box, s.nowMS()); err != nil {
			return err
		}
	}
	return nil
}

// CreateShare shares one of uid's items with a user or a group.
func (s *Store) CreateShare(ctx context.Context, uid int64, req api.CreateShareRequest) (api.Share, error) {
	if err := checkID("id", req.ID); err != nil {
		return api.Share{}, err
	}
	if err := checkPermission(req.Permission); err != nil {
		return api.Share{}, err
	}
	if err := checkBlob("meta", req.Meta, 1, api.MaxShareMeta); err != nil {
		return api.Share{}, err
	}
	if (req.UserID == 0) == (req.GroupID == 0) {
		return api.Share{}, invalid("user_id", "Share with a user (user_id) or a group (group_id).")
	}
	if err := checkBoxes(req.Boxes); err != nil {
		return api.Share{}, err
	}
	var out api.Share
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.shareable(ctx, tx, uid, req.Node); err != nil {
			return err
		}
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM shares WHERE id = ? UNION ALL SELECT 1 FROM transfers WHERE id = ?`, req.ID, req.ID).Scan(&one)
		if err == nil {
			return ErrIDTaken
		} else if !isNoRows(err) {
			return err
		}
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM shares WHERE node = ? AND (user_id = ? OR group_id = ?)`,
			req.Node, nullInt(req.UserID), nullInt(req.GroupID)).Scan(&one)
		if err == nil {
			return ErrShareExists
		} else if !isNoRows(err) {
			return err
		}
		want, err := expectedGrantees(ctx, tx, uid, req.UserID, req.GroupID)
		if err != nil {
			return err
		}
		if !sameUsers(req.Boxes, want) {
			return ErrMembersChanged
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO shares(id, node, owner, user_id, group_id, permission, meta, created_at)
			VALUES(?, ?, ?, ?, ?, ?, ?, ?)`, req.ID, req.Node, uid, nullInt(req.UserID), nullInt(req.GroupID),
			req.Permission, req.Meta, s.nowMS()); err != nil {
			return err
		}
		if err := s.insertBoxes(ctx, tx, req.ID, req.Boxes); err != nil {
			return err
		}
		out, err = s.share(ctx, tx, uid, req.ID)
		return err
	})
	return out, err
}

func nullInt(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

// share loads one of owner's shares with who has access.
func (s *Store) share(ctx context.Context, q querier, owner int64, id string) (api.Share, error) {
	var sh api.Share
	var userID, groupID sql.NullInt64
	var created int64
	err := q.QueryRowContext(ctx, `SELECT id, node, permission, meta, created_at, user_id, group_id FROM shares WHERE id = ? AND owner = ?`,
		id, owner).Scan(&sh.ID, &sh.Node, &sh.Permission, &sh.Meta, &created, &userID, &groupID)
	if isNoRows(err) {
		return sh, ErrShareNotFound
	}
	if err != nil {
		return sh, err
	}
	sh.Created = fromMS(created)
	if userID.Valid {
		sh.Kind, sh.To = api.RecipientUser, userID.Int64
		err = q.QueryRowContext(ctx, `SELECT name FROM users WHERE id = ?`, userID.Int64).Scan(&sh.ToName)
	} else {
		sh.Kind, sh.To = api.RecipientGroup, groupID.Int64
		err = q.QueryRowContext(ctx, `SELECT name FROM groups WHERE id = ?`, groupID.Int64).Scan(&sh.ToName)
	}
	if err != nil {
		return sh, err
	}
	rows, err := q.QueryContext(ctx, `SELECT user_id FROM share_grantees WHERE share = ?`, id)
	if err != nil {
		return sh, err
	}
	has := map[int64]bool{}
	var ids []int64
	for rows.Next() {
		var u int64
		if err := rows.Scan(&u); err != nil {
			rows.Close()
			return sh, err
		}
		has[u] = true
		ids = append(ids, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return sh, err
	}
	sh.Grantees = []api.Member{}
	for _, u := range ids {
		m, err := member(ctx, q, u)
		if err != nil {
			return sh, err
		}
		sh.Grantees = append(sh.Grantees, m)
	}
	slices.SortFunc(sh.Grantees, func(a, b api.Member) int { return strings.Compare(a.Name, b.Name) })
	if groupID.Valid {
		all, err := groupMembers(ctx, q, groupID.Int64)
		if err != nil {
			return sh, err
		}
		for _, m := range all {
			if !has[m.ID] && m.ID != owner && m.PublicKey != nil {
				sh.Missing = append(sh.Missing, m)
			}
		}
	}
	return sh, nil
}

// shareIDs lists the ids of the shares of node id.
func shareIDs(ctx context.Context, q querier, id string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT id FROM shares WHERE node = ? ORDER BY created_at, id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var sid string
		if err := rows.Scan(&sid); err != nil {
			return nil, err
		}
		out = append(out, sid)
	}
	return out, rows.Err()
}

// Shares lists the shares of one of uid's items: who has access.
func (s *Store) Shares(ctx context.Context, uid int64, nodeID string) ([]api.Share, error) {
	n, g, err := s.access(ctx, s.DB, uid, nodeID)
	if err != nil {
		return nil, err
	}
	if !g.owner {
		return nil, ownerOnly("Only the owner of this item can see whom it is shared with.")
	}
	ids, err := shareIDs(ctx, s.DB, n.ID)
	if err != nil {
		return nil, err
	}
	out := []api.Share{}
	for _, id := range ids {
		sh, err := s.share(ctx, s.DB, uid, id)
		if err != nil {
			return nil, err
		}
		out = append(out, sh)
	}
	return out, nil
}

// UpdateShare changes a share's permission and gives boxes to group
// members who joined after it was made.
func (s *Store) UpdateShare(ctx context.Context, uid int64, id string, req api.UpdateShareRequest) (api.Share, error) {
	if req.Permission != "" {
		if err := checkPermission(req.Permission); err != nil {
			return api.Share{}, err
		}
	}
	if err := checkBoxes(req.Boxes); err != nil {
		return api.Share{}, err
	}
	var out api.Share
	err := s.tx(ctx, func(tx *sql.Tx) error {
		sh, err := s.share(ctx, tx, uid, id)
		if err != nil {
			return err
		}
		if req.Permission != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE shares SET permission = ? WHERE id = ?`, req.Permission, id); err != nil {
				return err
			}
		}
		for _, b := range req.Boxes {
			if !slices.ContainsFunc(sh.Missing, func(m api.Member) bool { return m.ID == b.UserID }) {
				return ErrMembersChanged
			}
		}
		if err := s.insertBoxes(ctx, tx, id, req.Boxes); err != nil {
			return err
		}
		out, err = s.share(ctx, tx, uid, id)
		return err
	})
	return out, err
}

// Shared lists what others share with uid (items in their owner's trash
// are left out), newest first.
func (s *Store) Shared(ctx context.Context, uid int64) ([]api.SharedItem, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT s.id, s.node, s.owner, u.name, s.permission, COALESCE(gr.name, ''), s.meta, g.box, g.created_at
		FROM share_grantees g JOIN shares s ON s.id = g.share JOIN users u ON u.id = s.owner LEFT JOIN groups gr ON gr.id = s.group_id
		WHERE g.user_id = ? ORDER BY g.created_at DESC, s.id LIMIT ?`, uid, 10*MaxChildren)
	if err != nil {
		return nil, err
	}
	type row struct {
		item  api.SharedItem
		owner int64
	}
	var got []row
	for rows.Next() {
		var r row
		var created int64
		if err := rows.Scan(&r.item.Share, &r.item.Node.ID, &r.owner, &r.item.Owner, &r.item.Permission, &r.item.Group,
			&r.item.Meta, &r.item.Box, &created); err != nil {
			rows.Close()
			return nil, err
		}
		r.item.Created = fromMS(created)
		got = append(got, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := []api.SharedItem{}
	for _, r := range got {
		n, err := s.load(ctx, s.DB, r.owner, r.item.Node.ID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n.inTrash {
			continue
		}
		r.item.Node = n.Node
		// The owner's own marks are not the recipient's.
		r.item.Node.Favorite = false
		out = append(out, r.item)
	}
	return out, nil
}

// Rekey ends shares of an item (req.Revoke) and gives the item a new key,
// in one transaction: every blob under the old key is replaced (see
// api.RekeyRequest). A request that does not cover exactly the item's
// versions, children and remaining shares and their grantees is a
// *ConflictError (something changed meanwhile).
func (s *Store) Rekey(ctx context.Context, uid int64, id string, req api.RekeyRequest) (api.Node, error) {
	if err := checkBlob("wrapped_key", req.WrappedKey, 1, MaxWrapped); err != nil {
		return api.Node{}, err
	}
	if err := checkBlob("meta", req.Meta, 1, MaxMeta); err != nil {
		return api.Node{}, err
	}
	if err := checkBlob("escrow", req.Escrow, 0, MaxWrapped); err != nil {
		return api.Node{}, err
	}
	for _, v := range req.Versions {
		if err := checkBlob("versions.meta", v.Meta, 1, MaxMeta); err != nil {
			return api.Node{}, err
		}
	}
	for _, c := range req.Children {
		if err := checkNodeBlobs(c.NameHMAC, c.Meta, c.WrappedKey, nil, nil, false); err != nil {
			return api.Node{}, err
		}
	}
	for _, sh := range req.Shares {
		if err := checkBlob("shares.meta", sh.Meta, 1, api.MaxShareMeta); err != nil {
			return api.Node{}, err
		}
		if err := checkBoxes(sh.Boxes); err != nil {
			return api.Node{}, err
		}
	}
	var out api.Node
	err := s.tx(ctx, func(tx *sql.Tx) error {
		n, err := s.shareable(ctx, tx, uid, id)
		if err != nil {
			return err
		}
		if n.Version != req.BaseVersion {
			return stale(n.Node)
		}
		changed := func() error {
			return &ConflictError{Node: n.Node, Message: "This item changed meanwhile (a new version, a new item inside, or a new share): reload and try again."}
		}
		if (n.Mode == api.ModeStandard) != (len(req.Escrow) > 0) {
			return invalid("escrow", "A standard item needs its new escrow entry; a secure item has none.")
		}
		for _, sid := range req.Revoke {
			res, err := tx.ExecContext(ctx, `DELETE FROM shares WHERE id = ? AND node = ? AND owner = ?`, sid, id, uid)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k == 0 {
				return ErrShareNotFound
			}
		}
		// Versions (files) or children (folders, the trash included): the
		// request must name exactly those.
		if n.isFolder() {
			if len(req.Versions) > 0 {
				return invalid("versions", "A folder has no versions.")
			}
			kids, err := childLocks(ctx, tx, id)
			if err != nil {
				return err
			}
			if len(kids) != len(req.Children) {
				return changed()
			}
			for _, c := range req.Children {
				locked, ok := kids[c.ID]
				if !ok {
					return changed()
				}
				if !locked && len(c.WrappedKey) == 0 {
					return invalid("children.wrapped_key", "Each child's key must be re-wrapped under the new key.")
				}
				q := `UPDATE nodes SET name_hmac = ?, meta = ?, version = version + 1 WHERE id = ?`
				args := []any{c.NameHMAC, c.Meta, c.ID}
				if !locked {
					q = `UPDATE nodes SET name_hmac = ?, meta = ?, wrapped_key = ?, version = version + 1 WHERE id = ?`
					args = []any{c.NameHMAC, c.Meta, c.WrappedKey, c.ID}
				}
				if _, err := tx.ExecContext(ctx, q, args...); err != nil {
					return err
				}
			}
		} else {
			if len(req.Children) > 0 {
				return invalid("children", "A file has no children.")
			}
			var count int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM file_versions WHERE node = ?`, id).Scan(&count); err != nil {
				return err
			}
			if count != len(req.Versions) {
				return changed()
			}
			for _, v := range req.Versions {
				res, err := tx.ExecContext(ctx, `UPDATE file_versions SET meta = ? WHERE id = ? AND node = ?`, v.Meta, v.ID, id)
				if err != nil {
					return err
				}
				if k, _ := res.RowsAffected(); k != 1 {
					return changed()
				}
			}
		}
		// The remaining shares, each with a box for every grantee.
		left, err := shareIDs(ctx, tx, id)
		if err != nil {
			return err
		}
		if len(left) != len(req.Shares) {
			return changed()
		}
		for _, rs := range req.Shares {
			if !slices.Contains(left, rs.ID) {
				return changed()
			}
			sh, err := s.share(ctx, tx, uid, rs.ID)
			if err != nil {
				return err
			}
			if !sameUsers(rs.Boxes, sh.Grantees) {
				return changed()
			}
			if _, err := tx.ExecContext(ctx, `UPDATE shares SET meta = ? WHERE id = ?`, rs.Meta, rs.ID); err != nil {
				return err
			}
			for _, b := range rs.Boxes {
				if _, err := tx.ExecContext(ctx, `UPDATE share_grantees SET box = ? WHERE share = ? AND user_id = ?`, b.Box, rs.ID, b.UserID); err != nil {
					return err
				}
			}
		}
		// An offer of the item carries the old key: it ends.
		if _, err := tx.ExecContext(ctx, `DELETE FROM transfers WHERE node = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE nodes SET wrapped_key = ?, meta = ?, escrow = ?, version = version + 1 WHERE id = ?`,
			req.WrappedKey, req.Meta, nullBytes(req.Escrow), id); err != nil {
			return err
		}
		fresh, err := s.load(ctx, tx, uid, id)
		if err == nil {
			out = fresh.Node
		}
		return err
	})
	return out, err
}

// childLocks maps every child of folder id (the trash included) to
// whether it has its own password (its key is then not under the folder's).
func childLocks(ctx context.Context, q querier, id string) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, lock IS NOT NULL FROM nodes WHERE parent = ?`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var cid string
		var locked bool
		if err := rows.Scan(&cid, &locked); err != nil {
			return nil, err
		}
		out[cid] = locked
	}
	return out, rows.Err()
}
