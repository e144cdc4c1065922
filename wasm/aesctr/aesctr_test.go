//go:build js && wasm

package aesctr

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"testing"

	"github.com/communitycube/cube/shared/chk"
	"github.com/hack-pad/safejs"
)

var testKey = chk.Key{0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c}

func reference(src []byte, off int64) []byte {
	out := make([]byte, len(src))
	chk.NewCTR(testKey, off).XORKeyStream(out, src)
	return out
}

func ciphers(t testing.TB) map[string]*Cipher {
	web := New(testKey)
	if !web.WebCrypto() {
		t.Fatal("crypto.subtle is missing from this JavaScript runtime (Node 20 has it)")
	}
	web.minSubtle = 1 // exercise WebCrypto even for tiny inputs
	return map[string]*Cipher{"webcrypto": web, "go": NewGo(testKey)}
}

func TestMatchesChkNewCTR(t *testing.T) {
	src := make([]byte, 3<<20+17+64)
	rand.NewChaCha8([32]byte{7}).Read(src)
	sizes := []int{0, 1, 15, 16, 17, 31, 33, 4095, 4096, 4097, 65536 + 3, 1 << 20, 3<<20 + 17}
	offs := []int64{0, 1, 7, 15, 16, 17, 4095, 1<<20 + 9, 1<<32 + 5, (1<<32-2)*16 + 5, 1<<40 + 13}
	for name, c := range ciphers(t) {
		for _, size := range sizes {
			for _, off := range offs {
				in := src[:size]
				want := reference(in, off)
				got := make([]byte, size)
				c.XORKeyStreamAt(got, in, off)
				if !bytes.Equal(got, want) {
					t.Fatalf("%s: %d bytes at offset %d differ from chk.NewCTR", name, size, off)
				}
				// In place.
				inplace := bytes.Clone(in)
				c.XORKeyStreamAt(inplace, inplace, off)
				if !bytes.Equal(inplace, want) {
					t.Fatalf("%s: in place, %d bytes at offset %d differ", name, size, off)
				}
			}
		}
		// Decrypting chunk by chunk at arbitrary boundaries gives the
		// plaintext back.
		ct := reference(src, 0)
		rng := rand.New(rand.NewPCG(1, 1))
		for off := 0; off < len(ct); {
			n := min(len(ct)-off, 1+rng.IntN(300000))
			c.XORKeyStreamAt(ct[off:off+n], ct[off:off+n], int64(off))
			off += n
		}
		if !bytes.Equal(ct, src) {
			t.Fatalf("%s: chunked decryption differs", name)
		}
	}
}

// Without crypto.subtle (an insecure context) New falls back to Go.
func TestFallbackWithoutSubtle(t *testing.T) {
	fn, _ := safejs.Global().Get("Function")
	swap, err := fn.New("v", `const old = Object.getOwnPropertyDescriptor(globalThis, "crypto");
		Object.defineProperty(globalThis, "crypto", {value: v, configurable: true, writable: true});
		return () => Object.defineProperty(globalThis, "crypto", old);`)
	if err != nil {
		t.Fatal(err)
	}
	obj, _ := safejs.ValueOf(map[string]any{})
	restore, err := swap.Invoke(obj)
	if err != nil {
		t.Fatal(err)
	}
	c := New(testKey)
	if _, err := restore.Invoke(); err != nil {
		t.Fatal(err)
	}
	if c.WebCrypto() {
		t.Fatal("WebCrypto without crypto.subtle")
	}
	src := bytes.Repeat([]byte("abc"), 100000)
	got := make([]byte, len(src))
	c.XORKeyStreamAt(got, src, 12345)
	if !bytes.Equal(got, reference(src, 12345)) {
		t.Fatal("fallback output differs")
	}
}

// A WebCrypto failure mid-way switches to Go and still gives the right bytes.
func TestFallbackOnFailure(t *testing.T) {
	c := New(testKey)
	c.cryptoKey = safejs.Null() // encrypt will reject
	src := make([]byte, 1<<20)
	got := make([]byte, len(src))
	c.XORKeyStreamAt(got, src, 99)
	if !bytes.Equal(got, reference(src, 99)) || c.WebCrypto() {
		t.Fatal("failure not handled")
	}
}

func benchmark(b *testing.B, c *Cipher, size int) {
	buf := make([]byte, size)
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.XORKeyStreamAt(buf, buf, int64(i)*int64(size)+3)
	}
}

func BenchmarkWebCrypto1MiB(b *testing.B) { benchmark(b, New(testKey), 1<<20) }
func BenchmarkGo1MiB(b *testing.B)        { benchmark(b, NewGo(testKey), 1<<20) }
func BenchmarkWebCrypto64KiB(b *testing.B) {
	benchmark(b, New(testKey), 64<<10)
}
func BenchmarkGo64KiB(b *testing.B) { benchmark(b, NewGo(testKey), 64<<10) }

// SHA256 through WebCrypto equals Go's, for the sizes downloads hash; the
// pure-Go cipher declines (ok false), and so does WebCrypto for tiny inputs.
func TestSHA256(t *testing.T) {
	web := New(testKey)
	prefix := []byte("30:allmydata_crypttext_segment_v1,")
	data := make([]byte, 1<<20+5)
	rand.NewChaCha8([32]byte{9}).Read(data)
	for _, n := range []int{minSubtle, 65536, 1 << 20, 1<<20 + 5} {
		got, ok := web.SHA256(prefix, data[:n])
		want := sha256.Sum256(append(append([]byte(nil), prefix...), data[:n]...))
		if !ok || got != want {
			t.Fatalf("%d bytes: ok %v, %x != %x", n, ok, got, want)
		}
	}
	if _, ok := web.SHA256(prefix, data[:10]); ok {
		t.Fatal("a tiny input went to WebCrypto")
	}
	if _, ok := NewGo(testKey).SHA256(prefix, data); ok {
		t.Fatal("the Go cipher claims a WebCrypto SHA-256")
	}
}
