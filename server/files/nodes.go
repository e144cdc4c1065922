package files

import (
	"bytes"
	"context"
	"database/sql"
	"errors"

	"github.com/communitycube/cube/shared/api"
)

// node is a row of nodes as the store works with it.
type node struct {
	api.Node
	owner   int64
	current string // current version id
	inTrash bool
}

func (n *node) isFolder() bool { return n.Kind == api.KindFolder }

// isLiteral says whether n is a file whose current content is a LIT cap
// in its sealed metadata (at most 55 bytes: never uploaded, no verify cap).
func isLiteral(n *api.Node) bool {
	return n.Kind == api.KindFile && n.Current != nil && n.Current.VerifyCap == ""
}

const nodeCols = `n.id, n.owner, n.parent, n.kind, n.name_hmac, n.meta, n.wrapped_key, n.lock, n.escrow, n.mode,
	n.favorite, n.keep_history, n.version, n.created_at, n.modified_at, n.current_version, n.trashed_at, n.in_trash,
	v.id, v.size, v.created_at, v.meta, v.verify_cap`

const nodeFrom = ` FROM nodes n LEFT JOIN file_versions v ON v.id = n.current_version `

func scanNode(row interface{ Scan(...any) error }) (*node, error) {
	var n node
	var parent, current, vid, vcap sql.NullString
	var trashed, vsize, vcreated sql.NullInt64
	var created, modified int64
	var vmeta []byte
	err := row.Scan(&n.ID, &n.owner, &parent, &n.Kind, &n.NameHMAC, &n.Meta, &n.WrappedKey, &n.Lock, &n.Escrow, &n.Mode,
		&n.Favorite, &n.KeepHistory, &n.Version, &created, &modified, &current, &trashed, &n.inTrash,
		&vid, &vsize, &vcreated, &vmeta, &vcap)
	if err != nil {
		return nil, err
	}
	n.Parent, n.current = parent.String, current.String
	n.Created, n.Modified = fromMS(created), fromMS(modified)
	if trashed.Valid {
		t := fromMS(trashed.Int64)
		n.Trashed = &t
	}
	n.InTrash = n.inTrash
	if vid.Valid {
		n.Current = &api.Version{ID: vid.String, Size: vsize.Int64, Created: fromMS(vcreated.Int64), Meta: vmeta, VerifyCap: vcap.String}
		n.Size = vsize.Int64
	}
	return &n, nil
}

// load returns the user's node id, or ErrNotFound (also for another
// user's node: its existence is not revealed).
func (s *Store) load(ctx context.Context, q querier, uid int64, id string) (*node, error) {
	if !ValidID(id) {
		return nil, ErrNotFound
	}
	n, err := scanNode(q.QueryRowContext(ctx, `SELECT `+nodeCols+nodeFrom+`WHERE n.id = ? AND n.owner = ?`, id, uid))
	if err == sql.ErrNoRows {
		return nil, ErrNotFound
	}
	return n, err
}

func (s *Store) list(ctx context.Context, q querier, where string, args ...any) ([]api.Node, error) {
	out, _, err := s.page(ctx, q, where, args...)
	return out, err
}

// page lists nodes until the query ends or their blobs reach pageBytes
// (full is then true).
func (s *Store) page(ctx context.Context, q querier, where string, args ...any) (out []api.Node, full bool, err error) {
	rows, err := q.QueryContext(ctx, `SELECT `+nodeCols+nodeFrom+where, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	out = []api.Node{}
	size := 0
	for rows.Next() {
		n, err := scanNode(rows)
		if err != nil {
			return nil, false, err
		}
		out = append(out, n.Node)
		if size += blobBytes(&n.Node); size > pageBytes {
			return out, true, nil
		}
	}
	return out, false, rows.Err()
}

func blobBytes(n *api.Node) int {
	b := len(n.Meta) + len(n.NameHMAC) + len(n.WrappedKey) + len(n.Lock) + len(n.Escrow)
	if n.Current != nil {
		b += len(n.Current.Meta) + len(n.Current.VerifyCap)
	}
	return b
}

// rootFolder returns the user's root folder id, or ErrNoKeys.
func rootFolder(ctx context.Context, q querier, uid int64) (string, error) {
	var root string
	err := q.QueryRowContext(ctx, `SELECT root_folder FROM user_keys WHERE user_id = ?`, uid).Scan(&root)
	if err == sql.ErrNoRows {
		return "", ErrNoKeys
	}
	return root, err
}

// nameTaken reports whether a live child of parent other than except has
// the name hmac.
func nameTaken(ctx context.Context, q querier, parent string, hmac []byte, except string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM nodes WHERE parent = ? AND name_hmac = ? AND trashed_at IS NULL AND id != ?`,
		parent, hmac, except).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, err
}

// idTaken reports whether id names a node or a version, of anyone.
func idTaken(ctx context.Context, q querier, id string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM nodes WHERE id = ? UNION ALL SELECT 1 FROM file_versions WHERE id = ?`, id, id).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, err
}

// maxDepth bounds walks up the tree (a guard against a corrupt cycle).
const maxDepth = 10000

// ancestors returns the ids from id's parent up to the top, nearest first.
func ancestors(ctx context.Context, q querier, id string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `WITH RECURSIVE up(id, parent, depth) AS (
			SELECT id, parent, 0 FROM nodes WHERE id = ?
			UNION ALL
			SELECT n.id, n.parent, up.depth + 1 FROM nodes n JOIN up ON n.id = up.parent WHERE up.depth < ?
		) SELECT id FROM up WHERE depth > 0 ORDER BY depth`, id, maxDepth)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// folderFor loads a folder the user may put things into (theirs, or
// shared with them read-write: see access), a folder, and not in the
// trash.
func (s *Store) folderFor(ctx context.Context, q querier, uid int64, id string) (*node, grant, error) {
	p, g, err := s.accessWrite(ctx, q, uid, id)
	if err != nil {
		return nil, g, err
	}
	if !p.isFolder() {
		return nil, g, invalid("parent", "The parent must be a folder.")
	}
	if p.inTrash {
		return nil, g, ErrInTrash
	}
	return p, g, nil
}

// GetNode returns a node with its ancestors, root first. A recipient of
// a share sees the ancestors only up to the item shared with them.
func (s *Store) GetNode(ctx context.Context, uid int64, id string) (api.NodeInfo, error) {
	n, g, err := s.access(ctx, s.DB, uid, id)
	if err != nil {
		return api.NodeInfo{}, err
	}
	var ids []string
	if g.owner || g.top != id {
		if ids, err = ancestors(ctx, s.DB, id); err != nil {
			return api.NodeInfo{}, err
		}
	}
	if !g.owner {
		for i, a := range ids {
			if a == g.top {
				ids = ids[:i+1]
				break
			}
		}
	}
	info := api.NodeInfo{Node: n.Node, Ancestors: []api.Node{}}
	for i := len(ids) - 1; i >= 0; i-- {
		a, err := s.load(ctx, s.DB, n.owner, ids[i])
		if err != nil {
			return api.NodeInfo{}, err
		}
		info.Ancestors = append(info.Ancestors, a.Node)
	}
	return info, nil
}

// ChildNamed returns the live child of folder id whose name HMAC is hmac
// (at most one: names are unique among live children), or ErrNotFound.
// Clients check a name before an upload with it, in one indexed lookup
// instead of listing the folder.
func (s *Store) ChildNamed(ctx context.Context, uid int64, id string, hmac []byte) (api.Node, error) {
	if len(hmac) != HMACSize {
		return api.Node{}, invalid("name_hmac", "name_hmac must be %d bytes.", HMACSize)
	}
	p, _, err := s.access(ctx, s.DB, uid, id)
	if err != nil {
		return api.Node{}, err
	}
	if !p.isFolder() {
		return api.Node{}, invalid("id", "A file has no children.")
	}
	items, err := s.list(ctx, s.DB, `WHERE n.parent = ? AND n.name_hmac = ? AND n.trashed_at IS NULL`, id, hmac)
	if err != nil {
		return api.Node{}, err
	}
	if len(items) == 0 {
		return api.Node{}, ErrNotFound
	}
	return items[0], nil
}

// Children lists a folder's children (not those put in the trash) by id,
// a page at a time: after is the last id of the previous page.
func (s *Store) Children(ctx context.Context, uid int64, id, after string, limit int) (api.Children, error) {
	p, _, err := s.access(ctx, s.DB, uid, id)
	if err != nil {
		return api.Children{}, err
	}
	if !p.isFolder() {
		return api.Children{}, invalid("id", "A file has no children.")
	}
	if limit <= 0 {
		limit = DefaultChildren
	}
	limit = min(limit, MaxChildren)
	items, full, err := s.page(ctx, s.DB, `WHERE n.parent = ? AND n.trashed_at IS NULL AND n.id > ? ORDER BY n.id LIMIT ?`, id, after, limit+1)
	if err != nil {
		return api.Children{}, err
	}
	out := api.Children{Items: items}
	if len(items) > limit {
		out.Items, full = items[:limit], true
	}
	if full {
		out.Next = out.Items[len(out.Items)-1].ID
	}
	return out, nil
}

// Recent lists the user's files outside the trash, most recently changed
// first.
func (s *Store) Recent(ctx context.Context, uid int64, limit int) ([]api.Node, error) {
	if limit <= 0 {
		limit = DefaultRecent
	}
	limit = min(limit, MaxRecent)
	return s.list(ctx, s.DB, `WHERE n.owner = ? AND n.kind = 'file' AND n.in_trash = 0 ORDER BY n.modified_at DESC, n.id LIMIT ?`, uid, limit)
}

// Favorites lists the user's favourites outside the trash.
func (s *Store) Favorites(ctx context.Context, uid int64) ([]api.Node, error) {
	return s.list(ctx, s.DB, `WHERE n.owner = ? AND n.favorite = 1 AND n.in_trash = 0 ORDER BY n.modified_at DESC, n.id LIMIT ?`, uid, MaxChildren)
}

// checkNodeBlobs validates what a create or update carries.
func checkNodeBlobs(hmac, meta, wrapped, lock, escrow []byte, root bool) error {
	if !root || len(hmac) > 0 {
		if err := checkBlob("name_hmac", hmac, HMACSize, HMACSize); err != nil {
			return err
		}
	}
	minMeta := 1
	if root {
		minMeta = 0
	}
	if err := checkBlob("meta", meta, minMeta, MaxMeta); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{"wrapped_key", wrapped}, {"lock", lock}, {"escrow", escrow}} {
		if err := checkBlob(f.name, f.b, 0, MaxWrapped); err != nil {
			return err
		}
	}
	return nil
}

func checkEscrowMode(mode string, escrow []byte) error {
	if mode == "secure" && len(escrow) > 0 {
		return invalid("escrow", "A secure item's key never leaves the client: clear its escrow, or make it standard.")
	}
	return nil
}

// CreateNode creates a folder, or a file with its first version, in one of
// the user's live folders.
func (s *Store) CreateNode(ctx context.Context, uid int64, req api.CreateNodeRequest) (api.Node, error) {
	if err := checkID("id", req.ID); err != nil {
		return api.Node{}, err
	}
	if req.Parent == "" {
		return api.Node{}, invalid("parent", "parent is required (the root folder is made with the keys).")
	}
	if err := checkID("parent", req.Parent); err != nil {
		return api.Node{}, err
	}
	if err := validateCreate(&req, false); err != nil {
		return api.Node{}, err
	}
	var out api.Node
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := rootFolder(ctx, tx, uid); err != nil {
			return err
		}
		p, g, err := s.folderFor(ctx, tx, uid, req.Parent)
		if errors.Is(err, ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if !g.owner && len(req.Escrow) > 0 {
			return invalid("escrow", "An item you add to a folder shared with you has no escrow entry (the escrow key is the owner's): make it secure.")
		}
		if taken, err := nameTaken(ctx, tx, p.ID, req.NameHMAC, ""); err != nil {
			return err
		} else if taken {
			return ErrNameTaken
		}
		keep := p.KeepHistory
		if req.KeepHistory != nil {
			keep = *req.KeepHistory
		}
		// The item is the folder owner's, whoever adds it.
		if err := s.insertNode(ctx, tx, p.owner, &req, keep); err != nil {
			return err
		}
		if req.Version != nil {
			if err := s.addVersion(ctx, tx, p.owner, uid, req.ID, *req.Version, p.KeepHistory, nil); err != nil {
				return err
			}
		}
		n, err := s.load(ctx, tx, p.owner, req.ID)
		if err != nil {
			return err
		}
		out = n.Node
		return nil
	})
	return out, err
}

// validateCreate checks a CreateNodeRequest (a root folder if root).
func validateCreate(req *api.CreateNodeRequest, root bool) error {
	switch req.Kind {
	case api.KindFolder:
		if req.Version != nil {
			return invalid("version", "A folder has no version.")
		}
		if !root && len(req.WrappedKey) == 0 {
			return invalid("wrapped_key", "A folder needs its wrapped key.")
		}
	case api.KindFile:
		if root {
			return invalid("kind", "The root must be a folder.")
		}
		if req.Version == nil {
			return invalid("version", "A file needs its first version.")
		}
		if req.KeepHistory != nil {
			return invalid("keep_history", "keep_history is a folder setting.")
		}
	default:
		return invalid("kind", "kind must be %q or %q.", api.KindFolder, api.KindFile)
	}
	if err := checkMode(req.Mode); err != nil {
		return err
	}
	if err := checkEscrowMode(req.Mode, req.Escrow); err != nil {
		return err
	}
	return checkNodeBlobs(req.NameHMAC, req.Meta, req.WrappedKey, req.Lock, req.Escrow, root)
}

func (s *Store) insertNode(ctx context.Context, tx *sql.Tx, uid int64, req *api.CreateNodeRequest, keep bool) error {
	if taken, err := idTaken(ctx, tx, req.ID); err != nil {
		return err
	} else if taken {
		return ErrIDTaken
	}
	now := s.nowMS()
	hmac, meta := notNull(req.NameHMAC), notNull(req.Meta)
	_, err := tx.ExecContext(ctx, `INSERT INTO nodes(id, owner, parent, kind, name_hmac, meta, wrapped_key, lock, escrow, mode,
			keep_history, version, created_at, modified_at)
		VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
		req.ID, uid, nullString(req.Parent), req.Kind, hmac, meta, nullBytes(req.WrappedKey), nullBytes(req.Lock), nullBytes(req.Escrow), req.Mode,
		keep && req.Kind == api.KindFolder, now, now)
	return err
}

// UpdateNode changes a node: rename, move, re-key, lock, escrow, mode,
// favourite, keep-history. req.BaseVersion must be the node's version.
func (s *Store) UpdateNode(ctx context.Context, uid int64, id string, req api.UpdateNodeRequest) (api.Node, error) {
	if err := checkNodeBlobs(orHMAC(req.NameHMAC), orMeta(req.Meta), req.WrappedKey, req.Lock, req.Escrow, false); err != nil {
		return api.Node{}, err
	}
	if req.Mode != nil {
		if err := checkMode(*req.Mode); err != nil {
			return api.Node{}, err
		}
	}
	if len(req.Lock) > 0 && req.ClearLock || len(req.Escrow) > 0 && req.ClearEscrow {
		return api.Node{}, invalid("clear_lock", "Set a value or clear it, not both.")
	}
	var out api.Node
	err := s.tx(ctx, func(tx *sql.Tx) error {
		n, g, err := s.accessWrite(ctx, tx, uid, id)
		if err != nil {
			return err
		}
		if !g.owner {
			if err := recipientUpdate(id, g, &req); err != nil {
				return err
			}
		}
		if n.Version != req.BaseVersion {
			return stale(n.Node)
		}
		if n.inTrash {
			return ErrInTrash
		}
		root, err := rootFolder(ctx, tx, n.owner)
		if err != nil {
			return err
		}
		touched := false // modified time changes (not for a favourite)
		parent := n.Parent
		if req.Parent != nil && *req.Parent != n.Parent {
			if id == root {
				return invalid("parent", "The root folder cannot be moved.")
			}
			if len(req.NameHMAC) == 0 || len(req.Meta) == 0 {
				return invalid("name_hmac", "A move needs the name HMAC and metadata re-made for the new folder.")
			}
			p, _, err := s.folderFor(ctx, tx, uid, *req.Parent)
			if err != nil {
				return err
			}
			if p.owner != n.owner {
				return errCrossOwner
			}
			if p.ID == id {
				return invalid("parent", "A folder cannot be moved into itself.")
			}
			if needsRewrap(n, req.ClearLock) && len(req.WrappedKey) == 0 {
				return invalid("wrapped_key", "Moving a folder needs its key re-wrapped under the new folder's key.")
			}
			if n.isFolder() {
				up, err := ancestors(ctx, tx, p.ID)
				if err != nil {
					return err
				}
				for _, a := range up {
					if a == id {
						return invalid("parent", "A folder cannot be moved into one of its own subfolders.")
					}
				}
			}
			parent, touched = p.ID, true
		}
		if len(req.NameHMAC) > 0 {
			if id == root {
				return invalid("name_hmac", "The root folder has no name.")
			}
			if parent != n.Parent || !bytes.Equal(req.NameHMAC, n.NameHMAC) {
				if taken, err := nameTaken(ctx, tx, parent, req.NameHMAC, id); err != nil {
					return err
				} else if taken {
					return ErrNameTaken
				}
			}
			n.NameHMAC, touched = req.NameHMAC, true
		}
		if len(req.Meta) > 0 {
			n.Meta, touched = req.Meta, true
		}
		if len(req.WrappedKey) > 0 {
			n.WrappedKey, touched = req.WrappedKey, true
		}
		switch {
		case req.ClearLock:
			n.Lock, touched = nil, true
		case len(req.Lock) > 0:
			n.Lock, touched = req.Lock, true
		}
		switch {
		case req.ClearEscrow:
			n.Escrow, touched = nil, true
		case len(req.Escrow) > 0:
			n.Escrow, touched = req.Escrow, true
		}
		if req.Mode != nil {
			n.Mode, touched = *req.Mode, true
		}
		if err := checkEscrowMode(n.Mode, n.Escrow); err != nil {
			return err
		}
		changed := touched
		if req.Favorite != nil && *req.Favorite != n.Favorite {
			n.Favorite, changed = *req.Favorite, true
		}
		if req.KeepHistory != nil {
			if !n.isFolder() {
				return invalid("keep_history", "keep_history is a folder setting.")
			}
			if *req.KeepHistory != n.KeepHistory {
				n.KeepHistory, changed = *req.KeepHistory, true
			}
		}
		if !changed {
			out = n.Node
			return nil
		}
		modified := n.Modified.UnixMilli()
		if touched {
			modified = s.nowMS()
		}
		res, err := tx.ExecContext(ctx, `UPDATE nodes SET parent = ?, name_hmac = ?, meta = ?, wrapped_key = ?, lock = ?, escrow = ?,
				mode = ?, favorite = ?, keep_history = ?, version = version + 1, modified_at = ?
			WHERE id = ? AND version = ?`,
			nullString(parent), notNull(n.NameHMAC), notNull(n.Meta), nullBytes(n.WrappedKey), nullBytes(n.Lock), nullBytes(n.Escrow),
			n.Mode, n.Favorite, n.KeepHistory, modified, id, req.BaseVersion)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return stale(n.Node) // cannot happen inside the transaction
		}
		fresh, err := s.load(ctx, tx, n.owner, id)
		if err != nil {
			return err
		}
		out = fresh.Node
		return nil
	})
	return out, err
}

// notNull stores an absent blob (the root folder's name HMAC and
// metadata) as an empty one: the columns are NOT NULL, and the driver binds
// a nil slice as NULL.
func notNull(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// needsRewrap reports whether moving n to another folder needs its wrapped
// key re-made: a folder's key is wrapped under its parent's, unless the
// folder has its own password (then it is wrapped under that).
func needsRewrap(n *node, clearLock bool) bool {
	return n.isFolder() && (len(n.Lock) == 0 || clearLock)
}

// orHMAC and orMeta let absent (nil) fields pass the size checks of
// checkNodeBlobs, which insists on them for creations.
func orHMAC(b []byte) []byte {
	if b == nil {
		return make([]byte, HMACSize)
	}
	return b
}

func orMeta(b []byte) []byte {
	if b == nil {
		return []byte{0}
	}
	return b
}
