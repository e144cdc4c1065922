//go:build js && wasm

package thumb

import (
	"context"
	"testing"

	"github.com/hack-pad/safejs"
)

func TestDecodable(t *testing.T) {
	for _, c := range []struct {
		mime, name string
		want       bool
	}{
		{"image/jpeg", "a.jpg", true},
		{"image/png", "x", true},
		{"IMAGE/WEBP", "x", true},
		{"image/avif", "x", true},
		{"image/gif", "x", true},
		{"image/bmp", "x", true},
		{"image/heic", "a.heic", false},
		{"image/svg+xml", "a.svg", false},
		{"image/tiff", "a.tif", false},
		{"text/plain", "a.jpg", false},
		{"", "Photo.JPG", true},
		{"application/octet-stream", "a.webp", true},
		{"", "a.heic", false},
		{"", "noext", false},
	} {
		if got := Decodable(c.mime, c.name); got != c.want {
			t.Errorf("Decodable(%q, %q) = %v", c.mime, c.name, got)
		}
	}
}

func TestFit(t *testing.T) {
	for _, c := range []struct{ w, h, box, ww, wh int }{
		{4000, 3000, 256, 256, 192},
		{3000, 4000, 256, 192, 256},
		{600, 300, 256, 256, 128},
		{48, 64, 256, 48, 64}, // never enlarged
		{10000, 10, 256, 256, 1},
		{0, 10, 256, 0, 0},
	} {
		if w, h := Fit(c.w, c.h, c.box); w != c.ww || h != c.wh {
			t.Errorf("Fit(%d, %d, %d) = %d×%d, want %d×%d", c.w, c.h, c.box, w, h, c.ww, c.wh)
		}
	}
}

// Under Node.js there is no createImageBitmap: no thumbnail, no panic.
func TestMakeWithoutBrowser(t *testing.T) {
	if b := (Maker{}).Thumbnail(context.Background(), nil); b != nil {
		t.Fatal("a thumbnail of nothing")
	}
	if _, err := Make(context.Background(), safejs.Undefined()); err == nil {
		t.Fatal("Make without a browser succeeded")
	}
}
