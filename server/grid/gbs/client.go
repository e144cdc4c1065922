// Package gbs is a client for the Tahoe-LAFS HTTP storage protocol ("Great
// Black Swamp"), usable against CommunityCube and Tahoe-LAFS storage nodes
// alike.
//
// A Client is made from the node's NURL. It speaks HTTPS and authenticates
// the server solely by the SHA-256 hash of its certificate's public key
// (SPKI) from the NURL; certificate authorities, host names and validity
// dates are ignored, as the protocol prescribes. Every endpoint has a typed
// method; share data is uploaded in bounded chunks and read by byte range.
// Requests that are safe to repeat are retried on transport errors and on
// 502/503/504; every method honours its context.
package gbs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
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
	"time"

	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/shared/nurl"
)

// Defaults for Options fields left zero.
const (
	DefaultMaxRetries      = 3
	DefaultRetryBackoff    = 250 * time.Millisecond
	DefaultChunkSize       = 1 << 20
	DefaultMaxResponseSize = 64 << 20
)

// Options tunes a Client. The zero value is usable.
type Options struct {
	// DialContext replaces the default TCP dialer, e.g. to reach pb+tor
	// NURLs through a Tor SOCKS proxy. Required for non-"pb" schemes.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// MaxRetries is how many times an idempotent request is retried after
	// the first attempt; negative disables retries.
	MaxRetries int
	// RetryBackoff is the delay before the first retry; it doubles (with
	// jitter) on each further retry.
	RetryBackoff time.Duration
	// ChunkSize is the size of each PATCH sent by WriteShare.
	ChunkSize int
	// MaxResponseSize bounds CBOR response bodies (read-test-write results
	// carry share data).
	MaxResponseSize int64
}

// Client talks to one storage server. It is safe for concurrent use.
type Client struct {
	n         nurl.NURL
	base      string
	auth      string
	opts      Options
	transport *http.Transport
	hc        *http.Client
}

// ErrPinMismatch is returned (wrapped) when the server presents a
// certificate whose public key does not hash to the NURL's SPKI hash.
var ErrPinMismatch = errors.New("gbs: server certificate does not match the NURL's SPKI hash")

// PinnedTLSConfig returns a client TLS configuration that accepts a server
// if and only if its leaf certificate's SPKI hashes to spkiHash.
//
// Chain verification is switched off (InsecureSkipVerify) and replaced by
// the pin in VerifyConnection, which runs on every handshake including
// resumed ones. The certificate's own signature and dates are deliberately
// not checked: the TLS handshake already proves possession of the pinned
// key, so they add nothing, and checking them would reject Tahoe nodes
// whose long-lived certificates are expired or SHA-1 signed (Tahoe accepts
// those too).
func PinnedTLSConfig(spkiHash string) (*tls.Config, error) {
	want, err := nurl.DecodeSPKIHash(spkiHash)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by the SPKI pin below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("%w: no certificate presented", ErrPinMismatch)
			}
			got := sha256.Sum256(cs.PeerCertificates[0].RawSubjectPublicKeyInfo)
			if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
				return ErrPinMismatch
			}
			return nil
		},
	}, nil
}

// New returns a client for the server at n. opts may be nil.
func New(n nurl.NURL, opts *Options) (*Client, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if n.Scheme != nurl.SchemeTCP && o.DialContext == nil {
		return nil, fmt.Errorf("gbs: %s NURLs need Options.DialContext", n.Scheme)
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = DefaultRetryBackoff
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.MaxResponseSize <= 0 {
		o.MaxResponseSize = DefaultMaxResponseSize
	}
	tlsConf, err := PinnedTLSConfig(n.SPKIHash)
	if err != nil {
		return nil, err
	}
	dial := o.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	raw := dial
	dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := raw(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return bufnet.Conn(c, bufnet.ReadBuffer), nil
	}
	tr := &http.Transport{
		// No Proxy: a NURL names the exact endpoint to reach; use
		// DialContext for overlay networks.
		DialContext:         dial,
		TLSClientConfig:     tlsConf,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 10,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 20 * time.Second,
	}
	return &Client{
		n:         n,
		base:      "https://" + n.Address(),
		auth:      wire.AuthorizationValue(n.Swissnum),
		opts:      o,
		transport: tr,
		hc:        &http.Client{Transport: tr},
	}, nil
}

// NURL returns the NURL the client was made from.
func (c *Client) NURL() nurl.NURL { return c.n }

// Close releases idle connections.
func (c *Client) Close() { c.transport.CloseIdleConnections() }

// StatusError is an unexpected HTTP response. Use errors.Is with the
// sentinel values (ErrNotFound, ...) to test for a status.
type StatusError struct {
	Method  string
	Path    string
	Code    int
	Message string // the server's explanation, if any
}

func (e *StatusError) Error() string {
	if e.Method == "" {
		return fmt.Sprintf("gbs: HTTP %d", e.Code)
	}
	msg := fmt.Sprintf("gbs: %s %s: %d %s", e.Method, e.Path, e.Code, http.StatusText(e.Code))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Is reports whether target is a sentinel StatusError with the same code.
func (e *StatusError) Is(target error) bool {
	t, ok := target.(*StatusError)
	return ok && t.Method == "" && t.Code == e.Code
}

// Sentinels for errors.Is.
var (
	ErrBadRequest          = &StatusError{Code: http.StatusBadRequest}
	ErrUnauthorized        = &StatusError{Code: http.StatusUnauthorized}
	ErrNotFound            = &StatusError{Code: http.StatusNotFound}
	ErrNotAllowed          = &StatusError{Code: http.StatusMethodNotAllowed}
	ErrConflict            = &StatusError{Code: http.StatusConflict}
	ErrTooLarge            = &StatusError{Code: http.StatusRequestEntityTooLarge}
	ErrRangeNotSatisfiable = &StatusError{Code: http.StatusRequestedRangeNotSatisfiable}
	ErrInsufficientStorage = &StatusError{Code: http.StatusInsufficientStorage}
)

type secret struct {
	kind  wire.SecretKind
	value []byte
}

// call describes one request. body must be replayable, which is why it is
// a byte slice: retries resend it.
type call struct {
	method      string
	path        string
	secrets     []secret
	body        []byte
	contentType string
	header      map[string]string
	idempotent  bool
}

// do sends a call, retrying idempotent ones, and returns the response with
// its body unread. Only transport errors and 502/503/504 are retried; a
// certificate pin mismatch and context cancellation never are.
func (c *Client) do(ctx context.Context, cl call) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := c.once(ctx, cl)
		retry := cl.idempotent && attempt < c.opts.MaxRetries && ctx.Err() == nil
		if err != nil {
			if !retry || errors.Is(err, ErrPinMismatch) {
				return nil, err
			}
		} else {
			switch resp.StatusCode {
			case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
				if retry {
					io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
					resp.Body.Close()
					break
				}
				return resp, nil
			default:
				return resp, nil
			}
		}
		d := c.opts.RetryBackoff << attempt
		d = d/2 + rand.N(d/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (c *Client) once(ctx context.Context, cl call) (*http.Response, error) {
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, c.base+cl.path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set(wire.HeaderAuthorization, c.auth)
	req.Header.Set("Accept", wire.MediaTypeCBOR)
	for _, s := range cl.secrets {
		req.Header.Add(wire.HeaderTahoeAuthorization, wire.SecretHeaderValue(s.kind, s.value))
	}
	if cl.contentType != "" {
		req.Header.Set("Content-Type", cl.contentType)
	}
	for k, v := range cl.header {
		req.Header.Set(k, v)
	}
	return c.hc.Do(req)
}

// statusError consumes resp and turns it into a StatusError.
func statusError(cl call, resp *http.Response) error {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return &StatusError{Method: cl.method, Path: cl.path, Code: resp.StatusCode, Message: strings.TrimSpace(string(b))}
}

// expect sends cl and checks the status is one of codes; on success the
// caller owns resp.Body.
func (c *Client) expect(ctx context.Context, cl call, codes ...int) (*http.Response, error) {
	resp, err := c.do(ctx, cl)
	if err != nil {
		return nil, err
	}
	for _, code := range codes {
		if resp.StatusCode == code {
			return resp, nil
		}
	}
	return nil, statusError(cl, resp)
}

// cborBody reads a size-limited CBOR response body.
func (c *Client) cborBody(cl call, resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != wire.MediaTypeCBOR {
		return nil, fmt.Errorf("gbs: %s %s: response is %q, not CBOR", cl.method, cl.path, resp.Header.Get("Content-Type"))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxResponseSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > c.opts.MaxResponseSize {
		return nil, fmt.Errorf("gbs: %s %s: response larger than %d bytes", cl.method, cl.path, c.opts.MaxResponseSize)
	}
	return b, nil
}

// discard drains and closes a response whose body carries nothing of use.
func discard(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
