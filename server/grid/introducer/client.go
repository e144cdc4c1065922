package introducer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/communitycube/cube/server/grid/gbs"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/shared/nurl"
)

// Client defaults, used for zero fields of PublisherConfig and
// SubscriberConfig.
const (
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
	// DefaultMaxResponseSize bounds a GET response: DefaultMaxEntries
	// announcements of the largest size, and some.
	DefaultMaxResponseSize = 20 << 20
)

// requestTimeout bounds a request that does not long-poll, and the time a
// long poll may take beyond the wait it asked for.
const requestTimeout = 30 * time.Second

// DialFunc dials a network address, e.g. through a Tor SOCKS proxy for
// pb+tor NURLs.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// IntroducerStatus describes the connection to one introducer, for status
// pages. NURL is redacted (no swissnum).
type IntroducerStatus struct {
	NURL string
	// Learned is true for an introducer learned from an announcement (or
	// given to Publisher.SetLearnedIntroducers) rather than configured.
	Learned bool
	// Connected is true if the last exchange succeeded.
	Connected bool
	// LastContact is when the last exchange succeeded; zero if never.
	LastContact time.Time
	// LastError describes the last failure, and LastErrorAt says when it
	// happened; both are zero if nothing has failed yet.
	LastError   string
	LastErrorAt time.Time
}

// connState tracks an IntroducerStatus under its own lock.
type connState struct {
	mu sync.Mutex
	st IntroducerStatus
}

func (c *connState) ok(now time.Time) {
	c.mu.Lock()
	c.st.Connected, c.st.LastContact = true, now
	c.mu.Unlock()
}

func (c *connState) fail(now time.Time, err error) {
	c.mu.Lock()
	c.st.Connected = false
	c.st.LastError, c.st.LastErrorAt = err.Error(), now
	c.mu.Unlock()
}

func (c *connState) get() IntroducerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st
}

// introClient speaks the protocol to one introducer over HTTPS, pinning
// the certificate from its NURL with gbs.PinnedTLSConfig, as storage
// clients do.
type introClient struct {
	n       nurl.NURL
	base    string
	auth    string
	tr      *http.Transport
	hc      *http.Client
	maxResp int64
}

func newIntroClient(n nurl.NURL, dial DialFunc, maxResp int64) (*introClient, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	if n.Scheme != nurl.SchemeTCP && dial == nil {
		return nil, fmt.Errorf("introducer: %s NURLs need a DialContext", n.Scheme)
	}
	tlsConf, err := gbs.PinnedTLSConfig(n.SPKIHash)
	if err != nil {
		return nil, err
	}
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	tr := &http.Transport{
		// No Proxy: the NURL names the endpoint; overlays go through dial.
		DialContext:         dial,
		TLSClientConfig:     tlsConf,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 20 * time.Second,
	}
	return &introClient{
		n:       n,
		base:    "https://" + n.Address(),
		auth:    wire.AuthorizationValue(n.Swissnum),
		tr:      tr,
		hc:      &http.Client{Transport: tr},
		maxResp: maxResp,
	}, nil
}

func (c *introClient) close() { c.tr.CloseIdleConnections() }

// statusError is a non-200 answer. Its text never includes the swissnum.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("introducer: HTTP %d %s: %s", e.code, http.StatusText(e.code), e.msg)
}

func (c *introClient) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set(wire.HeaderAuthorization, c.auth)
	req.Header.Set("Accept", mediaTypeCBOR)
	if body != nil {
		req.Header.Set("Content-Type", mediaTypeCBOR)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return nil, &statusError{code: resp.StatusCode, msg: strings.TrimSpace(string(b))}
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != mediaTypeCBOR {
		return nil, fmt.Errorf("introducer: response is not %s", mediaTypeCBOR)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.maxResp+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > c.maxResp {
		return nil, fmt.Errorf("introducer: response larger than %d bytes", c.maxResp)
	}
	return b, nil
}

func (c *introClient) announce(ctx context.Context, raws [][]byte) ([]announceResult, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	b, err := c.do(ctx, http.MethodPost, PathAnnounce, encodeAnnounceRequest(raws))
	if err != nil {
		return nil, err
	}
	return decodeAnnounceResponse(b, len(raws))
}

// poll fetches the announcements, waiting up to wait for a change if
// since is given.
func (c *introClient) poll(ctx context.Context, since *uint64, wait time.Duration) (snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, wait+requestTimeout)
	defer cancel()
	q := url.Values{}
	if since != nil {
		q.Set("since", strconv.FormatUint(*since, 10))
	}
	q.Set("wait", strconv.FormatInt(int64(wait/time.Second), 10))
	b, err := c.do(ctx, http.MethodGet, PathAnnouncements+"?"+q.Encode(), nil)
	if err != nil {
		return snapshot{}, err
	}
	return decodeSnapshot(b)
}

// backoff produces retry delays: doubling from min to max, each drawn
// uniformly from its upper half so that many clients that failed together
// do not retry together.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	return b.cur/2 + rand.N(b.cur/2+1)
}

func (b *backoff) reset() { b.cur = 0 }

// sleep waits for d or until ctx is done; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
