package storage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/communitycube/cube/server/grid/gbs"
	"github.com/communitycube/cube/server/grid/storage"
	"github.com/communitycube/cube/server/grid/storage/storagetest"
	"github.com/communitycube/cube/server/grid/storage/wire"
)

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func randSI(t testing.TB) wire.StorageIndex {
	var si wire.StorageIndex
	copy(si[:], randBytes(t, 16))
	return si
}

func leaseSecrets(t testing.TB) gbs.LeaseSecrets {
	return gbs.LeaseSecrets{Renew: randBytes(t, 32), Cancel: randBytes(t, 32)}
}

// uploadShare allocates and fully writes one immutable share.
func uploadShare(t testing.TB, c *gbs.Client, si wire.StorageIndex, shnum uint16, data []byte, lease gbs.LeaseSecrets) {
	t.Helper()
	ctx := context.Background()
	up := randBytes(t, 32)
	res, err := c.Allocate(ctx, si, []uint16{shnum}, uint64(len(data)), lease, up)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Allocated) != 1 {
		t.Fatalf("share %d not allocated: %+v", shnum, res)
	}
	p, err := c.WriteShare(ctx, si, shnum, up, 0, bytes.NewReader(data), uint64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Finished {
		t.Fatalf("upload not finished: %+v", p)
	}
}

// rawClient is an HTTP client pinned to node n, for requests the typed
// client cannot produce.
type rawClient struct {
	t    testing.TB
	base string
	auth string
	hc   *http.Client
}

func newRaw(t testing.TB, n *storagetest.Node) *rawClient {
	conf, err := gbs.PinnedTLSConfig(n.NURL.SPKIHash)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: conf}
	t.Cleanup(tr.CloseIdleConnections)
	return &rawClient{t: t, base: "https://" + n.NURL.Address(), auth: wire.AuthorizationValue(n.NURL.Swissnum), hc: &http.Client{Transport: tr}}
}

func (r *rawClient) do(method, path string, body []byte, hdr ...string) (int, []byte, http.Header) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.base+path, bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Authorization", r.auth)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func TestVersion(t *testing.T) {
	g := storagetest.NewGrid(t, 1)
	v, err := g.Nodes[0].Client.Version(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v.AvailableSpace == 0 || v.MaximumImmutableShareSize != v.AvailableSpace {
		t.Errorf("space fields: %+v", v)
	}
	if v.MaximumMutableShareSize != storage.DefaultMaxMutableShareSize {
		t.Errorf("maximum-mutable-share-size = %d", v.MaximumMutableShareSize)
	}
	if v.ApplicationVersion != storage.DefaultApplicationVersion {
		t.Errorf("application-version = %q", v.ApplicationVersion)
	}
	if !v.ToleratesImmutableReadOverrun || !v.FillsHolesWithZeroBytes || !v.PreventsReadPastEndOfShareData || !v.DeleteMutableSharesWithZeroLengthWritev {
		t.Errorf("feature flags not set: %+v", v)
	}
}

func TestImmutableUploadAndRead(t *testing.T) {
	g := storagetest.NewGridWithOptions(t, 1, &storagetest.Options{Client: &gbs.Options{ChunkSize: 1000}})
	c := g.Nodes[0].Client
	ctx := context.Background()
	si := randSI(t)
	data := randBytes(t, 10_000)
	lease := leaseSecrets(t)
	up := randBytes(t, 32)

	res, err := c.Allocate(ctx, si, []uint16{0, 1, 7}, uint64(len(data)), lease, up)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.AlreadyHave) != 0 || len(res.Allocated) != 3 {
		t.Fatalf("allocate: %+v", res)
	}
	// First half of share 0: progress reports the rest as required.
	p, err := c.WriteShare(ctx, si, 0, up, 0, bytes.NewReader(data[:5000]), 5000)
	if err != nil {
		t.Fatal(err)
	}
	if p.Finished || len(p.Required) != 1 || p.Required[0] != (wire.ByteRange{Begin: 5000, End: 10000}) {
		t.Fatalf("progress after half: %+v", p)
	}
	// Not readable until complete.
	if _, err := c.ReadImmutableShare(ctx, si, 0, 0, 10); !errors.Is(err, gbs.ErrNotFound) {
		t.Fatalf("read of incomplete share: %v", err)
	}
	if shares, _ := c.ListImmutableShares(ctx, si); len(shares) != 0 {
		t.Fatalf("incomplete share listed: %v", shares)
	}
	p, err = c.WriteShare(ctx, si, 0, up, 5000, bytes.NewReader(data[5000:]), 5000)
	if err != nil || !p.Finished || len(p.Required) != 0 {
		t.Fatalf("final write: %+v %v", p, err)
	}
	// Share 7 out of order, last chunk first.
	if _, err := c.WriteShareChunk(ctx, si, 7, up, 9000, data[9000:]); err != nil {
		t.Fatal(err)
	}
	if p, err = c.WriteShare(ctx, si, 7, up, 0, bytes.NewReader(data[:9000]), 9000); err != nil || !p.Finished {
		t.Fatalf("share 7: %+v %v", p, err)
	}

	shares, err := c.ListImmutableShares(ctx, si)
	if err != nil || len(shares) != 2 || shares[0] != 0 || shares[1] != 7 {
		t.Fatalf("list: %v %v", shares, err)
	}
	for _, tc := range []struct {
		off, n uint64
		want   []byte
	}{
		{0, 10000, data},
		{123, 456, data[123:579]},
		{9990, 100, data[9990:]}, // past the end: truncated
		{10000, 5, nil},          // starts at the end: 204
		{20000, 5, nil},
	} {
		got, err := c.ReadImmutableShare(ctx, si, 7, tc.off, tc.n)
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("read %d+%d: %d bytes, %v", tc.off, tc.n, len(got), err)
		}
	}
	if _, err := c.ReadImmutableShare(ctx, si, 1, 0, 1); !errors.Is(err, gbs.ErrNotFound) {
		t.Errorf("unwritten share: %v", err)
	}
	if _, err := c.ReadMutableShare(ctx, si, 0, 0, 1); !errors.Is(err, gbs.ErrNotFound) {
		t.Errorf("immutable share read as mutable: %v", err)
	}
	// A second allocation reports every stored share.
	res, err = c.Allocate(ctx, si, []uint16{0, 2}, uint64(len(data)), leaseSecrets(t), randBytes(t, 32))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.AlreadyHave) != 2 || len(res.Allocated) != 1 || res.Allocated[0] != 2 {
		t.Fatalf("second allocate: %+v", res)
	}

	// A whole-share GET without Range is a 200.
	raw := newRaw(t, g.Nodes[0])
	code, body, hdr := raw.do("GET", wire.PathShare(wire.Immutable, si, 0), nil)
	if code != 200 || !bytes.Equal(body, data) || hdr.Get("Content-Type") != wire.MediaTypeOctet {
		t.Fatalf("plain GET: %d, %d bytes, %q", code, len(body), hdr.Get("Content-Type"))
	}
	code, _, hdr = raw.do("GET", wire.PathShare(wire.Immutable, si, 0), nil, "Range", "bytes=16-31")
	if code != 206 || hdr.Get("Content-Range") != "bytes 16-31/10000" {
		t.Fatalf("ranged GET: %d %q", code, hdr.Get("Content-Range"))
	}
}

func TestAllocateIsIdempotentAndExclusive(t *testing.T) {
	g := storagetest.NewGrid(t, 1)
	c := g.Nodes[0].Client
	ctx := context.Background()
	si := randSI(t)
	lease, up := leaseSecrets(t), randBytes(t, 32)
	for i := 0; i < 2; i++ {
		res, err := c.Allocate(ctx, si, []uint16{3}, 100, lease, up)
		if err != nil || len(res.Allocated) != 1 {
			t.Fatalf("attempt %d: %+v %v", i, res, err)
		}
	}
	// Another client cannot take over the in-progress share.
	res, err := c.Allocate(ctx, si, []uint16{3, 4}, 100, leaseSecrets(t), randBytes(t, 32))
	if err != nil || len(res.Allocated) != 1 || res.Allocated[0] != 4 || len(res.AlreadyHave) != 0 {
		t.Fatalf("competing allocate: %+v %v", res, err)
	}
	// Nor write to it.
	if _, err := c.WriteShareChunk(ctx, si, 3, randBytes(t, 32), 0, []byte("x")); !errors.Is(err, gbs.ErrUnauthorized) {
		t.Fatalf("write with wrong upload secret: %v", err)
	}
}

func TestConflictingWrites(t *testing.T) {
	g := storagetest.NewGrid(t, 1)
	c := g.Nodes[0].Client
	ctx := context.Background()
	si := randSI(t)
	up := randBytes(t, 32)
	if _, err := c.Allocate(ctx, si, []uint16{0}, 200, leaseSecrets(t), up); err != nil {
		t.Fatal(err)
	}
	a := bytes.Repeat([]byte("a"), 100)
	if _, err := c.WriteShareChunk(ctx, si, 0, up, 0, a); err != nil {
		t.Fatal(err)
	}
	// Same bytes again: fine.
	if _, err := c.WriteShareChunk(ctx, si, 0, up, 50, a[:50]); err != nil {
		t.Fatalf("identical overlap: %v", err)
	}
	// Overlapping with different data: 409, whether fully or partly
	// overlapping.
	b := bytes.Repeat([]byte("b"), 100)
	if _, err := c.WriteShareChunk(ctx, si, 0, up, 0, b); !errors.Is(err, gbs.ErrConflict) {
		t.Fatalf("conflicting overwrite: %v", err)
	}
	if _, err := c.WriteShareChunk(ctx, si, 0, up, 90, b[:20]); !errors.Is(err, gbs.ErrConflict) {
		t.Fatalf("partly overlapping conflict: %v", err)
	}
	// Beyond the allocated size: 416.
	if _, err := c.WriteShareChunk(ctx, si, 0, up, 150, b); !errors.Is(err, gbs.ErrRangeNotSatisfiable) {
		t.Fatalf("write past allocation: %v", err)
	}
	p, err := c.WriteShareChunk(ctx, si, 0, up, 100, b)
	if err != nil || !p.Finished {
		t.Fatalf("completing write: %+v %v", p, err)
	}
	got, _ := c.ReadImmutableShare(ctx, si, 0, 0, 200)
	if !bytes.Equal(got, append(a, b...)) {
		t.Fatal("stored data is not what was acknowledged")
	}
	// Retrying the final chunk after completion (response lost) is OK...
	if p, err := c.WriteShareChunk(ctx, si, 0, up, 100, b); err != nil || !p.Finished {
		t.Fatalf("retried final chunk: %+v %v", p, err)
	}
	// ...but not with different data or the wrong secret.
	if _, err := c.WriteShareChunk(ctx, si, 0, up, 100, a); !errors.Is(err, gbs.ErrConflict) {
		t.Fatalf("different data after completion: %v", err)
	}
	if _, err := c.WriteShareChunk(ctx, si, 0, randBytes(t, 32), 100, b); !errors.Is(err, gbs.ErrUnauthorized) {
		t.Fatalf("wrong secret after completion: %v", err)
	}
}

func TestAbort(t *testing.T) {
	g := storagetest.NewGrid(t, 1)
	c := g.Nodes[0].Client
	ctx := context.Background()
	si := randSI(t)
	up := randBytes(t, 32)
	if _, err := c.Allocate(ctx, si, []uint16{0, 1}, 10, leaseSecrets(t), up); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteShareChunk(ctx, si, 0, up, 0, []byte("01234")); err != nil {
		t.Fatal(err)
	}
	if err := c.AbortUpload(ctx, si, 0, randBytes(t, 32)); !errors.Is(err, gbs.ErrUnauthorized) {
		t.Fatalf("abort with wrong secret: %v", err)
	}
	if err := c.AbortUpload(ctx, si, 0, up); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteShareChunk(ctx, si, 0, up, 5, []byte("56789")); !errors.Is(err, gbs.ErrNotFound) {
		t.Fatalf("write after abort: %v", err)
	}
	if err := c.AbortUpload(ctx, si, 0, up); !errors.Is(err, gbs.ErrNotFound) {
		t.Fatalf("second abort: %v", err)
	}
	// The share can be allocated afresh.
	res, err := c.Allocate(ctx, si, []uint16{0}, 10, leaseSecrets(t), up)
	if err != nil || len(res.Allocated) != 1 {
		t.Fatalf("re-allocate: %+v %v", res, err)
	}
	// A completed upload cannot be aborted.
	if _, err := c.WriteShareChunk(ctx, si, 1, up, 0, []byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	if err := c.AbortUpload(ctx, si, 1, up); !errors.Is(err, gbs.ErrNotAllowed) {
		t.Fatalf("abort of completed upload: %v", err)
	}
	if err := c.AbortUpload(ctx, randSI(t), 1, up); !errors.Is(err, gbs.ErrNotFound) {
		t.Fatalf("abort of unknown upload: %v", err)
	}
}

func TestMutable(t *testing.T) {
	g := storagetest.NewGrid(t, 1)
	c := g.Nodes[0].Client
	ctx := context.Background()
	si := randSI(t)
	sec := gbs.MutableSecrets{WriteEnabler: randBytes(t, 32), Lease: leaseSecrets(t)}
	ten := uint64(10)

	// Create share 3 only if it does not exist (size-1 empty specimen).
	create := map[uint16]wire.TestWriteVectors{3: {
		Test:      []wire.TestVector{{Offset: 0, Size: 1, Specimen: []byte{}}},
		Write:     []wire.WriteVector{{Offset: 0, Data: []byte("xxxxxxxxxx")}},
		NewLength: &ten,
	}}
	res, err := c.ReadTestWrite(ctx, si, sec, create, nil)
	if err != nil || !res.Success || len(res.Data) != 0 {
		t.Fatalf("create: %+v %v", res, err)
	}
	// The same request now fails its test and changes nothing.
	res, err = c.ReadTestWrite(ctx, si, sec, create, []wire.ReadVector{{Offset: 0, Size: 4}})
	if err != nil || res.Success || string(res.Data[3][0]) != "xxxx" {
		t.Fatalf("second create: %+v %v", res, err)
	}
	// Conditional rewrite, with a hole that must read as zeros.
	rewrite := map[uint16]wire.TestWriteVectors{3: {
		Test:  []wire.TestVector{{Offset: 0, Size: 10, Specimen: []byte("xxxxxxxxxx")}},
		Write: []wire.WriteVector{{Offset: 0, Data: []byte("yy")}, {Offset: 20, Data: []byte("zz")}},
	}}
	res, err = c.ReadTestWrite(ctx, si, sec, rewrite, []wire.ReadVector{{Offset: 0, Size: 2}, {Offset: 8, Size: 100}})
	if err != nil || !res.Success {
		t.Fatalf("rewrite: %+v %v", res, err)
	}
	// Reads happen before writes.
	if string(res.Data[3][0]) != "xx" || string(res.Data[3][1]) != "xx" {
		t.Fatalf("read vectors: %q", res.Data[3])
	}
	got, err := c.ReadMutableShare(ctx, si, 3, 0, 100)
	want := append([]byte("yyxxxxxxxx"), make([]byte, 10)...)
	want = append(want, "zz"...)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %q, %v", got, err)
	}
	if got, _ := c.ReadMutableShare(ctx, si, 3, 21, 100); string(got) != "z" {
		t.Fatalf("read past end: %q", got)
	}
	if shares, err := c.ListMutableShares(ctx, si); err != nil || len(shares) != 1 || shares[0] != 3 {
		t.Fatalf("list: %v %v", shares, err)
	}
	if shares, _ := c.ListImmutableShares(ctx, si); len(shares) != 0 {
		t.Fatalf("mutable share listed as immutable: %v", shares)
	}
	// Wrong write enabler.
	bad := sec
	bad.WriteEnabler = randBytes(t, 32)
	if _, err := c.ReadTestWrite(ctx, si, bad, rewrite, nil); !errors.Is(err, gbs.ErrUnauthorized) {
		t.Fatalf("wrong write enabler: %v", err)
	}
	// Truncation, then deletion with new-length 0.
	four := uint64(4)
	if res, err := c.ReadTestWrite(ctx, si, sec, map[uint16]wire.TestWriteVectors{3: {NewLength: &four}}, nil); err != nil || !res.Success {
		t.Fatalf("truncate: %v", err)
	}
	if got, _ := c.ReadMutableShare(ctx, si, 3, 0, 100); string(got) != "yyxx" {
		t.Fatalf("after truncate: %q", got)
	}
	zero := uint64(0)
	if res, err := c.ReadTestWrite(ctx, si, sec, map[uint16]wire.TestWriteVectors{3: {NewLength: &zero}}, nil); err != nil || !res.Success {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.ReadMutableShare(ctx, si, 3, 0, 1); !errors.Is(err, gbs.ErrNotFound) {
		t.Fatalf("deleted share readable: %v", err)
	}
	// Writes beyond the maximum share size are refused.
	huge := map[uint16]wire.TestWriteVectors{0: {Write: []wire.WriteVector{{Offset: storage.DefaultMaxMutableShareSize, Data: []byte("x")}}}}
	if _, err := c.ReadTestWrite(ctx, si, sec, huge, nil); !errors.Is(err, gbs.ErrTooLarge) {
		t.Fatalf("write past max size: %v", err)
	}
	// Immutable shares under the same storage index conflict.
	isi := randSI(t)
	uploadShare(t, c, isi, 0, []byte("imm"), leaseSecrets(t))
	if _, err := c.ReadTestWrite(ctx, isi, sec, create, nil); !errors.Is(err, gbs.ErrConflict) {
		t.Fatalf("rtw on immutable SI: %v", err)
	}
}

func TestLeaseEndpoint(t *testing.T) {
	g := storagetest.NewGrid(t, 1)
	c := g.Nodes[0].Client
	ctx := context.Background()
	si := randSI(t)
	if err := c.AddOrRenewLease(ctx, si, leaseSecrets(t)); !errors.Is(err, gbs.ErrNotFound) {
		t.Fatalf("lease on nothing: %v", err)
	}
	lease := leaseSecrets(t)
	uploadShare(t, c, si, 0, []byte("hello"), lease)
	if err := c.AddOrRenewLease(ctx, si, lease); err != nil {
		t.Fatal(err)
	}
	if err := c.AddOrRenewLease(ctx, si, leaseSecrets(t)); err != nil {
		t.Fatal(err)
	}
	msi := randSI(t)
	sec := gbs.MutableSecrets{WriteEnabler: randBytes(t, 32), Lease: leaseSecrets(t)}
	if _, err := c.ReadTestWrite(ctx, msi, sec, map[uint16]wire.TestWriteVectors{0: {Write: []wire.WriteVector{{Data: []byte("m")}}}}, nil); err != nil {
		t.Fatal(err)
	}
	// Five more leases on the mutable share exercise the extra-lease area.
	for i := 0; i < 5; i++ {
		if err := c.AddOrRenewLease(ctx, msi, leaseSecrets(t)); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := c.ReadMutableShare(ctx, msi, 0, 0, 10); string(got) != "m" {
		t.Fatalf("mutable data after leases: %q", got)
	}
}

func TestCorruptionAdvice(t *testing.T) {
	g := storagetest.NewGrid(t, 1)
	c := g.Nodes[0].Client
	ctx := context.Background()
	si := randSI(t)
	uploadShare(t, c, si, 2, []byte("data"), leaseSecrets(t))
	if err := c.AdviseCorruptImmutable(ctx, si, 2, "hash mismatch in block 3"); err != nil {
		t.Fatal(err)
	}
	if err := c.AdviseCorruptImmutable(ctx, si, 5, "x"); !errors.Is(err, gbs.ErrNotFound) {
		t.Fatalf("advice on unknown share: %v", err)
	}
	if err := c.AdviseCorruptMutable(ctx, si, 2, "x"); !errors.Is(err, gbs.ErrNotFound) {
		t.Fatalf("mutable advice on immutable share: %v", err)
	}
	msi := randSI(t)
	sec := gbs.MutableSecrets{WriteEnabler: randBytes(t, 32), Lease: leaseSecrets(t)}
	c.ReadTestWrite(ctx, msi, sec, map[uint16]wire.TestWriteVectors{1: {Write: []wire.WriteVector{{Data: []byte("m")}}}}, nil)
	if err := c.AdviseCorruptMutable(ctx, msi, 1, "bad signature\nsecond line"); err != nil {
		t.Fatal(err)
	}
	reps, err := g.Nodes[0].Server().CorruptionReports()
	if err != nil || len(reps) != 2 {
		t.Fatalf("reports: %+v %v", reps, err)
	}
	var sawImm, sawMut bool
	for _, r := range reps {
		switch {
		case r.Kind == "immutable" && r.StorageIndex == si && r.ShareNumber == 2 && r.Reason == "hash mismatch in block 3":
			sawImm = true
		case r.Kind == "mutable" && r.StorageIndex == msi && r.ShareNumber == 1 && r.Reason == "bad signature\nsecond line":
			sawMut = true
		}
	}
	if !sawImm || !sawMut {
		t.Fatalf("reports do not match: %+v", reps)
	}
}

func TestBadRequests(t *testing.T) {
	g := storagetest.NewGrid(t, 1)
	n := g.Nodes[0]
	raw := newRaw(t, n)
	si := randSI(t)
	k32 := randBytes(t, 32)
	renew := wire.SecretHeaderValue(wire.LeaseRenewSecret, k32)
	cancel := wire.SecretHeaderValue(wire.LeaseCancelSecret, k32)
	upload := wire.SecretHeaderValue(wire.UploadSecret, k32)
	alloc := wire.EncodeAllocateRequest(wire.AllocateRequest{ShareNumbers: []uint16{0}, AllocatedSize: 10})
	xa := "X-Tahoe-Authorization"

	// Authorization.
	for _, auth := range []string{"", "Tahoe-LAFS " + "d3Jvbmc=", wire.AuthorizationValue(n.NURL.Swissnum + "x"), "Basic abc"} {
		req, _ := http.NewRequest("GET", raw.base+wire.PathVersion, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := raw.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("auth %q: %d", auth, resp.StatusCode)
		}
	}
	// Even unknown paths need the swissnum first.
	req, _ := http.NewRequest("GET", raw.base+"/nope", nil)
	if resp, err := raw.hc.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("unknown path without auth: %v %v", resp, err)
	}

	cases := []struct {
		name   string
		method string
		path   string
		body   []byte
		hdr    []string
		want   int
	}{
		{"missing upload secret", "POST", wire.PathAllocate(si), alloc, []string{xa, renew, xa, cancel}, 400},
		{"missing all secrets", "POST", wire.PathAllocate(si), alloc, nil, 400},
		{"short lease secret", "POST", wire.PathAllocate(si), alloc, []string{xa, wire.SecretHeaderValue(wire.LeaseRenewSecret, k32[:16]), xa, cancel, xa, upload}, 400},
		{"unknown secret kind", "POST", wire.PathAllocate(si), alloc, []string{xa, renew, xa, cancel, xa, "frobnicator-secret AAAA"}, 400},
		{"extra secret", "GET", wire.PathVersion, nil, []string{xa, upload}, 400},
		{"malformed CBOR", "POST", wire.PathAllocate(si), []byte{0xa2, 0x00}, []string{xa, renew, xa, cancel, xa, upload}, 400},
		{"wrong CBOR shape", "POST", wire.PathAllocate(si), wire.EncodeCorruptionAdvice(wire.CorruptionAdvice{Reason: "x"}), []string{xa, renew, xa, cancel, xa, upload}, 400},
		{"zero allocated size", "POST", wire.PathAllocate(si), wire.EncodeAllocateRequest(wire.AllocateRequest{ShareNumbers: []uint16{0}}), []string{xa, renew, xa, cancel, xa, upload}, 400},
		{"oversize allocate body", "POST", wire.PathAllocate(si), bytes.Repeat([]byte{0}, wire.MaxAllocateRequestSize+1), []string{xa, renew, xa, cancel, xa, upload}, 413},
		{"oversize corrupt body", "POST", wire.PathCorrupt(wire.Immutable, si, 0), nil, nil, 404},
		{"wrong content type", "POST", wire.PathAllocate(si), alloc, []string{xa, renew, xa, cancel, xa, upload, "Content-Type", "application/json"}, 415},
		{"not acceptable", "GET", wire.PathVersion, nil, []string{"Accept", "application/json"}, 406},
		{"bad storage index", "GET", "/storage/v1/immutable/" + strings.Repeat("a", 25) + "b/shares", nil, nil, 400},
		{"uppercase storage index", "GET", "/storage/v1/immutable/" + strings.ToUpper(si.String()) + "/shares", nil, nil, 400},
		{"bad share number", "GET", "/storage/v1/immutable/" + si.String() + "/256", nil, nil, 400},
		{"unknown share", "GET", wire.PathShare(wire.Immutable, si, 9), nil, nil, 404},
		{"unknown route", "GET", "/storage/v1/bogus", nil, nil, 404},
		{"wrong method", "DELETE", wire.PathVersion, nil, nil, 405},
		{"patch without Content-Range", "PATCH", wire.PathShare(wire.Immutable, si, 0), []byte("x"), []string{xa, upload}, 416},
		{"patch with bad Content-Range", "PATCH", wire.PathShare(wire.Immutable, si, 0), []byte("x"), []string{xa, upload, "Content-Range", "bytes 5-1/*"}, 416},
		{"patch unknown upload", "PATCH", wire.PathShare(wire.Immutable, si, 0), []byte("x"), []string{xa, upload, "Content-Range", "bytes 0-0/*"}, 404},
		{"patch without upload secret", "PATCH", wire.PathShare(wire.Immutable, si, 0), []byte("x"), []string{"Content-Range", "bytes 0-0/*"}, 400},
		{"rtw without write enabler", "POST", wire.PathReadTestWrite(si), nil, []string{xa, renew, xa, cancel}, 400},
	}
	for _, tc := range cases {
		code, body, _ := raw.do(tc.method, tc.path, tc.body, tc.hdr...)
		if code != tc.want {
			t.Errorf("%s: got %d (%s), want %d", tc.name, code, strings.TrimSpace(string(body)), tc.want)
		}
	}

	// Range handling on a real share.
	c := n.Client
	uploadShare(t, c, si, 0, []byte("0123456789"), leaseSecrets(t))
	for _, tc := range []struct {
		rng  string
		want int
	}{
		{"bytes=0-", 416},      // open-ended
		{"bytes=-5", 416},      // suffix
		{"bytes=0-1,4-5", 416}, // multiple
		{"lines=0-1", 416},     // unit
		{"bytes=5-2", 416},     // inverted
		{"bytes=10-20", 204},   // empty after clipping
		{"bytes=8-20", 206},    // clipped
		{"bytes=0-9", 206},     // exact
		{"bytes=99999999-999999999", 204},
	} {
		code, body, hdr := raw.do("GET", wire.PathShare(wire.Immutable, si, 0), nil, "Range", tc.rng)
		if code != tc.want {
			t.Errorf("Range %q: %d (%s), want %d", tc.rng, code, body, tc.want)
		}
		if tc.rng == "bytes=8-20" && (string(body) != "89" || hdr.Get("Content-Range") != "bytes 8-9/10") {
			t.Errorf("clipped read: %q %q", body, hdr.Get("Content-Range"))
		}
	}

	// Oversize corruption advisory and read-test-write bodies.
	big := wire.EncodeCorruptionAdvice(wire.CorruptionAdvice{Reason: strings.Repeat("x", wire.MaxCorruptRequestSize)})
	if code, _, _ := raw.do("POST", wire.PathCorrupt(wire.Immutable, si, 0), big); code != 413 {
		t.Errorf("oversize corruption advisory: %d", code)
	}
	// Chunk body longer or shorter than its Content-Range.
	up := randBytes(t, 32)
	c.Allocate(context.Background(), si, []uint16{1}, 10, leaseSecrets(t), up)
	uh := wire.SecretHeaderValue(wire.UploadSecret, up)
	if code, _, _ := raw.do("PATCH", wire.PathShare(wire.Immutable, si, 1), []byte("abc"), xa, uh, "Content-Range", "bytes 0-1/*"); code != 400 {
		t.Errorf("body longer than range: %d", code)
	}
	if code, _, _ := raw.do("PATCH", wire.PathShare(wire.Immutable, si, 1), []byte("a"), xa, uh, "Content-Range", "bytes 0-1/*"); code != 400 {
		t.Errorf("body shorter than range: %d", code)
	}
	if code, _, _ := raw.do("PATCH", wire.PathShare(wire.Immutable, si, 1), []byte("ab"), xa, uh, "Content-Range", "bytes 0-1/10"); code != 200 {
		t.Errorf("good chunk: %d", code)
	}
}

func TestOversizeReadTestWrite(t *testing.T) {
	g := storagetest.NewGridWithOptions(t, 1, &storagetest.Options{Configure: func(_ int, cfg *storage.Config) {
		cfg.MaxReadTestWriteSize = 1 << 16
	}})
	c := g.Nodes[0].Client
	ctx := context.Background()
	si := randSI(t)
	sec := gbs.MutableSecrets{WriteEnabler: randBytes(t, 32), Lease: leaseSecrets(t)}
	tw := map[uint16]wire.TestWriteVectors{0: {Write: []wire.WriteVector{{Data: make([]byte, 1<<16)}}}}
	if _, err := c.ReadTestWrite(ctx, si, sec, tw, nil); !errors.Is(err, gbs.ErrTooLarge) {
		t.Fatalf("oversize rtw: %v", err)
	}
	tw = map[uint16]wire.TestWriteVectors{0: {Write: []wire.WriteVector{{Data: make([]byte, 60000)}}}}
	if _, err := c.ReadTestWrite(ctx, si, sec, tw, nil); err != nil {
		t.Fatal(err)
	}
	// 60000 bytes written; two reads of it would exceed the 64 KiB budget.
	reads := []wire.ReadVector{{Size: 60000}, {Size: 60000}}
	if _, err := c.ReadTestWrite(ctx, si, sec, nil, reads); !errors.Is(err, gbs.ErrBadRequest) {
		t.Fatalf("oversize read vectors: %v", err)
	}
}

// fakeSpace wraps a backend and reports a settable amount of free space.
type fakeSpace struct {
	storage.Backend
	mu    sync.Mutex
	avail int64
}

func (f *fakeSpace) Available() (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.avail, nil
}

func TestReservedSpace(t *testing.T) {
	var fake *fakeSpace
	g := storagetest.NewGridWithOptions(t, 1, &storagetest.Options{
		WrapBackend: func(_ int, b storage.Backend) storage.Backend {
			fake = &fakeSpace{Backend: b, avail: 10_000}
			return fake
		},
		Configure: func(_ int, cfg *storage.Config) { cfg.ReservedSpace = 4_000 },
	})
	c := g.Nodes[0].Client
	ctx := context.Background()
	v, err := c.Version(ctx)
	if err != nil || v.AvailableSpace != 6_000 || v.MaximumImmutableShareSize != 6_000 {
		t.Fatalf("version: %+v %v", v, err)
	}
	si := randSI(t)
	up := randBytes(t, 32)
	// Three 2500-byte shares: only two fit in the 6000 unreserved bytes
	// (pending uploads count against the space).
	res, err := c.Allocate(ctx, si, []uint16{0, 1, 2}, 2500, leaseSecrets(t), up)
	if err != nil || len(res.Allocated) != 2 {
		t.Fatalf("allocate: %+v %v", res, err)
	}
	res, err = c.Allocate(ctx, randSI(t), []uint16{0}, 1001, leaseSecrets(t), up)
	if err != nil || len(res.Allocated) != 0 {
		t.Fatalf("allocate into reservation: %+v %v", res, err)
	}
	// Mutable writes are held to the same limit.
	sec := gbs.MutableSecrets{WriteEnabler: randBytes(t, 32), Lease: leaseSecrets(t)}
	tw := map[uint16]wire.TestWriteVectors{0: {Write: []wire.WriteVector{{Data: make([]byte, 5000)}}}}
	if _, err := c.ReadTestWrite(ctx, randSI(t), sec, tw, nil); !errors.Is(err, gbs.ErrInsufficientStorage) {
		t.Fatalf("mutable write into reservation: %v", err)
	}
	// Aborting frees the promised space.
	if err := c.AbortUpload(ctx, si, res0(t, c, si, up), up); err != nil {
		t.Fatal(err)
	}
	res, err = c.Allocate(ctx, randSI(t), []uint16{0}, 2500, leaseSecrets(t), up)
	if err != nil || len(res.Allocated) != 1 {
		t.Fatalf("allocate after abort: %+v %v", res, err)
	}
}

// res0 returns an in-progress share number of si (the first allocated one).
func res0(t *testing.T, c *gbs.Client, si wire.StorageIndex, up []byte) uint16 {
	res, err := c.Allocate(context.Background(), si, []uint16{0, 1, 2}, 2500, leaseSecrets(t), up)
	if err != nil || len(res.Allocated) == 0 {
		t.Fatalf("re-allocate: %+v %v", res, err)
	}
	return res.Allocated[0]
}

func TestReadOnly(t *testing.T) {
	readOnly := false
	g := storagetest.NewGridWithOptions(t, 1, &storagetest.Options{Configure: func(_ int, cfg *storage.Config) { cfg.ReadOnly = readOnly }})
	n := g.Nodes[0]
	c := n.Client
	ctx := context.Background()
	si, msi := randSI(t), randSI(t)
	lease := leaseSecrets(t)
	uploadShare(t, c, si, 0, []byte("kept"), lease)
	sec := gbs.MutableSecrets{WriteEnabler: randBytes(t, 32), Lease: leaseSecrets(t)}
	if _, err := c.ReadTestWrite(ctx, msi, sec, map[uint16]wire.TestWriteVectors{0: {Write: []wire.WriteVector{{Data: []byte("mut")}}}}, nil); err != nil {
		t.Fatal(err)
	}

	readOnly = true
	n.Restart()
	v, err := c.Version(ctx)
	if err != nil || v.AvailableSpace != 0 {
		t.Fatalf("read-only version: %+v %v", v, err)
	}
	res, err := c.Allocate(ctx, randSI(t), []uint16{0}, 10, leaseSecrets(t), randBytes(t, 32))
	if err != nil || len(res.Allocated) != 0 {
		t.Fatalf("read-only allocate: %+v %v", res, err)
	}
	if _, err := c.ReadTestWrite(ctx, msi, sec, map[uint16]wire.TestWriteVectors{0: {Write: []wire.WriteVector{{Data: []byte("new")}}}}, nil); !errors.Is(err, gbs.ErrInsufficientStorage) {
		t.Fatalf("read-only mutable write: %v", err)
	}
	// Reads, tests-only requests and lease renewals still work.
	if got, err := c.ReadImmutableShare(ctx, si, 0, 0, 10); err != nil || string(got) != "kept" {
		t.Fatalf("read-only read: %q %v", got, err)
	}
	if res, err := c.ReadTestWrite(ctx, msi, sec, nil, []wire.ReadVector{{Size: 3}}); err != nil || !res.Success || string(res.Data[0][0]) != "mut" {
		t.Fatalf("read-only read vector: %+v %v", res, err)
	}
	if err := c.AddOrRenewLease(ctx, si, lease); err != nil {
		t.Fatalf("read-only lease renewal: %v", err)
	}
}

func TestWrongPinRefused(t *testing.T) {
	g := storagetest.NewGrid(t, 2)
	// Node 1's hash with node 0's address.
	n := g.Nodes[0].NURL
	n.SPKIHash = g.Nodes[1].NURL.SPKIHash
	c, err := gbs.New(n, &gbs.Options{RetryBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Version(context.Background())
	if !errors.Is(err, gbs.ErrPinMismatch) {
		t.Fatalf("wrong pin: %v", err)
	}
	if time.Since(start) > 900*time.Millisecond {
		t.Fatal("pin mismatch was retried")
	}
	// A plain TLS client with default verification refuses the
	// self-signed certificate too; the pin is the only way in.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{}}}
	if _, err := hc.Get("https://" + n.Address() + wire.PathVersion); err == nil {
		t.Fatal("CA verification accepted a self-signed node certificate")
	}
}

func TestSharesSurviveRestart(t *testing.T) {
	g := storagetest.NewGrid(t, 1)
	n := g.Nodes[0]
	c := n.Client
	ctx := context.Background()
	si, msi := randSI(t), randSI(t)
	data := randBytes(t, 5000)
	uploadShare(t, c, si, 4, data, leaseSecrets(t))
	sec := gbs.MutableSecrets{WriteEnabler: randBytes(t, 32), Lease: leaseSecrets(t)}
	if _, err := c.ReadTestWrite(ctx, msi, sec, map[uint16]wire.TestWriteVectors{1: {Write: []wire.WriteVector{{Data: []byte("mutable")}}}}, nil); err != nil {
		t.Fatal(err)
	}
	// An upload in progress at restart is lost, as in Tahoe.
	up := randBytes(t, 32)
	if _, err := c.Allocate(ctx, si, []uint16{5}, 10, leaseSecrets(t), up); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteShareChunk(ctx, si, 5, up, 0, []byte("01234")); err != nil {
		t.Fatal(err)
	}

	n.Restart()

	got, err := c.ReadImmutableShare(ctx, si, 4, 0, 5000)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("immutable after restart: %v", err)
	}
	if got, err := c.ReadMutableShare(ctx, msi, 1, 0, 100); err != nil || string(got) != "mutable" {
		t.Fatalf("mutable after restart: %q %v", got, err)
	}
	if _, err := c.ReadTestWrite(ctx, msi, sec, nil, nil); err != nil {
		t.Fatalf("tests-only request: %v", err)
	}
	if _, err := c.WriteShareChunk(ctx, si, 5, up, 5, []byte("56789")); !errors.Is(err, gbs.ErrNotFound) {
		t.Fatalf("write to upload lost in restart: %v", err)
	}
	res, err := c.Allocate(ctx, si, []uint16{5}, 10, leaseSecrets(t), up)
	if err != nil || len(res.Allocated) != 1 || len(res.AlreadyHave) != 1 {
		t.Fatalf("allocate after restart: %+v %v", res, err)
	}
}

func TestConcurrentUploads(t *testing.T) {
	g := storagetest.NewGridWithOptions(t, 1, &storagetest.Options{Client: &gbs.Options{ChunkSize: 4096}})
	c := g.Nodes[0].Client
	ctx := context.Background()
	si := randSI(t)
	up := randBytes(t, 32)
	const shares = 8
	data := make([][]byte, shares)
	nums := make([]uint16, shares)
	for i := range data {
		data[i] = randBytes(t, 50_000)
		nums[i] = uint16(i)
	}
	if _, err := c.Allocate(ctx, si, nums, 50_000, leaseSecrets(t), up); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, shares*2)
	for i := 0; i < shares; i++ {
		for half := 0; half < 2; half++ {
			wg.Add(1)
			go func(i, half int) {
				defer wg.Done()
				off := uint64(half * 25_000)
				_, err := c.WriteShare(ctx, si, uint16(i), up, off, bytes.NewReader(data[i][off:off+25_000]), 25_000)
				errs <- err
			}(i, half)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < shares; i++ {
		got, err := c.ReadImmutableShare(ctx, si, uint16(i), 0, 50_000)
		if err != nil || !bytes.Equal(got, data[i]) {
			t.Fatalf("share %d: %v", i, err)
		}
	}
}

func TestContextCancellation(t *testing.T) {
	g := storagetest.NewGrid(t, 1)
	n := g.Nodes[0]
	n.Stop() // nothing listens: every attempt fails and would be retried
	ctx, cancel := context.WithCancel(context.Background())
	c, err := gbs.New(n.NURL, &gbs.Options{MaxRetries: 100, RetryBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	start := time.Now()
	if _, err := c.Version(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("cancellation was not prompt")
	}
	n.Start()
	if _, err := n.Client.Version(context.Background()); err != nil {
		t.Fatalf("after restart of listener: %v", err)
	}
}

func TestRetriesTransientFailures(t *testing.T) {
	g := storagetest.NewGrid(t, 1)
	n := g.Nodes[0]
	n.Stop()
	go func() { time.Sleep(100 * time.Millisecond); n.Start() }()
	c, err := gbs.New(n.NURL, &gbs.Options{MaxRetries: 10, RetryBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Version(context.Background()); err != nil {
		t.Fatalf("idempotent request not retried across an outage: %v", err)
	}
}
