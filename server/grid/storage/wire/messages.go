package wire

import (
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// Request body size limits enforced by the server before decoding (413
// beyond them). The first two are Tahoe's; the read-test-write default is
// ours (Tahoe accepts up to 2^48 bytes, which we will not buffer).
const (
	MaxAllocateRequestSize = 8 * 1024
	MaxCorruptRequestSize  = 32 * 1024
	// DefaultMaxReadTestWriteSize bounds a read-test-write request body,
	// which holds the mutable share data being written and therefore has to
	// be held in memory. SDMF/MDMF writers send one share per request.
	DefaultMaxReadTestWriteSize = 64 << 20
)

// Schema limits from the protocol's CDDL.
const (
	MaxTestVectors  = 30
	MaxReadVectors  = 30
	MaxReasonLength = 32765
)

// ---- version ----

// Version is the decoded GET /storage/v1/version response.
type Version struct {
	MaximumImmutableShareSize uint64
	MaximumMutableShareSize   uint64
	AvailableSpace            uint64
	ApplicationVersion        string

	// The following are not sent over HTTP: the protocol guarantees them,
	// and Tahoe's HTTP client adds them to the version dictionary itself
	// (http_client.StorageClientGeneral.get_version). DecodeVersion sets them
	// to true so callers can keep feature-testing as with Foolscap.
	ToleratesImmutableReadOverrun           bool
	DeleteMutableSharesWithZeroLengthWritev bool
	FillsHolesWithZeroBytes                 bool
	PreventsReadPastEndOfShareData          bool
}

// EncodeVersion encodes the version message. Keys are CBOR byte strings, as
// in Tahoe (the dictionary dates from Foolscap, where keys were bytes), and
// only the keys in the protocol's schema are sent: Tahoe's client validates
// the response against a closed CDDL map, so extra keys risk rejection.
func EncodeVersion(v Version) []byte {
	return marshal(map[cbor.ByteString]any{
		VersionKey: map[cbor.ByteString]uint64{
			"maximum-immutable-share-size": v.MaximumImmutableShareSize,
			"maximum-mutable-share-size":   v.MaximumMutableShareSize,
			"available-space":              v.AvailableSpace,
		},
		"application-version": []byte(v.ApplicationVersion),
	})
}

// DecodeVersion decodes a version message. Unknown keys are ignored.
func DecodeVersion(data []byte) (Version, error) {
	var out Version
	v, err := decodeAny(data)
	if err != nil {
		return out, err
	}
	top, ok := v.(map[any]any)
	if !ok {
		return out, badMsg("version: expected a map")
	}
	section, ok := lookupBytesKey(top, VersionKey).(map[any]any)
	if !ok {
		return out, badMsg("version: missing %s section", VersionKey)
	}
	for _, f := range []struct {
		key string
		dst *uint64
	}{
		{"maximum-immutable-share-size", &out.MaximumImmutableShareSize},
		{"maximum-mutable-share-size", &out.MaximumMutableShareSize},
		{"available-space", &out.AvailableSpace},
	} {
		u, err := asUint(lookupBytesKey(section, f.key), f.key)
		if err != nil {
			return out, err
		}
		*f.dst = u
	}
	switch av := lookupBytesKey(top, "application-version").(type) {
	case []byte:
		out.ApplicationVersion = string(av)
	case string:
		out.ApplicationVersion = av
	default:
		return out, badMsg("version: missing application-version")
	}
	out.ToleratesImmutableReadOverrun = true
	out.DeleteMutableSharesWithZeroLengthWritev = true
	out.FillsHolesWithZeroBytes = true
	out.PreventsReadPastEndOfShareData = true
	return out, nil
}

// lookupBytesKey finds key as a byte-string key (Tahoe) or, leniently, a
// text-string key.
func lookupBytesKey(m map[any]any, key string) any {
	if v, ok := m[cbor.ByteString(key)]; ok {
		return v
	}
	return m[key]
}

// ---- allocate ----

// AllocateRequest is the body of POST /storage/v1/immutable/:si.
type AllocateRequest struct {
	ShareNumbers  []uint16
	AllocatedSize uint64
}

// EncodeAllocateRequest encodes r.
func EncodeAllocateRequest(r AllocateRequest) []byte {
	return marshal(map[string]any{
		"share-numbers":  setOf(r.ShareNumbers),
		"allocated-size": r.AllocatedSize,
	})
}

// DecodeAllocateRequest decodes and validates an allocate request.
func DecodeAllocateRequest(data []byte) (AllocateRequest, error) {
	var out AllocateRequest
	v, err := decodeAny(data)
	if err != nil {
		return out, err
	}
	f, err := fields(v, true, "share-numbers", "allocated-size")
	if err != nil {
		return out, err
	}
	if out.ShareNumbers, err = asShareSet(f["share-numbers"], "share-numbers"); err != nil {
		return out, err
	}
	if out.AllocatedSize, err = asOffset(f["allocated-size"], "allocated-size"); err != nil {
		return out, err
	}
	return out, nil
}

// AllocateResponse is the response to an allocate request.
type AllocateResponse struct {
	AlreadyHave []uint16
	Allocated   []uint16
}

// EncodeAllocateResponse encodes r with both fields as tagged sets.
func EncodeAllocateResponse(r AllocateResponse) []byte {
	return marshal(map[string]any{
		"already-have": setOf(r.AlreadyHave),
		"allocated":    setOf(r.Allocated),
	})
}

// DecodeAllocateResponse decodes an allocate response.
func DecodeAllocateResponse(data []byte) (AllocateResponse, error) {
	var out AllocateResponse
	v, err := decodeAny(data)
	if err != nil {
		return out, err
	}
	f, err := fields(v, false, "already-have", "allocated")
	if err != nil {
		return out, err
	}
	if out.AlreadyHave, err = asShareSet(f["already-have"], "already-have"); err != nil {
		return out, err
	}
	if out.Allocated, err = asShareSet(f["allocated"], "allocated"); err != nil {
		return out, err
	}
	return out, nil
}

// ---- immutable write progress ----

// UploadProgress is the response body of an immutable chunk write: the
// ranges of the share still missing. It is sent with both 200 (incomplete)
// and 201 (complete, Required empty).
type UploadProgress struct {
	Required []ByteRange
}

type wireRange struct {
	Begin uint64 `cbor:"begin"`
	End   uint64 `cbor:"end"`
}

// EncodeUploadProgress encodes p.
func EncodeUploadProgress(p UploadProgress) []byte {
	rs := make([]wireRange, len(p.Required))
	for i, r := range p.Required {
		rs[i] = wireRange(r)
	}
	return marshal(map[string]any{"required": rs})
}

// DecodeUploadProgress decodes an upload progress message.
func DecodeUploadProgress(data []byte) (UploadProgress, error) {
	var out UploadProgress
	v, err := decodeAny(data)
	if err != nil {
		return out, err
	}
	f, err := fields(v, false, "required")
	if err != nil {
		return out, err
	}
	arr, err := asArray(f["required"], "required", -1)
	if err != nil {
		return out, err
	}
	out.Required = make([]ByteRange, 0, len(arr))
	for _, e := range arr {
		rf, err := fields(e, false, "begin", "end")
		if err != nil {
			return out, err
		}
		b, err := asOffset(rf["begin"], "begin")
		if err != nil {
			return out, err
		}
		en, err := asOffset(rf["end"], "end")
		if err != nil {
			return out, err
		}
		if en < b {
			return out, badMsg("required: end before begin")
		}
		out.Required = append(out.Required, ByteRange{Begin: b, End: en})
	}
	return out, nil
}

// ---- share lists ----

// EncodeShareList encodes a set of share numbers (a bare tag-258 set).
func EncodeShareList(shares []uint16) []byte { return marshal(setOf(shares)) }

// DecodeShareList decodes a set of share numbers.
func DecodeShareList(data []byte) ([]uint16, error) {
	v, err := decodeAny(data)
	if err != nil {
		return nil, err
	}
	return asShareSet(v, "shares")
}

// ---- corruption advisory ----

// CorruptionAdvice is the body of POST .../corrupt.
type CorruptionAdvice struct {
	Reason string
}

// EncodeCorruptionAdvice encodes a.
func EncodeCorruptionAdvice(a CorruptionAdvice) []byte {
	return marshal(map[string]any{"reason": a.Reason})
}

// DecodeCorruptionAdvice decodes and validates a corruption advisory: the
// reason must be a text string of 1..32765 bytes.
func DecodeCorruptionAdvice(data []byte) (CorruptionAdvice, error) {
	var out CorruptionAdvice
	v, err := decodeAny(data)
	if err != nil {
		return out, err
	}
	f, err := fields(v, true, "reason")
	if err != nil {
		return out, err
	}
	s, ok := f["reason"].(string)
	if !ok {
		return out, badMsg("reason: expected text string")
	}
	if len(s) < 1 || len(s) > MaxReasonLength || !utf8.ValidString(s) {
		return out, badMsg("reason: length must be 1..%d bytes", MaxReasonLength)
	}
	out.Reason = s
	return out, nil
}

// ---- mutable read-test-write ----

// TestVector asserts that the Size bytes at Offset (clipped to the end of
// the share data; empty for a missing share) equal Specimen.
type TestVector struct {
	Offset   uint64
	Size     uint64
	Specimen []byte
}

// WriteVector writes Data at Offset.
type WriteVector struct {
	Offset uint64
	Data   []byte
}

// ReadVector reads Size bytes at Offset (clipped).
type ReadVector struct {
	Offset uint64
	Size   uint64
}

// TestWriteVectors is the per-share part of a read-test-write request.
// NewLength, if set, truncates the share data to that length after the
// writes if it is shorter than the data; 0 deletes the share.
type TestWriteVectors struct {
	Test      []TestVector
	Write     []WriteVector
	NewLength *uint64
}

// ReadTestWriteRequest is the body of POST .../read-test-write.
type ReadTestWriteRequest struct {
	TestWriteVectors map[uint16]TestWriteVectors
	ReadVector       []ReadVector
}

type wireTest struct {
	Offset   uint64 `cbor:"offset"`
	Size     uint64 `cbor:"size"`
	Specimen []byte `cbor:"specimen"`
}

type wireWrite struct {
	Offset uint64 `cbor:"offset"`
	Data   []byte `cbor:"data"`
}

type wireRead struct {
	Offset uint64 `cbor:"offset"`
	Size   uint64 `cbor:"size"`
}

type wireTWV struct {
	Test      []wireTest  `cbor:"test"`
	Write     []wireWrite `cbor:"write"`
	NewLength *uint64     `cbor:"new-length"`
}

// EncodeReadTestWriteRequest encodes r.
func EncodeReadTestWriteRequest(r ReadTestWriteRequest) []byte {
	twv := make(map[uint64]wireTWV, len(r.TestWriteVectors))
	for sh, v := range r.TestWriteVectors {
		w := wireTWV{Test: []wireTest{}, Write: []wireWrite{}, NewLength: v.NewLength}
		for _, t := range v.Test {
			w.Test = append(w.Test, wireTest{t.Offset, t.Size, nonNil(t.Specimen)})
		}
		for _, d := range v.Write {
			w.Write = append(w.Write, wireWrite{d.Offset, nonNil(d.Data)})
		}
		twv[uint64(sh)] = w
	}
	rv := make([]wireRead, len(r.ReadVector))
	for i, x := range r.ReadVector {
		rv[i] = wireRead(x)
	}
	return marshal(map[string]any{"test-write-vectors": twv, "read-vector": rv})
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// DecodeReadTestWriteRequest decodes and validates a read-test-write
// request against the protocol's schema (at most 256 shares, 30 test vectors
// per share, 30 read vectors; all fields required).
func DecodeReadTestWriteRequest(data []byte) (ReadTestWriteRequest, error) {
	var out ReadTestWriteRequest
	v, err := decodeAny(data)
	if err != nil {
		return out, err
	}
	f, err := fields(v, true, "test-write-vectors", "read-vector")
	if err != nil {
		return out, err
	}
	twvMap, ok := f["test-write-vectors"].(map[any]any)
	if !ok {
		return out, badMsg("test-write-vectors: expected a map")
	}
	if len(twvMap) > MaxShareSet {
		return out, badMsg("test-write-vectors: more than %d shares", MaxShareSet)
	}
	out.TestWriteVectors = make(map[uint16]TestWriteVectors, len(twvMap))
	for k, val := range twvMap {
		sh, err := asShareNumber(k, "test-write-vectors key")
		if err != nil {
			return out, err
		}
		twv, err := decodeTWV(val)
		if err != nil {
			return out, err
		}
		out.TestWriteVectors[sh] = twv
	}
	rv, err := asArray(f["read-vector"], "read-vector", MaxReadVectors)
	if err != nil {
		return out, err
	}
	out.ReadVector = make([]ReadVector, 0, len(rv))
	for _, e := range rv {
		ef, err := fields(e, true, "offset", "size")
		if err != nil {
			return out, err
		}
		off, err := asOffset(ef["offset"], "read offset")
		if err != nil {
			return out, err
		}
		size, err := asOffset(ef["size"], "read size")
		if err != nil {
			return out, err
		}
		out.ReadVector = append(out.ReadVector, ReadVector{off, size})
	}
	return out, nil
}

func decodeTWV(v any) (TestWriteVectors, error) {
	var out TestWriteVectors
	f, err := fields(v, true, "test", "write", "new-length")
	if err != nil {
		return out, err
	}
	tests, err := asArray(f["test"], "test", MaxTestVectors)
	if err != nil {
		return out, err
	}
	out.Test = make([]TestVector, 0, len(tests))
	for _, e := range tests {
		ef, err := fields(e, true, "offset", "size", "specimen")
		if err != nil {
			return out, err
		}
		var t TestVector
		if t.Offset, err = asOffset(ef["offset"], "test offset"); err != nil {
			return out, err
		}
		if t.Size, err = asOffset(ef["size"], "test size"); err != nil {
			return out, err
		}
		if t.Specimen, err = asBytes(ef["specimen"], "specimen"); err != nil {
			return out, err
		}
		out.Test = append(out.Test, t)
	}
	writes, err := asArray(f["write"], "write", -1)
	if err != nil {
		return out, err
	}
	out.Write = make([]WriteVector, 0, len(writes))
	for _, e := range writes {
		ef, err := fields(e, true, "offset", "data")
		if err != nil {
			return out, err
		}
		var w WriteVector
		if w.Offset, err = asOffset(ef["offset"], "write offset"); err != nil {
			return out, err
		}
		if w.Data, err = asBytes(ef["data"], "data"); err != nil {
			return out, err
		}
		out.Write = append(out.Write, w)
	}
	if nl := f["new-length"]; nl != nil {
		n, err := asOffset(nl, "new-length")
		if err != nil {
			return out, err
		}
		out.NewLength = &n
	}
	return out, nil
}

// ReadTestWriteResponse is the response to a read-test-write request. Data
// maps every share the server held before the request to the results of the
// read vector, in order.
type ReadTestWriteResponse struct {
	Success bool
	Data    map[uint16][][]byte
}

// EncodeReadTestWriteResponse encodes r.
func EncodeReadTestWriteResponse(r ReadTestWriteResponse) []byte {
	data := make(map[uint64][][]byte, len(r.Data))
	for sh, reads := range r.Data {
		rs := make([][]byte, len(reads))
		for i, b := range reads {
			rs[i] = nonNil(b)
		}
		data[uint64(sh)] = rs
	}
	return marshal(map[string]any{"success": r.Success, "data": data})
}

// DecodeReadTestWriteResponse decodes a read-test-write response.
func DecodeReadTestWriteResponse(data []byte) (ReadTestWriteResponse, error) {
	var out ReadTestWriteResponse
	v, err := decodeAny(data)
	if err != nil {
		return out, err
	}
	f, err := fields(v, false, "success", "data")
	if err != nil {
		return out, err
	}
	ok := false
	if out.Success, ok = f["success"].(bool); !ok {
		return out, badMsg("success: expected bool")
	}
	dm, ok := f["data"].(map[any]any)
	if !ok {
		return out, badMsg("data: expected a map")
	}
	if len(dm) > MaxShareSet {
		return out, badMsg("data: more than %d shares", MaxShareSet)
	}
	out.Data = make(map[uint16][][]byte, len(dm))
	for k, val := range dm {
		sh, err := asShareNumber(k, "data key")
		if err != nil {
			return out, err
		}
		arr, err := asArray(val, "data", -1)
		if err != nil {
			return out, err
		}
		reads := make([][]byte, 0, len(arr))
		for _, e := range arr {
			b, err := asBytes(e, "data")
			if err != nil {
				return out, err
			}
			reads = append(reads, b)
		}
		out.Data[sh] = reads
	}
	return out, nil
}
