package mail

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Store keeps the node's SMTP settings and counts the mails each user sends
// (database tables mail_settings and mail_sent).
type Store struct {
	DB *sql.DB
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// PerHour is how many recipients a user may send mail to in an hour
	// (0: DefaultPerHour): a share mail goes out from the node's address,
	// which must not become a spam relay.
	PerHour int
}

// DefaultPerHour is a user's hourly number of mail recipients.
const DefaultPerHour = 30

func (s *Store) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Settings returns the stored settings; ok is false when there are none.
func (s *Store) Settings(ctx context.Context) (st Settings, ok bool, err error) {
	err = s.DB.QueryRowContext(ctx, `SELECT host, port, tls, username, password, from_addr FROM mail_settings WHERE id = 1`).
		Scan(&st.Host, &st.Port, &st.TLS, &st.Username, &st.Password, &st.From)
	if err == sql.ErrNoRows {
		return Settings{}, false, nil
	}
	return st, err == nil, err
}

// PutSettings stores st (validated). An empty Password keeps the stored
// one unless clearPassword. An empty Host removes the settings: the node
// then sends no mail.
func (s *Store) PutSettings(ctx context.Context, st Settings, clearPassword bool) (Settings, error) {
	if st.Host == "" {
		_, err := s.DB.ExecContext(ctx, `DELETE FROM mail_settings`)
		return Settings{}, err
	}
	if st.Password == "" && !clearPassword {
		old, ok, err := s.Settings(ctx)
		if err != nil {
			return Settings{}, err
		}
		if ok && old.Username != "" {
			st.Password = old.Password
		}
	}
	if err := st.Validate(); err != nil {
		return Settings{}, err
	}
	_, err := s.DB.ExecContext(ctx, `INSERT INTO mail_settings(id, host, port, tls, username, password, from_addr, updated_at)
		VALUES(1, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET host = excluded.host, port = excluded.port, tls = excluded.tls, username = excluded.username,
			password = excluded.password, from_addr = excluded.from_addr, updated_at = excluded.updated_at`,
		st.Host, st.Port, st.TLS, st.Username, st.Password, st.From, s.now().UnixMilli())
	return st, err
}

// RateError refuses a mail over the user's hourly limit.
type RateError struct {
	Limit      int
	RetryAfter time.Duration
}

func (e *RateError) Error() string {
	m := int((e.RetryAfter + time.Minute - 1) / time.Minute)
	wait := fmt.Sprintf("%d minutes", m)
	if m <= 1 {
		wait = "a minute"
	}
	return fmt.Sprintf("You can send mail to at most %d people an hour from this node. Try again in %s, or send the link from your own mail program.", e.Limit, wait)
}

// Reserve counts a mail of user uid to n recipients, or refuses it with a
// *RateError if it would take the user over the hourly limit. It is
// counted before sending: a failed send still counts, so retries cannot
// probe the server without bound.
func (s *Store) Reserve(ctx context.Context, uid int64, n int) error {
	limit := s.PerHour
	if limit <= 0 {
		limit = DefaultPerHour
	}
	now := s.now()
	hourAgo := now.Add(-time.Hour).UnixMilli()
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM mail_sent WHERE sent_at < ?`, now.Add(-24*time.Hour).UnixMilli()); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT sent_at, recipients FROM mail_sent WHERE user_id = ? AND sent_at > ? ORDER BY sent_at`, uid, hourAgo)
	if err != nil {
		return err
	}
	type sent struct {
		at int64
		n  int
	}
	var past []sent
	used := 0
	for rows.Next() {
		var p sent
		if err := rows.Scan(&p.at, &p.n); err != nil {
			rows.Close()
			return err
		}
		past = append(past, p)
		used += p.n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if used+n > limit {
		// Room comes back as the oldest mails of the hour age out.
		wait := time.Hour
		for _, p := range past {
			used -= p.n
			if used+n <= limit {
				wait = time.UnixMilli(p.at).Add(time.Hour).Sub(now)
				break
			}
		}
		return &RateError{Limit: limit, RetryAfter: max(wait, time.Second)}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO mail_sent(user_id, sent_at, recipients) VALUES(?, ?, ?)`, uid, now.UnixMilli(), n); err != nil {
		return err
	}
	return tx.Commit()
}
