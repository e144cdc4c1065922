package files

import (
	"context"
	"database/sql"

	"github.com/communitycube/cube/shared/api"
)

// Usage returns the user's storage use and quota.
func (s *Store) Usage(ctx context.Context, uid int64) (api.Usage, error) {
	var u api.Usage
	if err := s.DB.QueryRowContext(ctx, `SELECT quota_bytes FROM users WHERE id = ?`, uid).Scan(&u.Quota); err != nil {
		return u, err
	}
	used, err := usedBytes(ctx, s.DB, uid)
	if err != nil {
		return u, err
	}
	u.Used = used
	err = s.DB.QueryRowContext(ctx, `SELECT COALESCE(SUM(v.size), 0) FROM file_versions v JOIN nodes n ON n.id = v.node
		WHERE v.owner = ? AND n.in_trash = 1`, uid).Scan(&u.Trash)
	return u, err
}

// UsageAll returns every user's usage, by user id (the administrators'
// list of users).
func (s *Store) UsageAll(ctx context.Context) (map[int64]int64, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT owner, SUM(size) FROM (
		SELECT owner, size FROM file_versions UNION ALL SELECT owner, size FROM uploads
		UNION ALL SELECT owner, size FROM drop_files) GROUP BY owner`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var id, used int64
		if err := rows.Scan(&id, &used); err != nil {
			return nil, err
		}
		out[id] = used
	}
	return out, rows.Err()
}

// DefaultSettings are a user's settings until they change them.
var DefaultSettings = api.FileSettings{DefaultMode: api.ModeSecure, TrashDays: DefaultTrashDays}

// Settings returns the user's file settings.
func (s *Store) Settings(ctx context.Context, uid int64) (api.FileSettings, error) {
	st := DefaultSettings
	err := s.DB.QueryRowContext(ctx, `SELECT default_mode, trash_days, upload_rate_limit FROM file_settings WHERE user_id = ?`, uid).
		Scan(&st.DefaultMode, &st.TrashDays, &st.UploadRateLimit)
	if err == sql.ErrNoRows {
		return DefaultSettings, nil
	}
	return st, err
}

// PutSettings replaces the user's file settings.
func (s *Store) PutSettings(ctx context.Context, uid int64, st api.FileSettings) (api.FileSettings, error) {
	if err := checkMode(st.DefaultMode); err != nil {
		return st, invalid("default_mode", "default_mode must be %q or %q.", api.ModeSecure, api.ModeStandard)
	}
	if st.TrashDays < 0 || st.TrashDays > MaxTrashDays {
		return st, invalid("trash_days", "trash_days is 0 (keep until emptied) to %d.", MaxTrashDays)
	}
	if st.UploadRateLimit < 0 {
		return st, invalid("upload_rate_limit", "upload_rate_limit is in KB/s, 0 for none; it cannot be negative.")
	}
	_, err := s.DB.ExecContext(ctx, `INSERT INTO file_settings(user_id, default_mode, trash_days, upload_rate_limit) VALUES(?, ?, ?, ?)
		ON CONFLICT(user_id) DO UPDATE SET default_mode = excluded.default_mode, trash_days = excluded.trash_days,
			upload_rate_limit = excluded.upload_rate_limit`, uid, st.DefaultMode, st.TrashDays, st.UploadRateLimit)
	return st, err
}
