package gbs_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/communitycube/cube/server/grid/gbs"
	"github.com/communitycube/cube/server/grid/storage/storagetest"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/shared/nurl"
)

// fakeServer is a TLS server whose handler the test controls, with a
// client pinned to it.
func fakeServer(t *testing.T, h http.HandlerFunc) *gbs.Client {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	host, portStr, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portStr)
	n, err := nurl.New(srv.Certificate(), host, uint16(port), "swiss-number")
	if err != nil {
		t.Fatal(err)
	}
	c, err := gbs.New(n, &gbs.Options{RetryBackoff: time.Millisecond, ChunkSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestRequestsLookLikeTahoe pins down the request encoding details a Tahoe
// server depends on.
func TestRequestsLookLikeTahoe(t *testing.T) {
	var mu sync.Mutex
	var seen []*http.Request
	var bodies [][]byte
	c := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r)
		bodies = append(bodies, b)
		mu.Unlock()
		w.Header().Set("Content-Type", wire.MediaTypeCBOR)
		switch r.Method {
		case http.MethodPatch:
			w.WriteHeader(http.StatusOK)
			w.Write(wire.EncodeUploadProgress(wire.UploadProgress{Required: []wire.ByteRange{{Begin: 4, End: 10}}}))
		case http.MethodPost:
			w.Write(wire.EncodeAllocateResponse(wire.AllocateResponse{Allocated: []uint16{1}}))
		}
	})
	ctx := context.Background()
	var si wire.StorageIndex
	lease := gbs.LeaseSecrets{Renew: bytes.Repeat([]byte{1}, 32), Cancel: bytes.Repeat([]byte{2}, 32)}
	if _, err := c.Allocate(ctx, si, []uint16{1}, 10, lease, []byte("up")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteShareChunk(ctx, si, 1, []byte("up"), 0, []byte("abcd")); err != nil {
		t.Fatal(err)
	}
	r := seen[0]
	if r.URL.Path != "/storage/v1/immutable/aaaaaaaaaaaaaaaaaaaaaaaaaa" {
		t.Errorf("allocate path %s", r.URL.Path)
	}
	if got := r.Header.Get("Authorization"); got != "Tahoe-LAFS "+base64.StdEncoding.EncodeToString([]byte("swiss-number")) {
		t.Errorf("Authorization %q", got)
	}
	xa := r.Header.Values("X-Tahoe-Authorization")
	want := []string{
		"lease-renew-secret " + base64.StdEncoding.EncodeToString(lease.Renew),
		"lease-cancel-secret " + base64.StdEncoding.EncodeToString(lease.Cancel),
		"upload-secret dXA=",
	}
	if strings.Join(xa, "|") != strings.Join(want, "|") {
		t.Errorf("X-Tahoe-Authorization %q", xa)
	}
	if r.Header.Get("Content-Type") != "application/cbor" || r.Header.Get("Accept") != "application/cbor" {
		t.Errorf("content negotiation headers %q %q", r.Header.Get("Content-Type"), r.Header.Get("Accept"))
	}
	if req, err := wire.DecodeAllocateRequest(bodies[0]); err != nil || req.AllocatedSize != 10 {
		t.Errorf("allocate body %x: %v", bodies[0], err)
	}
	// Share numbers are a tagged set (0xd9 0x0102).
	if !bytes.Contains(bodies[0], []byte{0xd9, 0x01, 0x02}) {
		t.Errorf("share-numbers not sent as a CBOR set: %x", bodies[0])
	}
	p := seen[1]
	if p.Method != "PATCH" || p.Header.Get("Content-Range") != "bytes 0-3/*" || string(bodies[1]) != "abcd" {
		t.Errorf("PATCH %s %q %q", p.Method, p.Header.Get("Content-Range"), bodies[1])
	}
}

func TestRetries(t *testing.T) {
	var calls atomic.Int32
	c := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ctx := context.Background()
	var si wire.StorageIndex
	lease := gbs.LeaseSecrets{Renew: make([]byte, 32), Cancel: make([]byte, 32)}
	if err := c.AddOrRenewLease(ctx, si, lease); err != nil {
		t.Fatalf("idempotent request: %v", err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d attempts, want 3", calls.Load())
	}
	// Read-test-write is never retried.
	calls.Store(0)
	_, err := c.ReadTestWrite(ctx, si, gbs.MutableSecrets{WriteEnabler: make([]byte, 32), Lease: lease}, nil, nil)
	if !errors.Is(err, &gbs.StatusError{Code: http.StatusServiceUnavailable}) || calls.Load() != 1 {
		t.Fatalf("rtw: %v after %d attempts", err, calls.Load())
	}
	// Nor are client errors.
	c2 := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "no such share", http.StatusNotFound)
	})
	calls.Store(0)
	_, err = c2.ReadImmutableShare(ctx, si, 0, 0, 10)
	var se *gbs.StatusError
	if !errors.As(err, &se) || se.Code != 404 || se.Message != "no such share" || calls.Load() != 1 {
		t.Fatalf("404: %v after %d attempts", err, calls.Load())
	}
}

func TestReadValidatesResponses(t *testing.T) {
	var mode atomic.Int32
	c := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", wire.MediaTypeOctet)
		switch mode.Load() {
		case 0: // more than asked for
			w.Header().Set("Content-Range", "bytes 0-99/100")
			w.WriteHeader(http.StatusPartialContent)
			w.Write(make([]byte, 100))
		case 1: // shorter body than Content-Range promises
			w.Header().Set("Content-Range", "bytes 0-9/100")
			w.Header().Set("Content-Length", "10")
			w.WriteHeader(http.StatusPartialContent)
			w.Write(make([]byte, 5))
		case 2: // wrong content type
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Range", "bytes 0-9/100")
			w.WriteHeader(http.StatusPartialContent)
			w.Write(make([]byte, 10))
		case 3: // a server ignoring Range
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("0123456789"))
		}
	})
	ctx := context.Background()
	var si wire.StorageIndex
	for m := int32(0); m < 3; m++ {
		mode.Store(m)
		if _, err := c.ReadImmutableShare(ctx, si, 0, 0, 10); err == nil {
			t.Errorf("mode %d: bad response accepted", m)
		}
	}
	mode.Store(3)
	if got, err := c.ReadImmutableShare(ctx, si, 0, 3, 4); err != nil || string(got) != "3456" {
		t.Errorf("200 response: %q %v", got, err)
	}
}

func TestWriteShareAgainstGrid(t *testing.T) {
	g := storagetest.NewGridWithOptions(t, 3, &storagetest.Options{Client: &gbs.Options{ChunkSize: 333}})
	ctx := context.Background()
	var si wire.StorageIndex
	si[0] = 42
	data := bytes.Repeat([]byte("0123456789"), 1000)
	lease := gbs.LeaseSecrets{Renew: bytes.Repeat([]byte{7}, 32), Cancel: bytes.Repeat([]byte{8}, 32)}
	for i, c := range g.Clients() {
		up := []byte("upload-" + strconv.Itoa(i))
		res, err := c.Allocate(ctx, si, []uint16{uint16(i)}, uint64(len(data)), lease, up)
		if err != nil || len(res.Allocated) != 1 {
			t.Fatalf("node %d allocate: %+v %v", i, res, err)
		}
		// A reader that ends early is reported, not silently padded.
		if _, err := c.WriteShare(ctx, si, uint16(i), up, 0, bytes.NewReader(data[:100]), uint64(len(data))); err == nil {
			t.Fatal("short reader accepted")
		}
		p, err := c.WriteShare(ctx, si, uint16(i), up, 0, bytes.NewReader(data), uint64(len(data)))
		if err != nil || !p.Finished {
			t.Fatalf("node %d write: %+v %v", i, p, err)
		}
		var buf bytes.Buffer
		n, err := c.ReadShareTo(ctx, wire.Immutable, si, uint16(i), 1000, 5000, &buf)
		if err != nil || n != 5000 || !bytes.Equal(buf.Bytes(), data[1000:6000]) {
			t.Fatalf("node %d stream read: %d %v", i, n, err)
		}
	}
	for i, c := range g.Clients() {
		shares, err := c.ListImmutableShares(ctx, si)
		if err != nil || len(shares) != 1 || shares[0] != uint16(i) {
			t.Fatalf("node %d shares %v %v", i, shares, err)
		}
	}
	if got := g.NURLs(); len(got) != 3 || got[0] == got[1] {
		t.Fatalf("NURLs %v", got)
	}
}

func TestNewRejectsUnusableNURLs(t *testing.T) {
	g := storagetest.NewGrid(t, 1)
	n := g.Nodes[0].NURL
	n.Scheme = nurl.SchemeTor
	if _, err := gbs.New(n, nil); err == nil {
		t.Fatal("pb+tor NURL accepted without a dialer")
	}
	n = g.Nodes[0].NURL
	n.SPKIHash = "short"
	if _, err := gbs.New(n, nil); err == nil {
		t.Fatal("invalid NURL accepted")
	}
}
