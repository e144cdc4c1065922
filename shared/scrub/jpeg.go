package scrub

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// scrubJPEG walks the marker segments of a JPEG (and, to find markers between progressive
// scans and the end of the image, its entropy-coded data) and drops every APPn and COM
// segment except the ones needed to render: APP0 JFIF, APP2 ICC_PROFILE, APP14 Adobe.
// When the EXIF block said the image is rotated, a minimal EXIF with only the Orientation
// is put where the EXIF was, so that viewers keep showing it the right way up (rotating
// the pixels instead would mean re-encoding: lossy, or impossible losslessly for sizes
// that are not whole MCUs). Bytes after EOI (MPF secondary images, motion-photo videos,
// vendor trailers) are dropped.
func scrubJPEG(r *reader) (*Plan, error) {
	fail := func(off int64, format string, a ...any) (*Plan, error) {
		return nil, &FormatError{Format: JPEG, Offset: off, Msg: fmt.Sprintf(format, a...)}
	}
	var (
		b       builder
		removed []string
		left    []string
		exifAt  = -1 // index in b.parts where the first EXIF was
		orient  int
	)
	s := newSeq(r, 2)
	b.copy(0, 2) // SOI
	end := int64(-1)
	for end < 0 {
		start := s.pos
		c, err := s.byte()
		if err != nil {
			return fail(start, "no end of image marker")
		}
		if c != 0xFF {
			return fail(start, "expected a marker, found byte 0x%02x", c)
		}
		m := byte(0xFF)
		for m == 0xFF { // fill bytes may precede a marker
			if m, err = s.byte(); err != nil {
				return fail(start, "truncated marker")
			}
		}
		switch {
		case m == 0xD9: // EOI
			b.copy(start, s.pos-start)
			end = s.pos
			continue
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7): // TEM, RSTn: no length
			b.copy(start, s.pos-start)
			continue
		case m == 0x00 || m == 0xD8:
			return fail(start, "unexpected marker 0x%02x", m)
		}
		lb, err := s.bytes(2)
		if err != nil {
			return fail(start, "truncated segment length")
		}
		segLen := int64(binary.BigEndian.Uint16(lb))
		if segLen < 2 {
			return fail(start, "segment length %d", segLen)
		}
		payload := s.pos
		n := segLen - 2
		if n > r.size-payload {
			return fail(start, "segment of %d bytes overruns the file", segLen)
		}
		id := []byte{}
		if m >= 0xE0 || m == 0xFE {
			if id, err = s.bytes(int(min(n, 40))); err != nil {
				return nil, err
			}
		}
		s.pos = payload + n
		keep := true
		switch {
		case m == 0xE0 && bytes.HasPrefix(id, []byte("JFIF\x00")):
			// JFIF: keep (pixel density, colour space hint) but without its thumbnail.
			if len(id) >= 14 && (id[12] != 0 || id[13] != 0) && n >= 14 {
				seg := append([]byte{0xFF, 0xE0, 0, 16}, id[:14]...)
				seg[12+4], seg[13+4] = 0, 0
				b.literal(seg)
				removed = append(removed, "JFIF thumbnail")
				keep = false
				break
			}
		case m == 0xE2 && bytes.HasPrefix(id, []byte("ICC_PROFILE\x00")):
			// Colour profile: needed to show the colours right; says nothing of the owner.
		case m == 0xEE && bytes.HasPrefix(id, []byte("Adobe")):
			// Adobe: tells decoders how CMYK/YCCK is transformed.
		case m == 0xE1 && (bytes.HasPrefix(id, []byte("Exif\x00")) || bytes.HasPrefix(id, []byte("Exif\xff"))):
			if exifAt < 0 {
				exifAt = len(b.parts)
			}
			x := readEXIF(r, payload+6, n-6)
			if x.orientation > 1 && orient == 0 {
				orient = x.orientation
			}
			removed = append(removed, x.removed()...)
			keep = false
		case m == 0xE1 && bytes.HasPrefix(id, []byte("http://ns.adobe.com/xap/1.0/\x00")):
			removed, keep = append(removed, "XMP"), false
		case m == 0xE1 && bytes.HasPrefix(id, []byte("http://ns.adobe.com/xmp/extension/\x00")):
			removed, keep = append(removed, "extended XMP"), false
		case m == 0xED:
			removed, keep = append(removed, "Photoshop/IPTC data (APP13)"), false
		case m == 0xE2 && bytes.HasPrefix(id, []byte("FPXR")):
			removed, keep = append(removed, "FlashPix data (APP2)"), false
		case m == 0xE2 && bytes.HasPrefix(id, []byte("MPF\x00")):
			removed, keep = append(removed, "multi-picture index (MPF)"), false
		case m == 0xFE:
			removed, keep = append(removed, "comment"), false
		case m >= 0xE0 && m <= 0xEF:
			removed, keep = append(removed, fmt.Sprintf("APP%d data", m-0xE0)), false
		}
		if keep {
			b.copy(start, s.pos-start)
		}
		if m != 0xDA {
			continue
		}
		// Entropy-coded data follows SOS up to the next marker that is neither a stuffed
		// 0xFF00 nor a restart marker.
		for {
			found, err := s.indexByte(0xFF)
			if err != nil {
				return nil, err
			}
			if !found {
				// No EOI: a truncated image. Its metadata is all before this point, so
				// keep what there is, as viewers show what they can.
				b.copy(payload+n, s.pos-(payload+n))
				left = append(left, "the image has no end marker (truncated file)")
				end = s.pos
				break
			}
			at := s.pos
			s.pos++
			c, err := s.byte()
			if err != nil {
				s.pos = r.size
				continue
			}
			if c == 0x00 || (c >= 0xD0 && c <= 0xD7) || c == 0xFF {
				if c == 0xFF {
					s.pos-- // a fill byte: look again from it
				}
				continue
			}
			b.copy(payload+n, at-(payload+n))
			s.pos = at
			break
		}
	}
	if end < r.size {
		removed = append(removed, "data after the end of the image")
	}
	if orient > 1 {
		seg := append([]byte{0xFF, 0xE1, 0, 0}, "Exif\x00\x00"...)
		seg = append(seg, orientationTIFF(orient)...)
		binary.BigEndian.PutUint16(seg[2:], uint16(len(seg)-2))
		b.parts = append(b.parts[:exifAt], append([]Part{{Data: seg}}, b.parts[exifAt:]...)...)
		left = append(left, fmt.Sprintf("EXIF Orientation %d (a new EXIF block holding only it, so the image still shows the right way up)", orient))
	}
	if len(removed) == 0 && len(left) == 0 {
		return identity(JPEG, r.size), nil
	}
	return b.plan(JPEG, removed, left), nil
}

// identity is the plan of a file of a handled format with nothing to remove.
func identity(format string, size int64) *Plan {
	p := &Plan{Format: format}
	if size > 0 {
		p.Parts = []Part{{Off: 0, Len: size}}
	}
	return p
}
