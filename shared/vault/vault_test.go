package vault

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/communitycube/cube/shared/cap"
)

func newTestAccount(t *testing.T, password string) (*Bundle, *Unlocked, RecoveryKey) {
	t.Helper()
	b, u, rk, err := NewAccount(password, cheapKDF(t))
	if err != nil {
		t.Fatal(err)
	}
	return b, u, rk
}

func sameKeys(t *testing.T, a, b *Unlocked) {
	t.Helper()
	if a.root != b.root || a.Escrow != b.Escrow || a.RootFolder != b.RootFolder || a.private != b.private || !bytes.Equal(a.public, b.public) {
		t.Fatal("unlocked keys differ")
	}
}

func TestAccountRoundTrip(t *testing.T) {
	b, u, _ := newTestAccount(t, "hunter2 but longer")
	data, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b2, err := ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	u2, err := b2.Unlock("hunter2 but longer")
	if err != nil {
		t.Fatal(err)
	}
	sameKeys(t, u, u2)
	if _, err := b2.Unlock("hunter2 but longer "); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := b2.Unlock(""); !errors.Is(err, ErrEmptyPassword) {
		t.Errorf("empty password: %v", err)
	}
	if _, _, _, err := NewAccount("", cheapKDF(t)); !errors.Is(err, ErrEmptyPassword) {
		t.Errorf("empty password at sign-up: %v", err)
	}
	// The keys are distinct and not zero.
	seen := map[Key]bool{}
	for _, k := range []Key{u.root, u.Escrow, u.RootFolder, u.private} {
		if k == (Key{}) || seen[k] {
			t.Fatal("duplicate or zero key")
		}
		seen[k] = true
	}
	if len(data) > 600 {
		t.Errorf("bundle is %d bytes", len(data))
	}
}

func TestPasswordNormalisation(t *testing.T) {
	b, _, _ := newTestAccount(t, "\u00e9t\u00e9")          // NFC
	if _, err := b.Unlock("e\u0301te\u0301"); err != nil { // NFD
		t.Fatalf("NFD password: %v", err)
	}
	if _, err := b.Unlock("\u00c9t\u00e9"); !errors.Is(err, ErrWrongPassword) { // case matters
		t.Fatalf("case-changed password: %v", err)
	}
}

// tree is a small folder tree made with the public API, as a client would.
type tree struct {
	childWrapped, childMeta, fileWrapped, fileMeta, versionMeta []byte
	childKey, fileKey                                           Key
}

const (
	childID   = "child0000000000000000000000"
	fileID    = "file00000000000000000000000"
	versionID = "version00000000000000000000"
)

func makeTree(t *testing.T, root Key) tree {
	t.Helper()
	var tr tree
	tr.childKey, tr.fileKey = NewKey(), NewKey()
	tr.childWrapped = Wrap(root, tr.childKey, NodeKeySlot(childID))
	fm, err := (&FolderMeta{Name: "Documents"}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if tr.childMeta, err = SealMeta(root.MetaKey(), MetaSlot(childID), fm); err != nil {
		t.Fatal(err)
	}
	tr.fileWrapped = Wrap(tr.childKey, tr.fileKey, NodeKeySlot(fileID))
	fim, _ := (&FileMeta{Name: "a.txt", Size: 5}).Marshal()
	if tr.fileMeta, err = SealMeta(tr.childKey.MetaKey(), MetaSlot(fileID), fim); err != nil {
		t.Fatal(err)
	}
	vm, _ := (&VersionMeta{Cap: cap.LIT{Data: []byte("hello")}.String()}).Marshal()
	if tr.versionMeta, err = SealMeta(tr.fileKey.MetaKey(), VersionSlot(fileID, versionID), vm); err != nil {
		t.Fatal(err)
	}
	return tr
}

// walk opens the tree from the root folder key and checks every item.
func (tr tree) walk(t *testing.T, root Key) {
	t.Helper()
	child, err := Unwrap(root, tr.childWrapped, NodeKeySlot(childID))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := OpenMeta(root.MetaKey(), MetaSlot(childID), tr.childMeta)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := UnmarshalFolderMeta(pt); err != nil || m.Name != "Documents" {
		t.Fatal(m, err)
	}
	file, err := Unwrap(child, tr.fileWrapped, NodeKeySlot(fileID))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err = OpenMeta(child.MetaKey(), MetaSlot(fileID), tr.fileMeta); err != nil {
		t.Fatal(err)
	}
	if m, err := UnmarshalFileMeta(pt); err != nil || m.Name != "a.txt" {
		t.Fatal(m, err)
	}
	if pt, err = OpenMeta(file.MetaKey(), VersionSlot(fileID, versionID), tr.versionMeta); err != nil {
		t.Fatal(err)
	}
	m, err := UnmarshalVersionMeta(pt)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := cap.ParseLIT(m.Cap)
	if string(c.Data) != "hello" {
		t.Fatal("content")
	}
}

func TestChangePasswordKeepsEverything(t *testing.T) {
	p := cheapKDF(t)
	b, u, rk := newTestAccount(t, "old password")
	tr := makeTree(t, u.RootFolder)
	box, err := SealTo(u.PublicKey(), []byte("dropped"), "ctx")
	if err != nil {
		t.Fatal(err)
	}
	nb, err := u.ChangePassword(b, "new password", p)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(nb.Salt, b.Salt) {
		t.Error("salt reused")
	}
	if _, err := nb.Unlock("old password"); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("old password on new bundle: %v", err)
	}
	u2, err := nb.Unlock("new password")
	if err != nil {
		t.Fatal(err)
	}
	sameKeys(t, u, u2)
	tr.walk(t, u2.RootFolder)
	if pt, err := u2.OpenSealed(box, "ctx"); err != nil || string(pt) != "dropped" {
		t.Fatal(err)
	}
	// Only the password wrap changed.
	if !bytes.Equal(nb.RootByRecovery, b.RootByRecovery) || !bytes.Equal(nb.PrivateKey, b.PrivateKey) ||
		!bytes.Equal(nb.EscrowKey, b.EscrowKey) || !bytes.Equal(nb.RootFolderKey, b.RootFolderKey) || !bytes.Equal(nb.PublicKey, b.PublicKey) {
		t.Error("ChangePassword changed more than the password wrap")
	}
	// The old bundle is untouched (and still opens with the old password:
	// a password change is not a key rotation).
	if _, err := b.Unlock("old password"); err != nil {
		t.Error(err)
	}
	if _, err := nb.UnlockWithRecovery(rk); err != nil {
		t.Error(err)
	}
}

func TestRecoveryFlow(t *testing.T) {
	p := cheapKDF(t)
	b, u, rk := newTestAccount(t, "forgotten")
	tr := makeTree(t, u.RootFolder)

	// The user lost the password and types the recovery key sloppily.
	typed := strings.ToLower(strings.ReplaceAll(rk.String(), "-", "  "))
	typed = strings.ReplaceAll(strings.ReplaceAll(typed, "0", "o"), "1", "l")
	rk2, err := ParseRecoveryKey(typed)
	if err != nil || rk2 != rk {
		t.Fatalf("parse typed key: %v", err)
	}
	ur, err := b.UnlockWithRecovery(rk2)
	if err != nil {
		t.Fatal(err)
	}
	sameKeys(t, u, ur)
	nb, err := ur.ChangePassword(b, "remembered", p)
	if err != nil {
		t.Fatal(err)
	}
	u3, err := nb.Unlock("remembered")
	if err != nil {
		t.Fatal(err)
	}
	tr.walk(t, u3.RootFolder)
	// Decision: the recovery key stays valid after it was used, until the
	// user makes a new one.
	if _, err := nb.UnlockWithRecovery(rk); err != nil {
		t.Errorf("recovery key after use: %v", err)
	}
	nb2, rk3, err := u3.NewRecoveryKey(nb)
	if err != nil {
		t.Fatal(err)
	}
	if rk3 == rk {
		t.Fatal("same recovery key")
	}
	if _, err := nb2.UnlockWithRecovery(rk); !errors.Is(err, ErrWrongRecoveryKey) {
		t.Errorf("old recovery key after regeneration: %v", err)
	}
	if _, err := nb2.UnlockWithRecovery(rk3); err != nil {
		t.Error(err)
	}
	if _, err := nb2.Unlock("remembered"); err != nil {
		t.Error(err)
	}
	if bytes.Equal(rk.Auth(), rk3.Auth()) {
		t.Error("recovery auth did not change")
	}
	// Another account's recovery key.
	_, _, other := newTestAccount(t, "x")
	if _, err := b.UnlockWithRecovery(other); !errors.Is(err, ErrWrongRecoveryKey) {
		t.Errorf("other account's recovery key: %v", err)
	}
}

func TestForeignBundleRefused(t *testing.T) {
	p := cheapKDF(t)
	_, u1, _ := newTestAccount(t, "one")
	b2, _, _ := newTestAccount(t, "two")
	if _, err := u1.ChangePassword(b2, "x", p); !errors.Is(err, ErrCorrupt) {
		t.Errorf("ChangePassword on another account's bundle: %v", err)
	}
	if _, _, err := u1.NewRecoveryKey(b2); !errors.Is(err, ErrCorrupt) {
		t.Errorf("NewRecoveryKey on another account's bundle: %v", err)
	}
}

func TestKDFParams(t *testing.T) {
	if err := DefaultKDFParams.Validate(); err != nil {
		t.Fatal(err)
	}
	ok := []KDFParams{{19 << 10, 2, 1}, {38 << 10, 1, 1}, {1 << 20, 10, 16}, {64 << 10, 3, 4}}
	for _, p := range ok {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	bad := []KDFParams{
		{}, {1, 1, 1}, {8, 1, 1}, // trivially weak
		{19<<10 - 1, 3, 1}, // memory under the floor
		{19 << 10, 1, 1},   // 19 MiB needs 2 passes
		{37 << 10, 1, 1},   // memory × passes under 38 MiB
		{64 << 10, 0, 1},   // no passes
		{64 << 10, 11, 1},  // too many passes
		{1<<20 + 1, 3, 1},  // over 1 GiB
		{4 << 30 >> 10, 1, 1},
		{64 << 10, 3, 0},  // no lanes
		{64 << 10, 3, 17}, // too many lanes
	}
	for _, p := range bad {
		if err := p.Validate(); !errors.Is(err, ErrKDFParams) {
			t.Errorf("%+v accepted: %v", p, err)
		}
	}

	// A hostile node rewrites the stored parameters: Unlock refuses before
	// deriving anything, both weak and exhausting ones.
	b, _, _ := newTestAccount(t, "pw")
	kdfLimits.minMemKiB, kdfLimits.minCostKiB = 19<<10, 38<<10 // the real floor again
	for _, p := range bad {
		hb := b.clone()
		hb.KDF = p
		start := time.Now()
		_, err := hb.Unlock("pw")
		if !errors.Is(err, ErrKDFParams) {
			t.Errorf("Unlock with %+v: %v", p, err)
		}
		if d := time.Since(start); d > 250*time.Millisecond {
			t.Errorf("Unlock with %+v took %v: it derived", p, d)
		}
		// Sign-up, password change and locks refuse them too.
		if _, _, _, err := NewAccount("pw", p); !errors.Is(err, ErrKDFParams) {
			t.Errorf("NewAccount with %+v: %v", p, err)
		}
		if _, _, err := LockItem(Key{}, "n", "pw", p); !errors.Is(err, ErrKDFParams) {
			t.Errorf("LockItem with %+v: %v", p, err)
		}
	}
	// Salts too short or long are corrupt.
	for _, n := range []int{0, 8, 15, 65} {
		hb := b.clone()
		hb.Salt = make([]byte, n)
		if _, err := hb.Unlock("pw"); !errors.Is(err, ErrCorrupt) {
			t.Errorf("salt of %d bytes: %v", n, err)
		}
	}
}

func TestBundleTampering(t *testing.T) {
	b, _, rk := newTestAccount(t, "pw")
	data, _ := b.MarshalBinary()
	// Every single-byte change is either refused by ParseBundle or makes
	// Unlock (or UnlockWithRecovery) fail with a precise error; never a
	// panic, never other keys.
	for i := range data {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			d := bytes.Clone(data)
			d[i] ^= x
			hb, err := ParseBundle(d)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
					t.Fatalf("byte %d ^ %#x: ParseBundle: %v", i, x, err)
				}
				continue
			}
			_, err1 := hb.Unlock("pw")
			_, err2 := hb.UnlockWithRecovery(rk)
			if err1 == nil && err2 == nil {
				// Only the KDF parameters' encoding may change without
				// effect... which cannot happen: they feed the derivation.
				t.Fatalf("byte %d ^ %#x: both unlocks succeeded", i, x)
			}
			for _, err := range []error{err1, err2} {
				if err != nil && !errors.Is(err, ErrWrongPassword) && !errors.Is(err, ErrWrongRecoveryKey) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrKDFParams) {
					t.Fatalf("byte %d ^ %#x: %v", i, x, err)
				}
			}
		}
	}
	// Field by field: a swapped public key is caught.
	hb := b.clone()
	hb.PublicKey = x25519Public(NewKey())
	if _, err := hb.Unlock("pw"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("replaced public key: %v", err)
	}
	// Wrapped keys swapped between slots.
	hb = b.clone()
	hb.EscrowKey, hb.RootFolderKey = hb.RootFolderKey, hb.EscrowKey
	if _, err := hb.Unlock("pw"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("swapped escrow and root folder keys: %v", err)
	}
	hb = b.clone()
	hb.RootByPassword = hb.RootByRecovery
	if _, err := hb.Unlock("pw"); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("recovery wrap in the password slot: %v", err)
	}
}

// cborHex builds test inputs.
func cborOf(f func(m *cborMap)) []byte {
	var m cborMap
	f(&m)
	return m.encode()
}

func TestParseBundleStrict(t *testing.T) {
	b, _, _ := newTestAccount(t, "pw")
	good, _ := b.MarshalBinary()
	fields := func(skip string, extra func(m *cborMap), v uint64) []byte {
		return cborOf(func(m *cborMap) {
			add := func(k string, f func()) {
				if k != skip {
					f()
				}
			}
			add("v", func() { m.addUint("v", v) })
			add("kdf", func() { m.addMap("kdf", storedKDF{b.KDF, b.Salt}.cbor()) })
			add("root_by_password", func() { m.addBytes("root_by_password", b.RootByPassword) })
			add("root_by_recovery", func() { m.addBytes("root_by_recovery", b.RootByRecovery) })
			add("public_key", func() { m.addBytes("public_key", b.PublicKey) })
			add("private_key", func() { m.addBytes("private_key", b.PrivateKey) })
			add("escrow_key", func() { m.addBytes("escrow_key", b.EscrowKey) })
			add("root_folder_key", func() { m.addBytes("root_folder_key", b.RootFolderKey) })
			if extra != nil {
				extra(m)
			}
		})
	}
	if !bytes.Equal(fields("", nil, 1), good) {
		t.Fatal("test encoder differs")
	}
	if _, err := ParseBundle(fields("", nil, 2)); !errors.Is(err, ErrVersion) {
		t.Errorf("version 2: %v", err)
	}
	cases := map[string][]byte{
		"empty":          nil,
		"not a map":      {0x80},
		"trailing byte":  append(bytes.Clone(good), 0),
		"missing field":  fields("escrow_key", nil, 1),
		"unknown field":  fields("", func(m *cborMap) { m.addUint("x", 1) }, 1),
		"upper-case key": bytes.Replace(bytes.Clone(good), []byte("public_key"), []byte("Public_key"), 1),
		"truncated":      good[:len(good)-1],
		"too big":        make([]byte, MaxBundleSize+1),
	}
	// Non-shortest "v": 0x18 0x01 instead of 0x01.
	cases["long int"] = append([]byte{good[0], good[1], good[2], 0x18, 0x01}, good[4:]...)
	// Indefinite-length map.
	cases["indefinite"] = append([]byte{0xbf}, append(bytes.Clone(good[1:]), 0xff)...)
	// Duplicate key: "v" twice (and one entry more in the header).
	cases["duplicate"] = append([]byte{good[0] + 1, 0x61, 'v', 0x01}, good[1:]...)
	// Keys out of order: the same entries, reversed.
	cases["unsorted"] = func() []byte {
		var m cborMap
		r := &cborReader{b: good}
		n, _ := r.expect(majorMap, "")
		for range n {
			start := r.off
			k, _ := r.text("", 64)
			kEnd := r.off
			if k == "kdf" {
				readKDF(r)
			} else if k == "v" {
				r.uint("", 9)
			} else {
				r.bytes("", 128)
			}
			m.entries = append(m.entries, cborEntry{good[start:kEnd], good[kEnd:r.off]})
		}
		w := cborWriter{}
		w.head(majorMap, n)
		for i := len(m.entries) - 1; i >= 0; i-- {
			w.b = append(append(w.b, m.entries[i].key...), m.entries[i].value...)
		}
		return w.b
	}()
	for name, d := range cases {
		if _, err := ParseBundle(d); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestWrap(t *testing.T) {
	kek, k := NewKey(), NewKey()
	w := Wrap(kek, k, NodeKeySlot("a"))
	if len(w) != WrappedSize || WrappedSize != 73 {
		t.Fatalf("wrapped size %d", len(w))
	}
	if got, err := Unwrap(kek, w, NodeKeySlot("a")); err != nil || got != k {
		t.Fatal(err)
	}
	if w2 := Wrap(kek, k, NodeKeySlot("a")); bytes.Equal(w, w2) {
		t.Error("nonce reused")
	}
	for name, c := range map[string]struct {
		kek  Key
		w    []byte
		slot Slot
	}{
		"other kek":       {NewKey(), w, NodeKeySlot("a")},
		"other node":      {kek, w, NodeKeySlot("b")},
		"other purpose":   {kek, w, EscrowSlot("a")},
		"meta slot":       {kek, w, MetaSlot("a")},
		"lock slot":       {kek, w, lockSlot("a")},
		"account slot":    {kek, w, slotRootFolderKey},
		"truncated":       {kek, w[:72], NodeKeySlot("a")},
		"extended":        {kek, append(bytes.Clone(w), 0), NodeKeySlot("a")},
		"empty":           {kek, nil, NodeKeySlot("a")},
		"version only":    {kek, []byte{1}, NodeKeySlot("a")},
		"zero kek":        {Key{}, w, NodeKeySlot("a")},
		"kek used direct": {Key(kek.sub(labelWrap)), w, NodeKeySlot("a")},
	} {
		if _, err := Unwrap(c.kek, c.w, c.slot); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
	}
	v2 := bytes.Clone(w)
	v2[0] = 2
	if _, err := Unwrap(kek, v2, NodeKeySlot("a")); !errors.Is(err, ErrVersion) {
		t.Errorf("version 2: %v", err)
	}
	for i := 1; i < len(w); i++ {
		for bit := range 8 {
			d := bytes.Clone(w)
			d[i] ^= 1 << bit
			if _, err := Unwrap(kek, d, NodeKeySlot("a")); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("bit %d of byte %d: %v", bit, i, err)
			}
		}
	}
}

func TestSlots(t *testing.T) {
	// Netstrings keep ids apart however they are cut.
	all := []Slot{
		NodeKeySlot("a"), NodeKeySlot("b"), NodeKeySlot(""), EscrowSlot("a"), MetaSlot("a"), lockSlot("a"),
		VersionSlot("a", "bc"), VersionSlot("ab", "c"), VersionSlot("a", ""), VersionSlot("", "a"),
		MetaSlot("1:a,"), NodeKeySlot("a,"),
		slotRootByPassword, slotRootByRecovery, slotPrivateKey, slotEscrowKey, slotRootFolderKey,
	}
	seen := map[string]bool{}
	for _, s := range all {
		if seen[s.String()] {
			t.Errorf("slot %q not unique", s)
		}
		seen[s.String()] = true
	}
	if got := VersionSlot("n1", "v1").String(); got != "29:communitycube/v1/version-meta,2:n1,2:v1," {
		t.Errorf("VersionSlot: %q", got)
	}
}

func TestSubkeysDistinct(t *testing.T) {
	k := NewKey()
	mk := k.MetaKey()
	w, n := k.sub(labelWrap), k.sub(labelName)
	set := map[[32]byte]bool{k: true, mk: true, w: true, n: true}
	if len(set) != 4 {
		t.Fatal("subkeys collide")
	}
	if k.MetaKey() != mk {
		t.Fatal("MetaKey not deterministic")
	}
}

func TestSealMeta(t *testing.T) {
	parent := NewKey()
	mk := parent.MetaKey()
	pt := []byte("some metadata")
	a, err := SealMeta(mk, MetaSlot("A"), pt)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := OpenMeta(mk, MetaSlot("A"), a); err != nil || !bytes.Equal(got, pt) {
		t.Fatal(err)
	}
	if len(a) != len(pt)+blobOverhead {
		t.Errorf("overhead %d", len(a)-len(pt))
	}
	// Node A's blob presented as node B's, or as a version's, or under
	// another folder's key, or under the folder key itself.
	for name, c := range map[string]struct {
		mk   MetaKey
		slot Slot
	}{
		"other node":      {mk, MetaSlot("B")},
		"as version":      {mk, VersionSlot("A", "")},
		"other folder":    {NewKey().MetaKey(), MetaSlot("A")},
		"node key direct": {MetaKey(parent), MetaSlot("A")},
	} {
		if _, err := OpenMeta(c.mk, c.slot, a); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
	}
	fk := NewKey().MetaKey()
	v1, _ := SealMeta(fk, VersionSlot("F", "v1"), pt)
	for _, s := range []Slot{VersionSlot("F", "v2"), VersionSlot("G", "v1"), MetaSlot("F")} {
		if _, err := OpenMeta(fk, s, v1); !errors.Is(err, ErrCorrupt) {
			t.Errorf("version blob in %q: %v", s, err)
		}
	}
	// Empty and maximal plaintexts; one byte more is refused.
	for _, n := range []int{0, MaxMetaSize} {
		s, err := SealMeta(mk, MetaSlot("A"), make([]byte, n))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := OpenMeta(mk, MetaSlot("A"), s); err != nil || len(got) != n {
			t.Fatal(err)
		}
	}
	if _, err := SealMeta(mk, MetaSlot("A"), make([]byte, MaxMetaSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversize: %v", err)
	}
	if _, err := OpenMeta(mk, MetaSlot("A"), make([]byte, blobOverhead+MaxMetaSize+1)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("oversize blob: %v", err)
	}
	for _, d := range [][]byte{nil, {1}, a[:blobOverhead-1]} {
		if _, err := OpenMeta(mk, MetaSlot("A"), d); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%x: %v", d, err)
		}
	}
	d := bytes.Clone(a)
	d[len(d)-1] ^= 1
	if _, err := OpenMeta(mk, MetaSlot("A"), d); !errors.Is(err, ErrCorrupt) {
		t.Error(err)
	}
}

func TestNameHMAC(t *testing.T) {
	folder := NewKey()
	same := [][2]string{
		{"Report.PDF", "report.pdf"},
		{"REPORT.PDF", "rEpOrT.pDf"},
		{"\u00e9t\u00e9", "e\u0301te\u0301"},         // NFC vs NFD
		{"\u00c9T\u00c9", "e\u0301te\u0301"},         // case and normalisation
		{"Stra\u00dfe", "STRASSE"},                   // full folding: ß → ss
		{"Stra\u1e9ee", "strasse"},                   // capital sharp s
		{"\ufb01le", "FILE"},                         // ligature fi folds
		{"\u03a3\u0391\u03a3", "\u03c3\u03b1\u03c2"}, // final sigma
		{"\u212a", "k"},                              // Kelvin sign
		{"\u00c5", "A\u030a"},                        // Å precomposed vs combining ring
		{"\u212b", "\u00e5"},                         // Angstrom sign (canonical singleton)
	}
	for _, p := range same {
		if NameHMAC(folder, p[0]) != NameHMAC(folder, p[1]) {
			t.Errorf("%q and %q should collide (folded %q, %q)", p[0], p[1], FoldName(p[0]), FoldName(p[1]))
		}
	}
	different := [][2]string{
		{"report.pdf", "report.pdf "},
		{"report.pdf", "report .pdf"},
		{"\u2460", "1"},  // compatibility: circled one
		{"\uff21", "a"},  // full-width A
		{"e", "\u00e9"},  // accents matter
		{"i", "\u0131"},  // dotless i (no Turkish folding)
		{"a", "a\u200d"}, // zero-width joiner is kept
		{"report", "report.pdf"},
	}
	for _, p := range different {
		if NameHMAC(folder, p[0]) == NameHMAC(folder, p[1]) {
			t.Errorf("%q and %q should differ", p[0], p[1])
		}
	}
	// The HMAC depends on the folder.
	if NameHMAC(folder, "a") == NameHMAC(NewKey(), "a") {
		t.Error("same HMAC in two folders")
	}
	if FoldName("\u00c9T\u00c9") != "\u00e9t\u00e9" {
		t.Errorf("FoldName: %q", FoldName("\u00c9T\u00c9"))
	}
}

func TestValidateName(t *testing.T) {
	long := strings.Repeat("a", MaxNameSize)
	longUTF8 := strings.Repeat("\u00e9", MaxNameSize/2) // 254 bytes
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"report.pdf", true},
		{"Report (2).pdf", true},
		{".hidden", true},
		{"...a", true},
		{" leading space", true},
		{"été 🌞.jpg", true},
		{"a\u200db", true},                     // ZWJ (emoji sequences)
		{"\u05e9\u05dc\u05d5\u05dd.txt", true}, // Hebrew
		{"back\\slash:colon*?\"<>|", true},
		{"CON", true},
		{long, true},
		{longUTF8, true},
		{"", false},
		{".", false},
		{"..", false},
		{long + "a", false},
		{longUTF8 + "\u00e9", false},
		{"a/b", false},
		{"/", false},
		{"a\x00b", false},
		{"a\nb", false},
		{"a\tb", false},
		{"a\x7fb", false},
		{"a\u0085b", false}, // C1 control (NEL)
		{"a\u009fb", false},
		{"photo\u202egpj.exe", false}, // right-to-left override
		{"a\u2066b", false},           // isolate
		{"a\u202ab", false},
		{"trailing ", false},
		{"trailing.", false},
		{"a \t", false},
		{"bad\xffutf8", false},
		{"\xed\xa0\x80", false}, // surrogate in UTF-8
	} {
		err := ValidateName(c.name)
		if c.ok && err != nil {
			t.Errorf("%q refused: %v", c.name, err)
		}
		if !c.ok && !errors.Is(err, ErrInvalidName) {
			t.Errorf("%q accepted (%v)", c.name, err)
		}
	}
}

var recoveryText = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){13}$`)

func TestRecoveryKeyText(t *testing.T) {
	for range 50 {
		rk := newRecoveryKey()
		s := rk.String()
		if !recoveryText.MatchString(s) {
			t.Fatalf("recovery key text %q", s)
		}
		for _, typed := range []string{s, strings.ToLower(s), strings.ReplaceAll(s, "-", ""), strings.ReplaceAll(s, "-", " "),
			" " + strings.ReplaceAll(s, "-", "\n") + "\t", strings.ReplaceAll(s, "-", "_")} {
			got, err := ParseRecoveryKey(typed)
			if err != nil || got != rk {
				t.Fatalf("%q: %v", typed, err)
			}
		}
	}
	if s := fmt.Sprintf("%#v", newRecoveryKey()); s != "vault.RecoveryKey(redacted)" {
		t.Errorf("GoString: %s", s)
	}
}

func TestRecoveryKeyTypos(t *testing.T) {
	rk := RecoveryKey(seq(7, 32))
	s := strings.ReplaceAll(rk.String(), "-", "")
	// Every single-character substitution is caught by the checksum.
	for i := range len(s) {
		for _, c := range recoveryAlphabet {
			if byte(c) == s[i] {
				continue
			}
			typo := s[:i] + string(c) + s[i+1:]
			if _, err := ParseRecoveryKey(typo); !errors.Is(err, ErrRecoveryKeyFormat) || !strings.Contains(err.Error(), "typo") {
				t.Fatalf("substitution at %d (%q): %v", i, typo, err)
			}
		}
	}
	// Every swap of adjacent different characters is caught.
	for i := range len(s) - 1 {
		if s[i] == s[i+1] {
			continue
		}
		typo := s[:i] + string(s[i+1]) + string(s[i]) + s[i+2:]
		if _, err := ParseRecoveryKey(typo); !errors.Is(err, ErrRecoveryKeyFormat) {
			t.Fatalf("swap at %d: %v", i, err)
		}
	}
	for name, c := range map[string]struct{ text, want string }{
		"missing char": {s[1:], "55 characters"},
		"extra char":   {s + "0", "57 characters"},
		"letter U":     {"U" + s[1:], "does not appear"},
		"punctuation":  {s[:10] + "!" + s[11:], "invalid character"},
		"non-ASCII":    {s[:10] + "\u0417" + s[11:], "invalid character"}, // Cyrillic Ze looks like 3
		"empty":        {"", "0 characters"},
		"huge":         {strings.Repeat("0", 10000), "too long"},
	} {
		_, err := ParseRecoveryKey(c.text)
		if !errors.Is(err, ErrRecoveryKeyFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRecoveryAuth(t *testing.T) {
	rk := newRecoveryKey()
	a := rk.Auth()
	if len(a) != 32 || !bytes.Equal(a, rk.Auth()) {
		t.Fatal("Auth")
	}
	rkk := Key(rk)
	w := rkk.sub(labelWrap)
	if bytes.Equal(a, w[:]) || bytes.Equal(a, rk[:]) {
		t.Fatal("Auth reveals the wrapping key")
	}
}

func TestMetaRoundTrip(t *testing.T) {
	loc := time.FixedZone("X", 5*3600+1800)
	now := time.Now().In(loc) // with a monotonic reading and a zone
	chk := cap.CHK{Key: [16]byte(seq(1, 16)), UEBHash: [32]byte(seq(2, 32)), K: 3, N: 10, Size: 12345}.String()
	epoch := time.Unix(0, 0)
	old := time.Date(1700, 1, 1, 0, 0, 0, 1, time.UTC)

	fm := FolderMeta{Name: "Folder", Created: now, Modified: epoch}
	fd, err := fm.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	fm2, err := UnmarshalFolderMeta(fd)
	if err != nil || fm2.Name != fm.Name || !fm2.Created.Equal(now) || !fm2.Modified.Equal(epoch) || fm2.Modified.IsZero() {
		t.Fatalf("%+v %v", fm2, err)
	}
	for _, m := range []FolderMeta{{Name: "x"}, {Name: "y", Modified: old}} {
		d, _ := m.Marshal()
		m2, err := UnmarshalFolderMeta(d)
		if err != nil || m2.Name != m.Name || !m2.Created.Equal(m.Created) || !m2.Modified.Equal(m.Modified) || m2.Created.IsZero() != m.Created.IsZero() {
			t.Fatalf("%+v: %+v %v", m, m2, err)
		}
	}

	for _, m := range []FileMeta{{Name: "a", Size: 0}, {Name: "b.txt", Size: 1 << 40, Modified: now}} {
		d, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := UnmarshalFileMeta(d)
		if err != nil || m2.Name != m.Name || m2.Size != m.Size || !m2.Modified.Equal(m.Modified) {
			t.Fatalf("%+v: %+v %v", m, m2, err)
		}
	}

	for _, m := range []VersionMeta{
		{Cap: chk},
		{Cap: "URI:LIT:", MIME: "text/plain; charset=utf-8", Modified: now, Thumbnail: cap.LIT{Data: bytes.Repeat([]byte{0xff}, MaxThumbnail)}.String(), Scrubbed: []string{"exif.gps", "xmp"}},
	} {
		d, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := UnmarshalVersionMeta(d)
		if err != nil || m2.Cap != m.Cap || m2.MIME != m.MIME || !m2.Modified.Equal(m.Modified) || m2.Thumbnail != m.Thumbnail ||
			strings.Join(m2.Scrubbed, ",") != strings.Join(m.Scrubbed, ",") {
			t.Fatalf("%+v: %+v %v", m, m2, err)
		}
	}

	// Kinds do not mix.
	file, _ := (&FileMeta{Name: "Folder"}).Marshal()
	if _, err := UnmarshalFolderMeta(file); !errors.Is(err, ErrCorrupt) {
		t.Errorf("file metadata as a folder's: %v", err)
	}
	if _, err := UnmarshalFileMeta(fd); !errors.Is(err, ErrCorrupt) {
		t.Errorf("folder metadata as a file's: %v", err)
	}
	if _, err := UnmarshalVersionMeta(fd); !errors.Is(err, ErrCorrupt) {
		t.Errorf("folder metadata as a version's: %v", err)
	}
}

func TestMetaValidation(t *testing.T) {
	chk := cap.CHK{Key: [16]byte(seq(1, 16)), UEBHash: [32]byte(seq(2, 32)), K: 3, N: 10, Size: 1}.String()
	verifier := cap.CHK{Key: [16]byte(seq(1, 16)), UEBHash: [32]byte(seq(2, 32)), K: 3, N: 10, Size: 1}.Verifier().String()
	bad := map[string]interface{ Marshal() ([]byte, error) }{
		"folder without name":   &FolderMeta{},
		"folder name with /":    &FolderMeta{Name: "a/b"},
		"folder time too late":  &FolderMeta{Name: "a", Modified: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)},
		"file negative size":    &FileMeta{Name: "a", Size: -1},
		"file bad name":         &FileMeta{Name: ".."},
		"version without cap":   &VersionMeta{},
		"version verify cap":    &VersionMeta{Cap: verifier},
		"version garbage cap":   &VersionMeta{Cap: "https://example.com"},
		"version bad thumbnail": &VersionMeta{Cap: chk, Thumbnail: verifier},
		"version CHK thumbnail": &VersionMeta{Cap: chk, Thumbnail: chk},
		"version big thumbnail": &VersionMeta{Cap: chk, Thumbnail: cap.LIT{Data: make([]byte, MaxThumbnail+1)}.String()},
		"version bad MIME":      &VersionMeta{Cap: chk, MIME: "text/plain\n"},
		"version long MIME":     &VersionMeta{Cap: chk, MIME: strings.Repeat("a", 256)},
		"version empty scrub":   &VersionMeta{Cap: chk, Scrubbed: []string{""}},
		"version many scrubs":   &VersionMeta{Cap: chk, Scrubbed: make([]string, 65)},
		"version long cap":      &VersionMeta{Cap: "URI:LIT:" + strings.Repeat("a", 600)},
	}
	for name, m := range bad {
		if _, err := m.Marshal(); !errors.Is(err, ErrInvalidMeta) && !errors.Is(err, ErrInvalidName) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestMetaStrict(t *testing.T) {
	chk := cap.CHK{Key: [16]byte(seq(1, 16)), UEBHash: [32]byte(seq(2, 32)), K: 3, N: 10, Size: 1}.String()
	enc := func(f func(m *cborMap)) []byte { return cborOf(f) }
	base := func(m *cborMap, kind string) { m.addUint("v", 1); m.addText("kind", kind) }
	cases := map[string]struct {
		data   []byte
		decode func([]byte) error
		want   error
	}{}
	folder := func(d []byte) error { _, err := UnmarshalFolderMeta(d); return err }
	file := func(d []byte) error { _, err := UnmarshalFileMeta(d); return err }
	version := func(d []byte) error { _, err := UnmarshalVersionMeta(d); return err }
	cases["version 2"] = struct {
		data   []byte
		decode func([]byte) error
		want   error
	}{enc(func(m *cborMap) { m.addUint("v", 2); m.addText("kind", "folder"); m.addText("name", "a") }), folder, ErrVersion}
	add := func(name string, decode func([]byte) error, f func(m *cborMap)) {
		cases[name] = struct {
			data   []byte
			decode func([]byte) error
			want   error
		}{enc(f), decode, ErrCorrupt}
	}
	add("no version", folder, func(m *cborMap) { m.addText("kind", "folder"); m.addText("name", "a") })
	add("no kind", folder, func(m *cborMap) { m.addUint("v", 1); m.addText("name", "a") })
	add("no name", folder, func(m *cborMap) { base(m, "folder") })
	add("unknown field", folder, func(m *cborMap) { base(m, "folder"); m.addText("name", "a"); m.addText("colour", "red") })
	add("bad name", folder, func(m *cborMap) { base(m, "folder"); m.addText("name", "a\x00") })
	add("name as bytes", folder, func(m *cborMap) { base(m, "folder"); m.addBytes("name", []byte("a")) })
	add("time as text", folder, func(m *cborMap) { base(m, "folder"); m.addText("name", "a"); m.addText("created", "2024") })
	add("file without size", file, func(m *cborMap) { base(m, "file"); m.addText("name", "a") })
	add("negative size", file, func(m *cborMap) { base(m, "file"); m.addText("name", "a"); m.addInt("size", -1) })
	add("empty mime present", version, func(m *cborMap) { base(m, "version"); m.addText("cap", chk); m.addText("mime", "") })
	add("empty scrubbed present", version, func(m *cborMap) { base(m, "version"); m.addText("cap", chk); m.addTexts("scrubbed", nil) })
	add("empty thumb present", version, func(m *cborMap) { base(m, "version"); m.addText("cap", chk); m.addText("thumb", "") })
	add("wrong kind", version, func(m *cborMap) { base(m, "folder"); m.addText("cap", chk) })
	for name, c := range cases {
		if err := c.decode(c.data); !errors.Is(err, c.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Raw CBOR oddities on a valid FolderMeta.
	good, _ := (&FolderMeta{Name: "a"}).Marshal()
	raw := map[string][]byte{
		"trailing":   append(bytes.Clone(good), 0),
		"indefinite": append(append([]byte{0xbf}, good[1:]...), 0xff),
		"tag":        append([]byte{0xc0}, good...),
		"float":      {0xa1, 0x61, 'v', 0xf9, 0x3c, 0x00},
		"long head":  append([]byte{0xb8, byte(len(good) - 1)}, good[1:]...),
		"duplicate":  append([]byte{good[0] + 1, 0x61, 'v', 0x01}, good[1:]...),
		"huge":       make([]byte, MaxMetaSize+1),
		"deep":       bytes.Repeat([]byte{0x81}, 1000),
	}
	for name, d := range raw {
		if _, err := UnmarshalFolderMeta(d); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestLockItem(t *testing.T) {
	p := cheapKDF(t)
	k := NewKey()
	lock, wrapped, err := LockItem(k, "node1", "item pw", p)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := UnlockItem(lock, wrapped, "node1", "item pw"); err != nil || got != k {
		t.Fatal(err)
	}
	if _, err := UnlockItem(lock, wrapped, "node1", "wrong"); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("wrong password: %v", err)
	}
	// Moved to another node: refused (indistinguishable from a wrong password).
	if _, err := UnlockItem(lock, wrapped, "node2", "item pw"); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("other node: %v", err)
	}
	// A fresh salt each time.
	lock2, _, _ := LockItem(k, "node1", "item pw", p)
	if bytes.Equal(lock, lock2) {
		t.Error("salt reused")
	}
	// A hostile lock: weak parameters refused before deriving; garbage
	// is corrupt; an unknown algorithm is a version error.
	kdfLimits.minMemKiB, kdfLimits.minCostKiB = 19<<10, 38<<10
	if _, err := UnlockItem(lock, wrapped, "node1", "item pw"); !errors.Is(err, ErrKDFParams) {
		t.Errorf("weak lock: %v", err)
	}
	other := cborOf(func(m *cborMap) {
		m.addText("alg", "scrypt")
		m.addBytes("salt", seq(0, 16))
		m.addUint("m", 1)
		m.addUint("t", 1)
		m.addUint("p", 1)
	})
	if _, err := UnlockItem(other, wrapped, "node1", "pw"); !errors.Is(err, ErrVersion) {
		t.Errorf("scrypt lock: %v", err)
	}
	for _, l := range [][]byte{nil, {0xa0}, lock[:len(lock)-1], append(bytes.Clone(lock), 0), make([]byte, 300)} {
		if _, err := UnlockItem(l, wrapped, "node1", "pw"); !errors.Is(err, ErrCorrupt) {
			t.Errorf("lock %x: %v", l, err)
		}
	}
	for _, w := range [][]byte{nil, wrapped[:10]} {
		if _, err := UnlockItem(lock, w, "node1", "pw"); !errors.Is(err, ErrCorrupt) {
			t.Errorf("wrapped %x: %v", w, err)
		}
	}
}

func TestSealedBox(t *testing.T) {
	_, u, _ := newTestAccount(t, "pw")
	_, other, _ := newTestAccount(t, "pw")
	pt := []byte("file drop: name and cap")
	box, err := SealTo(u.PublicKey(), pt, "drop|d1|u1")
	if err != nil {
		t.Fatal(err)
	}
	if len(box) != len(pt)+BoxOverhead {
		t.Errorf("box overhead %d", len(box)-len(pt))
	}
	if got, err := u.OpenSealed(box, "drop|d1|u1"); err != nil || !bytes.Equal(got, pt) {
		t.Fatal(err)
	}
	if _, err := other.OpenSealed(box, "drop|d1|u1"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("wrong recipient: %v", err)
	}
	if _, err := u.OpenSealed(box, "drop|d1|u2"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("wrong context: %v", err)
	}
	box2, _ := SealTo(u.PublicKey(), pt, "drop|d1|u1")
	if bytes.Equal(box[1:33], box2[1:33]) {
		t.Error("ephemeral key reused")
	}
	for i := range box {
		d := bytes.Clone(box)
		d[i] ^= 0x10
		if _, err := u.OpenSealed(d, "drop|d1|u1"); err == nil {
			t.Fatalf("byte %d changed: opened", i)
		}
	}
	// Low-order ephemeral key in a box: refused, no panic.
	zero := append([]byte{1}, make([]byte, 32+16)...)
	if _, err := u.OpenSealed(zero, ""); !errors.Is(err, ErrCorrupt) {
		t.Errorf("zero ephemeral: %v", err)
	}
	for _, d := range [][]byte{nil, {1}, box[:BoxOverhead-1], make([]byte, BoxOverhead+MaxMetaSize+1)} {
		if _, err := u.OpenSealed(d, ""); err == nil {
			t.Errorf("box %d bytes opened", len(d))
		}
	}
	d := bytes.Clone(box)
	d[0] = 2
	if _, err := u.OpenSealed(d, "drop|d1|u1"); !errors.Is(err, ErrVersion) {
		t.Errorf("version 2: %v", err)
	}
	// Bad recipients.
	for _, pub := range [][]byte{nil, make([]byte, 31), make([]byte, 32), append([]byte{1}, make([]byte, 31)...)} {
		if _, err := SealTo(pub, pt, ""); !errors.Is(err, ErrPublicKey) {
			t.Errorf("recipient %x: %v", pub, err)
		}
	}
	if _, err := SealTo(u.PublicKey(), make([]byte, MaxMetaSize+1), ""); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversize: %v", err)
	}
	// Empty plaintext.
	e, _ := SealTo(u.PublicKey(), nil, "")
	if got, err := u.OpenSealed(e, ""); err != nil || len(got) != 0 {
		t.Error(err)
	}
}

func TestSecretsNotPrinted(t *testing.T) {
	_, u, rk := newTestAccount(t, "pw")
	k := NewKey()
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v", u, u, u), fmt.Sprintf("%#v", rk), fmt.Sprint(k.MetaKey())} {
		for _, secret := range [][]byte{k[:], u.root[:], u.Escrow[:], u.RootFolder[:], u.private[:]} {
			if strings.Contains(s, fmt.Sprint(secret[:4])) || strings.Contains(s, fmt.Sprintf("%x", secret[:4])) {
				t.Errorf("secret printed: %s", s)
			}
		}
	}
	u.Zero()
	if u.root != (Key{}) || u.private != (Key{}) || u.Escrow != (Key{}) || u.RootFolder != (Key{}) {
		t.Error("Zero")
	}
}

func TestRandomFailurePanics(t *testing.T) {
	// Only a test's reader can fail; the package then refuses to continue
	// rather than produce a weak key.
	old := randReader
	randReader = failingReader{}
	defer func() {
		randReader = old
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	NewKey()
}

// TestDefaultCost measures one derivation at the default cost (once per
// run; the vector test does the other one).
func TestDefaultCost(t *testing.T) {
	if testing.Short() {
		t.Skip("costly")
	}
	start := time.Now()
	if _, err := passwordKey("pw", seq(0, 16), DefaultKDFParams); err != nil {
		t.Fatal(err)
	}
	t.Logf("Argon2id 64 MiB, 3 passes: %v", time.Since(start))
}
