package download

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/transfer"
	"github.com/communitycube/cube/shared/transfer/transfertest"
)

const vid = "vd5ke3hq7rwj2n6xzt4mcyb4pa"

func useFakeClock(t *testing.T) *transfertest.Clock {
	c := transfertest.NewClock()
	old := clock
	clock = c
	t.Cleanup(func() { clock = old })
	return c
}

// stored puts a file of size bytes on a fake node (4 KiB segments) and
// returns its plaintext and read cap.
func stored(t *testing.T, n *transfertest.Node, size int) ([]byte, cap.CHK) {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(size), 7))
	plain := make([]byte, size)
	for i := range plain {
		plain[i] = byte(r.Uint32())
	}
	var key chk.Key
	for i := range key {
		key[i] = byte(r.Uint32())
	}
	ct := make([]byte, size)
	chk.NewCTR(key, 0).XORKeyStream(ct, plain)
	v, err := n.AddVersion(vid, chk.StorageIndex(key), ct, n.Params)
	if err != nil {
		t.Fatal(err)
	}
	return plain, cap.CHK{Key: key, UEBHash: v.UEBHash, K: v.K, N: v.N, Size: v.Size}
}

func isContent(r *api.Request) bool { return strings.HasSuffix(r.URL, "/content") }

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, size := range []int{56, 4095, 4096, 4097, 3*4096 + 5, 300*4096 + 1} {
		n := transfertest.NewNode()
		plain, rc := stored(t, n, size)
		r, err := Open(ctx, n.Client(), vid, rc, nil)
		if err != nil {
			t.Fatalf("%d: %v", size, err)
		}
		if r.Size() != int64(size) {
			t.Fatalf("size %d", r.Size())
		}
		var out bytes.Buffer
		if k, err := r.WriteTo(&out); err != nil || k != int64(size) || !bytes.Equal(out.Bytes(), plain) {
			t.Fatalf("%d: WriteTo: %d, %v (equal %v)", size, k, err, bytes.Equal(out.Bytes(), plain))
		}
		// Random reads, across segment boundaries and at the end.
		rr := rand.New(rand.NewPCG(1, 2))
		for range 50 {
			off := rr.IntN(size)
			ln := rr.IntN(10000) + 1
			buf := make([]byte, ln)
			k, err := r.ReadAt(buf, int64(off))
			want := plain[off:min(off+ln, size)]
			if k != len(want) || !bytes.Equal(buf[:k], want) {
				t.Fatalf("%d: ReadAt(%d, %d) = %d, %v", size, off, ln, k, err)
			}
			if off+ln > size && err != io.EOF {
				t.Fatalf("%d: ReadAt past the end: %v", size, err)
			}
			if off+ln <= size && err != nil {
				t.Fatalf("%d: ReadAt: %v", size, err)
			}
		}
		if _, err := r.ReadAt(make([]byte, 1), int64(size)); err != io.EOF {
			t.Fatalf("ReadAt at the end: %v", err)
		}
		// io.SectionReader over it works (what http.ServeContent would use).
		if b, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size())); err != nil || !bytes.Equal(b, plain) {
			t.Fatalf("%d: SectionReader: %v", size, err)
		}
	}
}

// ReadAt keeps recently used segments: reading the same place again does
// not ask the node again.
func TestReadAtCache(t *testing.T) {
	n := transfertest.NewNode()
	plain, rc := stored(t, n, 10*4096)
	r, err := Open(context.Background(), n.Client(), vid, rc, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	var first int
	for i := range 5 {
		if _, err := r.ReadAt(buf, 4000); err != nil || !bytes.Equal(buf, plain[4000:4100]) {
			t.Fatal(err)
		}
		if i == 0 {
			r.settle()
			first = n.Requests("GET versions/" + vid + "/content")
		}
	}
	// Two segments, and those read ahead after them.
	if got := n.Requests("GET versions/" + vid + "/content"); got != first || got > 2+readAhead {
		t.Fatalf("%d content requests (%d after the first read) for two segments read five times", got, first)
	}
}

// settle waits for the fetches under way (read-ahead) to end.
func (r *Reader) settle() {
	for {
		r.mu.Lock()
		var f *inflight
		for _, x := range r.inflight {
			f = x
			break
		}
		r.mu.Unlock()
		if f == nil {
			return
		}
		<-f.done
	}
}

func TestTamperedProof(t *testing.T) {
	ctx := context.Background()
	n := transfertest.NewNode()
	_, rc := stored(t, n, 5*4096)
	good := n.Versions[vid].Proof
	for i, mod := range []func(p *api.Proof){
		func(p *api.Proof) { p.UEB[10] ^= 1 },
		func(p *api.Proof) { p.SegmentHashes[33] ^= 1 },
		func(p *api.Proof) { p.SegmentHashes = p.SegmentHashes[:len(p.SegmentHashes)-32] },
		func(p *api.Proof) { p.SegmentHashes = append(p.SegmentHashes, make([]byte, 32)...) },
	} {
		p := api.Proof{UEB: bytes.Clone(good.UEB), SegmentHashes: bytes.Clone(good.SegmentHashes), SegmentSize: good.SegmentSize, Size: good.Size}
		mod(&p)
		n.Versions[vid].Proof = p
		if _, err := Open(ctx, n.Client(), vid, rc, nil); !errors.Is(err, ErrTampered) {
			t.Errorf("case %d: %v", i, err)
		}
	}
	n.Versions[vid].Proof = good
	// Another cap (a different UEB hash) does not accept this file's proof.
	other := rc
	other.UEBHash[0] ^= 1
	if _, err := Open(ctx, n.Client(), vid, other, nil); !errors.Is(err, ErrTampered) {
		t.Errorf("another cap: %v", err)
	}
}

// A flipped byte anywhere in the ciphertext is caught, and nothing of the
// segment it is in (nor anything after it) is returned.
func TestFlippedByte(t *testing.T) {
	useFakeClock(t)
	ctx := context.Background()
	const size = 600 * 4096 // three WriteTo batches
	for _, at := range []int{0, 4095, 4096, 300 * 4096, size - 1} {
		n := transfertest.NewNode()
		plain, rc := stored(t, n, size)
		n.Versions[vid].Ciphertext[at] ^= 0x20
		r, err := Open(ctx, n.Client(), vid, rc, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		k, err := r.WriteTo(&out)
		if !errors.Is(err, ErrTampered) {
			t.Fatalf("flip at %d: WriteTo: %v", at, err)
		}
		seg := at / 4096
		if int(k) > seg*4096 || !bytes.Equal(out.Bytes(), plain[:k]) {
			t.Fatalf("flip at %d: WriteTo wrote %d bytes, some unverified", at, k)
		}
		buf := make([]byte, 4096)
		got, err := r.ReadAt(buf, int64(seg*4096))
		if !errors.Is(err, ErrTampered) || got != 0 {
			t.Fatalf("flip at %d: ReadAt: %d, %v", at, got, err)
		}
		// The segments around it still read.
		if seg > 0 {
			if _, err := r.ReadAt(buf, int64(seg-1)*4096); err != nil || !bytes.Equal(buf, plain[(seg-1)*4096:seg*4096]) {
				t.Fatalf("flip at %d: the segment before: %v", at, err)
			}
		}
		// A tampered answer is not retried.
		if c := n.Requests("GET versions/" + vid + "/content"); c > 10 {
			t.Fatalf("flip at %d: %d requests", at, c)
		}
	}
}

// The node (or the network) cuts answers short: once, WriteTo carries on
// from the last verified segment; always, it fails, having written only
// verified bytes.
func TestTruncated(t *testing.T) {
	ctx := context.Background()
	const size = 600 * 4096
	for _, always := range []bool{false, true} {
		c := useFakeClock(t)
		n := transfertest.NewNode()
		plain, rc := stored(t, n, size)
		var mu sync.Mutex
		count := 0
		n.Intercept = func(r *api.Request, next func() (*api.Response, error)) (*api.Response, error) {
			resp, err := next()
			if err != nil || !isContent(r) {
				return resp, err
			}
			mu.Lock()
			count++
			cut := always || count == 2
			mu.Unlock()
			if cut {
				resp.Body = resp.Body[:len(resp.Body)/2]
			}
			return resp, nil
		}
		r, err := Open(ctx, n.Client(), vid, rc, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		k, err := r.WriteTo(&out)
		if !bytes.Equal(out.Bytes(), plain[:k]) {
			t.Fatalf("always=%v: wrong bytes written", always)
		}
		if always {
			if !errors.Is(err, ErrTruncated) || k != 0 {
				t.Fatalf("always truncated: %d, %v", k, err)
			}
			if len(c.Sleeps) == 0 {
				t.Fatal("no retry")
			}
			continue
		}
		if err != nil || k != size {
			t.Fatalf("truncated once: %d, %v", k, err)
		}
		// Three batches plus the one retried.
		if got := n.Requests("GET versions/" + vid + "/content"); got != 4 {
			t.Fatalf("%d content requests", got)
		}
	}
}

// Network failures are retried; a version that is gone is not.
func TestRetries(t *testing.T) {
	useFakeClock(t)
	ctx := context.Background()
	n := transfertest.NewNode()
	plain, rc := stored(t, n, 300*4096)
	fails := 3
	n.Intercept = func(r *api.Request, next func() (*api.Response, error)) (*api.Response, error) {
		if isContent(r) && fails > 0 {
			fails--
			return nil, fmt.Errorf("connection reset")
		}
		return next()
	}
	r, err := Open(ctx, n.Client(), vid, rc, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := r.WriteTo(&out); err != nil || !bytes.Equal(out.Bytes(), plain) {
		t.Fatalf("after network failures: %v", err)
	}
	n.Intercept = func(r *api.Request, next func() (*api.Response, error)) (*api.Response, error) {
		if isContent(r) {
			return transfertest.Fail(404, api.CodeNotFound, "No such version of this file."), nil
		}
		return next()
	}
	before := n.Requests("GET versions/")
	if _, err := r.WriteTo(io.Discard); err == nil {
		t.Fatal("a deleted version downloaded")
	}
	if got := n.Requests("GET versions/") - before; got != 1 {
		t.Fatalf("not found was asked %d times", got)
	}
}

// Canceling the context stops WriteTo.
func TestCancel(t *testing.T) {
	n := transfertest.NewNode()
	_, rc := stored(t, n, 600*4096)
	ctx, cancel := context.WithCancel(context.Background())
	r, err := Open(ctx, n.Client(), vid, rc, nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := r.WriteTo(io.Discard); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}

// Sequential ReadAt (how the service worker pulls a download or a video)
// fetches ahead: every segment is asked for once, whether the read or the
// read-ahead got to it first, and a damaged segment fetched ahead is
// reported when it is read, with the bytes before it intact.
func TestReadAtReadAhead(t *testing.T) {
	const segs = 40
	n := transfertest.NewNode()
	plain, rc := stored(t, n, segs*4096)
	n.Versions[vid].Ciphertext[30*4096+7] ^= 1
	r, err := Open(context.Background(), n.Client(), vid, rc, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1000)
	var off int64
	for ; off+int64(len(buf)) <= 30*4096; off += int64(len(buf)) {
		k, err := r.ReadAt(buf, off)
		if err != nil || k != len(buf) || !bytes.Equal(buf, plain[off:off+int64(k)]) {
			t.Fatalf("ReadAt(%d): %d, %v", off, k, err)
		}
	}
	if _, err := r.ReadAt(buf, 30*4096); !errors.Is(err, ErrTampered) {
		t.Fatalf("the damaged segment read: %v", err)
	}
	if _, err := r.ReadAt(buf, 30*4096); !errors.Is(err, ErrTampered) {
		t.Fatalf("the damaged segment read again: %v", err)
	}
	// Segments 0..34 at most were fetched once each (30 read, up to
	// readAhead ahead), and the damaged one again for each read: read-ahead
	// does not retry a failed segment, a read does.
	if got := n.Requests("GET versions/" + vid + "/content"); got < 31 || got > 31+readAhead+2 {
		t.Fatalf("%d content requests for %d segments read sequentially", got, 31)
	}
}

// hashingCipher is a Cipher that also hashes (as the browser's WebCrypto
// one does), counting its calls.
type hashingCipher struct {
	transfer.Cipher
	calls *atomic.Int64
}

func (h hashingCipher) SHA256(prefix, data []byte) ([32]byte, bool) {
	h.calls.Add(1)
	return sha256.Sum256(append(append([]byte(nil), prefix...), data...)), true
}

// A cipher's own SHA-256 checks the segments: same bytes, and a flipped
// byte is still refused.
func TestCipherSHA256(t *testing.T) {
	n := transfertest.NewNode()
	plain, rc := stored(t, n, 20*4096+3)
	var calls atomic.Int64
	c := hashingCipher{transfer.GoCipher(rc.Key), &calls}
	r, err := Open(context.Background(), n.Client(), vid, rc, c)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := r.WriteTo(&out); err != nil || !bytes.Equal(out.Bytes(), plain) {
		t.Fatalf("WriteTo: %v", err)
	}
	if calls.Load() != 21 {
		t.Fatalf("%d hashes for 21 segments", calls.Load())
	}
	n.Versions[vid].Ciphertext[5*4096+1] ^= 4
	r, err = Open(context.Background(), n.Client(), vid, rc, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadAt(make([]byte, 10), 5*4096); !errors.Is(err, ErrTampered) {
		t.Fatalf("flipped byte: %v", err)
	}
}
