//go:build js && wasm

package jsfile

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/communitycube/cube/wasm/fetch"
	"github.com/hack-pad/safejs"
)

func blobOf(t *testing.T, data []byte, typ string) safejs.Value {
	t.Helper()
	arr, err := fetch.Bytes(data)
	if err != nil {
		t.Fatal(err)
	}
	ctor, err := safejs.Global().Get("Blob")
	if err != nil || ctor.IsUndefined() {
		t.Skip("no Blob in this JavaScript runtime")
	}
	opts, _ := safejs.ValueOf(map[string]any{"type": typ})
	b, err := ctor.New([]any{arr}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// counting wraps a blob so that the test can count slice calls (one per
// promise round trip).
func counting(t *testing.T, blob safejs.Value) (safejs.Value, func() int) {
	fn, err := safejs.Global().Get("Function")
	if err != nil {
		t.Fatal(err)
	}
	mk, err := fn.New("b", `const w = {size: b.size, type: b.type, calls: 0,
		slice(a, e) { w.calls++; return b.slice(a, e); }}; return w;`)
	if err != nil {
		t.Fatal(err)
	}
	w, err := mk.Invoke(blob)
	if err != nil {
		t.Fatal(err)
	}
	return w, func() int {
		v, _ := w.Get("calls")
		n, _ := v.Int()
		return n
	}
}

func TestReadAtMatches(t *testing.T) {
	data := make([]byte, 3<<20+17)
	rand.NewChaCha8([32]byte{1}).Read(data)
	f, err := New(blobOf(t, data, "application/x-test"))
	if err != nil {
		t.Fatal(err)
	}
	f.SetWindow(1 << 20)
	if f.Size() != int64(len(data)) || f.Type() != "application/x-test" || f.Name() != "" {
		t.Fatalf("size %d type %q name %q", f.Size(), f.Type(), f.Name())
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200; i++ {
		off := rng.Int64N(int64(len(data)) + 10)
		n := rng.IntN(3 << 20)
		if i%3 == 0 {
			n = rng.IntN(70000)
		}
		p := make([]byte, n)
		got, err := f.ReadAt(p, off)
		want := 0
		if off < int64(len(data)) {
			want = min(n, len(data)-int(off))
		}
		if got != want {
			t.Fatalf("ReadAt(%d bytes, %d) = %d, want %d (%v)", n, off, got, want, err)
		}
		if got < n && err != io.EOF {
			t.Fatalf("short read without EOF: %v", err)
		}
		if got == n && err != nil {
			t.Fatalf("full read with error %v", err)
		}
		if !bytes.Equal(p[:got], data[off:off+int64(got)]) {
			t.Fatalf("ReadAt(%d bytes, %d): wrong bytes", n, off)
		}
	}
	// io.SectionReader (what a scrubber or uploader reads through) sees the
	// whole file.
	all, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	if err != nil || !bytes.Equal(all, data) {
		t.Fatalf("ReadAll: %v", err)
	}
}

func TestSequentialReadsAreBatched(t *testing.T) {
	data := make([]byte, 10<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	w, calls := counting(t, blobOf(t, data, ""))
	f, err := New(w)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	buf := make([]byte, 64<<10)
	if _, err := io.CopyBuffer(&out, io.NewSectionReader(f, 0, f.Size()), buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatal("wrong bytes")
	}
	// 160 reads of 64 KiB, 3 windows of 4 MiB.
	if c := calls(); c != 3 {
		t.Fatalf("%d slices for a sequential read of 10 MiB, want 3", c)
	}
	// A read of a window or more goes straight through.
	big := make([]byte, 5<<20)
	if n, err := f.ReadAt(big, 1); n != len(big) || err != nil || !bytes.Equal(big, data[1:1+len(big)]) {
		t.Fatalf("big read: %d %v", n, err)
	}
	if c := calls(); c != 4 {
		t.Fatalf("%d slices after one big read, want 4", c)
	}
}

func TestFileMetadata(t *testing.T) {
	ctor, err := safejs.Global().Get("File")
	if err != nil || ctor.IsUndefined() {
		t.Skip("no File in this JavaScript runtime")
	}
	arr, _ := fetch.Bytes([]byte("hello"))
	opts, _ := safejs.ValueOf(map[string]any{"type": "text/plain", "lastModified": 1700000000123})
	v, err := ctor.New([]any{arr}, "hello.txt", opts)
	if err != nil {
		t.Fatal(err)
	}
	f, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name() != "hello.txt" || f.Type() != "text/plain" || f.Size() != 5 || f.LastModified().UnixMilli() != 1700000000123 {
		t.Fatalf("%q %q %d %v", f.Name(), f.Type(), f.Size(), f.LastModified())
	}
}

func TestUnreadable(t *testing.T) {
	fn, _ := safejs.Global().Get("Function")
	mk, _ := fn.New(`return {size: 100, type: "", slice() { return {arrayBuffer() {
		return Promise.reject(new DOMException("gone", "NotReadableError")); }}; }};`)
	v, err := mk.Invoke()
	if err != nil {
		t.Fatal(err)
	}
	f, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(make([]byte, 10), 0); !errors.Is(err, ErrUnreadable) {
		t.Fatalf("got %v", err)
	}
	if _, err := New(safejs.Null()); err == nil {
		t.Fatal("New(null) succeeded")
	}
}
