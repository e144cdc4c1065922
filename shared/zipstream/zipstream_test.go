package zipstream

import (
	"archive/zip"
	"bytes"
	"hash/crc32"
	"io"
	"sort"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	mod := time.Date(2024, 5, 6, 7, 8, 10, 0, time.UTC)
	files := map[string]string{
		"a.txt":            "hello",
		"photos/été 🌞.jpg": "\xff\xd8jpeg bytes",
		"empty.bin":        "",
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fw, err := w.Create(n, mod)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(fw, files[n])
	}
	if err := w.Mkdir("photos/empty", mod); err != nil {
		t.Fatal(err)
	}
	// A duplicate and an unsafe name.
	fw, _ := w.Create("a.txt", mod)
	io.WriteString(fw, "second")
	fw, _ = w.Create("../../etc/passwd", mod)
	io.WriteString(fw, "x")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files["a (2).txt"] = "second"
	files["etc/passwd"] = "x"

	r, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range r.File {
		seen[f.Name] = true
		if f.Method != zip.Store {
			t.Errorf("%s: method %d", f.Name, f.Method)
		}
		if f.Name == "photos/empty/" {
			if !f.Mode().IsDir() {
				t.Errorf("directory entry mode %v", f.Mode())
			}
			continue
		}
		if f.Flags&0x8 == 0 {
			t.Errorf("%s: no data descriptor flag", f.Name)
		}
		if !f.Modified.Equal(mod) {
			t.Errorf("%s: modified %v", f.Name, f.Modified)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc) // checks the CRC-32
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if string(b) != files[f.Name] {
			t.Errorf("%s: got %q", f.Name, b)
		}
	}
	for n := range files {
		if !seen[n] {
			t.Errorf("%s missing (have %v)", n, seen)
		}
	}
	if !seen["photos/empty/"] {
		t.Error("directory entry missing")
	}
	for _, f := range r.File {
		if f.Name == "photos/été 🌞.jpg" && f.NonUTF8 {
			t.Error("UTF-8 name not flagged")
		}
	}
}

// sparse records what is written, keeping long runs of zeros as lengths.
type sparse struct {
	parts []part
	size  int64
}

type part struct {
	off   int64
	data  []byte // nil: zeros
	zeros int64
}

func allZero(p []byte) bool {
	for _, b := range p {
		if b != 0 {
			return false
		}
	}
	return true
}

func (s *sparse) Write(p []byte) (int, error) {
	if len(p) >= 4096 && allZero(p) {
		if n := len(s.parts); n > 0 && s.parts[n-1].data == nil {
			s.parts[n-1].zeros += int64(len(p))
		} else {
			s.parts = append(s.parts, part{off: s.size, zeros: int64(len(p))})
		}
	} else {
		s.parts = append(s.parts, part{off: s.size, data: append([]byte(nil), p...)})
	}
	s.size += int64(len(p))
	return len(p), nil
}

func (s *sparse) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	i := sort.Search(len(s.parts), func(i int) bool { return s.parts[i].off+s.partLen(i) > off })
	for ; i < len(s.parts) && n < len(p); i++ {
		pt := s.parts[i]
		in := off + int64(n) - pt.off
		var k int
		if pt.data != nil {
			k = copy(p[n:], pt.data[in:])
		} else {
			k = int(min(int64(len(p)-n), pt.zeros-in))
			clear(p[n : n+k])
		}
		n += k
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (s *sparse) partLen(i int) int64 {
	if s.parts[i].data != nil {
		return int64(len(s.parts[i].data))
	}
	return s.parts[i].zeros
}

// TestZip64 stores a file of 4 GiB + 1 MiB of zeros (never held in memory)
// and a small file after it, whose offset needs ZIP64 too.
func TestZip64(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads 4 GiB")
	}
	const big = 4<<30 + 1<<20
	s := &sparse{}
	w := NewWriter(s)
	fw, err := w.Create("big.bin", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, 1<<20)
	for n := int64(0); n < big; n += int64(len(zero)) {
		if _, err := fw.Write(zero); err != nil {
			t.Fatal(err)
		}
	}
	fw, _ = w.Create("after.txt", time.Now())
	io.WriteString(fw, "after")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := zip.NewReader(s, s.size)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.File) != 2 {
		t.Fatalf("%d entries", len(r.File))
	}
	f := r.File[0]
	if f.UncompressedSize64 != big || f.CompressedSize64 != big {
		t.Fatalf("sizes %d %d", f.UncompressedSize64, f.CompressedSize64)
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	h := crc32.NewIEEE()
	n, err := io.Copy(h, rc) // the reader checks the CRC at EOF
	if err != nil || n != big {
		t.Fatalf("read %d: %v", n, err)
	}
	rc, err = r.File[1].Open()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	if string(b) != "after" {
		t.Fatalf("after: %q", b)
	}
}
