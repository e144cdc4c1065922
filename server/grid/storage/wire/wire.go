// Package wire holds the on-the-wire vocabulary of the Tahoe-LAFS HTTP
// storage protocol ("Great Black Swamp"): storage-index and share-number
// encodings, the Authorization and X-Tahoe-Authorization headers, byte-range
// headers, URL paths and the CBOR request/response messages.
//
// It is shared by the server (package storage) and the client (package gbs)
// so that both sides agree by construction, and it has no dependency on
// either, so a client binary does not link the server's storage code. All
// decoders here are written to be fed hostile input: they bound allocation,
// reject unknown or duplicate fields and never panic (see the fuzz tests).
package wire

import (
	"encoding/base32"
	"errors"
	"fmt"
	"strconv"
)

// Media types.
const (
	MediaTypeCBOR  = "application/cbor"
	MediaTypeOctet = "application/octet-stream"
)

// Header names.
const (
	HeaderAuthorization      = "Authorization"
	HeaderTahoeAuthorization = "X-Tahoe-Authorization"
)

// VersionKey is the key of the protocol section of the version message.
const VersionKey = "http://allmydata.org/tahoe/protocols/storage/v1"

// MaxShareNumber is the largest share number we accept. Tahoe's erasure
// coder produces at most 256 shares (numbered 0..255), and the protocol's
// schemas cap share sets at 256 entries.
const MaxShareNumber = 255

// MaxShareSet bounds the number of share numbers in one set (CDDL 0*256).
const MaxShareSet = 256

// StorageIndexLen is the size of a storage index in bytes.
const StorageIndexLen = 16

// StorageIndex addresses a bucket (immutable) or slot (mutable).
type StorageIndex [StorageIndexLen]byte

// base32Lower is RFC 4648 base32 with the lowercase alphabet and no padding,
// the encoding Tahoe uses for storage indexes in URLs and directory names.
var base32Lower = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// ErrBadStorageIndex is returned for a malformed storage index string.
var ErrBadStorageIndex = errors.New("wire: malformed storage index")

// String returns the 26-character lowercase base32 form.
func (si StorageIndex) String() string { return base32Lower.EncodeToString(si[:]) }

// Prefix returns the first two characters of the base32 form, the name of
// the fan-out directory Tahoe stores the bucket under.
func (si StorageIndex) Prefix() string { return si.String()[:2] }

// ParseStorageIndex decodes the canonical 26-character base32 form. Strings
// whose unused trailing bits are non-zero are rejected so that each storage
// index has exactly one spelling (Tahoe's base32.a2b insists on the same).
func ParseStorageIndex(s string) (StorageIndex, error) {
	var si StorageIndex
	if len(s) != 26 {
		return si, ErrBadStorageIndex
	}
	b, err := base32Lower.DecodeString(s)
	if err != nil || len(b) != StorageIndexLen {
		return si, ErrBadStorageIndex
	}
	copy(si[:], b)
	if si.String() != s {
		return si, ErrBadStorageIndex
	}
	return si, nil
}

// ParseShareNumber parses a decimal share number from a URL path segment.
// Only the canonical spelling (no sign, no leading zeros) is accepted.
func ParseShareNumber(s string) (uint16, error) {
	if s == "" || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("wire: malformed share number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("wire: malformed share number")
		}
	}
	v, _ := strconv.Atoi(s)
	if v > MaxShareNumber {
		return 0, fmt.Errorf("wire: share number %d > %d", v, MaxShareNumber)
	}
	return uint16(v), nil
}

// ShareKind distinguishes the two families of endpoints.
type ShareKind string

// Share kinds as they appear in URL paths.
const (
	Immutable ShareKind = "immutable"
	Mutable   ShareKind = "mutable"
)

// URL paths. Each takes already-validated values.

// PathVersion is the version endpoint.
const PathVersion = "/storage/v1/version"

// PathLease is PUT .../lease/:si.
func PathLease(si StorageIndex) string { return "/storage/v1/lease/" + si.String() }

// PathAllocate is POST .../immutable/:si.
func PathAllocate(si StorageIndex) string { return "/storage/v1/immutable/" + si.String() }

// PathShare is GET (both kinds) or PATCH (immutable) .../:kind/:si/:shnum.
func PathShare(kind ShareKind, si StorageIndex, shnum uint16) string {
	return "/storage/v1/" + string(kind) + "/" + si.String() + "/" + strconv.Itoa(int(shnum))
}

// PathAbort is PUT .../immutable/:si/:shnum/abort.
func PathAbort(si StorageIndex, shnum uint16) string {
	return PathShare(Immutable, si, shnum) + "/abort"
}

// PathCorrupt is POST .../:kind/:si/:shnum/corrupt.
func PathCorrupt(kind ShareKind, si StorageIndex, shnum uint16) string {
	return PathShare(kind, si, shnum) + "/corrupt"
}

// PathShares is GET .../:kind/:si/shares.
func PathShares(kind ShareKind, si StorageIndex) string {
	return "/storage/v1/" + string(kind) + "/" + si.String() + "/shares"
}

// PathReadTestWrite is POST .../mutable/:si/read-test-write.
func PathReadTestWrite(si StorageIndex) string {
	return "/storage/v1/mutable/" + si.String() + "/read-test-write"
}
