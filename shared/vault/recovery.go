package vault

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"unicode"
)

// RecoveryKey is the 32-byte key that opens an account when the password is
// lost. It is shown once, as text (String), for the user to write down.
type RecoveryKey [KeySize]byte

// Recovery key text (docs/spec/keys.md §5): the 32 key bytes and a 3-byte
// checksum, in Crockford's base32 (no I, L, O, U), upper case, in 14 groups
// of 4 characters joined by "-".
const (
	recoveryAlphabet  = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	recoveryChecksum  = 3
	recoveryChars     = (KeySize + recoveryChecksum) * 8 / 5 // 56
	recoveryGroup     = 4
	recoveryCheckTag  = "communitycube/v1/recovery-key-checksum"
	recoveryGroupsLen = recoveryChars/recoveryGroup*(recoveryGroup+1) - 1
)

// newRecoveryKey returns a fresh random recovery key.
func newRecoveryKey() RecoveryKey {
	var r RecoveryKey
	random(r[:])
	return r
}

func recoveryCheck(r *RecoveryKey) [recoveryChecksum]byte {
	h := sha256.Sum256(append([]byte(recoveryCheckTag), r[:]...))
	return [recoveryChecksum]byte(h[:recoveryChecksum])
}

// String returns the key as the user writes it down, for example
// "XXXX-XXXX-…-XXXX" (14 groups of 4). It is the secret itself.
func (r RecoveryKey) String() string {
	check := recoveryCheck(&r)
	data := append(r[:], check[:]...)
	var out strings.Builder
	out.Grow(recoveryGroupsLen)
	var acc uint64
	bits, n := 0, 0
	for _, c := range data {
		acc = acc<<8 | uint64(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			if n > 0 && n%recoveryGroup == 0 {
				out.WriteByte('-')
			}
			out.WriteByte(recoveryAlphabet[(acc>>bits)&31])
			n++
		}
	}
	return out.String()
}

// GoString does not print the key.
func (RecoveryKey) GoString() string { return "vault.RecoveryKey(redacted)" }

// Zero overwrites r with zeros.
func (r *RecoveryKey) Zero() { clear(r[:]) }

// recoveryValue maps a character as typed to its value: case-insensitive,
// I and L read as 1, O as 0 (Crockford). -1: not a recovery key character;
// -2: a separator (space, dash, underscore, dot), skipped.
func recoveryValue(c rune) int {
	switch {
	case c == '-' || c == '_' || c == '.' || unicode.IsSpace(c):
		return -2
	case c >= 'a' && c <= 'z':
		c -= 'a' - 'A'
	}
	switch c {
	case 'I', 'L':
		return 1
	case 'O':
		return 0
	}
	if c < 0x80 {
		if i := strings.IndexByte(recoveryAlphabet, byte(c)); i >= 0 {
			return i
		}
	}
	return -1
}

// ParseRecoveryKey reads a recovery key as typed by a user. It ignores case,
// spaces, dashes, underscores and dots, and reads I and L as 1 and O as 0.
// Errors (ErrRecoveryKeyFormat) say what is wrong: a character recovery keys
// do not have, too few or too many characters, or a typo (the checksum does
// not match: some character is wrong, or two are swapped).
func ParseRecoveryKey(s string) (RecoveryKey, error) {
	var r RecoveryKey
	if len(s) > 4*recoveryGroupsLen {
		return r, fmt.Errorf("%w: too long (%d bytes)", ErrRecoveryKeyFormat, len(s))
	}
	vals := make([]byte, 0, recoveryChars)
	defer clear(vals)
	for i, c := range s {
		switch v := recoveryValue(c); v {
		case -2:
		case -1:
			if c == 'U' || c == 'u' {
				return r, fmt.Errorf("%w: %q (at position %d) does not appear in recovery keys", ErrRecoveryKeyFormat, c, i+1)
			}
			return r, fmt.Errorf("%w: invalid character %q at position %d", ErrRecoveryKeyFormat, c, i+1)
		default:
			vals = append(vals, byte(v))
		}
	}
	if n := len(vals); n != recoveryChars {
		what := "missing"
		if n > recoveryChars {
			what = "too many"
		}
		return r, fmt.Errorf("%w: it has %d characters, a recovery key has %d (%s characters)", ErrRecoveryKeyFormat, n, recoveryChars, what)
	}
	var data [KeySize + recoveryChecksum]byte
	defer clear(data[:])
	var acc uint64
	bits, j := 0, 0
	for _, v := range vals {
		acc = acc<<5 | uint64(v)
		bits += 5
		if bits >= 8 {
			bits -= 8
			data[j] = byte(acc >> bits)
			j++
		}
	}
	copy(r[:], data[:KeySize])
	if check := recoveryCheck(&r); [recoveryChecksum]byte(data[KeySize:]) != check {
		r.Zero()
		return r, fmt.Errorf("%w: it has a typo (the checksum does not match); check each group", ErrRecoveryKeyFormat)
	}
	return r, nil
}

// Auth returns the recovery key's proof of possession for the node
// (api.RecoverRequest.RecoveryAuth): HKDF-SHA256(r, info
// "communitycube/v1/recovery-auth"). It reveals nothing about the key that
// unwraps the root key. The node should keep only SHA-256(Auth) and compare
// in constant time.
func (r RecoveryKey) Auth() []byte {
	a := derive(r[:], nil, labelRecoveryAuth)
	return a[:]
}
