//go:build js && wasm

// Package swstream serves bytes that only the page has (decrypted files,
// zips being built) at same-origin URLs, /stream/{id}, through the service
// worker (server/web/worker.js). The page registers a stream with a
// MessagePort; the worker answers GET /stream/{id} (with Range: 206
// partial responses, and Content-Disposition: attachment with ?download=1)
// by asking the page for bytes [off, off+n) over the port, one chunk each
// time the response's reader pulls: the browser's consumption paces the
// reading (backpressure), so a 4 GiB file never sits in memory. A read
// error errors the response body, and the browser marks the download
// failed instead of saving a truncated file as complete.
//
// ServeDirect registers a file the worker reads itself instead: the page
// hands over a download.Direct (where the ciphertext is, the segment
// hashes checked against the cap, the key), and the worker fetches, checks
// and decrypts it with WebCrypto, reporting progress, the end and failures
// on the port. Its bytes never cross the page's thread.
package swstream

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/communitycube/cube/shared/transfer/download"
	"github.com/communitycube/cube/wasm/aesctr"
	"github.com/communitycube/cube/wasm/fetch"
	"github.com/hack-pad/safejs"
)

// maxChunk bounds one answer to the worker.
const maxChunk = 1 << 20

// ErrNoWorker: the page is not controlled by the service worker (the very
// first load before it activated, or a hard reload that bypasses it).
var ErrNoWorker = errors.New("the app's service worker is not active in this tab yet: reload the page and try again")

// Server implements app.StreamServer.
type Server struct{}

var (
	keepMu    sync.Mutex
	live      int
	keepAlive chan struct{}
)

func controller() (safejs.Value, error) {
	nav, err := safejs.Global().Get("navigator")
	if err != nil {
		return safejs.Undefined(), err
	}
	sw, err := nav.Get("serviceWorker")
	if err != nil || sw.IsUndefined() {
		return safejs.Undefined(), ErrNoWorker
	}
	c, err := sw.Get("controller")
	if err != nil || c.IsNull() || c.IsUndefined() {
		return safejs.Undefined(), ErrNoWorker
	}
	return c, nil
}

func object() (safejs.Value, error) {
	o, err := safejs.Global().Get("Object")
	if err != nil {
		return o, err
	}
	return o.New()
}

// Serve makes r's bytes (size of them; size < 0: unknown, read until EOF,
// no Range) available at the returned URL until release. done, if not nil,
// is called once the last byte was handed over or a read failed.
func (Server) Serve(name, mime string, size int64, download bool, r io.ReaderAt, done func(error)) (string, func(), error) {
	s := &stream{r: r, size: size, done: done}
	return register(s, name, mime, download, nil)
}

// ServeDirect makes a verified file available at the returned URL until
// release, fetched, checked and decrypted by the worker itself
// (download.Direct): its bytes never pass through the page. activity, if
// not nil, is called as the worker makes progress; done, if not nil, once
// a response delivered the file's last byte or failed (a segment that
// fails its check: download.ErrTampered).
func (Server) ServeDirect(name, mime string, d download.Direct, download bool, activity func(), done func(error)) (string, func(), error) {
	if !aesctr.Available() {
		return "", nil, errNoSubtle
	}
	plan, err := directPlan(d)
	if err != nil {
		return "", nil, err
	}
	s := &stream{size: d.Size, done: done, activity: activity}
	return register(s, name, mime, download, plan)
}

var errNoSubtle = errors.New("WebCrypto is not available in this page")

// directPlan is d as the worker reads it (server/web/worker.js).
func directPlan(d download.Direct) (map[string]any, error) {
	hashes := make([]byte, 0, 32*len(d.SegmentHashes))
	for _, h := range d.SegmentHashes {
		hashes = append(hashes, h[:]...)
	}
	prefix, err1 := fetch.Bytes(d.HashPrefix)
	hashList, err2 := fetch.Bytes(hashes)
	key, err3 := fetch.Bytes(d.Key[:])
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	return map[string]any{
		"url": d.URL, "headers": fetch.Fields(d.Header), "size": float64(d.Size), "segSize": float64(d.SegmentSize),
		"prefix": prefix, "hashes": hashList, "key": key,
	}, nil
}

// register hands s to the worker under a new id, with a MessagePort on
// which the worker asks for bytes (plan nil) or reports a direct stream's
// progress.
func register(s *stream, name, mime string, download bool, plan map[string]any) (string, func(), error) {
	ctl, err := controller()
	if err != nil {
		return "", nil, err
	}
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	chanCtor, err := safejs.Global().Get("MessageChannel")
	if err != nil {
		return "", nil, err
	}
	ch, err := chanCtor.New()
	if err != nil {
		return "", nil, err
	}
	port1, _ := ch.Get("port1")
	port2, _ := ch.Get("port2")
	s.port = port1
	s.fn, err = safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		if len(args) == 0 {
			return nil
		}
		data, err := args[0].Get("data")
		if err != nil {
			return nil
		}
		if ev, err := data.Get("event"); err == nil && !ev.IsUndefined() {
			s.report(data)
			return nil
		}
		seq, err1 := getInt(data, "seq")
		off, err2 := getInt(data, "off")
		n, err3 := getInt(data, "n")
		if err1 != nil || err2 != nil || err3 != nil {
			return nil
		}
		// Never block in a JavaScript callback: the read waits for the
		// network and for WebCrypto.
		go s.answer(seq, int64(off), n)
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	port1.Set("onmessage", s.fn.Value())
	msg, err := object()
	if err != nil {
		s.fn.Release()
		return "", nil, err
	}
	msg.Set("cube", "stream")
	msg.Set("id", id)
	msg.Set("name", name)
	msg.Set("type", mime)
	msg.Set("size", float64(s.size))
	msg.Set("download", download)
	msg.Set("port", port2)
	if plan != nil {
		msg.Set("direct", plan)
	}
	arr, _ := safejs.Global().Get("Array")
	transfer, _ := arr.New()
	transfer.Call("push", port2)
	if _, err := ctl.Call("postMessage", msg, transfer); err != nil {
		s.fn.Release()
		return "", nil, err
	}
	startKeepAlive()
	var once sync.Once
	release := func() {
		once.Do(func() {
			if c, err := controller(); err == nil {
				m, _ := object()
				m.Set("cube", "close")
				m.Set("id", id)
				c.Call("postMessage", m)
			}
			s.close()
			stopKeepAlive()
		})
	}
	url := "/stream/" + id
	if download {
		url += "?download=1"
	}
	return url, release, nil
}

// Save starts the browser's download of url (a /stream/ URL with
// ?download=1) in a hidden iframe: the worker answers with an attachment,
// which goes to the download manager while the page stays where it is (a
// navigation of the page itself would show any error in place of the app).
func (Server) Save(url string) error {
	doc, err := safejs.Global().Get("document")
	if err != nil {
		return err
	}
	f, err := doc.Call("createElement", "iframe")
	if err != nil {
		return err
	}
	f.Call("setAttribute", "hidden", "")
	f.Call("setAttribute", "class", "stream-download")
	f.Set("src", url)
	body, err := doc.Get("body")
	if err != nil {
		return err
	}
	if _, err := body.Call("appendChild", f); err != nil {
		return err
	}
	// The download manager has the response long before this.
	time.AfterFunc(time.Minute, func() { f.Call("remove") })
	return nil
}

type stream struct {
	mu       sync.Mutex // one read at a time (zips are sequential)
	r        io.ReaderAt
	size     int64
	port     safejs.Value
	fn       safejs.Func
	done     func(error)
	activity func() // direct streams: the worker made progress
	closed   bool
	ended    bool
}

// report takes a direct stream's event from the worker: "progress",
// "end" (a response delivered the last byte) or "error" (with message,
// and tampered when a segment failed its check).
func (s *stream) report(data safejs.Value) {
	ev, _ := data.Get("event")
	kind, _ := ev.String()
	if s.activity != nil {
		go s.activity()
	}
	var err error
	switch kind {
	case "end":
	case "error":
		m, _ := data.Get("message")
		msg, _ := m.String()
		if t, e := data.Get("tampered"); e == nil {
			if b, e := t.Bool(); e == nil && b {
				err = fmt.Errorf("%w (%s)", download.ErrTampered, msg)
			}
		}
		if err == nil {
			err = errors.New(msg)
		}
	default:
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finish(err)
}

func getInt(v safejs.Value, name string) (int, error) {
	x, err := v.Get(name)
	if err != nil {
		return 0, err
	}
	return x.Int()
}

func (s *stream) answer(seq int, off int64, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if n > maxChunk {
		n = maxChunk
	}
	if n < 0 || off < 0 {
		n = 0
	}
	if s.size >= 0 && off+int64(n) > s.size {
		n = int(max(0, s.size-off))
	}
	buf := make([]byte, n)
	k, err := s.r.ReadAt(buf, off)
	if err == io.EOF && (k > 0 || s.size < 0 || off >= s.size) {
		err = nil
	}
	if err == nil && k < n && s.size >= 0 {
		err = io.ErrUnexpectedEOF
	}
	msg, _ := object()
	msg.Set("seq", seq)
	if err != nil {
		msg.Set("error", err.Error())
		s.port.Call("postMessage", msg)
		s.finish(err)
		return
	}
	u8, _ := safejs.Global().Get("Uint8Array")
	data, _ := u8.New(k)
	safejs.CopyBytesToJS(data, buf[:k])
	ab, _ := data.Get("buffer")
	msg.Set("data", ab)
	arr, _ := safejs.Global().Get("Array")
	transfer, _ := arr.New()
	transfer.Call("push", ab)
	s.port.Call("postMessage", msg, transfer)
	if k == 0 || (s.size >= 0 && off+int64(k) >= s.size) {
		s.finish(nil)
	}
}

// finish reports the end once (with s.mu held).
func (s *stream) finish(err error) {
	if s.ended || s.done == nil {
		s.ended = true
		return
	}
	s.ended = true
	done := s.done
	go done(err)
}

func (s *stream) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.port.Set("onmessage", safejs.Null())
	s.port.Call("close")
	s.fn.Release()
}

// The browser may stop an idle service worker even while a response it
// made is still streaming; while any stream is live, the page pings it.
func startKeepAlive() {
	keepMu.Lock()
	defer keepMu.Unlock()
	live++
	if live > 1 {
		return
	}
	stop := make(chan struct{})
	keepAlive = stop
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if c, err := controller(); err == nil {
					m, _ := object()
					m.Set("cube", "ping")
					c.Call("postMessage", m)
				}
			}
		}
	}()
}

func stopKeepAlive() {
	keepMu.Lock()
	defer keepMu.Unlock()
	live--
	if live == 0 && keepAlive != nil {
		close(keepAlive)
		keepAlive = nil
	}
}
