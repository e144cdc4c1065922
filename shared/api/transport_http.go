//go:build !js

package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
)

// HTTPTransport is the Transport of native programs (the CLI, tests). It is
// left out of the wasm build on purpose; see Transport.
type HTTPTransport struct{ Client *http.Client }

// RoundTrip implements Transport.
func (t HTTPTransport) RoundTrip(ctx context.Context, r *Request) (*Response, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, err
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	hc := t.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxResponse {
		return nil, fmt.Errorf("the answer is larger than %d bytes", MaxResponse)
	}
	return &Response{Status: resp.StatusCode, Body: b}, nil
}
