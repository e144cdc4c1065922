//go:build js && wasm

// Package browser gives Go code the few browser facilities the UI needs
// beyond go-app, through safejs so that a JavaScript exception becomes a Go
// error instead of a crash of the whole wasm program.
package browser

import (
	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/wasm/fetch"
	"github.com/hack-pad/safejs"
)

// Browser implements app.Browser.
type Browser struct{}

// Transport carries API calls over fetch.
func (Browser) Transport() api.Transport { return fetch.Transport{} }

// Online reports navigator.onLine; if it cannot be read, it assumes online so
// the app tries the network and finds out.
func (Browser) Online() bool {
	nav, err := safejs.Global().Get("navigator")
	if err != nil {
		return true
	}
	v, err := nav.Get("onLine")
	if err != nil {
		return true
	}
	on, err := v.Bool()
	return err != nil || on
}

// OnConnectivityChange calls f(true) on the window's "online" event and
// f(false) on "offline". f must not block: blocking inside a JavaScript
// callback deadlocks the wasm runtime (app code hands over with ctx.Dispatch).
func (Browser) OnConnectivityChange(f func(online bool)) (release func()) {
	win := safejs.Global()
	type listener struct {
		event string
		fn    safejs.Func
	}
	var added []listener
	for _, event := range []string{"online", "offline"} {
		online := event == "online"
		fn, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
			f(online)
			return nil
		})
		if err != nil {
			continue
		}
		if _, err := win.Call("addEventListener", event, fn.Value()); err != nil {
			fn.Release()
			continue
		}
		added = append(added, listener{event, fn})
	}
	return func() {
		for _, l := range added {
			win.Call("removeEventListener", l.event, l.fn.Value())
			l.fn.Release()
		}
	}
}
