//go:build !js

package download

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/transfer/transfertest"
)

// httpNode serves a fake node's content and proof over real HTTP. With
// cut, content answers announce their full length and send half of it.
func httpNode(t *testing.T, n *transfertest.Node, cut *bool) *api.Client {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := &api.Request{Method: r.Method, URL: transfertest.Base + r.URL.Path, Header: map[string]string{}}
		for k := range r.Header {
			req.Header[k] = r.Header.Get(k)
		}
		resp, err := n.RoundTrip(r.Context(), req)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		body := resp.Body
		if *cut && strings.HasSuffix(r.URL.Path, "/content") {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			body = body[:len(body)/2]
		}
		w.WriteHeader(resp.Status)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return &api.Client{Base: srv.URL, Transport: api.HTTPTransport{}}
}

func TestOverHTTP(t *testing.T) {
	useFakeClock(t)
	ctx := context.Background()
	n := transfertest.NewNode()
	plain, rc := stored(t, n, 200*4096+77)
	cut := false
	c := httpNode(t, n, &cut)
	r, err := Open(ctx, c, vid, rc, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := r.WriteTo(&out); err != nil || !bytes.Equal(out.Bytes(), plain) {
		t.Fatalf("WriteTo: %v", err)
	}
	// A body cut short by the connection.
	cut = true
	r, _ = Open(ctx, c, vid, rc, nil)
	if k, err := r.WriteTo(io.Discard); err == nil || k != 0 {
		t.Fatalf("truncated body: %d, %v", k, err)
	}
	if _, err := r.ReadAt(make([]byte, 10), 5000); err == nil {
		t.Fatal("ReadAt of a truncated body succeeded")
	}
	// A flipped byte.
	cut = false
	n.Versions[vid].Ciphertext[123456] ^= 1
	r, _ = Open(ctx, c, vid, rc, nil)
	if _, err := r.WriteTo(io.Discard); !errors.Is(err, ErrTampered) {
		t.Fatalf("flipped byte: %v", err)
	}
}

// readDirect does what the service worker does with a Direct
// (server/web/worker.js, docs/files.md): fetch each segment with Range and
// the given headers, check SHA-256(SHA-256(prefix ‖ ciphertext)), decrypt
// from counter block off/16 and drop the off%16 bytes before the segment.
func readDirect(d Direct) ([]byte, error) {
	var out []byte
	for i := 0; int64(i)*d.SegmentSize < d.Size; i++ {
		off := int64(i) * d.SegmentSize
		end := min(off+d.SegmentSize, d.Size)
		req, _ := http.NewRequest(http.MethodGet, d.URL, nil)
		for k, v := range d.Header {
			req.Header.Set(k, v)
		}
		req.Header.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-"+strconv.FormatInt(end-1, 10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		ct, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusPartialContent || int64(len(ct)) != end-off {
			return nil, fmt.Errorf("segment %d: status %d, %d bytes, %v", i, resp.StatusCode, len(ct), err)
		}
		inner := sha256.Sum256(append(append([]byte{}, d.HashPrefix...), ct...))
		if sha256.Sum256(inner[:]) != d.SegmentHashes[i] {
			return nil, fmt.Errorf("segment %d: %w", i, ErrTampered)
		}
		block, _ := aes.NewCipher(d.Key[:])
		var iv [16]byte
		binary.BigEndian.PutUint64(iv[8:], uint64(off/16))
		skip := off % 16
		buf := make([]byte, skip+int64(len(ct)))
		copy(buf[skip:], ct)
		cipher.NewCTR(block, iv[:]).XORKeyStream(buf, buf)
		out = append(out, buf[skip:]...)
	}
	return out, nil
}

func TestDirect(t *testing.T) {
	ctx := context.Background()
	n := transfertest.NewNode()
	n.Params.MaxSegmentSize = 2*4096 - 2 // segments that start inside a counter block
	plain, rc := stored(t, n, 20*4096+77)
	cut := false
	c := httpNode(t, n, &cut)
	c.Header = map[string]string{api.LinkTokenHeader: "tok"}
	r, err := Open(ctx, c, vid, rc, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := r.Direct()
	if !ok {
		t.Fatal("an api.Client source has no Direct")
	}
	if d.Header[api.LinkTokenHeader] != "tok" || !strings.HasSuffix(d.URL, "/versions/"+vid+"/content") {
		t.Fatalf("Direct location: %s %v", d.URL, d.Header)
	}
	if d.SegmentSize%16 == 0 || len(d.SegmentHashes) != r.NumSegments() {
		t.Fatalf("segment size %d, %d hashes", d.SegmentSize, len(d.SegmentHashes))
	}
	got, err := readDirect(d)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("reading by Direct: %v (equal %v)", err, bytes.Equal(got, plain))
	}
	// The hashes are the ones checked against the cap: a flipped byte on
	// the node fails them.
	n.Versions[vid].Ciphertext[5*4096] ^= 1
	if _, err := readDirect(d); !errors.Is(err, ErrTampered) {
		t.Fatalf("flipped byte: %v", err)
	}
	// A source that cannot say where the content is has no Direct.
	r2, err := Open(ctx, struct{ Source }{c}, vid, rc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r2.Direct(); ok {
		t.Fatal("a Source without ContentRequest gave a Direct")
	}
}
