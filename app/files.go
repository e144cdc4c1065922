package app

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// filesPage is the file manager. Until files can be stored it shows the
// user's empty root folder.
type filesPage struct {
	app.Compo
	sess session
}

func (p *filesPage) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Files · CommunityCube")
	p.sess.start(ctx, forSignedIn)
}

func (p *filesPage) OnDismount() { p.sess.stop() }

func (p *filesPage) Render() app.UI {
	return layout(&p.sess, PathFiles,
		app.Div().Class("toolbar").Body(
			app.Nav().Class("breadcrumbs").Aria("label", "Folder").Body(
				app.Span().Aria("current", "location").Text("My files"),
			),
		),
		app.Div().ID("files-empty").Class("empty").Body(
			app.Img().Src("/web/icon.svg").Alt("").Class("empty-icon"),
			app.H2().Text("No files yet"),
			app.P().Text("Files you store here are encrypted in this browser before they leave it."),
		),
	)
}
