package helper

import (
	"bytes"
	"testing"

	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/hashtree"
)

// TestPlacedCheck: a result that does not describe the upload is caught,
// whichever part is wrong. The client relies on this to detect a helper
// that encoded other bytes than it was sent.
func TestPlacedCheck(t *testing.T) {
	ct := bytes.Repeat([]byte("ciphertext"), 1000)
	params := Params{K: 3, Happy: 7, N: 10, MaxSegmentSize: 4096}
	res, err := chk.EncodeCiphertext(bytes.NewReader(ct), int64(len(ct)), params.CHK(), chk.Discard)
	if err != nil {
		t.Fatal(err)
	}
	si := wire.StorageIndex{1}
	h := NewCrypttextHasher()
	h.Write(ct)
	sum := h.Sum()
	spec := Spec{Size: int64(len(ct)), Params: params, CrypttextHash: &sum}
	good := func() *Placed { return &Placed{VerifyCap: res.VerifyCap(si), UEB: res.UEB} }
	if err := good().check(si, spec); err != nil {
		t.Fatal(err)
	}
	other := hashtree.Hash{9}
	for name, mutate := range map[string]func(*Placed, *Spec){
		"storage index":  func(p *Placed, s *Spec) { p.VerifyCap.StorageIndex[0]++ },
		"size":           func(p *Placed, s *Spec) { s.Size++ },
		"k":              func(p *Placed, s *Spec) { s.Params.K = 2 },
		"UEB hash":       func(p *Placed, s *Spec) { p.VerifyCap.UEBHash[0]++ },
		"UEB":            func(p *Placed, s *Spec) { p.UEB = append([]byte("x"), p.UEB...) },
		"crypttext hash": func(p *Placed, s *Spec) { s.CrypttextHash = &other },
	} {
		p, s := good(), spec
		mutate(p, &s)
		if err := p.check(si, s); err == nil {
			t.Errorf("%s: mismatch not detected", name)
		}
	}
}
