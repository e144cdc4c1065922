package app

// Downloads: one file is streamed to disk through the service worker
// (wasm/swstream, server/web/worker.js), verified and decrypted as the
// browser's download manager pulls it; several items or a folder become one
// zip built in the browser as a stream (shared/zipstream). Nothing is held
// in memory whole, and a failure (a tampered file, the node gone) errors
// the stream, so the browser marks the download failed instead of keeping
// a truncated file as complete.

import (
	"context"
	"errors"
	"io"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/communitycube/cube/shared/drive"
	"github.com/communitycube/cube/shared/transfer/download"
	"github.com/communitycube/cube/shared/zipstream"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// StreamServer serves bytes the page holds at a same-origin URL
// (wasm/swstream in the browser).
type StreamServer interface {
	// Serve makes size bytes of r (size < 0: unknown, read in order until
	// io.EOF) available at the returned URL, as an attachment named name
	// if download, else inline as mime (with Range requests when the size
	// is known). done (if not nil) is called once the last byte was handed
	// over or a read failed. release ends the stream.
	Serve(name, mime string, size int64, download bool, r io.ReaderAt, done func(error)) (url string, release func(), err error)
	// ServeDirect is Serve for a file the worker fetches, checks and
	// decrypts itself (download.Direct), so its bytes never pass through
	// the page's thread. activity (if not nil) is called as the worker
	// makes progress.
	ServeDirect(name, mime string, d download.Direct, download bool, activity func(), done func(error)) (url string, release func(), err error)
	// Save starts the browser's download of a URL Serve returned.
	Save(url string) error
}

var streamServer StreamServer

// SetStreamServer installs the service worker bridge (cmd/cubeweb).
func SetStreamServer(s StreamServer) { streamServer = s }

// errNoStreams: the browser side is missing (never in the real app).
var errNoStreams = errors.New("downloads need the app's service worker, which is not available here")

// fallbackMax is the largest file saved through an in-memory blob when the
// service worker does not control the tab (first visit, hard reload).
const fallbackMax = 64 << 20

// idleRelease ends a download's stream once nothing was read from it for
// this long: finished (a download manager may still come back with a Range
// request to resume, so not at once), failed, or canceled in the browser.
const idleRelease = 2 * time.Minute

func startDownload(ctx app.Context, d itemSource, items []drive.Item, name string) {
	if app.IsServer || d == nil || len(items) == 0 {
		return
	}
	if len(items) == 1 && !items[0].Folder {
		it := items[0]
		ctx.Async(func() {
			if err := downloadFile(d, it); err != nil {
				notifyError("Downloading " + it.Name + " failed: " + downloadError(err))
			}
		})
		return
	}
	switch {
	case name != "":
	case len(items) == 1:
		name = items[0].Name + ".zip"
	default:
		name = "files.zip"
	}
	ctx.Async(func() {
		if err := downloadZip(d, items, name); err != nil {
			notifyError("Downloading " + name + " failed: " + downloadError(err))
		}
	})
}

func downloadError(err error) string {
	if errors.Is(err, download.ErrTampered) {
		return "the file failed verification: it was tampered with or damaged on the node."
	}
	return errorText(err)
}

// downloadFile streams one file to the browser's download manager.
func downloadFile(d itemSource, it drive.Item) error {
	// The download outlives the page component that asked for it.
	f, v, err := d.Open(context.Background(), it.ID, "")
	if err != nil {
		return err
	}
	mime := v.MIME
	if streamServer == nil {
		return errNoStreams
	}
	w := &watchedReaderAt{r: f}
	// A failure the worker reports (the download manager only says
	// "failed") is said in the page too.
	done := func(err error) {
		if err != nil {
			notifyError("Downloading " + it.Name + " failed: " + downloadError(err))
		}
	}
	url, release, err := serveFile(it.Name, mime, f, true, w, done)
	if err != nil {
		if f.Size() <= fallbackMax {
			return saveSmall(f, it.Name, mime)
		}
		return err
	}
	if err := streamServer.Save(url); err != nil {
		release()
		return err
	}
	w.releaseWhenIdle(release)
	return nil
}

// serveFile serves f through the worker: directly when it can fetch, check
// and decrypt f itself, else read through w (f, watched). Every read or
// progress of the worker counts as w's activity.
func serveFile(name, mime string, f drive.File, attach bool, w *watchedReaderAt, done func(error)) (string, func(), error) {
	if r, ok := f.(*download.Reader); ok {
		if d, ok := r.Direct(); ok {
			url, release, err := streamServer.ServeDirect(name, mime, d, attach, w.touch, done)
			if err == nil {
				return url, release, nil
			}
		}
	}
	return streamServer.Serve(name, mime, f.Size(), attach, w, done)
}

// saveSmall downloads a small file through a blob URL, in memory.
func saveSmall(f drive.File, name, mime string) error {
	b := make([]byte, f.Size())
	if _, err := f.ReadAt(b, 0); err != nil && !(errors.Is(err, io.EOF) && int64(len(b)) == f.Size()) {
		return err
	}
	u := blobURL(b, mime)
	doc := app.Window().Get("document")
	a := doc.Call("createElement", "a")
	a.Set("href", u)
	a.Set("download", name)
	doc.Get("body").Call("appendChild", a)
	a.Call("click")
	a.Call("remove")
	time.AfterFunc(time.Minute, func() { app.Window().Get("URL").Call("revokeObjectURL", u) })
	return nil
}

// blobURL returns an object URL of b (revoke it when done).
func blobURL(b []byte, mime string) string {
	w := app.Window()
	u8 := w.Get("Uint8Array").New(len(b))
	app.CopyBytesToJS(u8, b)
	parts := w.Get("Array").New()
	parts.Call("push", u8)
	blob := w.Get("Blob").New(parts, map[string]any{"type": mime})
	return w.Get("URL").Call("createObjectURL", blob).String()
}

// zipEntry is one file or empty folder of a zip download.
type zipEntry struct {
	path string
	item drive.Item
}

// collect lists the files under items, with paths relative to the
// selection ("holiday/day 1/a.jpg").
func collectZip(ctx context.Context, d itemSource, items []drive.Item, dir string, out *[]zipEntry) error {
	for _, it := range items {
		p := path.Join(dir, strings.ReplaceAll(it.Name, "/", "_"))
		if !it.Folder {
			*out = append(*out, zipEntry{p, it})
			continue
		}
		kids, err := d.List(ctx, it.ID)
		if err != nil {
			return err
		}
		if len(kids) == 0 {
			*out = append(*out, zipEntry{p, it})
			continue
		}
		if err := collectZip(ctx, d, kids, p, out); err != nil {
			return err
		}
	}
	return nil
}

// downloadZip streams a zip of items: the archive is written on the fly
// into a pipe that the download manager drains, one file at a time.
func downloadZip(d itemSource, items []drive.Item, name string) error {
	if streamServer == nil {
		return errNoStreams
	}
	bg := context.Background()
	var entries []zipEntry
	if err := collectZip(bg, d, items, "", &entries); err != nil {
		return err
	}
	pr, pw := io.Pipe()
	w := &watchedReaderAt{r: &sequentialReaderAt{r: pr}}
	url, release, err := streamServer.Serve(name, "application/zip", -1, true, w, nil)
	if err != nil {
		return err
	}
	go func() { pw.CloseWithError(writeZip(bg, d, entries, pw)) }()
	if err := streamServer.Save(url); err != nil {
		pr.CloseWithError(err)
		release()
		return err
	}
	w.releaseWhenIdle(func() {
		pr.CloseWithError(errors.New("the download was abandoned"))
		release()
	})
	return nil
}

func writeZip(ctx context.Context, d itemSource, entries []zipEntry, w io.Writer) error {
	z := zipstream.NewWriter(w)
	for _, e := range entries {
		mod := e.item.Modified
		if e.item.Folder {
			if err := z.Mkdir(e.path, mod); err != nil {
				return err
			}
			continue
		}
		f, _, err := d.Open(ctx, e.item.ID, "")
		if err != nil {
			return errors.New(e.path + ": " + err.Error())
		}
		fw, err := z.Create(e.path, mod)
		if err != nil {
			return err
		}
		if _, err := f.WriteTo(fw); err != nil {
			return errors.New(e.path + ": " + err.Error())
		}
	}
	return z.Close()
}

// sequentialReaderAt reads a stream in order: the service worker asks for
// consecutive ranges of a stream of unknown size.
type sequentialReaderAt struct {
	r   io.Reader
	pos int64
}

func (s *sequentialReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off != s.pos {
		return 0, errors.New("a zip being built can only be read in order")
	}
	n, err := io.ReadFull(s.r, p)
	s.pos += int64(n)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}

// watchedReaderAt notes when it was last read, to release idle streams.
type watchedReaderAt struct {
	r       io.ReaderAt
	mu      sync.Mutex
	last    time.Time
	reading int
}

// touch counts as a read (a direct stream's progress).
func (w *watchedReaderAt) touch() {
	w.mu.Lock()
	w.last = time.Now()
	w.mu.Unlock()
}

func (w *watchedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	w.mu.Lock()
	w.reading++
	w.mu.Unlock()
	n, err := w.r.ReadAt(p, off)
	w.mu.Lock()
	w.reading--
	w.last = time.Now()
	w.mu.Unlock()
	return n, err
}

// releaseWhenIdle calls release once w was not read for idleRelease.
func (w *watchedReaderAt) releaseWhenIdle(release func()) {
	w.mu.Lock()
	if w.last.IsZero() {
		w.last = time.Now()
	}
	w.mu.Unlock()
	go func() {
		t := time.NewTicker(idleRelease / 4)
		defer t.Stop()
		for range t.C {
			w.mu.Lock()
			idle := w.reading == 0 && time.Since(w.last) >= idleRelease
			w.mu.Unlock()
			if idle {
				release()
				return
			}
		}
	}()
}
