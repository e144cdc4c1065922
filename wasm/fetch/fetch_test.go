//go:build js && wasm

package fetch

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/communitycube/cube/shared/api"
	"github.com/hack-pad/safejs"
)

func TestRoundTripDataURL(t *testing.T) {
	body := `{"setup_needed":true,"version":"x"}`
	resp, err := Transport{}.RoundTrip(context.Background(), &api.Request{
		Method: "GET", URL: "data:application/json," + url.PathEscape(body),
		Header: map[string]string{"Accept": "application/json"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || string(resp.Body) != body {
		t.Fatalf("got %d %q", resp.Status, resp.Body)
	}
}

func TestAPIClientOverFetch(t *testing.T) {
	c := &api.Client{Base: "data:application/json,", Transport: Transport{}}
	// The data: URL returns its own text; a State with a CSRF token is remembered.
	var st api.State
	err := c.Do(context.Background(), "GET", url.PathEscape(`{"csrf_token":"tok"}`), nil, &st)
	if err != nil || c.CSRF != "tok" {
		t.Fatalf("state: %+v %v (csrf %q)", st, err, c.CSRF)
	}
}

func TestNetworkErrorIsAnError(t *testing.T) {
	_, err := Transport{}.RoundTrip(context.Background(), &api.Request{Method: "GET", URL: "http://127.0.0.1:1/nothing"})
	if err == nil {
		t.Fatal("fetch from a closed port succeeded")
	}
}

func TestAwaitRejection(t *testing.T) {
	promise, err := safejs.Global().Get("Promise")
	if err != nil {
		t.Fatal(err)
	}
	errCtor, _ := safejs.Global().Get("Error")
	e, _ := errCtor.New("nope")
	rejected, err := promise.Call("reject", e)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Await(rejected)
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("Await(rejected) = %v", err)
	}
}

func TestBytesRoundTrip(t *testing.T) {
	in := bytes.Repeat([]byte{0, 1, 2, 250, 255}, 1000)
	js, err := Bytes(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := GoBytes(js, len(in))
	if err != nil || !bytes.Equal(in, out) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := GoBytes(js, len(in)-1); err == nil {
		t.Fatal("GoBytes ignored its limit")
	}
}

func TestAsBlob(t *testing.T) {
	data := make([]byte, blobBodyMin+3)
	for i := range data {
		data[i] = byte(i)
	}
	arr, err := Bytes(data)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := asBlob(arr)
	if err != nil {
		t.Fatal(err)
	}
	size, err := blob.Get("size")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := size.Int(); n != len(data) {
		t.Fatalf("blob of %d bytes, want %d", n, len(data))
	}
}
