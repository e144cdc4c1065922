//go:build !js

package download

import (
	"bytes"
	"context"
	"errors"
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
