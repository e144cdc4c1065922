package scrub

import (
	"encoding/binary"
	"fmt"
)

// webpKeep lists the chunks needed to render: the extended header, colour profile,
// animation, alpha and the bitstreams. EXIF, XMP and unknown chunks go.
var webpKeep = map[string]bool{
	"VP8X": true, "ICCP": true, "ANIM": true, "ANMF": true, "ALPH": true, "VP8 ": true, "VP8L": true,
}

// VP8X flag bits (WebP container specification).
const (
	vp8xEXIF = 0x08
	vp8xXMP  = 0x04
)

// scrubWebP drops EXIF, XMP and unknown chunks from the RIFF container, clears the VP8X
// flags that announced them and writes the RIFF size anew. A rotated image keeps an EXIF
// chunk holding only the Orientation (and its flag). Bytes after the RIFF are dropped.
func scrubWebP(r *reader) (*Plan, error) {
	h, err := r.read(0, 12)
	if err != nil {
		return nil, &FormatError{Format: WebP, Offset: 0, Msg: "truncated header"}
	}
	riffEnd := 8 + int64(binary.LittleEndian.Uint32(h[4:]))
	if riffEnd > r.size {
		return nil, &FormatError{Format: WebP, Offset: 4, Msg: "RIFF size overruns the file"}
	}
	var (
		b       builder
		removed []string
		left    []string
		vp8x    = -1 // index in b.parts of the VP8X chunk, rewritten at the end
		orient  int
		orientI = -1 // where a new EXIF chunk goes: at the old EXIF's place
	)
	b.literal(append([]byte(nil), h...)) // size patched at the end
	for off := int64(12); off < riffEnd; {
		ch, err := r.read(off, 8)
		if err != nil || off+8 > riffEnd {
			return nil, &FormatError{Format: WebP, Offset: off, Msg: "truncated chunk header"}
		}
		typ := string(ch[:4])
		n := int64(binary.LittleEndian.Uint32(ch[4:]))
		total := 8 + n + n&1 // chunks are padded to an even size
		if total > riffEnd-off {
			if 8+n == riffEnd-off { // a missing final pad byte: tolerated by decoders
				total = 8 + n
			} else {
				return nil, &FormatError{Format: WebP, Offset: off, Msg: fmt.Sprintf("chunk %q of %d bytes overruns the RIFF", typ, n)}
			}
		}
		switch {
		case typ == "VP8X":
			if n < 10 {
				return nil, &FormatError{Format: WebP, Offset: off, Msg: "short VP8X chunk"}
			}
			c, err := r.read(off, int(total))
			if err != nil {
				return nil, err
			}
			vp8x = len(b.parts)
			b.literal(c)
		case webpKeep[typ]:
			b.copy(off, total)
		case typ == "EXIF":
			// The chunk holds a TIFF structure, sometimes after an "Exif\0\0" prefix.
			start := off + 8
			if p, err := r.read(start, int(min(n, 6))); err == nil && string(p) == "Exif\x00\x00" {
				start += 6
			}
			x := readEXIF(r, start, off+8+n-start)
			removed = append(removed, x.removed()...)
			if x.orientation > 1 && orient == 0 {
				orient, orientI = x.orientation, len(b.parts)
			}
		case typ == "XMP ":
			removed = append(removed, "XMP")
		default:
			removed = append(removed, fmt.Sprintf("unknown chunk %q", typ))
		}
		off += total
	}
	if riffEnd < r.size {
		removed = append(removed, "data after the end of the image")
	}
	if len(removed) == 0 {
		return identity(WebP, r.size), nil
	}
	if orient > 1 && vp8x < 0 {
		orient = 0 // EXIF needs the extended format (VP8X); a simple file cannot hold it
	}
	if orient > 1 {
		tiff := orientationTIFF(orient)
		c := append([]byte("EXIF"), 0, 0, 0, 0)
		binary.LittleEndian.PutUint32(c[4:], uint32(len(tiff)))
		c = append(c, tiff...) // 26 bytes: even, no pad
		b.parts = append(b.parts[:orientI], append([]Part{{Data: c}}, b.parts[orientI:]...)...)
		if vp8x >= orientI {
			vp8x++
		}
		left = append(left, fmt.Sprintf("EXIF Orientation %d (a new EXIF chunk holding only it)", orient))
	}
	if vp8x >= 0 {
		c := b.parts[vp8x].Data
		c[8] &^= vp8xEXIF | vp8xXMP
		if orient > 1 {
			c[8] |= vp8xEXIF
		}
	}
	p := b.plan(WebP, removed, left)
	binary.LittleEndian.PutUint32(p.Parts[0].Data[4:], uint32(p.Size()-8))
	return p, nil
}
