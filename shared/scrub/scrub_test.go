package scrub

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image"
	"image/gif"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"
)

// Fixtures are written by real tools (testdata/make-fixtures.sh). Every planted text
// contains "SCRUBME", every planted date is 2011-11-11.

type fixture struct {
	name   string
	format string
	orient int // EXIF orientation the output must keep (0: none)
}

var fixtures = []fixture{
	{"jpeg-rotated.jpg", JPEG, 6},
	{"jpeg-progressive.jpg", JPEG, 0},
	{"png-rotated.png", PNG, 8},
	{"webp-lossy.webp", WebP, 3},
	{"webp-lossless.webp", WebP, 0},
	{"gif-animated.gif", GIF, 0},
	{"pdf-gs.pdf", PDF, 0},
	{"pdf-incremental.pdf", PDF, 0},
	{"pdf-objstm.pdf", PDF, 0},
	{"pdf-libreoffice.pdf", PDF, 0},
	{"mp4-ffmpeg.mp4", MP4, 0},
	{"mov-apple.mov", MOV, 0},
	{"odf-text.odt", ODF, 0},
	{"odf-sheet.ods", ODF, 0},
	{"odf-slides.odp", ODF, 0},
	{"ooxml-text.docx", OOXML, 0},
	{"ooxml-sheet.xlsx", OOXML, 0},
	{"ooxml-slides.pptx", OOXML, 0},
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// scrubBytes plans and streams, checking that the plan is self-consistent.
func scrubBytes(t testing.TB, in []byte, name string) (*Plan, []byte) {
	t.Helper()
	p, err := Scrub(bytes.NewReader(in), int64(len(in)), name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	checkParts(t, p, int64(len(in)))
	out, err := io.ReadAll(p.Reader(bytes.NewReader(in)))
	if err != nil {
		t.Fatalf("%s: read: %v", name, err)
	}
	if int64(len(out)) != p.Size() {
		t.Fatalf("%s: streamed %d bytes, Size says %d", name, len(out), p.Size())
	}
	var w bytes.Buffer
	if _, err := io.Copy(&w, p.Reader(bytes.NewReader(in))); err != nil || !bytes.Equal(w.Bytes(), out) {
		t.Fatalf("%s: WriteTo differs from Read (%v)", name, err)
	}
	return p, out
}

func checkParts(t testing.TB, p *Plan, size int64) {
	t.Helper()
	for i, pt := range p.Parts {
		if pt.Data == nil && (pt.Off < 0 || pt.Len < 0 || pt.Off > size || pt.Len > size-pt.Off) {
			t.Fatalf("part %d [%d,+%d) outside the input of %d bytes", i, pt.Off, pt.Len, size)
		}
	}
}

// markers are the planted strings and dates, as bytes, UTF-16 and hex (PDF strings).
func markers() [][]byte {
	var m [][]byte
	for _, s := range []string{"SCRUBME", "2011:11:11", "2011-11-11", "D:20111111"} {
		m = append(m, []byte(s))
		var u []byte
		for _, r := range utf16.Encode([]rune(s)) {
			u = binary.BigEndian.AppendUint16(u, r)
		}
		m = append(m, u, []byte(strings.ToUpper(hex.EncodeToString([]byte(s)))),
			[]byte(hex.EncodeToString([]byte(s))), []byte(strings.ToUpper(hex.EncodeToString(u))))
	}
	return m
}

// expand returns b and every decompressed thing inside it: zip entries, zlib streams
// (PDF streams, PNG zTXt/iTXt), so that markers cannot hide in compressed data.
func expand(t *testing.T, format string, b []byte) [][]byte {
	out := [][]byte{b}
	if format == ODF || format == OOXML {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("archive/zip: %v", err)
		}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			d, err := io.ReadAll(rc) // checks the CRC
			if err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			out = append(out, d)
		}
		return out
	}
	// Any zlib stream: try at every zlib header (0x78 xx).
	for i := 0; i+2 < len(b); i++ {
		if b[i] != 0x78 || (uint16(b[i])<<8|uint16(b[i+1]))%31 != 0 {
			continue
		}
		zr, err := zlib.NewReader(bytes.NewReader(b[i:]))
		if err != nil {
			continue
		}
		d, _ := io.ReadAll(io.LimitReader(zr, 16<<20))
		if len(d) > 0 {
			out = append(out, d)
		}
	}
	return out
}

func TestFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			in := readFixture(t, fx.name)
			if !containsMarker(expand(t, fx.format, in)) {
				t.Fatalf("fixture has no planted marker: regenerate it")
			}
			p, out := scrubBytes(t, in, fx.name)
			if p.Format != fx.format {
				t.Fatalf("format %q, want %q", p.Format, fx.format)
			}
			if len(p.Removed) == 0 {
				t.Fatalf("nothing removed")
			}
			t.Logf("%d -> %d bytes; removed %q; left %q", len(in), len(out), p.Removed, p.Left)
			for _, d := range expand(t, fx.format, out) {
				for _, m := range markers() {
					if i := bytes.Index(d, m); i >= 0 {
						t.Errorf("marker %q left: %q", m, d[max(0, i-60):min(len(d), i+60)])
					}
				}
			}
			switch fx.format {
			case JPEG, PNG, GIF:
				samePixels(t, in, out, fx.format)
			case WebP:
				checkWebP(t, in, out)
			case PDF:
				checkPDF(t, out)
			case MP4, MOV:
				checkBMFF(t, in, out)
			case ODF, OOXML:
				checkZip(t, in, out, fx.format)
			}
			if o := outputOrientation(t, fx.format, out); o != fx.orient {
				t.Errorf("orientation %d, want %d", o, fx.orient)
			}
			// Scrubbing twice changes nothing more.
			p2, out2 := scrubBytes(t, out, fx.name)
			if !bytes.Equal(out, out2) {
				t.Errorf("a second scrub changed the output again (removed %q)", p2.Removed)
			}
			exiftoolCheck(t, fx.name, in, out)
		})
	}
}

func containsMarker(ds [][]byte) bool {
	for _, d := range ds {
		for _, m := range markers() {
			if bytes.Contains(d, m) {
				return true
			}
		}
	}
	return false
}

func samePixels(t *testing.T, in, out []byte, format string) {
	t.Helper()
	if format == GIF {
		a, err1 := gif.DecodeAll(bytes.NewReader(in))
		b, err2 := gif.DecodeAll(bytes.NewReader(out))
		if err1 != nil || err2 != nil {
			t.Fatalf("decode: %v %v", err1, err2)
		}
		if len(a.Image) != len(b.Image) || a.LoopCount != b.LoopCount {
			t.Fatalf("frames %d/%d loop %d/%d", len(a.Image), len(b.Image), a.LoopCount, b.LoopCount)
		}
		for i := range a.Image {
			sameImage(t, a.Image[i], b.Image[i])
		}
		return
	}
	a, _, err1 := image.Decode(bytes.NewReader(in))
	b, _, err2 := image.Decode(bytes.NewReader(out))
	if err1 != nil || err2 != nil {
		t.Fatalf("decode: %v %v", err1, err2)
	}
	sameImage(t, a, b)
}

func sameImage(t *testing.T, a, b image.Image) {
	t.Helper()
	if a.Bounds() != b.Bounds() {
		t.Fatalf("bounds %v vs %v", a.Bounds(), b.Bounds())
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				t.Fatalf("pixel %d,%d differs", x, y)
			}
		}
	}
}

// riffChunks lists the chunks of a WebP, checking sizes.
func riffChunks(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		t.Fatalf("not a WebP")
	}
	if n := int(binary.LittleEndian.Uint32(b[4:])); n != len(b)-8 {
		t.Fatalf("RIFF size %d, file %d", n, len(b))
	}
	m := map[string][]byte{}
	for off := 12; off < len(b); {
		if off+8 > len(b) {
			t.Fatalf("truncated chunk at %d", off)
		}
		n := int(binary.LittleEndian.Uint32(b[off+4:]))
		if off+8+n > len(b) {
			t.Fatalf("chunk %q overruns", b[off:off+4])
		}
		m[string(b[off:off+4])] = b[off+8 : off+8+n]
		off += 8 + n + n&1
	}
	return m
}

func checkWebP(t *testing.T, in, out []byte) {
	a, b := riffChunks(t, in), riffChunks(t, out)
	for _, c := range []string{"VP8 ", "VP8L", "ALPH", "ICCP", "ANIM"} {
		if !bytes.Equal(a[c], b[c]) {
			t.Errorf("chunk %q changed", c)
		}
	}
	if _, ok := b["XMP "]; ok {
		t.Errorf("XMP chunk left")
	}
	if x, ok := b["VP8X"]; ok {
		_, exif := b["EXIF"]
		if (x[0]&vp8xEXIF != 0) != exif || x[0]&vp8xXMP != 0 {
			t.Errorf("VP8X flags %#x do not match the chunks", x[0])
		}
	}
}

func checkPDF(t *testing.T, out []byte) {
	t.Helper()
	p := &pdf{r: &reader{src: bytes.NewReader(out), size: int64(len(out))}}
	start, err := p.startxref()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.readXrefChain(start); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range p.sections {
		for num, e := range s.entries {
			if e.typ != 1 {
				continue
			}
			l := &lex{b: out[e.f2:min(len(out), int(e.f2)+64)], eof: true}
			a, err1 := l.int()
			g, err2 := l.int()
			kw, err3 := l.token()
			if err1 != nil || err2 != nil || err3 != nil || a != num || g != e.f3 || kw != "obj" {
				t.Errorf("xref entry for object %d points at %q", num, l.b[:min(len(l.b), 20)])
			}
			n++
		}
	}
	if n == 0 {
		t.Errorf("no objects")
	}
	if qpdf, err := exec.LookPath("qpdf"); err == nil {
		f := writeTemp(t, "out.pdf", out)
		if b, err := exec.Command(qpdf, "--check", f).CombinedOutput(); err != nil {
			t.Errorf("qpdf --check: %v\n%s", err, b)
		}
	}
}

type bmffBox struct {
	typ      string
	off, end int64
}

// walkBoxes lists the boxes of a container, checking that they tile it exactly.
func walkBoxes(t *testing.T, b []byte, off, end int64) []bmffBox {
	t.Helper()
	var out []bmffBox
	for off < end {
		if end-off < 8 {
			t.Fatalf("stray bytes at %d", off)
		}
		size := int64(binary.BigEndian.Uint32(b[off:]))
		switch size {
		case 0:
			size = end - off
		case 1:
			size = int64(binary.BigEndian.Uint64(b[off+8:]))
		}
		if size < 8 || off+size > end {
			t.Fatalf("box %q at %d: size %d overruns %d", b[off+4:off+8], off, size, end)
		}
		out = append(out, bmffBox{string(b[off+4 : off+8]), off, off + size})
		off += size
	}
	return out
}

func checkBMFF(t *testing.T, in, out []byte) {
	t.Helper()
	if len(in) != len(out) {
		t.Fatalf("size changed: %d -> %d (nothing may move)", len(in), len(out))
	}
	var walk func(off, end int64, depth int)
	walk = func(off, end int64, depth int) {
		a, b := walkBoxes(t, in, off, end), walkBoxes(t, out, off, end)
		if len(a) != len(b) {
			t.Fatalf("box count changed")
		}
		for i := range a {
			if a[i].off != b[i].off || a[i].end != b[i].end {
				t.Fatalf("box %q moved", a[i].typ)
			}
			if a[i].typ != b[i].typ && b[i].typ != "free" {
				t.Fatalf("box %q became %q", a[i].typ, b[i].typ)
			}
			switch b[i].typ {
			case "mdat", "stbl", "stsd", "stco", "co64", "stsz", "stts", "stsc", "avcC", "esds":
				if !bytes.Equal(in[a[i].off:a[i].end], out[b[i].off:b[i].end]) {
					t.Errorf("%q changed", a[i].typ)
				}
			case "moov", "trak", "mdia", "minf":
				walk(b[i].off+8, b[i].end, depth+1)
			}
		}
	}
	walk(0, int64(len(in)), 0)
	if ffmpeg, err := exec.LookPath("ffmpeg"); err == nil {
		hash := func(b []byte) string {
			f := writeTemp(t, "v.mp4", b)
			o, err := exec.Command(ffmpeg, "-loglevel", "error", "-i", f, "-map", "0", "-f", "framemd5", "-").Output()
			if err != nil {
				t.Fatalf("ffmpeg: %v", err)
			}
			return string(o)
		}
		if hash(in) != hash(out) {
			t.Errorf("decoded frames differ")
		}
	}
}

func checkZip(t *testing.T, in, out []byte, format string) {
	t.Helper()
	a, err := zip.NewReader(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := zip.NewReader(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.File) != len(b.File) {
		t.Fatalf("entries %d -> %d", len(a.File), len(b.File))
	}
	names := map[string]bool{}
	for _, f := range a.File {
		names[f.Name] = true
	}
	for _, f := range b.File {
		if !names[f.Name] {
			t.Errorf("new entry %q", f.Name)
		}
	}
	if format == ODF {
		if string(out[30:38]) != "mimetype" || binary.LittleEndian.Uint16(out[8:]) != 0 || binary.LittleEndian.Uint16(out[28:]) != 0 {
			t.Errorf("mimetype is not the first, stored entry without extra field")
		}
	}
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// outputOrientation finds the EXIF orientation of an output image.
func outputOrientation(t *testing.T, format string, b []byte) int {
	t.Helper()
	r := &reader{src: bytes.NewReader(b), size: int64(len(b))}
	switch format {
	case JPEG:
		i := bytes.Index(b, []byte("\xff\xe1"))
		if i < 0 || !bytes.HasPrefix(b[i+4:], []byte("Exif\x00\x00")) {
			return 0
		}
		n := int64(binary.BigEndian.Uint16(b[i+2:]))
		return readEXIF(r, int64(i)+10, n-8).orientation
	case PNG:
		i := bytes.Index(b, []byte("eXIf"))
		if i < 0 {
			return 0
		}
		return readEXIF(r, int64(i)+4, int64(binary.BigEndian.Uint32(b[i-4:]))).orientation
	case WebP:
		c, ok := riffChunks(t, b)["EXIF"]
		if !ok {
			return 0
		}
		i := bytes.Index(b, c)
		return readEXIF(r, int64(i), int64(len(c))).orientation
	}
	return 0
}

// sensitive matches exiftool tag names that say who, where, when or with what.
var sensitive = regexp.MustCompile(`(?i)gps|artist|author|creator|comment|date|make|model|software|keyword|by-line|city|description|title|lastmodifiedby|company|location|producer|subject|usercomment|application|revision|totaltime|editing|generator|encoder|initial|xmp`)

// exiftoolCheck asserts that exiftool finds none of the input's sensitive fields in the
// output (zeroed dates excepted).
func exiftoolCheck(t *testing.T, name string, in, out []byte) {
	et, err := exec.LookPath("exiftool")
	if err != nil {
		t.Log("exiftool not installed: its checks are skipped")
		return
	}
	tags := func(b []byte) map[string]string {
		f := writeTemp(t, name, b)
		o, err := exec.Command(et, "-j", "-a", "-G1", "-ee", f).Output()
		if err != nil {
			t.Fatalf("exiftool: %v", err)
		}
		var v []map[string]any
		if err := json.Unmarshal(o, &v); err != nil || len(v) != 1 {
			t.Fatalf("exiftool output: %v", err)
		}
		m := map[string]string{}
		for k, x := range v[0] {
			g := k[:max(0, strings.IndexByte(k, ':'))]
			switch g {
			case "System", "File", "ExifTool", "ICC-header", "ICC_Profile", "ICC-meas", "ICC-view":
				continue // the file itself, and the colour profile kept on purpose
			}
			// HandlerDescription names a track's type ("VideoHandler"): kept, see the doc.
			if sensitive.MatchString(k[len(g):]) && !strings.HasSuffix(k, ":HandlerDescription") {
				m[k] = strings.TrimSpace(strings.Trim(string(mustJSON(x)), `"`))
			}
		}
		return m
	}
	a, b := tags(in), tags(out)
	for k, v := range b {
		if _, was := a[k]; !was {
			continue
		}
		if v == "" || strings.HasPrefix(v, "0000:00:00") || strings.HasPrefix(v, "1980:01:01 00:00:00") || v == "0" {
			continue
		}
		t.Errorf("exiftool still reports %s = %q", k, v)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestUnknownFormatsPassThrough(t *testing.T) {
	heic := append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 100)...)
	for name, b := range map[string][]byte{
		"notes.txt": []byte("hello, SCRUBME"),
		"empty":     nil,
		"a.heic":    heic,
		"plain.zip": mustZip(t),
	} {
		p, out := scrubBytes(t, b, name)
		if p.Format != "" || p.Changed() && len(b) > 0 || !bytes.Equal(out, b) {
			t.Errorf("%s: format %q, changed %v", name, p.Format, p.Changed())
		}
	}
}

func mustZip(t *testing.T) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	f, _ := w.Create("readme.txt")
	f.Write([]byte("SCRUBME"))
	w.Close()
	return b.Bytes()
}

func TestDetect(t *testing.T) {
	for _, fx := range fixtures {
		want := fx.format
		if want == ODF || want == OOXML {
			want = Zip
		}
		if got := Detect(readFixture(t, fx.name)[:64]); got != want {
			t.Errorf("%s: Detect %q, want %q", fx.name, got, want)
		}
	}
}

// TestTruncated cuts every fixture at many places: never a panic, and either a
// *FormatError or a plan whose parts stay inside the shorter input.
func TestTruncated(t *testing.T) {
	for _, fx := range fixtures {
		in := readFixture(t, fx.name)
		errs := 0
		for i := 1; i < 40; i++ {
			n := len(in) * i / 40
			p, err := Scrub(bytes.NewReader(in[:n]), int64(n), fx.name)
			if err != nil {
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Errorf("%s cut at %d: %T %v", fx.name, n, err, err)
				}
				errs++
				continue
			}
			checkParts(t, p, int64(n))
		}
		// Cut in its structure, every format but JPEG (whose scan data may end early) and
		// formats that then no longer look like themselves reports a malformed file.
		if errs == 0 && fx.format != JPEG {
			t.Errorf("%s: no truncation was reported", fx.name)
		}
	}
}

func TestOverlongLengths(t *testing.T) {
	cases := map[string][]byte{}
	png := readFixture(t, "png-rotated.png")
	b := append([]byte(nil), png...)
	binary.BigEndian.PutUint32(b[8:], 0x7FFFFFF0) // IHDR length
	cases["png.png"] = b
	mp4 := readFixture(t, "mp4-ffmpeg.mp4")
	b = append([]byte(nil), mp4...)
	binary.BigEndian.PutUint32(b[0:], 0xFFFFFFF0) // ftyp size
	cases["mp4.mp4"] = b
	b = append([]byte(nil), mp4...)
	i := bytes.Index(b, []byte("moov"))
	binary.BigEndian.PutUint32(b[i-4:], 1) // 64-bit size
	copy(b[i+4:], []byte{0xFF, 0, 0, 0, 0, 0, 0, 0})
	cases["mp4-64.mp4"] = b
	jpg := readFixture(t, "jpeg-rotated.jpg")
	b = append([]byte(nil), jpg[:2000]...)
	cases["jpeg.jpg"] = b
	gifb := readFixture(t, "gif-animated.gif")
	cases["gif.gif"] = gifb[:len(gifb)/2]
	webp := readFixture(t, "webp-lossy.webp")
	b = append([]byte(nil), webp...)
	binary.LittleEndian.PutUint32(b[16:], 0x7FFFFFF0)
	cases["webp.webp"] = b
	docx := readFixture(t, "ooxml-text.docx")
	b = append([]byte(nil), docx...)
	j := bytes.LastIndex(b, []byte("PK\x05\x06"))
	binary.LittleEndian.PutUint32(b[j+12:], 0x7FFFFFF0) // central directory size
	cases["docx.docx"] = b
	pdfb := readFixture(t, "pdf-gs.pdf")
	b = append([]byte(nil), pdfb...)
	k := bytes.LastIndex(b, []byte("startxref"))
	copy(b[k+10:], "99999999")
	cases["pdf.pdf"] = b
	for name, b := range cases {
		_, err := Scrub(bytes.NewReader(b), int64(len(b)), name)
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("%s: %v, want a FormatError", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
