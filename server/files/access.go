package files

import (
	"context"
	"database/sql"
	"errors"

	"github.com/communitycube/cube/shared/api"
)

// Who may do what with a node (docs/sharing-users.md). Every method that
// takes a node id decides here, in one place: the node's owner may do
// everything; a user the node (or a folder above it) is shared with may
// read it, and change it if one of those shares is read-write; nobody
// else learns that it exists. Inside the owner's trash a node is the
// owner's alone.

// Errors of access. Their text is shown to the user.
var (
	// ErrReadOnly: a change to an item shared read-only.
	ErrReadOnly = errors.New("This is shared with you read-only: you can open and download it, but not change it.")
	// ErrOwnerOnly: something only the item's owner may do.
	ErrOwnerOnly = errors.New("Only the owner of this item can do this.")
)

// grant is what a user may do with one node.
type grant struct {
	owner bool // the user owns the node
	write bool // the user may change it (owners may)
	// top is, for a recipient, the highest item on the node's path that
	// is shared with them: they see nothing above it ("" for the owner).
	top string
}

// access loads node id for user uid, with what uid may do with it: the
// owner's node, or one below (or at) an item shared with uid and not in
// the trash. Anything else is ErrNotFound, so an id reveals nothing.
func (s *Store) access(ctx context.Context, q querier, uid int64, id string) (*node, grant, error) {
	if !ValidID(id) {
		return nil, grant{}, ErrNotFound
	}
	n, err := scanNode(q.QueryRowContext(ctx, `SELECT `+nodeCols+nodeFrom+`WHERE n.id = ?`, id))
	if err != nil {
		if isNoRows(err) {
			return nil, grant{}, ErrNotFound
		}
		return nil, grant{}, err
	}
	if n.owner == uid {
		return n, grant{owner: true, write: true}, nil
	}
	if n.inTrash {
		return nil, grant{}, ErrNotFound
	}
	// The shares to uid on the node's path, nearest first.
	rows, err := q.QueryContext(ctx, `WITH RECURSIVE up(id, parent, depth) AS (
			SELECT id, parent, 0 FROM nodes WHERE id = ?
			UNION ALL
			SELECT n.id, n.parent, up.depth + 1 FROM nodes n JOIN up ON n.id = up.parent WHERE up.depth < ?
		) SELECT up.id, s.permission FROM up
			JOIN shares s ON s.node = up.id
			JOIN share_grantees g ON g.share = s.id
		WHERE g.user_id = ? AND s.owner = ?
		ORDER BY up.depth`, id, maxDepth, uid, n.owner)
	if err != nil {
		return nil, grant{}, err
	}
	defer rows.Close()
	var g grant
	for rows.Next() {
		var at, perm string
		if err := rows.Scan(&at, &perm); err != nil {
			return nil, grant{}, err
		}
		g.top = at
		g.write = g.write || perm == api.PermWrite
	}
	if err := rows.Err(); err != nil {
		return nil, grant{}, err
	}
	if g.top == "" {
		return nil, grant{}, ErrNotFound
	}
	return n, g, nil
}

// accessWrite is access for a change: a recipient without a read-write
// share gets ErrReadOnly.
func (s *Store) accessWrite(ctx context.Context, q querier, uid int64, id string) (*node, grant, error) {
	n, g, err := s.access(ctx, q, uid, id)
	if err != nil {
		return nil, g, err
	}
	if !g.write {
		return nil, g, ErrReadOnly
	}
	return n, g, nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// errCrossOwner refuses a move between two users' trees: an item belongs
// to the owner of the tree it is in, and quotas, escrow and sharing follow
// from that.
var errCrossOwner = invalid("parent", "Items cannot move between two people's files: copy it instead (or transfer the whole folder).")

// recipientUpdate checks a change a recipient of a read-write share asks
// for: a rename or a move inside what is shared with them. The item they
// were given itself, and the owner's own settings (password, escrow, mode,
// favourite, history), stay the owner's.
func recipientUpdate(id string, g grant, req *api.UpdateNodeRequest) error {
	if id == g.top && (req.Parent != nil || len(req.NameHMAC) > 0 || len(req.Meta) > 0 || len(req.WrappedKey) > 0) {
		return ownerOnly("Only the owner can rename or move the item they shared with you; you can change what is inside it.")
	}
	if len(req.Lock) > 0 || req.ClearLock || len(req.Escrow) > 0 || req.ClearEscrow || req.Mode != nil || req.Favorite != nil || req.KeepHistory != nil {
		return ownerOnly("Only the owner of this item can change its password, mode, history setting or favourite mark.")
	}
	return nil
}

// ownerOnly is ErrOwnerOnly with a more precise message.
func ownerOnly(msg string) error { return &ownerOnlyError{msg} }

type ownerOnlyError struct{ msg string }

func (e *ownerOnlyError) Error() string        { return e.msg }
func (e *ownerOnlyError) Is(target error) bool { return target == ErrOwnerOnly }
