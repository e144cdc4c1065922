package helper

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/communitycube/cube/server/grid/bufnet"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/communitycube/cube/server/grid/gbs"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/shared/hashtree"
	"github.com/communitycube/cube/shared/nurl"
)

// Defaults for ClientOptions fields left zero.
const (
	DefaultChunkSize    = 1 << 20
	DefaultMaxRetries   = 10
	DefaultRetryBackoff = 500 * time.Millisecond
	DefaultMaxBackoff   = 30 * time.Second
)

// maxResponse bounds response bodies (a status with a placement summary is
// a few kilobytes).
const maxResponse = 1 << 20

// ClientOptions tunes a Client. The zero value is usable.
type ClientOptions struct {
	// DialContext replaces the TCP dialer, e.g. for pb+tor NURLs (which
	// need one).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// ChunkSize is the size of each chunk sent (default DefaultChunkSize).
	// Smaller chunks lose less to a dropped connection; larger ones cost
	// fewer round trips and disk syncs on the helper.
	ChunkSize int64
	// MaxRetries is how many failures in a row, without progress in
	// between, an Upload tolerates before giving up (default
	// DefaultMaxRetries; negative: none). Any progress resets the count.
	MaxRetries int
	// RetryBackoff is the wait after the first failure; it doubles (with
	// jitter) on each further one, up to MaxBackoff.
	RetryBackoff time.Duration
	MaxBackoff   time.Duration
}

// Client uploads files through one helper. It is safe for concurrent use.
type Client struct {
	base      string
	auth      string
	opts      ClientOptions
	transport *http.Transport
	hc        *http.Client
}

// NewClient returns a client for the helper at n (the helper's NURL, with
// the helper's swissnum). The helper's certificate is pinned by the NURL's
// SPKI hash. opts may be nil.
func NewClient(n nurl.NURL, opts *ClientOptions) (*Client, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	if n.Scheme != nurl.SchemeTCP && o.DialContext == nil {
		return nil, fmt.Errorf("helper: %s NURLs need ClientOptions.DialContext", n.Scheme)
	}
	setDefault(&o.ChunkSize, DefaultChunkSize)
	if o.MaxRetries == 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	setDefault(&o.RetryBackoff, DefaultRetryBackoff)
	setDefault(&o.MaxBackoff, DefaultMaxBackoff)
	tlsConf, err := gbs.PinnedTLSConfig(n.SPKIHash)
	if err != nil {
		return nil, err
	}
	raw := o.DialContext
	if raw == nil {
		raw = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := raw(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return bufnet.Conn(c, bufnet.ReadBuffer), nil
	}
	tr := &http.Transport{
		DialContext:         dial, // no proxy: the NURL names the endpoint
		TLSClientConfig:     tlsConf,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 20 * time.Second,
	}
	return &Client{
		base:      "https://" + n.Address(),
		auth:      wire.AuthorizationValue(n.Swissnum),
		opts:      o,
		transport: tr,
		hc:        &http.Client{Transport: tr},
	}, nil
}

// Close releases idle connections.
func (c *Client) Close() { c.transport.CloseIdleConnections() }

// StatusError is an unexpected HTTP response from the helper. It unwraps to
// the package's error for its status code (ErrConflict for 409, ...).
type StatusError struct {
	Method, Path string
	Code         int
	Message      string // the helper's explanation
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("helper: %s %s: %d %s", e.Method, e.Path, e.Code, http.StatusText(e.Code))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Unwrap returns the sentinel error for the status code, if there is one.
func (e *StatusError) Unwrap() error {
	switch e.Code {
	case http.StatusBadRequest:
		return ErrInvalid
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusConflict:
		return ErrConflict
	case http.StatusRequestEntityTooLarge:
		return ErrTooLarge
	case http.StatusRequestedRangeNotSatisfiable:
		return ErrRange
	case http.StatusUnprocessableEntity:
		return ErrIntegrity
	case http.StatusBadGateway:
		return ErrPlacement
	case http.StatusServiceUnavailable:
		return ErrBusy
	case http.StatusInsufficientStorage:
		return ErrInsufficientStorage
	}
	return nil
}

// request sends one request and decodes a status response.
func (c *Client) request(ctx context.Context, method, path string, body io.Reader, n int64, header map[string]string) (Status, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return Status{}, err
	}
	req.ContentLength = n
	if n == 0 {
		req.Body = http.NoBody
	}
	req.Header.Set(wire.HeaderAuthorization, c.auth)
	req.Header.Set("Accept", mediaTypeCBOR)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return Status{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return Status{}, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return Status{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Status{}, &StatusError{Method: method, Path: path, Code: resp.StatusCode, Message: strings.TrimSpace(string(b[:min(len(b), 4<<10)]))}
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != mediaTypeCBOR {
		return Status{}, fmt.Errorf("helper: %s %s: response is %q, not CBOR", method, path, resp.Header.Get("Content-Type"))
	}
	if len(b) > maxResponse {
		return Status{}, fmt.Errorf("helper: %s %s: response larger than %d bytes", method, path, maxResponse)
	}
	st, err := decodeStatus(b)
	if err != nil {
		return Status{}, fmt.Errorf("helper: %s %s: %w", method, path, err)
	}
	return st, nil
}

// Begin opens or resumes the upload of si and reports what the helper
// holds. Upload does this for you.
func (c *Client) Begin(ctx context.Context, si wire.StorageIndex, spec Spec) (Status, error) {
	body := encodeSpec(spec)
	return c.request(ctx, http.MethodPost, uploadPath(si), bytes.NewReader(body), int64(len(body)),
		map[string]string{"Content-Type": mediaTypeCBOR})
}

// Status reports the state of si's upload on the helper.
func (c *Client) Status(ctx context.Context, si wire.StorageIndex) (Status, error) {
	return c.request(ctx, http.MethodGet, uploadPath(si), nil, 0, nil)
}

// Abort deletes si's upload session, and its staged ciphertext, from the
// helper.
func (c *Client) Abort(ctx context.Context, si wire.StorageIndex) error {
	_, err := c.request(ctx, http.MethodDelete, uploadPath(si), nil, 0, nil)
	return err
}

// Progress reports how an Upload is going.
type Progress struct {
	Size  int64
	Held  int64 // bytes the helper has acknowledged
	Sent  int64 // bytes this Upload call has sent (including any lost to failures)
	State State
}

// Upload sends spec.Size bytes of ciphertext from r to the helper and has it
// place them, resuming from whatever the helper already holds: after any
// failure (dropped connection, helper restart, a lost response) it asks the
// helper again how much it holds and goes on from there, with exponential
// backoff between attempts. It returns when the file is stored, when ctx
// ends, or after a permanent error or ClientOptions.MaxRetries failures in
// a row.
//
// If spec.CrypttextHash is nil, Upload computes it from the bytes it sends
// (reading r again only for bytes the helper already held) and gives it to
// the helper with the finish, which checks it before the placement's final
// step; so the caller need not make a pass over the file before Begin. A
// hash the caller gives is sent with Begin, as before, and with the
// finish.
//
// If progress is not nil it is called (from Upload's goroutine) after each
// acknowledged chunk and on each change of state.
//
// The result is checked against spec: the storage index, size and k/n must
// match and, when the helper returns the UEB, its hash must be the one in
// the verify cap and its crypttext hash the one in spec (given or
// computed), which proves the helper encoded exactly this ciphertext.
func (c *Client) Upload(ctx context.Context, si wire.StorageIndex, r io.ReaderAt, spec Spec, progress func(Progress)) (*Placed, error) {
	if spec.Size <= 0 {
		return nil, fmt.Errorf("%w: size %d", ErrInvalid, spec.Size)
	}
	var ct *crypttextTracker
	if spec.CrypttextHash == nil {
		ct = &crypttextTracker{h: NewCrypttextHasher()}
	}
	var sent atomic.Int64
	report := func(st Status) {
		if progress != nil {
			progress(Progress{Size: spec.Size, Held: st.Received, Sent: sent.Load(), State: st.State})
		}
	}
	failures := 0
	var last error
	for {
		if failures > 0 {
			if failures > c.opts.MaxRetries {
				return nil, last
			}
			if err := c.sleep(ctx, failures); err != nil {
				return nil, err
			}
		}
		placed, progressed, err := c.attempt(ctx, si, r, spec, ct, &sent, report)
		if err == nil && ct != nil && placed.UEB != nil {
			// Stored without our sending it all (already on the grid, or
			// a resumed upload): the hash still covers every byte.
			var sum hashtree.Hash
			if sum, err = ct.sum(ctx, r, spec.Size); err == nil {
				spec.CrypttextHash = &sum
			}
		}
		if err == nil {
			if err := placed.check(si, spec); err != nil {
				return nil, fmt.Errorf("%w: the helper's result does not match the upload: %v", ErrIntegrity, err)
			}
			return placed, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, errSource) || !retryable(err) {
			return nil, err
		}
		if progressed {
			failures = 0
		}
		failures++
		last = err
	}
}

// attempt runs begin, chunks and finish once, stopping at the first error.
// progressed reports whether the helper acknowledged new bytes.
func (c *Client) attempt(ctx context.Context, si wire.StorageIndex, r io.ReaderAt, spec Spec, ct *crypttextTracker, sent *atomic.Int64, report func(Status)) (placed *Placed, progressed bool, err error) {
	st, err := c.Begin(ctx, si, spec)
	if err != nil {
		return nil, false, err
	}
	if st.Size != spec.Size || st.Received > st.Size {
		return nil, false, fmt.Errorf("helper: begin answered size=%d received=%d for a %d-byte upload", st.Size, st.Received, spec.Size)
	}
	report(st)
	if st.State == StateStored {
		return st.Result, false, nil
	}
	for st.State == StateReceiving && st.Received < spec.Size {
		off := st.Received
		n := min(c.opts.ChunkSize, spec.Size-off)
		body := &countingReader{r: io.NewSectionReader(r, off, n), n: sent, left: n, off: off, ct: ct}
		next, err := c.request(ctx, http.MethodPatch, uploadPath(si), body, n, map[string]string{
			"Content-Type":  wire.MediaTypeOctet,
			"Content-Range": wire.FormatContentRange(wire.ByteRange{Begin: uint64(off), End: uint64(off + n)}, spec.Size),
		})
		if rerr := body.failure(); rerr != nil {
			// Our own source failed: retrying will not help.
			return nil, progressed, fmt.Errorf("%w at %d: %w", errSource, off, rerr)
		}
		if err != nil {
			return nil, progressed, err
		}
		if next.Received <= off {
			return nil, progressed, fmt.Errorf("helper: chunk at %d acknowledged without progress (%d held)", off, next.Received)
		}
		progressed = true
		st = next
		report(st)
	}
	hash := spec.CrypttextHash
	if ct != nil {
		sum, err := ct.sum(ctx, r, spec.Size)
		if err != nil {
			return nil, progressed, err
		}
		hash = &sum
	}
	report(Status{State: StatePlacing, Size: spec.Size, Received: spec.Size})
	fin := encodeFinish(hash)
	st, err = c.request(ctx, http.MethodPost, finishPath(si), bytes.NewReader(fin), int64(len(fin)),
		map[string]string{"Content-Type": mediaTypeCBOR})
	if err != nil {
		return nil, progressed, err
	}
	if st.State != StateStored || st.Result == nil {
		return nil, progressed, fmt.Errorf("helper: finish answered state %q", st.State)
	}
	report(st)
	return st.Result, progressed, nil
}

// retryable reports whether another attempt may succeed: transport
// failures, a helper that is busy or restarting, and the answers that mean
// our idea of the session is stale (404, 409, 416), which the next Begin
// corrects. Invalid requests, size and space limits, integrity failures, a
// wrong certificate or swissnum are final, and so is a failed placement
// (502): the grid lacked servers, which retrying within seconds will not
// change; the helper keeps the ciphertext, so running the upload again
// later resumes at once.
func retryable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		switch se.Code {
		case http.StatusNotFound, http.StatusConflict, http.StatusRequestedRangeNotSatisfiable,
			http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	if errors.Is(err, gbs.ErrPinMismatch) || errors.Is(err, errBadMessage) {
		return false
	}
	var certErr *tls.CertificateVerificationError
	return !errors.As(err, &certErr)
}

func (c *Client) sleep(ctx context.Context, failures int) error {
	d := c.opts.RetryBackoff << min(failures-1, 20)
	d = min(d, c.opts.MaxBackoff)
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// countingReader counts the bytes the transport takes from a chunk body,
// feeds them to the crypttext hash, and remembers a failure of the source
// (as opposed to the network). The transport may still be reading it from
// another goroutine when the response arrives, hence the atomics.
type countingReader struct {
	r    io.Reader
	n    *atomic.Int64
	left int64 // only touched by the transport's reading goroutine
	off  int64 // offset in the file of the next byte; likewise
	ct   *crypttextTracker
	err  atomic.Pointer[error]
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.ct.feed(c.off, p[:k])
	c.off += int64(k)
	c.n.Add(int64(k))
	c.left -= int64(k)
	if err == io.EOF && c.left > 0 {
		err = fmt.Errorf("%w: the source ended %d bytes before the declared size", io.ErrUnexpectedEOF, c.left)
	}
	if err != nil && err != io.EOF {
		c.err.CompareAndSwap(nil, &err)
	}
	return k, err
}

func (c *countingReader) failure() error {
	if e := c.err.Load(); e != nil {
		return *e
	}
	return nil
}

// errSource marks a failure to read the uploader's own ciphertext.
var errSource = errors.New("helper: reading the ciphertext")

// crypttextTracker computes the crypttext hash of the ciphertext while
// Upload sends it. Chunk bodies feed it as the transport reads them; bytes
// must come in order, so a byte range is taken only where it continues
// the hash (a resent chunk adds nothing, and several attempts' bodies may
// be read concurrently). What the helper already held, and so was not
// sent, is read from the source at the end.
type crypttextTracker struct {
	mu     sync.Mutex
	h      *hashtree.Hasher
	hashed int64 // bytes hashed, from offset 0
}

// feed offers the bytes p found at off. A nil tracker ignores them.
func (t *crypttextTracker) feed(off int64, p []byte) {
	if t == nil || len(p) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if off <= t.hashed && off+int64(len(p)) > t.hashed {
		t.h.Write(p[t.hashed-off:])
		t.hashed = off + int64(len(p))
	}
}

// sum returns the hash of the size bytes of r, reading from r what was not
// fed.
func (t *crypttextTracker) sum(ctx context.Context, r io.ReaderAt, size int64) (hashtree.Hash, error) {
	var buf []byte
	for {
		t.mu.Lock()
		off := t.hashed
		t.mu.Unlock()
		if off >= size {
			break
		}
		if err := ctx.Err(); err != nil {
			return hashtree.Hash{}, err
		}
		if buf == nil {
			buf = make([]byte, min(256<<10, size-off))
		}
		n := int(min(int64(len(buf)), size-off))
		k, err := r.ReadAt(buf[:n], off)
		if k < n {
			if err == nil || errors.Is(err, io.EOF) {
				err = fmt.Errorf("%w: the source ended %d bytes before the declared size", io.ErrUnexpectedEOF, size-off-int64(k))
			}
			return hashtree.Hash{}, fmt.Errorf("%w at %d: %w", errSource, off+int64(k), err)
		}
		t.feed(off, buf[:k])
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.h.Sum(), nil
}
