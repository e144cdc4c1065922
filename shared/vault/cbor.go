package vault

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"
)

// A minimal CBOR (RFC 8949) codec for the few structures this package
// stores. It writes, and reads only, RFC 8949 §4.2.1 core deterministic
// encoding restricted to: unsigned and negative integers, byte strings,
// text strings, arrays and maps with text-string keys. Definite lengths
// only, shortest-form heads, map keys in bytewise order of their encodings
// with no duplicates, no tags, no floats, no simple values. Anything else is
// refused, so every value has exactly one accepted encoding (see
// docs/spec/keys.md §7).

const (
	majorUint  = 0
	majorNeg   = 1
	majorBytes = 2
	majorText  = 3
	majorArray = 4
	majorMap   = 5
)

// cborWriter appends CBOR items to b.
type cborWriter struct{ b []byte }

func (w *cborWriter) head(major byte, n uint64) {
	m := major << 5
	switch {
	case n < 24:
		w.b = append(w.b, m|byte(n))
	case n <= math.MaxUint8:
		w.b = append(w.b, m|24, byte(n))
	case n <= math.MaxUint16:
		w.b = append(w.b, m|25, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		w.b = append(w.b, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		w.b = append(w.b, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

func (w *cborWriter) uint(n uint64) { w.head(majorUint, n) }

func (w *cborWriter) int(n int64) {
	if n >= 0 {
		w.head(majorUint, uint64(n))
	} else {
		w.head(majorNeg, uint64(-(n + 1)))
	}
}

func (w *cborWriter) bytes(p []byte) { w.head(majorBytes, uint64(len(p))); w.b = append(w.b, p...) }
func (w *cborWriter) text(s string)  { w.head(majorText, uint64(len(s))); w.b = append(w.b, s...) }

// cborMap collects a map's entries and writes them in deterministic order.
type cborMap struct{ entries []cborEntry }

type cborEntry struct{ key, value []byte }

// add appends the entry key → (whatever f writes).
func (m *cborMap) add(key string, f func(w *cborWriter)) {
	var k, v cborWriter
	k.text(key)
	f(&v)
	m.entries = append(m.entries, cborEntry{k.b, v.b})
}

func (m *cborMap) addUint(key string, n uint64)    { m.add(key, func(w *cborWriter) { w.uint(n) }) }
func (m *cborMap) addInt(key string, n int64)      { m.add(key, func(w *cborWriter) { w.int(n) }) }
func (m *cborMap) addBytes(key string, p []byte)   { m.add(key, func(w *cborWriter) { w.bytes(p) }) }
func (m *cborMap) addText(key string, s string)    { m.add(key, func(w *cborWriter) { w.text(s) }) }
func (m *cborMap) addMap(key string, sub *cborMap) { m.add(key, func(w *cborWriter) { sub.write(w) }) }

func (m *cborMap) addTexts(key string, ss []string) {
	m.add(key, func(w *cborWriter) {
		w.head(majorArray, uint64(len(ss)))
		for _, s := range ss {
			w.text(s)
		}
	})
}

func (m *cborMap) write(w *cborWriter) {
	slices.SortFunc(m.entries, func(a, b cborEntry) int { return bytes.Compare(a.key, b.key) })
	w.head(majorMap, uint64(len(m.entries)))
	for _, e := range m.entries {
		w.b = append(w.b, e.key...)
		w.b = append(w.b, e.value...)
	}
}

func (m *cborMap) encode() []byte {
	var w cborWriter
	m.write(&w)
	return w.b
}

// cborReader reads the strict subset. Every error wraps ErrCorrupt.
type cborReader struct {
	b   []byte
	off int
}

func (r *cborReader) fail(format string, args ...any) error {
	return fmt.Errorf("%w: CBOR at byte %d: %s", ErrCorrupt, r.off, fmt.Sprintf(format, args...))
}

// head reads an item head: major type and argument, insisting on the
// shortest form and a definite length.
func (r *cborReader) head() (major byte, arg uint64, err error) {
	if r.off >= len(r.b) {
		return 0, 0, r.fail("unexpected end")
	}
	ib := r.b[r.off]
	major, ai := ib>>5, ib&31
	r.off++
	var n int
	switch {
	case ai < 24:
		return major, uint64(ai), nil
	case ai == 24:
		n = 1
	case ai == 25:
		n = 2
	case ai == 26:
		n = 4
	case ai == 27:
		n = 8
	default:
		return 0, 0, r.fail("indefinite length or reserved value (0x%02x)", ib)
	}
	if len(r.b)-r.off < n {
		return 0, 0, r.fail("unexpected end")
	}
	for _, c := range r.b[r.off : r.off+n] {
		arg = arg<<8 | uint64(c)
	}
	r.off += n
	var least uint64
	switch n {
	case 1:
		least = 24
	case 2:
		least = math.MaxUint8 + 1
	case 4:
		least = math.MaxUint16 + 1
	case 8:
		least = math.MaxUint32 + 1
	}
	if arg < least {
		return 0, 0, r.fail("integer or length not in shortest form")
	}
	return major, arg, nil
}

func (r *cborReader) expect(want byte, what string) (uint64, error) {
	major, arg, err := r.head()
	if err != nil {
		return 0, err
	}
	if major != want {
		return 0, r.fail("%s: wrong type (major type %d)", what, major)
	}
	return arg, nil
}

func (r *cborReader) uint(what string, max uint64) (uint64, error) {
	n, err := r.expect(majorUint, what)
	if err == nil && n > max {
		err = r.fail("%s: %d out of range", what, n)
	}
	return n, err
}

func (r *cborReader) int(what string) (int64, error) {
	major, arg, err := r.head()
	if err != nil {
		return 0, err
	}
	if arg > math.MaxInt64 {
		return 0, r.fail("%s: integer out of range", what)
	}
	switch major {
	case majorUint:
		return int64(arg), nil
	case majorNeg:
		return -1 - int64(arg), nil
	}
	return 0, r.fail("%s: wrong type (major type %d)", what, major)
}

func (r *cborReader) str(major byte, what string, max int) ([]byte, error) {
	n, err := r.expect(major, what)
	if err != nil {
		return nil, err
	}
	if n > uint64(max) {
		return nil, r.fail("%s: %d bytes, at most %d allowed", what, n, max)
	}
	if uint64(len(r.b)-r.off) < n {
		return nil, r.fail("%s: unexpected end", what)
	}
	p := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return p, nil
}

func (r *cborReader) bytes(what string, max int) ([]byte, error) {
	p, err := r.str(majorBytes, what, max)
	return bytes.Clone(p), err
}

func (r *cborReader) text(what string, max int) (string, error) {
	p, err := r.str(majorText, what, max)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(p) {
		return "", r.fail("%s: invalid UTF-8", what)
	}
	return string(p), nil
}

func (r *cborReader) texts(what string, maxItems, maxLen int) ([]string, error) {
	n, err := r.expect(majorArray, what)
	if err != nil {
		return nil, err
	}
	if n > uint64(maxItems) {
		return nil, r.fail("%s: %d items, at most %d allowed", what, n, maxItems)
	}
	out := make([]string, 0, n)
	for range n {
		s, err := r.text(what, maxLen)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// fields reads a map and calls field for each key, in order. Keys must be
// text strings in strictly increasing order of their encodings (so no
// duplicates). field must read exactly the value, and return an error for
// keys it does not know.
func (r *cborReader) fields(what string, maxPairs int, field func(key string) error) error {
	n, err := r.expect(majorMap, what)
	if err != nil {
		return err
	}
	if n > uint64(maxPairs) {
		return r.fail("%s: %d entries, at most %d allowed", what, n, maxPairs)
	}
	var prev []byte
	for range n {
		start := r.off
		key, err := r.text(what+" key", 64)
		if err != nil {
			return err
		}
		enc := r.b[start:r.off]
		if prev != nil && bytes.Compare(prev, enc) >= 0 {
			return r.fail("%s: key %q duplicated or out of order", what, key)
		}
		prev = enc
		if err := field(key); err != nil {
			return err
		}
	}
	return nil
}

func (r *cborReader) end() error {
	if r.off != len(r.b) {
		return r.fail("%d trailing bytes", len(r.b)-r.off)
	}
	return nil
}

// unknown is the error for a key the schema does not have.
func (r *cborReader) unknown(what, key string) error {
	return r.fail("%s: unknown field %q", what, key)
}
