package vault

import (
	"crypto/ecdh"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// Sealed box (docs/spec/keys.md §6): anonymous public-key encryption to an
// X25519 public key R, as age's X25519 recipient and libsodium's
// crypto_box_seal do:
//
//	e      = 32 random bytes, E = X25519(e, 9)
//	shared = X25519(e, R)                     (refused if all zero)
//	key    = HKDF-SHA256(ikm shared, salt E ‖ R, info "communitycube/v1/sealed-box")
//	box    = 0x01 ‖ E ‖ ChaCha20-Poly1305(key, nonce 0¹², plaintext, ad = 0x01 ‖ context)
//
// The key is used once (e is fresh), so the nonce is fixed at zero.
const (
	boxVersion = 0x01
	// BoxOverhead is how much longer a sealed box is than its plaintext.
	BoxOverhead = 1 + 32 + chacha20poly1305.Overhead
)

func boxKey(shared, ephemeral, recipient []byte) [KeySize]byte {
	salt := append(append(make([]byte, 0, 64), ephemeral...), recipient...)
	return derive(shared, salt, labelSealedBox)
}

// SealTo encrypts plaintext (at most MaxMetaSize bytes) so that only the
// holder of the private key of recipient (an X25519 public key, 32 bytes)
// can read it. The sender needs no key of its own and stays anonymous: for
// file drops by people without an account, and for sharing. context is
// bound as associated data (say what the box is for and where it goes,
// e.g. a drop and upload id); OpenSealed must be given the same.
func SealTo(recipient []byte, plaintext []byte, context string) ([]byte, error) {
	if len(plaintext) > MaxMetaSize {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrTooLarge, len(plaintext), MaxMetaSize)
	}
	pub, err := ecdh.X25519().NewPublicKey(recipient)
	if err != nil {
		return nil, fmt.Errorf("%w: %d bytes", ErrPublicKey, len(recipient))
	}
	var e Key
	random(e[:])
	defer e.Zero()
	priv, err := ecdh.X25519().NewPrivateKey(e[:])
	if err != nil {
		panic(err)
	}
	shared, err := priv.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: a low-order point", ErrPublicKey)
	}
	defer clear(shared)
	ephemeral := priv.PublicKey().Bytes()
	key := boxKey(shared, ephemeral, recipient)
	defer clear(key[:])
	aead, err := chacha20poly1305.New(key[:])
	if err != nil {
		panic(err)
	}
	out := make([]byte, 0, BoxOverhead+len(plaintext))
	out = append(append(out, boxVersion), ephemeral...)
	var nonce [chacha20poly1305.NonceSize]byte
	return aead.Seal(out, nonce[:], plaintext, append([]byte{boxVersion}, context...)), nil
}

// OpenSealed decrypts a box SealTo made for u's public key with the same
// context. A box for another key or context, or altered, gives ErrCorrupt.
func (u *Unlocked) OpenSealed(sealed []byte, context string) ([]byte, error) {
	switch {
	case len(sealed) == 0:
		return nil, fmt.Errorf("%w: empty sealed box", ErrCorrupt)
	case sealed[0] != boxVersion:
		return nil, fmt.Errorf("%w: sealed box version %d", ErrVersion, sealed[0])
	case len(sealed) < BoxOverhead:
		return nil, fmt.Errorf("%w: sealed box of %d bytes is too short", ErrCorrupt, len(sealed))
	case len(sealed) > BoxOverhead+MaxMetaSize:
		return nil, fmt.Errorf("%w: sealed box of %d bytes is too long", ErrCorrupt, len(sealed))
	}
	ephemeral := sealed[1:33]
	epub, err := ecdh.X25519().NewPublicKey(ephemeral)
	if err != nil {
		return nil, fmt.Errorf("%w: bad ephemeral key", ErrCorrupt)
	}
	priv, err := ecdh.X25519().NewPrivateKey(u.private[:])
	if err != nil {
		panic(err)
	}
	shared, err := priv.ECDH(epub)
	if err != nil {
		return nil, fmt.Errorf("%w: ephemeral key is a low-order point", ErrCorrupt)
	}
	defer clear(shared)
	key := boxKey(shared, ephemeral, u.public)
	defer clear(key[:])
	aead, err := chacha20poly1305.New(key[:])
	if err != nil {
		panic(err)
	}
	var nonce [chacha20poly1305.NonceSize]byte
	pt, err := aead.Open(nil, nonce[:], sealed[33:], append([]byte{boxVersion}, context...))
	if err != nil {
		return nil, fmt.Errorf("%w: sealed box: authentication failed (altered, or not for this key or context)", ErrCorrupt)
	}
	return pt, nil
}
