package introducer

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"

	"github.com/communitycube/cube/shared/nurl"
)

// Service names. Version 1 of the protocol knows exactly these three; an
// announcement of any other service is malformed.
const (
	ServiceStorage    = "storage"
	ServiceHelper     = "helper"
	ServiceIntroducer = "introducer"
)

// Limits of version-1 announcements.
const (
	// AnnouncementVersion is the only announcement version this package
	// reads or writes.
	AnnouncementVersion = 1
	// MaxAnnouncementSize bounds an encoded signed announcement. Real ones
	// are 450-600 bytes; the bound keeps a hostile publisher from filling
	// an introducer's memory and every subscriber's cache.
	MaxAnnouncementSize = 4096
	// MaxNicknameLen is the longest nickname, in bytes of UTF-8.
	MaxNicknameLen = 128
)

// nonce bounds: Sign makes 32-byte nonces; others may use 16 to 64.
const (
	nonceSize    = 32
	minNonceSize = 16
	maxNonceSize = 64
)

// signContext is prepended to the announcement bytes before signing. The
// node key may come to sign other things; the prefix makes sure a
// signature over an announcement can never be presented as a signature
// over anything else, and vice versa. Plain Ed25519 over prefix||message
// (rather than Ed25519ctx) because every Ed25519 library can do it.
const signContext = "communitycube introducer announcement v1\x00"

// Errors returned (wrapped) by DecodeAnnouncement and Sign. Use errors.Is.
var (
	ErrMalformed      = errors.New("introducer: malformed message")
	ErrUnknownVersion = errors.New("introducer: unknown announcement version")
	ErrBadSignature   = errors.New("introducer: bad announcement signature")
	ErrNodeIDMismatch = errors.New("introducer: node id does not match the signing key")
	ErrTooLarge       = errors.New("introducer: announcement too large")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// StorageInfo is what a storage announcement says beyond the common fields.
type StorageInfo struct {
	// PermutationSeed is the lowercase unpadded base32 of the first 20
	// bytes of SHA-256 of the node's public key (see PermutationSeed).
	// Sign fills it in when empty; DecodeAnnouncement rejects any other
	// value, so a node cannot choose where it lands in permuted lists.
	PermutationSeed string
	// AvailableSpace is how many bytes of shares the server will accept
	// now, its reserved space already deducted.
	AvailableSpace uint64
	// ReservedSpace is the free disk space the server keeps for itself.
	ReservedSpace uint64
	// ReadOnly says the server accepts no new shares (it still serves
	// reads and renews leases).
	ReadOnly bool
}

// HelperInfo is what a helper announcement says beyond the common fields:
// its current load, so that uploaders can pick the least loaded helper.
type HelperInfo struct {
	// ActiveUploads is the number of uploads in progress.
	ActiveUploads uint64
	// QueuedBytes is the ciphertext received or expected but not yet
	// encoded and placed.
	QueuedBytes uint64
}

// Announcement is the signed content of one service announcement. Exactly
// one announcement per (NodeID, Service) is current; a higher Seq
// replaces a lower one.
type Announcement struct {
	// NodeID is "v0-" + base32 of the node's Ed25519 public key (see
	// NodeID). Sign fills it in when empty.
	NodeID string
	// Nickname is the operator's free-form name for the node, for humans.
	Nickname string
	// Seq is the sequence number. It must grow with every new
	// announcement of the same node and service, across restarts.
	Seq uint64
	// Nonce is 16 to 64 random bytes; Sign makes 32 when it is nil. It
	// makes every signed announcement unique, so that byte equality
	// reliably means "the same announcement sent again".
	Nonce []byte
	// Service is ServiceStorage, ServiceHelper or ServiceIntroducer.
	Service string
	// NURL is where the service is reached. It includes the service's
	// swissnum: whoever can read announcements can use the service.
	NURL nurl.NURL
	// Storage is set exactly when Service is ServiceStorage.
	Storage *StorageInfo
	// Helper is set exactly when Service is ServiceHelper.
	Helper *HelperInfo
}

// clone returns a deep copy, so callers never share mutable state with a
// SignedAnnouncement.
func (a Announcement) clone() Announcement {
	a.Nonce = bytes.Clone(a.Nonce)
	if a.Storage != nil {
		s := *a.Storage
		a.Storage = &s
	}
	if a.Helper != nil {
		h := *a.Helper
		a.Helper = &h
	}
	return a
}

// SignedAnnouncement is a verified announcement together with its exact
// encoding. Values are immutable and safe to share between goroutines.
type SignedAnnouncement struct {
	ann Announcement
	key ed25519.PublicKey
	raw []byte
}

// Announcement returns a copy of the signed content.
func (s *SignedAnnouncement) Announcement() Announcement { return s.ann.clone() }

// Bytes returns a copy of the encoding, as sent on the wire.
func (s *SignedAnnouncement) Bytes() []byte { return bytes.Clone(s.raw) }

// PublicKey returns the key that signed the announcement.
func (s *SignedAnnouncement) PublicKey() ed25519.PublicKey { return bytes.Clone(s.key) }

// slot identifies the table entry an announcement occupies.
func (s *SignedAnnouncement) slot() slotKey { return slotKey{s.ann.NodeID, s.ann.Service} }

type slotKey struct{ node, service string }

// base32Lower is RFC 4648 base32 in lowercase without padding, as Tahoe
// writes node ids and permutation seeds.
var base32Lower = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

const nodeIDPrefix = "v0-"

// NodeID returns the node id for an Ed25519 public key: "v0-" followed by
// the key in lowercase unpadded base32 (55 characters in all).
func NodeID(pub ed25519.PublicKey) string {
	return nodeIDPrefix + base32Lower.EncodeToString(pub)
}

// PermutationSeed returns the permutation seed a storage node with key pub
// announces: lowercase unpadded base32 of the first 20 bytes of SHA-256 of
// the public key.
func PermutationSeed(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base32Lower.EncodeToString(sum[:20])
}

// parseNodeID returns the public key a node id spells, accepting only the
// canonical spelling.
func parseNodeID(id string) (ed25519.PublicKey, error) {
	rest, ok := strings.CutPrefix(id, nodeIDPrefix)
	if !ok {
		return nil, malformed("node id must start with %q", nodeIDPrefix)
	}
	b, err := base32Lower.DecodeString(rest)
	// Re-encoding rejects spellings with non-zero trailing bits, which
	// would otherwise give one key several node ids.
	if err != nil || len(b) != ed25519.PublicKeySize || base32Lower.EncodeToString(b) != rest {
		return nil, malformed("node id is not v0- and a base32 Ed25519 key")
	}
	return ed25519.PublicKey(b), nil
}

// validate checks everything about a that does not need the signature.
func validate(a *Announcement) error {
	pub, err := parseNodeID(a.NodeID)
	if err != nil {
		return err
	}
	if len(a.Nickname) > MaxNicknameLen || !utf8.ValidString(a.Nickname) {
		return malformed("nickname must be valid UTF-8 of at most %d bytes", MaxNicknameLen)
	}
	for _, r := range a.Nickname {
		if unicode.IsControl(r) {
			// Nicknames end up in logs and status pages.
			return malformed("nickname contains control characters")
		}
	}
	if len(a.Nonce) < minNonceSize || len(a.Nonce) > maxNonceSize {
		return malformed("nonce must be %d to %d bytes", minNonceSize, maxNonceSize)
	}
	if err := a.NURL.Validate(); err != nil {
		return malformed("invalid NURL")
	}
	switch a.Service {
	case ServiceStorage:
		if a.Storage == nil || a.Helper != nil {
			return malformed("a storage announcement needs storage fields and no others")
		}
		if a.Storage.PermutationSeed != PermutationSeed(pub) {
			return malformed("permutation seed is not derived from the node key")
		}
	case ServiceHelper:
		if a.Helper == nil || a.Storage != nil {
			return malformed("a helper announcement needs helper fields and no others")
		}
	case ServiceIntroducer:
		if a.Helper != nil || a.Storage != nil {
			return malformed("an introducer announcement has no service fields")
		}
	default:
		return malformed("unknown service")
	}
	return nil
}

// Map keys of the encoding.
const (
	kVersion   = "version"
	kNodeID    = "node-id"
	kNickname  = "nickname"
	kSeq       = "seqnum"
	kNonce     = "nonce"
	kService   = "service"
	kNURL      = "nurl"
	kSeed      = "permutation-seed"
	kAvailable = "available-space"
	kReserved  = "reserved-space"
	kReadOnly  = "read-only"
	kActive    = "active-uploads"
	kQueued    = "queued-bytes"

	kEnvAnn = "ann"
	kEnvKey = "key"
	kEnvSig = "sig"
)

var commonKeys = []string{kVersion, kNodeID, kNickname, kSeq, kNonce, kService, kNURL}

var serviceKeys = map[string][]string{
	ServiceStorage:    {kSeed, kAvailable, kReserved, kReadOnly},
	ServiceHelper:     {kActive, kQueued},
	ServiceIntroducer: nil,
}

// encMode is RFC 8949 section 4.2.1 core deterministic encoding: definite
// lengths, shortest integer forms, map keys sorted by their encoded bytes.
// One announcement has exactly one encoding, so byte equality means
// equality and the signed bytes can be checked for canonical form.
var encMode = func() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

// decMode decodes into generic values that the code below checks field by
// field: fxamacker's struct decoding is forgiving (case-insensitive names,
// type coercions) where we want to be strict. Everything it still lets
// through that is not canonical is caught by re-encoding and comparing.
func newDecMode(maxArray int) cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
		MaxNestedLevels:  4,
		MaxArrayElements: maxArray,
		MaxMapPairs:      32,
		IntDec:           cbor.IntDecConvertNone,
		MapKeyByteString: cbor.MapKeyByteStringForbidden,
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}

var annDecMode = newDecMode(16)

func marshal(v any) []byte {
	b, err := encMode.Marshal(v)
	if err != nil {
		panic(err) // only our own well-typed values reach here
	}
	return b
}

func encodeAnn(a *Announcement) []byte {
	m := map[string]any{
		kVersion:  uint64(AnnouncementVersion),
		kNodeID:   a.NodeID,
		kNickname: a.Nickname,
		kSeq:      a.Seq,
		kNonce:    a.Nonce,
		kService:  a.Service,
		kNURL:     a.NURL.String(),
	}
	if s := a.Storage; s != nil {
		m[kSeed] = s.PermutationSeed
		m[kAvailable] = s.AvailableSpace
		m[kReserved] = s.ReservedSpace
		m[kReadOnly] = s.ReadOnly
	}
	if h := a.Helper; h != nil {
		m[kActive] = h.ActiveUploads
		m[kQueued] = h.QueuedBytes
	}
	return marshal(m)
}

func encodeEnvelope(ann, key, sig []byte) []byte {
	return marshal(map[string]any{kEnvAnn: ann, kEnvKey: key, kEnvSig: sig})
}

func signingInput(ann []byte) []byte {
	return append([]byte(signContext), ann...)
}

// Sign validates a, fills in NodeID, a fresh Nonce and the storage
// PermutationSeed where they are empty, and signs it with key. a.Seq is
// used as given: choosing it is the publisher's business.
func Sign(a Announcement, key ed25519.PrivateKey) (*SignedAnnouncement, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("introducer: Sign needs an Ed25519 private key")
	}
	pub := key.Public().(ed25519.PublicKey)
	a = a.clone()
	id := NodeID(pub)
	if a.NodeID == "" {
		a.NodeID = id
	} else if a.NodeID != id {
		return nil, ErrNodeIDMismatch
	}
	if a.Nonce == nil {
		a.Nonce = make([]byte, nonceSize)
		if _, err := rand.Read(a.Nonce); err != nil {
			return nil, err
		}
	}
	if a.Storage != nil && a.Storage.PermutationSeed == "" {
		a.Storage.PermutationSeed = PermutationSeed(pub)
	}
	if err := validate(&a); err != nil {
		return nil, err
	}
	annBytes := encodeAnn(&a)
	sig := ed25519.Sign(key, signingInput(annBytes))
	raw := encodeEnvelope(annBytes, pub, sig)
	if len(raw) > MaxAnnouncementSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(raw))
	}
	return &SignedAnnouncement{ann: a, key: bytes.Clone(pub), raw: raw}, nil
}

// DecodeAnnouncement parses and verifies an encoded signed announcement.
// It checks the size, the canonical encoding, the version, every field,
// that the node id is the signing key, and the signature. It cannot check
// freshness (that needs the newest announcement seen so far); callers
// compare Seq.
func DecodeAnnouncement(data []byte) (*SignedAnnouncement, error) {
	if len(data) > MaxAnnouncementSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(data))
	}
	env, err := decodeMap(data, kEnvAnn, kEnvKey, kEnvSig)
	if err != nil {
		return nil, err
	}
	annBytes, err1 := asBytes(env[kEnvAnn], kEnvAnn, 1, MaxAnnouncementSize)
	key, err2 := asBytes(env[kEnvKey], kEnvKey, ed25519.PublicKeySize, ed25519.PublicKeySize)
	sig, err3 := asBytes(env[kEnvSig], kEnvSig, ed25519.SignatureSize, ed25519.SignatureSize)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	if !bytes.Equal(encodeEnvelope(annBytes, key, sig), data) {
		return nil, malformed("envelope is not in canonical CBOR form")
	}

	a, err := decodeAnn(annBytes)
	if err != nil {
		return nil, err
	}
	if a.NodeID != NodeID(key) {
		return nil, ErrNodeIDMismatch
	}
	if !ed25519.Verify(ed25519.PublicKey(key), signingInput(annBytes), sig) {
		return nil, ErrBadSignature
	}
	return &SignedAnnouncement{ann: a, key: key, raw: bytes.Clone(data)}, nil
}

func decodeAnn(data []byte) (Announcement, error) {
	var a Announcement
	var generic any
	if err := annDecMode.Unmarshal(data, &generic); err != nil {
		return a, malformed("%v", err)
	}
	m, ok := generic.(map[any]any)
	if !ok {
		return a, malformed("announcement is not a map")
	}
	// The version decides what the rest may look like, so it is checked
	// before the key set: a version-2 announcement is "unknown version",
	// not "malformed".
	v, ok := m[kVersion]
	if !ok {
		return a, malformed("missing %q", kVersion)
	}
	if ver, ok := v.(uint64); !ok || ver != AnnouncementVersion {
		return a, fmt.Errorf("%w: %v", ErrUnknownVersion, v)
	}
	svc, _ := m[kService].(string)
	extra, known := serviceKeys[svc]
	if !known {
		return a, malformed("unknown service")
	}
	fields, err := checkKeys(m, append(append([]string(nil), commonKeys...), extra...))
	if err != nil {
		return a, err
	}
	var errs []error
	str := func(k string) string {
		s, ok := fields[k].(string)
		if !ok {
			errs = append(errs, malformed("%q must be a text string", k))
		}
		return s
	}
	num := func(k string) uint64 {
		n, ok := fields[k].(uint64)
		if !ok {
			errs = append(errs, malformed("%q must be an unsigned integer", k))
		}
		return n
	}
	a.NodeID = str(kNodeID)
	a.Nickname = str(kNickname)
	a.Seq = num(kSeq)
	a.Service = svc
	a.Nonce, err = asBytes(fields[kNonce], kNonce, minNonceSize, maxNonceSize)
	errs = append(errs, err)
	nurlStr := str(kNURL)
	switch svc {
	case ServiceStorage:
		ro, ok := fields[kReadOnly].(bool)
		if !ok {
			errs = append(errs, malformed("%q must be a boolean", kReadOnly))
		}
		a.Storage = &StorageInfo{
			PermutationSeed: str(kSeed),
			AvailableSpace:  num(kAvailable),
			ReservedSpace:   num(kReserved),
			ReadOnly:        ro,
		}
	case ServiceHelper:
		a.Helper = &HelperInfo{ActiveUploads: num(kActive), QueuedBytes: num(kQueued)}
	}
	if err := errors.Join(errs...); err != nil {
		return a, err
	}
	if a.NURL, err = nurl.Parse(nurlStr); err != nil {
		return a, malformed("invalid NURL")
	}
	if err := validate(&a); err != nil {
		return a, err
	}
	if !bytes.Equal(encodeAnn(&a), data) {
		return a, malformed("announcement is not in canonical CBOR form")
	}
	return a, nil
}

// decodeMap decodes data as a CBOR map with exactly the given text keys.
func decodeMap(data []byte, keys ...string) (map[string]any, error) {
	var generic any
	if err := annDecMode.Unmarshal(data, &generic); err != nil {
		return nil, malformed("%v", err)
	}
	m, ok := generic.(map[any]any)
	if !ok {
		return nil, malformed("not a CBOR map")
	}
	return checkKeys(m, keys)
}

// checkKeys requires m to have exactly the text keys want: maps are
// closed, so that an unknown field is an error rather than something
// silently signed but ignored.
func checkKeys(m map[any]any, want []string) (map[string]any, error) {
	if len(m) != len(want) {
		return nil, malformed("map has %d entries, want %d", len(m), len(want))
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		s, ok := k.(string)
		if !ok {
			return nil, malformed("map keys must be text strings")
		}
		out[s] = v
	}
	for _, k := range want {
		if _, ok := out[k]; !ok {
			return nil, malformed("missing %q", k)
		}
	}
	return out, nil
}

func asBytes(v any, what string, minLen, maxLen int) ([]byte, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, malformed("%q must be a byte string", what)
	}
	if len(b) < minLen || len(b) > maxLen {
		if minLen == maxLen {
			return nil, malformed("%q must be %d bytes", what, minLen)
		}
		return nil, malformed("%q must be %d to %d bytes", what, minLen, maxLen)
	}
	return b, nil
}
