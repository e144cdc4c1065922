// Package scrub removes metadata (authors, places, dates, devices, comments) from files
// before they are encrypted and uploaded.
//
// Scrubbing is planned, not performed: Scrub reads the headers and metadata sections it
// needs through an io.ReaderAt and returns a Plan, the output as a list of ranges of the
// input to copy and literal bytes to insert. The output size is then known before a byte
// is written (the upload announces it) and Plan.Reader streams the output without ever
// holding the file in memory. What is removed per format, and what is not, is in
// docs/scrubbing.md.
//
// The package is pure Go and builds for GOOS=js GOARCH=wasm: the browser and the cube
// CLI run the same code.
package scrub

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// Formats, as Plan.Format and Detect name them.
const (
	JPEG  = "jpeg"
	PNG   = "png"
	GIF   = "gif"
	WebP  = "webp"
	PDF   = "pdf"
	MP4   = "mp4"   // ISO base media files: MP4, M4A, 3GP
	MOV   = "mov"   // QuickTime movies (the same box structure)
	ODF   = "odf"   // OpenDocument .odt .ods .odp … (a zip)
	OOXML = "ooxml" // Office Open XML .docx .xlsx .pptx … (a zip)
	Zip   = "zip"   // Detect only: a zip whose kind Scrub decides from its entries
)

// A Part is one piece of a Plan's output: literal bytes when Data is not nil, otherwise
// Len bytes of the input starting at Off.
type Part struct {
	Off, Len int64
	Data     []byte
}

func (p Part) size() int64 {
	if p.Data != nil {
		return int64(len(p.Data))
	}
	return p.Len
}

// A Plan rebuilds a file without its metadata: the output is the concatenation of its
// Parts. A Plan and its Parts' Data are read-only (literals may share memory).
type Plan struct {
	// Format is the detected format (one of the constants above), "" when the format is
	// not handled: the Plan then copies the file unchanged.
	Format string
	Parts  []Part
	// Removed says, for people, what goes: "EXIF GPS position", "XMP", "comment"…
	// Empty when nothing was found to remove.
	Removed []string
	// Left says what metadata was found but left in place, and why (for example a PDF
	// Info dictionary the planner could not rewrite safely).
	Left []string
}

// Size is the output's length in bytes.
func (p *Plan) Size() int64 {
	var n int64
	for _, pt := range p.Parts {
		n += pt.size()
	}
	return n
}

// Changed reports whether the output differs from the input.
func (p *Plan) Changed() bool {
	return len(p.Parts) != 1 || p.Parts[0].Data != nil || p.Parts[0].Off != 0
}

// Reader streams the output, reading the kept ranges from src (the ReaderAt the Plan was
// made from). A src shorter than planned gives io.ErrUnexpectedEOF.
func (p *Plan) Reader(src io.ReaderAt) io.Reader {
	return &planReader{src: src, parts: p.Parts}
}

type planReader struct {
	src   io.ReaderAt
	parts []Part
	done  int64 // bytes of parts[0] already returned
}

func (r *planReader) Read(b []byte) (int, error) {
	for len(r.parts) > 0 && r.done >= r.parts[0].size() {
		r.parts, r.done = r.parts[1:], 0
	}
	if len(r.parts) == 0 {
		return 0, io.EOF
	}
	if len(b) == 0 {
		return 0, nil
	}
	pt := r.parts[0]
	if pt.Data != nil {
		n := copy(b, pt.Data[r.done:])
		r.done += int64(n)
		return n, nil
	}
	if rest := pt.Len - r.done; int64(len(b)) > rest {
		b = b[:rest]
	}
	n, err := r.src.ReadAt(b, pt.Off+r.done)
	r.done += int64(n)
	if n == len(b) {
		return n, nil // a ReaderAt may return io.EOF with a full read at the end
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// WriteTo lets io.Copy move kept ranges in large reads.
func (r *planReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	var buf []byte
	for len(r.parts) > 0 {
		pt := r.parts[0]
		if pt.Data != nil {
			n, err := w.Write(pt.Data[r.done:])
			total += int64(n)
			if err != nil {
				r.done += int64(n)
				return total, err
			}
		} else {
			if buf == nil {
				buf = make([]byte, 256<<10)
			}
			for r.done < pt.Len {
				b := buf
				if rest := pt.Len - r.done; int64(len(b)) > rest {
					b = b[:rest]
				}
				n, err := r.src.ReadAt(b, pt.Off+r.done)
				if n < len(b) {
					if err == nil || err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					return total, err
				}
				m, err := w.Write(b)
				total += int64(m)
				r.done += int64(m)
				if err != nil {
					return total, err
				}
			}
		}
		r.parts, r.done = r.parts[1:], 0
	}
	return total, nil
}

// A FormatError says that a file is not a well-formed file of the format its content
// announced, and where. Callers may then offer to upload it unscrubbed.
type FormatError struct {
	Format string
	Offset int64 // byte offset in the input where the problem was found, -1 if none
	Msg    string
}

func (e *FormatError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("scrub: malformed %s: %s", e.Format, e.Msg)
	}
	return fmt.Sprintf("scrub: malformed %s at byte %d: %s", e.Format, e.Offset, e.Msg)
}

// errTruncated is what the readers below turn a short read into; planners wrap it in a
// FormatError with their format and offset (Scrub does, where they did not).
var errTruncated = errors.New("truncated: a structure runs past the end of the file")

// Detect names the format that the first bytes of a file announce (at least 64 bytes
// are needed to tell them all apart; more does no harm), or "" when none is handled.
// Zip files are Zip: Scrub looks at their entries to tell ODF and OOXML from other zips.
// HEIF/HEIC/AVIF and camera RAW files, though built like MP4 or TIFF, are "".
func Detect(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return JPEG
	case bytes.HasPrefix(head, pngSig):
		return PNG
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return GIF
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return WebP
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return Zip
	case bytes.Contains(head[:min(len(head), 1024)], []byte("%PDF-")):
		// The PDF header may follow some junk (PDF 32000-1, 7.5.2 note; readers accept
		// up to 1 KiB).
		return PDF
	}
	return detectBMFF(head)
}

// Scrub plans the removal of the metadata of the file src of the given size. The format
// is detected from the content; name (a file name or path, may be "") only settles
// QuickTime files that have no ftyp box. Unhandled formats get an identity plan with
// Format "". A file whose structure is broken gives a *FormatError; errors from src are
// returned as they are.
func Scrub(src io.ReaderAt, size int64, name string) (*Plan, error) {
	if size < 0 {
		return nil, errors.New("scrub: negative size")
	}
	head := make([]byte, min(size, 1024))
	if _, err := readFull(src, head, 0); err != nil {
		return nil, err
	}
	f := Detect(head)
	if f == "" && size >= 8 {
		// Old QuickTime files start with a moov, mdat, wide or free box: too common a
		// pattern to claim without the name's say-so.
		switch strings.ToLower(path.Ext(name)) {
		case ".mov", ".qt", ".mp4", ".m4v", ".m4a", ".3gp":
			if isBox(head) {
				f = MOV
			}
		}
	}
	var (
		p   *Plan
		err error
	)
	r := &reader{src: src, size: size}
	switch f {
	case JPEG:
		p, err = scrubJPEG(r)
	case PNG:
		p, err = scrubPNG(r)
	case GIF:
		p, err = scrubGIF(r)
	case WebP:
		p, err = scrubWebP(r)
	case PDF:
		p, err = scrubPDF(r)
	case Zip:
		p, err = scrubZip(r)
	case MP4, MOV:
		p, err = scrubBMFF(r, f)
	}
	if err != nil {
		var fe *FormatError
		if !errors.As(err, &fe) && (errors.Is(err, errTruncated) || errors.Is(err, errSyntax) || errors.Is(err, errMore)) {
			// A read past the end, or PDF syntax, that a planner did not put in context.
			err = &FormatError{Format: f, Offset: -1, Msg: err.Error()}
		}
		return nil, err
	}
	if p == nil {
		p = &Plan{}
		if size > 0 {
			p.Parts = []Part{{Off: 0, Len: size}}
		}
	}
	return p, nil
}

// reader is the planners' view of the input: bounds-checked reads that turn short reads
// into errTruncated.
type reader struct {
	src  io.ReaderAt
	size int64
}

// read returns n bytes at off, or errTruncated when they are not all in the file. n is
// bounded by the caller (every planner caps what it reads).
func (r *reader) read(off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off > r.size || int64(n) > r.size-off {
		return nil, errTruncated
	}
	b := make([]byte, n)
	if _, err := readFull(r.src, b, off); err != nil {
		return nil, err
	}
	return b, nil
}

// readAt fills b from off, or fails like read.
func (r *reader) readAt(b []byte, off int64) error {
	if off < 0 || off > r.size || int64(len(b)) > r.size-off {
		return errTruncated
	}
	_, err := readFull(r.src, b, off)
	return err
}

func readFull(src io.ReaderAt, b []byte, off int64) (int, error) {
	n, err := src.ReadAt(b, off)
	if n == len(b) {
		return n, nil
	}
	if err == nil || err == io.EOF {
		err = errTruncated
	}
	return n, err
}

// builder accumulates a Plan's parts, merging adjacent ranges.
type builder struct {
	parts []Part
}

func (b *builder) copy(off, n int64) {
	if n <= 0 {
		return
	}
	if k := len(b.parts) - 1; k >= 0 && b.parts[k].Data == nil && b.parts[k].Off+b.parts[k].Len == off {
		b.parts[k].Len += n
		return
	}
	b.parts = append(b.parts, Part{Off: off, Len: n})
}

func (b *builder) literal(d []byte) {
	if len(d) == 0 {
		return
	}
	b.parts = append(b.parts, Part{Data: d})
}

// fill appends n copies of byte c, sharing one block of memory between parts so that a
// blanked region of any size costs no memory.
func (b *builder) fill(c byte, n int64) {
	blk := fillBlock(c)
	for n > 0 {
		k := min(n, int64(len(blk)))
		b.parts = append(b.parts, Part{Data: blk[:k]})
		n -= k
	}
}

var fillBlocks = map[byte][]byte{
	0:   make([]byte, 64<<10),
	' ': bytes.Repeat([]byte{' '}, 64<<10),
}

func fillBlock(c byte) []byte {
	if b, ok := fillBlocks[c]; ok {
		return b
	}
	panic("scrub: no fill block for this byte") // only 0 and ' ' are used
}

func (b *builder) plan(format string, removed, left []string) *Plan {
	return &Plan{Format: format, Parts: b.parts, Removed: dedup(removed), Left: dedup(left)}
}

func dedup(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// edit replaces Len input bytes at Off by Data (len(Data) may differ from Len).
type edit struct {
	off, n int64
	data   []byte // nil with fill != 0: n bytes of fill
	fill   byte
}

// applyEdits builds the plan of the input with non-overlapping edits applied (they are
// sorted by the caller).
func applyEdits(size int64, edits []edit) []Part {
	var b builder
	pos := int64(0)
	for _, e := range edits {
		b.copy(pos, e.off-pos)
		if e.data != nil {
			b.literal(e.data)
		} else {
			b.fill(e.fill, e.n)
		}
		pos = e.off + e.n
	}
	b.copy(pos, size-pos)
	return b.parts
}
