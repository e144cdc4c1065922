package scrub

import "fmt"

// scrubGIF walks the blocks of a GIF and drops comment extensions and application
// extensions other than the looping ones (NETSCAPE2.0, ANIMEXTS1.0) and colour profiles
// (ICCRGBG1012): XMP lives in an application extension. Graphic control and plain text
// extensions, which change what is shown, are kept. Bytes after the trailer are dropped.
func scrubGIF(r *reader) (*Plan, error) {
	fail := func(off int64, format string, a ...any) (*Plan, error) {
		return nil, &FormatError{Format: GIF, Offset: off, Msg: fmt.Sprintf(format, a...)}
	}
	h, err := r.read(0, 13)
	if err != nil {
		return fail(0, "truncated header")
	}
	s := newSeq(r, 13)
	if h[10]&0x80 != 0 { // global colour table
		if err := s.skip(3 << (h[10]&7 + 1)); err != nil {
			return fail(13, "truncated colour table")
		}
	}
	var (
		b       builder
		removed []string
	)
	b.copy(0, s.pos)
	// subBlocks skips a chain of data sub-blocks, ending after the zero-length one.
	subBlocks := func() error {
		for {
			n, err := s.byte()
			if err != nil {
				return err
			}
			if n == 0 {
				return nil
			}
			if err := s.skip(int64(n)); err != nil {
				return err
			}
		}
	}
	for {
		start := s.pos
		c, err := s.byte()
		if err != nil {
			return fail(start, "no trailer")
		}
		switch c {
		case 0x3B: // trailer
			b.copy(start, 1)
			if s.pos < r.size {
				removed = append(removed, "data after the end of the image")
			}
			if len(removed) == 0 {
				return identity(GIF, r.size), nil
			}
			return b.plan(GIF, removed, nil), nil
		case 0x2C: // image descriptor
			d, err := s.bytes(9)
			if err != nil {
				return fail(start, "truncated image descriptor")
			}
			if d[8]&0x80 != 0 {
				if err := s.skip(3 << (d[8]&7 + 1)); err != nil {
					return fail(start, "truncated local colour table")
				}
			}
			if _, err := s.byte(); err != nil { // LZW minimum code size
				return fail(start, "truncated image data")
			}
			if err := subBlocks(); err != nil {
				return fail(start, "truncated image data")
			}
			b.copy(start, s.pos-start)
		case 0x21: // extension
			label, err := s.byte()
			if err != nil {
				return fail(start, "truncated extension")
			}
			keep := true
			switch label {
			case 0xFE:
				keep = false
				removed = append(removed, "comment")
			case 0xFF:
				// The first sub-block is the 8-byte identifier and 3-byte code.
				id, err := s.bytes(12)
				if err != nil {
					return fail(start, "truncated application extension")
				}
				s.pos -= 12
				app := string(id[1:12])
				if id[0] != 11 || (app != "NETSCAPE2.0" && app != "ANIMEXTS1.0" && app != "ICCRGBG1012") {
					keep = false
					if app == "XMP DataXMP" {
						removed = append(removed, "XMP")
					} else {
						removed = append(removed, "application data")
					}
				}
			}
			if err := subBlocks(); err != nil {
				return fail(start, "truncated extension")
			}
			if keep {
				b.copy(start, s.pos-start)
			}
		default:
			return fail(start, "unknown block 0x%02x", c)
		}
	}
}
