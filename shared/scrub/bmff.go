package scrub

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
)

// MP4 and QuickTime files are trees of boxes ("atoms"). Sample tables hold absolute file
// offsets of the media data, so nothing may move: every metadata box is turned into a
// free box of the same size (its type renamed, its body zeroed), and the creation and
// modification times in mvhd, tkhd and mdhd are zeroed in place. Only box headers, the
// containers on the way to metadata (moov, trak, mdia, udta) and a few bytes of the time
// boxes are read: a 4 GiB file plans in a few KiB of reads.

// Brands of files that are built of boxes but are not movies we scrub: HEIF/HEIC and
// AVIF images (their metadata is in item properties this package does not handle), Canon
// CR3 raw files, JPEG 2000.
var bmffOther = map[string]bool{
	"heic": true, "heix": true, "heim": true, "heis": true, "hevc": true, "hevx": true,
	"hevm": true, "hevs": true, "mif1": true, "mif2": true, "msf1": true, "avif": true,
	"avis": true, "avio": true, "crx ": true, "jp2 ": true, "jpx ": true, "jpm ": true,
}

func detectBMFF(head []byte) string {
	if len(head) < 12 || string(head[4:8]) != "ftyp" {
		return ""
	}
	brand := string(head[8:12])
	switch {
	case bmffOther[brand]:
		return ""
	case brand == "qt  ":
		return MOV
	}
	return MP4
}

// isBox says whether head starts like a QuickTime file without ftyp.
func isBox(head []byte) bool {
	if len(head) < 8 {
		return false
	}
	switch string(head[4:8]) {
	case "moov", "mdat", "wide", "free", "skip", "pnot":
		return true
	}
	return false
}

var xmpUUID = []byte{0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC}

// udtaKeep lists user-data boxes that are not about the author, place or time: hint
// track information, track selection, loudness, track kind, chapters.
var udtaKeep = map[string]bool{"hnti": true, "hinf": true, "tsel": true, "ludt": true, "kind": true, "chpl": true}

var udtaNames = map[string]string{
	"\xa9xyz": "GPS position (©xyz)", "loci": "location (loci)", "\xa9day": "date (©day)",
	"\xa9nam": "title (©nam)", "\xa9ART": "artist (©ART)", "\xa9too": "encoder (©too)",
	"\xa9cmt": "comment (©cmt)", "\xa9mak": "camera make (©mak)", "\xa9mod": "camera model (©mod)",
	"\xa9swr": "software (©swr)", "\xa9aut": "author (©aut)", "meta": "metadata box (meta)",
	"XMP_": "XMP", "auth": "author (auth)", "titl": "title (titl)", "dscp": "description (dscp)",
	"cprt": "copyright (cprt)", "perf": "performer (perf)", "albm": "album (albm)",
	"yrrc": "year (yrrc)", "kywd": "keywords (kywd)", "name": "name (name)",
}

type box struct {
	off, end int64 // the whole box
	hdr      int64 // header length (8, 16 with a 64-bit size; +16 for uuid)
	typ      string
	uuid     []byte
	large    bool // 64-bit size field
}

type bmff struct {
	r       *reader
	edits   []edit
	removed []string
	left    []string
	boxes   int
}

func (m *bmff) fail(off int64, format string, a ...any) error {
	return &FormatError{Format: MP4, Offset: off, Msg: fmt.Sprintf(format, a...)}
}

// next reads the header of the box at off, which must end by end.
func (m *bmff) next(off, end int64) (box, error) {
	m.boxes++
	if m.boxes > 100000 {
		return box{}, m.fail(off, "too many boxes")
	}
	if end-off < 8 {
		return box{}, m.fail(off, "truncated box header")
	}
	h, err := m.r.read(off, 8)
	if err != nil {
		return box{}, m.fail(off, "truncated box header")
	}
	b := box{off: off, hdr: 8, typ: string(h[4:8])}
	size := int64(binary.BigEndian.Uint32(h))
	switch size {
	case 0: // to the end of the enclosing container (the file, at top level)
		b.end = end
	case 1:
		x, err := m.r.read(off+8, 8)
		if err != nil || end-off < 16 {
			return box{}, m.fail(off, "truncated 64-bit box size")
		}
		b.hdr, b.large = 16, true
		s := binary.BigEndian.Uint64(x)
		if s > uint64(end-off) {
			return box{}, m.fail(off, "box %q of %d bytes overruns its container", b.typ, s)
		}
		b.end = off + int64(s)
	default:
		if size > end-off {
			return box{}, m.fail(off, "box %q of %d bytes overruns its container", b.typ, size)
		}
		b.end = off + size
	}
	if b.typ == "uuid" {
		u, err := m.r.read(off+b.hdr, 16)
		if err != nil || b.end-off < b.hdr+16 {
			return box{}, m.fail(off, "truncated uuid box")
		}
		b.uuid, b.hdr = u, b.hdr+16
	}
	if b.end-b.off < b.hdr {
		return box{}, m.fail(off, "box %q smaller than its header", b.typ)
	}
	return b, nil
}

// free turns b into a free box of the same size: its type becomes "free" and everything
// after its size fields is zeroed.
func (m *bmff) free(b box, what string) {
	m.edits = append(m.edits, edit{off: b.off + 4, n: 4, data: []byte("free")})
	body := b.off + 8
	if b.large {
		body += 8
	}
	if b.end > body {
		m.edits = append(m.edits, edit{off: body, n: b.end - body})
	}
	m.removed = append(m.removed, what)
}

// zeroFree zeroes the body of a free or skip box when it holds anything: editors leave
// old metadata in free space.
func (m *bmff) zeroFree(b box) error {
	n := b.end - b.off - b.hdr
	if n <= 0 {
		return nil
	}
	if n <= 64<<10 {
		body, err := m.r.read(b.off+b.hdr, int(n))
		if err != nil {
			return err
		}
		if bytes.Count(body, []byte{0}) == len(body) {
			return nil
		}
	}
	m.edits = append(m.edits, edit{off: b.off + b.hdr, n: n})
	m.removed = append(m.removed, "contents of free space")
	return nil
}

// times zeroes the creation and modification times at the start of a full box (mvhd,
// tkhd, mdhd): 32-bit fields in version 0, 64-bit in version 1.
func (m *bmff) times(b box) error {
	body := b.off + b.hdr
	v, err := m.r.read(body, 1)
	if err != nil {
		return m.fail(body, "truncated %s", b.typ)
	}
	n := int64(8)
	if v[0] == 1 {
		n = 16
	}
	if b.end-body < 4+n {
		return m.fail(body, "truncated %s", b.typ)
	}
	t, err := m.r.read(body+4, int(n))
	if err != nil {
		return err
	}
	if bytes.Count(t, []byte{0}) != len(t) {
		m.edits = append(m.edits, edit{off: body + 4, n: n})
		m.removed = append(m.removed, "creation and modification times")
	}
	return nil
}

// walk visits the children of a container [off, end) of the given type.
func (m *bmff) walk(parent string, off, end int64, depth int) error {
	if depth > 16 {
		return m.fail(off, "boxes nested too deep")
	}
	for off < end {
		if parent == "" && end-off < 8 {
			break // a few stray bytes at the end of the file: leave them
		}
		b, err := m.next(off, end)
		if err != nil {
			return err
		}
		switch {
		case b.typ == "uuid" && bytes.Equal(b.uuid, xmpUUID):
			m.free(b, "XMP")
		case b.typ == "free" || b.typ == "skip":
			if err := m.zeroFree(b); err != nil {
				return err
			}
		case parent == "udta":
			if !udtaKeep[b.typ] {
				name := udtaNames[b.typ]
				if name == "" {
					name = fmt.Sprintf("user data (%q)", b.typ)
				}
				m.free(b, name)
			}
		case b.typ == "meta":
			// iTunes-style (mdir) and QuickTime keys (mdta: com.apple.quicktime.location,
			// make, model, software, creationdate) metadata; nothing a player needs.
			m.free(b, "metadata box (meta)")
		case b.typ == "moov" && parent == "", b.typ == "trak" && parent == "moov",
			b.typ == "mdia" && parent == "trak":
			if err := m.walk(b.typ, b.off+b.hdr, b.end, depth+1); err != nil {
				return err
			}
		case b.typ == "udta":
			if err := m.walk("udta", b.off+b.hdr, b.end, depth+1); err != nil {
				return err
			}
		case b.typ == "mvhd" && parent == "moov", b.typ == "tkhd" && parent == "trak",
			b.typ == "mdhd" && parent == "mdia":
			if err := m.times(b); err != nil {
				return err
			}
		case b.typ == "hdlr" && parent == "mdia":
			// A timed metadata track (GoPro GPS telemetry, Apple camera data) keeps its
			// samples in mdat: removing them would mean rewriting the sample tables.
			if h, err := m.r.read(b.off+b.hdr+8, 4); err == nil && b.end-b.off >= b.hdr+12 && string(h) == "meta" {
				m.left = append(m.left, "a timed metadata track (may hold GPS positions)")
			}
		}
		off = b.end
		if b.end == b.off { // cannot happen (next checks), but never loop
			return m.fail(off, "empty box")
		}
	}
	return nil
}

func scrubBMFF(r *reader, format string) (*Plan, error) {
	m := &bmff{r: r}
	if err := m.walk("", 0, r.size, 0); err != nil {
		if fe, ok := err.(*FormatError); ok {
			fe.Format = format
		}
		return nil, err
	}
	if len(m.edits) == 0 {
		p := identity(format, r.size)
		p.Left = dedup(m.left)
		return p, nil
	}
	sort.Slice(m.edits, func(i, j int) bool { return m.edits[i].off < m.edits[j].off })
	return &Plan{Format: format, Parts: applyEdits(r.size, m.edits), Removed: dedup(m.removed), Left: dedup(m.left)}, nil
}
