package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

func TestStorageIndex(t *testing.T) {
	var si StorageIndex
	for i := range si {
		si[i] = byte(i * 17)
	}
	s := si.String()
	if len(s) != 26 || strings.ToLower(s) != s {
		t.Fatalf("bad encoding %q", s)
	}
	back, err := ParseStorageIndex(s)
	if err != nil || back != si {
		t.Fatalf("round trip: %v %x", err, back)
	}
	// All-zero index is "aaaa...a"; flipping the last character's unused
	// low bits must be rejected (non-canonical alias).
	zero := StorageIndex{}.String()
	if zero != strings.Repeat("a", 26) {
		t.Fatalf("zero SI = %q", zero)
	}
	for _, bad := range []string{
		zero[:25] + "b", zero[:25], zero + "a", strings.ToUpper(zero), zero[:25] + "1", "",
	} {
		if _, err := ParseStorageIndex(bad); err == nil {
			t.Errorf("ParseStorageIndex(%q) accepted", bad)
		}
	}
}

func TestShareNumber(t *testing.T) {
	for s, want := range map[string]uint16{"0": 0, "7": 7, "255": 255} {
		if got, err := ParseShareNumber(s); err != nil || got != want {
			t.Errorf("ParseShareNumber(%q) = %d, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "-1", "+1", "01", "256", "1000", "1a", " 1"} {
		if _, err := ParseShareNumber(s); err == nil {
			t.Errorf("ParseShareNumber(%q) accepted", s)
		}
	}
}

func TestSecrets(t *testing.T) {
	k32 := bytes.Repeat([]byte{7}, 32)
	vals := []string{
		SecretHeaderValue(LeaseRenewSecret, k32),
		SecretHeaderValue(LeaseCancelSecret, k32),
		SecretHeaderValue(UploadSecret, []byte("up")),
	}
	s, err := ParseSecrets(vals, LeaseRenewSecret, LeaseCancelSecret, UploadSecret)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s[UploadSecret], []byte("up")) {
		t.Fatal("upload secret mismatch")
	}
	// Joined by an intermediary.
	if _, err := ParseSecrets([]string{strings.Join(vals, ", ")}, LeaseRenewSecret, LeaseCancelSecret, UploadSecret); err != nil {
		t.Fatal(err)
	}
	bad := [][]string{
		nil,                   // missing
		vals[:2],              // one missing
		append(vals, vals[0]), // duplicate
		{vals[0], vals[1], "upload-secret !!!"},
		{vals[0], vals[1], "upload-secret "},
		{vals[0], vals[1], "bogus-secret YQ=="},
		{SecretHeaderValue(LeaseRenewSecret, k32[:31]), vals[1], vals[2]},
		{vals[0], vals[1], vals[2], SecretHeaderValue(WriteEnabler, k32)}, // extra
		{vals[0], vals[1], SecretHeaderValue(UploadSecret, make([]byte, 65))},
	}
	for i, b := range bad {
		if _, err := ParseSecrets(b, LeaseRenewSecret, LeaseCancelSecret, UploadSecret); !errors.Is(err, ErrBadSecrets) {
			t.Errorf("case %d: err = %v", i, err)
		}
	}
	if _, err := ParseSecrets([]string{SecretHeaderValue(WriteEnabler, k32[:16])}, WriteEnabler); err == nil {
		t.Error("short write enabler accepted")
	}
	if _, err := ParseSecrets([]string{vals[0]}); err == nil {
		t.Error("secret accepted where none expected")
	}
}

func TestAuthorization(t *testing.T) {
	v := AuthorizationValue("abc")
	if v != "Tahoe-LAFS YWJj" {
		t.Fatalf("AuthorizationValue = %q", v)
	}
	if !CheckAuthorization(v, "Tahoe-LAFS YWJj") || CheckAuthorization("Tahoe-LAFS YWJk", v) || CheckAuthorization("", v) {
		t.Fatal("CheckAuthorization wrong")
	}
}

func TestRanges(t *testing.T) {
	r, err := ParseRange("bytes=0-15")
	if err != nil || r != (ByteRange{0, 16}) {
		t.Fatalf("ParseRange = %v %v", r, err)
	}
	if FormatRange(16, 32) != "bytes=16-47" {
		t.Fatal(FormatRange(16, 32))
	}
	for _, bad := range []string{"", "bytes=5-", "bytes=-5", "bytes=0-1,3-4", "bytes=5-4", "items=0-1", "bytes=a-b", "bytes=0-99999999999999999999"} {
		if _, err := ParseRange(bad); err == nil {
			t.Errorf("ParseRange(%q) accepted", bad)
		}
	}
	cr, total, err := ParseContentRange("bytes 16-31/48")
	if err != nil || cr != (ByteRange{16, 32}) || total != 48 {
		t.Fatalf("ParseContentRange = %v %d %v", cr, total, err)
	}
	cr, total, err = ParseContentRange("bytes 0-15/*")
	if err != nil || cr != (ByteRange{0, 16}) || total != -1 {
		t.Fatalf("ParseContentRange * = %v %d %v", cr, total, err)
	}
	for _, bad := range []string{"bytes 0-15", "bytes 0-48/48", "bytes 5-4/*", "bytes */48", "bytes=0-1/2", "0-1/2"} {
		if _, _, err := ParseContentRange(bad); err == nil {
			t.Errorf("ParseContentRange(%q) accepted", bad)
		}
	}
	if s := FormatContentRange(ByteRange{0, 16}, 48); s != "bytes 0-15/48" {
		t.Fatal(s)
	}
	if s := FormatContentRange(ByteRange{0, 16}, -1); s != "bytes 0-15/*" {
		t.Fatal(s)
	}
}

// tahoeAllocate is what cbor2.dumps({"share-numbers": {1, 7},
// "allocated-size": 48}) produces (insertion-ordered keys, set as tag 258).
const tahoeAllocate = "a2" + "6d" + "73686172652d6e756d62657273" + "d90102" + "820107" +
	"6e" + "616c6c6f63617465642d73697a65" + "1830"

func TestDecodeTahoeAllocate(t *testing.T) {
	b, _ := hex.DecodeString(tahoeAllocate)
	r, err := DecodeAllocateRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, AllocateRequest{ShareNumbers: []uint16{1, 7}, AllocatedSize: 48}) {
		t.Fatalf("got %+v", r)
	}
}

func TestEncodeAllocateResponseUsesSetTag(t *testing.T) {
	b := EncodeAllocateResponse(AllocateResponse{AlreadyHave: []uint16{1}, Allocated: []uint16{7}})
	// Deterministic encoding sorts keys by encoded bytes: "allocated"
	// (shorter) first.
	want := "a2" + "69" + hex.EncodeToString([]byte("allocated")) + "d90102" + "8107" +
		"6c" + hex.EncodeToString([]byte("already-have")) + "d90102" + "8101"
	if hex.EncodeToString(b) != want {
		t.Fatalf("got  %x\nwant %s", b, want)
	}
	back, err := DecodeAllocateResponse(b)
	if err != nil || !reflect.DeepEqual(back, AllocateResponse{AlreadyHave: []uint16{1}, Allocated: []uint16{7}}) {
		t.Fatalf("%+v %v", back, err)
	}
	if hex.EncodeToString(EncodeShareList(nil)) != "d9010280" {
		t.Fatalf("empty share list = %x", EncodeShareList(nil))
	}
}

func TestVersionRoundTrip(t *testing.T) {
	v := Version{MaximumImmutableShareSize: 1 << 40, MaximumMutableShareSize: 1 << 30, AvailableSpace: 12345, ApplicationVersion: "cube/1"}
	b := EncodeVersion(v)
	if !bytes.Contains(b, []byte("available-space")) || bytes.Contains(b, []byte("tolerates")) {
		t.Fatal("unexpected version keys")
	}
	// Keys must be byte strings: major type 2 header 0x4f precedes the
	// 15-byte "available-space".
	if !bytes.Contains(b, append([]byte{0x4f}, "available-space"...)) {
		t.Fatalf("available-space key is not a byte string: %x", b)
	}
	got, err := DecodeVersion(b)
	if err != nil {
		t.Fatal(err)
	}
	want := v
	want.ToleratesImmutableReadOverrun = true
	want.DeleteMutableSharesWithZeroLengthWritev = true
	want.FillsHolesWithZeroBytes = true
	want.PreventsReadPastEndOfShareData = true
	if got != want {
		t.Fatalf("got %+v", got)
	}
}

func TestReadTestWriteRoundTrip(t *testing.T) {
	nl := uint64(10)
	req := ReadTestWriteRequest{
		TestWriteVectors: map[uint16]TestWriteVectors{
			3: {
				Test:      []TestVector{{Offset: 0, Size: 1, Specimen: []byte{}}},
				Write:     []WriteVector{{Offset: 0, Data: []byte("xxxxxxxxxx")}},
				NewLength: &nl,
			},
			4: {Test: []TestVector{}, Write: []WriteVector{}},
		},
		ReadVector: []ReadVector{{Offset: 3, Size: 12}},
	}
	back, err := DecodeReadTestWriteRequest(EncodeReadTestWriteRequest(req))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, req) {
		t.Fatalf("got %+v", back)
	}
	resp := ReadTestWriteResponse{Success: true, Data: map[uint16][][]byte{0: {[]byte("foo"), {}}}}
	rback, err := DecodeReadTestWriteResponse(EncodeReadTestWriteResponse(resp))
	if err != nil || !reflect.DeepEqual(rback, resp) {
		t.Fatalf("%+v %v", rback, err)
	}
}

func TestDecodeRejects(t *testing.T) {
	enc := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	cases := map[string][]byte{
		"not cbor":         []byte{0xff, 0x00},
		"trailing":         append(enc(tahoeAllocate), 0x00),
		"missing field":    marshalT(map[string]any{"share-numbers": setOf([]uint16{1})}),
		"unknown field":    marshalT(map[string]any{"share-numbers": setOf(nil), "allocated-size": 1, "x": 1}),
		"negative size":    marshalT(map[string]any{"share-numbers": setOf(nil), "allocated-size": -1}),
		"text as size":     marshalT(map[string]any{"share-numbers": setOf(nil), "allocated-size": "1"}),
		"dup in set":       marshalT(map[string]any{"share-numbers": []int{1, 1}, "allocated-size": 1}),
		"shnum too big":    marshalT(map[string]any{"share-numbers": []int{256}, "allocated-size": 1}),
		"wrong tag":        marshalT(map[string]any{"share-numbers": tagT(259, []int{1}), "allocated-size": 1}),
		"duplicate key":    enc("a2" + "6e616c6c6f63617465642d73697a65" + "01" + "6e616c6c6f63617465642d73697a65" + "02"),
		"case-insensitive": marshalT(map[string]any{"Share-Numbers": setOf(nil), "allocated-size": 1}),
	}
	for name, b := range cases {
		if _, err := DecodeAllocateRequest(b); !errors.Is(err, ErrBadMessage) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	rtw := map[string]any{
		"test-write-vectors": map[int]any{0: map[string]any{
			"test": []any{}, "write": []any{map[string]any{"offset": 0, "data": "text not bytes"}}, "new-length": nil,
		}},
		"read-vector": []any{},
	}
	if _, err := DecodeReadTestWriteRequest(marshalT(rtw)); err == nil {
		t.Error("text string accepted as data")
	}
	tooMany := make([]any, MaxReadVectors+1)
	for i := range tooMany {
		tooMany[i] = map[string]any{"offset": 0, "size": 1}
	}
	if _, err := DecodeReadTestWriteRequest(marshalT(map[string]any{"test-write-vectors": map[int]any{}, "read-vector": tooMany})); err == nil {
		t.Error("31 read vectors accepted")
	}
	if _, err := DecodeCorruptionAdvice(marshalT(map[string]any{"reason": ""})); err == nil {
		t.Error("empty reason accepted")
	}
	if _, err := DecodeCorruptionAdvice(marshalT(map[string]any{"reason": []byte("x")})); err == nil {
		t.Error("byte-string reason accepted")
	}
	if a, err := DecodeCorruptionAdvice(EncodeCorruptionAdvice(CorruptionAdvice{"bad hash"})); err != nil || a.Reason != "bad hash" {
		t.Errorf("corruption round trip: %v", err)
	}
}

func marshalT(v any) []byte {
	b, err := encMode.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func tagT(n uint64, content any) cbor.Tag { return cbor.Tag{Number: n, Content: content} }
