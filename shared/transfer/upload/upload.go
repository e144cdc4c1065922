// Package upload sends a file's ciphertext to the node's helper through the
// web API (docs/files.md, "Moving bytes"; docs/spec/helper.md): it reads the
// plaintext from an io.ReaderAt, encrypts it with the file's AES-128-CTR key
// (transfer.Cipher: WebCrypto in the browser, Go elsewhere) and hashes the
// ciphertext while earlier chunks are on the wire, sends 4 MiB chunks
// (three at once), resumes from what the node acknowledged after any
// failure, and checks the node's answer before forming the read cap.
//
// Files of at most chk.LiteralThreshold (55) bytes, including empty ones,
// are not uploaded at all: the grid cannot store them as CHK (Tahoe never
// does), so their content goes into a LIT cap, which the caller seals into
// the version's metadata like any read cap. Result.StorageIndex is then
// empty.
//
// Memory: five chunk buffers (5 MiB at the default chunk size), whatever
// the file size; the source is read once, sequentially (plus once more from
// the start if a resumed upload needs the crypttext hash of bytes the node
// already holds).
//
// Resuming after the page was closed: call New and Run again with the same
// key (kept by the caller, e.g. in IndexedDB); the node's session tells
// where to continue.
package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/hashtree"
	"github.com/communitycube/cube/shared/transfer"
)

// DefaultChunkSize is the size of one PATCH, a Worker's too: in Chromium a
// 256 MiB upload took 25 MB/s in 1 MiB bodies, 35 in 4 MiB; 8 MiB was no
// better and 16 MiB worse (docs/BENCHMARKS.md).
const DefaultChunkSize = 4 << 20

// inFlight chunks are sent at once.
const inFlight = 3

// numBufs chunk buffers: inFlight on the wire, one ready, one being
// prepared.
const numBufs = inFlight + 2

// Encoding is what the uploader asks the node for; zero fields leave the
// choice to the node.
type Encoding struct {
	K, Happy, N int
	SegmentSize int64 // maximum segment size
}

// Sessions are the routes of upload sessions: *api.Client (the user's own
// uploads) or api.Routes (a drop link's, Client.LinkRoutes).
type Sessions interface {
	BeginUpload(ctx context.Context, si string, req api.BeginUploadRequest) (api.UploadStatus, error)
	SendChunk(ctx context.Context, si string, off, size int64, data []byte) (api.UploadStatus, error)
	FinishUpload(ctx context.Context, si string, req api.FinishUploadRequest) (api.Uploaded, error)
	AbortUpload(ctx context.Context, si string) error
}

// Options describe an upload. Client, Source, Size and Key are required.
type Options struct {
	Client Sessions
	// Source is the plaintext (e.g. the scrubbed stream's plan reader); it
	// must give exactly Size bytes, the same ones on every read.
	Source io.ReaderAt
	Size   int64
	Key    chk.Key
	// Encoding is passed to the node (0: the node's defaults).
	Encoding Encoding
	// ChunkSize is the largest PATCH (default DefaultChunkSize). With a
	// rate limit, chunks shrink to about one second's worth (at least 64 KiB).
	ChunkSize int
	// RateLimit is the initial limit in KB/s (1 KB = 1024 bytes; 0: none).
	RateLimit int
	// MaxRetries bounds consecutive failures that make no progress: network
	// failures (default 30, about a quarter of an hour of trying) and errors
	// the node answered (a fifth of that). Progress resets the count.
	MaxRetries int
	// Progress, if set, is called after every acknowledged chunk and at
	// every change of state; see transfer.Progress.
	Progress func(transfer.Progress)
	// Clock defaults to the wall clock; tests inject a fake.
	Clock transfer.Clock
	// Cipher defaults to transfer.GoCipher(Key); the browser passes
	// WebCrypto (transfer.Cipher: WebCrypto in the browser, Go elsewhere).
	Cipher transfer.Cipher
	// Worker, if set, sends the ciphertext itself (the browser's upload
	// worker, which reads the same bytes as Source from the picked file).
	// It is used when Client is a ChunkRequester and no rate limit is set.
	Worker Worker
}

// Result is a finished upload.
type Result struct {
	// Cap is the read cap: cap.CHK, or cap.LIT for files of at most 55
	// bytes (nothing was uploaded).
	Cap cap.Cap
	// StorageIndex names the finished upload session (what
	// api.NewVersionBody.StorageIndex wants); empty for a LIT cap.
	StorageIndex string
	// VerifyCap is the node's verify cap string; empty for a LIT cap.
	VerifyCap string
}

// ErrMismatch is wrapped when the node's answer at finish does not match
// the ciphertext sent (verify cap, UEB, or crypttext hash): the upload must
// not be used.
var ErrMismatch = errors.New("the node's answer does not match the uploaded file")

// ErrSource is wrapped by failures to read the source.
var ErrSource = errors.New("reading the file failed")

// Upload is one file being sent. Pause, Resume, Cancel and SetRateLimit may
// be called from any goroutine while Run runs.
type Upload struct {
	o       Options
	si      [cap.StorageIndexSize]byte
	siStr   string
	clock   transfer.Clock
	limiter *transfer.Limiter
	cipher  transfer.Cipher

	running atomic.Bool

	mu        sync.Mutex
	meter     *transfer.Meter
	paused    bool
	resumed   chan struct{} // closed by Resume
	stopSend  context.CancelFunc
	canceled  bool
	cancelRun context.CancelFunc
	acked     int64
	byWorker  bool // a Worker is sending this round
	switching bool // ... and is being stopped for a rate limit

	reportMu sync.Mutex // one Sending report at a time (chunkAcked)

	// Touched by one producer at a time (sendFrom waits for it to end).
	hasher     *hashtree.Hasher
	hashed     int64
	workerRoot *hashtree.Hash // the crypttext root hash, when a Worker sent it all
	noWorker   bool           // the Worker could not run
	bufs       chan []byte
	nbufs      int
}

// New prepares an upload; nothing is sent before Run.
func New(o Options) (*Upload, error) {
	if o.Client == nil || o.Source == nil || o.Size < 0 {
		return nil, errors.New("upload: Client, Source and a size are required")
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = DefaultChunkSize
	}
	o.ChunkSize = max(o.ChunkSize, 64<<10)
	if o.MaxRetries <= 0 {
		o.MaxRetries = 30
	}
	if o.Clock == nil {
		o.Clock = transfer.RealClock{}
	}
	u := &Upload{
		o: o, clock: o.Clock,
		si:      chk.StorageIndex(o.Key),
		limiter: transfer.NewLimiter(o.Clock, o.RateLimit),
		meter:   transfer.NewMeter(o.Clock, o.Size),
		hasher:  chk.NewCrypttextHasher(),
		bufs:    make(chan []byte, numBufs),
		cipher:  o.Cipher,
	}
	u.siStr = cap.EncodeBase32(u.si[:])
	return u, nil
}

// StorageIndex is the upload session's name on the node ("" for files that
// become LIT caps).
func (u *Upload) StorageIndex() string {
	if u.o.Size <= chk.LiteralThreshold {
		return ""
	}
	return u.siStr
}

// SetRateLimit changes the rate limit (KB/s, 0: none), at once. A Worker
// does not pace its chunks: one sending is stopped and the upload goes on
// by itself from what the node holds.
func (u *Upload) SetRateLimit(kbps int) {
	u.limiter.SetRate(kbps)
	if kbps <= 0 {
		return
	}
	u.mu.Lock()
	if u.byWorker && u.stopSend != nil {
		u.switching = true
		u.stopSend()
	}
	u.mu.Unlock()
}

// Pause stops sending: the chunk on the wire is abandoned (the node keeps
// what arrived) and Run waits for Resume or Cancel.
func (u *Upload) Pause() {
	u.mu.Lock()
	if u.paused {
		u.mu.Unlock()
		return
	}
	u.paused = true
	u.resumed = make(chan struct{})
	if u.stopSend != nil {
		u.stopSend()
	}
	p, ok := u.progressLocked(transfer.Progress{State: transfer.Paused})
	u.mu.Unlock()
	if ok {
		u.o.Progress(p)
	}
}

// Resume continues a paused upload from what the node holds.
func (u *Upload) Resume() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.paused {
		return
	}
	u.paused = false
	close(u.resumed)
}

// Cancel stops the upload for good: Run deletes the node's session and
// returns transfer.ErrCanceled. Called when Run is not running, the next Run
// only does that.
func (u *Upload) Cancel() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.canceled = true
	if u.cancelRun != nil {
		u.cancelRun()
	}
}

// Run uploads the file and returns its read cap. It blocks (call it on a
// goroutine of its own) and may be called again after it failed, to resume.
func (u *Upload) Run(ctx context.Context) (Result, error) {
	if !u.running.CompareAndSwap(false, true) {
		return Result{}, errors.New("upload: already running")
	}
	defer u.running.Store(false)
	if u.o.Size <= chk.LiteralThreshold {
		return u.literal()
	}
	if u.cipher == nil {
		u.cipher = transfer.GoCipher(u.o.Key)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	u.mu.Lock()
	u.cancelRun = cancel
	canceled := u.canceled
	u.mu.Unlock()
	var res Result
	var err error
	if !canceled {
		res, err = u.run(runCtx)
	}
	u.mu.Lock()
	u.cancelRun = nil
	canceled = u.canceled
	u.mu.Unlock()
	if canceled {
		actx, stop := context.WithTimeout(context.Background(), 15*time.Second)
		defer stop()
		// Best effort: the node drops idle sessions by itself anyway.
		_ = u.o.Client.AbortUpload(actx, u.siStr)
		return Result{}, transfer.ErrCanceled
	}
	if err == nil {
		u.report(transfer.Progress{State: transfer.Done})
	}
	return res, err
}

func (u *Upload) literal() (Result, error) {
	data := make([]byte, u.o.Size)
	if _, err := readFull(u.o.Source, data, 0); err != nil {
		return Result{}, err
	}
	u.report(transfer.Progress{State: transfer.Done})
	return Result{Cap: cap.LIT{Data: data}}, nil
}

// errRoundAgain ends a sending round that is to begin again without
// counting as a failure: the user paused (the next round waits for
// Resume), or a Worker stopped (a rate limit was set, or it cannot run).
var errRoundAgain = errors.New("round again")

// resyncError marks a chunk the node refused for a reason that a fresh begin
// may clear.
type resyncError struct{ error }

func (e resyncError) Unwrap() error { return e.error }

func (u *Upload) run(ctx context.Context) (Result, error) {
	begin := api.BeginUploadRequest{
		Size: u.o.Size, K: u.o.Encoding.K, Happy: u.o.Encoding.Happy, N: u.o.Encoding.N,
		SegmentSize: u.o.Encoding.SegmentSize,
	}
	failures, mark := 0, int64(-1)
	for {
		if err := u.waitResumed(ctx); err != nil {
			return Result{}, err
		}
		u.report(transfer.Progress{State: transfer.Starting})
		err := u.round(ctx, begin)
		var res Result
		if err == nil {
			u.report(transfer.Progress{State: transfer.Finishing})
			var up api.Uploaded
			if up, err = u.o.Client.FinishUpload(ctx, u.siStr, u.finishRequest()); err == nil {
				return u.check(up)
			}
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if errors.Is(err, errRoundAgain) {
			continue
		}
		retry, after := transfer.Retryable(err)
		if !retry && errors.As(err, new(resyncError)) {
			retry = true
		}
		if !retry {
			return res, err
		}
		if acked := u.ackedBytes(); acked > mark {
			failures, mark = 0, acked
		}
		failures++
		limit := u.o.MaxRetries
		if !errors.Is(err, api.ErrOffline) {
			limit = max(limit/5, 1)
		}
		if failures > limit {
			return res, err
		}
		u.report(transfer.Progress{State: transfer.Retrying, Err: err, Attempt: failures})
		if err := u.clock.Sleep(ctx, transfer.Backoff(failures, after)); err != nil {
			return res, err
		}
	}
}

// round begins (or resumes) the session and sends everything the node lacks.
func (u *Upload) round(ctx context.Context, begin api.BeginUploadRequest) error {
	st, err := u.o.Client.BeginUpload(ctx, u.siStr, begin)
	if err != nil {
		return err
	}
	if st.Size != u.o.Size || st.Received < 0 || st.Received > u.o.Size {
		return fmt.Errorf("%w: the node's session is for %d bytes (%d received), the file has %d", ErrMismatch, st.Size, st.Received, u.o.Size)
	}
	from := st.Received
	if st.State == "placing" || st.State == "stored" {
		from = u.o.Size
	}
	u.setAcked(from)
	if from == u.o.Size && u.workerRoot != nil {
		return nil // the node has it all and a Worker hashed it all
	}
	// A Worker hashes the segments (the node says how long they are).
	if w, cr := u.worker(); w != nil && st.SegmentSize > 0 {
		return u.sendByWorker(ctx, w, cr, from, st.SegmentSize)
	}
	return u.sendFrom(ctx, from)
}

type chunk struct {
	off  int64
	data []byte
	buf  []byte
}

// sendFrom sends bytes [from, Size) and makes sure the crypttext hash covers
// the whole file. It returns once its producer has stopped.
func (u *Upload) sendFrom(ctx context.Context, from int64) error {
	sendCtx, stop, err := u.beginSending(ctx, false)
	if err != nil {
		return err
	}
	if u.hashed < from {
		u.report(transfer.Progress{State: transfer.Hashing})
	}
	chunks := make(chan chunk, 1)
	prodErr := make(chan error, 1)
	go func() { prodErr <- u.produce(sendCtx, from, chunks) }()
	defer func() {
		stop()
		for c := range chunks {
			u.putBuf(c.buf)
		}
	}()
	// Up to inFlight chunks on the wire at once, each on its own
	// connection: one at a time left the link idle while each answer came
	// back. The helper lets a chunk that overtook its predecessor wait for
	// it (helper spec §5.2). The first failure stops the others.
	var (
		wg      sync.WaitGroup
		slots   = make(chan struct{}, inFlight)
		errMu   sync.Mutex
		sendErr error
	)
	fail := func(err error) {
		errMu.Lock()
		if sendErr == nil {
			sendErr = err
		}
		errMu.Unlock()
		stop()
	}
	failed := func() error {
		errMu.Lock()
		defer errMu.Unlock()
		return sendErr
	}
	for c := range chunks {
		err := u.limiter.Wait(sendCtx, len(c.data))
		if err == nil {
			select {
			case slots <- struct{}{}:
			case <-sendCtx.Done():
				err = sendCtx.Err()
			}
		}
		if err != nil || failed() != nil {
			u.putBuf(c.buf)
			if err != nil {
				fail(err)
			}
			break
		}
		wg.Add(1)
		go func(c chunk) {
			defer wg.Done()
			defer func() { <-slots }()
			st, err := u.o.Client.SendChunk(sendCtx, u.siStr, c.off, u.o.Size, c.data)
			u.putBuf(c.buf)
			if err != nil {
				fail(resyncable(err))
				return
			}
			u.chunkAcked(st.Received)
			if end := c.off + int64(len(c.data)); st.Received < end {
				// Not expected from the helper; begin again to learn where it is.
				fail(&api.Error{Code: api.CodeConflict, Message: fmt.Sprintf("The node holds %d bytes after a chunk ending at %d.", st.Received, end)})
			}
		}(c)
	}
	wg.Wait()
	if err := failed(); err != nil {
		return u.sendError(ctx, err)
	}
	if err := <-prodErr; err != nil {
		return u.sendError(ctx, err)
	}
	return nil
}

// beginSending starts a sending round: sendCtx is what Pause (and a rate
// limit stopping a Worker) cancels; stop ends the round. A paused upload
// sends nothing (errRoundAgain).
func (u *Upload) beginSending(ctx context.Context, byWorker bool) (sendCtx context.Context, stop func(), err error) {
	sendCtx, cancel := context.WithCancel(ctx)
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.paused {
		cancel()
		return nil, nil, errRoundAgain
	}
	u.stopSend, u.byWorker = cancel, byWorker
	return sendCtx, func() {
		u.mu.Lock()
		u.stopSend, u.byWorker = nil, false
		u.mu.Unlock()
		cancel()
	}, nil
}

// chunkAcked records that the node holds received bytes and reports it,
// one report at a time (chunks are acknowledged concurrently, and the
// callback may not be safe for concurrent use; it may still call Pause,
// which reports without this lock).
func (u *Upload) chunkAcked(received int64) {
	u.raiseAcked(received)
	u.reportMu.Lock()
	u.report(transfer.Progress{State: transfer.Sending})
	u.reportMu.Unlock()
}

// resyncable marks a refusal of the node that a fresh begin may clear (e.g.
// a gap after it lost bytes it had not synced yet: the begin says where it
// is): one that is not retryable as such and is not the user's to fix.
func resyncable(err error) error {
	var ae *api.Error
	if retry, _ := transfer.Retryable(err); !retry && errors.As(err, &ae) && !transfer.NeedsUser(err) {
		return resyncError{err}
	}
	return err
}

// sendError tells a pause (which cancels the send context), or a Worker
// stopped for a rate limit, from a failure. Both go round again.
func (u *Upload) sendError(ctx context.Context, err error) error {
	u.mu.Lock()
	again := u.paused || u.switching
	u.switching = false
	u.mu.Unlock()
	if again && ctx.Err() == nil && errors.Is(err, context.Canceled) {
		return errRoundAgain
	}
	return err
}

// produce reads, encrypts and hashes the file from min(from, hashed) on,
// sending the chunks at or past from. Bytes below from (the node has them)
// are read only when the hash does not cover them yet.
func (u *Upload) produce(ctx context.Context, from int64, out chan<- chunk) error {
	defer close(out)
	off := min(from, u.hashed)
	for off < u.o.Size {
		n := int64(u.o.ChunkSize)
		if off >= from {
			n = int64(u.limiter.ChunkSize(u.o.ChunkSize))
		} else {
			n = min(n, from-off)
		}
		n = min(n, u.o.Size-off)
		buf, err := u.getBuf(ctx)
		if err != nil {
			return err
		}
		b := buf[:n]
		if _, err := readFull(u.o.Source, b, off); err != nil {
			u.putBuf(buf)
			return err
		}
		u.cipher.XORKeyStreamAt(b, b, off)
		if end := off + n; end > u.hashed {
			u.hasher.Write(b[u.hashed-off:])
			u.hashed = end
		}
		if off+n <= from {
			u.putBuf(buf)
			off += n
			continue
		}
		skip := max(from-off, 0)
		select {
		case out <- chunk{off: off + skip, data: b[skip:], buf: buf}:
		case <-ctx.Done():
			u.putBuf(buf)
			return ctx.Err()
		}
		off += n
	}
	return nil
}

func (u *Upload) getBuf(ctx context.Context) ([]byte, error) {
	select {
	case b := <-u.bufs:
		return b, nil
	default:
	}
	if u.nbufs < numBufs {
		u.nbufs++
		return make([]byte, u.o.ChunkSize), nil
	}
	select {
	case b := <-u.bufs:
		return b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (u *Upload) putBuf(b []byte) {
	select {
	case u.bufs <- b:
	default:
	}
}

func readFull(r io.ReaderAt, b []byte, off int64) (int, error) {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return n, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, fmt.Errorf("%w at byte %d: %w", ErrSource, off+int64(n), err)
}

// check verifies the node's answer against what was sent and forms the
// read cap.
func (u *Upload) check(up api.Uploaded) (Result, error) {
	v, err := cap.ParseVerifier(up.VerifyCap)
	if err != nil {
		return Result{}, fmt.Errorf("%w: verify cap: %w", ErrMismatch, err)
	}
	if v.StorageIndex != u.si || v.Size != u.o.Size {
		return Result{}, fmt.Errorf("%w: the verify cap names another file", ErrMismatch)
	}
	if len(up.UEB) == 0 {
		return Result{}, fmt.Errorf("%w: no URI extension block to check", ErrMismatch)
	}
	if chk.UEBHash(up.UEB) != hashtree.Hash(v.UEBHash) {
		return Result{}, fmt.Errorf("%w: the URI extension block does not match the verify cap", ErrMismatch)
	}
	ueb, err := chk.ParseUEB(up.UEB)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrMismatch, err)
	}
	if u.workerRoot != nil {
		if ueb.CrypttextRootHash != *u.workerRoot {
			return Result{}, fmt.Errorf("%w: the node encoded other ciphertext than was sent (crypttext root hash)", ErrMismatch)
		}
	} else if !ueb.HasCrypttextHash || ueb.CrypttextHash != u.crypttextSum() {
		return Result{}, fmt.Errorf("%w: the node encoded other ciphertext than was sent (crypttext hash)", ErrMismatch)
	}
	if ueb.Size != u.o.Size || ueb.K != v.K || ueb.N != v.N {
		return Result{}, fmt.Errorf("%w: the URI extension block describes another encoding", ErrMismatch)
	}
	c := cap.CHK{Key: u.o.Key, UEBHash: v.UEBHash, K: v.K, N: v.N, Size: v.Size}
	if err := c.Validate(); err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrMismatch, err)
	}
	return Result{Cap: c, StorageIndex: u.siStr, VerifyCap: up.VerifyCap}, nil
}

func (u *Upload) waitResumed(ctx context.Context) error {
	u.mu.Lock()
	paused, resumed := u.paused, u.resumed
	u.mu.Unlock()
	if !paused {
		return nil
	}
	select {
	case <-resumed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (u *Upload) setAcked(n int64) {
	u.mu.Lock()
	u.acked = n
	u.mu.Unlock()
}

// raiseAcked records n acknowledged bytes unless more were already (the
// answers of chunks sent together come back in any order).
func (u *Upload) raiseAcked(n int64) {
	u.mu.Lock()
	u.acked = max(u.acked, n)
	u.mu.Unlock()
}

func (u *Upload) ackedBytes() int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.acked
}

// report calls the progress callback, from Run's goroutine (and Pause's
// caller), never holding a lock: the callback may call Pause or Cancel.
func (u *Upload) report(p transfer.Progress) {
	u.mu.Lock()
	m, ok := u.progressLocked(p)
	u.mu.Unlock()
	if ok {
		u.o.Progress(m)
	}
}

// progressLocked fills in the byte counts, speed and time left. While
// paused, only the Paused report goes out.
func (u *Upload) progressLocked(p transfer.Progress) (transfer.Progress, bool) {
	if u.o.Progress == nil || u.paused && p.State != transfer.Paused {
		return p, false
	}
	m := u.meter.Update(p.State, u.acked)
	m.Err, m.Attempt = p.Err, p.Attempt
	return m, true
}
