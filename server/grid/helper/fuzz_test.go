package helper

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/hashtree"
)

// FuzzDecodeSpec feeds arbitrary bytes to the begin-request decoder (and
// the other decoders, which read responses and on-disk records). They must
// not panic, and a spec they accept must survive a round trip unchanged
// and hold only values in range.
func FuzzDecodeSpec(f *testing.F) {
	h := hashtree.Hash{1, 2, 3}
	f.Add(encodeSpec(Spec{Size: 1 << 40, Params: Params{K: 3, Happy: 7, N: 10, MaxSegmentSize: 128 << 10}, CrypttextHash: &h}))
	f.Add(encodeSpec(Spec{Size: 56, Params: Params{K: 1, Happy: 1, N: 1, MaxSegmentSize: 1}}))
	placed := &Placed{
		VerifyCap: cap.Verifier{StorageIndex: [16]byte{1}, K: 3, N: 10, Size: 1000},
		UEB:       []byte("ueb"), Happiness: 7, Shares: map[int][]string{0: {"v0-a"}, 9: {"v0-b", "v0-c"}},
	}
	f.Add(encodeStatus(Status{State: StateStored, Size: 1000, Received: 1000, Result: placed}))
	f.Add(encodeDone(doneRecord{placed: placed, completed: time.Unix(1, 0)}))
	f.Add([]byte{0xbf, 0x64, 's', 'i', 'z', 'e', 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x9f, 0x9f, 0x9f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		if s, err := decodeSpec(data); err == nil {
			if s.Size < 0 || s.Params.K > cap.MaxShares || s.Params.N > cap.MaxShares ||
				s.Params.Happy > cap.MaxShares || s.Params.MaxSegmentSize < 0 {
				t.Fatalf("out-of-range spec accepted: %+v", s)
			}
			back, err := decodeSpec(encodeSpec(s))
			if err != nil || !reflect.DeepEqual(back, s) {
				t.Fatalf("round trip: %v\n%+v\n%+v", err, s, back)
			}
			if !bytes.Equal(encodeSpec(back), encodeSpec(s)) {
				t.Fatal("encoding not deterministic")
			}
		}
		if st, err := decodeStatus(data); err == nil {
			if st.Received > st.Size || st.Received < 0 {
				t.Fatalf("status out of range: %+v", st)
			}
			if st.Result != nil {
				if _, err := decodeStatus(encodeStatus(st)); err != nil {
					t.Fatalf("status round trip: %v", err)
				}
			}
		}
		_, _ = decodeDone(data)
	})
}
