package vault

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/communitycube/cube/shared/cap"
)

// Fuzz targets: hostile input never panics, decoders accept only canonical
// encodings, and authenticated decryption accepts nothing but the original.

func FuzzParseRecoveryKey(f *testing.F) {
	rk := RecoveryKey(seq(9, 32))
	for _, s := range []string{rk.String(), strings.ToLower(rk.String()), "", "0000", "U", "\u0417", strings.Repeat("-", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseRecoveryKey(s)
		if err != nil {
			if !errors.Is(err, ErrRecoveryKeyFormat) {
				t.Fatalf("error not ErrRecoveryKeyFormat: %v", err)
			}
			return
		}
		if k2, err := ParseRecoveryKey(k.String()); err != nil || k2 != k {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

func FuzzUnwrap(f *testing.F) {
	kek, k := key(1), key(2)
	var w []byte
	fixedRandom(f, func() { w = Wrap(kek, k, NodeKeySlot("n")) }, seq(3, 24))
	f.Add(w, "n")
	f.Add(w[:40], "n")
	f.Add([]byte{2}, "")
	f.Fuzz(func(t *testing.T, b []byte, id string) {
		got, err := Unwrap(kek, b, NodeKeySlot(id))
		if err == nil && (got != k || !bytes.Equal(b, w) || id != "n") {
			t.Fatal("forged wrapped key accepted")
		}
		if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
			t.Fatal(err)
		}
	})
}

func FuzzOpenMeta(f *testing.F) {
	mk := key(4).MetaKey()
	pt := []byte("metadata")
	var s []byte
	fixedRandom(f, func() { s, _ = SealMeta(mk, VersionSlot("n", "v"), pt) }, seq(5, 24))
	f.Add(s, "n", "v")
	f.Add(s[:30], "n", "v")
	f.Add([]byte{}, "", "")
	f.Fuzz(func(t *testing.T, b []byte, node, version string) {
		got, err := OpenMeta(mk, VersionSlot(node, version), b)
		if err == nil && (!bytes.Equal(got, pt) || !bytes.Equal(b, s) || node != "n" || version != "v") {
			t.Fatal("forged metadata accepted")
		}
		if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
			t.Fatal(err)
		}
	})
}

func FuzzOpenSealed(f *testing.F) {
	u := &Unlocked{private: key(6), public: x25519Public(key(6))}
	pt := []byte("drop")
	var box []byte
	fixedRandom(f, func() { box, _ = SealTo(u.public, pt, "c") }, seq(7, 32))
	f.Add(box, "c")
	f.Add(box[:40], "c")
	f.Fuzz(func(t *testing.T, b []byte, context string) {
		got, err := u.OpenSealed(b, context)
		if err == nil && (!bytes.Equal(got, pt) || !bytes.Equal(b, box) || context != "c") {
			t.Fatal("forged box accepted")
		}
		if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
			t.Fatal(err)
		}
	})
}

// FuzzUnmarshalMeta feeds every input to the three metadata decoders.
func FuzzUnmarshalMeta(f *testing.F) {
	chk := cap.CHK{Key: [16]byte(seq(1, 16)), UEBHash: [32]byte(seq(2, 32)), K: 3, N: 10, Size: 7}.String()
	now := time.Unix(1700000000, 5)
	for _, m := range []interface{ Marshal() ([]byte, error) }{
		&FolderMeta{Name: "Photos", Created: now, Modified: now},
		&FileMeta{Name: "a.pdf", Size: 7, Modified: time.Unix(-5, 0)},
		&VersionMeta{Cap: chk, MIME: "application/pdf", Modified: now, Thumbnail: "URI:LIT:", Scrubbed: []string{"exif"}},
	} {
		b, err := m.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(m interface{ Marshal() ([]byte, error) }, err error) {
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
					t.Fatalf("error: %v", err)
				}
				return
			}
			again, err := m.Marshal()
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("accepted a non-canonical encoding: %v", err)
			}
		}
		fm, err := UnmarshalFolderMeta(b)
		check(fm, err)
		fi, err := UnmarshalFileMeta(b)
		check(fi, err)
		vm, err := UnmarshalVersionMeta(b)
		check(vm, err)
	})
}

func FuzzParseBundle(f *testing.F) {
	old := kdfLimits
	kdfLimits.minMemKiB, kdfLimits.minCostKiB = 8, 8
	b, _, _, err := NewAccount("pw", KDFParams{8, 1, 1})
	kdfLimits = old
	if err != nil {
		f.Fatal(err)
	}
	data, _ := b.MarshalBinary()
	f.Add(data)
	f.Add(data[:100])
	f.Fuzz(func(t *testing.T, d []byte) {
		b, err := ParseBundle(d)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
				t.Fatalf("error: %v", err)
			}
			return
		}
		again, err := b.MarshalBinary()
		if err != nil || !bytes.Equal(again, d) {
			t.Fatalf("accepted a non-canonical bundle: %v", err)
		}
	})
}

// FuzzLock fuzzes the lock decoder (without deriving: UnlockItem with
// accepted parameters would run Argon2id on every input).
func FuzzLock(f *testing.F) {
	f.Add(storedKDF{DefaultKDFParams, seq(0, 16)}.cbor().encode())
	f.Add([]byte{0xa5})
	f.Fuzz(func(t *testing.T, d []byte) {
		r := &cborReader{b: d}
		s, err := readKDF(r)
		if err == nil {
			err = r.end()
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
				t.Fatalf("error: %v", err)
			}
			return
		}
		if !bytes.Equal(s.cbor().encode(), d) {
			t.Fatal("accepted a non-canonical lock")
		}
	})
}
