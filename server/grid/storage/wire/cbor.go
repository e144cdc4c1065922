package wire

import (
	"errors"
	"fmt"
	"sort"

	"github.com/fxamacker/cbor/v2"
)

// TagSet is the CBOR tag (IANA "Set") that Tahoe wraps around arrays that
// are semantically sets; cbor2 emits it for Python set objects and pycddl
// schemas (#6.258) require it.
const TagSet = 258

// ErrBadMessage is wrapped by every decoding error (HTTP 400 on the server).
var ErrBadMessage = errors.New("wire: malformed CBOR message")

func badMsg(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadMessage, fmt.Sprintf(format, args...))
}

// decMode decodes into generic values which the typed decoders then check
// field by field. We do not decode straight into structs because
// fxamacker/cbor's struct decoding is deliberately forgiving (case-insensitive
// field names, text strings into []byte) while the protocol's CDDL schemas
// are not. The limits bound the work any single message can cause; the
// request body size limit (enforced by the server before decoding) bounds
// memory, because the decoder checks well-formedness of the whole item before
// allocating, so declared lengths cannot exceed the bytes actually present.
var decMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  16,
		MaxArrayElements: 1 << 20,
		MaxMapPairs:      1 << 16,
		IndefLength:      cbor.IndefLengthAllowed,
		TagsMd:           cbor.TagsAllowed,
		IntDec:           cbor.IntDecConvertNone,
		MapKeyByteString: cbor.MapKeyByteStringAllowed,
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// encMode produces RFC 8949 core deterministic encoding, so responses are
// byte-for-byte reproducible (handy for tests and caching).
var encMode = func() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

func marshal(v any) []byte {
	b, err := encMode.Marshal(v)
	if err != nil {
		// Only our own well-typed values reach here.
		panic(err)
	}
	return b
}

func decodeAny(data []byte) (any, error) {
	var v any
	if err := decMode.Unmarshal(data, &v); err != nil {
		return nil, badMsg("%v", err)
	}
	return v, nil
}

// setOf encodes share numbers as a tagged, sorted CBOR set.
func setOf(shares []uint16) cbor.Tag {
	s := append([]uint16(nil), shares...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if s == nil {
		s = []uint16{}
	}
	return cbor.Tag{Number: TagSet, Content: s}
}

// fields checks that v is a map whose keys are all text strings from the
// allowed list and, if strict, that every allowed key is present. Unknown
// keys are rejected when strict (requests, mirroring Tahoe's closed CDDL
// maps) and ignored otherwise (responses, for forward compatibility).
func fields(v any, strict bool, allowed ...string) (map[string]any, error) {
	m, ok := v.(map[any]any)
	if !ok {
		return nil, badMsg("expected a map")
	}
	out := make(map[string]any, len(allowed))
	for k, val := range m {
		ks, ok := k.(string)
		if !ok {
			if strict {
				return nil, badMsg("map key is not a text string")
			}
			continue
		}
		known := false
		for _, a := range allowed {
			if a == ks {
				known = true
				break
			}
		}
		if !known {
			if strict {
				return nil, badMsg("unexpected field %q", truncate(ks))
			}
			continue
		}
		out[ks] = val
	}
	for _, a := range allowed {
		if _, ok := out[a]; !ok {
			return nil, badMsg("missing field %q", a)
		}
	}
	return out, nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func asUint(v any, what string) (uint64, error) {
	u, ok := v.(uint64)
	if !ok {
		return 0, badMsg("%s: expected unsigned integer", what)
	}
	return u, nil
}

// asOffset is asUint limited to MaxOffset so arithmetic on it cannot
// overflow.
func asOffset(v any, what string) (uint64, error) {
	u, err := asUint(v, what)
	if err != nil {
		return 0, err
	}
	if u >= MaxOffset {
		return 0, badMsg("%s: too large", what)
	}
	return u, nil
}

func asBytes(v any, what string) ([]byte, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, badMsg("%s: expected byte string", what)
	}
	return b, nil
}

func asArray(v any, what string, max int) ([]any, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, badMsg("%s: expected array", what)
	}
	if max >= 0 && len(a) > max {
		return nil, badMsg("%s: more than %d elements", what, max)
	}
	return a, nil
}

func asShareNumber(v any, what string) (uint16, error) {
	u, err := asUint(v, what)
	if err != nil {
		return 0, err
	}
	if u > MaxShareNumber {
		return 0, badMsg("%s: share number %d > %d", what, u, MaxShareNumber)
	}
	return uint16(u), nil
}

// asShareSet accepts a tag-258 set of share numbers. A bare array is also
// accepted (lenient reading); duplicates are an error either way.
func asShareSet(v any, what string) ([]uint16, error) {
	if t, ok := v.(cbor.Tag); ok {
		if t.Number != TagSet {
			return nil, badMsg("%s: unexpected tag %d", what, t.Number)
		}
		v = t.Content
	}
	a, err := asArray(v, what, MaxShareSet)
	if err != nil {
		return nil, err
	}
	out := make([]uint16, 0, len(a))
	var seen [MaxShareNumber + 1]bool
	for _, e := range a {
		n, err := asShareNumber(e, what)
		if err != nil {
			return nil, err
		}
		if seen[n] {
			return nil, badMsg("%s: duplicate share number %d", what, n)
		}
		seen[n] = true
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}
