package files

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/communitycube/cube/server/db"
	"github.com/communitycube/cube/shared/api"
)

// Groups of users to share with, managed by administrators (the HTTP layer
// checks that). A share with a group holds one box per member; a member
// added later gets a box when the owner's client next updates the share
// (api.Share.Missing), a member removed loses their box, hence their
// access, at once.

// Errors of groups. Their text is shown to the user.
var (
	ErrGroupNotFound = errors.New("No such group.")
	ErrGroupTaken    = errors.New("A group or a user already has this name.")
)

// MaxGroupName bounds a group's name (bytes of UTF-8).
const MaxGroupName = 64

func checkGroupName(name string) error {
	if name == "" || len(name) > MaxGroupName || !utf8.ValidString(name) {
		return invalid("name", "A group name has 1 to %d characters.", MaxGroupName)
	}
	if strings.TrimSpace(name) != name {
		return invalid("name", "A group name cannot begin or end with a space.")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return invalid("name", "A group name cannot contain control characters.")
		}
	}
	return nil
}

// Groups lists every group with its members, by name.
func (s *Store) Groups(ctx context.Context) ([]api.Group, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id FROM groups ORDER BY name`)
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
	out := []api.Group{}
	for _, id := range ids {
		g, err := group(ctx, s.DB, id)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

func group(ctx context.Context, q querier, id int64) (api.Group, error) {
	g := api.Group{ID: id}
	var created int64
	err := q.QueryRowContext(ctx, `SELECT name, created_at FROM groups WHERE id = ?`, id).Scan(&g.Name, &created)
	if isNoRows(err) {
		return g, ErrGroupNotFound
	}
	if err != nil {
		return g, err
	}
	g.Created = fromMS(created)
	g.Members, err = groupMembers(ctx, q, id)
	return g, err
}

// userIDs resolves user names; an unknown one is an *auth.InvalidError.
func userIDs(ctx context.Context, q querier, names []string) ([]int64, error) {
	var out []int64
	for _, name := range names {
		var id int64
		err := q.QueryRowContext(ctx, `SELECT id FROM users WHERE name = ?`, strings.TrimSpace(name)).Scan(&id)
		if isNoRows(err) {
			return nil, invalid("members", "There is no user named %q.", name)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

// CreateGroup makes a group. Its name may not be a user's (the share
// dialog finds users and groups by name).
func (s *Store) CreateGroup(ctx context.Context, req api.CreateGroupRequest) (api.Group, error) {
	if err := checkGroupName(req.Name); err != nil {
		return api.Group{}, err
	}
	if len(req.Members) > api.MaxGroupMembers {
		return api.Group{}, invalid("members", "A group has at most %d members.", api.MaxGroupMembers)
	}
	var out api.Group
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE name = ?`, req.Name).Scan(&one); err == nil {
			return ErrGroupTaken
		} else if !isNoRows(err) {
			return err
		}
		ids, err := userIDs(ctx, tx, req.Members)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO groups(name, created_at) VALUES(?, ?)`, req.Name, s.nowMS())
		if db.IsUnique(err) {
			return ErrGroupTaken
		}
		if err != nil {
			return err
		}
		gid, err := res.LastInsertId()
		if err != nil {
			return err
		}
		for _, u := range ids {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO group_members(group_id, user_id) VALUES(?, ?)`, gid, u); err != nil {
				return err
			}
		}
		out, err = group(ctx, tx, gid)
		return err
	})
	return out, err
}

// UpdateGroup adds and removes members. A removed member's boxes of the
// group's shares go: they lose access at once.
func (s *Store) UpdateGroup(ctx context.Context, id int64, req api.UpdateGroupRequest) (api.Group, error) {
	var out api.Group
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := group(ctx, tx, id); err != nil {
			return err
		}
		add, err := userIDs(ctx, tx, req.Add)
		if err != nil {
			return err
		}
		remove, err := userIDs(ctx, tx, req.Remove)
		if err != nil {
			return err
		}
		for _, u := range add {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO group_members(group_id, user_id) VALUES(?, ?)`, id, u); err != nil {
				return err
			}
		}
		var count int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM group_members WHERE group_id = ?`, id).Scan(&count); err != nil {
			return err
		}
		if count > api.MaxGroupMembers {
			return invalid("add", "A group has at most %d members.", api.MaxGroupMembers)
		}
		for _, u := range remove {
			if _, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = ? AND user_id = ?`, id, u); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM share_grantees WHERE user_id = ? AND share IN (SELECT id FROM shares WHERE group_id = ?)`, u, id); err != nil {
				return err
			}
		}
		out, err = group(ctx, tx, id)
		return err
	})
	return out, err
}

// DeleteGroup deletes a group; its shares end.
func (s *Store) DeleteGroup(ctx context.Context, id int64) error {
	res, err := s.DB.ExecContext(ctx, `DELETE FROM groups WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return ErrGroupNotFound
	}
	return nil
}
