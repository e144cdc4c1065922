package scrub

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"sort"
	"strconv"
)

// PDF files are scrubbed in place so that no byte moves and every cross-reference offset
// stays valid: each document information (Info) dictionary, in every revision the file
// still holds, is emptied by overwriting its entries with spaces (and so are the objects
// its entries point to), and each XMP metadata stream object becomes the null object
// padded with spaces. An Info dictionary inside a compressed object stream is rewritten by
// decompressing the stream, blanking the dictionary, and recompressing: this works when
// the result is no longer than the original (it usually is shorter: blanks compress well),
// and the stream's Length is rewritten in place, padded to its old width.

const (
	pdfMaxWindow  = 1 << 20  // largest object dictionary read
	pdfMaxStream  = 64 << 20 // largest stream decompressed (xref and object streams)
	pdfMaxEntries = 1 << 23  // cross-reference entries, over all sections
	pdfMaxSection = 4096     // cross-reference sections (revisions)
)

type xent struct {
	typ byte  // 0 free, 1 at offset, 2 in object stream
	f2  int64 // offset, or object stream number
	f3  int64 // generation, or index in the object stream
}

type xsection struct {
	entries map[int64]xent
	trailer pval
	tbase   int64 // offset of the trailer's window
}

type pdf struct {
	r        *reader
	cache    pageCache
	sections []xsection // newest first
	edits    []edit
	removed  []string
	left     []string
	bad      int // objects the xref does not locate
	enc      bool
	objstm   map[int64]*objstmEdit // by object stream offset
	done     map[int64]bool        // objects (by offset or objstm<<32|index key) already handled
}

type objstmEdit struct {
	sec     int     // section whose view resolved it
	blank   []int64 // indexes: empty the dictionary
	nulls   []int64 // indexes: make null
	objnums map[int64]bool
}

func (p *pdf) fail(off int64, format string, a ...any) error {
	return &FormatError{Format: PDF, Offset: off, Msg: fmt.Sprintf(format, a...)}
}

// window parses at off with growing windows until parse stops asking for more.
func (p *pdf) window(off int64, parse func(l *lex) error) ([]byte, error) {
	n := int64(4096)
	for {
		k := min(n, p.r.size-off)
		if off < 0 || k <= 0 {
			return nil, errTruncated
		}
		b, err := p.cache.read(p.r, off, int(k))
		if err != nil {
			return nil, err
		}
		l := &lex{b: b, eof: off+k == p.r.size}
		err = parse(l)
		if err != errMore {
			return b, err
		}
		if n >= pdfMaxWindow || off+k == p.r.size {
			return nil, errSyntax
		}
		n *= 4
	}
}

// object reads "num gen obj value" at off. For a stream it also returns where the data
// starts (-1 otherwise).
func (p *pdf) object(off int64, num int64) (v pval, win []byte, data int64, err error) {
	data = -1
	win, err = p.window(off, func(l *lex) error {
		n, err := l.int()
		if err != nil {
			return err
		}
		if _, err := l.int(); err != nil {
			return err
		}
		if t, err := l.token(); err != nil || t != "obj" {
			if err == errMore {
				return err
			}
			return errSyntax
		}
		if num >= 0 && n != num {
			return errSyntax
		}
		if v, err = l.value(); err != nil {
			return err
		}
		if v.kind != 'd' {
			return nil
		}
		save := l.i
		t, err := l.token()
		if err == errMore {
			return err
		}
		if err != nil || t != "stream" {
			l.i = save
			return nil
		}
		// The keyword is followed by CRLF or LF (a lone CR is tolerated).
		if l.i+2 > len(l.b) && !l.eof {
			return errMore
		}
		if l.i < len(l.b) && l.b[l.i] == '\r' {
			l.i++
		}
		if l.i < len(l.b) && l.b[l.i] == '\n' {
			l.i++
		}
		data = off + int64(l.i)
		return nil
	})
	return v, win, data, err
}

// lookup finds object num in the view of section sec (that section and older ones).
func (p *pdf) lookup(sec int, num int64) (xent, bool) {
	for i := sec; i < len(p.sections); i++ {
		if e, ok := p.sections[i].entries[num]; ok {
			return e, e.typ != 0
		}
	}
	return xent{}, false
}

// intValue resolves a direct or indirect integer (a stream's Length).
func (p *pdf) intValue(sec int, v pval) (int64, bool) {
	if v.kind == 'i' {
		return v.num, true
	}
	if v.kind != 'r' {
		return 0, false
	}
	e, ok := p.lookup(sec, v.num)
	if !ok || e.typ != 1 {
		return 0, false
	}
	x, _, _, err := p.object(e.f2, v.num)
	if err != nil || x.kind != 'i' {
		return 0, false
	}
	return x.num, true
}

// streamData reads and decompresses a stream whose dictionary is d, data at off.
func (p *pdf) streamData(sec int, d pval, off int64) (raw, dec []byte, err error) {
	lv, _ := d.get("Length")
	n, ok := p.intValue(sec, lv)
	if !ok || n < 0 || n > pdfMaxStream || n > p.r.size-off {
		return nil, nil, p.fail(off, "bad stream length")
	}
	raw, err = p.r.read(off, int(n))
	if err != nil {
		return nil, nil, p.fail(off, "truncated stream")
	}
	switch f, _ := d.get("Filter"); {
	case f.kind == 0:
		return raw, raw, nil
	case f.kind == '/' && f.str == "FlateDecode",
		f.kind == 'a' && len(f.vals) == 1 && f.vals[0].kind == '/' && f.vals[0].str == "FlateDecode":
	default:
		return raw, nil, p.fail(off, "unsupported stream filter")
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return raw, nil, p.fail(off, "bad compressed stream")
	}
	dec, err = io.ReadAll(io.LimitReader(zr, pdfMaxStream+1))
	if len(dec) > pdfMaxStream {
		return raw, nil, p.fail(off, "stream decompresses to more than %d bytes", pdfMaxStream)
	}
	if err != nil && err != io.ErrUnexpectedEOF && len(dec) == 0 {
		return raw, nil, p.fail(off, "bad compressed stream")
	}
	return raw, dec, nil
}

func scrubPDF(r *reader) (*Plan, error) {
	p := &pdf{r: r, objstm: map[int64]*objstmEdit{}, done: map[int64]bool{}}
	start, err := p.startxref()
	if err != nil {
		return nil, err
	}
	if err := p.readXrefChain(start); err != nil {
		return nil, err
	}
	for _, s := range p.sections {
		if _, ok := s.trailer.get("Encrypt"); ok {
			p.enc = true
		}
	}
	for i := range p.sections {
		if err := p.info(i); err != nil {
			return nil, err
		}
	}
	if err := p.metadataStreams(); err != nil {
		return nil, err
	}
	if err := p.objectStreams(); err != nil {
		return nil, err
	}
	if p.bad > 0 {
		p.left = append(p.left, fmt.Sprintf("%d objects that the cross-reference table does not locate were not checked", p.bad))
	}
	if len(p.edits) == 0 {
		pl := identity(PDF, r.size)
		pl.Left = dedup(p.left)
		return pl, nil
	}
	sort.Slice(p.edits, func(i, j int) bool { return p.edits[i].off < p.edits[j].off })
	for i := 1; i < len(p.edits); i++ {
		if p.edits[i].off < p.edits[i-1].off+p.edits[i-1].n {
			return nil, p.fail(p.edits[i].off, "overlapping objects")
		}
	}
	return &Plan{Format: PDF, Parts: applyEdits(r.size, p.edits), Removed: dedup(p.removed), Left: dedup(p.left)}, nil
}

// startxref finds the offset of the last cross-reference section.
func (p *pdf) startxref() (int64, error) {
	n := min(p.r.size, 2048)
	tail, err := p.r.read(p.r.size-n, int(n))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndex(tail, []byte("startxref"))
	if i < 0 {
		return 0, p.fail(-1, "no startxref")
	}
	l := &lex{b: tail[i+9:], eof: true}
	off, err := l.int()
	if err != nil || off < 0 || off >= p.r.size {
		return 0, p.fail(p.r.size-n+int64(i), "bad startxref")
	}
	return off, nil
}

func (p *pdf) readXrefChain(off int64) error {
	seen := map[int64]bool{}
	total := 0
	queue := []int64{off}
	for len(queue) > 0 {
		off, queue = queue[0], queue[1:]
		if seen[off] {
			continue
		}
		seen[off] = true
		if len(p.sections) >= pdfMaxSection {
			return p.fail(off, "too many cross-reference sections")
		}
		s, err := p.xref(off)
		if err != nil {
			return err
		}
		total += len(s.entries)
		if total > pdfMaxEntries {
			return p.fail(off, "too many objects")
		}
		p.sections = append(p.sections, s)
		// A hybrid file's trailer points to a cross-reference stream with the objects
		// that older readers do not see; it belongs to the same revision.
		if x, ok := s.trailer.get("XRefStm"); ok && x.kind == 'i' && !seen[x.num] {
			queue = append([]int64{x.num}, queue...)
		}
		if x, ok := s.trailer.get("Prev"); ok && x.kind == 'i' {
			if x.num < 0 || x.num >= p.r.size {
				return p.fail(off, "bad Prev offset")
			}
			queue = append(queue, x.num)
		}
	}
	return nil
}

// xref reads a cross-reference table and its trailer, or a cross-reference stream.
func (p *pdf) xref(off int64) (xsection, error) {
	h, err := p.cache.read(p.r, off, int(min(4, p.r.size-off)))
	if err != nil {
		return xsection{}, err
	}
	s := xsection{entries: map[int64]xent{}}
	if string(h) == "xref" {
		return s, p.xrefTable(off+4, &s)
	}
	d, win, data, err := p.object(off, -1)
	if err != nil || d.name("Type") != "XRef" || data < 0 {
		return s, p.fail(off, "no cross-reference table or stream")
	}
	s.trailer, s.tbase = d, off
	_ = win
	_, dec, err := p.streamData(0, d, data)
	if err != nil {
		return s, err
	}
	if dec, err = unpredict(d, dec); err != nil {
		return s, p.fail(off, "%v", err)
	}
	wv, _ := d.get("W")
	if wv.kind != 'a' || len(wv.vals) != 3 {
		return s, p.fail(off, "bad W")
	}
	var w [3]int
	for i, x := range wv.vals {
		if x.kind != 'i' || x.num < 0 || x.num > 8 {
			return s, p.fail(off, "bad W")
		}
		w[i] = int(x.num)
	}
	rec := w[0] + w[1] + w[2]
	if rec == 0 {
		return s, p.fail(off, "bad W")
	}
	var index []int64
	if iv, ok := d.get("Index"); ok && iv.kind == 'a' {
		for _, x := range iv.vals {
			if x.kind != 'i' || x.num < 0 {
				return s, p.fail(off, "bad Index")
			}
			index = append(index, x.num)
		}
	} else if sz, ok := d.get("Size"); ok && sz.kind == 'i' {
		index = []int64{0, sz.num}
	}
	if len(index)%2 != 0 {
		return s, p.fail(off, "bad Index")
	}
	field := func(b []byte, def int64) int64 {
		if len(b) == 0 {
			return def
		}
		var v int64
		for _, c := range b {
			v = v<<8 | int64(c)
		}
		return v
	}
	pos := 0
	for i := 0; i < len(index); i += 2 {
		first, count := index[i], index[i+1]
		for j := int64(0); j < count; j++ {
			if pos+rec > len(dec) {
				return s, p.fail(off, "cross-reference stream shorter than its Index")
			}
			e := dec[pos : pos+rec]
			pos += rec
			t := field(e[:w[0]], 1)
			if t > 2 {
				continue // reserved types are null references
			}
			num := first + j
			if _, dup := s.entries[num]; !dup {
				s.entries[num] = xent{typ: byte(t), f2: field(e[w[0]:w[0]+w[1]], 0), f3: field(e[w[0]+w[1]:], 0)}
			}
		}
	}
	return s, nil
}

// xrefTable parses subsections "first count" of 20-byte entries, then the trailer.
func (p *pdf) xrefTable(off int64, s *xsection) error {
	for {
		var first, count int64
		var next int64
		_, err := p.window(off, func(l *lex) error {
			save := l.i
			t, err := l.token()
			if err != nil {
				return err
			}
			if t == "trailer" {
				next = -1 - (off + int64(l.i))
				return nil
			}
			l.i = save
			if first, err = l.int(); err != nil {
				return err
			}
			if count, err = l.int(); err != nil {
				return err
			}
			next = off + int64(l.i)
			return nil
		})
		if err != nil {
			return p.fail(off, "bad cross-reference table")
		}
		if next < 0 {
			return p.trailer(-1-next, s)
		}
		if first < 0 || count < 0 || count > (p.r.size-next)/18 || len(s.entries)+int(count) > pdfMaxEntries {
			return p.fail(off, "bad cross-reference subsection")
		}
		// Entries are 20 bytes, but some writers use 19: tokenize instead of counting.
		blk, err := p.r.read(next, int(min(count*21+64, p.r.size-next)))
		if err != nil {
			return err
		}
		l := &lex{b: blk, eof: true}
		for j := int64(0); j < count; j++ {
			o, err1 := l.int()
			g, err2 := l.int()
			t, err3 := l.token()
			if err1 != nil || err2 != nil || err3 != nil || (t != "n" && t != "f") {
				return p.fail(next+int64(l.i), "bad cross-reference entry")
			}
			if _, dup := s.entries[first+j]; dup {
				continue
			}
			e := xent{typ: 0, f2: o, f3: g}
			if t == "n" {
				e.typ = 1
			}
			s.entries[first+j] = e
		}
		off = next + int64(l.i)
	}
}

func (p *pdf) trailer(off int64, s *xsection) error {
	win, err := p.window(off, func(l *lex) error {
		v, err := l.value()
		s.trailer = v
		return err
	})
	if err != nil || s.trailer.kind != 'd' {
		return p.fail(off, "bad trailer")
	}
	_ = win
	s.tbase = off
	return nil
}

// info empties the Info dictionary that section sec's trailer names.
func (p *pdf) info(sec int) error {
	s := p.sections[sec]
	iv, ok := s.trailer.get("Info")
	if !ok {
		return nil
	}
	if iv.kind == 'd' { // not allowed (must be indirect), but seen
		p.blankDict(s.tbase, iv)
		return nil
	}
	if iv.kind != 'r' {
		return nil
	}
	return p.clearObject(sec, iv.num, true)
}

// clearObject empties object num (its dictionary when dict is true, else the whole value
// becomes null), following the references inside an emptied dictionary one level: Info
// values may be indirect strings.
func (p *pdf) clearObject(sec int, num int64, dict bool) error {
	e, ok := p.lookup(sec, num)
	if !ok {
		return nil
	}
	switch e.typ {
	case 1:
		if p.done[e.f2] {
			return nil
		}
		p.done[e.f2] = true
		v, win, data, err := p.object(e.f2, num)
		if err != nil {
			p.bad++
			if dict {
				return p.fail(e.f2, "the document information dictionary (object %d) is not where the cross-reference table says", num)
			}
			return nil
		}
		if data >= 0 {
			return nil // a stream: not an Info value
		}
		if dict && v.kind == 'd' {
			p.blankDict(e.f2, v)
			for _, ref := range v.refs(nil) {
				if err := p.clearObject(sec, ref.num, false); err != nil {
					return err
				}
			}
		} else if !dict && v.kind != 'd' && v.kind != 'a' {
			p.nullValue(e.f2, v)
		}
		_ = win
	case 2:
		st, ok := p.lookup(sec, e.f2)
		if !ok || st.typ != 1 {
			p.bad++
			return nil
		}
		key := st.f2<<20 ^ e.f3 ^ 1<<62
		if p.done[key] {
			return nil
		}
		p.done[key] = true
		o := p.objstm[st.f2]
		if o == nil {
			o = &objstmEdit{sec: sec, objnums: map[int64]bool{}}
			p.objstm[st.f2] = o
		}
		if dict {
			o.blank = append(o.blank, e.f3)
		} else {
			o.nulls = append(o.nulls, e.f3)
		}
		o.objnums[num] = true
	}
	return nil
}

// blankDict overwrites a dictionary's entries with spaces, keeping "<<" and ">>".
func (p *pdf) blankDict(base int64, v pval) {
	if len(v.keys) == 0 {
		return
	}
	p.edits = append(p.edits, edit{off: base + int64(v.start) + 2, n: int64(v.end-v.start) - 4, fill: ' '})
	p.removed = append(p.removed, "document information (author, title, subject, keywords, software, dates)")
}

// nullValue overwrites a value with "null" and spaces.
func (p *pdf) nullValue(base int64, v pval) {
	if v.kind == 'k' && v.str == "null" {
		return
	}
	if n := int64(v.end - v.start); n >= 4 {
		p.edits = append(p.edits, edit{off: base + int64(v.start), n: 4, data: []byte("null")})
		p.edits = append(p.edits, edit{off: base + int64(v.start) + 4, n: n - 4, fill: ' '})
	} else {
		p.edits = append(p.edits, edit{off: base + int64(v.start), n: n, fill: ' '})
	}
}

// metadataStreams finds every XMP metadata stream, in every revision, by reading the
// dictionary of every object the cross-reference sections locate, and makes it null.
func (p *pdf) metadataStreams() error {
	type obj struct {
		off, num int64
		sec      int
	}
	var objs []obj
	seen := map[int64]bool{}
	for i, s := range p.sections {
		for num, e := range s.entries {
			if e.typ == 1 && !seen[e.f2] {
				seen[e.f2] = true
				objs = append(objs, obj{e.f2, num, i})
			}
		}
	}
	// In file order, so the page cache serves neighbours.
	sort.Slice(objs, func(i, j int) bool { return objs[i].off < objs[j].off })
	for _, o := range objs {
		if o.off <= 0 || o.off >= p.r.size {
			p.bad++
			continue
		}
		v, win, data, err := p.object(o.off, o.num)
		if err != nil {
			if _, ok := err.(*FormatError); ok {
				return err
			}
			if err != errSyntax && err != errTruncated {
				return err
			}
			p.bad++
			continue
		}
		if data < 0 || (v.name("Type") != "Metadata" && v.name("Subtype") != "XML") {
			continue
		}
		lv, _ := v.get("Length")
		n, ok := p.intValue(o.sec, lv)
		if !ok || n < 0 || n > p.r.size-data {
			return p.fail(o.off, "metadata stream %d has a bad length", o.num)
		}
		// endstream follows the data, after an end-of-line.
		end := data + n
		tail, err := p.r.read(end, int(min(64, p.r.size-end)))
		if err != nil {
			return err
		}
		k := bytes.Index(tail, []byte("endstream"))
		if k < 0 || len(bytes.TrimLeft(tail[:k], "\r\n \t")) != 0 {
			return p.fail(end, "metadata stream %d: no endstream after its data", o.num)
		}
		start := o.off + int64(v.start)
		stop := end + int64(k) + 9
		p.edits = append(p.edits, edit{off: start, n: 4, data: []byte("null")})
		p.edits = append(p.edits, edit{off: start + 4, n: stop - start - 4, fill: ' '})
		p.done[o.off] = true
		p.removed = append(p.removed, "XMP metadata")
		_ = win
	}
	return nil
}

// objectStreams rewrites the object streams holding Info dictionaries.
func (p *pdf) objectStreams() error {
	offs := make([]int64, 0, len(p.objstm))
	for off := range p.objstm {
		offs = append(offs, off)
	}
	sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
	for _, off := range offs {
		o := p.objstm[off]
		what := "document information in a compressed object stream"
		if p.enc {
			p.left = append(p.left, what+" (the file is encrypted)")
			continue
		}
		if err := p.rewriteObjstm(off, o); err != nil {
			if fe, ok := err.(*FormatError); ok {
				p.left = append(p.left, fmt.Sprintf("%s (%s)", what, fe.Msg))
				continue
			}
			return err
		}
	}
	return nil
}

func (p *pdf) rewriteObjstm(off int64, o *objstmEdit) error {
	d, win, data, err := p.object(off, -1)
	if err != nil || data < 0 || d.name("Type") != "ObjStm" {
		return p.fail(off, "not an object stream")
	}
	if _, ok := d.get("DecodeParms"); ok {
		return p.fail(off, "object stream with decode parameters")
	}
	raw, dec, err := p.streamData(o.sec, d, data)
	if err != nil {
		return err
	}
	nv, _ := d.get("N")
	fv, _ := d.get("First")
	if nv.kind != 'i' || fv.kind != 'i' || nv.num < 0 || fv.num < 0 || fv.num > int64(len(dec)) {
		return p.fail(off, "bad object stream header")
	}
	// The header holds N pairs "objnum offset" (offsets relative to First).
	hl := &lex{b: dec[:fv.num], eof: true}
	offsets := make([]int64, 0, min(nv.num, 1<<16))
	for j := int64(0); j < nv.num; j++ {
		if _, err := hl.int(); err != nil {
			return p.fail(off, "bad object stream header")
		}
		x, err := hl.int()
		if err != nil || x < 0 || fv.num+x > int64(len(dec)) {
			return p.fail(off, "bad object stream header")
		}
		offsets = append(offsets, fv.num+x)
	}
	out := append([]byte(nil), dec...)
	do := func(idx int64, dict bool) error {
		if idx < 0 || idx >= int64(len(offsets)) {
			return p.fail(off, "object index out of range")
		}
		l := &lex{b: dec[offsets[idx]:], eof: true}
		v, err := l.value()
		if err != nil {
			return p.fail(off, "bad object in object stream")
		}
		s, e := int(offsets[idx])+v.start, int(offsets[idx])+v.end
		switch {
		case dict && v.kind == 'd':
			for i := s + 2; i < e-2; i++ {
				out[i] = ' '
			}
		case !dict && v.kind != 'd' && v.kind != 'a':
			copy(out[s:], "null")
			for i := s + 4; i < e; i++ {
				out[i] = ' '
			}
		}
		return nil
	}
	for _, i := range o.blank {
		if err := do(i, true); err != nil {
			return err
		}
	}
	for _, i := range o.nulls {
		if err := do(i, false); err != nil {
			return err
		}
	}
	var zb bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&zb, zlib.BestCompression)
	zw.Write(out)
	zw.Close()
	z := zb.Bytes()
	n := int64(len(raw))
	// Where endstream ends: after the data and an end-of-line.
	end := data + n
	tail, err := p.r.read(end, int(min(64, p.r.size-end)))
	if err != nil {
		return err
	}
	k := bytes.Index(tail, []byte("endstream"))
	if k < 0 || len(bytes.TrimLeft(tail[:k], "\r\n \t")) != 0 {
		return p.fail(end, "no endstream after the object stream")
	}
	stop := end + int64(k) + 9
	lv, _ := d.get("Length")
	var lenBase int64
	if lv.kind == 'r' {
		e, ok := p.lookup(o.sec, lv.num)
		if !ok || e.typ != 1 {
			return p.fail(off, "object stream length not found")
		}
		x, _, _, err := p.object(e.f2, lv.num)
		if err != nil || x.kind != 'i' {
			return p.fail(off, "object stream length not found")
		}
		lenBase, lv = e.f2, x
	} else {
		lenBase = off
	}
	_ = win
	width := lv.end - lv.start
	newLen := strconv.Itoa(len(z))
	switch {
	case int64(len(z)) == n:
	case int64(len(z))+10 <= stop-data && len(newLen) <= width:
	default:
		return p.fail(off, "recompressed object stream would be longer")
	}
	// The new data, "\nendstream", then spaces up to where the old endstream ended.
	lit := make([]byte, 0, stop-data)
	lit = append(lit, z...)
	if int64(len(z)) == n {
		lit = append(lit, tail[:k+9]...)
	} else {
		lit = append(lit, "\nendstream"...)
		lit = append(lit, bytes.Repeat([]byte{' '}, int(stop-data)-len(lit))...)
		num := append([]byte(newLen), bytes.Repeat([]byte{' '}, width-len(newLen))...)
		p.edits = append(p.edits, edit{off: lenBase + int64(lv.start), n: int64(width), data: num})
	}
	p.edits = append(p.edits, edit{off: data, n: stop - data, data: lit})
	p.removed = append(p.removed, "document information (author, title, subject, keywords, software, dates)")
	return nil
}

// unpredict undoes a PNG predictor (cross-reference streams use "Up").
func unpredict(d pval, b []byte) ([]byte, error) {
	dp, ok := d.get("DecodeParms")
	if !ok || dp.kind != 'd' {
		return b, nil
	}
	pr, _ := dp.get("Predictor")
	if pr.kind != 'i' || pr.num < 10 {
		if pr.kind == 'i' && pr.num == 2 {
			return nil, fmt.Errorf("TIFF predictor not supported")
		}
		return b, nil
	}
	cols := int64(1)
	if c, ok := dp.get("Columns"); ok && c.kind == 'i' {
		cols = c.num
	}
	if cols <= 0 || cols > 1<<16 {
		return nil, fmt.Errorf("bad Columns")
	}
	row := int(cols)
	out := make([]byte, 0, len(b))
	prev := make([]byte, row)
	for i := 0; i+row+1 <= len(b); i += row + 1 {
		ft, cur := b[i], append([]byte(nil), b[i+1:i+1+row]...)
		for j := range cur {
			var left, up, ul byte
			if j > 0 {
				left, ul = cur[j-1], prev[j-1]
			}
			up = prev[j]
			switch ft {
			case 1:
				cur[j] += left
			case 2:
				cur[j] += up
			case 3:
				cur[j] += byte((int(left) + int(up)) / 2)
			case 4:
				cur[j] += paeth(left, up, ul)
			}
		}
		out = append(out, cur...)
		prev = cur
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	if pa <= pb && pa <= pc {
		return a
	}
	if pb <= pc {
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// pageCache keeps recently read 16 KiB pages, so that reading many small objects that sit
// side by side costs one read per page.
type pageCache struct {
	pages map[int64][]byte
	order []int64
}

const cachePage = 16 << 10

func (c *pageCache) read(r *reader, off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || int64(n) > r.size-off {
		return nil, errTruncated
	}
	if n > 4*cachePage {
		return r.read(off, n)
	}
	if c.pages == nil {
		c.pages = map[int64][]byte{}
	}
	out := make([]byte, 0, n)
	for pos := off; pos < off+int64(n); {
		pg := pos / cachePage * cachePage
		b, ok := c.pages[pg]
		if !ok {
			var err error
			if b, err = r.read(pg, int(min(cachePage, r.size-pg))); err != nil {
				return nil, err
			}
			if len(c.order) >= 64 {
				delete(c.pages, c.order[0])
				c.order = c.order[1:]
			}
			c.pages[pg] = b
			c.order = append(c.order, pg)
		}
		k := min(int64(len(b)), off+int64(n)-pg)
		out = append(out, b[pos-pg:k]...)
		pos = pg + k
	}
	return out, nil
}
