package helper

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/hashtree"
	"github.com/fxamacker/cbor/v2"
)

// CBOR messages, in the style of the storage protocol (server/grid/storage/
// wire): kebab-case text keys, decoded into generic values and checked
// field by field, because fxamacker/cbor's struct decoding is lenient
// (case-insensitive keys, text into bytes) and these decoders face hostile
// input. Requests reject unknown keys; responses and on-disk records ignore
// them, for forward compatibility.

// Message keys.
const (
	keySize           = "size"
	keyK              = "k"
	keyHappy          = "happy"
	keyN              = "n"
	keyMaxSegmentSize = "max-segment-size"
	keyCrypttextHash  = "crypttext-hash"

	keyState     = "state"
	keyReceived  = "received"
	keyResult    = "result"
	keyLastError = "last-error"

	keyVerifyCap   = "verify-cap"
	keyUEB         = "ueb"
	keyHappiness   = "happiness"
	keyShares      = "shares"
	keyPushed      = "pushed"
	keyPreexisting = "preexisting"

	keyPlaced    = "placed"
	keyCompleted = "completed"
)

// maxServersPerShare bounds decoded server lists (a share is normally on
// one server; a few after repairs).
const maxServersPerShare = 64

var decMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  8,
		MaxArrayElements: 4096,
		MaxMapPairs:      1024,
		IndefLength:      cbor.IndefLengthAllowed,
		TagsMd:           cbor.TagsForbidden,
		IntDec:           cbor.IntDecConvertNone,
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// encMode is RFC 8949 core deterministic encoding, so equal values encode
// to equal bytes (handy for tests and for comparing on-disk records).
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
		panic(err) // only our own well-typed values reach here
	}
	return b
}

var errBadMessage = errors.New("malformed CBOR message")

func badMsg(format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrInvalid, errBadMessage, fmt.Sprintf(format, args...))
}

// fields checks that v is a map with text keys, that every required key is
// there and, if strict, that no other key than required or optional is.
func fields(v any, strict bool, required []string, optional ...string) (map[string]any, error) {
	m, ok := v.(map[any]any)
	if !ok {
		return nil, badMsg("expected a map")
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		ks, ok := k.(string)
		known := ok && (contains(required, ks) || contains(optional, ks))
		if !known {
			if strict {
				if !ok {
					return nil, badMsg("map key is not a text string")
				}
				return nil, badMsg("unexpected field %.40q", ks)
			}
			continue
		}
		out[ks] = val
	}
	for _, r := range required {
		if _, ok := out[r]; !ok {
			return nil, badMsg("missing field %q", r)
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// asInt accepts an unsigned integer up to max.
func asInt(v any, what string, max int64) (int64, error) {
	u, ok := v.(uint64)
	if !ok {
		return 0, badMsg("%s: expected unsigned integer", what)
	}
	if u > uint64(max) {
		return 0, badMsg("%s: %d is too large", what, u)
	}
	return int64(u), nil
}

func asBytes(v any, what string) ([]byte, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, badMsg("%s: expected byte string", what)
	}
	return b, nil
}

func asText(v any, what string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", badMsg("%s: expected text string", what)
	}
	return s, nil
}

func asHash(v any, what string) (*hashtree.Hash, error) {
	b, err := asBytes(v, what)
	if err != nil {
		return nil, err
	}
	if len(b) != hashtree.HashSize {
		return nil, badMsg("%s: %d bytes, want %d", what, len(b), hashtree.HashSize)
	}
	var h hashtree.Hash
	copy(h[:], b)
	return &h, nil
}

func decodeAny(data []byte) (any, error) {
	var v any
	if err := decMode.Unmarshal(data, &v); err != nil {
		return nil, badMsg("%v", err)
	}
	return v, nil
}

// encodeSpec encodes the begin request (also the on-disk session record).
func encodeSpec(s Spec) []byte {
	m := map[string]any{
		keySize:           uint64(s.Size),
		keyK:              uint64(s.Params.K),
		keyHappy:          uint64(s.Params.Happy),
		keyN:              uint64(s.Params.N),
		keyMaxSegmentSize: uint64(s.Params.MaxSegmentSize),
	}
	if s.CrypttextHash != nil {
		m[keyCrypttextHash] = s.CrypttextHash[:]
	}
	return marshal(m)
}

// decodeSpec decodes a begin request. It checks types and ranges only
// (numbers fit, the hash has 32 bytes); Service.Begin judges the values.
func decodeSpec(data []byte) (Spec, error) {
	var s Spec
	v, err := decodeAny(data)
	if err != nil {
		return s, err
	}
	f, err := fields(v, true, []string{keySize, keyK, keyHappy, keyN, keyMaxSegmentSize}, keyCrypttextHash)
	if err != nil {
		return s, err
	}
	if s.Size, err = asInt(f[keySize], keySize, math.MaxInt64); err != nil {
		return s, err
	}
	var k, happy, n int64
	if k, err = asInt(f[keyK], keyK, cap.MaxShares); err != nil {
		return s, err
	}
	if happy, err = asInt(f[keyHappy], keyHappy, cap.MaxShares); err != nil {
		return s, err
	}
	if n, err = asInt(f[keyN], keyN, cap.MaxShares); err != nil {
		return s, err
	}
	s.Params = Params{K: int(k), Happy: int(happy), N: int(n)}
	if s.Params.MaxSegmentSize, err = asInt(f[keyMaxSegmentSize], keyMaxSegmentSize, math.MaxInt64); err != nil {
		return s, err
	}
	if h, ok := f[keyCrypttextHash]; ok {
		if s.CrypttextHash, err = asHash(h, keyCrypttextHash); err != nil {
			return s, err
		}
	}
	return s, nil
}

// encodeFinish encodes the optional finish request.
func encodeFinish(crypttextHash *hashtree.Hash) []byte {
	m := map[string]any{}
	if crypttextHash != nil {
		m[keyCrypttextHash] = crypttextHash[:]
	}
	return marshal(m)
}

// decodeFinish decodes a finish request: a map with an optional crypttext
// hash.
func decodeFinish(data []byte) (*hashtree.Hash, error) {
	v, err := decodeAny(data)
	if err != nil {
		return nil, err
	}
	f, err := fields(v, true, nil, keyCrypttextHash)
	if err != nil {
		return nil, err
	}
	if h, ok := f[keyCrypttextHash]; ok {
		return asHash(h, keyCrypttextHash)
	}
	return nil, nil
}

func placedValue(p *Placed) map[string]any {
	shares := make(map[uint64][]string, len(p.Shares))
	for sh, servers := range p.Shares {
		if servers == nil {
			servers = []string{}
		}
		shares[uint64(sh)] = servers
	}
	m := map[string]any{
		keyVerifyCap:   p.VerifyCap.String(),
		keyHappiness:   uint64(max(p.Happiness, 0)),
		keyShares:      shares,
		keyPushed:      uint64(max(p.Pushed, 0)),
		keyPreexisting: uint64(max(p.Preexisting, 0)),
	}
	if p.UEB != nil {
		m[keyUEB] = p.UEB
	}
	return m
}

func decodePlaced(v any) (*Placed, error) {
	f, err := fields(v, false, []string{keyVerifyCap, keyHappiness, keyShares, keyPushed, keyPreexisting}, keyUEB)
	if err != nil {
		return nil, err
	}
	p := &Placed{}
	vc, err := asText(f[keyVerifyCap], keyVerifyCap)
	if err != nil {
		return nil, err
	}
	if p.VerifyCap, err = cap.ParseVerifier(vc); err != nil {
		return nil, badMsg("%s: %v", keyVerifyCap, err)
	}
	if u, ok := f[keyUEB]; ok {
		if p.UEB, err = asBytes(u, keyUEB); err != nil {
			return nil, err
		}
	}
	var x int64
	if x, err = asInt(f[keyHappiness], keyHappiness, cap.MaxShares); err != nil {
		return nil, err
	}
	p.Happiness = int(x)
	if x, err = asInt(f[keyPushed], keyPushed, cap.MaxShares); err != nil {
		return nil, err
	}
	p.Pushed = int(x)
	if x, err = asInt(f[keyPreexisting], keyPreexisting, cap.MaxShares); err != nil {
		return nil, err
	}
	p.Preexisting = int(x)
	sm, ok := f[keyShares].(map[any]any)
	if !ok {
		return nil, badMsg("%s: expected a map", keyShares)
	}
	p.Shares = make(map[int][]string, len(sm))
	for k, val := range sm {
		sh, err := asInt(k, "share number", cap.MaxShares-1)
		if err != nil {
			return nil, err
		}
		list, ok := val.([]any)
		if !ok || len(list) > maxServersPerShare {
			return nil, badMsg("servers of share %d: expected an array of at most %d", sh, maxServersPerShare)
		}
		servers := make([]string, 0, len(list))
		for _, s := range list {
			str, err := asText(s, "server id")
			if err != nil {
				return nil, err
			}
			servers = append(servers, str)
		}
		p.Shares[int(sh)] = servers
	}
	return p, nil
}

func encodeStatus(st Status) []byte {
	m := map[string]any{
		keyState:    string(st.State),
		keySize:     uint64(st.Size),
		keyReceived: uint64(st.Received),
	}
	if st.Result != nil {
		m[keyResult] = placedValue(st.Result)
	}
	if st.LastError != "" {
		m[keyLastError] = st.LastError
	}
	return marshal(m)
}

func decodeStatus(data []byte) (Status, error) {
	var st Status
	v, err := decodeAny(data)
	if err != nil {
		return st, err
	}
	f, err := fields(v, false, []string{keyState, keySize, keyReceived}, keyResult, keyLastError)
	if err != nil {
		return st, err
	}
	s, err := asText(f[keyState], keyState)
	if err != nil {
		return st, err
	}
	st.State = State(s)
	switch st.State {
	case StateReceiving, StatePlacing, StateStored:
	default:
		return st, badMsg("unknown state %.20q", s)
	}
	if st.Size, err = asInt(f[keySize], keySize, math.MaxInt64); err != nil {
		return st, err
	}
	if st.Received, err = asInt(f[keyReceived], keyReceived, st.Size); err != nil {
		return st, err
	}
	if r, ok := f[keyResult]; ok {
		if st.Result, err = decodePlaced(r); err != nil {
			return st, err
		}
	}
	if st.State == StateStored && st.Result == nil {
		return st, badMsg("stored without a result")
	}
	if e, ok := f[keyLastError]; ok {
		if st.LastError, err = asText(e, keyLastError); err != nil {
			return st, err
		}
	}
	return st, nil
}

// doneRecord is what the staging directory keeps of a finished upload, so
// that a finish retried after a helper restart still gets its answer.
type doneRecord struct {
	placed    *Placed
	completed time.Time
}

func encodeDone(d doneRecord) []byte {
	return marshal(map[string]any{
		keyPlaced:    placedValue(d.placed),
		keyCompleted: d.completed.Unix(),
	})
}

func decodeDone(data []byte) (doneRecord, error) {
	var d doneRecord
	v, err := decodeAny(data)
	if err != nil {
		return d, err
	}
	f, err := fields(v, false, []string{keyPlaced, keyCompleted})
	if err != nil {
		return d, err
	}
	if d.placed, err = decodePlaced(f[keyPlaced]); err != nil {
		return d, err
	}
	t, err := asInt(f[keyCompleted], keyCompleted, math.MaxInt64)
	if err != nil {
		return d, err
	}
	d.completed = time.Unix(t, 0)
	return d, nil
}
