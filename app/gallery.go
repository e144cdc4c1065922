package app

import (
	"context"
	"path"
	"strings"
	"time"

	"github.com/communitycube/cube/shared/drive"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// galleryPage shows every image of the user's files as a grid; a click
// opens the previewer with arrow keys over all of them.
type galleryPage struct {
	app.Compo
	itemsView
	thumbs   map[string]string // item id -> blob: URL of the decrypted image
	lits     thumbURLs         // thumbnails sealed with the versions
	loading  bool
	stopLoad context.CancelFunc
}

// Thumbnails are the ones sealed with the versions (made in the browser at
// upload); for images without one, the images themselves, decrypted in the
// browser: only the first galleryThumbs, and only up to galleryThumbMax
// bytes each.
const (
	galleryThumbs   = 60
	galleryThumbMax = 8 << 20
)

// galleryMaxFolders bounds the walk of the tree (a very large tree shows
// the images of its first folders).
const galleryMaxFolders = 500

func (p *galleryPage) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Gallery · CommunityCube")
	p.lits.release()
	p.start(ctx, "gallery", galleryImages)
	p.waitThumbs(ctx)
}

// waitThumbs starts the thumbnails once the list is there.
func (p *galleryPage) waitThumbs(ctx app.Context) {
	if app.IsServer {
		return
	}
	if !p.loaded {
		ctx.After(300*time.Millisecond, p.waitThumbs)
		return
	}
	p.loadThumbs(ctx)
}

func (p *galleryPage) OnDismount() {
	p.sess.stop()
	if p.stopLoad != nil {
		p.stopLoad()
	}
	for _, u := range p.thumbs {
		app.Window().Get("URL").Call("revokeObjectURL", u)
	}
	p.thumbs = nil
	p.lits.release()
}

// loadThumbs decrypts the first images, one at a time, and shows each as
// it arrives.
func (p *galleryPage) loadThumbs(ctx app.Context) {
	d := currentDrive()
	if d == nil || p.loading || app.IsServer {
		return
	}
	if p.thumbs == nil {
		p.thumbs = map[string]string{}
	}
	var todo []drive.Item
	for _, it := range p.items {
		if len(todo) == galleryThumbs {
			break
		}
		if b, _ := thumbBytes(it); b != nil {
			continue // its own thumbnail: nothing to decrypt
		}
		if _, ok := p.thumbs[it.ID]; !ok && it.Size <= galleryThumbMax {
			todo = append(todo, it)
		}
	}
	if len(todo) == 0 {
		return
	}
	p.loading = true
	lctx, cancel := context.WithCancel(context.Background())
	p.stopLoad = cancel
	ctx.Async(func() {
		defer cancel()
		for _, it := range todo {
			if lctx.Err() != nil {
				return
			}
			b, mime, err := readImage(lctx, d, it)
			if err != nil {
				continue
			}
			ctx.Dispatch(func(ctx app.Context) {
				if p.thumbs != nil {
					p.thumbs[it.ID] = galleryBlobURL(b, mime)
				}
			})
		}
		ctx.Dispatch(func(ctx app.Context) { p.loading = false })
	})
}

func readImage(ctx context.Context, d *drive.Drive, it drive.Item) ([]byte, string, error) {
	f, v, err := d.Open(ctx, it.ID, "")
	if err != nil {
		return nil, "", err
	}
	b := make([]byte, f.Size())
	n, err := f.ReadAt(b, 0)
	if n == len(b) {
		err = nil
	}
	if c, ok := f.(interface{ Close() error }); ok {
		c.Close()
	}
	mime := v.MIME
	if mime == "" {
		mime = "image/" + strings.TrimPrefix(strings.ToLower(path.Ext(it.Name)), ".")
	}
	return b, mime, err
}

func galleryBlobURL(b []byte, mime string) string {
	w := app.Window()
	u8 := w.Get("Uint8Array").New(len(b))
	app.CopyBytesToJS(u8, b)
	parts := w.Get("Array").New()
	parts.Call("push", u8)
	blob := w.Get("Blob").New(parts, map[string]any{"type": mime})
	return w.Get("URL").Call("createObjectURL", blob).String()
}

// galleryImages walks the tree breadth-first and returns its images,
// newest first.
func galleryImages(ctx context.Context, d *drive.Drive) ([]drive.Item, error) {
	queue := []string{d.RootID()}
	var images []drive.Item
	for n := 0; len(queue) > 0 && n < galleryMaxFolders; n++ {
		id := queue[0]
		queue = queue[1:]
		items, err := d.List(ctx, id)
		if err != nil {
			if n == 0 {
				return nil, err
			}
			continue
		}
		for _, it := range items {
			switch {
			case it.Folder:
				queue = append(queue, it.ID)
			case fileKind(it) == "image":
				images = append(images, it)
			}
		}
	}
	sortItems(images, "modified", true)
	return images, nil
}

func (p *galleryPage) Render() app.UI {
	return layout(&p.sess, PathGallery, fmNeedDrive(func() app.UI {
		return app.Div().ID("gallery-page").Class("files").Body(
			app.H1().Text("Gallery"),
			errorBox(p.err),
			app.If(!p.loaded, func() app.UI { return app.Div().Class("loading").Text("Finding your images…") }).
				ElseIf(len(p.items) == 0, func() app.UI {
					return app.Div().ID("gallery-empty").Class("empty").Body(app.H2().Text("No images yet"), app.P().Text("Photos and pictures you upload appear here."))
				}).
				Else(func() app.UI {
					return app.Ul().ID("gallery-grid").Class("file-grid gallery-grid").Body(
						app.Range(p.items).Slice(func(i int) app.UI {
							it := p.items[i]
							return app.Li().Class("file-tile gallery-tile").Body(
								app.Button().Class("gallery-open").DataSet("testid", "gallery-item").DataSet("name", it.Name).
									Title(it.Name+" · "+it.Modified.Local().Format(time.DateOnly)).
									OnClick(func(ctx app.Context, e app.Event) { openPreview(ctx, p.items, i) }).
									Body(p.thumb(it), app.Span().Class("tile-name").Text(it.Name)),
							)
						}),
					)
				}),
		)
	}))
}

func (p *galleryPage) thumb(it drive.Item) app.UI {
	u := p.lits.url(it)
	if u == "" {
		u = p.thumbs[it.ID]
	}
	if u != "" {
		return app.Div().Class("thumb thumb-photo").Body(app.Img().Src(u).Alt(it.Name).Attr("loading", "lazy").Class("thumb-img"))
	}
	return fileThumb(it)
}
