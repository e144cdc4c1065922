package vault

import (
	"bytes"
	"fmt"
	"math"
	"time"

	"github.com/communitycube/cube/shared/cap"
)

// The metadata the node keeps sealed, one blob per node (FolderMeta or
// FileMeta, sealed with SealMeta under the parent folder's metadata key in
// MetaSlot(node id)) and one per file version (VersionMeta, under the file's
// metadata key in VersionSlot(node id, version id)). Encoding: CBOR,
// docs/spec/keys.md §7. Decoding is strict (the exact encoding Marshal
// produces, or ErrCorrupt; an unknown "v" gives ErrVersion) and every field
// is checked as Marshal checks it. Times are kept to the nanosecond and come
// back in UTC; the zero time means "unknown" and is not stored.

// FolderMeta is a folder's sealed metadata.
type FolderMeta struct {
	Name     string    // see ValidateName
	Created  time.Time // optional
	Modified time.Time // optional
}

// FileMeta is a file's sealed metadata: what a listing shows. Its content
// (read cap, type) is in the current version's VersionMeta.
type FileMeta struct {
	Name     string    // see ValidateName
	Size     int64     // bytes of the current version
	Modified time.Time // optional: the current version's modification time
}

// VersionMeta is the sealed metadata of one version of a file.
type VersionMeta struct {
	// Cap is the version's read cap, URI:CHK:… or URI:LIT:… (shared/cap).
	// It holds the content key, and the size.
	Cap      string
	MIME     string    // optional; printable ASCII
	Modified time.Time // optional: the modification time of what was uploaded
	// Thumbnail is optional: a small image (JPEG or PNG made by the
	// client) as a LIT cap, so it lives inside this sealed blob and costs
	// no upload of its own (at most MaxThumbnail bytes of image).
	Thumbnail string
	// Scrubbed lists what metadata scrubbing removed from the content
	// (shared/scrub's names), if any.
	Scrubbed []string
}

// MaxThumbnail bounds a thumbnail image inside a VersionMeta.
const MaxThumbnail = 24 << 10

// Metadata limits.
const (
	metaVersion    = 1
	maxCapLen      = 512
	maxThumbCapLen = len("URI:LIT:") + (MaxThumbnail*8+4)/5
	maxMIMELen     = 255
	maxScrubbed    = 64
	maxScrubbedLen = 128
)

const (
	kindFolder  = "folder"
	kindFile    = "file"
	kindVersion = "version"
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidMeta, fmt.Sprintf(format, args...))
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

func checkTime(what string, t time.Time) error {
	if !t.IsZero() && (t.Before(minTime) || t.After(maxTime)) {
		return invalid("%s %v is outside 1678–2262", what, t)
	}
	return nil
}

func addTime(m *cborMap, key string, t time.Time) {
	if !t.IsZero() {
		m.addInt(key, t.UnixNano())
	}
}

func readTime(r *cborReader, what string) (time.Time, error) {
	n, err := r.int(what)
	return time.Unix(0, n).UTC(), err
}

// checkReadCap checks that s is a read cap (CHK or LIT).
func checkReadCap(what, s string) error {
	if len(s) > maxCapLen {
		return invalid("%s of %d bytes", what, len(s))
	}
	c, err := cap.Parse(s)
	if err != nil {
		return invalid("%s: %v", what, err)
	}
	switch c.(type) {
	case cap.CHK, cap.LIT:
		return nil
	}
	return invalid("%s: not a read cap", what)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Validate reports whether m can be stored (ErrInvalidMeta or ErrInvalidName).
func (m *FolderMeta) Validate() error {
	if err := ValidateName(m.Name); err != nil {
		return err
	}
	if err := checkTime("created", m.Created); err != nil {
		return err
	}
	return checkTime("modified", m.Modified)
}

// Validate reports whether m can be stored (ErrInvalidMeta or ErrInvalidName).
func (m *FileMeta) Validate() error {
	if err := ValidateName(m.Name); err != nil {
		return err
	}
	if m.Size < 0 {
		return invalid("negative size %d", m.Size)
	}
	return checkTime("modified", m.Modified)
}

// Validate reports whether m can be stored (ErrInvalidMeta).
func (m *VersionMeta) Validate() error {
	if err := checkReadCap("cap", m.Cap); err != nil {
		return err
	}
	if m.Thumbnail != "" {
		if len(m.Thumbnail) > maxThumbCapLen {
			return invalid("thumbnail of %d bytes", len(m.Thumbnail))
		}
		if _, err := cap.ParseLIT(m.Thumbnail); err != nil {
			return invalid("thumbnail: not a LIT cap: %v", err)
		}
	}
	if len(m.MIME) > maxMIMELen || !printableASCII(m.MIME) {
		return invalid("MIME type must be at most %d bytes of printable ASCII", maxMIMELen)
	}
	if len(m.Scrubbed) > maxScrubbed {
		return invalid("%d scrubbed entries (at most %d)", len(m.Scrubbed), maxScrubbed)
	}
	for _, s := range m.Scrubbed {
		if s == "" || len(s) > maxScrubbedLen || !printableASCII(s) {
			return invalid("scrubbed entry %q: 1 to %d bytes of printable ASCII", s, maxScrubbedLen)
		}
	}
	return checkTime("modified", m.Modified)
}

func header(kind string) *cborMap {
	var m cborMap
	m.addUint("v", metaVersion)
	m.addText("kind", kind)
	return &m
}

// Marshal encodes m (docs/spec/keys.md §7.3).
func (m *FolderMeta) Marshal() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	c := header(kindFolder)
	c.addText("name", m.Name)
	addTime(c, "created", m.Created)
	addTime(c, "modified", m.Modified)
	return c.encode(), nil
}

// Marshal encodes m (docs/spec/keys.md §7.4).
func (m *FileMeta) Marshal() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	c := header(kindFile)
	c.addText("name", m.Name)
	c.addUint("size", uint64(m.Size))
	addTime(c, "modified", m.Modified)
	return c.encode(), nil
}

// Marshal encodes m (docs/spec/keys.md §7.5).
func (m *VersionMeta) Marshal() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	c := header(kindVersion)
	c.addText("cap", m.Cap)
	if m.MIME != "" {
		c.addText("mime", m.MIME)
	}
	addTime(c, "modified", m.Modified)
	if m.Thumbnail != "" {
		c.addText("thumb", m.Thumbnail)
	}
	if len(m.Scrubbed) > 0 {
		c.addTexts("scrubbed", m.Scrubbed)
	}
	return c.encode(), nil
}

// decodeMeta reads a metadata map of the given kind, handing every other
// field to field, then checks that re-encoding gives data back (so there is
// one encoding per value: no empty optional fields, for instance).
func decodeMeta(data []byte, kind string, maxPairs int, field func(r *cborReader, key string) error, validate func() error, marshal func() ([]byte, error)) error {
	if len(data) > MaxMetaSize {
		return fmt.Errorf("%w: %s metadata of %d bytes", ErrCorrupt, kind, len(data))
	}
	r := &cborReader{b: data}
	var gotKind string
	err := r.fields(kind+" metadata", maxPairs, func(key string) error {
		switch key {
		case "v":
			v, err := r.uint(key, math.MaxUint32)
			if err == nil && v != metaVersion {
				err = fmt.Errorf("%w: %s metadata version %d", ErrVersion, kind, v)
			}
			return err
		case "kind":
			var err error
			if gotKind, err = r.text(key, 16); err == nil && gotKind != kind {
				err = fmt.Errorf("%w: %s metadata expected, found %q", ErrCorrupt, kind, gotKind)
			}
			return err
		}
		return field(r, key)
	})
	if err == nil {
		err = r.end()
	}
	if err != nil {
		return err
	}
	if gotKind == "" {
		return fmt.Errorf("%w: %s metadata without version or kind", ErrCorrupt, kind)
	}
	if err := validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	again, err := marshal()
	if err != nil || !bytes.Equal(again, data) {
		return fmt.Errorf("%w: %s metadata: not in canonical form (or a required field is missing)", ErrCorrupt, kind)
	}
	return nil
}

// UnmarshalFolderMeta decodes what FolderMeta.Marshal encodes.
func UnmarshalFolderMeta(data []byte) (*FolderMeta, error) {
	m := &FolderMeta{}
	err := decodeMeta(data, kindFolder, 5, func(r *cborReader, key string) (err error) {
		switch key {
		case "name":
			m.Name, err = r.text(key, MaxNameSize)
		case "created":
			m.Created, err = readTime(r, key)
		case "modified":
			m.Modified, err = readTime(r, key)
		default:
			err = r.unknown("folder metadata", key)
		}
		return err
	}, m.Validate, m.Marshal)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// UnmarshalFileMeta decodes what FileMeta.Marshal encodes.
func UnmarshalFileMeta(data []byte) (*FileMeta, error) {
	m := &FileMeta{}
	err := decodeMeta(data, kindFile, 5, func(r *cborReader, key string) (err error) {
		switch key {
		case "name":
			m.Name, err = r.text(key, MaxNameSize)
		case "size":
			var n uint64
			n, err = r.uint(key, math.MaxInt64)
			m.Size = int64(n)
		case "modified":
			m.Modified, err = readTime(r, key)
		default:
			err = r.unknown("file metadata", key)
		}
		return err
	}, m.Validate, m.Marshal)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// UnmarshalVersionMeta decodes what VersionMeta.Marshal encodes.
func UnmarshalVersionMeta(data []byte) (*VersionMeta, error) {
	m := &VersionMeta{}
	err := decodeMeta(data, kindVersion, 7, func(r *cborReader, key string) (err error) {
		switch key {
		case "cap":
			m.Cap, err = r.text(key, maxCapLen)
		case "mime":
			m.MIME, err = r.text(key, maxMIMELen)
		case "modified":
			m.Modified, err = readTime(r, key)
		case "thumb":
			m.Thumbnail, err = r.text(key, maxThumbCapLen)
		case "scrubbed":
			m.Scrubbed, err = r.texts(key, maxScrubbed, maxScrubbedLen)
		default:
			err = r.unknown("version metadata", key)
		}
		return err
	}, m.Validate, m.Marshal)
	if err != nil {
		return nil, err
	}
	return m, nil
}
