package vault

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/communitycube/cube/shared/netstring"
)

// Errors. Functions return these wrapped (test with errors.Is) with details.
var (
	// ErrWrongPassword: the password does not open the account's (or the
	// item's) key. Indistinguishable from a tampered blob, by design.
	ErrWrongPassword = errors.New("vault: wrong password")
	// ErrWrongRecoveryKey: a well-formed recovery key that does not open
	// this account (another account's, or one replaced by a newer one).
	ErrWrongRecoveryKey = errors.New("vault: this recovery key does not open this account")
	// ErrRecoveryKeyFormat: the text is not a recovery key (wrong length,
	// a character recovery keys do not use, or a typo caught by the checksum).
	ErrRecoveryKeyFormat = errors.New("vault: not a valid recovery key")
	// ErrCorrupt: a blob or encoding is malformed, was tampered with, or is
	// presented under the wrong key or in the wrong slot (another node, another
	// version, another purpose).
	ErrCorrupt = errors.New("vault: corrupt or tampered data")
	// ErrVersion: a format version this code does not know (written by a
	// newer CommunityCube, or garbage).
	ErrVersion = errors.New("vault: unsupported format version")
	// ErrKDFParams: password-derivation parameters outside the accepted
	// range (too weak to protect the password, or costly enough to exhaust
	// the client). Parameters come from the node, which is not trusted.
	ErrKDFParams = errors.New("vault: unacceptable password derivation parameters")
	// ErrInvalidName: see ValidateName.
	ErrInvalidName = errors.New("vault: invalid name")
	// ErrInvalidMeta: a metadata value that cannot be stored (Marshal).
	ErrInvalidMeta = errors.New("vault: invalid metadata")
	// ErrTooLarge: a plaintext over MaxMetaSize.
	ErrTooLarge = errors.New("vault: too large")
	// ErrPublicKey: not a usable X25519 public key.
	ErrPublicKey = errors.New("vault: invalid public key")
	// ErrEmptyPassword: passwords must not be empty.
	ErrEmptyPassword = errors.New("vault: empty password")
)

// KeySize is the size of every symmetric key in this package.
const KeySize = 32

// Key is a 32-byte symmetric key: the root key, the escrow key, a node
// (folder or file) key, a password key. A Key is never used directly as a
// cipher or MAC key: every use derives a subkey with HKDF-SHA256 and a label
// of its own (docs/spec/keys.md §3). Its String method does not print it.
type Key [KeySize]byte

// MetaKey is a node's metadata key (Key.MetaKey): it seals the metadata of a
// folder's children and the version metadata of a file. It is a type of its
// own so that a node key cannot be passed where a metadata key is expected.
// In standard mode this is what the node is given (wrapped under the escrow
// key), never the node key, which would open the whole subtree.
type MetaKey [KeySize]byte

func (Key) String() string       { return "vault.Key(redacted)" }
func (Key) GoString() string     { return "vault.Key(redacted)" }
func (MetaKey) String() string   { return "vault.MetaKey(redacted)" }
func (MetaKey) GoString() string { return "vault.MetaKey(redacted)" }

// Zero overwrites k with zeros.
func (k *Key) Zero() { clear(k[:]) }

// Zero overwrites k with zeros.
func (k *MetaKey) Zero() { clear(k[:]) }

// randReader is the source of every random byte. Tests replace it to make
// test vectors; nothing else may.
var randReader io.Reader = rand.Reader

// random fills b. crypto/rand never fails (Go 1.24+ aborts the program
// instead), so an error here can only come from a test's reader.
func random(b []byte) {
	if _, err := io.ReadFull(randReader, b); err != nil {
		panic("vault: random source failed: " + err.Error())
	}
}

// NewKey returns a fresh random key.
func NewKey() Key {
	var k Key
	random(k[:])
	return k
}

// HKDF labels (info strings); docs/spec/keys.md §3.
const (
	labelWrap         = "communitycube/v1/wrap"
	labelMeta         = "communitycube/v1/meta"
	labelName         = "communitycube/v1/name"
	labelRecoveryAuth = "communitycube/v1/recovery-auth"
	labelSealedBox    = "communitycube/v1/sealed-box"
	labelLinkAuth     = "communitycube/v1/link-auth"
)

// derive returns HKDF-SHA256(ikm, salt, info) truncated to 32 bytes.
func derive(ikm, salt []byte, info string) (out [KeySize]byte) {
	b, err := hkdf.Key(sha256.New, ikm, salt, info, KeySize)
	if err != nil {
		panic(err) // impossible: 32 bytes is a valid length
	}
	copy(out[:], b)
	clear(b)
	return out
}

func (k *Key) sub(label string) [KeySize]byte { return derive(k[:], nil, label) }

// MetaKey returns k's metadata key: HKDF-SHA256(k, info "communitycube/v1/meta").
func (k Key) MetaKey() MetaKey { return MetaKey(k.sub(labelMeta)) }

// A Slot names the place a wrapped key or sealed blob belongs to: its
// purpose and the ids of what it belongs to. It is the associated data of
// the encryption, so a blob opens only in the slot it was made for: a node
// cannot move a wrapped key or a metadata blob to another node, version or
// purpose without detection. Make slots with the functions below.
type Slot struct{ ad []byte }

func newSlot(label string, ids ...string) Slot {
	ad := netstring.Encode([]byte("communitycube/v1/" + label))
	for _, id := range ids {
		ad = netstring.Append(ad, []byte(id))
	}
	return Slot{ad}
}

// String returns the slot's bytes (netstrings), for debugging.
func (s Slot) String() string { return string(s.ad) }

// The account's slots (Bundle).
var (
	slotRootByPassword = newSlot("root-key/password")
	slotRootByRecovery = newSlot("root-key/recovery")
	slotPrivateKey     = newSlot("private-key")
	slotEscrowKey      = newSlot("escrow-key")
	slotRootFolderKey  = newSlot("root-folder-key")
)

// NodeKeySlot is the slot of node nodeID's key wrapped under its parent
// folder's key.
func NodeKeySlot(nodeID string) Slot { return newSlot("node-key", nodeID) }

// EscrowSlot is the slot of node nodeID's metadata key wrapped under the
// user's escrow key (standard mode).
func EscrowSlot(nodeID string) Slot { return newSlot("escrow", nodeID) }

// MetaSlot is the slot of node nodeID's sealed FolderMeta or FileMeta
// (sealed under its parent folder's metadata key).
func MetaSlot(nodeID string) Slot { return newSlot("meta", nodeID) }

// VersionSlot is the slot of the sealed VersionMeta of version versionID
// of file nodeID (sealed under the file's metadata key).
func VersionSlot(nodeID, versionID string) Slot { return newSlot("version-meta", nodeID, versionID) }

// lockSlot is the slot of node nodeID's key wrapped under its own password.
func lockSlot(nodeID string) Slot { return newSlot("lock", nodeID) }

// Symmetric blob format, docs/spec/keys.md §4:
//
//	0x01 ‖ nonce (24) ‖ XChaCha20-Poly1305(key, nonce, plaintext, ad = 0x01 ‖ slot)
const (
	blobVersion  = 0x01
	nonceSize    = chacha20poly1305.NonceSizeX
	tagSize      = chacha20poly1305.Overhead
	blobOverhead = 1 + nonceSize + tagSize
	// WrappedSize is the size of a wrapped key.
	WrappedSize = blobOverhead + KeySize
	// MaxMetaSize is the largest plaintext SealMeta and SealTo accept.
	MaxMetaSize = 64 << 10
)

func seal(key *[KeySize]byte, slot Slot, plaintext []byte) []byte {
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		panic(err) // impossible: the key is 32 bytes
	}
	out := make([]byte, 1+nonceSize, blobOverhead+len(plaintext))
	out[0] = blobVersion
	random(out[1:])
	ad := append([]byte{blobVersion}, slot.ad...)
	return aead.Seal(out, out[1:], plaintext, ad)
}

func open(key *[KeySize]byte, slot Slot, blob []byte) ([]byte, error) {
	if len(blob) < 1 {
		return nil, fmt.Errorf("%w: empty blob", ErrCorrupt)
	}
	if blob[0] != blobVersion {
		return nil, fmt.Errorf("%w: blob version %d", ErrVersion, blob[0])
	}
	if len(blob) < blobOverhead {
		return nil, fmt.Errorf("%w: blob of %d bytes is too short", ErrCorrupt, len(blob))
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		panic(err)
	}
	ad := append([]byte{blobVersion}, slot.ad...)
	pt, err := aead.Open(nil, blob[1:1+nonceSize], blob[1+nonceSize:], ad)
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed (altered, or not for this key or slot)", ErrCorrupt)
	}
	return pt, nil
}

// Wrap encrypts key under kek for slot. The result is WrappedSize bytes.
func Wrap(kek, key Key, slot Slot) []byte {
	sub := kek.sub(labelWrap)
	defer clear(sub[:])
	return seal(&sub, slot, key[:])
}

// checkWrapped checks a wrapped key's version and size.
func checkWrapped(b []byte) error {
	switch {
	case len(b) == 0:
		return fmt.Errorf("%w: empty wrapped key", ErrCorrupt)
	case b[0] != blobVersion:
		return fmt.Errorf("%w: wrapped key version %d", ErrVersion, b[0])
	case len(b) != WrappedSize:
		return fmt.Errorf("%w: wrapped key of %d bytes, want %d", ErrCorrupt, len(b), WrappedSize)
	}
	return nil
}

// Unwrap decrypts a key made by Wrap with the same kek and slot. A wrong
// kek, another slot or any change to the bytes gives ErrCorrupt.
func Unwrap(kek Key, wrapped []byte, slot Slot) (Key, error) {
	var k Key
	if err := checkWrapped(wrapped); err != nil {
		return k, err
	}
	sub := kek.sub(labelWrap)
	defer clear(sub[:])
	pt, err := open(&sub, slot, wrapped)
	if err != nil {
		return k, err
	}
	copy(k[:], pt)
	clear(pt)
	return k, nil
}

// SealMeta encrypts plaintext (at most MaxMetaSize bytes) under mk for slot
// (MetaSlot or VersionSlot). Each call uses a fresh random nonce.
func SealMeta(mk MetaKey, slot Slot, plaintext []byte) ([]byte, error) {
	if len(plaintext) > MaxMetaSize {
		return nil, fmt.Errorf("%w: metadata of %d bytes (at most %d)", ErrTooLarge, len(plaintext), MaxMetaSize)
	}
	k := [KeySize]byte(mk)
	defer clear(k[:])
	return seal(&k, slot, plaintext), nil
}

// OpenMeta decrypts a blob made by SealMeta with the same key and slot.
// A blob of another node or version, under another key, or altered, gives
// ErrCorrupt.
func OpenMeta(mk MetaKey, slot Slot, sealed []byte) ([]byte, error) {
	if len(sealed) > blobOverhead+MaxMetaSize {
		return nil, fmt.Errorf("%w: sealed metadata of %d bytes", ErrCorrupt, len(sealed))
	}
	k := [KeySize]byte(mk)
	defer clear(k[:])
	return open(&k, slot, sealed)
}
