package scrub

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"path"
	"sort"
	"strings"
)

// ODF and OOXML documents are zip files. Their metadata parts are rewritten (inflated,
// edited as bytes, deflated again) and the zip is rebuilt around them: every other entry's
// compressed data is copied as it is, behind a new local header; a new central directory
// follows with the new offsets (zip64 records where sizes or offsets need them). ODF's
// mimetype entry stays first and stored. Entry timestamps (the time of the last save),
// extra fields (more timestamps, Unix owner ids) and comments are dropped: every entry is
// dated 1980-01-01.

const (
	zipMaxCD      = 64 << 20 // central directory read into memory
	zipMaxPart    = 64 << 20 // XML part inflated into memory to be rewritten
	zipMaxEntries = 1 << 20
)

type zentry struct {
	name          string
	flags, method uint16
	crc           uint32
	csize, usize  int64
	lho           int64
	made, iattr   uint16
	eattr         uint32
	data          int64  // where the compressed data starts
	lit           []byte // rewritten compressed data, when not nil
	dirty         bool   // had a timestamp, extra field or comment to drop
}

func (z *zentry) fail(format string, a ...any) error {
	return &FormatError{Format: Zip, Offset: z.lho, Msg: fmt.Sprintf("entry %q: ", z.name) + fmt.Sprintf(format, a...)}
}

func scrubZip(r *reader) (*Plan, error) {
	fail := func(off int64, format string, a ...any) (*Plan, error) {
		return nil, &FormatError{Format: Zip, Offset: off, Msg: fmt.Sprintf(format, a...)}
	}
	// The end of central directory record is in the last 64 KiB + 22 bytes.
	tn := min(r.size, 65535+22)
	tail, err := r.read(r.size-tn, int(tn))
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndex(tail, []byte("PK\x05\x06"))
	if i < 0 || len(tail)-i < 22 {
		return fail(-1, "no end of central directory")
	}
	eocd := tail[i:]
	eocdOff := r.size - tn + int64(i)
	count := int64(binary.LittleEndian.Uint16(eocd[10:]))
	cdSize := int64(binary.LittleEndian.Uint32(eocd[12:]))
	cdOff := int64(binary.LittleEndian.Uint32(eocd[16:]))
	comment := binary.LittleEndian.Uint16(eocd[20:]) != 0
	if count == 0xFFFF || cdSize == 0xFFFFFFFF || cdOff == 0xFFFFFFFF {
		loc, err := r.read(eocdOff-20, 20)
		if err != nil || string(loc[:4]) != "PK\x06\x07" {
			return fail(eocdOff, "no zip64 locator")
		}
		z64 := int64(binary.LittleEndian.Uint64(loc[8:]))
		rec, err := r.read(z64, 56)
		if err != nil || string(rec[:4]) != "PK\x06\x06" {
			return fail(z64, "bad zip64 end of central directory")
		}
		count = int64(binary.LittleEndian.Uint64(rec[32:]))
		cdSize = int64(binary.LittleEndian.Uint64(rec[40:]))
		cdOff = int64(binary.LittleEndian.Uint64(rec[48:]))
	}
	if cdSize < 0 || cdOff < 0 || cdSize > zipMaxCD || cdOff > r.size-cdSize || count < 0 || count > zipMaxEntries || count*46 > cdSize {
		return fail(eocdOff, "bad central directory size or offset")
	}
	cd, err := r.read(cdOff, int(cdSize))
	if err != nil {
		return nil, err
	}
	entries := make([]*zentry, 0, count)
	byName := map[string]*zentry{}
	for p := 0; int64(len(entries)) < count; {
		if len(cd)-p < 46 || string(cd[p:p+4]) != "PK\x01\x02" {
			return fail(cdOff+int64(p), "bad central directory entry")
		}
		h := cd[p:]
		nl, xl, cl := int(binary.LittleEndian.Uint16(h[28:])), int(binary.LittleEndian.Uint16(h[30:])), int(binary.LittleEndian.Uint16(h[32:]))
		if 46+nl+xl+cl > len(h) {
			return fail(cdOff+int64(p), "central directory entry overruns")
		}
		e := &zentry{
			made:   binary.LittleEndian.Uint16(h[4:]),
			flags:  binary.LittleEndian.Uint16(h[8:]),
			method: binary.LittleEndian.Uint16(h[10:]),
			crc:    binary.LittleEndian.Uint32(h[16:]),
			csize:  int64(binary.LittleEndian.Uint32(h[20:])),
			usize:  int64(binary.LittleEndian.Uint32(h[24:])),
			iattr:  binary.LittleEndian.Uint16(h[36:]),
			eattr:  binary.LittleEndian.Uint32(h[38:]),
			lho:    int64(binary.LittleEndian.Uint32(h[42:])),
			name:   string(h[46 : 46+nl]),
		}
		e.dirty = binary.LittleEndian.Uint32(h[12:]) != 0x00210000 || cl != 0
		extra := h[46+nl : 46+nl+xl]
		for len(extra) >= 4 {
			id, n := binary.LittleEndian.Uint16(extra), int(binary.LittleEndian.Uint16(extra[2:]))
			if 4+n > len(extra) {
				break
			}
			if id == 0x0001 { // zip64: the fields that overflowed, in this order
				f := extra[4 : 4+n]
				next := func(v *int64) {
					if *v == 0xFFFFFFFF && len(f) >= 8 {
						*v = int64(binary.LittleEndian.Uint64(f))
						f = f[8:]
					}
				}
				next(&e.usize)
				next(&e.csize)
				next(&e.lho)
			} else {
				e.dirty = true
			}
			extra = extra[4+n:]
		}
		if e.flags&1 != 0 {
			return fail(cdOff+int64(p), "encrypted entries")
		}
		if e.csize < 0 || e.usize < 0 || e.lho < 0 || e.lho > cdOff {
			return fail(cdOff+int64(p), "bad sizes in central directory")
		}
		entries = append(entries, e)
		byName[e.name] = e
		p += 46 + nl + xl + cl
	}
	// Local headers: their name and extra lengths give where the data starts.
	for _, e := range entries {
		lh, err := r.read(e.lho, 30)
		if err != nil || string(lh[:4]) != "PK\x03\x04" {
			return nil, e.fail("bad local header")
		}
		e.data = e.lho + 30 + int64(binary.LittleEndian.Uint16(lh[26:])) + int64(binary.LittleEndian.Uint16(lh[28:]))
		if e.data > cdOff || e.csize > cdOff-e.data {
			return nil, e.fail("data overruns the central directory")
		}
	}
	format := ""
	if m := byName["mimetype"]; m != nil && m.method == 0 && m.csize < 256 {
		if b, err := r.read(m.data, int(m.csize)); err == nil && bytes.HasPrefix(b, []byte("application/vnd.oasis.opendocument.")) {
			format = ODF
		}
	}
	if format == "" && byName["[Content_Types].xml"] != nil {
		format = OOXML
	}
	if format == "" {
		return nil, nil // another kind of zip: not handled
	}
	var removed []string
	for _, e := range entries {
		fix, what := zipRule(format, e.name)
		if fix == nil {
			continue
		}
		if e.method != 0 && e.method != 8 {
			return nil, e.fail("compression method %d", e.method)
		}
		if e.usize > zipMaxPart {
			return nil, e.fail("too large to rewrite (%d bytes)", e.usize)
		}
		doc, err := inflateEntry(r, e)
		if err != nil {
			return nil, err
		}
		out := fix(doc)
		if out == nil {
			continue
		}
		var zb bytes.Buffer
		fw, _ := flate.NewWriter(&zb, flate.DefaultCompression)
		fw.Write(out)
		fw.Close()
		e.lit, e.method, e.crc = zb.Bytes(), 8, crc32.ChecksumIEEE(out)
		e.csize, e.usize = int64(len(e.lit)), int64(len(out))
		e.flags &^= 0x0006 // compression level bits of the old method
		removed = append(removed, what)
	}
	for _, e := range entries {
		if e.dirty {
			removed = append(removed, "zip entry timestamps and extra fields")
			break
		}
	}
	if comment {
		removed = append(removed, "zip comment")
	}
	if len(removed) == 0 {
		return identity(format, r.size), nil
	}
	// Rebuild, in file order, with mimetype first (ODF requires it).
	sort.SliceStable(entries, func(i, j int) bool {
		if (entries[i].name == "mimetype") != (entries[j].name == "mimetype") {
			return entries[i].name == "mimetype"
		}
		return entries[i].lho < entries[j].lho
	})
	var b builder
	var cdir []byte
	pos := int64(0)
	for _, e := range entries {
		lho := pos
		z64 := e.csize >= 0xFFFFFFFF || e.usize >= 0xFFFFFFFF
		lh := zipHeader(nil, false, e, 0, z64, false)
		b.literal(lh)
		if e.lit != nil {
			b.literal(e.lit)
		} else {
			b.copy(e.data, e.csize)
		}
		pos += int64(len(lh)) + e.csize
		cdir = zipHeader(cdir, true, e, lho, z64, lho >= 0xFFFFFFFF)
	}
	cdStart := pos
	b.literal(cdir)
	pos += int64(len(cdir))
	n := int64(len(entries))
	var end []byte
	if n >= 0xFFFF || cdStart >= 0xFFFFFFFF || int64(len(cdir)) >= 0xFFFFFFFF {
		end = append(end, "PK\x06\x06"...)
		end = binary.LittleEndian.AppendUint64(end, 44)
		end = binary.LittleEndian.AppendUint16(end, 45)
		end = binary.LittleEndian.AppendUint16(end, 45)
		end = binary.LittleEndian.AppendUint32(end, 0)
		end = binary.LittleEndian.AppendUint32(end, 0)
		end = binary.LittleEndian.AppendUint64(end, uint64(n))
		end = binary.LittleEndian.AppendUint64(end, uint64(n))
		end = binary.LittleEndian.AppendUint64(end, uint64(len(cdir)))
		end = binary.LittleEndian.AppendUint64(end, uint64(cdStart))
		end = append(end, "PK\x06\x07"...)
		end = binary.LittleEndian.AppendUint32(end, 0)
		end = binary.LittleEndian.AppendUint64(end, uint64(pos))
		end = binary.LittleEndian.AppendUint32(end, 1)
	}
	end = append(end, "PK\x05\x06"...)
	end = binary.LittleEndian.AppendUint32(end, 0)
	end = binary.LittleEndian.AppendUint16(end, uint16(min(n, 0xFFFF)))
	end = binary.LittleEndian.AppendUint16(end, uint16(min(n, 0xFFFF)))
	end = binary.LittleEndian.AppendUint32(end, uint32(min(int64(len(cdir)), 0xFFFFFFFF)))
	end = binary.LittleEndian.AppendUint32(end, uint32(min(cdStart, 0xFFFFFFFF)))
	end = binary.LittleEndian.AppendUint16(end, 0)
	b.literal(end)
	return b.plan(format, removed, nil), nil
}

// zipHeader appends a local (central false) or central directory header for e. Sizes
// that do not fit 32 bits, and in the central directory an offset that does not, go in a
// zip64 extra field.
func zipHeader(dst []byte, central bool, e *zentry, lho int64, z64, off64 bool) []byte {
	le := binary.LittleEndian
	need := uint16(20)
	if z64 || off64 {
		need = 45
	}
	var extra []byte
	if z64 || off64 {
		extra = le.AppendUint16(extra, 0x0001)
		extra = le.AppendUint16(extra, 0)
		if z64 || !central {
			extra = le.AppendUint64(extra, uint64(e.usize))
			extra = le.AppendUint64(extra, uint64(e.csize))
		}
		if central && off64 {
			extra = le.AppendUint64(extra, uint64(lho))
		}
		le.PutUint16(extra[2:], uint16(len(extra)-4))
	}
	size32 := func(v int64) uint32 {
		if z64 {
			return 0xFFFFFFFF
		}
		return uint32(v)
	}
	if central {
		dst = append(dst, "PK\x01\x02"...)
		dst = le.AppendUint16(dst, e.made)
	} else {
		dst = append(dst, "PK\x03\x04"...)
	}
	dst = le.AppendUint16(dst, need)
	dst = le.AppendUint16(dst, e.flags&^0x0008) // sizes are in the header: no data descriptor
	dst = le.AppendUint16(dst, e.method)
	dst = le.AppendUint32(dst, 0x00210000) // 1980-01-01 00:00:00
	dst = le.AppendUint32(dst, e.crc)
	dst = le.AppendUint32(dst, size32(e.csize))
	dst = le.AppendUint32(dst, size32(e.usize))
	dst = le.AppendUint16(dst, uint16(len(e.name)))
	dst = le.AppendUint16(dst, uint16(len(extra)))
	if central {
		dst = le.AppendUint16(dst, 0) // comment
		dst = le.AppendUint16(dst, 0) // disk
		dst = le.AppendUint16(dst, e.iattr)
		dst = le.AppendUint32(dst, e.eattr)
		if off64 {
			dst = le.AppendUint32(dst, 0xFFFFFFFF)
		} else {
			dst = le.AppendUint32(dst, uint32(lho))
		}
	}
	dst = append(dst, e.name...)
	return append(dst, extra...)
}

func inflateEntry(r *reader, e *zentry) ([]byte, error) {
	if e.csize > zipMaxPart*2 {
		return nil, e.fail("too large to rewrite")
	}
	raw, err := r.read(e.data, int(e.csize))
	if err != nil {
		return nil, err
	}
	if e.method == 0 {
		if crc32.ChecksumIEEE(raw) != e.crc {
			return nil, e.fail("CRC mismatch")
		}
		return raw, nil
	}
	fr := flate.NewReader(bytes.NewReader(raw))
	out, err := io.ReadAll(io.LimitReader(fr, e.usize+1))
	if err != nil || int64(len(out)) != e.usize {
		return nil, e.fail("does not inflate to its size")
	}
	if crc32.ChecksumIEEE(out) != e.crc {
		return nil, e.fail("CRC mismatch")
	}
	return out, nil
}

const epoch = "1970-01-01T00:00:00"

var (
	// ODF: comment (office:annotation) and tracked-change (office:change-info) authors
	// and dates are the only dc:creator/dc:date elements in content and styles.
	odfBody = &xmlRules{elems: map[string]string{"creator": "", "date": epoch, "creator-initials": ""}}
	// OOXML: comment and tracked-change authors, people (with e-mail-like ids).
	ooxmlPeople = &xmlRules{attrs: map[string]string{
		"author": "", "initials": "", "date": epoch + "Z", "dateUtc": epoch + "Z", "dT": epoch + "Z", "dt": epoch + "Z",
		"userId": "", "providerId": "", "displayName": "",
	}, elems: map[string]string{"author": ""}}
	ooxmlAuthors = &xmlRules{attrs: map[string]string{"name": "", "initials": "", "userId": "", "providerId": ""},
		attrIn: map[string]bool{"cmAuthor": true, "author": true}}
	ooxmlRevisions = &xmlRules{attrs: map[string]string{"author": "", "date": epoch + "Z", "initials": ""}}
)

// zipRule says how to rewrite the entry name of a document of the given format, and what
// that removes; nil when the entry is kept as it is.
func zipRule(format, name string) (func([]byte) []byte, string) {
	base := path.Base(name)
	lower := strings.ToLower(name)
	if format == ODF {
		switch base {
		case "meta.xml":
			return func(b []byte) []byte { return xmlSkeleton(b, "<%pmeta/>") },
				"document properties (meta.xml: authors, dates, editing time and cycles, generator, statistics, user fields)"
		case "content.xml", "styles.xml":
			return odfBody.rewrite, "comment and tracked-change authors and dates"
		case "settings.xml":
			return odfSettingsRewrite, "printer name and setup"
		}
		return nil, ""
	}
	switch {
	case lower == "docprops/core.xml":
		return func(b []byte) []byte { return xmlSkeleton(b, "") },
			"document properties (core.xml: authors, dates, revision, title, keywords)"
	case lower == "docprops/app.xml":
		return func(b []byte) []byte { return xmlSkeleton(b, "") },
			"application properties (app.xml: application, company, manager, template, editing time)"
	case lower == "docprops/custom.xml":
		return func(b []byte) []byte { return xmlSkeleton(b, "") }, "custom properties"
	case !strings.HasSuffix(lower, ".xml"):
		return nil, ""
	case lower == "ppt/commentauthors.xml" || lower == "ppt/authors.xml":
		return ooxmlAuthors.rewrite, "comment authors"
	case strings.Contains(lower, "comment") || strings.Contains(lower, "person") || strings.Contains(lower, "people"):
		return ooxmlPeople.rewrite, "comment authors and dates"
	case strings.HasPrefix(lower, "word/") || strings.HasPrefix(lower, "xl/revisions/"):
		return ooxmlRevisions.rewrite, "tracked-change authors and dates"
	}
	return nil, ""
}

// odfSettingsRewrite empties the PrinterName and PrinterSetup configuration items.
func odfSettingsRewrite(doc []byte) []byte {
	out := doc
	changed := false
	for _, item := range []string{`config:name="PrinterName"`, `config:name="PrinterSetup"`} {
		for from := 0; ; {
			i := bytes.Index(out[from:], []byte(item))
			if i < 0 {
				break
			}
			i += from
			gt := bytes.IndexByte(out[i:], '>')
			if gt < 0 || out[i+gt-1] == '/' {
				break
			}
			s := i + gt + 1
			e := bytes.IndexByte(out[s:], '<')
			if e < 0 {
				break
			}
			if e > 0 {
				out = append(append([]byte(nil), out[:s]...), out[s+e:]...)
				changed = true
			}
			from = s
		}
	}
	if !changed {
		return nil
	}
	return out
}
