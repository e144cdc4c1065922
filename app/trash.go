package app

import (
	"context"
	"fmt"
	"time"

	"github.com/communitycube/cube/shared/drive"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// trashPage lists trashed items: restore, download, delete forever, empty.
type trashPage struct {
	app.Compo
	itemsView
	notice  string
	confirm string // "empty" or an item id awaiting "delete forever" confirmation
	busy    bool
}

func (p *trashPage) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Trash · CommunityCube")
	p.confirm, p.notice = "", ""
	p.start(ctx, "trash", func(ctx context.Context, d *drive.Drive) ([]drive.Item, error) {
		items, err := d.TrashItems(ctx)
		if err == nil {
			sortTrash(items)
		}
		return items, err
	})
}

func (p *trashPage) OnDismount() { p.sess.stop() }

func sortTrash(items []drive.Item) {
	for i := 1; i < len(items); i++ {
		for j := i; j > 0 && trashedAt(items[j]).After(trashedAt(items[j-1])); j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
}

func trashedAt(it drive.Item) time.Time {
	if it.Trashed != nil {
		return *it.Trashed
	}
	return time.Time{}
}

func (p *trashPage) run(ctx app.Context, f func(d *drive.Drive) error, msg string) {
	d := currentDrive()
	if d == nil {
		return
	}
	p.busy = true
	ctx = p.ctx
	ctx.Async(func() {
		err := f(d)
		ctx.Dispatch(func(ctx app.Context) {
			p.busy, p.confirm = false, ""
			if err != nil {
				p.err, p.notice = errorText(err), ""
			} else {
				p.err, p.notice = "", msg
			}
			p.reload(ctx)
		})
	})
}

func (p *trashPage) Render() app.UI {
	return layout(&p.sess, PathTrash, fmNeedDrive(p.content))
}

func (p *trashPage) content() app.UI {
	return app.Div().ID("trash-page").Class("files").Body(
		app.Div().Class("files-head trash-head").Body(
			app.H1().Text("Trash"),
			app.If(len(p.items) > 0, func() app.UI {
				if p.confirm == "empty" {
					return app.Div().Class("confirm").Role("alert").Body(
						app.Span().Text(fmt.Sprintf("Delete all %d item(s) in the trash for good? This cannot be undone. ", len(p.items))),
						app.Button().ID("trash-empty-confirm").Class("small danger").Disabled(p.busy).Text("Delete for good").
							OnClick(func(ctx app.Context, e app.Event) {
								p.run(ctx, func(d *drive.Drive) error { return d.EmptyTrash(p.ctx) }, "The trash is empty.")
							}),
						app.Button().Class("small").Text("Cancel").OnClick(func(ctx app.Context, e app.Event) { p.confirm = "" }),
					)
				}
				return app.Button().ID("trash-empty").Class("small danger").Body(fmIcon("trash"), app.Span().Text("Empty trash")).
					OnClick(func(ctx app.Context, e app.Event) { p.confirm = "empty" })
			}),
		),
		app.P().Class("muted").Text("Items in the trash still count towards your storage until they are deleted for good."),
		errorBox(p.err),
		app.If(p.notice != "", func() app.UI { return app.P().ID("trash-notice").Class("notice").Role("status").Text(p.notice) }),
		app.If(!p.loaded, func() app.UI { return app.Div().Class("loading").Text("Loading…") }).
			ElseIf(len(p.items) == 0, func() app.UI {
				return app.Div().ID("trash-empty-state").Class("empty").Body(app.H2().Text("The trash is empty"), app.P().Text("Deleted files and folders wait here until you restore them or delete them for good."))
			}).
			Else(func() app.UI {
				return app.Div().ID("trash-list").Class("file-list").Role("list").Body(
					app.Range(p.items).Slice(func(i int) app.UI { return p.row(p.items[i]) }),
				)
			}),
	)
}

func (p *trashPage) row(it drive.Item) app.UI {
	when := ""
	if it.Trashed != nil {
		when = "Deleted " + fmTime(*it.Trashed)
	}
	size := fmSize(it.Size)
	if it.Folder {
		size = "Folder"
	}
	return app.Div().Class("file-row simple-row").Role("listitem").DataSet("testid", "trash-item").DataSet("name", it.Name).Body(
		app.Span().Class("col-name").Body(
			app.Span().Class("item-icon kind-"+fileKind(it)).Body(fmIcon(fileKind(it))),
			app.Span().Class("item-name").Text(it.Name),
			modeBadge(it.Mode),
		),
		app.Span().Class("col-size").Text(size),
		app.Span().Class("col-date").Text(when),
		app.Span().Class("col-actions").Body(
			app.Button().Class("small").DataSet("testid", "trash-restore").Disabled(p.busy).Text("Restore").
				OnClick(func(ctx app.Context, e app.Event) {
					p.run(ctx, func(d *drive.Drive) error {
						_, err := d.Restore(p.ctx, it.ID)
						return err
					}, "Restored “"+it.Name+"”.")
				}),
			app.If(!it.Folder, func() app.UI {
				return app.Button().Class("small").DataSet("testid", "trash-download").Text("Download").
					OnClick(func(ctx app.Context, e app.Event) { downloadItems(ctx, []drive.Item{it}) })
			}),
			app.If(p.confirm == it.ID, func() app.UI {
				return app.Span().Class("confirm").Body(
					app.Button().Class("small danger").DataSet("testid", "trash-delete-confirm").Disabled(p.busy).Text("Delete for good").
						OnClick(func(ctx app.Context, e app.Event) {
							p.run(ctx, func(d *drive.Drive) error { return d.DeleteForever(p.ctx, it.ID) },
								"Deleted “"+it.Name+"” for good.")
						}),
					app.Button().Class("small").Text("Keep").OnClick(func(ctx app.Context, e app.Event) { p.confirm = "" }),
				)
			}).Else(func() app.UI {
				return app.Button().Class("small danger").DataSet("testid", "trash-delete").Text("Delete forever").
					OnClick(func(ctx app.Context, e app.Event) { p.confirm = it.ID })
			}),
		),
	)
}
