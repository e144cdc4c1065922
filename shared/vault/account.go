package vault

import (
	"bytes"
	"crypto/ecdh"
	"crypto/subtle"
	"errors"
	"fmt"
)

// Bundle is an account's key material as the node stores it. Every field is
// safe to store server-side: the secrets in it are wrapped. Encode it with
// MarshalBinary (the opaque api.Keys.Bundle) and read it with ParseBundle.
//
// Methods that change the account (ChangePassword, NewRecoveryKey) return a
// new Bundle and leave their receiver as it was.
type Bundle struct {
	KDF            KDFParams // the password derivation's cost
	Salt           []byte    // its salt (16 to 64 bytes)
	RootByPassword []byte    // root key wrapped under the password key
	RootByRecovery []byte    // root key wrapped under the recovery key
	PublicKey      []byte    // X25519 public key (32 bytes), in clear
	PrivateKey     []byte    // X25519 private key wrapped under the root key
	EscrowKey      []byte    // escrow key wrapped under the root key
	RootFolderKey  []byte    // root folder's key wrapped under the root key
}

// Unlocked is an account's keys in memory. Call Zero when done with it.
type Unlocked struct {
	// RootFolder is the root folder's node key: the top of the tree.
	RootFolder Key
	// Escrow is the escrow key: standard-mode items' metadata keys are
	// wrapped under it, and the client hands it to the node for the
	// session (api.UnlockRequest).
	Escrow Key

	root    Key
	private Key // X25519 scalar
	public  []byte
}

// MaxBundleSize bounds ParseBundle's input.
const MaxBundleSize = 4096

// bundleVersion is the "v" of the encoding.
const bundleVersion = 1

// NewAccount makes an account's keys: a random root key, X25519 key pair,
// escrow key, root folder key and recovery key, the root key wrapped under
// both the password (Argon2id with p and a fresh salt) and the recovery key.
// Show the recovery key to the user once; it is not stored anywhere.
func NewAccount(password string, p KDFParams) (*Bundle, *Unlocked, RecoveryKey, error) {
	var rk RecoveryKey
	kdf, err := newStoredKDF(p)
	if err != nil {
		return nil, nil, rk, err
	}
	pk, err := passwordKey(password, kdf.salt, p)
	if err != nil {
		return nil, nil, rk, err
	}
	defer pk.Zero()
	u := &Unlocked{root: NewKey(), Escrow: NewKey(), RootFolder: NewKey(), private: NewKey()}
	priv, err := ecdh.X25519().NewPrivateKey(u.private[:])
	if err != nil {
		panic(err) // impossible: every 32-byte string is an X25519 private key
	}
	u.public = priv.PublicKey().Bytes()
	rk = newRecoveryKey()
	b := &Bundle{
		KDF:            p,
		Salt:           kdf.salt,
		RootByPassword: Wrap(pk, u.root, slotRootByPassword),
		RootByRecovery: Wrap(Key(rk), u.root, slotRootByRecovery),
		PublicKey:      bytes.Clone(u.public),
		PrivateKey:     Wrap(u.root, u.private, slotPrivateKey),
		EscrowKey:      Wrap(u.root, u.Escrow, slotEscrowKey),
		RootFolderKey:  Wrap(u.root, u.RootFolder, slotRootFolderKey),
	}
	return b, u, rk, nil
}

// check validates the shape of b (not its KDF cost: see Unlock).
func (b *Bundle) check() error {
	if err := (storedKDF{b.KDF, b.Salt}).check(); err != nil {
		return err
	}
	if len(b.PublicKey) != 32 {
		return fmt.Errorf("%w: public key of %d bytes", ErrCorrupt, len(b.PublicKey))
	}
	for _, w := range [][]byte{b.RootByPassword, b.RootByRecovery, b.PrivateKey, b.EscrowKey, b.RootFolderKey} {
		if err := checkWrapped(w); err != nil {
			return err
		}
	}
	return nil
}

// Unlock opens the bundle with the password. A wrong password gives
// ErrWrongPassword; parameters a hostile node could have planted (too weak,
// or too costly) give ErrKDFParams before any derivation.
func (b *Bundle) Unlock(password string) (*Unlocked, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	pk, err := storedKDF{b.KDF, b.Salt}.derive(password)
	if err != nil {
		return nil, err
	}
	defer pk.Zero()
	root, err := Unwrap(pk, b.RootByPassword, slotRootByPassword)
	if err != nil {
		return nil, ErrWrongPassword
	}
	return b.unlockRoot(root)
}

// UnlockWithRecovery opens the bundle with the recovery key (the password is
// lost). A key that does not open it gives ErrWrongRecoveryKey. Set a new
// password next (ChangePassword). The recovery key stays valid until
// NewRecoveryKey replaces it.
func (b *Bundle) UnlockWithRecovery(r RecoveryKey) (*Unlocked, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	root, err := Unwrap(Key(r), b.RootByRecovery, slotRootByRecovery)
	if err != nil {
		return nil, ErrWrongRecoveryKey
	}
	return b.unlockRoot(root)
}

func (b *Bundle) unlockRoot(root Key) (*Unlocked, error) {
	u := &Unlocked{root: root}
	fail := func(what string, err error) (*Unlocked, error) {
		u.Zero()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	var err error
	if u.private, err = Unwrap(root, b.PrivateKey, slotPrivateKey); err != nil {
		return fail("private key", err)
	}
	if u.Escrow, err = Unwrap(root, b.EscrowKey, slotEscrowKey); err != nil {
		return fail("escrow key", err)
	}
	if u.RootFolder, err = Unwrap(root, b.RootFolderKey, slotRootFolderKey); err != nil {
		return fail("root folder key", err)
	}
	priv, err := ecdh.X25519().NewPrivateKey(u.private[:])
	if err != nil {
		panic(err)
	}
	u.public = priv.PublicKey().Bytes()
	// The public key is stored in clear: a node that replaced it would get
	// what others seal to this user.
	if !bytes.Equal(u.public, b.PublicKey) {
		return fail("public key", fmt.Errorf("%w: it does not match the private key", ErrCorrupt))
	}
	return u, nil
}

// owns reports whether b holds u's keys (so re-wrapping u's root key into
// it cannot mix two accounts).
func (u *Unlocked) owns(b *Bundle) error {
	if err := b.check(); err != nil {
		return err
	}
	e, err := Unwrap(u.root, b.EscrowKey, slotEscrowKey)
	defer e.Zero()
	if err != nil || subtle.ConstantTimeCompare(e[:], u.Escrow[:]) != 1 || !bytes.Equal(b.PublicKey, u.public) {
		return fmt.Errorf("%w: the bundle is not this account's", ErrCorrupt)
	}
	return nil
}

// ChangePassword returns b with the root key re-wrapped under newPassword
// (with p and a fresh salt). Nothing else changes: no other key, no file.
// Anyone holding a copy of the old bundle and the old password can still
// open the root key from that copy: a password change is not a key rotation.
func (u *Unlocked) ChangePassword(b *Bundle, newPassword string, p KDFParams) (*Bundle, error) {
	if err := u.owns(b); err != nil {
		return nil, err
	}
	kdf, err := newStoredKDF(p)
	if err != nil {
		return nil, err
	}
	pk, err := passwordKey(newPassword, kdf.salt, p)
	if err != nil {
		return nil, err
	}
	defer pk.Zero()
	nb := b.clone()
	nb.KDF, nb.Salt = p, kdf.salt
	nb.RootByPassword = Wrap(pk, u.root, slotRootByPassword)
	return nb, nil
}

// NewRecoveryKey returns b with a new recovery key, and that key. Once the
// node stores the new bundle the old recovery key no longer opens it (a copy
// of the old bundle still opens with the old key).
func (u *Unlocked) NewRecoveryKey(b *Bundle) (*Bundle, RecoveryKey, error) {
	var rk RecoveryKey
	if err := u.owns(b); err != nil {
		return nil, rk, err
	}
	rk = newRecoveryKey()
	nb := b.clone()
	nb.RootByRecovery = Wrap(Key(rk), u.root, slotRootByRecovery)
	return nb, rk, nil
}

// PublicKey returns the account's X25519 public key.
func (u *Unlocked) PublicKey() []byte { return bytes.Clone(u.public) }

// Zero overwrites the keys in u. See the package documentation for what Go
// cannot wipe.
func (u *Unlocked) Zero() {
	u.root.Zero()
	u.private.Zero()
	u.Escrow.Zero()
	u.RootFolder.Zero()
}

func (b *Bundle) clone() *Bundle {
	return &Bundle{
		KDF:            b.KDF,
		Salt:           bytes.Clone(b.Salt),
		RootByPassword: bytes.Clone(b.RootByPassword),
		RootByRecovery: bytes.Clone(b.RootByRecovery),
		PublicKey:      bytes.Clone(b.PublicKey),
		PrivateKey:     bytes.Clone(b.PrivateKey),
		EscrowKey:      bytes.Clone(b.EscrowKey),
		RootFolderKey:  bytes.Clone(b.RootFolderKey),
	}
}

// MarshalBinary encodes b (CBOR, docs/spec/keys.md §7.2).
func (b *Bundle) MarshalBinary() ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	var m cborMap
	m.addUint("v", bundleVersion)
	m.addMap("kdf", storedKDF{b.KDF, b.Salt}.cbor())
	m.addBytes("root_by_password", b.RootByPassword)
	m.addBytes("root_by_recovery", b.RootByRecovery)
	m.addBytes("public_key", b.PublicKey)
	m.addBytes("private_key", b.PrivateKey)
	m.addBytes("escrow_key", b.EscrowKey)
	m.addBytes("root_folder_key", b.RootFolderKey)
	return m.encode(), nil
}

// ParseBundle decodes a bundle, strictly: the exact encoding MarshalBinary
// produces, or ErrCorrupt (ErrVersion for an unknown version). It does not
// judge the KDF cost; Unlock does.
func ParseBundle(data []byte) (*Bundle, error) {
	if len(data) > MaxBundleSize {
		return nil, fmt.Errorf("%w: bundle of %d bytes", ErrCorrupt, len(data))
	}
	b := &Bundle{}
	r := &cborReader{b: data}
	var version uint64
	seen := 0
	const maxWrapped = 128
	err := r.fields("bundle", 8, func(key string) error {
		var err error
		switch key {
		case "v":
			version, err = r.uint(key, 1<<32)
			if err == nil && version != bundleVersion {
				err = fmt.Errorf("%w: bundle version %d", ErrVersion, version)
			}
		case "kdf":
			var s storedKDF
			s, err = readKDF(r)
			b.KDF, b.Salt = s.params, s.salt
		case "root_by_password":
			b.RootByPassword, err = r.bytes(key, maxWrapped)
		case "root_by_recovery":
			b.RootByRecovery, err = r.bytes(key, maxWrapped)
		case "public_key":
			b.PublicKey, err = r.bytes(key, maxWrapped)
		case "private_key":
			b.PrivateKey, err = r.bytes(key, maxWrapped)
		case "escrow_key":
			b.EscrowKey, err = r.bytes(key, maxWrapped)
		case "root_folder_key":
			b.RootFolderKey, err = r.bytes(key, maxWrapped)
		default:
			return r.unknown("bundle", key)
		}
		seen++
		return err
	})
	if err == nil {
		err = r.end()
	}
	if err == nil && seen != 8 {
		err = fmt.Errorf("%w: bundle: missing fields", ErrCorrupt)
	}
	if err == nil {
		err = b.check()
	}
	if err != nil {
		if errors.Is(err, ErrVersion) {
			return nil, err
		}
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return b, nil
}
