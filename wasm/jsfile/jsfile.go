//go:build js && wasm

// Package jsfile reads a JavaScript File or Blob from Go as an io.ReaderAt,
// without ever holding the whole file: each read slices the blob
// (blob.slice(a, b).arrayBuffer()) and copies the bytes into Go.
//
// A promise round trip costs far more than copying a few MiB, so reads go
// through a one-window cache: a read that misses fetches a whole window
// (4 MiB by default) starting at its offset, and the sequential small reads
// that follow (a scrubber's 64 KiB, an uploader's 1 MiB) are served from
// memory. Memory: one window.
//
// Every read blocks until the browser answers, so it must run on a goroutine
// of its own, never inside a JavaScript callback.
package jsfile

import (
	"errors"
	"io"
	"sync"
	"time"

	"github.com/communitycube/cube/wasm/fetch"
	"github.com/hack-pad/safejs"
)

// DefaultWindow is how many bytes a read that misses the cache fetches.
const DefaultWindow = 4 << 20

// ErrUnreadable is wrapped by read errors: the browser refused to read the
// file, usually because it changed or was removed on disk after the user
// picked it (Chrome then answers NotReadableError).
var ErrUnreadable = errors.New("the file can no longer be read (was it changed or moved since it was chosen?)")

// File is an io.ReaderAt over a JavaScript File or Blob. It is safe for
// concurrent use (reads are serialised).
type File struct {
	v            safejs.Value
	size         int64
	name, typ    string
	lastModified time.Time

	mu       sync.Mutex
	window   int
	cache    []byte // bytes [cacheOff, cacheOff+len(cache))
	cacheOff int64
	js       safejs.Value // scratch Uint8Array constructor
}

// New wraps v, a File or a Blob. Name and LastModified are empty for a Blob.
func New(v safejs.Value) (*File, error) {
	f := &File{v: v, window: DefaultWindow}
	sz, err := v.Get("size")
	if err != nil {
		return nil, err
	}
	s, err := sz.Float()
	if err != nil {
		return nil, errors.New("jsfile: not a File or Blob (no size)")
	}
	f.size = int64(s)
	if t, err := v.Get("type"); err == nil && !t.IsUndefined() {
		f.typ, _ = t.String()
	}
	if n, err := v.Get("name"); err == nil && !n.IsUndefined() {
		f.name, _ = n.String()
	}
	if lm, err := v.Get("lastModified"); err == nil && !lm.IsUndefined() {
		if ms, err := lm.Float(); err == nil {
			f.lastModified = time.UnixMilli(int64(ms))
		}
	}
	if f.js, err = safejs.Global().Get("Uint8Array"); err != nil {
		return nil, err
	}
	return f, nil
}

// SetWindow changes how many bytes a cache miss fetches (at least 64 KiB).
func (f *File) SetWindow(n int) {
	f.mu.Lock()
	f.window = max(n, 64<<10)
	f.mu.Unlock()
}

// Size is the file's length in bytes.
func (f *File) Size() int64 { return f.size }

// Name is the file's name without any path ("" for a Blob).
func (f *File) Name() string { return f.name }

// Type is the MIME type the browser guessed ("" when unknown).
func (f *File) Type() string { return f.typ }

// LastModified is the file's modification time (zero for a Blob).
func (f *File) LastModified() time.Time { return f.lastModified }

// Value is the underlying File or Blob.
func (f *File) Value() safejs.Value { return f.v }

// ReadAt implements io.ReaderAt.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("jsfile: negative offset")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for n < len(p) {
		at := off + int64(n)
		if at >= f.size {
			return n, io.EOF
		}
		if at >= f.cacheOff && at < f.cacheOff+int64(len(f.cache)) {
			n += copy(p[n:], f.cache[at-f.cacheOff:])
			continue
		}
		// A read at least a window long skips the cache: one slice, straight
		// into p.
		if want := int64(len(p) - n); want >= int64(f.window) {
			end := min(at+want, f.size)
			if err := f.read(p[n:n+int(end-at)], at); err != nil {
				return n, err
			}
			n += int(end - at)
			continue
		}
		end := min(at+int64(f.window), f.size)
		if cap(f.cache) < int(end-at) {
			f.cache = make([]byte, end-at, f.window)
		}
		f.cache = f.cache[:end-at]
		if err := f.read(f.cache, at); err != nil {
			f.cache = f.cache[:0]
			return n, err
		}
		f.cacheOff = at
	}
	return n, nil
}

// read fills dst with the bytes at off, which all exist.
func (f *File) read(dst []byte, off int64) error {
	slice, err := f.v.Call("slice", float64(off), float64(off+int64(len(dst))))
	if err != nil {
		return errors.Join(ErrUnreadable, err)
	}
	promise, err := slice.Call("arrayBuffer")
	if err != nil {
		return errors.Join(ErrUnreadable, err)
	}
	buf, err := fetch.Await(promise)
	if err != nil {
		return errors.Join(ErrUnreadable, err)
	}
	arr, err := f.js.New(buf)
	if err != nil {
		return err
	}
	got, err := safejs.CopyBytesToGo(dst, arr)
	if err != nil {
		return err
	}
	if got != len(dst) {
		// The blob is shorter than it said: it changed.
		return ErrUnreadable
	}
	return nil
}
