// Package download reads a file version's ciphertext from the node
// (GET versions/{vid}/content with Range, and versions/{vid}/proof),
// checks it against the read cap (UEB hash, crypttext hash tree, every
// segment), and decrypts it (a transfer.Cipher: WebCrypto in the browser,
// Go elsewhere): a tampered or truncated file is an error, never wrong
// bytes. Portable: the browser and the CLI use it.
//
// Nothing is decrypted or returned before the segment it belongs to was
// checked against its hash (chk.Proof.CheckSegment), and the segment hashes
// against the UEB and the UEB against the cap (chk.CheckProof) when the
// Reader is opened. Bytes are fetched in whole segments.
package download

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/transfer"
)

// ErrTampered is wrapped by every verification failure.
var ErrTampered = errors.New("the file does not match its cap: it was tampered with or damaged")

// ErrTruncated is wrapped when the node sends fewer bytes than asked for (a
// connection cut short, or a node that lost part of the file). WriteTo
// retries it; ReadAt returns it.
var ErrTruncated = errors.New("the node sent less of the file than asked for")

// batchBytes is about how much ciphertext one request of WriteTo asks for
// (whole segments, at least one).
const batchBytes = 1 << 20

// cacheSegments is how many decrypted segments ReadAt keeps.
const cacheSegments = 8

// readAhead is how many segments ReadAt fetches beyond the one asked for
// when it sees sequential reading (a download or a playing video pulled
// through the service worker). Without it each segment's request, check and
// decryption ran one after the other, and the network sat idle while the
// page hashed; with it they overlap (fetch and WebCrypto are asynchronous in
// the browser). It stays below cacheSegments, so what was fetched ahead is
// still cached when it is read.
const readAhead = 4

// maxRetries bounds consecutive failed attempts at one batch in WriteTo
// (network failures; errors the node answered get a fifth of it).
const maxRetries = 30

// clock is the time source of retry waits; tests replace it.
var clock transfer.Clock = transfer.RealClock{}

// Source serves a version's proof and ciphertext: *api.Client (the user's
// own versions) or api.Routes (a link's, Client.LinkRoutes).
type Source interface {
	VersionProof(ctx context.Context, vid string) (api.Proof, error)
	VersionContent(ctx context.Context, vid string, off, n int64) ([]byte, error)
}

// Reader is a verified, decrypting view of one version.
type Reader struct {
	ctx    context.Context
	c      Source
	vid    string
	cipher transfer.Cipher
	key    chk.Key // for Direct
	proof  *chk.Proof
	size   int64

	mu       sync.Mutex
	cache    []cached          // most recently used last
	inflight map[int]*inflight // segments being fetched (read-ahead or on demand)
	failed   map[int]bool      // segments whose last fetch failed: read-ahead leaves them to the reader
	next     int               // the segment after the last one ReadAt used: sequential reading starts read-ahead
}

// inflight is a segment fetch under way; done closes when data or err is set.
type inflight struct {
	done chan struct{}
	data []byte
	err  error
}

type cached struct {
	seg  int
	data []byte
}

// Open fetches and checks the proof of version versionID against rc.
// cipher nil means transfer.GoCipher(rc.Key).
//
// ctx bounds every request the Reader makes later, in ReadAt and WriteTo
// too (io.ReaderAt and io.WriterTo carry no context of their own).
func Open(ctx context.Context, c Source, versionID string, rc cap.CHK, cipher transfer.Cipher) (*Reader, error) {
	if err := rc.Validate(); err != nil {
		return nil, err
	}
	p, err := c.VersionProof(ctx, versionID)
	if err != nil {
		return nil, err
	}
	proof, err := chk.CheckProof(rc.Verifier(), p.UEB, p.SegmentHashes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTampered, err)
	}
	if proof.Layout.Size != rc.Size {
		return nil, fmt.Errorf("%w: the proof is for %d bytes, the cap says %d", ErrTampered, proof.Layout.Size, rc.Size)
	}
	if cipher == nil {
		cipher = transfer.GoCipher(rc.Key)
	}
	return &Reader{ctx: ctx, c: c, vid: versionID, cipher: cipher, key: rc.Key, proof: proof, size: rc.Size}, nil
}

// Size is the plaintext size.
func (r *Reader) Size() int64 { return r.size }

// NumSegments is the number of segments of the file.
func (r *Reader) NumSegments() int { return r.proof.Layout.NumSegments }

// fetch reads segments [first, last) in one request, checks each and
// decrypts them into one buffer (the plaintext of those segments, in order).
func (r *Reader) fetch(ctx context.Context, first, last int) ([]byte, error) {
	off, _ := r.proof.Segment(first)
	lo, ln := r.proof.Segment(last - 1)
	end := lo + ln
	n := end - off
	b, err := r.c.VersionContent(ctx, r.vid, off, n)
	if err != nil {
		return nil, err
	}
	if int64(len(b)) < n {
		return nil, fmt.Errorf("%w: %d of %d bytes at byte %d", ErrTruncated, len(b), n, off)
	}
	hasher, _ := r.cipher.(transfer.SHA256er)
	for s := first; s < last; s++ {
		so, sl := r.proof.Segment(s)
		seg := b[so-off : so-off+sl]
		var err error
		if inner, ok := sha256Of(hasher, seg); ok {
			err = r.proof.CheckSegmentDigest(s, len(seg), inner)
		} else {
			err = r.proof.CheckSegment(s, seg)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTampered, err)
		}
	}
	r.cipher.XORKeyStreamAt(b, b, off)
	return b, nil
}

// segmentPrefix starts every crypttext segment hash (chk.SegmentHashPrefix).
var segmentPrefix = chk.SegmentHashPrefix()

// sha256Of hashes a segment with the cipher's own SHA-256, when it has one.
func sha256Of(h transfer.SHA256er, seg []byte) ([32]byte, bool) {
	if h == nil {
		return [32]byte{}, false
	}
	return h.SHA256(segmentPrefix, seg)
}

// segment returns the plaintext of segment s, from the cache, a fetch under
// way, or the node. Reading s right after s-1 starts fetching the next
// readAhead segments in the background.
func (r *Reader) segment(s int) ([]byte, error) {
	r.mu.Lock()
	sequential := s == r.next && s > 0
	r.next = s + 1
	if sequential {
		for a := s + 1; a <= s+readAhead && a < r.proof.Layout.NumSegments; a++ {
			if !r.failed[a] {
				r.startLocked(a)
			}
		}
	}
	for i, c := range r.cache {
		if c.seg == s {
			r.cache = append(append(r.cache[:i:i], r.cache[i+1:]...), c)
			r.mu.Unlock()
			return c.data, nil
		}
	}
	f := r.startLocked(s)
	r.mu.Unlock()
	<-f.done
	return f.data, f.err
}

// startLocked returns the fetch of segment s, starting it if none is under
// way. The result goes to the cache; a failed fetch is forgotten so that
// the next read tries again. r.mu is held.
func (r *Reader) startLocked(s int) *inflight {
	if f, ok := r.inflight[s]; ok {
		return f
	}
	for _, c := range r.cache {
		if c.seg == s {
			f := &inflight{done: make(chan struct{}), data: c.data}
			close(f.done)
			return f
		}
	}
	if r.inflight == nil {
		r.inflight = map[int]*inflight{}
	}
	f := &inflight{done: make(chan struct{})}
	r.inflight[s] = f
	go func() {
		var (
			b   []byte
			err error
		)
		for attempt := 1; ; attempt++ {
			b, err = r.fetch(r.ctx, s, s+1)
			if err == nil || attempt >= 3 || !retryable(err) {
				break
			}
		}
		r.mu.Lock()
		delete(r.inflight, s)
		if err != nil {
			if r.failed == nil {
				r.failed = map[int]bool{}
			}
			r.failed[s] = true
		} else {
			delete(r.failed, s)
			if len(r.cache) >= cacheSegments {
				r.cache = r.cache[1:]
			}
			r.cache = append(r.cache, cached{s, b})
		}
		r.mu.Unlock()
		f.data, f.err = b, err
		close(f.done)
	}()
	return f
}

// ReadAt reads plaintext at off, fetching and checking whole segments
// (kept in a small cache) as needed: seeking in video works.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("download: negative offset")
	}
	if off >= r.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && off < r.size {
		s := int(off / r.proof.Layout.SegmentSize)
		data, err := r.segment(s)
		if err != nil {
			return n, err
		}
		so, _ := r.proof.Segment(s)
		k := copy(p[n:], data[off-so:])
		n += k
		off += int64(k)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// retryable reports whether err may go away when asked again.
func retryable(err error) bool {
	if errors.Is(err, ErrTruncated) {
		return true
	}
	var ae *api.Error
	if errors.As(err, &ae) && (ae.Code == api.CodeNotFound || ae.Code == api.CodeConflict) {
		return false // the version is gone: asking again will not bring it back
	}
	ok, _ := transfer.Retryable(err)
	return ok
}

type batch struct {
	data []byte
	err  error
}

// WriteTo streams the whole plaintext with read-ahead, retrying broken
// requests from where they stopped.
//
// Each request covers whole segments (about 1 MiB), all checked before any
// of it is written; the next request is under way while one is written. A
// failure that may pass (network, a busy node, a truncated answer) is
// retried from the first segment not yet written, with growing waits; a
// mismatch (ErrTampered) is not retried.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	numSeg := r.proof.Layout.NumSegments
	per := max(int(batchBytes/r.proof.Layout.SegmentSize), 1)
	out := make(chan batch, 1) // one batch of read-ahead
	go func() {
		defer close(out)
		for first := 0; first < numSeg; first += per {
			last := min(first+per, numSeg)
			b, err := r.fetchRetrying(ctx, first, last)
			select {
			case out <- batch{b, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var written int64
	for b := range out {
		if b.err != nil {
			return written, b.err
		}
		n, err := w.Write(b.data)
		written += int64(n)
		if err != nil {
			return written, err
		}
	}
	if err := ctx.Err(); err != nil && written < r.size {
		return written, err
	}
	if written != r.size {
		return written, fmt.Errorf("%w: %d of %d bytes", ErrTruncated, written, r.size)
	}
	return written, nil
}

func (r *Reader) fetchRetrying(ctx context.Context, first, last int) ([]byte, error) {
	failures := 0
	for {
		b, err := r.fetch(ctx, first, last)
		if err == nil {
			return b, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !retryable(err) {
			return nil, err
		}
		failures++
		limit := maxRetries
		if !errors.Is(err, api.ErrOffline) {
			limit = max(limit/5, 1)
		}
		if failures > limit {
			return nil, err
		}
		_, asked := transfer.Retryable(err)
		if err := clock.Sleep(ctx, transfer.Backoff(failures, asked)); err != nil {
			return nil, err
		}
	}
}
