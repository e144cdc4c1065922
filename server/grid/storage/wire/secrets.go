package wire

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// AuthScheme is the HTTP authentication scheme name.
const AuthScheme = "Tahoe-LAFS"

// AuthorizationValue is the Authorization header value that presents
// swissnum: the scheme followed by the standard (padded) base64 of the
// swissnum's bytes, as Tahoe's swissnum_auth_header produces.
func AuthorizationValue(swissnum string) string {
	return AuthScheme + " " + base64.StdEncoding.EncodeToString([]byte(swissnum))
}

// CheckAuthorization compares a received Authorization header value against
// the expected one in constant time (for equal lengths; the length of the
// expected value is not secret).
func CheckAuthorization(got, expected string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(expected)) == 1
}

// SecretKind names one of the X-Tahoe-Authorization secrets.
type SecretKind string

// The secrets a client may present.
const (
	LeaseRenewSecret  SecretKind = "lease-renew-secret"
	LeaseCancelSecret SecretKind = "lease-cancel-secret"
	UploadSecret      SecretKind = "upload-secret"
	WriteEnabler      SecretKind = "write-enabler"
)

// Secret sizes. Lease secrets are fixed at 32 bytes by the protocol. The
// write enabler is stored in a 32-byte field of the mutable container, so any
// other length could never match. The upload secret is opaque; Tahoe sends
// 32 random bytes and we accept up to MaxUploadSecretLen.
const (
	LeaseSecretLen     = 32
	WriteEnablerLen    = 32
	MaxUploadSecretLen = 64
)

// ErrBadSecrets is wrapped by ParseSecrets errors (HTTP 400).
var ErrBadSecrets = errors.New("wire: bad X-Tahoe-Authorization")

// Secrets maps each presented secret kind to its decoded value.
type Secrets map[SecretKind][]byte

// SecretHeaderValue formats one X-Tahoe-Authorization header value.
func SecretHeaderValue(kind SecretKind, value []byte) string {
	return string(kind) + " " + base64.StdEncoding.EncodeToString(value)
}

// ParseSecrets decodes the X-Tahoe-Authorization header values (one secret
// per value; comma-separated values are also split, as RFC 9110 allows an
// intermediary to join repeated fields) and checks that exactly the
// required kinds are present, each once, with a valid length. Any violation
// is a client bug and is reported as ErrBadSecrets (HTTP 400), never as an
// authorization failure.
func ParseSecrets(values []string, required ...SecretKind) (Secrets, error) {
	out := Secrets{}
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			if len(out) >= 4 {
				return nil, fmt.Errorf("%w: too many secrets", ErrBadSecrets)
			}
			kindStr, enc, ok := strings.Cut(item, " ")
			if !ok {
				return nil, fmt.Errorf("%w: value without secret kind", ErrBadSecrets)
			}
			kind := SecretKind(kindStr)
			switch kind {
			case LeaseRenewSecret, LeaseCancelSecret, UploadSecret, WriteEnabler:
			default:
				return nil, fmt.Errorf("%w: unknown secret kind", ErrBadSecrets)
			}
			if _, dup := out[kind]; dup {
				return nil, fmt.Errorf("%w: %s given twice", ErrBadSecrets, kind)
			}
			enc = strings.TrimSpace(enc)
			if len(enc) > 4*MaxUploadSecretLen {
				return nil, fmt.Errorf("%w: %s too long", ErrBadSecrets, kind)
			}
			val, err := base64.StdEncoding.DecodeString(enc)
			if err != nil || len(val) == 0 {
				return nil, fmt.Errorf("%w: %s is not base64", ErrBadSecrets, kind)
			}
			if err := checkSecretLen(kind, len(val)); err != nil {
				return nil, err
			}
			out[kind] = val
		}
	}
	if len(out) != len(required) {
		return nil, fmt.Errorf("%w: want exactly %s", ErrBadSecrets, kindList(required))
	}
	for _, k := range required {
		if _, ok := out[k]; !ok {
			return nil, fmt.Errorf("%w: want exactly %s", ErrBadSecrets, kindList(required))
		}
	}
	return out, nil
}

func checkSecretLen(kind SecretKind, n int) error {
	switch kind {
	case LeaseRenewSecret, LeaseCancelSecret:
		if n != LeaseSecretLen {
			return fmt.Errorf("%w: %s must be %d bytes", ErrBadSecrets, kind, LeaseSecretLen)
		}
	case WriteEnabler:
		if n != WriteEnablerLen {
			return fmt.Errorf("%w: %s must be %d bytes", ErrBadSecrets, kind, WriteEnablerLen)
		}
	case UploadSecret:
		if n > MaxUploadSecretLen {
			return fmt.Errorf("%w: %s longer than %d bytes", ErrBadSecrets, kind, MaxUploadSecretLen)
		}
	}
	return nil
}

func kindList(ks []SecretKind) string {
	if len(ks) == 0 {
		return "no secrets"
	}
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}
