package scrub

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

var pngSig = []byte("\x89PNG\r\n\x1a\n")

// pngKeep lists the ancillary chunks that rendering needs (colour, transparency, gamma,
// HDR, pixel size, animation). Critical chunks (upper-case first letter) are always kept.
// Every other ancillary chunk goes: text (tEXt zTXt iTXt, where XMP lives), eXIf, tIME
// and private chunks whose content is unknown.
var pngKeep = map[string]bool{
	"tRNS": true, "gAMA": true, "cHRM": true, "sRGB": true, "iCCP": true, "sBIT": true,
	"bKGD": true, "pHYs": true, "sPLT": true, "cICP": true, "mDCV": true, "mDCv": true,
	"cLLI": true, "cLLi": true, "oFFs": true, "sCAL": true, "sTER": true,
	"acTL": true, "fcTL": true, "fdAT": true,
}

var pngNames = map[string]string{
	"tEXt": "text chunks (tEXt)", "zTXt": "compressed text chunks (zTXt)",
	"iTXt": "international text chunks (iTXt: XMP, comments)", "tIME": "modification time (tIME)",
}

// scrubPNG walks the chunks and drops the metadata chunks, copying every kept chunk with
// its CRC as it is. A rotated image's eXIf is replaced by one holding only the
// Orientation. Bytes after IEND are dropped.
func scrubPNG(r *reader) (*Plan, error) {
	var (
		b       builder
		removed []string
		left    []string
	)
	b.copy(0, 8)
	off := int64(8)
	for {
		h, err := r.read(off, 8)
		if err != nil {
			return nil, &FormatError{Format: PNG, Offset: off, Msg: "truncated chunk header (no IEND)"}
		}
		n := int64(binary.BigEndian.Uint32(h))
		typ := string(h[4:8])
		if n > 1<<31-1 || n+12 > r.size-off {
			return nil, &FormatError{Format: PNG, Offset: off, Msg: fmt.Sprintf("chunk %q of %d bytes overruns the file", typ, n)}
		}
		for _, c := range []byte(typ) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return nil, &FormatError{Format: PNG, Offset: off, Msg: fmt.Sprintf("bad chunk type %q", typ)}
			}
		}
		total := n + 12
		critical := typ[0] >= 'A' && typ[0] <= 'Z'
		switch {
		case critical || pngKeep[typ]:
			b.copy(off, total)
		case typ == "eXIf":
			x := readEXIF(r, off+8, n)
			removed = append(removed, x.removed()...)
			if x.orientation > 1 {
				b.literal(pngChunk("eXIf", orientationTIFF(x.orientation)))
				left = append(left, fmt.Sprintf("EXIF Orientation %d (a new eXIf chunk holding only it)", x.orientation))
			}
		default:
			name := pngNames[typ]
			if name == "" {
				name = fmt.Sprintf("private chunk %q", typ)
			}
			removed = append(removed, name)
		}
		off += total
		if typ == "IEND" {
			break
		}
	}
	if off < r.size {
		removed = append(removed, "data after the end of the image")
	}
	if len(removed) == 0 {
		return identity(PNG, r.size), nil
	}
	return b.plan(PNG, removed, left), nil
}

func pngChunk(typ string, data []byte) []byte {
	c := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(c, uint32(len(data)))
	copy(c[4:], typ)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}
