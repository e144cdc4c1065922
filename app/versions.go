package app

import (
	"context"
	"fmt"
	"time"

	"github.com/communitycube/cube/shared/drive"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The Versions dialog of a file: its versions with dates, a date filter,
// restore, download and delete.

func (p *filesPage) openVersions(ctx app.Context, e app.Event) {
	items := p.selected()
	if len(items) != 1 || items[0].Folder {
		return
	}
	p.dlg = dialogState{kind: "versions", target: items[0]}
	p.loadVersions(ctx)
}

func (p *filesPage) loadVersions(ctx app.Context) {
	d := currentDrive()
	if d == nil {
		return
	}
	id := p.dlg.target.ID
	p.dlg.vLoading = true
	ctx = p.ctx
	ctx.Async(func() {
		vs, err := d.Versions(ctx, id)
		ctx.Dispatch(func(ctx app.Context) {
			if p.dlg.kind != "versions" || p.dlg.target.ID != id {
				return
			}
			p.dlg.vLoading = false
			if err != nil {
				p.dlg.err = errorText(err)
				return
			}
			p.dlg.versions, p.dlg.err = vs, ""
		})
	})
}

// versionAction runs f on a version and reloads the list and the folder.
func (p *filesPage) versionAction(ctx app.Context, f func(d *drive.Drive) error, msg string) {
	d := currentDrive()
	if d == nil {
		return
	}
	p.dlg.busy = true
	ctx = p.ctx
	ctx.Async(func() {
		err := f(d)
		ctx.Dispatch(func(ctx app.Context) {
			p.dlg.busy = false
			if err != nil {
				p.dlg.err = errorText(err)
				return
			}
			p.dlg.err = ""
			p.notice, p.undo = msg, nil
			p.loadVersions(ctx)
			p.reload(ctx)
		})
	})
}

func (p *filesPage) versionsBody() app.UI {
	from, _ := time.ParseInLocation("2006-01-02", p.dlg.from, time.Local)
	to, _ := time.ParseInLocation("2006-01-02", p.dlg.to, time.Local)
	var shown []drive.Version
	for _, v := range p.dlg.versions {
		if !from.IsZero() && v.Created.Before(from) {
			continue
		}
		if !to.IsZero() && !v.Created.Before(to.AddDate(0, 0, 1)) {
			continue
		}
		shown = append(shown, v)
	}
	target := p.dlg.target
	return app.Div().Class("versions").Body(
		app.P().Class("muted").Text("Every time a file of the same name is replaced, the old content is kept as a version (unless its folder keeps no history). Versions count towards your storage."),
		app.Div().Class("version-filter").Body(
			app.Div().Class("field").Body(
				app.Label().For("versions-from").Text("From"),
				app.Input().ID("versions-from").Type("date").Value(p.dlg.from).
					OnChange(func(ctx app.Context, e app.Event) { p.dlg.from = inputValue(ctx) }),
			),
			app.Div().Class("field").Body(
				app.Label().For("versions-to").Text("To"),
				app.Input().ID("versions-to").Type("date").Value(p.dlg.to).
					OnChange(func(ctx app.Context, e app.Event) { p.dlg.to = inputValue(ctx) }),
			),
		),
		errorBox(p.dlg.err),
		app.If(p.dlg.vLoading && len(p.dlg.versions) == 0, func() app.UI { return app.P().Class("muted").Text("Loading…") }),
		app.If(!p.dlg.vLoading && len(shown) == 0, func() app.UI {
			return app.P().Class("muted").Text("No version in this range.")
		}),
		app.Ul().ID("version-list").Class("version-list").Body(
			app.Range(shown).Slice(func(i int) app.UI {
				v := shown[i]
				label := v.Created.Local().Format("2 Jan 2006 15:04:05")
				return app.Li().Class("version").DataSet("testid", "version").DataSet("current", v.Current).Body(
					app.Div().Class("version-info").Body(
						app.Strong().Text(label),
						app.If(v.Current, func() app.UI { return app.Span().Class("badge").Text("Current") }),
						app.Div().Class("muted").Text(fmt.Sprintf("%s%s", fmSize(v.Size), modifiedNote(v))),
					),
					app.Div().Class("version-actions").Body(
						app.Button().Class("small").DataSet("testid", "version-download").Text("Download").
							OnClick(func(ctx app.Context, e app.Event) {
								if v.Current {
									downloadItems(ctx, []drive.Item{target})
									return
								}
								p.downloadVersion(ctx, target, v)
							}),
						app.If(!v.Current, func() app.UI {
							return app.Span().Body(
								app.Button().Class("small").DataSet("testid", "version-restore").Disabled(p.dlg.busy).Text("Restore").
									OnClick(func(ctx app.Context, e app.Event) {
										p.versionAction(ctx, func(d *drive.Drive) error {
											_, err := d.RestoreVersion(p.ctx, target.ID, v.ID)
											return err
										}, "Restored the version of "+label+".")
									}),
								app.Button().Class("small danger").DataSet("testid", "version-delete").Disabled(p.dlg.busy).Text("Delete").
									OnClick(func(ctx app.Context, e app.Event) {
										p.versionAction(ctx, func(d *drive.Drive) error {
											return d.DeleteVersion(p.ctx, target.ID, v.ID)
										}, "Deleted the version of "+label+".")
									}),
							)
						}),
					),
				)
			}),
		),
		app.Div().Class("modal-actions").Body(
			app.Button().Type("button").Class("small").Text("Close").OnClick(p.closeDialog),
		),
	)
}

func modifiedNote(v drive.Version) string {
	if v.Modified.IsZero() {
		return ""
	}
	return " · file dated " + v.Modified.Local().Format("2 Jan 2006 15:04")
}

// versionDownloadMax bounds an old version's download, which goes through
// memory (the downloader streams current versions only).
const versionDownloadMax = 512 << 20

// downloadVersion saves an older version as "name (date).ext".
func (p *filesPage) downloadVersion(ctx app.Context, it drive.Item, v drive.Version) {
	d := currentDrive()
	if d == nil || app.IsServer {
		return
	}
	if v.Size > versionDownloadMax {
		p.dlg.err = "This version is too large to download here; restore it first, then download the file."
		return
	}
	base, ext := splitExt(it.Name)
	name := base + " (" + v.Created.Local().Format("2006-01-02 1504") + ")" + ext
	ctx = p.ctx
	ctx.Async(func() {
		f, ver, err := d.Open(context.Background(), it.ID, v.ID)
		var b []byte
		if err == nil {
			b = make([]byte, f.Size())
			var n int
			n, err = f.ReadAt(b, 0)
			if n == len(b) {
				err = nil
			}
		}
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.dlg.err = "Downloading the version failed: " + errorText(err)
				return
			}
			mime := ver.MIME
			if mime == "" {
				mime = "application/octet-stream"
			}
			url := galleryBlobURL(b, mime)
			doc := app.Window().Get("document")
			a := doc.Call("createElement", "a")
			a.Set("href", url)
			a.Set("download", name)
			doc.Get("body").Call("appendChild", a)
			a.Call("click")
			a.Call("remove")
			ctx.After(time.Minute, func(app.Context) { app.Window().Get("URL").Call("revokeObjectURL", url) })
		})
	})
}
