package chk

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/hashtree"
)

// memShares stores shares in memory, insisting on the sequential write
// order the ShareWriter contract promises; it also serves them back.
type memShares struct {
	mu     sync.Mutex
	shares [][]byte
	t      testing.TB
	reads  int
}

func newMemShares(t testing.TB, n int) *memShares { return &memShares{shares: make([][]byte, n), t: t} }

func (m *memShares) WriteShare(sh int, p []byte, off int64) error {
	if off != int64(len(m.shares[sh])) {
		m.t.Errorf("share %d: write at %d, expected %d (writes must be sequential)", sh, off, len(m.shares[sh]))
		return errors.New("non-sequential write")
	}
	m.shares[sh] = append(m.shares[sh], p...)
	return nil
}

func (m *memShares) ReadShare(sh int, off int64, n int) ([]byte, error) {
	m.mu.Lock()
	m.reads++
	m.mu.Unlock()
	s := m.shares[sh]
	if s == nil {
		return nil, fmt.Errorf("share %d not found", sh)
	}
	if off > int64(len(s)) {
		return nil, io.ErrUnexpectedEOF
	}
	return slices.Clone(s[off:min(int64(len(s)), off+int64(n))]), nil
}

// without returns a reader that lacks the given shares.
func (m *memShares) without(missing ...int) *memShares {
	c := &memShares{shares: slices.Clone(m.shares), t: m.t}
	for _, s := range missing {
		c.shares[s] = nil
	}
	return c
}

// corrupted returns a copy with one byte of share sh flipped at off.
func (m *memShares) corrupted(sh int, off int64) *memShares {
	c := &memShares{shares: slices.Clone(m.shares), t: m.t}
	c.shares[sh] = slices.Clone(m.shares[sh])
	c.shares[sh][off] ^= 0x5a
	return c
}

func randomBytes(seed uint64, n int64) []byte {
	r := rand.New(rand.NewPCG(seed, 99))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

var secret = []byte("0123456789abcdef")

func encodeMem(t testing.TB, data []byte, p Params) (cap.Cap, *memShares) {
	t.Helper()
	m := newMemShares(t, p.N)
	c, err := Encode(bytes.NewReader(data), int64(len(data)), secret, p, m)
	if err != nil {
		t.Fatal(err)
	}
	return c, m
}

func decodeAll(t testing.TB, c cap.CHK, src ShareReader, opts *DecoderOptions) ([]byte, *Decoder, error) {
	t.Helper()
	d, err := NewDecoder(c, src, opts)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, err = d.WriteTo(&buf)
	return buf.Bytes(), d, err
}

func TestRoundTrip(t *testing.T) {
	params := []Params{
		{K: 3, N: 10, MaxSegmentSize: 1024},
		{K: 2, N: 4, MaxSegmentSize: 1000},
		{K: 1, N: 1, MaxSegmentSize: 512},
		{K: 1, N: 3, MaxSegmentSize: 512},
		{K: 5, N: 5, MaxSegmentSize: 600},
		{K: 3, N: 10, MaxSegmentSize: DefaultMaxSegmentSize},
	}
	for _, p := range params {
		seg := p.MaxSegmentSize
		for _, size := range []int64{0, 1, 55, 56, 57, seg - 1, seg, seg + 1, 3*seg + 17, 130*seg + 5} {
			if size > 2<<20 {
				continue
			}
			t.Run(fmt.Sprintf("%d-of-%d/seg%d/size%d", p.K, p.N, seg, size), func(t *testing.T) {
				data := randomBytes(uint64(size), size)
				c, m := encodeMem(t, data, p)
				if size <= LiteralThreshold {
					l, ok := c.(cap.LIT)
					if !ok || !bytes.Equal(l.Data, data) {
						t.Fatalf("size %d: expected LIT cap, got %v", size, c)
					}
					for _, s := range m.shares {
						if s != nil {
							t.Fatal("LIT file wrote shares")
						}
					}
					return
				}
				rc := c.(cap.CHK)
				lay, _ := p.Layout(size)
				for i, s := range m.shares {
					if int64(len(s)) != lay.ShareSize {
						t.Fatalf("share %d is %d bytes, layout says %d", i, len(s), lay.ShareSize)
					}
				}
				got, d, err := decodeAll(t, rc, m, nil)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("decode: %v (equal=%v)", err, bytes.Equal(got, data))
				}
				if len(d.Corruptions()) != 0 {
					t.Fatalf("spurious corruption: %v", d.Corruptions())
				}
				rep, err := Verify(rc.Verifier(), m, nil)
				if err != nil || len(rep.Good) != p.N || len(rep.Problems) != 0 {
					t.Fatalf("verify: %v %+v", err, rep)
				}
				// Same cap from the streaming path with the same key.
				c2, err := EncodeWithKey(bytes.NewReader(data), size, rc.Key, p, Discard)
				if err != nil || c2 != c {
					t.Fatalf("EncodeWithKey gave %v, %v", c2, err)
				}
			})
		}
	}
}

func TestAnyKOfN(t *testing.T) {
	p := Params{K: 3, N: 10, MaxSegmentSize: 300}
	data := randomBytes(7, 2000)
	c, m := encodeMem(t, data, p)
	rc := c.(cap.CHK)
	combos := 0
	for a := 0; a < 10; a++ {
		for b := a + 1; b < 10; b++ {
			for e := b + 1; e < 10; e++ {
				var missing []int
				for i := range 10 {
					if i != a && i != b && i != e {
						missing = append(missing, i)
					}
				}
				got, _, err := decodeAll(t, rc, m.without(missing...), nil)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("shares %d,%d,%d: %v", a, b, e, err)
				}
				combos++
			}
		}
	}
	// Fewer than k shares fails with a useful error.
	_, _, err := decodeAll(t, rc, m.without(0, 1, 2, 3, 4, 5, 6, 7), nil)
	var re *ShareReadError
	if !errors.Is(err, ErrNotEnoughShares) || !errors.As(err, &re) {
		t.Fatalf("2 of 3 shares: %v", err)
	}
	rep, err := Verify(rc.Verifier(), m.without(0, 5), nil)
	if err != nil || !slices.Equal(rep.Good, []int{1, 2, 3, 4, 6, 7, 8, 9}) || len(rep.Problems) != 2 {
		t.Fatalf("verify with two missing: %v %+v", err, rep)
	}
	// Explicit share preference.
	got, _, err := decodeAll(t, rc, m.without(0, 1, 2), &DecoderOptions{Shares: []int{9, 8, 7}})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("parity-only decode: %v", err)
	}
}

// TestCorruption flips one byte in each region of share 0 (the decoder's
// first choice) and checks that the download still succeeds from other
// shares, that the corruption is pinned on share 0 and the right region,
// and that Verify reports the same.
func TestCorruption(t *testing.T) {
	p := Params{K: 3, N: 10, MaxSegmentSize: 999}
	data := randomBytes(3, 10*999+123)
	c, m := encodeMem(t, data, p)
	rc := c.(cap.CHK)
	lay, _ := p.Layout(int64(len(data)))
	first := int64(hashtree.FirstLeaf(lay.NumSegments))
	cases := []struct {
		name     string
		off      int64
		region   Region
		decodeOK bool // whether the decoder must notice (it skips bytes it never needs)
	}{
		{"version", 3, RegionHeader, true},
		{"offset table", 0x0c + 3, RegionHeader, true},
		{"UEB length", lay.URIExtension + 3, RegionUEB, true},
		{"UEB body", lay.URIExtension + 4 + 20, RegionUEB, true},
		{"share hash chain", lay.ShareHashes + 2 + 5, RegionShareHashes, true},
		{"block hash leaf", lay.BlockHashes + (first+1)*32 + 7, RegionBlockHashes, true},
		{"block hash root", lay.BlockHashes + 4, RegionBlockHashes, false},
		{"crypttext hash leaf", lay.CrypttextHashTree + (first+2)*32 + 1, RegionCrypttextHashes, true},
		{"data block 0", lay.Data + 5, RegionBlock, true},
		{"data block 4", lay.Data + 4*lay.BlockSize + 9, RegionBlock, true},
		{"tail block", lay.Data + lay.ShareDataSize - 1, RegionBlock, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := m.corrupted(0, tc.off)
			var hooked []*CorruptShareError
			got, d, err := decodeAll(t, rc, bad, &DecoderOptions{OnCorrupt: func(e *CorruptShareError) { hooked = append(hooked, e) }})
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("decode: %v", err)
			}
			cs := d.Corruptions()
			if tc.decodeOK {
				if len(cs) != 1 || cs[0].Shnum != 0 || cs[0].Region != tc.region || len(hooked) != 1 {
					t.Fatalf("corruptions %v, want share 0 in %s", cs, tc.region)
				}
				if cs[0].Offset > tc.off || cs[0].Offset+cs[0].Length <= tc.off {
					t.Errorf("reported range [%d,+%d) misses the flipped byte %d", cs[0].Offset, cs[0].Length, tc.off)
				}
			} else if len(cs) != 0 {
				t.Fatalf("unexpected corruption report %v", cs)
			}
			rep, err := Verify(rc.Verifier(), bad, nil)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			var ce *CorruptShareError
			if len(rep.Good) != 9 || !errors.As(rep.Problems[0], &ce) || ce.Region != tc.region {
				t.Fatalf("verify report %+v (%v), want share 0 in %s", rep, rep.Problems[0], tc.region)
			}
		})
	}
	// The unused plaintext hash tree is not covered by any hash.
	rep, err := Verify(rc.Verifier(), m.corrupted(0, lay.PlaintextHashTree+3), nil)
	if err != nil || len(rep.Good) != 10 {
		t.Fatalf("plaintext tree flip: %v %+v", err, rep)
	}
	// The same region corrupt in many shares: still decodable from the rest.
	multi := m
	for sh := range 7 {
		multi = multi.corrupted(sh, lay.Data+int64(sh)*lay.BlockSize+1)
	}
	got, d, err := decodeAll(t, rc, multi, nil)
	if err != nil || !bytes.Equal(got, data) || len(d.Corruptions()) != 7 {
		t.Fatalf("seven bad shares: %v, %d corruptions", err, len(d.Corruptions()))
	}
	// Eight shares with a broken hash chain leave too few.
	multi = m
	for sh := range 8 {
		multi = multi.corrupted(sh, lay.ShareHashes+2+5)
	}
	_, _, err = decodeAll(t, rc, multi, nil)
	var ce *CorruptShareError
	if !errors.Is(err, ErrNotEnoughShares) || !errors.As(err, &ce) {
		t.Fatalf("eight bad shares: %v", err)
	}
}

func TestWrongCap(t *testing.T) {
	p := Params{K: 2, N: 4, MaxSegmentSize: 100}
	data := randomBytes(5, 500)
	c, m := encodeMem(t, data, p)
	rc := c.(cap.CHK)
	rc.UEBHash[0] ^= 1
	_, d, err := decodeAll(t, rc, m, nil)
	if !errors.Is(err, ErrNotEnoughShares) || len(d.Corruptions()) != 4 {
		t.Fatalf("wrong UEB hash: %v", err)
	}
	rc = c.(cap.CHK)
	rc.Key[0] ^= 1 // wrong key: shares verify, plaintext is garbage (CHK has no plaintext hash)
	got, _, err := decodeAll(t, rc, m, nil)
	if err != nil || bytes.Equal(got, data) {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestRanges(t *testing.T) {
	p := Params{K: 3, N: 7, MaxSegmentSize: 256}
	data := randomBytes(11, 256*20+77)
	c, m := encodeMem(t, data, p)
	d, err := NewDecoder(c.(cap.CHK), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for range 200 {
		off := rng.Int64N(int64(len(data)) + 1)
		n := rng.Int64N(700)
		buf := make([]byte, n)
		got, err := d.ReadAt(buf, off)
		want := data[off:min(int64(len(data)), off+n)]
		if got != len(want) || !bytes.Equal(buf[:got], want) {
			t.Fatalf("ReadAt(%d,+%d) = %d, %v", off, n, got, err)
		}
		if int64(got) < n && err != io.EOF {
			t.Fatalf("short ReadAt without EOF: %v", err)
		}
	}
	// Seeking reads only what it needs: reading one byte near the end of a
	// fresh decoder touches few shares' data.
	m.reads = 0
	d2, _ := NewDecoder(c.(cap.CHK), m, nil)
	one := make([]byte, 1)
	if _, err := d2.ReadAt(one, int64(len(data))-100); err != nil || one[0] != data[len(data)-100] {
		t.Fatal(err)
	}
	if m.reads > 20 {
		t.Errorf("one-byte read took %d share reads", m.reads)
	}
	sr := io.NewSectionReader(d, 0, d.Size())
	all, err := io.ReadAll(sr)
	if err != nil || !bytes.Equal(all, data) {
		t.Fatal("SectionReader")
	}
}

// TestHelperFlow: the browser encrypts, a key-less helper encodes the
// ciphertext; the resulting cap equals the all-in-one path.
func TestHelperFlow(t *testing.T) {
	p := DefaultParams
	data := randomBytes(21, 300_000)
	key, err := ConvergentKey(bytes.NewReader(data), int64(len(data)), secret, p)
	if err != nil {
		t.Fatal(err)
	}
	ct := make([]byte, len(data))
	NewCTR(key, 0).XORKeyStream(ct, data)
	m := newMemShares(t, p.N)
	res, err := EncodeCiphertext(bytes.NewReader(ct), int64(len(ct)), p, m)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := encodeMem(t, data, p)
	if res.ReadCap(key) != want {
		t.Fatalf("helper cap %v, direct %v", res.ReadCap(key), want)
	}
	vc := res.VerifyCap(StorageIndex(key))
	if vc != want.(cap.CHK).Verifier() {
		t.Fatal("verify cap differs")
	}
	cd, err := NewCiphertextDecoder(vc, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := cd.WriteTo(&buf); err != nil || !bytes.Equal(buf.Bytes(), ct) {
		t.Fatalf("ciphertext decode: %v", err)
	}
	// Writes in odd sizes through Write, and size mismatches.
	e, _ := NewEncoder(int64(len(ct)), p, Discard)
	for off := 0; off < len(ct); off += 7777 {
		if _, err := e.Write(ct[off:min(len(ct), off+7777)]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Write([]byte{1}); !errors.Is(err, ErrSize) {
		t.Fatalf("overlong write: %v", err)
	}
	e, _ = NewEncoder(int64(len(ct)), p, Discard)
	e.Write(ct[:1000])
	if _, err := e.Close(); !errors.Is(err, ErrSize) {
		t.Fatalf("short input: %v", err)
	}
	r2, err := EncodeCiphertext(bytes.NewReader(ct), int64(len(ct)), p, Discard)
	if err != nil || r2.UEBHash != res.UEBHash {
		t.Fatal("Discard encode differs")
	}
}

func TestCTROffsets(t *testing.T) {
	var key Key
	copy(key[:], "sixteen byte key")
	full := make([]byte, 100)
	NewCTR(key, 0).XORKeyStream(full, full)
	for off := int64(0); off < 100; off++ {
		part := make([]byte, 100-off)
		NewCTR(key, off).XORKeyStream(part, part)
		if !bytes.Equal(part, full[off:]) {
			t.Fatalf("keystream at %d differs", off)
		}
	}
}

func TestKnownConvergentHash(t *testing.T) {
	// Known answer from Tahoe-LAFS's test suite: convergence_hash(3, 10,
	// 100, data="", secret="converge").
	h := convergentHasher([]byte("converge"), 3, 10, 100).Sum()
	if got := cap.EncodeBase32(h[:16]); got != "3mo6ni7xweplycin6nowynw2we" {
		t.Fatalf("got %s", got)
	}
}

// TestChainOrder checks the share hash chain order against CPython: the
// digest is SHA-256 over, for n = 1..256 and each share i < n, the chain's
// node numbers (2 bytes big-endian) in the order iterating Tahoe's Python
// set yields them (computed with CPython 3.11).
func TestChainOrder(t *testing.T) {
	h := sha256.New()
	for n := 1; n <= 256; n++ {
		for i := range n {
			for _, x := range chainOrder(n, i) {
				binary.Write(h, binary.BigEndian, uint16(x))
			}
		}
	}
	const want = "a6e5ffe10b3d060c478346aec7ba529a37d1b3f4343b57a9e56e61b38c2ba547"
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Fatalf("chain order digest %s, CPython gives %s", got, want)
	}
	if got := chainOrder(256, 255); !slices.Equal(got, []int{509, 1, 5, 13, 61, 125, 253, 29, 510}) {
		t.Fatalf("n=256 share 255: %v", got)
	}
	if got := chainOrder(255, 254); !slices.Equal(got, []int{1, 509, 5, 13, 61, 125, 253, 29, 510}) {
		t.Fatalf("n=255 share 254: %v", got)
	}
}

func TestUEB(t *testing.T) {
	lay, err := DefaultParams.Layout(1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	u := newUEB(&lay)
	u.CrypttextHash[0], u.CrypttextRootHash[1], u.ShareRootHash[2] = 1, 2, 3
	b := u.Marshal()
	// 131072 rounds up to a multiple of k=3; 1000000 = 7·131073 + 82489,
	// padded to 82491.
	if !bytes.HasPrefix(b, []byte("codec_name:3:crs,codec_params:11:131073-3-10,crypttext_hash:32:")) {
		t.Fatalf("UEB starts %q", b[:70])
	}
	if !bytes.Contains(b, []byte(",needed_shares:1:3,num_segments:1:8,segment_size:6:131073,share_root_hash:32:")) {
		t.Fatalf("UEB middle %q", b)
	}
	if !bytes.HasSuffix(b, []byte("size:7:1000000,tail_codec_params:10:82491-3-10,total_shares:2:10,")) {
		t.Fatalf("UEB ends %q", b[len(b)-70:])
	}
	u2, err := ParseUEB(b)
	if err != nil {
		t.Fatal(err)
	}
	v := cap.Verifier{K: 3, N: 10, Size: 1_000_000}
	if _, err := u2.checkAgainst(&v); err != nil {
		t.Fatal(err)
	}
	u2.present = nil
	if !bytes.Equal(u2.Marshal(), b) {
		t.Fatal("UEB round trip differs")
	}
	for _, bad := range []string{
		"size:1:5", "size:1:5,size:1:5,", "segment_size:2:10,", ":1:a,", "bad key:1:a,",
		string(b[:len(b)-1]),
	} {
		if _, err := ParseUEB([]byte(bad)); !errors.Is(err, ErrUEB) {
			t.Errorf("ParseUEB(%q) = %v", bad, err)
		}
	}
	v.Size = 999
	if _, err := u2.checkAgainst(&v); !errors.Is(err, ErrUEB) {
		t.Fatalf("size mismatch accepted: %v", err)
	}
}

func TestLayoutVersions(t *testing.T) {
	small, _ := NewLayout(1000, 3, 10, 999)
	if small.Version != 1 || len(small.header()) != 0x24 || small.Data != 0x24 {
		t.Fatalf("small file: %+v", small)
	}
	big, err := NewLayout(5<<30, 1, 3, 128<<10) // one share holds >4 GiB
	if err != nil || big.Version != 2 || len(big.header()) != 0x44 || big.Data != 0x44 {
		t.Fatalf("big file: %+v %v", big, err)
	}
	for _, l := range []Layout{small, big, relayout(small, 2)} {
		o, err := parseHeader(append(l.header(), make([]byte, 0x44)...))
		if err != nil {
			t.Fatal(err)
		}
		if err := o.check(&small); l.Size == small.Size && err != nil {
			t.Fatalf("v%d header rejected: %v", l.Version, err)
		}
	}
	// A 10 GiB file's tree overhead: three trees of 2·131072-1 hashes.
	ten, _ := DefaultParams.Layout(10 << 30)
	if ten.NumSegments != 81920 || ten.SegmentHashTreeSize() != (2*131072-1)*32 {
		t.Fatalf("10 GiB: %+v", ten)
	}
}

// FuzzDecodeCorruptShares mutates bytes of up to two shares of a small
// 2-of-4 file. Whatever the mutation, decoding must either return the exact
// original data or fail cleanly; it must never panic or return wrong data.
func FuzzDecodeCorruptShares(f *testing.F) {
	p := Params{K: 2, N: 4, MaxSegmentSize: 64}
	data := randomBytes(9, 700)
	c, m := encodeMem(f, data, p)
	rc := c.(cap.CHK)
	f.Add(uint8(0), uint16(3), uint8(1), uint8(1), uint16(40), uint8(0x80), false)
	f.Add(uint8(0), uint16(800), uint8(0xff), uint8(2), uint16(0), uint8(1), true)
	f.Fuzz(func(t *testing.T, sh1 uint8, off1 uint16, x1 uint8, sh2 uint8, off2 uint16, x2 uint8, truncate bool) {
		bad := &memShares{shares: slices.Clone(m.shares), t: t}
		for _, mut := range []struct {
			sh  int
			off int
			x   byte
		}{{int(sh1) % 4, int(off1), x1}, {int(sh2) % 4, int(off2), x2}} {
			s := slices.Clone(bad.shares[mut.sh])
			if truncate && mut.off < len(s) {
				s = s[:mut.off]
			} else if len(s) > 0 {
				s[mut.off%len(s)] ^= mut.x
			}
			bad.shares[mut.sh] = s
		}
		got, _, err := decodeAll(t, rc, bad, nil)
		if err == nil && !bytes.Equal(got, data) {
			t.Fatal("decoder returned wrong data without an error")
		}
		if _, err := Verify(rc.Verifier(), bad, nil); err == nil {
			if _, _, derr := decodeAll(t, rc, bad, nil); derr != nil {
				t.Fatalf("Verify passed but decode failed: %v", derr)
			}
		}
	})
}

// FuzzParseUEB: no input makes the parser or the cap check panic, and
// whatever parses survives a serialise/parse round trip unchanged.
func FuzzParseUEB(f *testing.F) {
	lay, _ := DefaultParams.Layout(1_000_000)
	f.Add(newUEB(&lay).Marshal())
	f.Add([]byte("size:1:5,"))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := ParseUEB(b)
		if err != nil {
			return
		}
		v := cap.Verifier{K: max(1, min(u.K, 256)), N: max(1, min(u.N, 256)), Size: u.Size}
		v.K = min(v.K, v.N)
		u.checkAgainst(&v)
		if u.K > 256 || u.N > 256 || u.NumSegments < 0 {
			return
		}
		u.present = nil
		u2, err := ParseUEB(u.Marshal())
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		u2.present = nil
		if !bytes.Equal(u2.Marshal(), u.Marshal()) {
			t.Fatal("round trip changed the UEB")
		}
	})
}
