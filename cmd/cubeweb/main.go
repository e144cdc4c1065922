//go:build js && wasm

// Command cubeweb is the browser half of CommunityCube, compiled to
// WebAssembly (bin/web/app.wasm). It holds the UI and the browser engine and
// none of the server: keeping server code out keeps the download small.
package main

import (
	"github.com/communitycube/cube/app"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/scrub"
	"github.com/communitycube/cube/shared/transfer"
	"github.com/communitycube/cube/shared/transfer/upload"
	"github.com/communitycube/cube/wasm/aesctr"
	"github.com/communitycube/cube/wasm/browser"
	"github.com/communitycube/cube/wasm/picker"
	"github.com/communitycube/cube/wasm/swstream"
	"github.com/communitycube/cube/wasm/thumb"
	"github.com/communitycube/cube/wasm/upworker"
	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

func main() {
	app.SetBrowser(browser.Browser{})
	app.SetFilePicker(picker.New())
	app.SetThumbnailer(thumb.New())
	app.SetStreamServer(swstream.Server{})
	app.SetCipherFactory(func(k chk.Key) transfer.Cipher { return aesctr.New(k) })
	app.SetUploadWorkers(func(f app.LocalFile, parts []scrub.Part) upload.Worker {
		if jf, ok := f.(thumb.JSFile); ok {
			return upworker.New(jf.Value(), parts)
		}
		return nil
	})
	app.Register()
	goapp.RunWhenOnBrowser()
}
