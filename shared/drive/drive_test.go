package drive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/scrub"
	"github.com/communitycube/cube/shared/vault"
)

func TestPlanReaderAt(t *testing.T) {
	for _, name := range []string{"jpeg-rotated.jpg", "png-rotated.png", "pdf-gs.pdf"} {
		src, err := os.ReadFile("../scrub/testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := scrub.Scrub(bytes.NewReader(src), int64(len(src)), name)
		if err != nil {
			t.Fatal(err)
		}
		want, err := io.ReadAll(plan.Reader(bytes.NewReader(src)))
		if err != nil {
			t.Fatal(err)
		}
		r := NewPlanReaderAt(plan, bytes.NewReader(src))
		if r.Size() != int64(len(want)) || r.Size() != plan.Size() {
			t.Fatalf("%s: size %d, want %d", name, r.Size(), len(want))
		}
		if got, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size())); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: sequential read differs: %v", name, err)
		}
		rr := rand.New(rand.NewPCG(3, 4))
		for range 200 {
			off := rr.IntN(len(want))
			b := make([]byte, rr.IntN(3000)+1)
			n, err := r.ReadAt(b, int64(off))
			end := min(off+len(b), len(want))
			if n != end-off || !bytes.Equal(b[:n], want[off:end]) {
				t.Fatalf("%s: ReadAt(%d, %d) = %d, %v", name, off, len(b), n, err)
			}
			if (end < off+len(b)) != (err == io.EOF) {
				t.Fatalf("%s: ReadAt(%d, %d): err %v", name, off, len(b), err)
			}
		}
		if bytes.Contains(want, []byte("SCRUBME")) {
			t.Fatalf("%s: the plan kept metadata", name)
		}
	}
}

func TestFreeName(t *testing.T) {
	taken := map[string]bool{"report.pdf": true, "report (2).pdf": true, "notes": true, ".profile": true}
	f := func(s string) bool { return taken[s] }
	for in, want := range map[string]string{
		"report.pdf": "report (3).pdf", "notes": "notes (2)", ".profile": ".profile (2)", "free.txt": "free.txt",
	} {
		if got := FreeName(in, f); got != want {
			t.Errorf("FreeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := NewID()
		if !ValidID(id) || strings.ToLower(id) != id || seen[id] {
			t.Fatalf("bad id %q", id)
		}
		seen[id] = true
	}
}

// unlockNode answers POST unlock and records the escrow keys it is given.
type unlockNode struct{ escrow [][]byte }

func (n *unlockNode) RoundTrip(ctx context.Context, r *api.Request) (*api.Response, error) {
	if r.Method == "POST" && strings.HasSuffix(r.URL, api.Prefix+"unlock") {
		var req api.UnlockRequest
		json.Unmarshal(r.Body, &req)
		n.escrow = append(n.escrow, req.EscrowKey)
		return &api.Response{Status: 204}, nil
	}
	return &api.Response{Status: 404, Body: []byte(`{"error":{"code":"not_found","message":"no"}}`)}, nil
}

func TestSealResume(t *testing.T) {
	ctx := context.Background()
	_, u, _, err := vault.NewAccount("a long enough password", vault.KDFParams{MemoryKiB: 19 << 10, Time: 2, Lanes: 1})
	if err != nil {
		t.Fatal(err)
	}
	node := &unlockNode{}
	c := &api.Client{Base: "http://node.test", Transport: node}
	root := NewID()
	d := newDrive(c, u, root)
	sk := bytes.Repeat([]byte{7}, 32)
	sealed, err := d.Seal(sk)
	if err != nil {
		t.Fatal(err)
	}
	secret := u.MarshalSecret()
	if bytes.Contains(sealed, secret[1:33]) || bytes.Contains(sealed, u.Escrow[:]) {
		t.Fatal("the sealed keys contain a key in clear")
	}
	d2, err := Resume(ctx, c, sealed, sk)
	if err != nil {
		t.Fatal(err)
	}
	if d2.RootID() != root || !bytes.Equal(d2.u.MarshalSecret(), secret) {
		t.Fatal("Resume gave other keys")
	}
	if len(node.escrow) != 1 || !bytes.Equal(node.escrow[0], u.Escrow[:]) {
		t.Fatalf("Resume did not hand the escrow key: %d", len(node.escrow))
	}
	other := bytes.Repeat([]byte{8}, 32)
	if _, err := Resume(ctx, c, sealed, other); !errors.Is(err, vault.ErrCorrupt) {
		t.Fatalf("another session key: %v", err)
	}
	bad := bytes.Clone(sealed)
	bad[len(bad)-1] ^= 1
	if _, err := Resume(ctx, c, bad, sk); !errors.Is(err, vault.ErrCorrupt) {
		t.Fatalf("altered: %v", err)
	}
	if _, err := d.Seal(sk[:16]); err == nil {
		t.Fatal("a 16-byte session key was accepted")
	}
	d.Close()
	if _, err := d.Seal(sk); !errors.Is(err, ErrClosed) {
		t.Fatalf("Seal after Close: %v", err)
	}
}
