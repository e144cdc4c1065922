package scrub

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand"
	"sync/atomic"
	"testing"
)

// counting counts the bytes read through it.
type counting struct {
	r     io.ReaderAt
	n     atomic.Int64
	calls atomic.Int64
}

func (c *counting) ReadAt(b []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(b, off)
	c.n.Add(int64(n))
	c.calls.Add(1)
	return n, err
}

// fabricated is a ReaderAt over pieces, some of them zeros that take no memory.
type fabricated struct {
	pieces []piece
	size   int64
}

type piece struct {
	off   int64
	data  []byte // nil: zeros
	zeros int64
}

func (f *fabricated) add(data []byte, zeros int64) {
	f.pieces = append(f.pieces, piece{off: f.size, data: data, zeros: zeros})
	if data != nil {
		f.size += int64(len(data))
	} else {
		f.size += zeros
	}
}

func (f *fabricated) ReadAt(b []byte, off int64) (int, error) {
	if off >= f.size {
		return 0, io.EOF
	}
	n := 0
	for _, p := range f.pieces {
		l := p.zeros
		if p.data != nil {
			l = int64(len(p.data))
		}
		if off+int64(n) >= p.off+l || n == len(b) {
			continue
		}
		i := off + int64(n) - p.off
		if i < 0 {
			break
		}
		k := int(min(int64(len(b)-n), l-i))
		if p.data != nil {
			copy(b[n:], p.data[i:i+int64(k)])
		} else {
			clear(b[n : n+k])
		}
		n += k
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// fixtureMoov returns the moov box of the MP4 fixture (with its udta, meta, XMP).
func fixtureMoov(t testing.TB) (ftyp, moov []byte) {
	b := readFixture(t, "mp4-ffmpeg.mp4")
	for off := 0; off+8 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[off:]))
		switch string(b[off+4 : off+8]) {
		case "ftyp":
			ftyp = b[off : off+n]
		case "moov":
			moov = b[off : off+n]
		}
		off += n
	}
	if ftyp == nil || moov == nil {
		t.Fatal("fixture without ftyp or moov")
	}
	return ftyp, moov
}

// TestLargeMP4 plans 4 GiB movies (64-bit mdat size, and mdat running to the end of the
// file) while reading a few KiB.
func TestLargeMP4(t *testing.T) {
	ftyp, moov := fixtureMoov(t)
	const media = 4<<30 + 12345
	for _, layout := range []string{"mdat64-then-moov", "moov-then-mdat0"} {
		t.Run(layout, func(t *testing.T) {
			f := &fabricated{}
			f.add(ftyp, 0)
			mdat := make([]byte, 16)
			if layout == "mdat64-then-moov" {
				binary.BigEndian.PutUint32(mdat, 1)
				copy(mdat[4:], "mdat")
				binary.BigEndian.PutUint64(mdat[8:], media+16)
				f.add(mdat, 0)
				f.add(nil, media)
				f.add(moov, 0)
			} else {
				f.add(moov, 0)
				mdat = mdat[:8]
				copy(mdat[4:], "mdat") // size 0: to the end of the file
				f.add(mdat, 0)
				f.add(nil, media)
			}
			c := &counting{r: f}
			p, err := Scrub(c, f.size, "big.mp4")
			if err != nil {
				t.Fatal(err)
			}
			checkParts(t, p, f.size)
			if p.Size() != f.size || len(p.Removed) == 0 {
				t.Fatalf("size %d (want %d), removed %q", p.Size(), f.size, p.Removed)
			}
			t.Logf("read %d bytes in %d calls; %d parts; removed %q", c.n.Load(), c.calls.Load(), len(p.Parts), p.Removed)
			if c.n.Load() > 4<<20 {
				t.Fatalf("read %d bytes to plan", c.n.Load())
			}
			// The end of the output is the moov, scrubbed (or the media's end).
			tail := outputRange(t, p, f, p.Size()-int64(len(moov)), len(moov))
			if layout == "mdat64-then-moov" && (bytes.Contains(tail, []byte("SCRUBME")) || string(tail[4:8]) != "moov") {
				t.Fatalf("scrubbed moov still holds metadata")
			}
		})
	}
}

// outputRange reads n output bytes at off without streaming what comes before.
func outputRange(t *testing.T, p *Plan, src io.ReaderAt, off int64, n int) []byte {
	out := make([]byte, 0, n)
	pos := int64(0)
	for _, pt := range p.Parts {
		size := pt.size()
		if pos+size > off && len(out) < n {
			i := max(off-pos, 0)
			k := min(size-i, int64(n-len(out)))
			if pt.Data != nil {
				out = append(out, pt.Data[i:i+k]...)
			} else {
				b := make([]byte, k)
				if _, err := src.ReadAt(b, pt.Off+i); err != nil && err != io.EOF {
					t.Fatal(err)
				}
				out = append(out, b...)
			}
		}
		pos += size
	}
	return out
}

// FuzzScrub: no panic, no other error than *FormatError, bounded reads, parts inside the
// input, and a plan that streams exactly Size bytes.
func FuzzScrub(f *testing.F) {
	for _, fx := range fixtures {
		f.Add(readFixture(f, fx.name), fx.name)
	}
	f.Add([]byte("%PDF-1.4\n1 0 obj<</Type/Metadata/Length 3>>stream\nabc\nendstream endobj\nxref\n0 2\n0000000000 65535 f \n0000000009 00000 n \ntrailer<</Size 2/Info 1 0 R/Prev 60>>\nstartxref\n60\n%%EOF"), "x.pdf")
	f.Add([]byte("\x00\x00\x00\x10moov\x00\x00\x00\x08udta"), "x.mov")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		c := &counting{r: bytes.NewReader(data)}
		p, err := Scrub(c, int64(len(data)), name)
		if limit := 64*int64(len(data)) + 2<<20; c.n.Load() > limit {
			t.Fatalf("read %d bytes of a %d-byte input", c.n.Load(), len(data))
		}
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("%T %v", err, err)
			}
			return
		}
		checkParts(t, p, int64(len(data)))
		n, err := io.Copy(io.Discard, p.Reader(bytes.NewReader(data)))
		if err != nil || n != p.Size() {
			t.Fatalf("streamed %d of %d: %v", n, p.Size(), err)
		}
	})
}

// BenchmarkMP4 plans and streams a 100 MB movie (the fixture's moov after 100 MB of
// media).
func BenchmarkMP4(b *testing.B) {
	ftyp, moov := fixtureMoov(b)
	media := make([]byte, 100<<20)
	rand.New(rand.NewSource(1)).Read(media)
	var file []byte
	file = append(file, ftyp...)
	file = binary.BigEndian.AppendUint32(file, uint32(len(media)+8))
	file = append(file, "mdat"...)
	file = append(file, media...)
	file = append(file, moov...)
	benchScrub(b, file, "big.mp4")
}

// BenchmarkJPEG plans and streams a 20 MB JPEG: the fixture's segments, 20 MB of
// entropy-coded data (random, with 0xFF stuffed), EOI.
func BenchmarkJPEG(b *testing.B) {
	in := readFixture(b, "jpeg-rotated.jpg")
	sos := bytes.Index(in, []byte{0xFF, 0xDA})
	n := int(binary.BigEndian.Uint16(in[sos+2:]))
	file := append([]byte(nil), in[:sos+2+n]...)
	scan := make([]byte, 20<<20)
	rand.New(rand.NewSource(1)).Read(scan)
	for i := 0; i < len(scan)-1; i++ {
		if scan[i] == 0xFF {
			scan[i+1] = 0
		}
	}
	scan[len(scan)-1] = 0
	file = append(file, scan...)
	file = append(file, 0xFF, 0xD9)
	benchScrub(b, file, "big.jpg")
}

func benchScrub(b *testing.B, file []byte, name string) {
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		r := bytes.NewReader(file)
		p, err := Scrub(r, int64(len(file)), name)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, p.Reader(r)); err != nil {
			b.Fatal(err)
		}
	}
}
