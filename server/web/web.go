// Package web serves the browser side of CommunityCube: the go-app PWA shell
// (prerendered pages, scripts, manifest, service worker), the wasm bundle and
// the static assets, all from memory, compressed, with strict security
// headers. Nothing here ever points the browser at another origin.
package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"html"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	ui "github.com/communitycube/cube/app"
	"github.com/communitycube/cube/assets"
	"github.com/communitycube/cube/shared/api"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

//go:embed dist
var dist embed.FS

//go:embed worker.js
var workerTemplate string

var registerOnce sync.Once

// Site is the http.Handler for everything that is not the API.
type Site struct {
	static *staticFiles
	shell  http.Handler
	appJS  []byte // go-app's loader, patched; see patchedAppJS
	pages  map[string]bool
	// Version names this build of the web app; it changes whenever any file
	// the browser caches changes, which makes the service worker update.
	Version string
}

// goappFiles are the files go-app generates itself.
var goappFiles = map[string]bool{
	"/app.js": true, "/goapp.js": true, "/app-worker.js": true, "/wasm_exec.js": true,
	"/manifest.webmanifest": true, "/manifest.json": true, "/app.css": true,
}

// New builds the site from the embedded assets and bundle.
func New() (*Site, error) {
	distFS, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, err
	}
	return newSite(assets.FS, distFS)
}

func newSite(assetFS, distFS fs.FS) (*Site, error) {
	registerOnce.Do(ui.Register)
	static, err := loadStatic(assetFS, distFS)
	if err != nil {
		return nil, err
	}
	s := &Site{static: static, pages: map[string]bool{}}
	for _, p := range ui.Pages {
		s.pages[p] = true
	}
	s.Version = s.version()
	h := &app.Handler{
		Name:            "CommunityCube",
		ShortName:       "Cube",
		Title:           "CommunityCube",
		Description:     "Your private cloud: files encrypted in your browser, stored on your own node.",
		Lang:            "en",
		BackgroundColor: "#17324d",
		ThemeColor:      "#17324d",
		LoadingLabel:    "Starting CommunityCube… {progress}%",
		// Every icon is ours: go-app's defaults point at GitHub, and the node
		// must not make the browser contact anyone else.
		Icon: app.Icon{
			Default:  "/web/icon-192.png",
			Large:    "/web/icon-512.png",
			Maskable: "/web/icon-maskable-512.png",
			SVG:      "/web/icon.svg",
		},
		Styles:                []string{"/web/cube.css"},
		Scripts:               []string{"/web/upload-page.js"},
		CacheableResources:    []string{"/web/icon.svg"},
		Resources:             static,
		Version:               s.Version,
		ServiceWorkerTemplate: workerTemplate,
	}
	if wasm, ok := static.files["app.wasm"]; ok {
		// The wasm travels compressed; the loader's progress bar needs the
		// real size.
		h.WasmContentLength = strconv.FormatInt(wasm.size, 10)
	}
	appJS, err := patchedAppJS(h)
	if err != nil {
		return nil, err
	}
	s.appJS = appJS
	s.shell = compressed(h)
	return s, nil
}

// wasmCall is how go-app's loader fetches the wasm: through a wrapper that
// re-streams the response to show download progress.
var wasmCall = regexp.MustCompile(`fetchWithProgress\(("[^"]+"), showProgress\)`)

// patchedAppJS returns go-app's loader script changed so that a warm start
// (the service worker in control, the wasm already on the device) fetches the
// wasm plainly. Chromium reuses the machine code it compiled earlier only for
// a response it can tie to the URL; the progress wrapper hides that, and the
// compile then costs a few hundred milliseconds at every start.
func patchedAppJS(h *app.Handler) ([]byte, error) {
	rec := &bufferWriter{header: http.Header{}}
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/app.js", nil))
	js := rec.body.Bytes()
	if rec.status != http.StatusOK || !wasmCall.Match(js) {
		return nil, errors.New("go-app's app.js changed: its wasm fetch was not found, so the warm-start patch cannot apply")
	}
	js = wasmCall.ReplaceAll(js, []byte(`cubeFetchWasm($1, showProgress)`))
	js = append(js, []byte(`

// CommunityCube: on a warm start fetch the wasm plainly so the browser can
// reuse its compiled code; show download progress only on a cold start.
function cubeFetchWasm(url, progress) {
  if (navigator.serviceWorker && navigator.serviceWorker.controller) {
    return fetch(url);
  }
  return fetchWithProgress(url, progress);
}
`)...)
	return js, nil
}

// bufferWriter captures one response in memory.
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.header }
func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
func (b *bufferWriter) WriteHeader(code int) { b.status = code }

// HasBundle reports whether the wasm bundle was built into this binary.
func (s *Site) HasBundle() bool { _, ok := s.static.files["app.wasm"]; return ok }

func (s *Site) version() string {
	var b strings.Builder
	b.WriteString(hashOf([]byte(workerTemplate)))
	for _, name := range sortedKeys(s.static.files) {
		b.WriteString(name + s.static.files[name].hash)
	}
	return hashOf([]byte(b.String()))
}

func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/web/"):
		if p == "/web/app.wasm" && !s.HasBundle() {
			http.Error(w, "The web bundle is not built into this binary: run `make build`.", http.StatusServiceUnavailable)
			return
		}
		s.static.ServeHTTP(w, r)
	case p == "/robots.txt":
		// A private cloud has nothing for search engines.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("User-agent: *\nDisallow: /\n"))
	case p == "/app.js" || p == "/goapp.js":
		s.serveAppJS(w, r)
	case goappFiles[p] || s.pages[p] || ui.IsSharePath(p):
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s.shell.ServeHTTP(w, r)
	default:
		notFound(w, r)
	}
}

func (s *Site) serveAppJS(w http.ResponseWriter, r *http.Request) {
	compressed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		// Like the rest of the shell: revalidate, the service worker caches it.
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", `"`+s.Version+`"`)
		if r.Header.Get("If-None-Match") == `"`+s.Version+`"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(s.appJS)
	})).ServeHTTP(w, r)
}

// SecurityHeaders are set on every response of the node. The CSP allows only
// the node's own origin (plus wasm compilation), which is also how the browser
// enforces "no outbound request of any kind".
func SecurityHeaders(h http.Header, tls bool) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; "+
		"style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "+
		"worker-src 'self' blob:; frame-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "geolocation=(), camera=(self), microphone=(self), interest-cohort=()")
	if tls {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// notFound answers in JSON to API-minded clients and in HTML to browsers.
func notFound(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		b, _ := json.Marshal(api.ErrorResponse{Error: api.Error{Code: api.CodeNotFound, Message: "Nothing here: " + r.URL.Path}})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		w.Write(append(b, '\n'))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	w.Write([]byte(`<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
		`<title>Not found · CommunityCube</title><link rel="stylesheet" href="/web/cube.css">` +
		`<main class="content"><div class="card center"><h1>Page not found</h1><p>Nothing lives at <code>` +
		html.EscapeString(r.URL.Path) + `</code>.</p><p><a href="/">Go to your files</a></p></div></main></html>`))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
