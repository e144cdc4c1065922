package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/andybalholm/brotli"
	"github.com/communitycube/cube/assets"
)

func TestAccepts(t *testing.T) {
	for _, c := range []struct {
		header, coding string
		want           bool
	}{
		{"gzip, deflate, br", "br", true},
		{"gzip, deflate, br", "gzip", true},
		{"gzip;q=0, br", "gzip", false},
		{"br;q=0.5", "br", true},
		{"br; q=0", "br", false},
		{"*", "br", true},
		{"*;q=0, gzip", "br", false},
		{"*;q=0, gzip", "gzip", true},
		{"br;q=0, *", "br", false},
		{"", "gzip", false},
		{"identity", "gzip", false},
		{"GZIP", "gzip", true},
	} {
		if got := accepts(c.header, c.coding); got != c.want {
			t.Errorf("accepts(%q, %q) = %v, want %v", c.header, c.coding, got, c.want)
		}
	}
}

// fakeDist is what `make build` writes, for a small fake wasm.
func fakeDist(wasm []byte) fstest.MapFS {
	var br, gz bytes.Buffer
	bw := brotli.NewWriter(&br)
	bw.Write(wasm)
	bw.Close()
	gw := gzip.NewWriter(&gz)
	gw.Write(wasm)
	gw.Close()
	sum := sha256.Sum256(wasm)
	return fstest.MapFS{
		"app.wasm.br":     {Data: br.Bytes()},
		"app.wasm.gz":     {Data: gz.Bytes()},
		"app.wasm.sha256": {Data: []byte(fmt.Sprintf("%s %d\n", hex.EncodeToString(sum[:]), len(wasm)))},
	}
}

func newTestSite(t *testing.T) (*Site, []byte) {
	t.Helper()
	wasm := bytes.Repeat([]byte("\x00asm fake module "), 1000)
	s, err := newSite(assets.FS, fakeDist(wasm))
	if err != nil {
		t.Fatal(err)
	}
	return s, wasm
}

func get(t *testing.T, h http.Handler, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestWasmNegotiationAndCaching(t *testing.T) {
	s, wasm := newTestSite(t)
	if !s.HasBundle() {
		t.Fatal("bundle not found")
	}
	url := s.static.Resolve("/web/app.wasm")
	if !strings.HasPrefix(url, "/web/app.wasm?v=") {
		t.Fatalf("Resolve = %q, want a versioned URL", url)
	}
	for _, c := range []struct{ ae, enc string }{{"gzip, br", "br"}, {"gzip", "gzip"}, {"", ""}} {
		rec := get(t, s, url, "Accept-Encoding", c.ae)
		if rec.Code != 200 || rec.Header().Get("Content-Encoding") != c.enc {
			t.Fatalf("AE %q: %d encoding %q", c.ae, rec.Code, rec.Header().Get("Content-Encoding"))
		}
		if rec.Header().Get("Content-Type") != "application/wasm" || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
			t.Fatalf("headers %v", rec.Header())
		}
		var body []byte
		switch c.enc {
		case "br":
			body, _ = io.ReadAll(brotli.NewReader(rec.Body))
		case "gzip":
			zr, _ := gzip.NewReader(rec.Body)
			body, _ = io.ReadAll(zr)
		default:
			body = rec.Body.Bytes()
		}
		if !bytes.Equal(body, wasm) {
			t.Fatalf("AE %q: the body does not decode to the wasm", c.ae)
		}
		// Revalidation.
		rec2 := get(t, s, url, "Accept-Encoding", c.ae, "If-None-Match", rec.Header().Get("ETag"))
		if rec2.Code != http.StatusNotModified || rec2.Body.Len() != 0 {
			t.Fatalf("If-None-Match: %d", rec2.Code)
		}
	}
	// Without the version (or with an old one) the file must be revalidated.
	if cc := get(t, s, "/web/app.wasm?v=old").Header().Get("Cache-Control"); cc != "no-cache" {
		t.Fatalf("stale version: Cache-Control %q", cc)
	}
}

func TestTextAssetsAndShellAreCompressed(t *testing.T) {
	s, _ := newTestSite(t)
	for _, p := range []string{s.static.Resolve("/web/cube.css"), "/app.js", "/wasm_exec.js", "/app-worker.js", "/manifest.webmanifest", "/login"} {
		rec := get(t, s, p, "Accept-Encoding", "br")
		if rec.Code != 200 || rec.Header().Get("Content-Encoding") != "br" {
			t.Errorf("%s: %d encoding %q", p, rec.Code, rec.Header().Get("Content-Encoding"))
		}
		if _, err := io.ReadAll(brotli.NewReader(rec.Body)); err != nil {
			t.Errorf("%s: bad brotli: %v", p, err)
		}
	}
	rec := get(t, s, "/login", "Accept-Encoding", "gzip")
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(zr)
	if !bytes.Contains(html, []byte("<title>Sign in · CommunityCube</title>")) {
		t.Fatalf("prerendered page:\n%s", html)
	}
}

// Every address the shell tells the browser to load is the node's own.
func TestNoForeignURLs(t *testing.T) {
	s, _ := newTestSite(t)
	attr := regexp.MustCompile(`(?:src|href)="([^"]*)"`)
	for _, p := range []string{"/", "/login", "/setup", "/files"} {
		body := get(t, s, p).Body.String()
		for _, m := range attr.FindAllStringSubmatch(body, -1) {
			if !strings.HasPrefix(m[1], "/") || strings.HasPrefix(m[1], "//") {
				t.Errorf("%s loads %q", p, m[1])
			}
		}
	}
	for _, p := range []string{"/manifest.webmanifest", "/app-worker.js", "/app.js"} {
		body := get(t, s, p).Body.String()
		if m := regexp.MustCompile(`https?://[^"'\s]+`).FindString(body); m != "" {
			t.Errorf("%s mentions %q", p, m)
		}
	}
}

func TestNotFound(t *testing.T) {
	s, _ := newTestSite(t)
	rec := get(t, s, "/no/such/page")
	if rec.Code != 404 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || !strings.Contains(rec.Body.String(), "Page not found") {
		t.Fatalf("HTML 404: %d %s", rec.Code, rec.Body)
	}
	rec = get(t, s, "/no/such/page", "Accept", "application/json")
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), `"code":"not_found"`) {
		t.Fatalf("JSON 404: %d %s", rec.Code, rec.Body)
	}
	rec = get(t, s, "/web/missing.css")
	if rec.Code != 404 {
		t.Fatalf("missing asset: %d", rec.Code)
	}
	// Escaping: a path with markup is shown, never interpreted.
	rec = get(t, s, "/<script>alert(1)</script>")
	if strings.Contains(rec.Body.String(), "<script>alert") {
		t.Fatal("404 page reflects markup")
	}
}

func TestMissingBundleSaysHowToBuild(t *testing.T) {
	s, err := newSite(assets.FS, fstest.MapFS{})
	if err != nil {
		t.Fatal(err)
	}
	if s.HasBundle() {
		t.Fatal("HasBundle with an empty dist")
	}
	rec := get(t, s, "/web/app.wasm")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "make build") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestVersionFollowsContent(t *testing.T) {
	a, err := newSite(assets.FS, fakeDist([]byte("one")))
	if err != nil {
		t.Fatal(err)
	}
	b, err := newSite(assets.FS, fakeDist([]byte("two")))
	if err != nil {
		t.Fatal(err)
	}
	if a.Version == b.Version {
		t.Fatal("a new wasm did not change the version: the service worker would keep the old one")
	}
}

func TestSharePages(t *testing.T) {
	s, _ := newTestSite(t)
	// A link's page is the app shell, with the strict referrer policy the
	// node sets everywhere (set by the server's middleware, not here).
	rec := get(t, s, "/s/abcdefghijklmnopqrstuvwxyz")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("share page: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	// Anything else under /s/ stays a 404: only a well-formed id is a page.
	for _, p := range []string{"/s/", "/s/abc", "/s/ABCDEFGHIJKLMNOPQRSTUVWXYZ", "/s/abcdefghijklmnopqrstuvwxyz/x",
		"/s/abcdefghijklmnopqrstuvwxy1", "/s/abcdefghijklmnopqrstuvwxyza"} {
		if rec := get(t, s, p); rec.Code != 404 {
			t.Errorf("%s: %d, want 404", p, rec.Code)
		}
	}
}
