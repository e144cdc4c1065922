package chk

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/hashtree"
)

// proofFile encodes data and returns its verify cap, shares and ciphertext
// (the tests treat the plaintext as ciphertext: proofs never need the key).
func proofFile(t *testing.T, size int64, p Params) (cap.Verifier, *memShares, []byte) {
	t.Helper()
	data := randomBytes(uint64(size)+7, size)
	m := newMemShares(t, p.N)
	res, err := EncodeCiphertext(bytes.NewReader(data), size, p, m)
	if err != nil {
		t.Fatal(err)
	}
	si := [cap.StorageIndexSize]byte{1, 2, 3}
	return res.VerifyCap(si), m, data
}

func TestProofRoundTrip(t *testing.T) {
	p := Params{K: 3, N: 10, MaxSegmentSize: 999}
	for _, size := range []int64{56, 999, 1000, 5*999 + 17, 64*999 + 1} {
		v, m, data := proofFile(t, size, p)
		pr, err := ReadProof(v, m, nil)
		if err != nil {
			t.Fatalf("size %d: ReadProof: %v", size, err)
		}
		got, err := CheckProof(v, pr.UEB, pr.SegmentHashBytes())
		if err != nil {
			t.Fatalf("size %d: CheckProof: %v", size, err)
		}
		if got.Layout.Size != size || got.Layout.NumSegments != pr.Layout.NumSegments {
			t.Fatalf("size %d: layout %+v", size, got.Layout)
		}
		for i := range got.Layout.NumSegments {
			off, n := got.Segment(i)
			if err := got.CheckSegment(i, data[off:off+n]); err != nil {
				t.Fatalf("size %d: segment %d: %v", size, i, err)
			}
		}
		h, ok := got.CrypttextHash()
		hh := hashtree.NewHasher(tagCrypttext)
		hh.Write(data)
		if !ok || h != hh.Sum() {
			t.Fatalf("size %d: crypttext hash", size)
		}
	}
}

// A node that lies about the file is caught, with an error that says how.
func TestProofLyingNode(t *testing.T) {
	p := Params{K: 2, N: 4, MaxSegmentSize: 1000}
	v, m, data := proofFile(t, 4500, p) // 5 segments, the last of 500 bytes
	pr, err := ReadProof(v, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	hashes := pr.SegmentHashBytes()
	// Another file's proof: its UEB does not hash to our cap's.
	v2, m2, _ := proofFile(t, 4501, p)
	other, err := ReadProof(v2, m2, nil)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte, i int) []byte { c := bytes.Clone(b); c[i] ^= 1; return c }
	swap := func(b []byte, i, j int) []byte {
		c := bytes.Clone(b)
		copy(c[i*32:], b[j*32:j*32+32])
		copy(c[j*32:], b[i*32:i*32+32])
		return c
	}
	for _, c := range []struct {
		name        string
		ueb, hashes []byte
		want        string
	}{
		{"wrong UEB", other.UEB, hashes, "UEB hash"},
		{"altered UEB", flip(pr.UEB, 40), hashes, "UEB hash"},
		{"wrong segment hash", pr.UEB, flip(hashes, 70), "crypttext root"},
		{"swapped segment hashes", pr.UEB, swap(hashes, 1, 2), "crypttext root"},
		{"truncated hashes", pr.UEB, hashes[:len(hashes)-32], "5 segments"},
		{"extra hash", pr.UEB, append(bytes.Clone(hashes), hashes[:32]...), "5 segments"},
		{"other file's hashes", pr.UEB, other.SegmentHashBytes(), "crypttext root"},
	} {
		_, err := CheckProof(v, c.ueb, c.hashes)
		if !errors.Is(err, ErrProof) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrProof mentioning %q", c.name, err, c.want)
		}
	}
	// A proof that checks, then segments that do not.
	good, err := CheckProof(v, pr.UEB, hashes)
	if err != nil {
		t.Fatal(err)
	}
	seg := func(i int) []byte { off, n := good.Segment(i); return data[off : off+n] }
	for _, c := range []struct {
		name string
		i    int
		data []byte
		want string
	}{
		{"altered segment", 1, flip(seg(1), 3), "does not match its hash"},
		{"swapped segments", 1, seg(2), "does not match its hash"},
		{"truncated segment", 3, seg(3)[:999], "truncated"},
		{"truncated tail", 4, seg(4)[:499], "truncated"},
		{"padded tail", 4, append(bytes.Clone(seg(4)), 0), "padded"},
		{"no such segment", 5, seg(4), "does not exist"},
		{"negative segment", -1, seg(0), "does not exist"},
	} {
		err := good.CheckSegment(c.i, c.data)
		if !errors.Is(err, ErrProof) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrProof mentioning %q", c.name, err, c.want)
		}
	}
}

// ReadProof skips shares whose crypttext tree or UEB is corrupt or which
// are missing, and fails clearly when no share is left.
func TestReadProofCorruptShares(t *testing.T) {
	p := Params{K: 2, N: 3, MaxSegmentSize: 1000}
	v, m, _ := proofFile(t, 4500, p)
	lay, _ := NewLayout(4500, 2, 3, 1000)
	leaf := lay.CrypttextHashTree + int64(hashtree.FirstLeaf(lay.NumSegments))*32 + 5
	bad := m.corrupted(0, leaf).without(1)
	var reported []int
	pr, err := ReadProof(v, bad, &DecoderOptions{OnCorrupt: func(e *CorruptShareError) { reported = append(reported, e.Shnum) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(reported) != 1 || reported[0] != 0 {
		t.Fatalf("reported corrupt shares %v, want [0]", reported)
	}
	if _, err := CheckProof(v, pr.UEB, pr.SegmentHashBytes()); err != nil {
		t.Fatal(err)
	}
	// Every share bad: UEB flipped in 0, leaves in 1, share 2 missing.
	worse := m.corrupted(0, lay.URIExtension+10).corrupted(1, leaf).without(2)
	if _, err := ReadProof(v, worse, nil); !errors.Is(err, ErrNotEnoughShares) {
		t.Fatalf("no good share: %v", err)
	}
	// A truncated share.
	short := m.without(1, 2)
	short.shares[0] = short.shares[0][:lay.CrypttextHashTree+40]
	if _, err := ReadProof(v, short, nil); !errors.Is(err, ErrNotEnoughShares) {
		t.Fatalf("truncated share: %v", err)
	}
	// A cap with another UEB hash: no share matches it.
	v.UEBHash[0] ^= 1
	if _, err := ReadProof(v, m, nil); !errors.Is(err, ErrNotEnoughShares) || !strings.Contains(err.Error(), "UEB hash") {
		t.Fatalf("wrong cap: %v", err)
	}
}
