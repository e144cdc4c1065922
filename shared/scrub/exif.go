package scrub

import "encoding/binary"

// exifInfo is what the planners need to know of an EXIF block.
type exifInfo struct {
	orientation int  // 1 to 8, 0 when absent or unreadable
	gps         bool // IFD0 points to a GPS IFD
	thumbnail   bool // there is an IFD1 (the thumbnail's)
}

// removed names what an EXIF block held, for Plan.Removed.
func (x exifInfo) removed() []string {
	s := []string{"EXIF (camera, settings, dates)"}
	if x.gps {
		s = append(s, "EXIF GPS position")
	}
	if x.thumbnail {
		s = append(s, "EXIF thumbnail")
	}
	return s
}

// readEXIF reads the TIFF structure of n bytes at off. Only the header and IFD0's entries
// are read, so a large EXIF block costs a few hundred bytes. Unreadable blocks give the
// zero exifInfo: they are removed all the same.
func readEXIF(r *reader, off, n int64) (x exifInfo) {
	if n < 8 {
		return
	}
	h, err := r.read(off, 8)
	if err != nil {
		return
	}
	var bo binary.ByteOrder
	switch string(h[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return
	}
	ifd := int64(bo.Uint32(h[4:]))
	if ifd < 8 || ifd+2 > n {
		return
	}
	c, err := r.read(off+ifd, 2)
	if err != nil {
		return
	}
	count := int64(bo.Uint16(c))
	if ifd+2+count*12+4 > n {
		count = (n - ifd - 2) / 12
	}
	ents, err := r.read(off+ifd+2, int(count*12))
	if err != nil {
		return
	}
	for i := 0; i+12 <= len(ents); i += 12 {
		e := ents[i : i+12]
		switch bo.Uint16(e) {
		case 0x0112:
			// A SHORT with count 1 sits left-justified in the value field.
			if bo.Uint16(e[2:]) == 3 && bo.Uint32(e[4:]) == 1 {
				if v := int(bo.Uint16(e[8:])); v >= 1 && v <= 8 {
					x.orientation = v
				}
			}
		case 0x8825:
			x.gps = true
		}
	}
	if next, err := r.read(off+ifd+2+count*12, 4); err == nil && ifd+2+count*12+4 <= n {
		x.thumbnail = bo.Uint32(next) != 0
	}
	return
}

// orientationTIFF is a minimal big-endian TIFF structure holding only IFD0 with one
// Orientation entry: what a viewer needs to show a rotated image the right way up.
func orientationTIFF(o int) []byte {
	return []byte{
		'M', 'M', 0, 42, 0, 0, 0, 8, // header, IFD0 at 8
		0, 1, // one entry
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, byte(o), 0, 0, // Orientation SHORT 1 = o
		0, 0, 0, 0, // no next IFD (no thumbnail)
	}
}
