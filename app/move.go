package app

import (
	"fmt"

	"github.com/communitycube/cube/shared/drive"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The folder chooser of Move and Copy: browse folders from the current
// one, then "Move here" / "Copy here".

func (p *filesPage) openChooser(copy bool) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		items := p.selected()
		if len(items) == 0 {
			return
		}
		kind := map[bool]string{true: "copy", false: "move"}[copy]
		p.dlg = dialogState{kind: kind}
		for _, it := range items {
			p.dlg.ids = append(p.dlg.ids, it.ID)
		}
		p.chooseFolder(ctx, p.folderID)
	}
}

func (p *filesPage) chooserTitle() string {
	verb := map[bool]string{true: "Copy", false: "Move"}[p.dlg.kind == "copy"]
	return fmt.Sprintf("%s %d item(s) to…", verb, len(p.dlg.ids))
}

// chooseFolder shows folder id in the chooser.
func (p *filesPage) chooseFolder(ctx app.Context, id string) {
	d := currentDrive()
	if d == nil {
		return
	}
	p.dlg.chLoading = true
	kind := p.dlg.kind
	ctx = p.ctx
	ctx.Async(func() {
		folder, anc, err := d.Item(ctx, id)
		var items []drive.Item
		if err == nil {
			items, err = d.List(ctx, id)
		}
		ctx.Dispatch(func(ctx app.Context) {
			if p.dlg.kind != kind {
				return
			}
			p.dlg.chLoading = false
			if err != nil {
				p.dlg.err = errorText(err)
				return
			}
			if len(anc) > 0 && anc[len(anc)-1].ID == folder.ID {
				anc = anc[:len(anc)-1]
			}
			var folders []drive.Item
			for _, it := range items {
				if it.Folder {
					folders = append(folders, it)
				}
			}
			sortItems(folders, "name", false)
			p.dlg.chFolder, p.dlg.chPath, p.dlg.chItems, p.dlg.err = folder, anc, folders, ""
		})
	})
}

// chooserBlocked says why the chosen folder cannot take the items ("" if
// it can).
func (p *filesPage) chooserBlocked() string {
	f := p.dlg.chFolder
	if f.ID == "" {
		return "…"
	}
	for _, id := range p.dlg.ids {
		if id == f.ID {
			return "A folder cannot go into itself."
		}
		for _, a := range p.dlg.chPath {
			if a.ID == id {
				return "A folder cannot go into one of its own subfolders."
			}
		}
	}
	if p.dlg.kind == "move" && f.ID == p.folderID {
		return "The items are already here."
	}
	return ""
}

func (p *filesPage) chooser() app.UI {
	f := p.dlg.chFolder
	crumbs := append(append([]drive.Item{}, p.dlg.chPath...), f)
	blocked := p.chooserBlocked()
	verb := map[bool]string{true: "Copy here", false: "Move here"}[p.dlg.kind == "copy"]
	return app.Div().Class("chooser").Body(
		app.Nav().Class("breadcrumbs chooser-crumbs").Aria("label", "Destination").Body(
			app.Range(crumbs).Slice(func(i int) app.UI {
				it := crumbs[i]
				name := it.Name
				if i == 0 {
					name = "My files"
				}
				if i == len(crumbs)-1 {
					return app.Span().Class("crumb current").Text(name)
				}
				return app.Span().Body(
					app.Button().Type("button").Class("link crumb").Text(name).
						OnClick(func(ctx app.Context, e app.Event) { p.chooseFolder(ctx, it.ID) }),
					app.Span().Class("crumb-sep").Text("›"),
				)
			}),
		),
		app.Ul().ID("chooser-list").Class("chooser-list").Body(
			app.If(p.dlg.chLoading, func() app.UI { return app.Li().Class("muted").Text("Loading…") }).
				ElseIf(len(p.dlg.chItems) == 0, func() app.UI { return app.Li().Class("muted").Text("No folders here.") }),
			app.Range(p.dlg.chItems).Slice(func(i int) app.UI {
				it := p.dlg.chItems[i]
				return app.Li().Body(
					app.Button().Type("button").Class("chooser-item").DataSet("testid", "chooser-folder").DataSet("name", it.Name).
						OnClick(func(ctx app.Context, e app.Event) { p.chooseFolder(ctx, it.ID) }).
						Body(fmIcon("folder"), app.Span().Text(it.Name)),
				)
			}),
		),
		errorBox(p.dlg.err),
		app.If(blocked != "" && blocked != "…", func() app.UI { return app.P().Class("muted").Text(blocked) }),
		app.Div().Class("modal-actions").Body(
			app.Button().Type("button").Class("small").Text("Cancel").OnClick(p.closeDialog),
			app.Button().Type("button").ID("chooser-submit").Class("small primary-small").Disabled(blocked != "" || p.dlg.chLoading).Text(verb).
				OnClick(func(ctx app.Context, e app.Event) {
					ids, target, copy := p.dlg.ids, p.dlg.chFolder.ID, p.dlg.kind == "copy"
					p.dlg = dialogState{}
					p.moveOrCopy(ctx, ids, target, copy)
				}),
		),
	)
}
