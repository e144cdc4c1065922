// Package cap parses and formats Tahoe-LAFS immutable-file capabilities:
//
//	URI:CHK:<key>:<UEB hash>:<k>:<n>:<size>                 read cap
//	URI:CHK-Verifier:<storage index>:<UEB hash>:<k>:<n>:<size> verify cap
//	URI:LIT:<data>                                         literal (tiny) file
//
// Binary fields are Tahoe base32 (lower case, unpadded); numbers are
// canonical decimal. Parsing is strict: a string is accepted only if
// formatting the result gives the same string back, so caps can be compared
// and used as map keys in their string form.
package cap

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/communitycube/cube/shared/hashtree"
)

// Sizes of the binary fields.
const (
	KeySize          = 16 // AES-128 key
	StorageIndexSize = 16
	HashSize         = hashtree.HashSize
	MaxShares        = 256 // zfec's limit on n
)

// Prefixes of the supported cap kinds.
const (
	PrefixCHK      = "URI:CHK:"
	PrefixVerifier = "URI:CHK-Verifier:"
	PrefixLIT      = "URI:LIT:"
)

// storageIndexTag is the tag of the hash from key to storage index.
const storageIndexTag = "allmydata_immutable_key_to_storage_index_v1"

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("cap: invalid capability")

// Cap is one of CHK, Verifier or LIT.
type Cap interface {
	String() string
	isCap()
}

// CHK is an immutable-file read cap: it holds the decryption key.
type CHK struct {
	Key     [KeySize]byte
	UEBHash [HashSize]byte // hash of the URI extension block
	K, N    int            // shares needed, shares total
	Size    int64          // plaintext (= ciphertext) length
}

// Verifier is an immutable-file verify cap: enough to locate and check the
// shares, but not to decrypt them.
type Verifier struct {
	StorageIndex [StorageIndexSize]byte
	UEBHash      [HashSize]byte
	K, N         int
	Size         int64
}

// LIT is a literal cap: tiny files carry their whole content in the cap.
type LIT struct {
	Data []byte
}

func (CHK) isCap()      {}
func (Verifier) isCap() {}
func (LIT) isCap()      {}

// StorageIndexFromKey derives the storage index (the name shares are stored
// under) from an encryption key: SHA-256d with a dedicated tag, truncated.
func StorageIndexFromKey(key [KeySize]byte) (si [StorageIndexSize]byte) {
	h := hashtree.TaggedHash(storageIndexTag, key[:])
	copy(si[:], h[:])
	return si
}

// StorageIndex returns the storage index derived from c's key.
func (c CHK) StorageIndex() [StorageIndexSize]byte { return StorageIndexFromKey(c.Key) }

// Verifier returns the verify cap corresponding to the read cap c.
func (c CHK) Verifier() Verifier {
	return Verifier{StorageIndex: c.StorageIndex(), UEBHash: c.UEBHash, K: c.K, N: c.N, Size: c.Size}
}

// String formats c as URI:CHK:...
func (c CHK) String() string {
	return PrefixCHK + EncodeBase32(c.Key[:]) + ":" + EncodeBase32(c.UEBHash[:]) + ":" + numbers(c.K, c.N, c.Size)
}

// String formats v as URI:CHK-Verifier:...
func (v Verifier) String() string {
	return PrefixVerifier + EncodeBase32(v.StorageIndex[:]) + ":" + EncodeBase32(v.UEBHash[:]) + ":" + numbers(v.K, v.N, v.Size)
}

// String formats l as URI:LIT:...
func (l LIT) String() string { return PrefixLIT + EncodeBase32(l.Data) }

// Validate reports whether the share counts and size are acceptable.
func (c CHK) Validate() error { return validate(c.K, c.N, c.Size) }

// Validate reports whether the share counts and size are acceptable.
func (v Verifier) Validate() error { return validate(v.K, v.N, v.Size) }

func numbers(k, n int, size int64) string {
	return strconv.Itoa(k) + ":" + strconv.Itoa(n) + ":" + strconv.FormatInt(size, 10)
}

func validate(k, n int, size int64) error {
	switch {
	case k < 1:
		return fmt.Errorf("%w: k=%d, must be at least 1", ErrSyntax, k)
	case n > MaxShares:
		return fmt.Errorf("%w: n=%d, must be at most %d", ErrSyntax, n, MaxShares)
	case k > n:
		return fmt.Errorf("%w: k=%d exceeds n=%d", ErrSyntax, k, n)
	case size < 0:
		return fmt.Errorf("%w: negative size %d", ErrSyntax, size)
	}
	return nil
}

// Parse parses any supported cap.
func Parse(s string) (Cap, error) {
	switch {
	case strings.HasPrefix(s, PrefixCHK):
		return ParseCHK(s)
	case strings.HasPrefix(s, PrefixVerifier):
		return ParseVerifier(s)
	case strings.HasPrefix(s, PrefixLIT):
		return ParseLIT(s)
	}
	return nil, fmt.Errorf("%w: unknown prefix in %q", ErrSyntax, abbrev(s))
}

// ParseCHK parses a URI:CHK: read cap.
func ParseCHK(s string) (CHK, error) {
	var c CHK
	key, h, k, n, size, err := parseCommon(s, PrefixCHK, KeySize, "key")
	if err != nil {
		return c, err
	}
	copy(c.Key[:], key)
	copy(c.UEBHash[:], h)
	c.K, c.N, c.Size = k, n, size
	return c, nil
}

// ParseVerifier parses a URI:CHK-Verifier: verify cap.
func ParseVerifier(s string) (Verifier, error) {
	var v Verifier
	si, h, k, n, size, err := parseCommon(s, PrefixVerifier, StorageIndexSize, "storage index")
	if err != nil {
		return v, err
	}
	copy(v.StorageIndex[:], si)
	copy(v.UEBHash[:], h)
	v.K, v.N, v.Size = k, n, size
	return v, nil
}

// ParseLIT parses a URI:LIT: cap. "URI:LIT:" alone is the empty file.
func ParseLIT(s string) (LIT, error) {
	rest, ok := strings.CutPrefix(s, PrefixLIT)
	if !ok {
		return LIT{}, fmt.Errorf("%w: %q does not start with %s", ErrSyntax, abbrev(s), PrefixLIT)
	}
	data, err := DecodeBase32(rest)
	if err != nil {
		return LIT{}, fmt.Errorf("%w: LIT data: %w", ErrSyntax, err)
	}
	return LIT{Data: data}, nil
}

func parseCommon(s, prefix string, firstLen int, firstName string) (first, h []byte, k, n int, size int64, err error) {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		err = fmt.Errorf("%w: %q does not start with %s", ErrSyntax, abbrev(s), prefix)
		return
	}
	f := strings.Split(rest, ":")
	if len(f) != 5 {
		err = fmt.Errorf("%w: %s cap needs 5 fields after the prefix, got %d", ErrSyntax, prefix, len(f))
		return
	}
	if first, err = decodeFixed(f[0], firstLen, firstName); err != nil {
		err = fmt.Errorf("%w: %w", ErrSyntax, err)
		return
	}
	if h, err = decodeFixed(f[1], HashSize, "UEB hash"); err != nil {
		err = fmt.Errorf("%w: %w", ErrSyntax, err)
		return
	}
	var kk, nn int64
	if kk, err = parseNumber(f[2], "k"); err != nil {
		return
	}
	if nn, err = parseNumber(f[3], "n"); err != nil {
		return
	}
	if size, err = parseNumber(f[4], "size"); err != nil {
		return
	}
	if kk > MaxShares || nn > MaxShares { // before narrowing to int
		err = fmt.Errorf("%w: k=%d n=%d: at most %d shares", ErrSyntax, kk, nn, MaxShares)
		return
	}
	k, n = int(kk), int(nn)
	err = validate(k, n, size)
	return
}

// parseNumber accepts canonical non-negative decimal that fits in int64.
func parseNumber(s, what string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: empty %s", ErrSyntax, what)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: %s %q is not a non-negative decimal number", ErrSyntax, what, abbrev(s))
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("%w: %s %q has a leading zero", ErrSyntax, what, s)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %q out of range", ErrSyntax, what, abbrev(s))
	}
	return v, nil
}

// abbrev keeps error messages short and, since read caps are secrets that
// end up in logs via errors, echoes at most a prefix too short to hold key
// material.
func abbrev(s string) string {
	if len(s) > 12 {
		return s[:12] + "..."
	}
	return s
}
