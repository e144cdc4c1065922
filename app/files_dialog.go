package app

import (
	"fmt"
	"strings"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/drive"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The file manager's dialogs: new folder, rename, move/copy (move.go),
// versions (versions.go).

type dialogState struct {
	kind    string // "", "mkdir", "rename", "move", "copy", "versions", "unlock"
	name    string
	pw      string // mkdir: the folder's own password; unlock: the item's
	err     string
	suggest string // a free name to offer after name_taken
	busy    bool
	target  drive.Item
	ids     []string

	// Folder chooser (move, copy).
	chFolder  drive.Item
	chPath    []drive.Item
	chItems   []drive.Item
	chLoading bool

	// Versions.
	versions []drive.Version
	from, to string // yyyy-mm-dd filter
	vLoading bool
}

func (p *filesPage) closeDialog(ctx app.Context, e app.Event) { p.dlg = dialogState{} }

func (p *filesPage) dialog() app.UI {
	var title string
	var body app.UI
	switch p.dlg.kind {
	case "mkdir":
		title, body = "New folder", p.nameForm("mkdir-name", "Folder name", "Create", p.submitMkdir)
	case "rename":
		title, body = "Rename “"+p.dlg.target.Name+"”", p.nameForm("rename-name", "New name", "Rename", p.submitRename)
	case "move", "copy":
		title, body = p.chooserTitle(), p.chooser()
	case "versions":
		title, body = "Versions of “"+p.dlg.target.Name+"”", p.versionsBody()
	case "unlock":
		title, body = "“"+p.dlg.target.Name+"” has its own password", p.unlockItemForm()
	default:
		return app.Div().Class("dialog-none").Hidden(true)
	}
	return fmModal("dialog-"+p.dlg.kind, title, p.closeDialog, body)
}

// fmModal renders a dialog over the page; the close button calls onClose
// (Esc is the page's: filesPage.OnMount).
func fmModal(id, title string, onClose app.EventHandler, body app.UI) app.UI {
	return app.Div().Class("modal-backdrop").Body(
		app.Div().ID(id).Class("modal").Role("dialog").Aria("modal", "true").Aria("labelledby", id+"-title").Body(
			app.Div().Class("modal-head").Body(
				app.H2().ID(id+"-title").Text(title),
				app.Button().Class("link icon-button modal-close").Aria("label", "Close").Text("✕").OnClick(onClose),
			),
			body,
		),
	)
}

func (p *filesPage) nameForm(id, label, submit string, onSubmit app.EventHandler) app.UI {
	return app.Form().ID(id+"-form").OnSubmit(onSubmit).Body(
		field(id, label, app.Input().Type("text").Value(p.dlg.name).AutoFocus(true).Required(true).MaxLength(255).
			Attr("autocomplete", "off").OnInput(func(ctx app.Context, e app.Event) { p.dlg.name = inputValue(ctx); p.dlg.err = "" })),
		app.If(id == "mkdir-name", func() app.UI {
			return field("mkdir-password", "Own password (optional)", app.Input().Type("password").Value(p.dlg.pw).
				Attr("autocomplete", "new-password").OnInput(func(ctx app.Context, e app.Event) { p.dlg.pw = inputValue(ctx) }),
				app.Span().Text("Secure folders only: it is asked for before the folder opens. It cannot be recovered."))
		}),
		app.If(p.dlg.err != "", func() app.UI {
			return app.Div().Class("error").Role("alert").Body(
				app.Span().Text(p.dlg.err+" "),
				app.If(p.dlg.suggest != "", func() app.UI {
					return app.Button().Type("button").ID(id + "-suggest").Class("small").
						Text("Use “" + p.dlg.suggest + "”").
						OnClick(func(ctx app.Context, e app.Event) {
							p.dlg.name, p.dlg.suggest = p.dlg.suggest, ""
							onSubmit(ctx, e)
						})
				}),
			)
		}),
		app.Div().Class("modal-actions").Body(
			app.Button().Type("button").Class("small").Text("Cancel").OnClick(p.closeDialog),
			app.Button().ID(id+"-submit").Type("submit").Class("small primary-small").Disabled(p.dlg.busy).Text(submit),
		),
	)
}

func (p *filesPage) openMkdir(ctx app.Context, e app.Event) {
	if !p.loaded {
		return
	}
	p.dlg = dialogState{kind: "mkdir", name: freeName("New folder", p.items)}
}

func (p *filesPage) openRename(ctx app.Context, e app.Event) {
	items := p.selected()
	if len(items) != 1 {
		return
	}
	p.dlg = dialogState{kind: "rename", target: items[0], name: items[0].Name}
}

func (p *filesPage) submitMkdir(ctx app.Context, e app.Event) {
	e.PreventDefault()
	name := strings.TrimSpace(p.dlg.name)
	if err := validName(name); err != nil {
		p.dlg.err = err.Error()
		return
	}
	d := currentDrive()
	if d == nil {
		return
	}
	parent, mode, pw := p.folderID, p.mode, p.dlg.pw
	if pw != "" {
		mode = api.ModeSecure
	}
	p.dlg.busy = true
	ctx = p.ctx
	ctx.Async(func() {
		_, err := d.Mkdir(ctx, parent, name, drive.CreateOptions{Mode: mode, Password: pw})
		ctx.Dispatch(func(ctx app.Context) { p.nameResult(ctx, name, err, "Folder “%s” created.") })
	})
}

func (p *filesPage) submitRename(ctx app.Context, e app.Event) {
	e.PreventDefault()
	name := strings.TrimSpace(p.dlg.name)
	if err := validName(name); err != nil {
		p.dlg.err = err.Error()
		return
	}
	d := currentDrive()
	if d == nil {
		return
	}
	id := p.dlg.target.ID
	if name == p.dlg.target.Name {
		p.dlg = dialogState{}
		return
	}
	p.dlg.busy = true
	ctx = p.ctx
	ctx.Async(func() {
		_, err := d.Rename(ctx, id, name)
		ctx.Dispatch(func(ctx app.Context) { p.nameResult(ctx, name, err, "Renamed to “%s”.") })
	})
}

func (p *filesPage) nameResult(ctx app.Context, name string, err error, ok string) {
	p.dlg.busy = false
	switch {
	case isNameTaken(err):
		others := make([]drive.Item, 0, len(p.items))
		for _, it := range p.items {
			if it.ID != p.dlg.target.ID {
				others = append(others, it)
			}
		}
		p.dlg.err = fmt.Sprintf("An item named “%s” is already in this folder.", name)
		p.dlg.suggest = freeName(name, append(others, drive.Item{Name: name}))
	case err != nil:
		p.dlg.err = errorText(err)
	default:
		p.dlg = dialogState{}
		p.notice, p.undo, p.err = fmt.Sprintf(ok, name), nil, ""
		p.reload(ctx)
	}
}

// Items with their own password: asked for before they open.

func (p *filesPage) openUnlockItem(it drive.Item) {
	p.dlg = dialogState{kind: "unlock", target: it}
}

func (p *filesPage) unlockItemForm() app.UI {
	return app.Form().ID("unlock-item-form").OnSubmit(p.submitUnlockItem).Body(
		field("unlock-item-password", "Its password", app.Input().Type("password").Value(p.dlg.pw).AutoFocus(true).Required(true).
			Attr("autocomplete", "off").OnInput(func(ctx app.Context, e app.Event) { p.dlg.pw = inputValue(ctx); p.dlg.err = "" })),
		errorBox(p.dlg.err),
		app.Div().Class("modal-actions").Body(
			app.Button().Type("button").Class("small").Text("Cancel").OnClick(p.closeDialog),
			app.Button().ID("unlock-item-submit").Type("submit").Class("small primary-small").Disabled(p.dlg.busy).Text("Unlock"),
		),
	)
}

func (p *filesPage) submitUnlockItem(ctx app.Context, e app.Event) {
	e.PreventDefault()
	d := currentDrive()
	if d == nil {
		return
	}
	it, pw := p.dlg.target, p.dlg.pw
	p.dlg.busy = true
	ctx = p.ctx
	ctx.Async(func() {
		err := d.UnlockItem(ctx, it.ID, pw)
		ctx.Dispatch(func(ctx app.Context) {
			p.dlg.busy = false
			if err != nil {
				p.dlg.err = errorText(err)
				return
			}
			p.dlg = dialogState{}
			if it.Folder {
				ctx.Navigate(folderURL(it.ID))
				return
			}
			p.reload(ctx)
		})
	})
}
