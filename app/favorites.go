package app

import (
	"context"
	"time"

	"github.com/communitycube/cube/shared/drive"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// favoritesPage lists the starred files and folders.
type favoritesPage struct {
	app.Compo
	itemsView
}

func (p *favoritesPage) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Favourites · CommunityCube")
	p.start(ctx, "favorites", func(ctx context.Context, d *drive.Drive) ([]drive.Item, error) { return d.Favorites(ctx) })
}

func (p *favoritesPage) OnDismount() { p.sess.stop() }

func (p *favoritesPage) Render() app.UI {
	return layout(&p.sess, PathFavorites, fmNeedDrive(func() app.UI {
		return p.render("Favourites", "Star files and folders in Files to find them here.", true)
	}))
}

// itemsView is a flat list of items (recent, favourites): open, download,
// star, go to the folder.
type itemsView struct {
	sess    session
	ctx     app.Context
	id      string
	load    func(context.Context, *drive.Drive) ([]drive.Item, error)
	items   []drive.Item
	loaded  bool
	err     string
	started bool
}

func (v *itemsView) start(ctx app.Context, id string, load func(context.Context, *drive.Drive) ([]drive.Item, error)) {
	v.sess.start(ctx, forSignedIn)
	v.ctx, v.id, v.load, v.loaded = ctx, id, load, false
	v.wait(ctx)
}

func (v *itemsView) wait(ctx app.Context) {
	if app.IsServer {
		return
	}
	if currentDrive() == nil {
		ctx.After(400*time.Millisecond, v.wait)
		return
	}
	v.reload(ctx)
}

func (v *itemsView) reload(ctx app.Context) {
	d := currentDrive()
	if d == nil {
		return
	}
	ctx = v.ctx
	ctx.Async(func() {
		items, err := v.load(ctx, d)
		ctx.Dispatch(func(ctx app.Context) {
			v.loaded = true
			if err != nil {
				v.err = errorText(err)
				return
			}
			v.items, v.err = items, ""
		})
	})
}

func (v *itemsView) open(ctx app.Context, i int) { openItem(ctx, v.items, i) }

// openItem opens items[i]: a folder in the file manager, a file in the
// previewer, whose arrow keys then move over the listing's files.
func openItem(ctx app.Context, items []drive.Item, i int) {
	it := items[i]
	if it.Folder {
		ctx.Navigate(folderURL(it.ID))
		return
	}
	var files []drive.Item
	at := 0
	for _, x := range items {
		if x.Folder {
			continue
		}
		if x.ID == it.ID {
			at = len(files)
		}
		files = append(files, x)
	}
	openPreview(ctx, files, at)
}

func (v *itemsView) render(title, empty string, folders bool) app.UI {
	return app.Div().ID(v.id+"-page").Class("files").Body(
		app.H1().Text(title),
		errorBox(v.err),
		app.If(!v.loaded, func() app.UI { return app.Div().Class("loading").Text("Loading…") }).
			ElseIf(len(v.items) == 0, func() app.UI {
				return app.Div().ID(v.id+"-empty").Class("empty").Body(app.H2().Text("Nothing here yet"), app.P().Text(empty))
			}).
			Else(func() app.UI {
				return app.Div().ID(v.id + "-list").Class("file-list").Role("list").Body(
					app.Range(v.items).Slice(func(i int) app.UI {
						it := v.items[i]
						size := fmSize(it.Size)
						if it.Folder {
							size = "Folder"
						}
						return app.Div().Class("file-row simple-row").Role("listitem").TabIndex(0).
							DataSet("testid", "item").DataSet("name", it.Name).
							OnDblClick(func(ctx app.Context, e app.Event) { v.open(ctx, i) }).
							OnKeyDown(func(ctx app.Context, e app.Event) {
								if e.Get("key").String() == "Enter" {
									v.open(ctx, i)
									return
								}
								ctx.PreventUpdate()
							}).Body(
							app.Span().Class("col-name").Body(
								app.Span().Class("item-icon kind-"+fileKind(it)).Body(fmIcon(fileKind(it))),
								app.Button().Class("link item-name").Text(it.Name).OnClick(func(ctx app.Context, e app.Event) { v.open(ctx, i) }),
								modeBadge(it.Mode),
							),
							app.Span().Class("col-size").Text(size),
							app.Span().Class("col-date").Text(fmTime(it.Modified)),
							app.Span().Class("col-actions").Body(
								app.A().Class("small-link").Href(folderURL(it.ParentID)).Text("Show in folder"),
								app.Button().Class("small").Text("Download").
									OnClick(func(ctx app.Context, e app.Event) { downloadItems(ctx, []drive.Item{it}) }),
								app.If(folders || it.Favorite, func() app.UI {
									return app.Button().Class("small").DataSet("testid", "unfavorite").Text("Unstar").
										OnClick(func(ctx app.Context, e app.Event) { v.setFavorite(ctx, it, false) })
								}),
							),
						)
					}),
				)
			}),
	)
}

func (v *itemsView) setFavorite(ctx app.Context, it drive.Item, on bool) {
	d := currentDrive()
	if d == nil {
		return
	}
	ctx = v.ctx
	ctx.Async(func() {
		_, err := d.SetFavorite(ctx, it.ID, on)
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				v.err = errorText(err)
			}
			v.reload(ctx)
		})
	})
}
