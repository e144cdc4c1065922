package vault

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

func TestLinkMetaRoundTrip(t *testing.T) {
	for _, m := range []LinkMeta{{Kind: "file", Name: "Report 2024.pdf"}, {Kind: "folder", Name: "Photos – été"}} {
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := UnmarshalLinkMeta(b)
		if err != nil || *got != m {
			t.Fatalf("%+v: got %+v, %v", m, got, err)
		}
		// Sealed in a link's slot, it opens there only.
		k := NewKey()
		sealed, err := SealMeta(k.MetaKey(), LinkMetaSlot("l1"), b)
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := OpenMeta(k.MetaKey(), LinkMetaSlot("l1"), sealed); err != nil || !bytes.Equal(pt, b) {
			t.Fatalf("open: %v", err)
		}
		for _, s := range []Slot{LinkMetaSlot("l2"), ShareMetaSlot("l1"), MetaSlot("l1")} {
			if _, err := OpenMeta(k.MetaKey(), s, sealed); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("opened in slot %s: %v", s, err)
			}
		}
	}
	for _, m := range []LinkMeta{{Kind: "drop", Name: "a"}, {Kind: "file", Name: ""}, {Kind: "file", Name: "a/b"}, {Kind: "", Name: "a"}} {
		if _, err := m.Marshal(); err == nil {
			t.Errorf("%+v was marshalled", m)
		}
	}
}

func TestLinkMetaStrict(t *testing.T) {
	base := func(m *cborMap) { m.addUint("v", 1); m.addText("kind", "link") }
	bad := map[string][]byte{
		"version 2": cborOf(func(m *cborMap) {
			m.addUint("v", 2)
			m.addText("kind", "link")
			m.addText("name", "a")
			m.addText("target", "file")
		}),
		"no name":    cborOf(func(m *cborMap) { base(m); m.addText("target", "file") }),
		"no target":  cborOf(func(m *cborMap) { base(m); m.addText("name", "a") }),
		"bad target": cborOf(func(m *cborMap) { base(m); m.addText("name", "a"); m.addText("target", "drop") }),
		"unknown field": cborOf(func(m *cborMap) {
			base(m)
			m.addText("name", "a")
			m.addText("target", "file")
			m.addText("owner", "x")
		}),
		"name as bytes":  cborOf(func(m *cborMap) { base(m); m.addBytes("name", []byte("a")); m.addText("target", "file") }),
		"a folder's map": cborOf(func(m *cborMap) { m.addUint("v", 1); m.addText("kind", "folder"); m.addText("name", "a") }),
		"bad name":       cborOf(func(m *cborMap) { base(m); m.addText("name", ".."); m.addText("target", "file") }),
	}
	for name, d := range bad {
		if _, err := UnmarshalLinkMeta(d); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	good, _ := (&LinkMeta{Kind: "file", Name: "a"}).Marshal()
	if _, err := UnmarshalLinkMeta(append(bytes.Clone(good), 0)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("trailing byte: %v", err)
	}
	// The encoding is the one the spec gives: v, kind, name, target.
	want := cborOf(func(m *cborMap) { base(m); m.addText("name", "a"); m.addText("target", "file") })
	if !bytes.Equal(good, want) {
		t.Errorf("encoding %x, want %x", good, want)
	}
}

func TestLinkKeyText(t *testing.T) {
	k := key(0x40)
	s := FormatLinkKey(k)
	if len(s) != 43 || strings.ContainsAny(s, "+/=") {
		t.Fatalf("FormatLinkKey: %q", s)
	}
	for _, typed := range []string{s, "#" + s, " " + s[:20] + "\n" + s[20:] + "\t", "https://node.example/s/abc#" + s, "  https://x/s/y#" + s + "  "} {
		got, err := ParseLinkKey(typed)
		if err != nil || got != k {
			t.Errorf("ParseLinkKey(%q): %v", typed, err)
		}
	}
	for _, bad := range []string{"", s[:42], s + "A", strings.Replace(s, s[:1], "+", 1), "https://node.example/s/abc", s[:42] + "="} {
		if _, err := ParseLinkKey(bad); !errors.Is(err, ErrLinkKey) {
			t.Errorf("ParseLinkKey(%q): %v", bad, err)
		}
	}
}

func TestProtectLink(t *testing.T) {
	p := cheapKDF(t)
	k := NewKey()
	lp, err := ProtectLink(&k, "link1", "link password", p)
	if err != nil {
		t.Fatal(err)
	}
	if len(lp.Wrapped) != 73 || len(lp.AuthHash) != 32 || len(lp.Lock) == 0 {
		t.Fatalf("ProtectLink: %d %d %d", len(lp.Wrapped), len(lp.AuthHash), len(lp.Lock))
	}
	pk, err := DeriveLinkPassword(lp.Lock, "link password")
	if err != nil {
		t.Fatal(err)
	}
	if h := sha256.Sum256(pk.Auth()); !bytes.Equal(h[:], lp.AuthHash) {
		t.Fatal("the proof does not match the hash the node keeps")
	}
	if bytes.Contains(lp.Wrapped, pk.Auth()) || bytes.Equal(pk.Auth(), k[:]) {
		t.Fatal("the proof leaks into the key material")
	}
	got, err := pk.Open(lp.Wrapped, "link1")
	if err != nil || got != k {
		t.Fatalf("Open: %v", err)
	}
	if _, err := pk.Open(lp.Wrapped, "link2"); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("another link's slot: %v", err)
	}
	wrong, err := DeriveLinkPassword(lp.Lock, "wrong password")
	if err != nil {
		t.Fatal(err)
	}
	if h := sha256.Sum256(wrong.Auth()); bytes.Equal(h[:], lp.AuthHash) {
		t.Fatal("a wrong password gives the right proof")
	}
	if _, err := wrong.Open(lp.Wrapped, "link1"); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	// NFC: the same password typed decomposed.
	lp2, _ := ProtectLink(&k, "link1", "\u00e9t\u00e9", p)
	if pk2, err := DeriveLinkPassword(lp2.Lock, "e\u0301te\u0301"); err != nil {
		t.Fatal(err)
	} else if got, err := pk2.Open(lp2.Wrapped, "link1"); err != nil || got != k {
		t.Fatalf("NFD password: %v", err)
	}
	// A drop: no key to wrap.
	dp, err := ProtectLink(nil, "drop1", "drop password", p)
	if err != nil || dp.Wrapped != nil || len(dp.AuthHash) != 32 {
		t.Fatalf("drop ProtectLink: %+v %v", dp, err)
	}
	// Locks the node could abuse are refused before any work.
	if _, err := DeriveLinkPassword(make([]byte, 300), "x"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a huge lock: %v", err)
	}
	if _, err := DeriveLinkPassword(append(bytes.Clone(lp.Lock), 0), "x"); err == nil {
		t.Fatal("a lock with a trailing byte was accepted")
	}
	kdfLimits.minMemKiB, kdfLimits.minCostKiB = 19456, 38912
	if _, err := DeriveLinkPassword(lp.Lock, "link password"); !errors.Is(err, ErrKDFParams) {
		t.Fatalf("a lock below the floor: %v", err)
	}
	if _, err := ProtectLink(&k, "l", "", DefaultKDFParams); err == nil {
		t.Fatal("an empty password was accepted")
	}
}

func TestLinkSlotsDistinct(t *testing.T) {
	all := []Slot{
		LinkMetaSlot("a"), ShareMetaSlot("a"), DropMetaSlot("a"), linkPasswordSlot("a"),
		MetaSlot("a"), NodeKeySlot("a"), lockSlot("a"), EscrowSlot("a"), VersionSlot("a", ""),
		LinkMetaSlot("b"), DropMetaSlot("ab"),
	}
	seen := map[string]bool{}
	for _, s := range all {
		if seen[s.String()] {
			t.Errorf("slot %q not unique", s)
		}
		seen[s.String()] = true
	}
	if got := LinkMetaSlot("l1").String(); got != "26:communitycube/v1/link-meta,2:l1," {
		t.Errorf("LinkMetaSlot: %q", got)
	}
	ctxs := map[string]bool{}
	for _, c := range []string{DropBoxContext("a", "b"), DropBoxContext("ab", ""), DropBoxContext("a", "bc"), ShareBoxContext("a", "b")} {
		if ctxs[c] {
			t.Errorf("box context %q not unique", c)
		}
		ctxs[c] = true
	}
	if got := DropBoxContext("d1", "f1"); got != "21:communitycube/v1/drop,2:d1,2:f1," {
		t.Errorf("DropBoxContext: %q", got)
	}
}
