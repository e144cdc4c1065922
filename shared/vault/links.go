package vault

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/communitycube/cube/shared/netstring"
)

// Sharing (docs/spec/keys.md §11): what a link, a drop and a share with
// another user carry. A link hands out a node's key itself: whoever holds
// a folder's key opens everything below it (down to items with their own
// password), and nothing above or beside it.

// LinkMeta is what a link or a share says about its target: its kind and
// its name as shared (the target's own name is sealed under its parent's
// meta key, which the recipient does not have). Sealed under the target's
// meta key in LinkMetaSlot or ShareMetaSlot.
type LinkMeta struct {
	Kind string // "file" or "folder"
	Name string // see ValidateName
}

const kindLink = "link"

// Validate reports whether m can be stored.
func (m *LinkMeta) Validate() error {
	if m.Kind != kindFile && m.Kind != kindFolder {
		return invalid("link target kind %q", m.Kind)
	}
	return ValidateName(m.Name)
}

// Marshal encodes m: {"v": 1, "kind": "link", "name": text, "target": "file"|"folder"}.
func (m *LinkMeta) Marshal() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	c := header(kindLink)
	c.addText("name", m.Name)
	c.addText("target", m.Kind)
	return c.encode(), nil
}

// UnmarshalLinkMeta decodes what LinkMeta.Marshal encodes.
func UnmarshalLinkMeta(data []byte) (*LinkMeta, error) {
	m := &LinkMeta{}
	err := decodeMeta(data, kindLink, 4, func(r *cborReader, key string) (err error) {
		switch key {
		case "name":
			m.Name, err = r.text(key, MaxNameSize)
		case "target":
			m.Kind, err = r.text(key, 16)
		default:
			err = r.unknown("link metadata", key)
		}
		return err
	}, m.Validate, m.Marshal)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// LinkMetaSlot is the slot of link linkID's sealed LinkMeta.
func LinkMetaSlot(linkID string) Slot { return newSlot("link-meta", linkID) }

// ShareMetaSlot is the slot of share shareID's sealed LinkMeta.
func ShareMetaSlot(shareID string) Slot { return newSlot("share-meta", shareID) }

// DropMetaSlot is the slot of dropped file fileID's FileMeta, sealed under
// the file's own meta key (the uploader has no key of the folder).
func DropMetaSlot(fileID string) Slot { return newSlot("drop-meta", fileID) }

// linkPasswordSlot is the slot of a link target's key wrapped under the
// link's password key.
func linkPasswordSlot(linkID string) Slot { return newSlot("link-password", linkID) }

// DropBoxContext is the context of the sealed box carrying dropped file
// fileID's key to the owner of drop link linkID.
func DropBoxContext(linkID, fileID string) string {
	return boxContext("drop", linkID, fileID)
}

// ShareBoxContext is the context of the sealed box carrying node nodeID's
// key to a user it is shared with by share shareID.
func ShareBoxContext(shareID, nodeID string) string {
	return boxContext("share", shareID, nodeID)
}

func boxContext(label string, ids ...string) string {
	b := netstring.Encode([]byte("communitycube/v1/" + label))
	for _, id := range ids {
		b = netstring.Append(b, []byte(id))
	}
	return string(b)
}

// ErrLinkKey: text that is not a link key.
var ErrLinkKey = errors.New("This is not a link key: it should be 43 letters, digits, - and _ (the part of the link after #).")

// FormatLinkKey writes a key as it goes in a link's fragment: unpadded
// base64url, 43 characters.
func FormatLinkKey(k Key) string { return base64.RawURLEncoding.EncodeToString(k[:]) }

// ParseLinkKey reads a link key, tolerating what copying adds: white
// space anywhere, a leading "#", or the whole link (the part after "#" is
// taken).
func ParseLinkKey(s string) (Key, error) {
	if i := strings.LastIndexByte(s, '#'); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
	var k Key
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != KeySize {
		return k, ErrLinkKey
	}
	copy(k[:], b)
	clear(b)
	return k, nil
}

// LinkPassword is what protects a password link: Lock (the KDF map, public:
// anyone with the link id reads it), Wrapped (the target's key under the
// password key, which the node hands out only to whoever proves the
// password) and AuthHash (SHA-256 of that proof, which the node keeps).
type LinkPassword struct {
	Lock, Wrapped, AuthHash []byte
}

// ProtectLink makes a password link's key material for target key key
// (nil key: a password-protected drop, which carries no key).
func ProtectLink(key *Key, linkID, password string, p KDFParams) (LinkPassword, error) {
	s, err := newStoredKDF(p)
	if err != nil {
		return LinkPassword{}, err
	}
	pk, err := passwordKey(password, s.salt, p)
	if err != nil {
		return LinkPassword{}, err
	}
	defer pk.Zero()
	lp := LinkPassword{Lock: s.cbor().encode()}
	auth := linkAuth(&pk)
	h := sha256.Sum256(auth)
	lp.AuthHash = h[:]
	if key != nil {
		lp.Wrapped = Wrap(pk, *key, linkPasswordSlot(linkID))
	}
	return lp, nil
}

func linkAuth(pk *Key) []byte {
	a := pk.sub(labelLinkAuth)
	return a[:]
}

// LinkPasswordKey is a link password derived on the recipient's side.
type LinkPasswordKey struct{ k Key }

// DeriveLinkPassword derives the password key from a link's lock. It
// refuses unacceptable parameters (ErrKDFParams) before any work.
func DeriveLinkPassword(lock []byte, password string) (*LinkPasswordKey, error) {
	if len(lock) > 256 {
		return nil, fmt.Errorf("%w: lock of %d bytes", ErrCorrupt, len(lock))
	}
	r := &cborReader{b: lock}
	s, err := readKDF(r)
	if err == nil {
		err = r.end()
	}
	if err != nil {
		return nil, err
	}
	pk, err := s.derive(password)
	if err != nil {
		return nil, err
	}
	return &LinkPasswordKey{pk}, nil
}

// Auth is the proof of the password the node checks (against AuthHash).
// It reveals nothing about the key that unwraps Wrapped.
func (l *LinkPasswordKey) Auth() []byte { return linkAuth(&l.k) }

// Open unwraps the target's key. Failure (wrong password, or a node that
// handed out another link's material) is ErrWrongPassword.
func (l *LinkPasswordKey) Open(wrapped []byte, linkID string) (Key, error) {
	k, err := Unwrap(l.k, wrapped, linkPasswordSlot(linkID))
	if errors.Is(err, ErrCorrupt) {
		return Key{}, ErrWrongPassword
	}
	return k, err
}

// Zero forgets the password key.
func (l *LinkPasswordKey) Zero() { l.k.Zero() }
