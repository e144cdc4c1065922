// Package netstring encodes and decodes D. J. Bernstein's netstrings
// ("<decimal length>:<bytes>,"), the framing Tahoe-LAFS uses inside tagged
// hashes and in the URI extension block.
package netstring

import (
	"errors"
	"strconv"
)

// ErrMalformed is returned (wrapped) for input that is not a canonical netstring.
var ErrMalformed = errors.New("netstring: malformed")

// Append appends the netstring encoding of s to dst and returns the result.
func Append(dst, s []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, ':')
	dst = append(dst, s...)
	return append(dst, ',')
}

// Encode returns the netstring encoding of s.
func Encode(s []byte) []byte {
	return Append(make([]byte, 0, len(s)+12), s)
}

// Parse decodes one netstring at the start of b and returns its value and the
// bytes after it. The length must be canonical decimal (no sign, no leading
// zeros) so that every value has exactly one encoding; value aliases b.
func Parse(b []byte) (value, rest []byte, err error) {
	i := 0
	n := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		if i > 0 && n == 0 {
			return nil, nil, errors.Join(ErrMalformed, errors.New("leading zero in length"))
		}
		if n > len(b) { // already longer than the input; also bounds n against overflow
			return nil, nil, errors.Join(ErrMalformed, errors.New("length exceeds input"))
		}
		n = n*10 + int(b[i]-'0')
		i++
	}
	if i == 0 || i >= len(b) || b[i] != ':' {
		return nil, nil, errors.Join(ErrMalformed, errors.New("missing length or ':'"))
	}
	i++
	if n > len(b)-i-1 {
		return nil, nil, errors.Join(ErrMalformed, errors.New("length exceeds input"))
	}
	if b[i+n] != ',' {
		return nil, nil, errors.Join(ErrMalformed, errors.New("missing trailing ','"))
	}
	return b[i : i+n], b[i+n+1:], nil
}
