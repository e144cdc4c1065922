package app

import (
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

type loginPage struct {
	app.Compo
	sess     session
	name, pw string
	busy     bool
	err      string
}

func (p *loginPage) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Sign in · CommunityCube")
	p.sess.start(ctx, forSignedOut)
}

func (p *loginPage) OnDismount() { p.sess.stop() }

func (p *loginPage) Render() app.UI {
	return layout(&p.sess, "",
		app.Div().Class("card narrow").Body(
			app.H1().Text("Sign in"),
			app.Form().ID("login-form").OnSubmit(p.submit).Body(
				field("name", "User name", app.Input().Type("text").Value(p.name).
					Attr("autocomplete", "username").Attr("autocapitalize", "none").Required(true).
					OnInput(func(ctx app.Context, e app.Event) { p.name = inputValue(ctx) })),
				field("password", "Password", app.Input().Type("password").Value(p.pw).
					Attr("autocomplete", "current-password").Required(true).
					OnInput(func(ctx app.Context, e app.Event) { p.pw = inputValue(ctx) })),
				errorBox(p.err),
				app.Button().ID("login-submit").Type("submit").Class("primary").Disabled(p.busy).Text("Sign in"),
			),
		),
	)
}

func (p *loginPage) submit(ctx app.Context, e app.Event) {
	e.PreventDefault()
	p.busy, p.err = true, ""
	name, pw := p.name, p.pw
	next := ctx.Page().URL().Query().Get("next")
	// Only follow local paths: an open redirect would let a crafted link send
	// a freshly signed-in user to another site.
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, PathLogin) {
		next = PathFiles
	}
	ctx.Async(func() {
		st, err := client().Login(ctx, name, pw)
		ctx.Dispatch(func(ctx app.Context) {
			p.busy = false
			if err != nil {
				p.err = errorText(err)
				return
			}
			p.pw = ""
			p.sess.signedIn(st)
			ctx.Navigate(next)
		})
	})
}
