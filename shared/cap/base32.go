package cap

import (
	"errors"
	"fmt"
)

// Tahoe-LAFS base32 is RFC 4648 base32 in lower case without '=' padding.
const alphabet = "abcdefghijklmnopqrstuvwxyz234567"

var decodeMap = func() (m [256]byte) {
	for i := range m {
		m[i] = 0xff
	}
	for i := 0; i < len(alphabet); i++ {
		m[alphabet[i]] = byte(i)
	}
	return m
}()

// ErrBase32 is wrapped by every base32 decoding error.
var ErrBase32 = errors.New("cap: bad base32")

// EncodeBase32 returns Tahoe-LAFS's base32 form of b.
func EncodeBase32(b []byte) string {
	out := make([]byte, 0, (len(b)*8+4)/5)
	var acc uint
	nbits := 0
	for _, c := range b {
		acc = acc<<8 | uint(c)
		nbits += 8
		for nbits >= 5 {
			nbits -= 5
			out = append(out, alphabet[(acc>>nbits)&31])
		}
	}
	if nbits > 0 {
		out = append(out, alphabet[(acc<<(5-nbits))&31])
	}
	return string(out)
}

// DecodeBase32 decodes Tahoe-LAFS base32. It accepts only the canonical
// encoding: lower case, no padding, a length that some byte count produces,
// and zero in the unused low bits of the last character. So every byte
// string has exactly one accepted spelling, which keeps caps comparable as
// strings.
func DecodeBase32(s string) ([]byte, error) {
	switch len(s) % 8 {
	case 1, 3, 6:
		return nil, fmt.Errorf("%w: length %d is not a possible encoded length", ErrBase32, len(s))
	}
	out := make([]byte, 0, len(s)*5/8)
	var acc uint
	nbits := 0
	for i := 0; i < len(s); i++ {
		v := decodeMap[s[i]]
		if v == 0xff {
			return nil, fmt.Errorf("%w: invalid character %q at %d", ErrBase32, s[i], i)
		}
		acc = acc<<5 | uint(v)
		nbits += 5
		if nbits >= 8 {
			nbits -= 8
			out = append(out, byte(acc>>nbits))
		}
	}
	if acc&(1<<nbits-1) != 0 {
		return nil, fmt.Errorf("%w: non-zero trailing bits", ErrBase32)
	}
	return out, nil
}

// decodeFixed decodes s, which must encode exactly n bytes.
func decodeFixed(s string, n int, what string) ([]byte, error) {
	if want := (n*8 + 4) / 5; len(s) != want {
		return nil, fmt.Errorf("%w: %s must be %d characters, got %d", ErrBase32, what, want, len(s))
	}
	b, err := DecodeBase32(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b, nil
}
