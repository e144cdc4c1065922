package wire

import (
	"encoding/hex"
	"reflect"
	"testing"
)

// FuzzDecodeRequest feeds arbitrary bytes to every decoder the server runs
// on request bodies (and, for good measure, the client's response
// decoders). They must never panic, and whatever they accept must survive a
// re-encode/decode round trip unchanged. Allocation is bounded because
// everything decoded is a sub-slice or copy of the input: the total size of
// the decoded byte strings can never exceed the input length, which the test
// checks.
func FuzzDecodeRequest(f *testing.F) {
	b, _ := hex.DecodeString(tahoeAllocate)
	f.Add(b)
	nl := uint64(3)
	f.Add(EncodeReadTestWriteRequest(ReadTestWriteRequest{
		TestWriteVectors: map[uint16]TestWriteVectors{1: {
			Test:      []TestVector{{Offset: 1, Size: 2, Specimen: []byte("ab")}},
			Write:     []WriteVector{{Offset: 0, Data: []byte("hello")}},
			NewLength: &nl,
		}},
		ReadVector: []ReadVector{{Offset: 0, Size: 10}},
	}))
	f.Add(EncodeCorruptionAdvice(CorruptionAdvice{Reason: "bad"}))
	f.Add(EncodeVersion(Version{1, 2, 3, "x", false, false, false, false}))
	f.Add(EncodeUploadProgress(UploadProgress{Required: []ByteRange{{1, 2}}}))
	f.Add(EncodeShareList([]uint16{1, 2}))
	f.Add([]byte{0x9f, 0x9f, 0x9f, 0xff, 0xff, 0xff})
	f.Add([]byte{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		if r, err := DecodeAllocateRequest(data); err == nil {
			back, err := DecodeAllocateRequest(EncodeAllocateRequest(r))
			if err != nil || !reflect.DeepEqual(back, r) {
				t.Fatalf("allocate round trip: %v %+v %+v", err, r, back)
			}
			if len(r.ShareNumbers) > MaxShareSet {
				t.Fatal("share set too large")
			}
		}
		if r, err := DecodeCorruptionAdvice(data); err == nil {
			if len(r.Reason) > len(data) || r.Reason == "" {
				t.Fatal("reason longer than input")
			}
		}
		if r, err := DecodeReadTestWriteRequest(data); err == nil {
			total := 0
			for _, v := range r.TestWriteVectors {
				if len(v.Test) > MaxTestVectors {
					t.Fatal("too many test vectors")
				}
				for _, tv := range v.Test {
					total += len(tv.Specimen)
				}
				for _, w := range v.Write {
					total += len(w.Data)
				}
			}
			if total > len(data) || len(r.ReadVector) > MaxReadVectors {
				t.Fatalf("decoded %d payload bytes from %d input bytes", total, len(data))
			}
			back, err := DecodeReadTestWriteRequest(EncodeReadTestWriteRequest(r))
			if err != nil || !reflect.DeepEqual(normalizeRTW(back), normalizeRTW(r)) {
				t.Fatalf("rtw round trip: %v", err)
			}
		}
		_, _ = DecodeVersion(data)
		_, _ = DecodeUploadProgress(data)
		_, _ = DecodeShareList(data)
		_, _ = DecodeAllocateResponse(data)
		_, _ = DecodeReadTestWriteResponse(data)
		_, _ = ParseRange(string(data))
		_, _, _ = ParseContentRange(string(data))
		_, _ = ParseSecrets([]string{string(data)}, UploadSecret)
	})
}

// normalizeRTW maps nil and empty slices to the same value for comparison.
func normalizeRTW(r ReadTestWriteRequest) ReadTestWriteRequest {
	for k, v := range r.TestWriteVectors {
		for i := range v.Test {
			if v.Test[i].Specimen == nil {
				v.Test[i].Specimen = []byte{}
			}
		}
		for i := range v.Write {
			if v.Write[i].Data == nil {
				v.Write[i].Data = []byte{}
			}
		}
		r.TestWriteVectors[k] = v
	}
	return r
}
