//go:build js && wasm

// Package fetch calls the browser's fetch API from Go through safejs. It
// replaces Go's net/http client in the wasm build, which costs about 8 MB of
// download for features the browser already has.
package fetch

import (
	"context"
	"errors"
	"fmt"

	"github.com/communitycube/cube/shared/api"
	"github.com/hack-pad/safejs"
)

// Transport implements api.Transport with fetch. Cookies follow the
// browser's same-origin rules; responses are never taken from the HTTP cache.
type Transport struct{}

// RoundTrip implements api.Transport. It must be called from a goroutine of
// its own (e.g. go-app's ctx.Async), never from inside a JavaScript callback:
// it blocks until the promise settles.
func (Transport) RoundTrip(ctx context.Context, r *api.Request) (*api.Response, error) {
	global := safejs.Global()
	headers := map[string]any{}
	for k, v := range r.Header {
		headers[k] = v
	}
	opts := map[string]any{
		"method":      r.Method,
		"headers":     headers,
		"credentials": "same-origin",
		"cache":       "no-store",
	}
	init, err := safejs.ValueOf(opts)
	if err != nil {
		return nil, err
	}
	if r.Body != nil {
		body, err := Bytes(r.Body)
		if err != nil {
			return nil, err
		}
		if len(r.Body) >= blobBodyMin {
			body, err = asBlob(body)
			if err != nil {
				return nil, err
			}
		}
		if err := init.Set("body", body); err != nil {
			return nil, err
		}
	}
	abort, err := newAbortController()
	if err == nil {
		if sig, err := abort.Get("signal"); err == nil {
			init.Set("signal", sig)
		}
		stop := context.AfterFunc(ctx, func() { abort.Call("abort") })
		defer stop()
	}
	promise, err := global.Call("fetch", r.URL, init)
	if err != nil {
		return nil, err
	}
	resp, err := Await(promise)
	if err != nil {
		return nil, err
	}
	statusV, err := resp.Get("status")
	if err != nil {
		return nil, err
	}
	status, err := statusV.Int()
	if err != nil {
		return nil, err
	}
	bufPromise, err := resp.Call("arrayBuffer")
	if err != nil {
		return nil, err
	}
	buf, err := Await(bufPromise)
	if err != nil {
		return nil, err
	}
	b, err := GoBytes(buf, api.MaxResponse)
	if err != nil {
		return nil, err
	}
	return &api.Response{Status: status, Body: b}, nil
}

func newAbortController() (safejs.Value, error) {
	ctor, err := safejs.Global().Get("AbortController")
	if err != nil {
		return safejs.Value{}, err
	}
	return ctor.New()
}

// Await blocks until promise settles and returns its value, or its rejection
// as an error. The callbacks only send on a channel, so they never block the
// JavaScript event loop.
func Await(promise safejs.Value) (safejs.Value, error) {
	type settled struct {
		v   safejs.Value
		err error
	}
	ch := make(chan settled, 1)
	arg := func(args []safejs.Value) safejs.Value {
		if len(args) == 0 {
			return safejs.Undefined()
		}
		return args[0]
	}
	onOK, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		ch <- settled{v: arg(args)}
		return nil
	})
	if err != nil {
		return safejs.Value{}, err
	}
	defer onOK.Release()
	onErr, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		ch <- settled{err: jsError(arg(args))}
		return nil
	})
	if err != nil {
		return safejs.Value{}, err
	}
	defer onErr.Release()
	if _, err := promise.Call("then", onOK.Value(), onErr.Value()); err != nil {
		return safejs.Value{}, err
	}
	s := <-ch
	return s.v, s.err
}

// jsError turns a rejection reason (usually an Error object) into a Go error.
func jsError(v safejs.Value) error {
	if msg, err := v.Get("message"); err == nil && !msg.IsUndefined() {
		if s, err := msg.String(); err == nil {
			name := "Error"
			if n, err := v.Get("name"); err == nil && !n.IsUndefined() {
				name, _ = n.String()
			}
			return fmt.Errorf("%s: %s", name, s)
		}
	}
	s, err := v.String()
	if err != nil {
		return errors.New("JavaScript error")
	}
	return errors.New(s)
}

// Bytes copies b into a new JavaScript Uint8Array.
func Bytes(b []byte) (safejs.Value, error) {
	ctor, err := safejs.Global().Get("Uint8Array")
	if err != nil {
		return safejs.Value{}, err
	}
	arr, err := ctor.New(len(b))
	if err != nil {
		return safejs.Value{}, err
	}
	if _, err := safejs.CopyBytesToJS(arr, b); err != nil {
		return safejs.Value{}, err
	}
	return arr, nil
}

// Fields is h as the fields of a JavaScript object: safejs's Set and Call
// make an object of a map[string]any (not of a map[string]string).
func Fields(h map[string]string) map[string]any {
	out := make(map[string]any, len(h))
	for k, v := range h {
		out[k] = v
	}
	return out
}

// blobBodyMin is the body size from which a request body is handed to
// fetch as a Blob. Chromium sends a Blob body through its blob system and
// an ArrayBuffer body through a much slower path: 1 MiB uploads on
// loopback went from 9 MB/s to 77 MB/s (docs/BENCHMARKS.md).
const blobBodyMin = 64 << 10

// asBlob wraps a Uint8Array in a Blob.
func asBlob(arr safejs.Value) (safejs.Value, error) {
	ctor, err := safejs.Global().Get("Blob")
	if err != nil {
		return safejs.Value{}, err
	}
	array, err := safejs.Global().Get("Array")
	if err != nil {
		return safejs.Value{}, err
	}
	parts, err := array.New()
	if err != nil {
		return safejs.Value{}, err
	}
	if _, err := parts.Call("push", arr); err != nil {
		return safejs.Value{}, err
	}
	return ctor.New(parts)
}

// GoBytes copies an ArrayBuffer (or typed array) into Go memory, refusing
// more than max bytes.
func GoBytes(buf safejs.Value, max int) ([]byte, error) {
	ctor, err := safejs.Global().Get("Uint8Array")
	if err != nil {
		return nil, err
	}
	arr, err := ctor.New(buf)
	if err != nil {
		return nil, err
	}
	n, err := arr.Length()
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, fmt.Errorf("the answer is larger than %d bytes", max)
	}
	b := make([]byte, n)
	if _, err := safejs.CopyBytesToGo(b, arr); err != nil {
		return nil, err
	}
	return b, nil
}
