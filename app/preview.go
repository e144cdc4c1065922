package app

// The previewer: an overlay over the page showing one item of a list at a
// time (arrow keys move, Esc closes). Images and text are read whole (text:
// the first MiB) and shown from memory; PDF, video and audio are streamed
// through the service worker (wasm/swstream) with Range requests, so a
// film plays and seeks without being downloaded first. Every byte comes
// verified from drive.File: a tampered file shows an error, never garbage.
//
// The overlay is built with DOM calls rather than as a go-app component:
// openPreview is called from the file manager's event handlers and must
// work on whatever page called it without that page rendering a host.
// Every text goes in through textContent, never as HTML.

import (
	"context"
	"errors"
	"github.com/communitycube/cube/shared/units"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/communitycube/cube/shared/drive"
	"github.com/communitycube/cube/shared/transfer/download"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

const (
	previewTextMax  = 1 << 20   // text, Markdown and code: the first MiB
	previewImageMax = 100 << 20 // images are decoded from memory
)

type previewKind int

const (
	kindNone previewKind = iota
	kindImage
	kindVideo
	kindAudio
	kindPDF
	kindMarkdown
	kindText
)

var textExts = map[string]bool{
	".txt": true, ".log": true, ".csv": true, ".tsv": true, ".json": true, ".xml": true, ".yaml": true, ".yml": true,
	".toml": true, ".ini": true, ".conf": true, ".cfg": true, ".go": true, ".js": true, ".mjs": true, ".ts": true,
	".tsx": true, ".jsx": true, ".py": true, ".rb": true, ".rs": true, ".c": true, ".h": true, ".cc": true, ".cpp": true,
	".hpp": true, ".java": true, ".kt": true, ".swift": true, ".sh": true, ".bash": true, ".zsh": true, ".ps1": true,
	".sql": true, ".css": true, ".scss": true, ".html": true, ".htm": true, ".svg": false, ".php": true, ".pl": true,
	".lua": true, ".r": true, ".tex": true, ".mod": true, ".sum": true, ".diff": true, ".patch": true, ".env": true,
	".gitignore": true, ".dockerfile": true, ".makefile": true, ".srt": true, ".vtt": true,
}

var mediaExts = map[string]string{
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif", ".webp": "image/webp",
	".avif": "image/avif", ".bmp": "image/bmp", ".svg": "image/svg+xml", ".ico": "image/x-icon",
	".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm", ".mov": "video/quicktime", ".ogv": "video/ogg",
	".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".aac": "audio/aac", ".ogg": "audio/ogg", ".oga": "audio/ogg",
	".opus": "audio/ogg", ".wav": "audio/wav", ".flac": "audio/flac", ".pdf": "application/pdf",
}

// previewType returns the kind of preview for it and the MIME type to use.
func previewType(it drive.Item) (previewKind, string) {
	if it.Folder {
		return kindNone, ""
	}
	mime := ""
	if v := it.CurrentVersion(); v != nil {
		mime = strings.ToLower(strings.TrimSpace(strings.SplitN(v.MIME, ";", 2)[0]))
	}
	ext := strings.ToLower(path.Ext(it.Name))
	if m, ok := mediaExts[ext]; ok && (mime == "" || mime == "application/octet-stream") {
		mime = m
	}
	switch {
	case ext == ".md" || ext == ".markdown" || mime == "text/markdown":
		return kindMarkdown, "text/plain"
	case strings.HasPrefix(mime, "image/"):
		return kindImage, mime
	case strings.HasPrefix(mime, "video/"):
		return kindVideo, mime
	case strings.HasPrefix(mime, "audio/"):
		return kindAudio, mime
	case mime == "application/pdf":
		return kindPDF, mime
	case strings.HasPrefix(mime, "text/") || mime == "application/json" || mime == "application/xml" ||
		mime == "application/javascript" || textExts[ext] || strings.EqualFold(it.Name, "Makefile") ||
		strings.EqualFold(it.Name, "Dockerfile") || strings.EqualFold(it.Name, "README"):
		return kindText, "text/plain"
	}
	return kindNone, mime
}

// previewer is the open overlay (one per tab).
type previewer struct {
	src     itemSource
	items   []drive.Item
	i       int
	root    app.Value
	body    app.Value
	name    app.Value
	info    app.Value
	prev    app.Value
	next    app.Value
	funcs   []app.Func // listeners, released on close
	cleanup []func()   // of the item shown
	cancel  context.CancelFunc
	gen     int
	focus   app.Value // what had the focus before
}

var activePreview *previewer

func showPreview(src itemSource, items []drive.Item, i int) {
	if app.IsServer || len(items) == 0 || i < 0 || i >= len(items) {
		return
	}
	if activePreview != nil {
		activePreview.close()
	}
	p := &previewer{src: src, items: items, i: i}
	p.build()
	activePreview = p
	p.show()
}

// el creates an element with a class and text.
func domEl(tag, class, text string) app.Value {
	e := app.Window().Get("document").Call("createElement", tag)
	if class != "" {
		e.Set("className", class)
	}
	if text != "" {
		e.Set("textContent", text)
	}
	return e
}

func (p *previewer) on(target app.Value, event string, f func(e app.Value)) {
	fn := app.FuncOf(func(this app.Value, args []app.Value) any {
		if len(args) > 0 {
			f(args[0])
		}
		return nil
	})
	target.Call("addEventListener", event, fn)
	p.funcs = append(p.funcs, fn)
}

func (p *previewer) button(id, label, text string, f func()) app.Value {
	b := domEl("button", "preview-button", text)
	b.Set("id", id)
	b.Set("type", "button")
	b.Call("setAttribute", "aria-label", label)
	b.Set("title", label)
	p.on(b, "click", func(app.Value) { f() })
	return b
}

func (p *previewer) build() {
	doc := app.Window().Get("document")
	p.focus = doc.Get("activeElement")
	p.root = domEl("div", "preview-overlay", "")
	p.root.Set("id", "preview")
	p.root.Call("setAttribute", "role", "dialog")
	p.root.Call("setAttribute", "aria-modal", "true")
	p.root.Call("setAttribute", "aria-labelledby", "preview-name")
	bar := domEl("div", "preview-bar", "")
	p.prev = p.button("preview-prev", "Previous", "‹", func() { p.move(-1) })
	p.next = p.button("preview-next", "Next", "›", func() { p.move(1) })
	title := domEl("div", "preview-title", "")
	p.name = domEl("span", "preview-name", "")
	p.name.Set("id", "preview-name")
	p.info = domEl("span", "preview-info muted", "")
	p.info.Set("id", "preview-info")
	title.Call("append", p.name, p.info)
	dl := p.button("preview-download", "Download", "Download", func() {
		it := p.items[p.i]
		src := p.src
		if src == nil {
			return
		}
		go func() {
			if err := downloadFile(src, it); err != nil {
				notifyError("Downloading " + it.Name + " failed: " + downloadError(err))
			}
		}()
	})
	closeBtn := p.button("preview-close", "Close", "✕", p.close)
	bar.Call("append", p.prev, title, dl, p.next, closeBtn)
	p.body = domEl("div", "preview-body", "")
	p.body.Set("id", "preview-body")
	p.root.Call("append", bar, p.body)
	// A click on the backdrop (not on the content) closes.
	p.on(p.body, "click", func(e app.Value) {
		if e.Get("target").Equal(p.body) {
			p.close()
		}
	})
	p.on(doc, "keydown", func(e app.Value) {
		key := e.Get("key").String()
		tag := strings.ToUpper(e.Get("target").Get("tagName").String())
		media := tag == "VIDEO" || tag == "AUDIO" || tag == "INPUT" || tag == "TEXTAREA"
		switch {
		case key == "Escape":
			e.Call("preventDefault")
			p.close()
		case key == "ArrowLeft" && !media:
			e.Call("preventDefault")
			p.move(-1)
		case key == "ArrowRight" && !media:
			e.Call("preventDefault")
			p.move(1)
		}
	})
	doc.Get("body").Call("appendChild", p.root)
	doc.Get("body").Get("classList").Call("add", "preview-open")
	closeBtn.Call("focus")
}

func (p *previewer) move(by int) {
	j := p.i + by
	if j < 0 || j >= len(p.items) || activePreview != p {
		return
	}
	p.i = j
	p.show()
}

func (p *previewer) clearItem() {
	p.gen++
	if p.cancel != nil {
		p.cancel()
		p.cancel = nil
	}
	for _, f := range p.cleanup {
		f()
	}
	p.cleanup = nil
	p.body.Set("textContent", "")
}

func (p *previewer) close() {
	if activePreview != p {
		return
	}
	activePreview = nil
	p.clearItem()
	p.root.Call("remove")
	app.Window().Get("document").Get("body").Get("classList").Call("remove", "preview-open")
	for _, f := range p.funcs {
		f.Release()
	}
	p.funcs = nil
	if p.focus.Truthy() {
		p.focus.Call("focus")
	}
}

func previewModeLabel(mode string) string {
	switch mode {
	case "secure":
		return "Secure"
	case "standard":
		return "Standard"
	}
	return mode
}

// message replaces the body with a status text (role=status or alert).
func (p *previewer) message(id, text string, alert bool) {
	p.body.Set("textContent", "")
	m := domEl("div", "preview-message", text)
	m.Set("id", id)
	if alert {
		m.Call("setAttribute", "role", "alert")
		m.Set("className", "preview-message error")
	} else {
		m.Call("setAttribute", "role", "status")
	}
	p.body.Call("append", m)
}

func previewErrorText(err error) string {
	if errors.Is(err, download.ErrTampered) {
		return "This file failed verification: it was tampered with or damaged on the node. Nothing of it is shown."
	}
	return "This file could not be opened: " + errorText(err)
}

func (p *previewer) show() {
	p.clearItem()
	it := p.items[p.i]
	p.prev.Set("disabled", p.i == 0)
	p.next.Set("disabled", p.i == len(p.items)-1)
	p.name.Set("textContent", it.Name)
	info := previewModeLabel(it.Mode)
	if !it.Folder {
		info = units.Bytes(it.Size) + " · " + info
	}
	if len(p.items) > 1 {
		info += " · " + strconv.Itoa(p.i+1) + " of " + strconv.Itoa(len(p.items))
	}
	p.info.Set("textContent", info)
	kind, mime := previewType(it)
	d := p.src
	switch {
	case it.Folder:
		p.message("preview-none", "This is a folder.", false)
		return
	case d == nil:
		p.message("preview-error", "Your files are locked: unlock them first.", true)
		return
	case it.NeedsPassword:
		p.message("preview-error", "This item has its own password: open it from the list first to give it.", true)
		return
	case kind == kindNone:
		p.message("preview-none", "There is no preview for this kind of file. Use Download to save it.", false)
		return
	}
	p.message("preview-loading", "Decrypting…", false)
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	gen := p.gen
	go func() {
		f, _, err := d.Open(ctx, it.ID, "")
		if err != nil {
			p.fail(gen, err)
			return
		}
		switch kind {
		case kindImage:
			p.showImage(gen, f, mime)
		case kindText, kindMarkdown:
			p.showText(gen, f, kind == kindMarkdown)
		default:
			p.showStream(gen, f, it.Name, mime, kind)
		}
	}()
}

func (p *previewer) stale(gen int) bool { return activePreview != p || gen != p.gen }

func (p *previewer) fail(gen int, err error) {
	if p.stale(gen) || errors.Is(err, context.Canceled) {
		return
	}
	p.message("preview-error", previewErrorText(err), true)
}

func readPrefix(f drive.File, n int64) ([]byte, error) {
	b := make([]byte, n)
	k, err := f.ReadAt(b, 0)
	if err == io.EOF && int64(k) == n {
		err = nil
	}
	return b[:k], err
}

func (p *previewer) showImage(gen int, f drive.File, mime string) {
	if f.Size() > previewImageMax {
		p.fail(gen, errors.New("the image is too large to preview; download it instead"))
		return
	}
	b, err := readPrefix(f, f.Size())
	if err != nil {
		p.fail(gen, err)
		return
	}
	if p.stale(gen) {
		return
	}
	u := blobURL(b, mime)
	p.cleanup = append(p.cleanup, func() { app.Window().Get("URL").Call("revokeObjectURL", u) })
	img := domEl("img", "preview-image", "")
	img.Set("id", "preview-image")
	img.Set("alt", p.items[p.i].Name)
	p.on(img, "error", func(app.Value) {
		if !p.stale(gen) {
			p.message("preview-error", "This image cannot be shown by the browser (unknown or damaged format).", true)
		}
	})
	img.Set("src", u)
	p.body.Set("textContent", "")
	p.body.Call("append", img)
}

func (p *previewer) showText(gen int, f drive.File, markdown bool) {
	n := min(f.Size(), previewTextMax)
	b, err := readPrefix(f, n)
	if err != nil {
		p.fail(gen, err)
		return
	}
	if p.stale(gen) {
		return
	}
	p.body.Set("textContent", "")
	var box app.Value
	if markdown {
		box = domEl("article", "preview-markdown", "")
		for _, node := range renderMarkdown(string(b)) {
			box.Call("append", mdDOM(node))
		}
	} else {
		box = domEl("pre", "preview-text", string(b))
	}
	box.Set("id", "preview-text")
	p.body.Call("append", box)
	if f.Size() > n {
		p.body.Call("append", domEl("p", "preview-message muted", "Only the first MiB is shown. Download the file to see all of it."))
	}
}

// mdDOM builds DOM nodes from the Markdown tree: text as text nodes, only
// the tags renderMarkdown makes, links only with checked hrefs.
func mdDOM(n *mdNode) app.Value {
	doc := app.Window().Get("document")
	if n.Tag == "" {
		return doc.Call("createTextNode", n.Text)
	}
	e := doc.Call("createElement", n.Tag)
	if n.Tag == "a" && n.Href != "" {
		e.Set("href", n.Href)
		e.Set("rel", "noopener noreferrer nofollow")
		e.Set("target", "_blank")
	}
	for _, k := range n.Kids {
		e.Call("append", mdDOM(k))
	}
	return e
}

func (p *previewer) showStream(gen int, f drive.File, name, mime string, kind previewKind) {
	if p.stale(gen) {
		return
	}
	var (
		url     string
		release func()
		err     error
	)
	if streamServer != nil {
		url, release, err = serveFile(name, mime, f, false, &watchedReaderAt{r: f}, nil)
	} else {
		err = errNoStreams
	}
	if err != nil {
		// Without the service worker (first visit, hard reload), small
		// files still show from memory.
		if f.Size() > fallbackMax {
			p.fail(gen, err)
			return
		}
		b, rerr := readPrefix(f, f.Size())
		if rerr != nil {
			p.fail(gen, rerr)
			return
		}
		if p.stale(gen) {
			return
		}
		url = blobURL(b, mime)
		u := url
		release = func() { app.Window().Get("URL").Call("revokeObjectURL", u) }
	}
	if p.stale(gen) {
		release()
		return
	}
	p.cleanup = append(p.cleanup, release)
	var m app.Value
	switch kind {
	case kindPDF:
		m = domEl("iframe", "preview-pdf", "")
		m.Set("title", name)
	case kindVideo:
		m = domEl("video", "preview-video", "")
		m.Set("controls", true)
		m.Set("preload", "metadata")
		m.Call("setAttribute", "playsinline", "")
	default:
		m = domEl("audio", "preview-audio", "")
		m.Set("controls", true)
		m.Set("preload", "metadata")
	}
	m.Set("id", "preview-media")
	if kind != kindPDF {
		p.on(m, "error", func(app.Value) {
			if !p.stale(gen) {
				p.message("preview-error", "This file cannot be played: it failed verification (tampered with or damaged), or the browser does not know its format.", true)
			}
		})
		p.cleanup = append(p.cleanup, func() {
			m.Call("pause")
			m.Call("removeAttribute", "src")
			m.Call("load")
		})
	}
	m.Set("src", url)
	p.body.Set("textContent", "")
	p.body.Call("append", m)
}

// notify shows a short message at the bottom of the page (downloads that
// failed, from wherever they were started).
func notifyError(text string) {
	if app.IsServer {
		return
	}
	doc := app.Window().Get("document")
	box := doc.Call("getElementById", "cube-toasts")
	if !box.Truthy() {
		box = domEl("div", "toasts", "")
		box.Set("id", "cube-toasts")
		box.Call("setAttribute", "aria-live", "assertive")
		doc.Get("body").Call("appendChild", box)
	}
	t := domEl("div", "toast error", text)
	t.Call("setAttribute", "role", "alert")
	box.Call("append", t)
	time.AfterFunc(12*time.Second, func() { t.Call("remove") })
}
