package upload

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/hashtree"
)

// A Worker reads, encrypts, hashes and sends a file's ciphertext itself,
// so that the bytes never pass through this program: in the browser, a
// dedicated Web Worker (wasm/upworker, server/web's upload-worker.js) that
// reads the picked file, encrypts with WebCrypto and sends the chunks. The
// page's thread, which Go's wasm runs on, was the limit of uploads.
//
// The Upload still decides everything else: where to start (the node's
// session), retries, pauses, the rate limit (a limited upload is sent by
// the Upload itself), and the check of the node's answer.
type Worker interface {
	// Send sends ciphertext bytes [job.From, job.Size) to the session's
	// chunk route and, once the node acknowledged everything, returns for
	// each segment of job.SegmentSize bytes (the last one shorter)
	// SHA-256(job.Prefix ‖ the segment's ciphertext): the inner hashes of
	// the crypttext hash tree's leaves. Unlike a whole-file hash, these can
	// be computed by WebCrypto. A Worker keeps what it hashed between
	// calls (for the same segment size), so a resumed upload reads again
	// only what it has not hashed. acked is called with the node's count
	// of bytes held after each chunk. The error is a *WorkerError, or ctx's.
	Send(ctx context.Context, job WorkerJob, acked func(received int64)) (segments [][32]byte, err error)
}

// WorkerJob is one round of a Worker's sending.
type WorkerJob struct {
	URL       string            // the session's chunk route (PATCH, Content-Range)
	Header    map[string]string // to add to each request (CSRF token, a link's token)
	From      int64             // first byte the node lacks
	Size      int64             // of the whole file (plaintext = ciphertext)
	Key       chk.Key           // AES-128-CTR, counter 0 at byte 0
	ChunkSize int               // bytes per request
	InFlight  int               // requests at once
	// SegmentSize cuts the ciphertext into the crypttext hash tree's
	// leaves (the node's UploadStatus.SegmentSize).
	SegmentSize int64
	Prefix      []byte // what each segment's hash starts with (chk.SegmentHashPrefix)
}

// WorkerError is a failure a Worker reports; Err turns it into what the
// Upload's retry logic expects of its own sending.
type WorkerError struct {
	// "offline", "http", "source", "protocol", or "unavailable": the
	// Worker cannot run at all (the Upload then sends by itself).
	Kind    string
	Status  int    // Kind "http": the node's HTTP status
	Body    []byte // Kind "http": the node's answer
	Message string
}

func (e *WorkerError) Error() string { return e.Message }

// ChunkRequester is what Sessions may also offer for a Worker: the chunk
// route of session si and the headers its requests need.
type ChunkRequester interface {
	ChunkRequest(si string) (url string, header map[string]string)
}

// err maps a Worker's failure to the errors the Upload's own sending
// gives: ErrOffline for the network, *api.Error for the node's refusals,
// ErrSource for the file.
func (e *WorkerError) err() error {
	switch e.Kind {
	case "offline":
		return fmt.Errorf("%w (%s)", api.ErrOffline, e.Message)
	case "http":
		return api.ResponseError(e.Status, e.Body)
	case "source":
		return fmt.Errorf("%w: %s", ErrSource, e.Message)
	}
	return &api.Error{Code: api.CodeConflict, Message: e.Message}
}

// worker is the Worker to use for this round, or nil: there is none, the
// routes cannot name their chunk URL, or a rate limit is set (the Upload
// paces its own chunks).
func (u *Upload) worker() (Worker, ChunkRequester) {
	cr, ok := u.o.Client.(ChunkRequester)
	if u.o.Worker == nil || !ok || u.limiter.Rate() > 0 || u.noWorker {
		return nil, nil
	}
	return u.o.Worker, cr
}

// sendByWorker is sendFrom through a Worker, for a file of segments of
// segSize bytes.
func (u *Upload) sendByWorker(ctx context.Context, w Worker, cr ChunkRequester, from, segSize int64) error {
	sendCtx, stop, err := u.beginSending(ctx, true)
	if err != nil {
		return err
	}
	defer stop()
	url, header := cr.ChunkRequest(u.siStr)
	job := WorkerJob{
		URL: url, Header: header, From: from, Size: u.o.Size, Key: u.o.Key,
		ChunkSize: u.o.ChunkSize, InFlight: inFlight, SegmentSize: segSize, Prefix: chk.SegmentHashPrefix(),
	}
	segments, err := w.Send(sendCtx, job, u.chunkAcked)
	if err != nil {
		var we *WorkerError
		if errors.As(err, &we) {
			if we.Kind == "unavailable" {
				u.noWorker = true
				return errRoundAgain // without the Worker
			}
			err = resyncable(we.err())
		}
		return u.sendError(ctx, err)
	}
	if want := (u.o.Size + segSize - 1) / segSize; int64(len(segments)) != want {
		// A broken Worker: hash (and, if need be, send) by ourselves.
		u.noWorker = true
		return errRoundAgain
	}
	u.setAcked(u.o.Size) // the Worker's last acknowledgements may still be on their way
	leaves := make([]hashtree.Hash, len(segments))
	for i, inner := range segments {
		leaves[i] = sha256.Sum256(inner[:])
	}
	root := hashtree.Root(leaves)
	u.workerRoot = &root
	return nil
}

// finishRequest names what was sent: by the Worker's crypttext root hash,
// or by the Upload's own crypttext hash.
func (u *Upload) finishRequest() api.FinishUploadRequest {
	if u.workerRoot != nil {
		return api.FinishUploadRequest{CrypttextRootHash: u.workerRoot[:]}
	}
	sum := u.crypttextSum()
	return api.FinishUploadRequest{CrypttextHash: sum[:]}
}

// crypttextSum is the crypttext hash of what the Upload sent itself.
func (u *Upload) crypttextSum() [32]byte {
	if u.hashed != u.o.Size {
		panic("upload: finishing before the whole file was hashed")
	}
	return u.hasher.Sum()
}
