package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/andybalholm/brotli"
)

// asset is one file under /web/, held in memory in each encoding we serve.
type asset struct {
	ctype string
	hash  string // of the uncompressed bytes; names the version in URLs
	size  int64  // uncompressed
	br    []byte
	gz    []byte
	raw   []byte // nil for precompressed assets: decompressed on demand
}

func newAsset(name string, raw []byte) (*asset, error) {
	a := &asset{ctype: contentType(name), raw: raw, size: int64(len(raw))}
	a.hash = hashOf(raw)
	if compressible(a.ctype) {
		var err error
		if a.br, err = compressBrotli(raw); err != nil {
			return nil, err
		}
		if a.gz, err = compressGzip(raw); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".wasm":
		return "application/wasm"
	case ".webmanifest":
		return "application/manifest+json"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") ||
		strings.Contains(ctype, "json") || strings.Contains(ctype, "svg") || ctype == "application/wasm"
}

func compressBrotli(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	w := brotli.NewWriterLevel(&buf, brotli.BestCompression)
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func compressGzip(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	err := w.Close()
	return buf.Bytes(), err
}

// identity returns the uncompressed bytes, decompressing a precompressed asset
// for the rare client that accepts neither brotli nor gzip.
func (a *asset) identity() ([]byte, error) {
	if a.raw != nil {
		return a.raw, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(a.gz))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// staticFiles resolves and serves /web/... for go-app: Resolve adds the
// content hash to each URL, so a URL names one version forever and can be
// cached as immutable; a new build gets new URLs.
type staticFiles struct {
	files map[string]*asset // by path under /web/, e.g. "cube.css"
}

func loadStatic(assetFS fs.FS, distFS fs.FS) (*staticFiles, error) {
	s := &staticFiles{files: map[string]*asset{}}
	err := fs.WalkDir(assetFS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(assetFS, p)
		if err != nil {
			return err
		}
		a, err := newAsset(p, b)
		if err != nil {
			return err
		}
		s.files[p] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	wasm, err := loadPrecompressed(distFS, "app.wasm")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if wasm != nil {
		s.files["app.wasm"] = wasm
	}
	return s, nil
}

// loadPrecompressed reads NAME.br, NAME.gz and NAME.sha256 (the hash of the
// uncompressed file, plus its size) written by the build.
func loadPrecompressed(fsys fs.FS, name string) (*asset, error) {
	br, err := fs.ReadFile(fsys, name+".br")
	if err != nil {
		return nil, err
	}
	gz, err := fs.ReadFile(fsys, name+".gz")
	if err != nil {
		return nil, err
	}
	meta, err := fs.ReadFile(fsys, name+".sha256")
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(meta))
	if len(f) != 2 {
		return nil, errors.New(name + ".sha256: want \"HASH SIZE\"")
	}
	size, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return nil, err
	}
	hash := f[0]
	if len(hash) > 16 {
		hash = hash[:16]
	}
	return &asset{ctype: contentType(name), hash: hash, size: size, br: br, gz: gz}, nil
}

// Resolve implements go-app's ResourceResolver.
func (s *staticFiles) Resolve(loc string) string {
	if loc == "" || loc == "/" {
		return "/"
	}
	name, ok := strings.CutPrefix(loc, "/web/")
	if !ok {
		return loc
	}
	if a, ok := s.files[name]; ok {
		return loc + "?v=" + a.hash
	}
	return loc
}

// ServeHTTP serves /web/NAME in the best encoding the client accepts.
func (s *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a, ok := s.files[strings.TrimPrefix(r.URL.Path, "/web/")]
	if !ok {
		notFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("v") == a.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	body, enc := a.raw, ""
	ae := r.Header.Get("Accept-Encoding")
	switch {
	case a.br != nil && accepts(ae, "br"):
		body, enc = a.br, "br"
	case a.gz != nil && accepts(ae, "gzip"):
		body, enc = a.gz, "gzip"
	default:
		var err error
		if body, err = a.identity(); err != nil {
			http.Error(w, "asset unreadable", http.StatusInternalServerError)
			return
		}
	}
	etag := `"` + a.hash + "-" + enc + `"`
	h.Set("ETag", etag)
	if enc != "" {
		h.Set("Content-Encoding", enc)
	}
	// The uncompressed size lets the loader show progress of a compressed download.
	h.Set("X-Uncompressed-Length", strconv.FormatInt(a.size, 10))
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

// accepts reports whether an Accept-Encoding header allows coding: named
// explicitly with q>0, or covered by "*" with q>0 when not named.
func accepts(header, coding string) bool {
	star := false
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.TrimSpace(name)
		ok := true
		if q, found := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); found {
			v, err := strconv.ParseFloat(q, 64)
			ok = err == nil && v > 0
		}
		if strings.EqualFold(name, coding) {
			return ok
		}
		if name == "*" {
			star = ok
		}
	}
	return star
}
