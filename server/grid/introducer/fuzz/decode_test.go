// Package fuzz holds the fuzz test of the announcement decoder. It lives
// apart from the introducer package's own tests because those link the
// storage package (for its TLS identity), and with it SQLite, whose
// coverage counters slow coverage-guided fuzzing to a few executions a
// second; this test binary has none of that.
package fuzz

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/communitycube/cube/server/grid/introducer"
	"github.com/communitycube/cube/shared/nurl"
)

// FuzzDecodeAnnouncement checks that the decoder never panics and that
// whatever it accepts is canonical (one announcement, one encoding),
// consistent, and signed by the node it names.
func FuzzDecodeAnnouncement(f *testing.F) {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	n := nurl.NURL{Scheme: nurl.SchemeTCP, SPKIHash: "2EIhsPtRlM1EF2B7cHwOK4U2FMSbHw8oXJrLo1ZCBAI", Host: "example.org", Port: 443, Swissnum: "swiss"}
	for _, a := range []introducer.Announcement{
		{Nickname: "s", Seq: 1, Service: introducer.ServiceStorage, NURL: n, Storage: &introducer.StorageInfo{AvailableSpace: 1 << 40, ReadOnly: true}},
		{Nickname: "h", Seq: 1 << 50, Service: introducer.ServiceHelper, NURL: n, Helper: &introducer.HelperInfo{ActiveUploads: 3, QueuedBytes: 1 << 20}},
		{Nickname: "i", Seq: 0, Service: introducer.ServiceIntroducer, NURL: n},
	} {
		sa, err := introducer.Sign(a, k)
		if err != nil {
			f.Fatal(err)
		}
		raw := sa.Bytes()
		f.Add(raw)
		f.Add(raw[:len(raw)/2])
	}
	v2, _ := cbor.Marshal(map[string]any{"ann": []byte{0xa1, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x02}, "key": make([]byte, 32), "sig": make([]byte, 64)})
	f.Add(v2)
	f.Add([]byte{0xa0})
	f.Add([]byte{0xbf, 0xff})

	f.Fuzz(func(t *testing.T, data []byte) {
		sa, err := introducer.DecodeAnnouncement(data)
		if err != nil {
			if sa != nil {
				t.Fatal("error with a result")
			}
			return
		}
		if len(data) > introducer.MaxAnnouncementSize {
			t.Fatal("accepted an oversize announcement")
		}
		if !bytes.Equal(sa.Bytes(), data) {
			t.Fatal("accepted bytes differ from the result's encoding")
		}
		a := sa.Announcement()
		if a.NodeID != introducer.NodeID(sa.PublicKey()) {
			t.Fatal("node id does not match the key")
		}
		switch a.Service {
		case introducer.ServiceStorage:
			if a.Storage == nil || a.Helper != nil || a.Storage.PermutationSeed != introducer.PermutationSeed(sa.PublicKey()) {
				t.Fatal("inconsistent storage announcement")
			}
		case introducer.ServiceHelper:
			if a.Helper == nil || a.Storage != nil {
				t.Fatal("inconsistent helper announcement")
			}
		case introducer.ServiceIntroducer:
			if a.Helper != nil || a.Storage != nil {
				t.Fatal("inconsistent introducer announcement")
			}
		default:
			t.Fatalf("accepted service %q", a.Service)
		}
		if a.NURL.Validate() != nil {
			t.Fatal("accepted an invalid NURL")
		}
		again, err := introducer.DecodeAnnouncement(sa.Bytes())
		if err != nil || again.Announcement().Seq != a.Seq {
			t.Fatalf("re-decoding failed: %v", err)
		}
	})
}
