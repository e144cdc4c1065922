package vault

import (
	"crypto/ecdh"
	"fmt"
)

// secretVersion is the first byte of MarshalSecret's encoding.
const secretVersion = 1

// SecretSize is the size of MarshalSecret's output.
const SecretSize = 1 + 4*KeySize

// MarshalSecret returns u's keys in clear: a version byte, then the root
// key, the X25519 private key, the escrow key and the root folder key (32
// bytes each). It exists so that a client can keep an unlocked account
// across restarts (a browser tab's reload, the CLI's next command) sealed
// under a key of its own; the result must never be stored or sent as it
// is. Clear it when done.
func (u *Unlocked) MarshalSecret() []byte {
	b := make([]byte, 0, SecretSize)
	b = append(b, secretVersion)
	b = append(b, u.root[:]...)
	b = append(b, u.private[:]...)
	b = append(b, u.Escrow[:]...)
	b = append(b, u.RootFolder[:]...)
	return b
}

// UnmarshalSecret is the inverse of MarshalSecret (the public key is
// derived again from the private key). It does not check the keys against
// a bundle: the caller sealed them itself.
func UnmarshalSecret(b []byte) (*Unlocked, error) {
	if len(b) == 0 || b[0] != secretVersion {
		return nil, fmt.Errorf("%w: unlocked keys of an unknown format", ErrVersion)
	}
	if len(b) != SecretSize {
		return nil, fmt.Errorf("%w: unlocked keys of %d bytes, want %d", ErrCorrupt, len(b), SecretSize)
	}
	u := &Unlocked{}
	b = b[1:]
	copy(u.root[:], b[:KeySize])
	copy(u.private[:], b[KeySize:2*KeySize])
	copy(u.Escrow[:], b[2*KeySize:3*KeySize])
	copy(u.RootFolder[:], b[3*KeySize:])
	priv, err := ecdh.X25519().NewPrivateKey(u.private[:])
	if err != nil {
		panic(err) // impossible: every 32-byte string is an X25519 private key
	}
	u.public = priv.PublicKey().Bytes()
	return u, nil
}
