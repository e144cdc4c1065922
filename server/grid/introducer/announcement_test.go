package introducer

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/communitycube/cube/shared/nurl"
)

const testSPKI = "2EIhsPtRlM1EF2B7cHwOK4U2FMSbHw8oXJrLo1ZCBAI"

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testNURL(port uint16, swiss string) nurl.NURL {
	return nurl.NURL{Scheme: nurl.SchemeTCP, SPKIHash: testSPKI, Host: "127.0.0.1", Port: port, Swissnum: swiss}
}

func storageAnn(seq, avail uint64) Announcement {
	return Announcement{
		Nickname: "alice's cube",
		Seq:      seq,
		Service:  ServiceStorage,
		NURL:     testNURL(1234, "storageswissnum"),
		Storage:  &StorageInfo{AvailableSpace: avail, ReservedSpace: 1 << 30},
	}
}

func helperAnn(seq, active uint64) Announcement {
	return Announcement{
		Nickname: "helper",
		Seq:      seq,
		Service:  ServiceHelper,
		NURL:     testNURL(1234, "helperswissnum"),
		Helper:   &HelperInfo{ActiveUploads: active, QueuedBytes: 12345},
	}
}

func introAnn(seq uint64, n nurl.NURL) Announcement {
	return Announcement{Nickname: "intro", Seq: seq, Service: ServiceIntroducer, NURL: n}
}

func mustSign(t testing.TB, a Announcement, k ed25519.PrivateKey) *SignedAnnouncement {
	t.Helper()
	sa, err := Sign(a, k)
	if err != nil {
		t.Fatal(err)
	}
	return sa
}

// signMap signs an arbitrary announcement map, bypassing validation, to
// build announcements Sign refuses to make.
func signMap(k ed25519.PrivateKey, m map[string]any) []byte {
	ann := marshal(m)
	return encodeEnvelope(ann, k.Public().(ed25519.PublicKey), ed25519.Sign(k, signingInput(ann)))
}

// annMap is the map form of a valid storage announcement by k.
func annMap(k ed25519.PrivateKey) map[string]any {
	pub := k.Public().(ed25519.PublicKey)
	return map[string]any{
		kVersion: uint64(1), kNodeID: NodeID(pub), kNickname: "n", kSeq: uint64(7),
		kNonce: bytes.Repeat([]byte{1}, 32), kService: ServiceStorage, kNURL: testNURL(1, "s").String(),
		kSeed: PermutationSeed(pub), kAvailable: uint64(1), kReserved: uint64(0), kReadOnly: false,
	}
}

func TestSignDecodeRoundTrip(t *testing.T) {
	k := newKey(t)
	pub := k.Public().(ed25519.PublicKey)
	for _, a := range []Announcement{storageAnn(1, 1<<40), helperAnn(2, 3), introAnn(3, testNURL(99, "introswiss"))} {
		sa := mustSign(t, a, k)
		if len(sa.raw) > 600 {
			t.Errorf("%s announcement is %d bytes", a.Service, len(sa.raw))
		}
		got, err := DecodeAnnouncement(sa.Bytes())
		if err != nil {
			t.Fatalf("%s: %v", a.Service, err)
		}
		ga := got.Announcement()
		if ga.NodeID != NodeID(pub) || ga.Seq != a.Seq || ga.Service != a.Service || ga.NURL != a.NURL ||
			ga.Nickname != a.Nickname || len(ga.Nonce) != nonceSize {
			t.Errorf("round trip: %+v", ga)
		}
		if !bytes.Equal(got.PublicKey(), pub) {
			t.Error("public key")
		}
		switch a.Service {
		case ServiceStorage:
			if *ga.Storage != (StorageInfo{PermutationSeed: PermutationSeed(pub), AvailableSpace: 1 << 40, ReservedSpace: 1 << 30}) {
				t.Errorf("storage fields %+v", *ga.Storage)
			}
		case ServiceHelper:
			if *ga.Helper != *a.Helper {
				t.Errorf("helper fields %+v", *ga.Helper)
			}
		}
	}
}

func TestNodeIDAndSeed(t *testing.T) {
	pub := make(ed25519.PublicKey, 32)
	id := NodeID(pub)
	if id != "v0-"+strings.Repeat("a", 52) || len(id) != 55 {
		t.Errorf("NodeID(zero key) = %q", id)
	}
	sum := sha256.Sum256(pub)
	if s := PermutationSeed(pub); s != base32Lower.EncodeToString(sum[:20]) || len(s) != 32 {
		t.Errorf("PermutationSeed = %q", s)
	}
	if _, err := parseNodeID(id); err != nil {
		t.Error(err)
	}
	// Same key bytes, non-zero trailing bits: not canonical.
	if _, err := parseNodeID(id[:len(id)-1] + "b"); err == nil {
		t.Error("non-canonical node id accepted")
	}
}

func TestSignRejects(t *testing.T) {
	k := newKey(t)
	cases := map[string]func(a *Announcement){
		"no service fields":   func(a *Announcement) { a.Storage = nil },
		"both service fields": func(a *Announcement) { a.Helper = &HelperInfo{} },
		"unknown service":     func(a *Announcement) { a.Service = "web" },
		"control in nickname": func(a *Announcement) { a.Nickname = "a\nb" },
		"long nickname":       func(a *Announcement) { a.Nickname = strings.Repeat("x", MaxNicknameLen+1) },
		"short nonce":         func(a *Announcement) { a.Nonce = []byte{1} },
		"bad NURL":            func(a *Announcement) { a.NURL.Port = 0 },
		"foreign seed":        func(a *Announcement) { a.Storage.PermutationSeed = PermutationSeed(make([]byte, 32)) },
		"foreign node id":     func(a *Announcement) { a.NodeID = NodeID(make([]byte, 32)) },
	}
	for name, mutate := range cases {
		a := storageAnn(1, 1)
		mutate(&a)
		if _, err := Sign(a, k); err == nil {
			t.Errorf("%s: Sign accepted it", name)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	k, other := newKey(t), newKey(t)
	good := mustSign(t, storageAnn(5, 100), k).Bytes()

	flip := func(b []byte, i int) []byte {
		b = bytes.Clone(b)
		b[i] ^= 1
		return b
	}
	withMap := func(f func(m map[string]any)) []byte {
		m := annMap(k)
		f(m)
		return signMap(k, m)
	}
	// An envelope carrying k's announcement but signed by another key.
	ann := marshal(annMap(k))
	otherKeyEnv := encodeEnvelope(ann, other.Public().(ed25519.PublicKey), ed25519.Sign(other, signingInput(ann)))
	// A valid signature by k over an announcement naming another node.
	mismatch := withMap(func(m map[string]any) {
		m[kNodeID] = NodeID(other.Public().(ed25519.PublicKey))
		m[kSeed] = PermutationSeed(other.Public().(ed25519.PublicKey))
	})
	// Non-canonical: the same content with a non-shortest integer.
	var generic map[string]cbor.RawMessage
	if err := cbor.Unmarshal(ann, &generic); err != nil {
		t.Fatal(err)
	}
	generic[kSeq] = cbor.RawMessage{0x1b, 0, 0, 0, 0, 0, 0, 0, 7}
	longInt, _ := cbor.Marshal(generic)
	nonCanonical := encodeEnvelope(longInt, k.Public().(ed25519.PublicKey), ed25519.Sign(k, signingInput(longInt)))

	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"garbage", []byte("hello"), ErrMalformed},
		{"bad signature", flip(good, len(good)-1), ErrBadSignature},
		{"changed content", bytes.Replace(good, []byte("alice"), []byte("mally"), 1), ErrBadSignature},
		{"signed by another key", otherKeyEnv, ErrNodeIDMismatch},
		{"node id of another key", mismatch, ErrNodeIDMismatch},
		{"version 2", withMap(func(m map[string]any) { m[kVersion] = uint64(2) }), ErrUnknownVersion},
		{"version 0", withMap(func(m map[string]any) { m[kVersion] = uint64(0) }), ErrUnknownVersion},
		{"version as text", withMap(func(m map[string]any) { m[kVersion] = "1" }), ErrUnknownVersion},
		{"no version", withMap(func(m map[string]any) { delete(m, kVersion) }), ErrMalformed},
		{"unknown field", withMap(func(m map[string]any) { m["colour"] = "blue" }), ErrMalformed},
		{"missing field", withMap(func(m map[string]any) { delete(m, kReadOnly) }), ErrMalformed},
		{"helper field on storage", withMap(func(m map[string]any) { delete(m, kReadOnly); m[kActive] = uint64(1) }), ErrMalformed},
		{"negative seq", withMap(func(m map[string]any) { m[kSeq] = int64(-1) }), ErrMalformed},
		{"seq as text", withMap(func(m map[string]any) { m[kSeq] = "7" }), ErrMalformed},
		{"nonce as text", withMap(func(m map[string]any) { m[kNonce] = strings.Repeat("x", 32) }), ErrMalformed},
		{"unknown service", withMap(func(m map[string]any) { m[kService] = "web" }), ErrMalformed},
		{"Foolscap fURL", withMap(func(m map[string]any) { m[kNURL] = "pb://abc@tcp:example.org:1/swiss" }), ErrMalformed},
		{"foreign seed", withMap(func(m map[string]any) { m[kSeed] = PermutationSeed(make([]byte, 32)) }), ErrMalformed},
		{"non-canonical integer", nonCanonical, ErrMalformed},
		{"trailing bytes", append(bytes.Clone(good), 0), ErrMalformed},
		{"oversize", withMap(func(m map[string]any) { m[kNickname] = strings.Repeat("x", MaxAnnouncementSize) }), ErrTooLarge},
		{"short key", encodeEnvelope(ann, make([]byte, 31), make([]byte, 64)), ErrMalformed},
	}
	for _, c := range cases {
		_, err := DecodeAnnouncement(c.data)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := DecodeAnnouncement(good); err != nil {
		t.Fatalf("good announcement: %v", err)
	}
}

func TestSequencer(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "seq")
	clk := newFakeClock()
	s, err := newSequencer(path, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.next(0)
	b, _ := s.next(0)
	if a != uint64(clk.Now().UnixMicro()) || b != a+1 {
		t.Errorf("got %d, %d", a, b)
	}
	// A restart with the clock set back an hour continues upwards.
	clk.Advance(-time.Hour)
	s2, err := newSequencer(path, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := s2.next(0); c != b+1 {
		t.Errorf("after restart with clock set back: %d, want %d", c, b+1)
	}
	if d, _ := s2.next(1 << 62); d != 1<<62+1 {
		t.Errorf("floor ignored: %d", d)
	}
	os.WriteFile(path, []byte("junk"), 0o600)
	if _, err := newSequencer(path, clk.Now); err == nil {
		t.Error("junk sequence file accepted")
	}
}

// specVector is the example in docs/spec/introducer.md: the storage
// announcement of the node whose Ed25519 seed is 32 zero bytes.
const specVector = "" +
	"a363616e6e590193ab646e75726c787f70623a2f2f32454968735074526c4d3145463242376348774f4b345532464d536248" +
	"77386f584a724c6f315a4342414940637562652e6578616d706c652e6f72673a383434332f67756a6f61666a6e6870737335" +
	"6f326a337132657a623632716f6974623764727275746f343365706372757834656e693468737123763d31656e6f6e636558" +
	"200000000000000000000000000000000000000000000000000000000000000000667365716e756d1b000647484620400067" +
	"6e6f64652d6964783776302d686e76637070676f7732736332797664766469637533796e6f6e737465666c7864787265686a" +
	"72327962656b6463327a3369757167736572766963656773746f726167656776657273696f6e01686e69636b6e616d656561" +
	"6c69636569726561642d6f6e6c79f46e72657365727665642d73706163651a400000006f617661696c61626c652d73706163" +
	"651b0000010000000000707065726d75746174696f6e2d736565647820636f7064737168676a6e6b6a6334726172646d3262" +
	"7632626d6b6834716a7861636b657958203b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da2963" +
	"73696758405020bdecf44f92127a318b19809a375d8bc631ab59dd33d007830e1d6d1b74f69226f75521c69b5c736ddd78b5" +
	"853841c767b39cf03d9fd9437e1cb66061530c"

func TestSpecVector(t *testing.T) {
	k := ed25519.NewKeyFromSeed(make([]byte, 32))
	n := nurl.MustParse("pb://2EIhsPtRlM1EF2B7cHwOK4U2FMSbHw8oXJrLo1ZCBAI@cube.example.org:8443/gujoafjnhpss5o2j3q2ezb62qoitb7drruto43epcrux4eni4hsq#v=1")
	sa := mustSign(t, Announcement{
		Nickname: "alice",
		Seq:      1767225600000000, // 2026-01-01T00:00:00Z in Unix microseconds
		Nonce:    make([]byte, 32),
		Service:  ServiceStorage,
		NURL:     n,
		Storage:  &StorageInfo{AvailableSpace: 1 << 40, ReservedSpace: 1 << 30},
	}, k)
	if got := hex.EncodeToString(sa.raw); got != specVector {
		t.Fatalf("encoding changed:\n%s", got)
	}
	if _, err := DecodeAnnouncement(sa.raw); err != nil {
		t.Fatal(err)
	}
}
