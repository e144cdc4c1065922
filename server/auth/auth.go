// Package auth keeps the node's accounts: users with Argon2id password hashes,
// server-side sessions, the one-time setup of the first administrator, and
// login throttling. It stores everything in the node's SQLite database.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"net"
	"regexp"
	"time"

	"github.com/communitycube/cube/server/db"
	"github.com/communitycube/cube/shared/password"
)

// Errors callers map to user-facing messages.
var (
	ErrBadCredentials = errors.New("Wrong user name or password.")
	ErrSetupClosed    = errors.New("Setup is closed: an administrator already exists.")
	ErrDisabled       = errors.New("This account is disabled. Ask an administrator.")
	ErrNoSession      = errors.New("Not signed in, or the session has ended.")
	ErrNameTaken      = errors.New("That user name is taken.")
	ErrNotFound       = errors.New("No such user.")
	ErrLastAdmin      = errors.New("This is the last active administrator: make someone else an administrator first.")
	ErrWrongPassword  = errors.New("The current password is wrong.")
)

// InvalidError is a bad field value.
type InvalidError struct{ Field, Message string }

func (e *InvalidError) Error() string { return e.Message }

// User is an account.
type User struct {
	ID        int64
	Name      string
	Admin     bool
	Disabled  bool
	CreatedAt time.Time
	// MustChangePassword is set for accounts an administrator created
	// through the API: the administrator knows the initial password.
	MustChangePassword bool
	// Quota is the storage quota in bytes; 0 means none.
	Quota int64
}

// Session is a signed-in browser or CLI.
type Session struct {
	UserID    int64
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
	tokenHash []byte
}

// Store is the account database. Fill the fields or use New.
type Store struct {
	DB       *sql.DB
	Hasher   *Hasher
	Throttle ThrottlePolicy
	// SessionLifetime is the absolute lifetime of a session; SessionIdle ends
	// a session that has not been used for that long.
	SessionLifetime time.Duration
	SessionIdle     time.Duration
	// Now is the clock; tests replace it.
	Now func() time.Time
	// dummyHash is verified for unknown user names so that a miss costs as
	// much time as a wrong password and does not reveal which names exist.
	dummyHash string
}

// New returns a Store with the node's defaults.
func New(database *sql.DB, h *Hasher) *Store {
	return &Store{
		DB:              database,
		Hasher:          h,
		Throttle:        DefaultThrottle,
		SessionLifetime: 30 * 24 * time.Hour,
		SessionIdle:     7 * 24 * time.Hour,
		Now:             time.Now,
	}
}

func (s *Store) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CheckName validates a user name.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return &InvalidError{Field: "name", Message: "A user name has 1 to 64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit."}
	}
	return nil
}

// SetupNeeded reports whether the first administrator has yet to be created.
func (s *Store) SetupNeeded(ctx context.Context) (bool, error) {
	var one int
	err := s.DB.QueryRowContext(ctx, `SELECT 1 FROM settings WHERE key = 'setup_completed'`).Scan(&one)
	if err == sql.ErrNoRows {
		return true, nil
	}
	return false, err
}

// Setup creates the first administrator and closes setup in one transaction;
// a second call, even concurrent, gets ErrSetupClosed.
func (s *Store) Setup(ctx context.Context, name, pw string) (User, error) {
	if need, err := s.SetupNeeded(ctx); err != nil {
		return User{}, err
	} else if !need {
		return User{}, ErrSetupClosed
	}
	return s.createUser(ctx, name, pw, true, true, false)
}

// CreateUser adds an account. Creating an administrator also closes setup,
// so `cube user add --admin` is the scripted equivalent of the setup page.
// The person at the shell chose the password, so it need not be changed.
func (s *Store) CreateUser(ctx context.Context, name, pw string, admin bool) (User, error) {
	return s.createUser(ctx, name, pw, admin, false, false)
}

// CreateUserForOther adds an account whose initial password an
// administrator chose for someone else (POST users): the account starts
// with MustChangePassword, and makes its keys only after its user chose
// their own password.
func (s *Store) CreateUserForOther(ctx context.Context, name, pw string, admin bool) (User, error) {
	return s.createUser(ctx, name, pw, admin, false, true)
}

func (s *Store) createUser(ctx context.Context, name, pw string, admin, setup, must bool) (User, error) {
	if err := CheckName(name); err != nil {
		return User{}, err
	}
	if err := password.ValidateForAccount(pw, name); err != nil {
		return User{}, err
	}
	hash, err := s.Hasher.Hash(ctx, pw)
	if err != nil {
		return User{}, err
	}
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return User{}, err
	}
	defer tx.Rollback()
	now := s.now().UTC().Truncate(time.Second)
	if admin {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES('setup_completed', ?)`, now.Format(time.RFC3339))
		if db.IsUnique(err) {
			if setup {
				return User{}, ErrSetupClosed
			}
		} else if err != nil {
			return User{}, err
		}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO users(name, pw_hash, is_admin, created_at, pw_changed_at, must_change_password) VALUES(?, ?, ?, ?, ?, ?)`,
		name, hash, admin, now.Unix(), now.Unix(), must)
	if db.IsUnique(err) {
		return User{}, ErrNameTaken
	}
	if err != nil {
		return User{}, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return User{}, err
	}
	if err := tx.Commit(); err != nil {
		return User{}, err
	}
	return User{ID: id, Name: name, Admin: admin, CreatedAt: now, MustChangePassword: must}, nil
}

const userCols = `id, name, is_admin, disabled, created_at, must_change_password, quota_bytes`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var created int64
	err := row.Scan(&u.ID, &u.Name, &u.Admin, &u.Disabled, &created, &u.MustChangePassword, &u.Quota)
	u.CreatedAt = time.Unix(created, 0).UTC()
	return u, err
}

// UserByID returns one user.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(s.DB.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return User{}, ErrNotFound
	}
	return u, err
}

// Users lists all accounts by name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY name COLLATE NOCASE`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Authenticate checks a name and password from the client at remote
// (host:port), subject to throttling.
func (s *Store) Authenticate(ctx context.Context, name, pw, remote string) (User, error) {
	akey, nkey := accountKey(name), NetworkKey(remote)
	if err := s.throttled(ctx, akey, nkey); err != nil {
		return User{}, err
	}
	var hash string
	var created int64
	var u User
	err := s.DB.QueryRowContext(ctx, `SELECT id, name, is_admin, disabled, created_at, must_change_password, quota_bytes, pw_hash FROM users WHERE name = ?`, name).
		Scan(&u.ID, &u.Name, &u.Admin, &u.Disabled, &created, &u.MustChangePassword, &u.Quota, &hash)
	u.CreatedAt = time.Unix(created, 0).UTC()
	known := err == nil
	if err != nil && err != sql.ErrNoRows {
		return User{}, err
	}
	if !known {
		hash, err = s.dummy(ctx)
		if err != nil {
			return User{}, err
		}
	}
	ok, stale, err := s.Hasher.Verify(ctx, hash, pw)
	if err != nil {
		return User{}, err
	}
	if !ok || !known {
		if err := s.recordFailure(ctx, akey, s.Throttle.FreePerAccount); err != nil {
			return User{}, err
		}
		if err := s.recordFailure(ctx, nkey, s.Throttle.FreePerNetwork); err != nil {
			return User{}, err
		}
		return User{}, ErrBadCredentials
	}
	if err := s.clearFailures(ctx, akey); err != nil {
		return User{}, err
	}
	if u.Disabled {
		return User{}, ErrDisabled
	}
	if stale {
		if h, err := s.Hasher.Hash(ctx, pw); err == nil {
			s.DB.ExecContext(ctx, `UPDATE users SET pw_hash = ? WHERE id = ?`, h, u.ID)
		}
	}
	return u, nil
}

func (s *Store) dummy(ctx context.Context) (string, error) {
	if s.dummyHash == "" {
		h, err := s.Hasher.Hash(ctx, "no such user: compare against something")
		if err != nil {
			return "", err
		}
		s.dummyHash = h
	}
	return s.dummyHash, nil
}

// ChangePassword replaces a user's password after checking the current one,
// and ends the user's other sessions (keepToken stays signed in).
func (s *Store) ChangePassword(ctx context.Context, userID int64, current, next, keepToken string) error {
	return s.ChangePasswordWith(ctx, userID, current, next, keepToken, nil)
}

// ChangePasswordWith is ChangePassword that also runs inTx (if not nil)
// inside the transaction that stores the new hash, so that what depends on
// the password (the key bundle, re-wrapped under it) changes with it or not
// at all. It clears MustChangePassword.
func (s *Store) ChangePasswordWith(ctx context.Context, userID int64, current, next, keepToken string, inTx func(*sql.Tx) error) error {
	var name, hash string
	if err := s.DB.QueryRowContext(ctx, `SELECT name, pw_hash FROM users WHERE id = ?`, userID).Scan(&name, &hash); err != nil {
		if err == sql.ErrNoRows {
			return ErrNotFound
		}
		return err
	}
	ok, _, err := s.Hasher.Verify(ctx, hash, current)
	if err != nil {
		return err
	}
	if !ok {
		return ErrWrongPassword
	}
	if err := password.ValidateForAccount(next, name); err != nil {
		return err
	}
	if next == current {
		return &InvalidError{Field: "new", Message: "The new password is the same as the current one."}
	}
	nh, err := s.Hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE users SET pw_hash = ?, pw_changed_at = ?, must_change_password = 0 WHERE id = ?`, nh, s.now().Unix(), userID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND token_hash != ?`, userID, tokenHash(keepToken)); err != nil {
		return err
	}
	if inTx != nil {
		if err := inTx(tx); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// ResetPassword sets a user's password without the current one (the
// caller proved the right to do so otherwise: the recovery key), runs inTx
// (if not nil) in the same transaction, clears MustChangePassword and ends
// every session of the user. The password rule applies.
func (s *Store) ResetPassword(ctx context.Context, userID int64, next string, inTx func(*sql.Tx) error) error {
	var name string
	if err := s.DB.QueryRowContext(ctx, `SELECT name FROM users WHERE id = ?`, userID).Scan(&name); err != nil {
		if err == sql.ErrNoRows {
			return ErrNotFound
		}
		return err
	}
	if err := password.ValidateForAccount(next, name); err != nil {
		return err
	}
	nh, err := s.Hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE users SET pw_hash = ?, pw_changed_at = ?, must_change_password = 0 WHERE id = ?`, nh, s.now().Unix(), userID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
		return err
	}
	if inTx != nil {
		if err := inTx(tx); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// UpdateUser changes an account's disabled or admin flag. Disabling ends the
// user's sessions at once. The last active administrator cannot be disabled
// or demoted, so the node never becomes unmanageable.
func (s *Store) UpdateUser(ctx context.Context, id int64, disabled, admin *bool) (User, error) {
	return s.Update(ctx, id, UserUpdate{Disabled: disabled, Admin: admin})
}

// UserUpdate lists the changes of Update; nil fields stay.
type UserUpdate struct {
	Disabled, Admin *bool
	// Quota is the storage quota in bytes (0: none).
	Quota *int64
}

// Update is UpdateUser with every changeable field.
func (s *Store) Update(ctx context.Context, id int64, up UserUpdate) (User, error) {
	disabled, admin := up.Disabled, up.Admin
	if up.Quota != nil && *up.Quota < 0 {
		return User{}, &InvalidError{Field: "quota", Message: "A quota is a number of bytes, 0 for none; it cannot be negative."}
	}
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return User{}, err
	}
	defer tx.Rollback()
	u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, err
	}
	if disabled != nil {
		u.Disabled = *disabled
	}
	if admin != nil {
		u.Admin = *admin
	}
	if up.Quota != nil {
		u.Quota = *up.Quota
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled = ?, is_admin = ?, quota_bytes = ? WHERE id = ?`, u.Disabled, u.Admin, u.Quota, id); err != nil {
		return User{}, err
	}
	var admins int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE is_admin AND NOT disabled`).Scan(&admins); err != nil {
		return User{}, err
	}
	if admins == 0 {
		return User{}, ErrLastAdmin
	}
	if u.Disabled {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
			return User{}, err
		}
	}
	return u, tx.Commit()
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// TokenHash is the SHA-256 of a session token: what the database keeps, and
// what in-memory state tied to a session (the escrow key of an unlocked
// session) is keyed by.
func TokenHash(token string) []byte { return tokenHash(token) }

// TokenHash returns the hash of the session's token.
func (s Session) TokenHash() []byte { return s.tokenHash }

// SessionExists reports whether the session with the given token hash is
// still in the database and not expired. (Idle sessions are judged by
// Session at their next use.)
func (s *Store) SessionExists(ctx context.Context, th []byte) (bool, error) {
	var expires int64
	err := s.DB.QueryRowContext(ctx, `SELECT expires_at FROM sessions WHERE token_hash = ?`, th).Scan(&expires)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return s.now().Unix() < expires, nil
}

// NewSession signs a user in and returns the secret token for the cookie.
func (s *Store) NewSession(ctx context.Context, userID int64, userAgent, remote string) (string, Session, error) {
	token, err := randomToken()
	if err != nil {
		return "", Session{}, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", Session{}, err
	}
	now := s.now().UTC().Truncate(time.Second)
	sess := Session{UserID: userID, CSRFToken: csrf, CreatedAt: now, ExpiresAt: now.Add(s.SessionLifetime), tokenHash: tokenHash(token)}
	if len(userAgent) > 200 {
		userAgent = userAgent[:200]
	}
	host := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		host = h
	}
	_, err = s.DB.ExecContext(ctx, `INSERT INTO sessions(token_hash, user_id, csrf_token, created_at, last_seen, expires_at, user_agent, remote) VALUES(?, ?, ?, ?, ?, ?, ?, ?)`,
		sess.tokenHash, userID, csrf, now.Unix(), now.Unix(), sess.ExpiresAt.Unix(), userAgent, host)
	if err != nil {
		return "", Session{}, err
	}
	return token, sess, nil
}

// Session looks up a session token. Expired, idle, unknown tokens and tokens
// of disabled users all give ErrNoSession.
func (s *Store) Session(ctx context.Context, token string) (Session, User, error) {
	if token == "" || len(token) > 100 {
		return Session{}, User{}, ErrNoSession
	}
	th := tokenHash(token)
	var sess Session
	var created, lastSeen, expires, ucreated int64
	var u User
	err := s.DB.QueryRowContext(ctx, `SELECT s.user_id, s.csrf_token, s.created_at, s.last_seen, s.expires_at,
			u.id, u.name, u.is_admin, u.disabled, u.created_at, u.must_change_password, u.quota_bytes
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`, th).
		Scan(&sess.UserID, &sess.CSRFToken, &created, &lastSeen, &expires, &u.ID, &u.Name, &u.Admin, &u.Disabled, &ucreated,
			&u.MustChangePassword, &u.Quota)
	if err == sql.ErrNoRows {
		return Session{}, User{}, ErrNoSession
	}
	if err != nil {
		return Session{}, User{}, err
	}
	now := s.now().Unix()
	if now >= expires || now-lastSeen >= int64(s.SessionIdle/time.Second) || u.Disabled {
		s.DB.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, th)
		return Session{}, User{}, ErrNoSession
	}
	// Refresh last_seen at most once a minute: a write per request would
	// serialise every reader behind SQLite's single writer.
	if now-lastSeen >= 60 {
		s.DB.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE token_hash = ?`, now, th)
	}
	sess.CreatedAt = time.Unix(created, 0).UTC()
	sess.ExpiresAt = time.Unix(expires, 0).UTC()
	sess.tokenHash = th
	u.CreatedAt = time.Unix(ucreated, 0).UTC()
	return sess, u, nil
}

// EndSession signs out: the token stops working at once.
func (s *Store) EndSession(ctx context.Context, token string) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash(token))
	return err
}

// PurgeExpired deletes ended sessions and forgotten login failures.
func (s *Store) PurgeExpired(ctx context.Context) error {
	now := s.now().Unix()
	if _, err := s.DB.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR last_seen <= ?`, now, now-int64(s.SessionIdle/time.Second)); err != nil {
		return err
	}
	_, err := s.DB.ExecContext(ctx, `DELETE FROM login_failures WHERE last_failure <= ? AND blocked_until <= ?`, now-int64(s.Throttle.Forget/time.Second), now)
	return err
}
