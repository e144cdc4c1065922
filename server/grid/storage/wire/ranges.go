package wire

import (
	"errors"
	"strconv"
	"strings"
)

// MaxOffset bounds every byte offset the protocol handles. Keeping offsets
// below 2^62 means start+length never overflows int64 or uint64 arithmetic
// anywhere downstream.
const MaxOffset = 1 << 62

// ErrBadRange is returned for Range / Content-Range values outside the
// subset the protocol allows (one closed "bytes" range).
var ErrBadRange = errors.New("wire: unsupported or malformed byte range")

// ByteRange is a half-open interval [Begin, End) of share bytes.
type ByteRange struct {
	Begin uint64
	End   uint64
}

// Len returns End-Begin.
func (r ByteRange) Len() uint64 { return r.End - r.Begin }

// FormatRange returns a Range header value asking for length bytes at
// offset. length must be at least 1.
func FormatRange(offset, length uint64) string {
	return "bytes=" + strconv.FormatUint(offset, 10) + "-" + strconv.FormatUint(offset+length-1, 10)
}

// ParseRange parses a Range header value. Only a single closed range
// "bytes=first-last" is supported, as the protocol specifies; multiple
// ranges, open-ended ranges and suffix ranges are rejected (HTTP 416). The
// result is half-open.
func ParseRange(v string) (ByteRange, error) {
	v = strings.TrimSpace(v)
	unit, spec, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(unit) != "bytes" {
		return ByteRange{}, ErrBadRange
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return ByteRange{}, ErrBadRange
	}
	a, err1 := parseOffset(first)
	b, err2 := parseOffset(last)
	if err1 != nil || err2 != nil || a > b {
		return ByteRange{}, ErrBadRange
	}
	return ByteRange{Begin: a, End: b + 1}, nil
}

// FormatContentRange returns a Content-Range value for the half-open range r
// of a representation whose complete length is total, or unknown ("*") if
// total is negative.
func FormatContentRange(r ByteRange, total int64) string {
	s := "bytes " + strconv.FormatUint(r.Begin, 10) + "-" + strconv.FormatUint(r.End-1, 10) + "/"
	if total < 0 {
		return s + "*"
	}
	return s + strconv.FormatInt(total, 10)
}

// ParseContentRange parses "bytes first-last/total" or "bytes first-last/*".
// It returns the half-open range and the complete length (-1 if "*").
func ParseContentRange(v string) (ByteRange, int64, error) {
	v = strings.TrimSpace(v)
	rest, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return ByteRange{}, 0, ErrBadRange
	}
	span, totalStr, ok := strings.Cut(strings.TrimSpace(rest), "/")
	if !ok {
		return ByteRange{}, 0, ErrBadRange
	}
	first, last, ok := strings.Cut(span, "-")
	if !ok {
		return ByteRange{}, 0, ErrBadRange
	}
	a, err1 := parseOffset(first)
	b, err2 := parseOffset(last)
	if err1 != nil || err2 != nil || a > b {
		return ByteRange{}, 0, ErrBadRange
	}
	total := int64(-1)
	if totalStr != "*" {
		t, err := parseOffset(totalStr)
		if err != nil || b >= t {
			return ByteRange{}, 0, ErrBadRange
		}
		total = int64(t)
	}
	return ByteRange{Begin: a, End: b + 1}, total, nil
}

func parseOffset(s string) (uint64, error) {
	if s == "" || len(s) > 19 {
		return 0, ErrBadRange
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrBadRange
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v >= MaxOffset {
		return 0, ErrBadRange
	}
	return v, nil
}
