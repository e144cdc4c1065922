//go:build js && wasm

// Package upworker is upload.Worker for a file picked in the browser: the
// page's dedicated upload worker (/web/upload-worker.js, from assets/)
// reads the file, encrypts it with WebCrypto, hashes the ciphertext and
// sends it to the node, so that the bytes never cross the page's thread.
// One worker serves every upload of the page; messages carry the upload's
// id and a round number, so a late message of a stopped round is ignored.
package upworker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/scrub"
	"github.com/communitycube/cube/shared/transfer/upload"
	"github.com/communitycube/cube/wasm/aesctr"
	"github.com/communitycube/cube/wasm/fetch"
	"github.com/hack-pad/safejs"
)

// ScriptURL is where the node serves the worker.
const ScriptURL = "/web/upload-worker.js"

// proxyFunc is the page's half of the worker (/web/upload-page.js), which
// makes the worker's requests.
const proxyFunc = "cubeUploadProxy"

// Worker sends one upload (upload.Worker).
type Worker struct {
	id    string
	file  safejs.Value
	parts []scrub.Part
}

// New returns the Worker for file (a JavaScript File or Blob) whose upload
// is parts over it, or nil when this page cannot run one (no Worker, no
// WebCrypto, no page half /web/upload-page.js to make its requests: then
// the upload sends by itself).
func New(file safejs.Value, parts []scrub.Part) upload.Worker {
	mu.Lock()
	dead := broken
	mu.Unlock()
	if dead || file.IsUndefined() || file.IsNull() || !aesctr.Available() {
		return nil
	}
	if w, err := safejs.Global().Get("Worker"); err != nil || w.IsUndefined() {
		return nil
	}
	if p, err := safejs.Global().Get(proxyFunc); err != nil || p.Type() != safejs.TypeFunction {
		return nil
	}
	var b [12]byte
	rand.Read(b[:])
	return &Worker{id: hex.EncodeToString(b[:]), file: file, parts: parts}
}

// The page's one worker and the rounds waiting for its messages.
var (
	mu      sync.Mutex
	started bool
	broken  bool // the script failed to load or run: uploads send by themselves
	worker  safejs.Value
	onMsg   safejs.Func
	waiting = map[string]*round{} // by id
	rounds  int
)

// round is one Send waiting for the worker.
type round struct {
	n     int
	acked func(int64)
	done  chan result
}

type result struct {
	segments [][32]byte
	err      error
}

// maxSegments bounds the segment hashes taken from the worker (a 1 TiB
// file of 64 KiB segments).
const maxSegments = 1 << 24

// start returns the worker, starting it on first use.
func start() (safejs.Value, error) {
	if started {
		return worker, nil
	}
	ctor, err := safejs.Global().Get("Worker")
	if err != nil {
		return safejs.Undefined(), err
	}
	w, err := ctor.New(ScriptURL)
	if err != nil {
		return safejs.Undefined(), err
	}
	onMsg, err = safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		if len(args) > 0 {
			if data, err := args[0].Get("data"); err == nil {
				receive(data)
			}
		}
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	w.Set("onmessage", onMsg.Value())
	// The page makes the worker's requests (/web/upload-page.js): a
	// dedicated worker's requests pass through the service worker, which
	// holds their bodies in memory (docs/files.md, "Direct uploads").
	if _, err := safejs.Global().Call(proxyFunc, w); err != nil {
		return safejs.Undefined(), err
	}
	onErr, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		failAll()
		return nil
	})
	if err == nil {
		w.Set("onerror", onErr.Value())
	}
	worker, started = w, true
	return w, nil
}

// receive dispatches a message of the worker to its round. It runs in a
// JavaScript callback: it must not block.
func receive(data safejs.Value) {
	id := str(data, "id")
	n := num(data, "round")
	mu.Lock()
	r := waiting[id]
	mu.Unlock()
	if r == nil || r.n != int(n) {
		return
	}
	switch str(data, "type") {
	case "acked":
		go r.acked(int64(num(data, "received")))
	case "done":
		r.finish(segments(data))
	case "error":
		we := &upload.WorkerError{Kind: str(data, "kind"), Status: int(num(data, "status")), Message: str(data, "message")}
		if b, err := data.Get("body"); err == nil && !b.IsNull() && !b.IsUndefined() {
			we.Body, _ = fetch.GoBytes(b, api.MaxResponse)
		}
		r.finish(result{err: we})
	}
}

// segments reads the "done" message's segment hashes (32 bytes each).
func segments(data safejs.Value) result {
	v, err := data.Get("segments")
	var b []byte
	if err == nil {
		b, err = fetch.GoBytes(v, 32*maxSegments)
	}
	if err != nil || len(b)%32 != 0 {
		return result{err: &upload.WorkerError{Kind: "protocol", Message: "the upload worker gave no segment hashes"}}
	}
	out := make([][32]byte, len(b)/32)
	for i := range out {
		copy(out[i][:], b[32*i:])
	}
	return result{segments: out}
}

// failAll ends every waiting round: the worker's script did not load (or
// threw). The Upload then sends by itself (WorkerError kind "unavailable").
func failAll() {
	mu.Lock()
	broken = true
	rs := make([]*round, 0, len(waiting))
	for _, r := range waiting {
		rs = append(rs, r)
	}
	mu.Unlock()
	for _, r := range rs {
		r.finish(result{err: &upload.WorkerError{Kind: "unavailable", Message: "the upload worker did not start"}})
	}
}

func (r *round) finish(res result) {
	select {
	case r.done <- res:
	default:
	}
}

// Send implements upload.Worker.
func (w *Worker) Send(ctx context.Context, job upload.WorkerJob, acked func(int64)) ([][32]byte, error) {
	mu.Lock()
	wk, err := start()
	if err != nil || broken {
		broken = true
		mu.Unlock()
		return nil, &upload.WorkerError{Kind: "unavailable", Message: "the upload worker cannot start"}
	}
	rounds++
	r := &round{n: rounds, acked: acked, done: make(chan result, 1)}
	waiting[w.id] = r
	mu.Unlock()
	defer func() {
		mu.Lock()
		if waiting[w.id] == r {
			delete(waiting, w.id)
		}
		mu.Unlock()
	}()
	msg, err := w.message(job, r.n)
	if err == nil {
		_, err = wk.Call("postMessage", msg)
	}
	if err != nil {
		return nil, &upload.WorkerError{Kind: "unavailable", Message: "the upload worker cannot take the file: " + err.Error()}
	}
	select {
	case res := <-r.done:
		return res.segments, res.err
	case <-ctx.Done():
		wk.Call("postMessage", map[string]any{"type": "abort", "id": w.id})
		return nil, ctx.Err()
	}
}

// message is the worker's "send" message for job.
func (w *Worker) message(job upload.WorkerJob, n int) (map[string]any, error) {
	parts := make([]any, len(w.parts))
	for i, p := range w.parts {
		if p.Data == nil {
			parts[i] = map[string]any{"off": float64(p.Off), "len": float64(p.Len)}
			continue
		}
		data, err := fetch.Bytes(p.Data)
		if err != nil {
			return nil, err
		}
		parts[i] = map[string]any{"data": data}
	}
	key, err1 := fetch.Bytes(job.Key[:])
	prefix, err2 := fetch.Bytes(job.Prefix)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	return map[string]any{
		"type": "send", "id": w.id, "round": n, "file": w.file, "parts": parts,
		"from": float64(job.From), "size": float64(job.Size), "key": key,
		"url": job.URL, "headers": fetch.Fields(job.Header),
		"chunk": job.ChunkSize, "inFlight": job.InFlight, "segment": float64(job.SegmentSize), "prefix": prefix,
	}, nil
}

func str(v safejs.Value, name string) string {
	x, err := v.Get(name)
	if err != nil {
		return ""
	}
	s, _ := x.String()
	return s
}

func num(v safejs.Value, name string) float64 {
	x, err := v.Get(name)
	if err != nil {
		return 0
	}
	f, _ := x.Float()
	return f
}
