// Package zipstream writes a ZIP archive as a stream: entries are stored
// (not compressed: the content is mostly photos and videos, and the bytes
// must flow at disk speed), each followed by a data descriptor carrying its
// CRC-32 and sizes, so nothing is ever seeked back to; ZIP64 records are
// used where an entry or the archive passes 4 GiB; names are UTF-8 (flag
// bit 11). The browser uses it to save several files or a folder as one
// download without holding any of it in memory (app/download.go).
//
// The format is the one archive/zip's Writer produces for stored entries,
// which is built on exactly these choices; this package fixes the options
// (store, UTF-8, modification times, directory entries, safe names) so the
// browser and the CLI write the same archives.
package zipstream

import (
	"archive/zip"
	"errors"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// Writer writes one archive.
type Writer struct {
	z     *zip.Writer
	names map[string]bool
	err   error
}

// NewWriter starts an archive on w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{z: zip.NewWriter(w), names: map[string]bool{}}
}

// ErrName is returned for a name that cannot be a safe archive path.
var ErrName = errors.New("zipstream: unsafe entry name")

// CleanName makes a relative slash-separated path out of name: no leading
// slash, no "." or ".." elements, no backslashes (which Windows tools read
// as separators); "" if nothing is left.
func CleanName(name string) string {
	name = strings.ReplaceAll(name, "\\", "_")
	var parts []string
	for _, p := range strings.Split(name, "/") {
		if p == "" || p == "." || p == ".." {
			continue
		}
		parts = append(parts, p)
	}
	return path.Join(parts...)
}

// unique returns name, or "name (2).ext" and so on if it is taken.
func (w *Writer) unique(name string) string {
	if !w.names[name] {
		w.names[name] = true
		return name
	}
	ext := path.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for i := 2; ; i++ {
		n := base + " (" + itoa(i) + ")" + ext
		if !w.names[n] {
			w.names[n] = true
			return n
		}
	}
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}

// Create adds a file entry and returns the writer of its content, valid
// until the next Create, Mkdir or Close. A name already in the archive gets
// " (2)" and so on before its extension.
func (w *Writer) Create(name string, modified time.Time) (io.Writer, error) {
	if w.err != nil {
		return nil, w.err
	}
	name = CleanName(name)
	if name == "" {
		return nil, ErrName
	}
	fh := &zip.FileHeader{Name: w.unique(name), Method: zip.Store, Modified: modified, NonUTF8: false}
	fh.SetMode(0o644)
	fw, err := w.z.CreateHeader(fh)
	if err != nil {
		w.err = err
		return nil, err
	}
	return fw, nil
}

// Mkdir adds a directory entry (useful for empty folders).
func (w *Writer) Mkdir(name string, modified time.Time) error {
	if w.err != nil {
		return w.err
	}
	name = CleanName(name)
	if name == "" {
		return ErrName
	}
	name += "/"
	if w.names[name] {
		return nil
	}
	w.names[name] = true
	fh := &zip.FileHeader{Name: name, Method: zip.Store, Modified: modified}
	fh.SetMode(fs.ModeDir | 0o755)
	_, err := w.z.CreateHeader(fh)
	if err != nil {
		w.err = err
	}
	return err
}

// Close writes the central directory (with its ZIP64 end records if
// needed). It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	w.err = errors.New("zipstream: closed")
	return w.z.Close()
}
