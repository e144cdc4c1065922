package web

import (
	"compress/gzip"
	"io"
	"net/http"
	"sync"

	"github.com/andybalholm/brotli"
)

// compressed wraps h so that text responses (pages, scripts, the manifest)
// go out compressed. Only the web shell passes through here, never the API:
// compressing responses that mix secrets with attacker-chosen text would
// open the door to BREACH-style guessing.
func compressed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ae := r.Header.Get("Accept-Encoding")
		enc := ""
		switch {
		case accepts(ae, "br"):
			enc = "br"
		case accepts(ae, "gzip"):
			enc = "gzip"
		}
		if enc == "" || r.Method == http.MethodHead {
			h.ServeHTTP(w, r)
			return
		}
		cw := &compressWriter{ResponseWriter: w, enc: enc}
		defer cw.close()
		h.ServeHTTP(cw, r)
	})
}

var (
	gzPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression); return w }}
	brPool = sync.Pool{New: func() any { return brotli.NewWriterLevel(io.Discard, 5) }}
)

type compressWriter struct {
	http.ResponseWriter
	enc     string
	decided bool
	w       io.WriteCloser
}

func (c *compressWriter) WriteHeader(status int) {
	if !c.decided {
		c.decided = true
		h := c.Header()
		h.Add("Vary", "Accept-Encoding")
		if status == http.StatusOK && h.Get("Content-Encoding") == "" && compressible(h.Get("Content-Type")) {
			h.Del("Content-Length")
			h.Set("Content-Encoding", c.enc)
			if c.enc == "br" {
				bw := brPool.Get().(*brotli.Writer)
				bw.Reset(c.ResponseWriter)
				c.w = bw
			} else {
				gw := gzPool.Get().(*gzip.Writer)
				gw.Reset(c.ResponseWriter)
				c.w = gw
			}
		}
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *compressWriter) Write(p []byte) (int, error) {
	if !c.decided {
		if c.Header().Get("Content-Type") == "" {
			c.Header().Set("Content-Type", http.DetectContentType(p))
		}
		c.WriteHeader(http.StatusOK)
	}
	if c.w != nil {
		return c.w.Write(p)
	}
	return c.ResponseWriter.Write(p)
}

func (c *compressWriter) close() {
	if c.w == nil {
		return
	}
	c.w.Close()
	switch w := c.w.(type) {
	case *brotli.Writer:
		brPool.Put(w)
	case *gzip.Writer:
		gzPool.Put(w)
	}
}
