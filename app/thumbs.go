package app

import (
	"context"
	"html"

	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/drive"
	"github.com/communitycube/cube/shared/vault"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Thumbnails: the browser makes a small JPEG of each image before it goes
// up (wasm/thumb); it is sealed into the version's metadata as a LIT cap
// (drive.PutOptions.Thumbnail, drive.Version.Thumbnail), and shown from a
// blob: URL of those bytes (the CSP's img-src allows blob:).

// Thumbnailer makes thumbnails of picked files.
type Thumbnailer interface {
	// Thumbnail returns an image of f (JPEG, at most vault.MaxThumbnail
	// bytes) made by re-encoding, so without f's metadata; nil when f is
	// not an image the browser decodes, is too large, or fails.
	Thumbnail(ctx context.Context, f LocalFile) []byte
}

var thumbnailer Thumbnailer

// SetThumbnailer installs the browser's thumbnailer (cmd/cubeweb).
func SetThumbnailer(t Thumbnailer) { thumbnailer = t }

// makeThumbnail is the thumbnail to upload with f, or nil.
func makeThumbnail(ctx context.Context, f LocalFile) []byte {
	if thumbnailer == nil || f == nil {
		return nil
	}
	b := thumbnailer.Thumbnail(ctx, f)
	if len(b) == 0 || len(b) > vault.MaxThumbnail || thumbMIME(b) == "" {
		return nil
	}
	return b
}

// thumbMIME sniffs a thumbnail's type ("" : not an image we show).
func thumbMIME(b []byte) string {
	switch {
	case len(b) > 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff:
		return "image/jpeg"
	case len(b) > 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n":
		return "image/png"
	case len(b) > 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "image/webp"
	case len(b) > 6 && (string(b[:6]) == "GIF87a" || string(b[:6]) == "GIF89a"):
		return "image/gif"
	}
	return ""
}

// thumbBytes opens an item's thumbnail (nil: none, or not an image).
func thumbBytes(it drive.Item) ([]byte, string) {
	v := it.CurrentVersion()
	if v == nil || v.Thumbnail == "" {
		return nil, ""
	}
	lit, err := cap.ParseLIT(v.Thumbnail)
	if err != nil {
		return nil, ""
	}
	m := thumbMIME(lit.Data)
	if m == "" {
		return nil, ""
	}
	return lit.Data, m
}

// thumbURLs keeps the blob: URLs of the thumbnails a page shows, by
// version id (a version's thumbnail never changes), and revokes them.
type thumbURLs struct {
	urls map[string]string
}

// url is the blob: URL of it's thumbnail, made on first use; "" when it
// has none.
func (t *thumbURLs) url(it drive.Item) string {
	v := it.CurrentVersion()
	if app.IsServer || v == nil || v.Thumbnail == "" {
		return ""
	}
	key := v.ID + "|" + it.ID
	if u, ok := t.urls[key]; ok {
		return u
	}
	if t.urls == nil {
		t.urls = map[string]string{}
	}
	b, mime := thumbBytes(it)
	u := ""
	if b != nil && !app.IsServer {
		u = blobURL(b, mime)
	}
	t.urls[key] = u
	return u
}

// keep revokes the URLs of versions not among items.
func (t *thumbURLs) keep(items []drive.Item) {
	if len(t.urls) == 0 {
		return
	}
	live := map[string]bool{}
	for _, it := range items {
		// The node's version id, not CurrentVersion: that would open
		// every version of a long folder (drive.Item.CurrentVersion).
		if it.Node.Current != nil {
			live[it.Node.Current.ID+"|"+it.ID] = true
		}
	}
	for k, u := range t.urls {
		if !live[k] {
			revokeURL(u)
			delete(t.urls, k)
		}
	}
}

// release revokes every URL.
func (t *thumbURLs) release() {
	for _, u := range t.urls {
		revokeURL(u)
	}
	t.urls = nil
}

// revokeURL frees a URL blobURL (download.go) made.
func revokeURL(u string) {
	if u != "" && !app.IsServer {
		app.Window().Get("URL").Call("revokeObjectURL", u)
	}
}

// tileThumb is a grid tile's picture: the thumbnail, else the kind's icon.
func tileThumb(it drive.Item, u string) app.UI {
	if u == "" {
		return fileThumb(it)
	}
	return app.Div().Class("thumb thumb-photo").Body(
		app.Img().Src(u).Alt("").Class("thumb-img").Attr("loading", "lazy").Attr("decoding", "async").
			DataSet("testid", "thumb"))
}

// listThumb is a list row's 20 px picture: the thumbnail cropped to a
// square (an SVG image, so no style attribute is needed under the CSP),
// else the kind's icon.
func listThumb(it drive.Item, u string) app.UI {
	k := fileKind(it)
	if u == "" {
		return app.Span().Class("item-icon kind-" + k).Body(fmIcon(k))
	}
	return app.Span().Class("item-icon kind-" + k + " has-thumb").Body(app.Raw(
		`<svg class="ico ico-thumb" viewBox="0 0 20 20" width="20" height="20" aria-hidden="true" focusable="false">` +
			`<image href="` + html.EscapeString(u) + `" width="20" height="20" preserveAspectRatio="xMidYMid slice"/></svg>`))
}
