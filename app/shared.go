package app

// "Shared with me" (/shared): what other users of this node share with the
// signed-in user (docs/sharing-users.md), and folders offered to them.
// /shared lists the shared items; /shared?id=FOLDER browses inside one.
// Files open in the previewer and download as in Files; where the owner
// allowed editing, the user can also upload, make folders, rename and
// delete inside. Read-only items show no such controls (and the node
// refuses the changes anyway).

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/drive"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// PathShared is the "Shared with me" page.
const PathShared = "/shared"

func sharedURL(id string) string {
	if id == "" {
		return PathShared
	}
	return PathShared + "?id=" + url.QueryEscape(id)
}

type sharedPage struct {
	app.Compo
	sess     session
	ctx      app.Context
	folderID string // "": the list of shared items

	loaded   bool
	gone     bool // the folder is no longer shared with us
	err      string
	notice   string
	shared   []drive.SharedItem
	offers   []drive.Transfer
	folder   drive.Item
	path     []drive.Item
	items    []drive.Item
	owner    string
	writable bool
	busy     bool
	newName  string
	mkdir    bool
	renaming string // id of the item being renamed
	rename   string
	gen      int
	releases []func()
}

func (p *sharedPage) OnMount(ctx app.Context) {
	p.ctx = ctx
	if filePicker != nil {
		p.releases = append(p.releases, filePicker.Watch("shared-upload", func(files []LocalFile) {
			ctx.Dispatch(func(ctx app.Context) {
				if p.folderID != "" && p.writable && len(files) > 0 {
					uploads.add(p.folderID, files)
				}
			})
		}))
	}
	p.releases = append(p.releases, uploads.listen(func(folderID string) {
		ctx.Dispatch(func(ctx app.Context) {
			if folderID == p.folderID {
				p.reload(ctx)
			}
		})
	}))
}

func (p *sharedPage) OnDismount() {
	p.sess.stop()
	for _, r := range p.releases {
		r()
	}
	p.releases = nil
}

func (p *sharedPage) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Shared with me · CommunityCube")
	p.sess.start(ctx, forSignedIn)
	p.ctx = ctx
	p.folderID = ctx.Page().URL().Query().Get("id")
	p.loaded, p.gone, p.err, p.notice = false, false, "", ""
	p.mkdir, p.renaming = false, ""
	p.wait(ctx)
}

func (p *sharedPage) wait(ctx app.Context) {
	if app.IsServer {
		return
	}
	if currentDrive() == nil {
		ctx.After(300*time.Millisecond, p.wait)
		return
	}
	p.reload(ctx)
}

func (p *sharedPage) reload(ctx app.Context) {
	d := currentDrive()
	if d == nil {
		return
	}
	p.gen++
	gen, id := p.gen, p.folderID
	ctx = p.ctx
	ctx.Async(func() {
		// Opening the shares again also forgets keys that changed (an
		// owner who removed someone re-keys the item).
		shared, err := d.SharedWithMe(ctx)
		var offers []drive.Transfer
		var folder drive.Item
		var path, items []drive.Item
		gone := false
		if err == nil && id == "" {
			var all []drive.Transfer
			if all, err = d.Transfers(ctx); err == nil {
				for _, t := range all {
					if t.Incoming {
						offers = append(offers, t)
					}
				}
			}
		}
		if err == nil && id != "" {
			folder, path, err = d.Item(ctx, id)
			if err == nil {
				items, err = d.List(ctx, id)
			}
			if isNotFound(err) {
				gone, err = true, nil
			}
		}
		ctx.Dispatch(func(ctx app.Context) {
			if gen != p.gen {
				return
			}
			p.loaded = true
			if err != nil {
				p.err = errorText(err)
				return
			}
			p.shared, p.offers, p.gone = shared, offers, gone
			p.folder, p.path, p.items = folder, path, items
			sortItems(p.items, "name", false)
			p.owner, p.writable = "", false
			if id != "" && !gone {
				_, p.writable = d.Shared(id)
				top := id
				if len(path) > 0 {
					top = path[0].ID
				}
				for _, s := range shared {
					if s.ID == top {
						p.owner = s.Owner
						p.writable = s.Writable()
					}
				}
			}
		})
	})
}

func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	var ae *api.Error
	if errors.As(err, &ae) && ae.Code == api.CodeNotFound {
		return true
	}
	return errors.Is(err, drive.ErrNotFound)
}

// act runs f, then shows msg or the error and lists the folder again.
func (p *sharedPage) act(ctx app.Context, f func(ctx context.Context, d *drive.Drive) error, msg string) {
	d := currentDrive()
	if d == nil || p.busy {
		return
	}
	p.busy, p.err, p.notice = true, "", ""
	ctx = p.ctx // the page's own: the clicked element may be gone by then
	ctx.Async(func() {
		err := f(ctx, d)
		ctx.Dispatch(func(ctx app.Context) {
			p.busy = false
			if err != nil {
				p.err = errorText(err)
			} else {
				p.notice = msg
			}
			p.reload(ctx)
		})
	})
}

func (p *sharedPage) Render() app.UI {
	return layout(&p.sess, PathShared, fmNeedDrive(p.content))
}

func (p *sharedPage) content() app.UI {
	return app.Div().ID("shared-page").Class("files").Body(
		p.crumbs(),
		errorBox(p.err),
		app.If(p.notice != "", func() app.UI { return app.P().ID("shared-notice").Class("notice").Role("status").Text(p.notice) }),
		app.If(!p.loaded, func() app.UI { return app.Div().Class("loading").Text("Loading…") }).
			ElseIf(p.folderID == "", p.rootList).
			ElseIf(p.gone, func() app.UI {
				return app.Div().ID("shared-gone").Class("empty").Body(
					app.H2().Text("No longer shared with you"),
					app.P().Text("Its owner stopped sharing this with you, or deleted it. What you downloaded before stays with you."),
					app.A().Href(PathShared).Text("Back to Shared with me"),
				)
			}).
			Else(p.folderView),
	)
}

func (p *sharedPage) crumbs() app.UI {
	parts := []app.UI{}
	if p.folderID == "" || p.gone {
		parts = append(parts, app.Span().Class("crumb current").Aria("current", "location").Text("Shared with me"))
	} else {
		parts = append(parts, app.A().Class("crumb").Href(PathShared).Text("Shared with me"))
		for _, it := range p.path {
			parts = append(parts, app.Span().Class("crumb-sep").Aria("hidden", "true").Text("›"),
				app.A().Class("crumb").Href(sharedURL(it.ID)).DataSet("testid", "crumb").Text(it.Name))
		}
		parts = append(parts, app.Span().Class("crumb-sep").Aria("hidden", "true").Text("›"),
			app.Span().Class("crumb current").Aria("current", "location").DataSet("testid", "crumb").Text(p.folder.Name))
	}
	return app.Nav().ID("breadcrumbs").Class("breadcrumbs").Aria("label", "Folder").Body(parts...)
}

func (p *sharedPage) rootList() app.UI {
	return app.Div().Body(
		app.H1().Text("Shared with me"),
		app.Range(p.offers).Slice(func(i int) app.UI { return p.offer(p.offers[i]) }),
		app.If(len(p.shared) == 0, func() app.UI {
			return app.Div().ID("shared-empty").Class("empty").Body(
				app.H2().Text("Nothing is shared with you yet"),
				app.P().Text("When someone on this node shares a file or folder with you, it appears here."),
			)
		}).Else(func() app.UI {
			return app.Div().ID("shared-list").Class("file-list").Role("list").Body(
				app.Range(p.shared).Slice(func(i int) app.UI {
					s := p.shared[i]
					return p.row(s.Item, s.Owner, s.Writable(), func(ctx app.Context) { p.openShared(ctx, i) })
				}),
			)
		}),
	)
}

func (p *sharedPage) offer(t drive.Transfer) app.UI {
	name := t.Name
	if name == "" {
		name = "a folder"
	}
	return app.Div().Class("notice banner-inline").DataSet("testid", "incoming-offer").Body(
		app.Span().Text(t.From+" offers to give you “"+name+"” ("+fmSize(t.Size)+"). If you accept, it becomes yours and counts towards your storage. "),
		app.Button().Class("small primary-small").Disabled(p.busy).Text("Accept into My files").
			OnClick(func(ctx app.Context, e app.Event) {
				p.act(ctx, func(ctx context.Context, d *drive.Drive) error {
					_, err := d.AcceptTransfer(ctx, t.Transfer, d.RootID())
					return err
				}, "“"+name+"” is now yours, in My files.")
			}),
		app.Button().Class("small").Disabled(p.busy).Text("Decline").
			OnClick(func(ctx app.Context, e app.Event) {
				p.act(ctx, func(ctx context.Context, d *drive.Drive) error { return d.CancelTransfer(ctx, t.ID) }, "Offer declined.")
			}),
	)
}

func (p *sharedPage) openShared(ctx app.Context, i int) {
	items := make([]drive.Item, len(p.shared))
	for j, s := range p.shared {
		items[j] = s.Item
	}
	if items[i].Folder {
		ctx.Navigate(sharedURL(items[i].ID))
		return
	}
	openItem(ctx, items, i)
}

func (p *sharedPage) open(ctx app.Context, i int) {
	if p.items[i].Folder {
		ctx.Navigate(sharedURL(p.items[i].ID))
		return
	}
	openItem(ctx, p.items, i)
}

// row is one item: name, size, date, who shared it (top level) and actions.
func (p *sharedPage) row(it drive.Item, owner string, writable bool, open func(ctx app.Context)) app.UI {
	size := fmSize(it.Size)
	if it.Folder {
		size = "Folder"
	}
	// The same words as the owner's "Share with people" dialog.
	badge := permLabel(api.PermRead)
	if writable {
		badge = permLabel(api.PermWrite)
	}
	return app.Div().Class("file-row simple-row").Role("listitem").TabIndex(0).
		DataSet("testid", "item").DataSet("name", it.Name).
		OnDblClick(func(ctx app.Context, e app.Event) { open(ctx) }).Body(
		app.Span().Class("col-name").Body(
			app.Span().Class("item-icon kind-"+fileKind(it)).Body(fmIcon(fileKind(it))),
			app.Button().Class("link item-name").Text(it.Name).OnClick(func(ctx app.Context, e app.Event) { open(ctx) }),
			app.If(owner != "", func() app.UI {
				return app.Span().Class("badge").DataSet("testid", "shared-by").Text("from " + owner + " · " + badge)
			}),
		),
		app.Span().Class("col-size").Text(size),
		app.Span().Class("col-date").Text(fmTime(it.Modified)),
		app.Span().Class("col-actions").Body(
			app.Button().Class("small").DataSet("testid", "download").Text("Download").
				OnClick(func(ctx app.Context, e app.Event) { downloadItems(ctx, []drive.Item{it}) }),
			app.If(owner == "" && p.writable, func() app.UI {
				return app.Span().Body(
					app.Button().Class("small").DataSet("testid", "rename").Text("Rename").
						OnClick(func(ctx app.Context, e app.Event) { p.renaming, p.rename = it.ID, it.Name }),
					app.Button().Class("small danger").DataSet("testid", "delete").Text("Delete").
						OnClick(func(ctx app.Context, e app.Event) {
							p.act(ctx, func(ctx context.Context, d *drive.Drive) error { return d.Trash(ctx, it.ID) },
								"“"+it.Name+"” is in "+p.owner+"'s trash.")
						}),
				)
			}),
		),
	)
}

func (p *sharedPage) folderView() app.UI {
	return app.Div().Body(
		app.If(p.writable, p.toolbar).Else(func() app.UI {
			return app.P().ID("shared-readonly").Class("muted").Text("Shared with you read-only by " + p.owner + ": you can open and download, not change.")
		}),
		app.If(p.writable, func() app.UI { return &uploadPanel{} }),
		app.If(p.renaming != "", p.renameForm),
		app.If(len(p.items) == 0, func() app.UI {
			return app.Div().ID("shared-folder-empty").Class("empty").Body(app.H2().Text("This folder is empty"))
		}).Else(func() app.UI {
			return app.Div().ID("shared-items").Class("file-list").Role("list").Body(
				app.Range(p.items).Slice(func(i int) app.UI {
					return p.row(p.items[i], "", p.writable, func(ctx app.Context) { p.open(ctx, i) })
				}),
			)
		}),
	)
}

func (p *sharedPage) toolbar() app.UI {
	return app.Div().Class("toolbar files-toolbar").Body(
		app.Span().ID("shared-writable").Class("muted").Text("Shared with you by "+p.owner+": you can edit. What you add belongs to "+p.owner+" and counts towards their storage. "),
		app.Button().ID("shared-new-folder").Class("small").Text("New folder").
			OnClick(func(ctx app.Context, e app.Event) { p.mkdir, p.newName = true, "" }),
		app.Label().For("shared-upload").Class("button small").ID("shared-upload-label").Body(fmIcon("upload"), app.Span().Text("Upload")),
		app.Input().ID("shared-upload").Type("file").Multiple(true).Class("visually-hidden").TabIndex(-1),
		app.If(p.mkdir, func() app.UI {
			return app.Form().ID("shared-mkdir-form").Class("inline-form").OnSubmit(func(ctx app.Context, e app.Event) {
				e.PreventDefault()
				name, parent := strings.TrimSpace(p.newName), p.folderID
				if err := validName(name); err != nil {
					p.err = err.Error()
					return
				}
				p.mkdir = false
				p.act(ctx, func(ctx context.Context, d *drive.Drive) error {
					_, err := d.Mkdir(ctx, parent, name, drive.CreateOptions{})
					return err
				}, "Folder “"+name+"” made.")
			}).Body(
				field("shared-mkdir-name", "Folder name", app.Input().Type("text").Value(p.newName).AutoFocus(true).
					OnInput(func(ctx app.Context, e app.Event) { p.newName = inputValue(ctx) })),
				app.Button().Type("submit").Class("small primary-small").Text("Make folder"),
			)
		}),
	)
}

func (p *sharedPage) renameForm() app.UI {
	return app.Form().ID("shared-rename-form").Class("inline-form").OnSubmit(func(ctx app.Context, e app.Event) {
		e.PreventDefault()
		id, name := p.renaming, strings.TrimSpace(p.rename)
		if err := validName(name); err != nil {
			p.err = err.Error()
			return
		}
		p.renaming = ""
		p.act(ctx, func(ctx context.Context, d *drive.Drive) error {
			_, err := d.Rename(ctx, id, name)
			return err
		}, "Renamed to “"+name+"”.")
	}).Body(
		field("shared-rename-name", "New name", app.Input().Type("text").Value(p.rename).AutoFocus(true).
			OnInput(func(ctx app.Context, e app.Event) { p.rename = inputValue(ctx) })),
		app.Button().Type("submit").Class("small primary-small").Text("Rename"),
		app.Button().Type("button").Class("small").Text("Cancel").OnClick(func(ctx app.Context, e app.Event) { p.renaming = "" }),
	)
}
