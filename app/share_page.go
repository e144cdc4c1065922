package app

// The page a share link opens, /s/{id}: for people without an account.
// The link's key is in the URL's fragment (#KEY), which browsers never
// send: this page reads it from window.location, opens the link in the
// browser and decrypts names and contents here. The key, a link password
// and an item password stay in this tab: they are never put in a URL,
// a request, storage or a log. Folder navigation stays in the page's state
// (not in the URL) so the fragment is never dropped or copied around.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/drive"
	"github.com/communitycube/cube/shared/scrub"
	"github.com/communitycube/cube/shared/transfer"
	"github.com/communitycube/cube/shared/transfer/upload"
	"github.com/communitycube/cube/shared/vault"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// sharePage states.
const (
	shLoading = "loading"
	shGone    = "gone"    // removed, expired, exhausted or unknown
	shFailed  = "failed"  // the node could not be reached, or broke
	shAsk     = "ask"     // a key or password is needed
	shOpen    = "open"    // a file or folder link, opened
	shDrop    = "drop"    // a drop link, ready for files
	shDropAsk = "dropask" // a drop link that needs its password
)

// What the ask form asks for.
const (
	askKey      = "key"      // the link's key (KeySeparate, or a fragment lost)
	askPassword = "password" // the link's password (KeyPassword)
	askItem     = "item"     // the target's own password (a locked item)
)

type sharePage struct {
	app.Compo
	// ctx is the page's own context. Answers that come back later are
	// dispatched with it: go-app drops a Dispatch whose element (a button
	// that was clicked, a form) is no longer on the page.
	ctx app.Context

	id    string
	key   string // from the fragment: never leaves this tab
	c     *api.Client
	state string
	link  api.PublicLink
	gone  string // the error code of a link that no longer works
	err   string

	// The ask form.
	ask       string
	secret    drive.Secret
	input     string
	itemPw    string
	busy      bool
	unlocking *drive.Item // a locked item below a folder link, being unlocked

	// An opened file or folder link.
	shared  *drive.Shared
	root    drive.Item
	path    []drive.Item // folder links: from the root to the folder shown
	items   []drive.Item
	listing bool
	gen     int // of the folder being listed
	nav     int // of the link being opened (OnNav)

	// A drop link.
	drop     *drive.Drop
	jobs     []*dropJob
	release  func()
	ticking  bool
	dropping sync.Mutex // one file goes up at a time
}

func (p *sharePage) OnMount(ctx app.Context) {
	p.ctx = ctx
	if filePicker != nil {
		p.release = filePicker.Watch("drop-files", func(files []LocalFile) {
			ctx.Dispatch(func(ctx app.Context) { p.addDropFiles(ctx, files) })
		})
	}
}

func (p *sharePage) OnDismount() {
	if p.release != nil {
		p.release()
		p.release = nil
	}
}

func (p *sharePage) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Shared with you · CommunityCube")
	p.ctx = ctx
	p.id = strings.TrimPrefix(ctx.Page().URL().Path, "/s/")
	p.state = shLoading
	if app.IsServer {
		return
	}
	// The fragment is read from the location itself: it is the only place
	// the key exists, and it is never sent with the page's request.
	key := strings.TrimPrefix(app.Window().Get("location").Get("hash").String(), "#")
	// Another link (or another key) starts from nothing: go-app may reuse
	// this component for it.
	p.key, p.link, p.gone, p.err = key, api.PublicLink{}, "", ""
	p.ask, p.secret, p.input, p.itemPw, p.busy, p.unlocking = "", drive.Secret{}, "", "", false, nil
	p.shared, p.root, p.path, p.items, p.listing = nil, drive.Item{}, nil, nil, false
	p.drop, p.jobs = nil, nil
	p.gen++
	p.nav++
	u := app.Window().URL()
	// A client of its own: the link's access token goes in its headers,
	// and nothing of a signed-in session is needed.
	p.c = &api.Client{Base: u.Scheme + "://" + u.Host, Transport: browser.Transport()}
	p.lookup(ctx)
}

func (p *sharePage) lookup(ctx app.Context) {
	ctx = p.ctx // the page's: the element that asked may be gone when the answer comes
	p.state, p.err = shLoading, ""
	c, id, nav := p.c, p.id, p.nav
	ctx.Async(func() {
		l, err := drive.LookupLink(ctx, c, id)
		ctx.Dispatch(func(ctx app.Context) {
			if nav != p.nav {
				return
			}
			if err != nil {
				p.fail(err)
				return
			}
			p.link = l
			switch {
			case l.Kind == api.LinkDrop && l.KeyMode == api.KeyPassword:
				p.state = shDropAsk
			case l.Kind == api.LinkDrop:
				p.openDrop(ctx, "")
			case l.KeyMode == api.KeyPassword:
				p.askFor(askPassword, "")
			case p.key != "":
				p.open(ctx, drive.Secret{Key: p.key})
			default:
				p.askFor(askKey, "")
			}
		})
	})
}

// fail shows what went wrong: a link that no longer works gets its own
// page; anything else a sentence and a way to try again.
func (p *sharePage) fail(err error) {
	var ae *api.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case api.CodeLinkRemoved, api.CodeLinkExpired, api.CodeLinkExhausted, api.CodeNotFound:
			p.state, p.gone = shGone, ae.Code
			return
		}
	}
	p.state = shFailed
	if errors.Is(err, api.ErrOffline) {
		p.err = "The node that holds this link cannot be reached right now. Check your connection and try again."
		return
	}
	p.err = "This link could not be opened: " + errorText(err)
}

func (p *sharePage) askFor(what, msg string) {
	p.state, p.ask, p.err, p.busy = shAsk, what, msg, false
	p.input, p.itemPw = "", ""
}

func (p *sharePage) open(ctx app.Context, s drive.Secret) {
	ctx = p.ctx // the page's: the element that asked may be gone when the answer comes
	p.busy, p.err = true, ""
	p.secret = s
	c, id, nav := p.c, p.id, p.nav
	ctx.Async(func() {
		sh, err := drive.OpenLink(ctx, c, id, s)
		ctx.Dispatch(func(ctx app.Context) {
			if nav != p.nav {
				return
			}
			p.busy = false
			if err != nil {
				p.openFailed(err)
				return
			}
			if cipherFactory != nil {
				sh.SetCipher(cipherFactory)
			}
			p.shared, p.root, p.state = sh, sh.Root(), shOpen
			p.link = sh.Link()
			if p.root.Folder {
				p.path = []drive.Item{p.root}
				p.list(ctx)
			}
		})
	})
}

func (p *sharePage) openFailed(err error) {
	var ae *api.Error
	switch {
	case errors.Is(err, drive.ErrNeedsKey):
		msg := ""
		if p.secret.Key == "" && p.secret.ItemPassword != "" {
			msg = "This item has no password of its own: the link needs its key."
		}
		p.askFor(askKey, msg)
	case errors.Is(err, drive.ErrNeedsLinkPassword):
		p.askFor(askPassword, "")
	case errors.Is(err, vault.ErrLinkKey):
		p.askFor(askKey, "This is not a link key: it is 43 letters, digits, - and _ (the part of the link after #). Check that you copied all of it.")
	case errors.Is(err, drive.ErrWrongKey):
		p.askFor(askKey, "This key does not open this link. Check that you copied all of it.")
	case errors.Is(err, drive.ErrNeedsPassword):
		msg := ""
		if p.ask == askItem {
			msg = "That is not its password. Try again."
		}
		p.askFor(askItem, msg)
	case errors.Is(err, vault.ErrWrongPassword), errors.As(err, &ae) && ae.Code == api.CodeWrongPassword:
		if p.ask == askItem {
			p.askFor(askItem, "That is not its password. Try again.")
		} else {
			p.askFor(askPassword, "Wrong password. Check it and try again.")
		}
	case errors.As(err, &ae) && ae.Code == api.CodeThrottled:
		p.err = "Too many wrong tries. Wait a minute, then try again."
	default:
		p.fail(err)
	}
}

func (p *sharePage) submitAsk(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if p.busy {
		return
	}
	s := p.secret
	v := strings.TrimSpace(p.input)
	switch p.ask {
	case askKey:
		if v == "" && p.itemPw == "" {
			p.err = "Type the key you were given."
			return
		}
		s.Key, s.ItemPassword = v, p.itemPw
	case askPassword:
		if p.input == "" {
			p.err = "Type the password you were given."
			return
		}
		s.Password = p.input
	case askItem:
		if p.input == "" {
			p.err = "Type its password."
			return
		}
		if p.unlocking != nil {
			p.unlockBelow(ctx, *p.unlocking, p.input)
			return
		}
		s.ItemPassword = p.input
	}
	p.open(ctx, s)
}

// list loads the folder at the end of p.path.
func (p *sharePage) list(ctx app.Context) {
	ctx = p.ctx // the page's: the element that asked may be gone when the answer comes
	sh, folder := p.shared, p.path[len(p.path)-1]
	p.gen++
	gen := p.gen
	p.listing, p.err = true, ""
	ctx.Async(func() {
		items, err := sh.List(ctx, folder.ID)
		ctx.Dispatch(func(ctx app.Context) {
			if gen != p.gen {
				return
			}
			p.listing = false
			if err != nil {
				var ae *api.Error
				if errors.As(err, &ae) && (ae.Code == api.CodeLinkRemoved || ae.Code == api.CodeLinkExpired || ae.Code == api.CodeLinkExhausted) {
					p.fail(err)
					return
				}
				p.err = "This folder could not be opened: " + errorText(err)
				return
			}
			sortItems(items, "name", false)
			p.items = items
		})
	})
}

func (p *sharePage) enter(ctx app.Context, it drive.Item) {
	if it.NeedsPassword {
		p.askUnlock(it)
		return
	}
	p.path = append(p.path, it)
	p.items = nil
	p.list(ctx)
}

func (p *sharePage) crumbTo(i int) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if i < len(p.path)-1 {
			p.path = p.path[:i+1]
			p.items = nil
			p.list(ctx)
		}
	}
}

// askUnlock asks for the password of a locked item inside a folder link.
func (p *sharePage) askUnlock(it drive.Item) {
	p.unlocking = &it
	p.ask, p.input, p.err = askItem, "", ""
}

// unlockBelow gives the password of a locked item inside a folder link,
// then opens it.
func (p *sharePage) unlockBelow(ctx app.Context, it drive.Item, pw string) {
	ctx = p.ctx // the page's: the element that asked may be gone when the answer comes
	sh := p.shared
	p.busy = true
	ctx.Async(func() {
		err := sh.UnlockItem(ctx, it.ID, pw)
		ctx.Dispatch(func(ctx app.Context) {
			p.busy = false
			if err != nil {
				if errors.Is(err, vault.ErrWrongPassword) {
					p.err = "That is not its password. Try again."
				} else {
					p.err = errorText(err)
				}
				return
			}
			p.unlocking, p.ask, p.input, p.err = nil, "", "", ""
			it.NeedsPassword = false
			if it.Folder {
				p.path = append(p.path, it)
				p.items = nil
			}
			p.list(ctx)
		})
	})
}

func (p *sharePage) files() []drive.Item {
	var out []drive.Item
	for _, it := range p.items {
		if !it.Folder {
			out = append(out, it)
		}
	}
	return out
}

// previewItem shows it in the previewer, with the other files of the
// folder for the arrow keys.
func (p *sharePage) previewItem(it drive.Item) {
	if it.NeedsPassword {
		p.askUnlock(it)
		return
	}
	if it.ID == p.root.ID {
		openPreviewFrom(p.shared, []drive.Item{it}, 0)
		return
	}
	files := p.files()
	for i := range files {
		if files[i].ID == it.ID {
			openPreviewFrom(p.shared, files, i)
			return
		}
	}
}

// Event handlers read the item when clicked, by position: go-app keeps the
// first handler of an element whose handler code is the same, so a closure
// over the item of one render would act on a stale item after the folder
// changed.

func (p *sharePage) previewRoot(ctx app.Context, e app.Event) { p.previewItem(p.root) }

func (p *sharePage) downloadRoot(ctx app.Context, e app.Event) {
	downloadItemsFrom(ctx, p.shared, []drive.Item{p.root}, "")
}

func (p *sharePage) downloadFolder(ctx app.Context, e app.Event) {
	cur := p.path[len(p.path)-1]
	downloadItemsFrom(ctx, p.shared, []drive.Item{cur}, cur.Name+".zip")
}

func (p *sharePage) openRow(i int) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if i >= len(p.items) {
			return
		}
		if it := p.items[i]; it.Folder {
			p.enter(ctx, it)
		} else {
			p.previewItem(it)
		}
	}
}

func (p *sharePage) downloadRow(i int) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		e.Call("stopPropagation")
		if i >= len(p.items) {
			return
		}
		it := p.items[i]
		if it.NeedsPassword {
			p.askUnlock(it)
			return
		}
		downloadItemsFrom(ctx, p.shared, []drive.Item{it}, "")
	}
}

// Rendering.

func (p *sharePage) Render() app.UI {
	return app.Div().Class("shell share-shell").Body(
		app.Header().Class("topbar").Body(
			app.Span().Class("brand").Body(
				app.Img().Src("/web/icon.svg").Alt("").Class("brand-icon"),
				app.Span().Text("CommunityCube"),
			),
		),
		app.Main().ID("main").Class("content").Body(
			app.Div().ID("share").Class("page share").DataSet("state", p.state).Body(p.body()),
		),
	)
}

func (p *sharePage) body() app.UI {
	switch p.state {
	case shGone:
		return p.gonePage()
	case shFailed:
		return app.Div().ID("share-failed").Class("card center").Body(
			app.H1().Text("This link cannot be opened right now"),
			app.P().Role("alert").Text(p.err),
			app.Button().ID("share-retry").Class("primary").Text("Try again").OnClick(func(ctx app.Context, e app.Event) { p.lookup(ctx) }),
		)
	case shAsk:
		return p.askForm()
	case shOpen:
		if p.unlocking != nil {
			return p.askForm()
		}
		if p.root.Folder {
			return p.folderView()
		}
		return p.fileView()
	case shDropAsk:
		return p.dropPasswordForm()
	case shDrop:
		return p.dropView()
	}
	return app.Div().Class("loading").Aria("busy", "true").Text("Opening the link…")
}

func (p *sharePage) gonePage() app.UI {
	title, text := "This link does not exist", "There is no shared item at this address. Check that you copied the whole link."
	switch p.gone {
	case api.CodeLinkRemoved:
		title, text = "This link was removed", "The person who shared it removed the link, so it no longer opens anything. Ask them for a new link if you still need it."
	case api.CodeLinkExpired:
		title, text = "This link has expired", "It was shared for a limited time, which is over. Ask the person who shared it for a new link if you still need it."
	case api.CodeLinkExhausted:
		title, text = "This link has been used up", "It could be downloaded a limited number of times, and that number is reached. Ask the person who shared it for a new link if you still need it."
	}
	return app.Div().ID("share-gone").Class("card center").DataSet("code", p.gone).Body(
		app.H1().Text(title),
		app.P().ID("share-gone-text").Text(text),
	)
}

func (p *sharePage) askForm() app.UI {
	var title, intro, label, auto string
	typ := "password"
	switch p.ask {
	case askKey:
		title = "This link needs its key"
		intro = "Whoever shared it gave you the key separately (for example in another message). Paste it here. It stays in this browser: it is never sent to the node."
		label, typ, auto = "Key", "text", "off"
	case askPassword:
		title = "This link is protected by a password"
		intro = "Type the password you were given. It is checked in this browser; the node never sees it."
		label, auto = "Password", "current-password"
	case askItem:
		title = "This item has its own password"
		intro = "It is protected by a password of its own. Type it to open it; it stays in this browser."
		label, auto = "Its password", "off"
	}
	return app.Div().ID("share-ask").Class("card narrow").DataSet("ask", p.ask).Body(
		app.H1().Text(title),
		app.P().Class("muted").Text(intro),
		app.Form().ID("share-ask-form").OnSubmit(p.submitAsk).Body(
			field("share-secret", label, app.Input().Type(typ).Value(p.input).AutoFocus(true).
				Attr("autocomplete", auto).Attr("autocapitalize", "none").Attr("spellcheck", "false").
				OnInput(func(ctx app.Context, e app.Event) { p.input = inputValue(ctx); p.err = "" })),
			app.If(p.ask == askKey && p.link.KeyMode == api.KeySeparate, func() app.UI {
				return app.Details().Class("share-alt").Body(
					app.Summary().Text("I was given a password instead"),
					field("share-item-password", "The item's own password", app.Input().Type("password").Value(p.itemPw).
						Attr("autocomplete", "off").
						OnInput(func(ctx app.Context, e app.Event) { p.itemPw = inputValue(ctx); p.err = "" }),
						app.Span().Text("For an item protected by its own password: leave the key empty and type the password here.")),
				)
			}),
			errorBox(p.err),
			app.Div().Class("modal-actions").Body(
				app.If(p.unlocking != nil, func() app.UI {
					return app.Button().Type("button").Class("small").Text("Cancel").
						OnClick(func(ctx app.Context, e app.Event) { p.unlocking, p.ask, p.err = nil, "", "" })
				}),
				app.Button().ID("share-ask-submit").Type("submit").Class("primary").Disabled(p.busy).
					Text(map[bool]string{true: "Opening…", false: "Open"}[p.busy]),
			),
		),
	)
}

func (p *sharePage) fileView() app.UI {
	it := p.root
	kind, _ := previewType(it)
	info := fmSize(it.Size)
	if !it.Modified.IsZero() {
		info += " · modified " + fmTime(it.Modified)
	}
	return app.Div().ID("share-file").Class("card share-card").Body(
		app.P().Class("muted share-kicker").Text("Shared with you"),
		app.Div().Class("share-title").Body(
			fileIcon(it),
			app.H1().ID("share-name").Class("share-name").Text(it.Name),
		),
		app.P().ID("share-info").Class("muted").Text(info),
		app.Div().Class("share-actions").Body(
			app.If(kind != kindNone, func() app.UI {
				return app.Button().ID("share-preview").Class("primary").Text("Preview").OnClick(p.previewRoot)
			}),
			app.Button().ID("share-download").Class(map[bool]string{true: "secondary", false: "primary"}[kind != kindNone]).
				OnClick(p.downloadRoot).Body(fmIcon("download"), app.Span().Text("Download")),
		),
		p.linkNote(),
	)
}

// linkNote tells the visitor until when the link works.
func (p *sharePage) linkNote() app.UI {
	if p.link.Expires == nil {
		return app.P().Class("hint share-note").Text("Decrypted in this browser: the node that serves it cannot read it.")
	}
	return app.P().Class("hint share-note").Text("Decrypted in this browser: the node that serves it cannot read it. The link works until " +
		p.link.Expires.Local().Format("2 January 2006, 15:04") + ".")
}

func (p *sharePage) folderView() app.UI {
	var crumbs []app.UI
	for i, it := range p.path {
		if i > 0 {
			crumbs = append(crumbs, app.Span().Class("crumb-sep").Aria("hidden", "true").Text("›"))
		}
		if i == len(p.path)-1 {
			crumbs = append(crumbs, app.Span().Class("crumb current").Aria("current", "location").DataSet("testid", "crumb").Text(it.Name))
			continue
		}
		// Buttons, not links: a link would change the URL, and its
		// fragment holds the key.
		crumbs = append(crumbs, app.Button().Class("link crumb").DataSet("testid", "crumb").Text(it.Name).OnClick(p.crumbTo(i)))
	}
	return app.Div().ID("share-folder").Class("files share-folder").Body(
		app.P().Class("muted share-kicker").Text("Shared with you"),
		app.Div().Class("files-head").Body(
			app.Nav().ID("share-crumbs").Class("breadcrumbs").Aria("label", "Folder").Body(crumbs...),
			app.Div().Class("toolbar").Body(
				app.Button().ID("share-download-all").Class("small").OnClick(p.downloadFolder).
					Body(fmIcon("download"), app.Span().Text("Download all (zip)")),
			),
		),
		errorBox(p.err),
		app.If(p.listing && len(p.items) == 0, func() app.UI {
			return app.Div().Class("loading").Aria("busy", "true").Text("Opening the folder…")
		}).ElseIf(len(p.items) == 0, func() app.UI {
			return app.Div().ID("share-empty").Class("empty").Body(app.P().Text("This folder is empty."))
		}).Else(func() app.UI {
			return app.Div().ID("share-list").Class("file-list").Role("list").Aria("label", "Files").Body(
				app.Range(p.items).Slice(func(i int) app.UI { return p.row(i) }),
			)
		}),
		p.linkNote(),
	)
}

func (p *sharePage) row(i int) app.UI {
	it := p.items[i]
	size := fmSize(it.Size)
	if it.Folder {
		size = "—"
	}
	return app.Div().Class("file-row share-row").Role("listitem").DataSet("testid", "item").DataSet("name", it.Name).Body(
		app.Span().Class("col-name").Body(
			fileIcon(it),
			app.Button().Class("link item-name").Text(it.Name).OnClick(p.openRow(i)),
			app.If(it.Locked, func() app.UI {
				return app.Span().Class("own-password").Title("Has its own password").Aria("label", "Own password").Body(fmIcon("lock"))
			}),
		),
		app.Span().Class("col-size").Text(size),
		app.Span().Class("col-actions").Body(
			app.Button().Class("small icon-button").DataSet("testid", "download").
				Aria("label", "Download "+it.Name).Title("Download").
				OnClick(p.downloadRow(i)).Body(fmIcon("download")),
		),
	)
}

// fileIcon is an item's kind icon.
func fileIcon(it drive.Item) app.UI {
	k := fileKind(it)
	return app.Span().Class("item-icon kind-" + k).Body(fmIcon(k))
}

// ---- Drops ------------------------------------------------------------------

// dropJob is one file sent through a drop link.
type dropJob struct {
	file  LocalFile
	state string // "waiting", "sending", "done", "refused", "failed"
	msg   string
	// done of total bytes the node acknowledged (total: after scrubbing;
	// 0 until the upload is planned).
	done, total atomic.Int64
}

func (p *sharePage) dropPasswordForm() app.UI {
	return app.Div().ID("share-ask").Class("card narrow").DataSet("ask", "drop").Body(
		app.H1().Text("Send files to "+p.ownerName()),
		app.P().Class("muted").Text("This upload link is protected by a password. Type the password you were given."),
		app.Form().ID("share-ask-form").OnSubmit(func(ctx app.Context, e app.Event) {
			e.PreventDefault()
			if p.input == "" {
				p.err = "Type the password you were given."
				return
			}
			p.openDrop(ctx, p.input)
		}).Body(
			field("share-secret", "Password", app.Input().Type("password").Value(p.input).AutoFocus(true).
				Attr("autocomplete", "current-password").
				OnInput(func(ctx app.Context, e app.Event) { p.input = inputValue(ctx); p.err = "" })),
			errorBox(p.err),
			app.Div().Class("modal-actions").Body(
				app.Button().ID("share-ask-submit").Type("submit").Class("primary").Disabled(p.busy).Text("Open"),
			),
		),
	)
}

func (p *sharePage) ownerName() string {
	if p.link.Owner != "" {
		return p.link.Owner
	}
	return "the owner of this link"
}

func (p *sharePage) openDrop(ctx app.Context, password string) {
	ctx = p.ctx // the page's: the element that asked may be gone when the answer comes
	p.busy, p.err = true, ""
	c, id, nav := p.c, p.id, p.nav
	ctx.Async(func() {
		dr, err := drive.OpenDrop(ctx, c, id, password)
		ctx.Dispatch(func(ctx app.Context) {
			if nav != p.nav {
				return
			}
			p.busy = false
			var ae *api.Error
			switch {
			case err == nil:
				if cipherFactory != nil {
					dr.SetCipher(cipherFactory)
				}
				p.drop, p.link, p.state, p.input = dr, dr.Link(), shDrop, ""
				if u := p.link.DropUsage; u != nil {
					// The page counts what it sends in its own copy.
					c := *u
					p.link.DropUsage = &c
				}
			case errors.Is(err, vault.ErrWrongPassword), errors.As(err, &ae) && ae.Code == api.CodeWrongPassword:
				p.state, p.err = shDropAsk, "Wrong password. Check it and try again."
			case errors.As(err, &ae) && ae.Code == api.CodeThrottled:
				p.state, p.err = shDropAsk, "Too many wrong tries. Wait a minute, then try again."
			default:
				p.fail(err)
			}
		})
	})
}

// dropLimits describes a drop's criteria in a sentence.
func dropLimits(l *api.DropLimits, u *api.DropUsage) string {
	if l == nil {
		return ""
	}
	var parts []string
	if l.MaxFiles > 0 {
		left := l.MaxFiles
		if u != nil {
			left = max(0, l.MaxFiles-u.Files)
		}
		parts = append(parts, fmt.Sprintf("%d more file(s)", left))
	}
	if l.MaxFile > 0 {
		parts = append(parts, "at most "+fmSize(l.MaxFile)+" per file")
	}
	if l.MaxTotal > 0 {
		left := l.MaxTotal
		if u != nil {
			left = max(0, l.MaxTotal-u.Bytes)
		}
		parts = append(parts, fmSize(left)+" in all")
	}
	if len(parts) == 0 {
		return ""
	}
	return "This link takes " + strings.Join(parts, ", ") + "."
}

func (p *sharePage) dropView() app.UI {
	limits := dropLimits(p.link.Drop, p.link.DropUsage)
	return app.Div().ID("share-drop").Class("card share-card").Body(
		app.H1().ID("drop-title").Text("Send files to "+p.ownerName()),
		app.P().Class("muted").Text("The files are encrypted in this browser so that only "+p.ownerName()+
			" can open them. You cannot see what is in the folder, and nobody else who has this link can see your files."),
		app.If(limits != "", func() app.UI { return app.P().ID("drop-limits").Text(limits) }),
		app.If(p.link.Expires != nil, func() app.UI {
			return app.P().ID("drop-expires").Class("muted").Text("The link works until " + p.link.Expires.Local().Format("2 January 2006, 15:04") + ".")
		}),
		app.Div().ID("drop-files-zone").Class("drop-zone").Body(
			app.Label().For("drop-files").Class("button primary").Body(fmIcon("upload"), app.Span().Text("Choose files")),
			app.Input().ID("drop-files").Type("file").Multiple(true).Class("visually-hidden").TabIndex(-1),
		),
		app.If(len(p.jobs) > 0, func() app.UI {
			return app.Ul().ID("drop-list").Class("upq-list").Body(
				app.Range(p.jobs).Slice(func(i int) app.UI { return p.dropRow(p.jobs[i]) }),
			)
		}),
	)
}

func (p *sharePage) dropRow(j *dropJob) app.UI {
	size := j.file.Size()
	done, total := j.done.Load(), j.total.Load()
	if total == 0 {
		total = size
	}
	pct := 0.0
	switch {
	case j.state == "done":
		pct = 100
	case total > 0:
		pct = min(100, float64(done)/float64(total)*100)
	}
	detail := map[string]string{
		"waiting": "Waiting",
		"sending": fmt.Sprintf("Encrypting and sending · %s of %s", fmSize(min(total, done)), fmSize(total)),
		"done":    "Sent · " + fmSize(size),
	}[j.state]
	if j.msg != "" {
		detail = j.msg
	}
	cls := map[string]string{"waiting": "queued", "sending": "running", "done": "done", "refused": "failed", "failed": "failed"}[j.state]
	return app.Li().Class("upq-item state-"+cls).DataSet("testid", "drop-item").DataSet("name", j.file.Name()).DataSet("state", j.state).Body(
		app.Div().Class("upq-name").Text(j.file.Name()),
		app.If(j.state != "refused" && j.state != "failed", func() app.UI {
			return app.Progress().Class("progress").Max(100).Value(fmt.Sprintf("%.1f", pct)).Aria("valuenow", int(pct)).Aria("label", "Progress of "+j.file.Name())
		}),
		app.Div().Class("upq-detail").Body(
			app.Span().Class(map[bool]string{true: "error", false: "muted"}[j.state == "refused" || j.state == "failed"]).
				Role(map[bool]string{true: "alert", false: "status"}[j.state == "refused" || j.state == "failed"]).Text(detail),
		),
	)
}

func (p *sharePage) addDropFiles(ctx app.Context, files []LocalFile) {
	ctx = p.ctx // the page's: the element that asked may be gone when the answer comes
	if p.drop == nil || len(files) == 0 {
		return
	}
	for _, f := range files {
		j := &dropJob{file: f, state: "waiting"}
		// The per-file limit is known: refuse at once rather than after
		// encrypting (the node checks every limit again before any byte).
		if l := p.link.Drop; l != nil && l.MaxFile > 0 && f.Size() > l.MaxFile {
			j.state, j.msg = "refused", fmt.Sprintf("Not sent: this file is %s, and this link takes files of at most %s.", fmSize(f.Size()), fmSize(l.MaxFile))
		}
		p.jobs = append(p.jobs, j)
		if j.state == "waiting" {
			go p.sendDrop(ctx, p.drop, j)
		}
	}
	p.tick(ctx)
}

// tick re-renders the progress while files are going up.
func (p *sharePage) tick(ctx app.Context) {
	ctx = p.ctx // the page's: the element that asked may be gone when the answer comes
	if p.ticking {
		return
	}
	p.ticking = true
	ctx.After(300*time.Millisecond, func(ctx app.Context) {
		p.ticking = false
		for _, j := range p.jobs {
			if j.state == "waiting" || j.state == "sending" {
				p.tick(ctx)
				return
			}
		}
	})
}

func (p *sharePage) sendDrop(ctx app.Context, dr *drive.Drop, j *dropJob) {
	p.dropping.Lock()
	defer p.dropping.Unlock()
	ctx.Dispatch(func(ctx app.Context) { j.state = "sending" })
	err := func() error {
		o := drive.DropPutOptions{
			Name: j.file.Name(), MIME: j.file.Type(),
			Progress: func(pr transfer.Progress) {
				j.done.Store(pr.Done)
				j.total.Store(pr.Total)
			},
		}
		if uploadWorkers != nil {
			// The page's upload worker reads, encrypts and sends, as for
			// the owner's own uploads (docs/files.md, "Direct uploads").
			o.Worker = func(parts []scrub.Part) upload.Worker { return uploadWorkers(j.file, parts) }
		}
		put, err := dr.NewPut(j.file, j.file.Size(), o)
		if err != nil {
			return err
		}
		return put.Run(context.Background())
	}()
	ctx.Dispatch(func(ctx app.Context) {
		if err == nil {
			j.state, j.msg = "done", ""
			if p.link.DropUsage != nil {
				p.link.DropUsage.Files++
				p.link.DropUsage.Bytes += j.file.Size()
			}
			return
		}
		j.state, j.msg = "failed", "Not sent: "+dropErrorText(err, p.link.Drop)
		var ae *api.Error
		if errors.As(err, &ae) && (ae.Code == api.CodeDropFull || ae.Code == api.CodeFileTooLarge || ae.Code == api.CodeQuotaExceeded) {
			j.state = "refused"
		}
	})
}

func dropErrorText(err error, l *api.DropLimits) string {
	var ae *api.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case api.CodeDropFull:
			return "this link has received all the files it takes (its number of files or total size is reached). Nothing of this file was stored."
		case api.CodeFileTooLarge:
			if l != nil && l.MaxFile > 0 {
				return "this file is larger than this link takes (" + fmSize(l.MaxFile) + " per file). Nothing of it was stored."
			}
			return "this file is larger than this link takes. Nothing of it was stored."
		case api.CodeQuotaExceeded:
			return "the person who shared this link has no space left. Nothing of this file was stored."
		case api.CodeLinkRemoved, api.CodeLinkExpired:
			return "this link no longer works."
		}
	}
	return errorText(err)
}
