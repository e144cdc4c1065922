package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/transfer"
	"github.com/communitycube/cube/shared/transfer/transfertest"
)

// goWorker does in Go what the browser's upload worker does in JavaScript
// (assets/upload-worker.js): it reads the source itself, encrypts, hashes
// each segment (keeping the hashes between rounds, reading again only what
// it has not hashed) and PATCHes the job's URL with the job's headers, so
// the Upload's side of the contract is tested here.
type goWorker struct {
	tr       api.Transport
	src      io.ReaderAt
	h        hash.Hash // of the current segment
	segments [][32]byte
	hashed   int64
	read     int64 // bytes read from src, all rounds
	rounds   int
	// dropSegment, if set, leaves the last segment's hash out (a broken
	// worker).
	dropSegment bool
	// onChunk, if set, is called before each PATCH with its offset; an
	// error stops the round as a network failure would.
	onChunk func(ctx context.Context, off int64) error
}

// hash feeds ciphertext bytes b, which start at offset off, to the
// segment hashes.
func (w *goWorker) hash(job WorkerJob, off int64, b []byte) {
	for len(b) > 0 {
		if w.h == nil {
			w.h = sha256.New()
			w.h.Write(job.Prefix)
		}
		end := min((off/job.SegmentSize+1)*job.SegmentSize, job.Size)
		n := min(end-off, int64(len(b)))
		w.h.Write(b[:n])
		off, b = off+n, b[n:]
		if off == end {
			var inner [32]byte
			w.h.Sum(inner[:0])
			w.segments = append(w.segments, inner)
			w.h = nil
		}
	}
}

func (w *goWorker) Send(ctx context.Context, job WorkerJob, acked func(int64)) (segments [][32]byte, err error) {
	w.rounds++
	for off := min(job.From, w.hashed); off < job.Size; {
		n := min(int64(job.ChunkSize), job.Size-off)
		if off < job.From {
			n = min(n, job.From-off)
		}
		b := make([]byte, n)
		if _, err := w.src.ReadAt(b, off); err != nil && err != io.EOF {
			return nil, &WorkerError{Kind: "source", Message: err.Error()}
		}
		w.read += n
		chk.NewCTR(job.Key, off).XORKeyStream(b, b)
		if end := off + n; end > w.hashed {
			w.hash(job, w.hashed, b[w.hashed-off:])
			w.hashed = end
		}
		if off >= job.From {
			if w.onChunk != nil {
				if err := w.onChunk(ctx, off); err != nil {
					return nil, err
				}
			}
			h := map[string]string{"Content-Range": fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, job.Size)}
			for k, v := range job.Header {
				h[k] = v
			}
			resp, err := w.tr.RoundTrip(ctx, &api.Request{Method: http.MethodPatch, URL: job.URL, Header: h, Body: b})
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, &WorkerError{Kind: "offline", Message: err.Error()}
			}
			if resp.Status >= 300 {
				return nil, &WorkerError{Kind: "http", Status: resp.Status, Body: resp.Body}
			}
			var st api.UploadStatus
			if err := json.Unmarshal(resp.Body, &st); err != nil {
				return nil, &WorkerError{Kind: "protocol", Message: err.Error()}
			}
			acked(st.Received)
		}
		off += n
	}
	if w.dropSegment {
		return w.segments[:len(w.segments)-1], nil
	}
	return w.segments, nil
}

// A Worker sends the whole file; the Upload checks the node's answer
// against the Worker's hash and forms the cap. The CSRF header reaches the
// node (the fake node needs it on PATCH).
func TestUploadThroughWorker(t *testing.T) {
	node := transfertest.NewNode()
	plain := randomBytes(t, 300<<10+7)
	w := &goWorker{tr: node, src: bytes.NewReader(plain)}
	var csrf []string
	var mu sync.Mutex
	node.Intercept = func(r *api.Request, next func() (*api.Response, error)) (*api.Response, error) {
		if r.Method == http.MethodPatch {
			mu.Lock()
			csrf = append(csrf, r.Header[api.CSRFHeader])
			mu.Unlock()
		}
		return next()
	}
	var last transfer.Progress
	u, key := newUpload(t, node, plain, func(o *Options) {
		o.Worker = w
		o.Progress = func(p transfer.Progress) { last = p }
	})
	res, err := u.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkStored(t, node, res, key, plain)
	if w.rounds != 1 || w.read != int64(len(plain)) {
		t.Fatalf("%d rounds, %d bytes read", w.rounds, w.read)
	}
	if last.Done != int64(len(plain)) {
		t.Fatalf("last progress %+v", last)
	}
	if len(csrf) == 0 || csrf[0] != "csrf" {
		t.Fatalf("chunk requests carried CSRF tokens %q", csrf)
	}
}

// A Worker's failures go through the Upload's retry logic: the next round
// starts from what the node holds, and the Worker hashes on from where it
// was.
func TestUploadThroughWorkerResumes(t *testing.T) {
	node := transfertest.NewNode()
	plain := randomBytes(t, 500<<10)
	failed := map[int64]bool{}
	w := &goWorker{tr: node, src: bytes.NewReader(plain), onChunk: func(ctx context.Context, off int64) error {
		if chunk := off / (64 << 10); chunk%3 == 1 && !failed[off] {
			failed[off] = true
			return &WorkerError{Kind: "offline", Message: "the connection broke"}
		}
		return nil
	}}
	u, key := newUpload(t, node, plain, func(o *Options) { o.Worker = w })
	res, err := u.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkStored(t, node, res, key, plain)
	// Each failed chunk is read again to be sent again; nothing else is
	// (the hash goes on from where it was).
	want := int64(len(plain))
	for off := range failed {
		want += min(64<<10, int64(len(plain))-off)
	}
	if w.rounds != len(failed)+1 || w.read != want {
		t.Fatalf("%d rounds, %d bytes read, want %d rounds and %d bytes", w.rounds, w.read, len(failed)+1, want)
	}
}

// The node's refusal reaches the caller as the node's error (a user error
// is not retried).
func TestUploadThroughWorkerNodeError(t *testing.T) {
	node := transfertest.NewNode()
	node.Intercept = func(r *api.Request, next func() (*api.Response, error)) (*api.Response, error) {
		if r.Method == http.MethodPatch {
			return transfertest.Fail(413, api.CodeQuotaExceeded, "over quota"), nil
		}
		return next()
	}
	plain := randomBytes(t, 100<<10)
	w := &goWorker{tr: node, src: bytes.NewReader(plain)}
	u, _ := newUpload(t, node, plain, func(o *Options) { o.Worker = w })
	_, err := u.Run(context.Background())
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != api.CodeQuotaExceeded {
		t.Fatalf("over quota through a worker: %v", err)
	}
}

// A rate limit set while a Worker sends stops it; the Upload goes on by
// itself, paced, from what the node holds. With a limit from the start no
// Worker is used.
func TestUploadRateLimitTakesOverFromWorker(t *testing.T) {
	node := transfertest.NewNode()
	plain := randomBytes(t, 400<<10)
	var u *Upload
	w := &goWorker{tr: node, src: bytes.NewReader(plain)}
	w.onChunk = func(ctx context.Context, off int64) error {
		if off == 2*(64<<10) && w.rounds == 1 {
			u.SetRateLimit(10000)
			<-ctx.Done() // the Upload stops this round
			return ctx.Err()
		}
		return nil
	}
	u, key := newUpload(t, node, plain, func(o *Options) { o.Worker = w })
	res, err := u.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkStored(t, node, res, key, plain)
	if w.rounds != 1 {
		t.Fatalf("the worker was used for %d rounds, want 1", w.rounds)
	}

	w2 := &goWorker{tr: node, src: bytes.NewReader(plain)}
	u2, key2 := newUpload(t, node, plain, func(o *Options) { o.Worker = w2; o.RateLimit = 10000 })
	res, err = u2.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkStored(t, node, res, key2, plain)
	if w2.rounds != 0 {
		t.Fatalf("a limited upload used the worker (%d rounds)", w2.rounds)
	}
}

// brokenWorker cannot run (its script did not load).
type brokenWorker struct{ calls int }

func (w *brokenWorker) Send(context.Context, WorkerJob, func(int64)) ([][32]byte, error) {
	w.calls++
	return nil, &WorkerError{Kind: "unavailable", Message: "the upload worker did not start"}
}

// A Worker that cannot run is dropped: the Upload sends by itself at once,
// without counting a failure.
func TestUploadWithoutAWorkingWorker(t *testing.T) {
	node := transfertest.NewNode()
	plain := randomBytes(t, 200<<10)
	w := &brokenWorker{}
	var retries int
	u, key := newUpload(t, node, plain, func(o *Options) {
		o.Worker = w
		o.Progress = func(p transfer.Progress) {
			if p.State == transfer.Retrying {
				retries++
			}
		}
	})
	res, err := u.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkStored(t, node, res, key, plain)
	if w.calls != 1 || retries != 0 {
		t.Fatalf("worker called %d times, %d retries", w.calls, retries)
	}
}

// finishRequests notes the body of the node's last finish request.
func finishRequests(node *transfertest.Node) *api.FinishUploadRequest {
	var finish api.FinishUploadRequest
	node.Intercept = func(r *api.Request, next func() (*api.Response, error)) (*api.Response, error) {
		if strings.HasSuffix(r.URL, "/finish") {
			finish = api.FinishUploadRequest{}
			json.Unmarshal(r.Body, &finish)
		}
		return next()
	}
	return &finish
}

// Segments that do not line up with chunks (3-of-5, 1,002-byte segments,
// 64 KiB chunks): the Worker's segment hashes still give the UEB's
// crypttext root hash, which the node checks at finish and the Upload in
// the UEB.
func TestUploadThroughWorkerUnalignedSegments(t *testing.T) {
	node := transfertest.NewNode()
	plain := randomBytes(t, 200<<10+5)
	w := &goWorker{tr: node, src: bytes.NewReader(plain)}
	finish := finishRequests(node)
	u, key := newUpload(t, node, plain, func(o *Options) {
		o.Worker = w
		o.Encoding = Encoding{K: 3, Happy: 5, N: 5, SegmentSize: 1000}
	})
	res, err := u.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkStored(t, node, res, key, plain)
	if len(w.segments) != (len(plain)+1001)/1002 || len(finish.CrypttextRootHash) != 32 || finish.CrypttextHash != nil {
		t.Fatalf("%d segments hashed; finished with %+v", len(w.segments), *finish)
	}
}

// A Worker whose hashes do not name what it sent: a segment missing makes
// the Upload hash the file itself; a wrong hash is refused by the node,
// and nothing is stored as the file.
func TestUploadWorkerWithWrongHashes(t *testing.T) {
	node := transfertest.NewNode()
	plain := randomBytes(t, 150<<10)
	w := &goWorker{tr: node, src: bytes.NewReader(plain), dropSegment: true}
	finish := finishRequests(node)
	u, key := newUpload(t, node, plain, func(o *Options) { o.Worker = w })
	res, err := u.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkStored(t, node, res, key, plain)
	if w.rounds != 1 || len(finish.CrypttextHash) != 32 || finish.CrypttextRootHash != nil {
		t.Fatalf("%d worker rounds; finished with %+v", w.rounds, *finish)
	}

	w2 := &goWorker{tr: node, src: bytes.NewReader(plain)}
	w2.onChunk = func(ctx context.Context, off int64) error {
		if off == 0 {
			w2.segments = append(w2.segments, [32]byte{1}) // a stray leaf
			w2.segments = w2.segments[1:]
		}
		return nil
	}
	u2, _ := newUpload(t, node, plain, func(o *Options) { o.Worker = w2 })
	_, err = u2.Run(context.Background())
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != api.CodeIntegrity {
		t.Fatalf("a wrong root hash: %v", err)
	}
}
