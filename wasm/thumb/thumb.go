//go:build js && wasm

// Package thumb makes the thumbnails of picked images in the browser: the
// browser decodes the file (createImageBitmap, EXIF orientation applied),
// draws it scaled down on a canvas and encodes a JPEG of at most
// vault.MaxThumbnail bytes. A canvas re-encode carries no metadata (no
// EXIF, no GPS, no comments), so the thumbnail leaks nothing scrubbing
// removes from the file itself.
//
// Failures (a type the browser does not decode, a broken or huge file, no
// canvas) only mean no thumbnail: Thumbnail then returns nil.
package thumb

import (
	"context"
	"errors"
	"math"
	"path"
	"strings"
	"time"

	"github.com/communitycube/cube/app"
	"github.com/communitycube/cube/shared/vault"
	"github.com/communitycube/cube/wasm/fetch"
	"github.com/hack-pad/safejs"
)

const (
	// Box is the largest side of a thumbnail, in pixels.
	Box = 256
	// MaxSource is the largest file a thumbnail is made of.
	MaxSource = 50 << 20
	// timeout bounds the decoding and encoding of one file.
	timeout = 30 * time.Second
	// bigSource: files larger than this are decoded straight to a width of
	// decodeWidth (keeping the aspect ratio), so a large photo never sits in
	// memory at full resolution; smaller ones (which may be smaller than a
	// thumbnail, and must not be enlarged) are decoded as they are.
	bigSource   = 1 << 20
	decodeWidth = 2 * Box
)

// JSFile is a picked file that gives its JavaScript File (wasm/picker's
// files do, through wasm/jsfile.File).
type JSFile interface {
	Value() safejs.Value
}

// Maker implements app.Thumbnailer.
type Maker struct{}

// New returns the browser's thumbnailer.
func New() Maker { return Maker{} }

// Thumbnail implements app.Thumbnailer: a JPEG of f, or nil.
func (Maker) Thumbnail(ctx context.Context, f app.LocalFile) []byte {
	jf, ok := f.(JSFile)
	if !ok || !Decodable(f.Type(), f.Name()) || f.Size() <= 0 || f.Size() > MaxSource {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	b, err := Make(ctx, jf.Value())
	if err != nil {
		return nil
	}
	return b
}

// decodable lists the image types browsers decode (HEIC, TIFF, SVG: no).
var decodable = map[string]bool{
	"image/jpeg": true, "image/pjpeg": true, "image/png": true, "image/apng": true, "image/gif": true,
	"image/webp": true, "image/avif": true, "image/bmp": true, "image/x-ms-bmp": true,
}

var decodableExt = map[string]bool{
	".jpg": true, ".jpeg": true, ".jpe": true, ".jfif": true, ".png": true, ".apng": true,
	".gif": true, ".webp": true, ".avif": true, ".bmp": true,
}

// Decodable reports whether a file of this MIME type (or, when the
// browser gave none, this name) is an image the browser decodes.
func Decodable(mime, name string) bool {
	mime = strings.ToLower(strings.TrimSpace(mime))
	if i := strings.IndexByte(mime, ';'); i >= 0 {
		mime = strings.TrimSpace(mime[:i])
	}
	if mime != "" && mime != "application/octet-stream" {
		return decodable[mime]
	}
	return decodableExt[strings.ToLower(path.Ext(name))]
}

// Fit scales w×h to fit in box×box, never enlarging; each side is at
// least 1.
func Fit(w, h, box int) (int, int) {
	if w <= 0 || h <= 0 {
		return 0, 0
	}
	s := math.Min(1, math.Min(float64(box)/float64(w), float64(box)/float64(h)))
	return max(1, int(math.Round(float64(w)*s))), max(1, int(math.Round(float64(h)*s)))
}

// attempts are the sizes and JPEG qualities tried in turn until the
// result fits vault.MaxThumbnail.
var attempts = []struct {
	box     int
	quality float64
}{
	{Box, 0.7}, {Box, 0.55}, {Box, 0.4}, {192, 0.5}, {128, 0.5}, {96, 0.4}, {64, 0.4},
}

// Make decodes the File or Blob file and returns its thumbnail: a JPEG
// that fits Box×Box and vault.MaxThumbnail bytes.
func Make(ctx context.Context, file safejs.Value) ([]byte, error) {
	g := safejs.Global()
	cib, err := g.Get("createImageBitmap")
	if err != nil || cib.IsUndefined() {
		return nil, errors.New("thumb: no createImageBitmap")
	}
	o := map[string]any{"imageOrientation": "from-image"}
	if sz, err := file.Get("size"); err == nil {
		if n, err := sz.Float(); err == nil && n > bigSource {
			o["resizeWidth"], o["resizeQuality"] = decodeWidth, "high"
		}
	}
	opts, err := safejs.ValueOf(o)
	if err != nil {
		return nil, err
	}
	p, err := g.Call("createImageBitmap", file, opts)
	if err != nil {
		return nil, err
	}
	bmp, err := await(ctx, p)
	if err != nil {
		return nil, err
	}
	defer bmp.Call("close")
	w, err := intProp(bmp, "width")
	if err != nil {
		return nil, err
	}
	h, err := intProp(bmp, "height")
	if err != nil {
		return nil, err
	}
	if w <= 0 || h <= 0 {
		return nil, errors.New("thumb: an empty image")
	}
	var last error
	for _, a := range attempts {
		tw, th := Fit(w, h, a.box)
		b, err := encode(ctx, bmp, tw, th, a.quality)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			last = err
			continue
		}
		if len(b) > 0 && len(b) <= vault.MaxThumbnail {
			return b, nil
		}
		last = errors.New("thumb: too large")
	}
	return nil, last
}

// encode draws bmp at w×h on a canvas (white behind transparent parts:
// JPEG has no alpha) and encodes it.
func encode(ctx context.Context, bmp safejs.Value, w, h int, quality float64) ([]byte, error) {
	g := safejs.Global()
	var canvas safejs.Value
	offscreen := false
	if oc, err := g.Get("OffscreenCanvas"); err == nil && !oc.IsUndefined() {
		if canvas, err = oc.New(w, h); err == nil {
			offscreen = true
		}
	}
	if !offscreen {
		doc, err := g.Get("document")
		if err != nil || doc.IsUndefined() {
			return nil, errors.New("thumb: no canvas")
		}
		if canvas, err = doc.Call("createElement", "canvas"); err != nil {
			return nil, err
		}
		canvas.Set("width", w)
		canvas.Set("height", h)
	}
	c2d, err := canvas.Call("getContext", "2d")
	if err != nil || c2d.IsNull() || c2d.IsUndefined() {
		return nil, errors.New("thumb: no 2d context")
	}
	c2d.Set("imageSmoothingEnabled", true)
	c2d.Set("imageSmoothingQuality", "high")
	c2d.Set("fillStyle", "#fff")
	if _, err := c2d.Call("fillRect", 0, 0, w, h); err != nil {
		return nil, err
	}
	if _, err := c2d.Call("drawImage", bmp, 0, 0, w, h); err != nil {
		return nil, err
	}
	var blob safejs.Value
	if offscreen {
		opts, err := safejs.ValueOf(map[string]any{"type": "image/jpeg", "quality": quality})
		if err != nil {
			return nil, err
		}
		p, err := canvas.Call("convertToBlob", opts)
		if err != nil {
			return nil, err
		}
		if blob, err = await(ctx, p); err != nil {
			return nil, err
		}
	} else {
		if blob, err = toBlob(ctx, canvas, quality); err != nil {
			return nil, err
		}
	}
	if blob.IsNull() || blob.IsUndefined() {
		return nil, errors.New("thumb: no blob")
	}
	if t, err := blob.Get("type"); err == nil {
		if s, _ := t.String(); s != "image/jpeg" && s != "image/png" {
			return nil, errors.New("thumb: the browser made " + s)
		}
	}
	p, err := blob.Call("arrayBuffer")
	if err != nil {
		return nil, err
	}
	buf, err := await(ctx, p)
	if err != nil {
		return nil, err
	}
	u8c, err := g.Get("Uint8Array")
	if err != nil {
		return nil, err
	}
	arr, err := u8c.New(buf)
	if err != nil {
		return nil, err
	}
	n, err := intProp(arr, "length")
	if err != nil {
		return nil, err
	}
	if n > vault.MaxThumbnail {
		return make([]byte, n), nil // the caller only looks at the length
	}
	b := make([]byte, n)
	if _, err := safejs.CopyBytesToGo(b, arr); err != nil {
		return nil, err
	}
	return b, nil
}

// toBlob is HTMLCanvasElement.toBlob (where there is no OffscreenCanvas).
func toBlob(ctx context.Context, canvas safejs.Value, quality float64) (safejs.Value, error) {
	ch := make(chan safejs.Value, 1)
	cb, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		v := safejs.Null()
		if len(args) > 0 {
			v = args[0]
		}
		ch <- v
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	if _, err := canvas.Call("toBlob", cb.Value(), "image/jpeg", quality); err != nil {
		cb.Release()
		return safejs.Undefined(), err
	}
	select {
	case v := <-ch:
		cb.Release()
		return v, nil
	case <-ctx.Done():
		// The browser may still call cb: it stays (a released func panics).
		return safejs.Undefined(), ctx.Err()
	}
}

// await waits for a promise, or for ctx (the promise then settles
// unobserved).
func await(ctx context.Context, p safejs.Value) (safejs.Value, error) {
	type res struct {
		v   safejs.Value
		err error
	}
	ch := make(chan res, 1)
	go func() {
		v, err := fetch.Await(p)
		ch <- res{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return safejs.Undefined(), ctx.Err()
	}
}

func intProp(v safejs.Value, name string) (int, error) {
	x, err := v.Get(name)
	if err != nil {
		return 0, err
	}
	return x.Int()
}
