package files

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"

	"github.com/communitycube/cube/server/auth"
	"github.com/communitycube/cube/shared/api"
)

// GetKeys returns the user's key bundle and root folder, or ErrNoKeys.
func (s *Store) GetKeys(ctx context.Context, uid int64) (api.Keys, error) {
	var k api.Keys
	err := s.DB.QueryRowContext(ctx, `SELECT k.bundle, k.root_folder, u.must_change_password
		FROM user_keys k JOIN users u ON u.id = k.user_id WHERE k.user_id = ?`, uid).Scan(&k.Bundle, &k.RootFolderID, &k.MustChangePassword)
	if err == sql.ErrNoRows {
		return k, ErrNoKeys
	}
	return k, err
}

// PutKeys stores the user's key bundle. The first time, it also creates
// the root folder (req.RootFolder) and records the hash of the recovery
// key's proof (req.RecoveryAuth), all at once. Later, it replaces the bundle
// (and, if given, the recovery proof) only if req.BaseBundle is the stored
// bundle, so that two devices cannot overwrite each other unawares.
func (s *Store) PutKeys(ctx context.Context, uid int64, req api.PutKeysRequest) (api.Keys, error) {
	if err := checkBlob("bundle", req.Bundle, 1, MaxBundle); err != nil {
		return api.Keys{}, err
	}
	if len(req.RecoveryAuth) > 0 {
		if err := checkBlob("recovery_auth", req.RecoveryAuth, RecoveryAuth, RecoveryAuth); err != nil {
			return api.Keys{}, err
		}
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var must bool
		if err := tx.QueryRowContext(ctx, `SELECT must_change_password FROM users WHERE id = ?`, uid).Scan(&must); err != nil {
			return err
		}
		var stored []byte
		err := tx.QueryRowContext(ctx, `SELECT bundle FROM user_keys WHERE user_id = ?`, uid).Scan(&stored)
		now := s.nowMS()
		switch {
		case err == sql.ErrNoRows:
			if must {
				return ErrMustChangePassword
			}
			if req.RootFolder == nil {
				return invalid("root_folder", "The first keys come with the root folder.")
			}
			if len(req.RecoveryAuth) == 0 {
				return invalid("recovery_auth", "The first keys come with the recovery key's proof (recovery_auth).")
			}
			root := *req.RootFolder
			if root.Parent != "" {
				return invalid("root_folder", "The root folder has no parent.")
			}
			if err := checkID("root_folder.id", root.ID); err != nil {
				return err
			}
			if err := validateCreate(&root, true); err != nil {
				return err
			}
			if err := s.insertNode(ctx, tx, uid, &root, root.KeepHistory != nil && *root.KeepHistory); err != nil {
				return err
			}
			h := sha256.Sum256(req.RecoveryAuth)
			_, err := tx.ExecContext(ctx, `INSERT INTO user_keys(user_id, bundle, root_folder, recovery_hash, created_at, updated_at) VALUES(?, ?, ?, ?, ?, ?)`,
				uid, req.Bundle, root.ID, h[:], now, now)
			return err
		case err != nil:
			return err
		}
		if req.RootFolder != nil {
			return ErrKeysExist
		}
		if !bytes.Equal(req.BaseBundle, stored) {
			return ErrKeysChanged
		}
		if len(req.RecoveryAuth) > 0 {
			h := sha256.Sum256(req.RecoveryAuth)
			if _, err := tx.ExecContext(ctx, `UPDATE user_keys SET recovery_hash = ? WHERE user_id = ?`, h[:], uid); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE user_keys SET bundle = ?, updated_at = ? WHERE user_id = ?`, req.Bundle, now, uid)
		return err
	})
	if err != nil {
		return api.Keys{}, err
	}
	return s.GetKeys(ctx, uid)
}

// PasswordBundle returns what a password change must do in its
// transaction (auth.Store.ChangePasswordWith): store the bundle re-wrapped
// under the new password. A user with keys must send it (else their keys
// would stay wrapped under the old password); one without cannot.
func (s *Store) PasswordBundle(ctx context.Context, uid int64, bundle []byte) (func(*sql.Tx) error, error) {
	if err := checkBlob("bundle", bundle, 0, MaxBundle); err != nil {
		return nil, err
	}
	return func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM user_keys WHERE user_id = ?`, uid).Scan(&one)
		has := err == nil
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		switch {
		case has && len(bundle) == 0:
			return invalid("bundle", "Your keys must be re-wrapped under the new password: send them (bundle) with the change.")
		case !has && len(bundle) > 0:
			return ErrNoKeys
		case !has:
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE user_keys SET bundle = ?, updated_at = ? WHERE user_id = ?`, bundle, s.nowMS(), uid)
		return err
	}, nil
}

// Recover checks a recovery key's proof for the account req.Name, from a
// client at remote (host:port), throttled like sign-in. It returns the
// user and their bundle. With req.NewPassword and req.Bundle, it also sets
// the password (the password rule applies) and stores the bundle,
// re-wrapped under it, in one transaction, and ends every session of the
// user; the caller then signs them in.
func (s *Store) Recover(ctx context.Context, req api.RecoverRequest, remote string) (auth.User, []byte, error) {
	if (req.NewPassword == "") != (len(req.Bundle) == 0) {
		return auth.User{}, nil, invalid("new_password", "A new password comes with the bundle re-wrapped under it, and the other way round.")
	}
	if err := checkBlob("bundle", req.Bundle, 0, MaxBundle); err != nil {
		return auth.User{}, nil, err
	}
	if len(req.Name) > 256 || len(req.NewPassword) > 4096 {
		return auth.User{}, nil, ErrWrongRecovery
	}
	if err := s.Auth.CheckThrottle(ctx, req.Name, remote); err != nil {
		return auth.User{}, nil, err
	}
	var (
		uid      int64
		disabled bool
		stored   []byte
		bundle   []byte
	)
	err := s.DB.QueryRowContext(ctx, `SELECT u.id, u.disabled, k.recovery_hash, k.bundle FROM users u JOIN user_keys k ON k.user_id = u.id WHERE u.name = ?`,
		req.Name).Scan(&uid, &disabled, &stored, &bundle)
	if err != nil && err != sql.ErrNoRows {
		return auth.User{}, nil, err
	}
	known := err == nil
	if !known {
		stored = make([]byte, sha256.Size) // compare anyway: the same work either way
	}
	h := sha256.Sum256(req.RecoveryAuth)
	ok := subtle.ConstantTimeCompare(h[:], stored) == 1 && len(req.RecoveryAuth) == RecoveryAuth
	if !ok || !known {
		if err := s.Auth.RecordFailedAttempt(ctx, req.Name, remote); err != nil {
			return auth.User{}, nil, err
		}
		return auth.User{}, nil, ErrWrongRecovery
	}
	if err := s.Auth.ClearFailedAttempts(ctx, req.Name); err != nil {
		return auth.User{}, nil, err
	}
	if disabled {
		return auth.User{}, nil, auth.ErrDisabled
	}
	if req.NewPassword != "" {
		err := s.Auth.ResetPassword(ctx, uid, req.NewPassword, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE user_keys SET bundle = ?, updated_at = ? WHERE user_id = ?`, req.Bundle, s.nowMS(), uid)
			return err
		})
		if err != nil {
			return auth.User{}, nil, err
		}
		s.EndOtherSessions(uid, nil)
		bundle = req.Bundle
	}
	u, err := s.Auth.UserByID(ctx, uid)
	return u, bundle, err
}
