package app

// The link manager (/links): every share link and upload link of the user,
// with what it opens, how its key travels, its limits and its state; copy
// its address, change its expiry and limits, delete it (it stops working
// at once). Names come sealed from the node and are opened here, so the
// page needs the unlocked keys.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/drive"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

type linksPage struct {
	app.Compo
	sess session
	ctx  app.Context

	links   []drive.Link
	loaded  bool
	err     string
	notice  string
	confirm string // id of the link whose deletion is being confirmed
	edit    string // id of the link being edited
	editExp string // yyyy-mm-dd, "" for none
	editMax string
	// a drop link's limits: MB, MB, files ("" for none)
	editTotal, editFile, editFiles string
	editErr                        string
	busy                           bool
}

func (p *linksPage) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Share links · CommunityCube")
	p.ctx = ctx
	p.sess.start(ctx, forSignedIn)
	p.loaded, p.confirm, p.edit, p.err, p.notice = false, "", "", "", ""
	p.waitDrive(ctx)
}

func (p *linksPage) OnDismount() { p.sess.stop() }

func (p *linksPage) waitDrive(ctx app.Context) {
	if app.IsServer {
		return
	}
	if currentDrive() == nil {
		ctx.After(250*time.Millisecond, p.waitDrive)
		return
	}
	p.reload(ctx)
}

func (p *linksPage) reload(ctx app.Context) {
	// The page's context: go-app drops a Dispatch whose element (the edit
	// form, a button) is gone by the time the answer comes.
	ctx = p.ctx
	d := currentDrive()
	if d == nil {
		return
	}
	ctx.Async(func() {
		ls, err := d.Links(ctx)
		ctx.Dispatch(func(ctx app.Context) {
			p.loaded = true
			if err != nil {
				p.err = "The links could not be listed: " + errorText(err)
				return
			}
			p.links, p.err = ls, ""
		})
	})
}

func (p *linksPage) Render() app.UI {
	return layout(&p.sess, PathLinks, fmNeedDrive(p.content))
}

func (p *linksPage) content() app.UI {
	return app.Div().ID("links").Class("links").Body(
		app.H1().Text("Share links"),
		app.P().Class("muted").Text("Links to your files and folders, and upload links to your folders. Make new ones from Files: select an item, then Share link."),
		errorBox(p.err),
		app.If(p.notice != "", func() app.UI { return app.P().ID("links-notice").Class("notice").Role("status").Text(p.notice) }),
		app.If(!p.loaded, func() app.UI {
			return app.Div().Class("loading").Aria("busy", "true").Text("Loading the links…")
		}).ElseIf(len(p.links) == 0, func() app.UI {
			return app.Div().ID("links-empty").Class("empty").Body(
				app.H2().Text("No links yet"),
				app.P().Text("In Files, select a file or folder and choose Share link."),
			)
		}).Else(func() app.UI {
			return app.Ul().ID("link-list").Class("link-list").Body(
				app.Range(p.links).Slice(func(i int) app.UI { return p.card(i) }),
			)
		}),
	)
}

func linkKindText(kind string) string {
	switch kind {
	case api.LinkFile:
		return "File"
	case api.LinkFolder:
		return "Folder"
	case api.LinkDrop:
		return "Upload link"
	}
	return kind
}

func keyModeText(l drive.Link) string {
	if l.Kind == api.LinkDrop {
		if l.KeyMode == api.KeyPassword {
			return "Password"
		}
		return "Anyone with the link"
	}
	switch l.KeyMode {
	case api.KeySeparate:
		return "Key sent separately"
	case api.KeyPassword:
		return "Password"
	}
	return "Key in the link"
}

func linkStateText(s string) string {
	switch s {
	case api.LinkActive, "":
		return "Active"
	case api.CodeLinkExpired:
		return "Expired"
	case api.CodeLinkExhausted:
		return "Download limit reached"
	case api.LinkTargetGone:
		return "Its item was deleted"
	}
	return s
}

// linkAt is the link shown at position i, read when an event comes: go-app
// keeps the first handler of an element whose handler code is the same, so
// a closure over the link of one render would act on a stale link after a
// deletion moved the cards.
func (p *linksPage) linkAt(i int) (drive.Link, bool) {
	if i < 0 || i >= len(p.links) {
		return drive.Link{}, false
	}
	return p.links[i], true
}

func (p *linksPage) card(i int) app.UI {
	l := p.links[i]
	base := pageOrigin()
	exp := "Never"
	if l.Expires != nil {
		exp = l.Expires.Local().Format("2 Jan 2006, 15:04")
	}
	var usage string
	if l.Kind == api.LinkDrop {
		files, bytes := 0, int64(0)
		if l.DropUsage != nil {
			files, bytes = l.DropUsage.Files, l.DropUsage.Bytes
		}
		usage = fmt.Sprintf("%d file(s), %s", files, fmSize(bytes))
		if d := l.Drop; d != nil {
			var lim []string
			if d.MaxFiles > 0 {
				lim = append(lim, fmt.Sprintf("%d files", d.MaxFiles))
			}
			if d.MaxFile > 0 {
				lim = append(lim, fmSize(d.MaxFile)+" per file")
			}
			if d.MaxTotal > 0 {
				lim = append(lim, fmSize(d.MaxTotal)+" in all")
			}
			if len(lim) > 0 {
				usage += " (limit: " + strings.Join(lim, ", ") + ")"
			}
		}
	} else {
		usage = strconv.Itoa(l.Downloads)
		if l.MaxDownloads > 0 {
			usage += " of " + strconv.Itoa(l.MaxDownloads)
		}
	}
	name := l.Name
	if name == "" {
		name = "(unnamed)"
	}
	state := l.State
	if state == "" {
		state = api.LinkActive
	}
	id := l.ID
	on := func(f func(l drive.Link)) app.EventHandler {
		return func(ctx app.Context, e app.Event) {
			if l, ok := p.linkAt(i); ok {
				f(l)
			}
		}
	}
	return app.Li().Class("link-card card").DataSet("testid", "link").DataSet("id", l.ID).DataSet("name", l.Name).DataSet("state", state).Body(
		app.Div().Class("link-head").Body(
			app.Span().Class("item-icon").Body(fmIcon(map[bool]string{true: "upload", false: map[bool]string{true: "folder", false: "file"}[l.Kind == api.LinkFolder]}[l.Kind == api.LinkDrop])),
			app.Strong().Class("link-name").Text(name),
			app.Span().Class("badge link-state state-"+state).Text(linkStateText(state)),
		),
		app.Dl().Class("link-facts").Body(
			app.Dt().Text("Kind"), app.Dd().DataSet("testid", "link-kind").Text(linkKindText(l.Kind)),
			app.Dt().Text("Access"), app.Dd().DataSet("testid", "link-keymode").Text(keyModeText(l)),
			app.Dt().Text("Created"), app.Dd().Text(fmTime(l.Created)),
			app.Dt().Text("Expires"), app.Dd().DataSet("testid", "link-expires").Text(exp),
			app.Dt().Text(map[bool]string{true: "Received", false: "Downloads"}[l.Kind == api.LinkDrop]),
			app.Dd().DataSet("testid", "link-downloads").Text(usage),
		),
		app.Div().Class("link-url-row").Body(
			app.Input().Type("text").ReadOnly(true).Class("link-url").DataSet("testid", "link-url").
				Aria("label", "Address of the link to "+name).Value(l.URL(base)),
			app.Button().Class("small").DataSet("testid", "link-copy").Text("Copy link").
				OnClick(on(func(l drive.Link) { p.copied(copyText(l.URL(pageOrigin())), "The link is copied.") })),
			app.If(l.KeyMode == api.KeySeparate && l.Key != "", func() app.UI {
				return app.Button().Class("small").DataSet("testid", "link-copy-key").Text("Copy key").
					OnClick(on(func(l drive.Link) { p.copied(copyText(l.Key), "The key is copied.") }))
			}),
			app.Button().Class("small").DataSet("testid", "link-edit").Text("Edit").OnClick(on(p.startEdit)),
			app.Button().Class("small danger").DataSet("testid", "link-delete").Text("Delete").
				OnClick(on(func(l drive.Link) { p.confirm, p.edit = l.ID, "" })),
		),
		app.If(p.confirm == id, func() app.UI {
			return app.Div().Class("confirm").Role("alertdialog").Aria("label", "Delete the link").Body(
				app.P().Text("Delete this link to “"+name+"”? It stops working at once: whoever has it sees that it was removed. Copies already downloaded remain with them."),
				app.Button().Class("small").Text("Cancel").OnClick(func(ctx app.Context, e app.Event) { p.confirm = "" }),
				app.Button().Class("small danger").DataSet("testid", "link-delete-confirm").Disabled(p.busy).Text("Delete the link").
					OnClick(on(func(l drive.Link) { p.remove(l.ID) })),
			)
		}),
		app.If(p.edit == id, func() app.UI { return p.editForm(i) }),
	)
}

func (p *linksPage) copied(err error, msg string) {
	if err != nil {
		p.err = "Copying failed: select the address and copy it yourself."
		return
	}
	p.notice, p.err = msg, ""
}

func (p *linksPage) startEdit(l drive.Link) {
	p.edit, p.confirm, p.editErr = l.ID, "", ""
	p.editExp = ""
	if l.Expires != nil {
		p.editExp = l.Expires.Local().Format("2006-01-02")
	}
	p.editMax = ""
	p.editTotal, p.editFile, p.editFiles = "", "", ""
	if d := l.Drop; d != nil {
		p.editTotal, p.editFile = mbString(d.MaxTotal), mbString(d.MaxFile)
		if d.MaxFiles > 0 {
			p.editFiles = strconv.Itoa(d.MaxFiles)
		}
	}
	if l.MaxDownloads > 0 {
		p.editMax = strconv.Itoa(l.MaxDownloads)
	}
}

func (p *linksPage) editForm(i int) app.UI {
	drop := p.links[i].Kind == api.LinkDrop
	return app.Form().Class("link-edit").OnSubmit(p.save(i)).Body(
		field("link-expires", "Expires at the end of (empty: never)", app.Input().Type("date").Value(p.editExp).
			Min(time.Now().Format("2006-01-02")).
			OnInput(func(ctx app.Context, e app.Event) { p.editExp = inputValue(ctx) })),
		app.If(!drop, func() app.UI {
			return field("link-max", "Download limit (empty: none)", app.Input().Type("number").Min(0).Step(1).
				Attr("inputmode", "numeric").Value(p.editMax).
				OnInput(func(ctx app.Context, e app.Event) { p.editMax = inputValue(ctx) }))
		}).Else(func() app.UI {
			return app.Div().Body(
				mbField("link-drop-total", "Total size limit, MB (empty: none)", &p.editTotal, nil),
				mbField("link-drop-file", "Limit per file, MB (empty: none)", &p.editFile, nil),
				countField("link-drop-files", "Number of files (empty: no limit)", &p.editFiles, 0, nil),
			)
		}),
		errorBox(p.editErr),
		app.Div().Class("modal-actions").Body(
			app.Button().Type("button").Class("small").Text("Cancel").OnClick(func(ctx app.Context, e app.Event) { p.edit = "" }),
			app.Button().ID("link-save").Type("submit").Class("small primary-small").Disabled(p.busy).Text("Save"),
		),
	)
}

func (p *linksPage) save(i int) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		e.PreventDefault()
		d := currentDrive()
		l, ok := p.linkAt(i)
		if d == nil || !ok || l.ID != p.edit {
			return
		}
		var req api.UpdateLinkRequest
		exp, err := parseExpiry(p.editExp)
		if err != nil {
			p.editErr = err.Error()
			return
		}
		if exp != nil {
			req.Expires = exp
		} else if l.Expires != nil {
			req.ClearExpires = true
		}
		if l.Kind != api.LinkDrop {
			n, err := parseLimit(p.editMax)
			if err != nil {
				p.editErr = "The download limit must be a whole number (empty for none)."
				return
			}
			req.MaxDownloads = &n
		} else {
			var lim api.DropLimits
			var errT, errF, errN error
			lim.MaxTotal, errT = parseMB(p.editTotal)
			lim.MaxFile, errF = parseMB(p.editFile)
			lim.MaxFiles, errN = parseLimit(p.editFiles)
			if errT != nil || errF != nil {
				p.editErr = "Size limits are numbers of MB (empty for none)."
				return
			}
			if errN != nil {
				p.editErr = "The number of files must be a whole number (empty for none)."
				return
			}
			req.Drop = &lim
		}
		id := l.ID
		p.busy = true
		ctx = p.ctx
		ctx.Async(func() {
			_, err := d.UpdateLink(ctx, id, req)
			ctx.Dispatch(func(ctx app.Context) {
				p.busy = false
				if err != nil {
					p.editErr = errorText(err)
					return
				}
				p.edit, p.notice = "", "The link is changed."
				p.reload(ctx)
			})
		})
	}
}

// mbString shows a size limit in MB for an input field ("" for none).
func mbString(b int64) string {
	if b <= 0 {
		return ""
	}
	return strconv.FormatFloat(float64(b)/1e6, 'f', -1, 64)
}

func (p *linksPage) remove(id string) {
	d := currentDrive()
	if d == nil || id != p.confirm {
		return
	}
	ctx := p.ctx
	p.busy = true
	ctx.Async(func() {
		err := d.DeleteLink(ctx, id)
		ctx.Dispatch(func(ctx app.Context) {
			p.busy, p.confirm = false, ""
			if err != nil {
				p.err = "The link could not be deleted: " + errorText(err)
				return
			}
			p.notice = "The link is deleted: it no longer opens anything."
			p.reload(ctx)
		})
	})
}

// parseExpiry reads a date input (yyyy-mm-dd): the link works until the
// end of that day, local time; "" is no expiry.
func parseExpiry(v string) (*time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	t, err := time.ParseInLocation("2006-01-02", v, time.Local)
	if err != nil {
		return nil, errors.New("The expiry date is not a date.")
	}
	t = t.AddDate(0, 0, 1).Add(-time.Second)
	if !t.After(time.Now()) {
		return nil, errors.New("The expiry date is in the past: choose today or later.")
	}
	return &t, nil
}

// parseLimit reads a whole number input; "" is 0 (no limit).
func parseLimit(v string) (int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errors.New("not a whole number")
	}
	return n, nil
}

// pageOrigin is this node's origin as the browser reaches it: the base of
// link addresses.
func pageOrigin() string {
	if app.IsServer {
		return ""
	}
	u := app.Window().URL()
	return u.Scheme + "://" + u.Host
}

// copyText puts text on the clipboard (the page is a secure context:
// https or localhost); the caller shows the text too, for copying by hand.
func copyText(text string) error {
	if app.IsServer {
		return nil
	}
	clip := app.Window().Get("navigator").Get("clipboard")
	if !clip.Truthy() {
		return errors.New("no clipboard")
	}
	clip.Call("writeText", text)
	return nil
}
