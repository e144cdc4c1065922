// Package files keeps the node's side of Files (docs/files.md): the users'
// key bundles, the tree of files and folders with their sealed metadata,
// file versions, trash, favourites, uploads in progress, settings and
// quotas, all in the node's SQLite database; plus the in-memory escrow keys
// of unlocked sessions, the background jobs (trash auto-empty, lease
// renewal) and the bridge to the grid (Grid).
//
// Every rule lives here, not in the HTTP handlers: a user only ever sees or
// changes their own nodes (a foreign id is "not found"), every change names
// the node's version counter it was based on (a stale one is a
// *ConflictError carrying the current node), names are unique among a
// folder's live children by their HMAC, folders never move into their own
// subtree, nothing is created or moved into the trash, and every blob has a
// size limit. Methods take the acting user's id; they never trust the
// client with anything the node can look up (a version's content is a
// finished upload of this user, found by storage index, or a version of
// this user).
package files

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/communitycube/cube/shared/units"
	"log/slog"
	"time"

	"github.com/communitycube/cube/server/auth"
	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
)

// Limits on what a client may store.
const (
	IDLength      = 26       // node and version ids: 128 bits in lowercase base32
	HMACSize      = 32       // a name's HMAC
	MaxMeta       = 64 << 10 // sealed metadata of a node or a version
	MaxWrapped    = 256      // a wrapped key, an item's lock, an escrow-wrapped key
	MaxBundle     = 16 << 10 // a user's key bundle (shared/vault: at most 4 KiB)
	RecoveryAuth  = 32       // the recovery key's proof of possession
	EscrowKeySize = 32       // the escrow key of POST unlock

	DefaultTrashDays = 30
	MaxTrashDays     = 3650

	DefaultChildren = 500
	MaxChildren     = 1000
	DefaultRecent   = 50
	MaxRecent       = 500
	// pageBytes bounds the blobs of one listing page, so an answer stays
	// well under what clients read (api.MaxResponse).
	pageBytes = 8 << 20
)

// Errors. Their text is shown to the user.
var (
	ErrNotFound           = errors.New("No such file or folder.")
	ErrVersionNotFound    = errors.New("No such version of this file.")
	ErrUploadNotFound     = errors.New("No finished upload of yours has this storage index.")
	ErrNoUpload           = errors.New("No such upload.")
	ErrNoKeys             = errors.New("This account has no keys yet: create them first.")
	ErrNameTaken          = errors.New("An item with this name already exists in that folder.")
	ErrIDTaken            = errors.New("This id is already in use: choose another one.")
	ErrInTrash            = errors.New("That is in the trash: restore it first.")
	ErrMustChangePassword = errors.New("Choose your own password first: the one you have was set by an administrator.")
	ErrWrongRecovery      = errors.New("The recovery key is wrong, or there is no such account.")
	ErrKeysChanged        = errors.New("Your keys were changed elsewhere (another device?). Reload them and try again.")
	ErrKeysExist          = errors.New("This account already has keys and a root folder; to replace the bundle, send base_bundle.")
	ErrUploadTaken        = errors.New("Another upload uses this storage index; use another key.")
)

// ConflictError is a change refused because of the node's current state:
// usually a stale base version. Node is the current state, for the client
// to retry on top of.
type ConflictError struct {
	Node    api.Node
	Message string
}

func (e *ConflictError) Error() string { return e.Message }

func stale(n api.Node) error {
	return &ConflictError{Node: n, Message: "This item was changed meanwhile (perhaps on another device): here is its current state."}
}

// QuotaError refuses what would take a user over their quota.
type QuotaError struct {
	Used, Quota, Need int64
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("Not enough room: this needs %s, and you use %s of your %s quota (%s free). Empty the trash, delete old versions, or ask an administrator for more.",
		units.Bytes(e.Need), units.Bytes(e.Used), units.Bytes(e.Quota), units.Bytes(max(e.Quota-e.Used, 0)))
}

func invalid(field, format string, args ...any) error {
	return &auth.InvalidError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Store is the Files database. Create it with New.
type Store struct {
	DB   *sql.DB
	Auth *auth.Store
	// Escrow holds the escrow keys of unlocked sessions, in memory only.
	Escrow *Escrow
	// SessionKeys holds each session's random key (POST session/key), in
	// memory only, under which the browser seals its unlocked keys in
	// sessionStorage; a node restart forgets them.
	SessionKeys *Escrow
	Log         *slog.Logger
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// New returns a Store on the node's database.
func New(db *sql.DB, a *auth.Store, log *slog.Logger) *Store {
	if log == nil {
		log = slog.Default()
	}
	return &Store{DB: db, Auth: a, Escrow: NewEscrow(), SessionKeys: NewEscrow(), Log: log, Now: time.Now}
}

// EndSession forgets what is kept in memory for a session (its escrow
// and session keys), at sign-out.
func (s *Store) EndSession(tokenHash []byte) {
	s.Escrow.Drop(tokenHash)
	if s.SessionKeys != nil {
		s.SessionKeys.Drop(tokenHash)
	}
}

// EndOtherSessions forgets what is kept in memory for every session of the
// user but keep's (a token hash, or nil for all): their sessions ended
// (a password change, a recovery).
func (s *Store) EndOtherSessions(uid int64, keep []byte) {
	s.Escrow.DropUser(uid, keep)
	if s.SessionKeys != nil {
		s.SessionKeys.DropUser(uid, keep)
	}
}

func (s *Store) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Store) nowMS() int64 { return s.now().UnixMilli() }

func fromMS(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// tx runs f in a write transaction (the database's transactions start
// IMMEDIATE: they are serialised, so what f reads stays true until commit).
func (s *Store) tx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// ValidID reports whether s is a node or version id: 26 characters of
// lowercase base32 encoding exactly 16 bytes (the canonical spelling only).
func ValidID(s string) bool {
	if len(s) != IDLength {
		return false
	}
	b, err := cap.DecodeBase32(s)
	return err == nil && len(b) == 16
}

func checkID(field, id string) error {
	if !ValidID(id) {
		return invalid(field, "%s must be 26 lowercase base32 characters (16 random bytes).", field)
	}
	return nil
}

func checkBlob(field string, b []byte, minLen, maxLen int) error {
	switch {
	case len(b) > maxLen:
		return invalid(field, "%s is %d bytes long; at most %d are allowed.", field, len(b), maxLen)
	case len(b) < minLen && minLen == maxLen:
		return invalid(field, "%s must be exactly %d bytes.", field, minLen)
	case len(b) < minLen:
		return invalid(field, "%s is missing or too short (at least %d bytes).", field, minLen)
	}
	return nil
}

func checkMode(mode string) error {
	if mode != api.ModeSecure && mode != api.ModeStandard {
		return invalid("mode", "mode must be %q or %q.", api.ModeSecure, api.ModeStandard)
	}
	return nil
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
