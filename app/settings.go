package app

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// settingsPage holds the signed-in user's own settings.
type settingsPage struct {
	app.Compo
	sess             session
	current, pw, pw2 string
	strength         strength
	busy             bool
	err, notice      string
}

func (p *settingsPage) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Settings · CommunityCube")
	p.sess.start(ctx, forSignedIn)
}

func (p *settingsPage) OnDismount() { p.sess.stop() }

func (p *settingsPage) userName() string {
	if u := p.sess.state.User; u != nil {
		return u.Name
	}
	return ""
}

func (p *settingsPage) Render() app.UI {
	return layout(&p.sess, PathSettings,
		app.H1().Text("Settings"),
		app.Div().Class("card").Body(
			app.H2().Text("Change password"),
			app.P().Class("muted").Text("Signed in as "+p.userName()+". Changing the password signs out your other devices."),
			app.Form().ID("password-form").OnSubmit(p.submit).Body(
				field("current-password", "Current password", app.Input().Type("password").Value(p.current).
					Attr("autocomplete", "current-password").Required(true).
					OnInput(func(ctx app.Context, e app.Event) { p.current = inputValue(ctx) })),
				field("new-password", "New password", app.Input().Type("password").Value(p.pw).
					Attr("autocomplete", "new-password").Required(true).
					OnInput(func(ctx app.Context, e app.Event) { p.pw = inputValue(ctx); p.strength = judge(p.pw, p.userName()) }),
					meter(p.strength)),
				field("new-password2", "Repeat the new password", app.Input().Type("password").Value(p.pw2).
					Attr("autocomplete", "new-password").Required(true).
					OnInput(func(ctx app.Context, e app.Event) { p.pw2 = inputValue(ctx) })),
				errorBox(p.err),
				app.If(p.notice != "", func() app.UI { return app.P().Class("notice").Role("status").Text(p.notice) }),
				app.Button().ID("password-submit").Type("submit").Class("primary").Disabled(p.busy).Text("Change password"),
			),
		),
	)
}

func (p *settingsPage) submit(ctx app.Context, e app.Event) {
	e.PreventDefault()
	p.strength = judge(p.pw, p.userName())
	switch {
	case p.strength.err != nil:
		p.err = p.strength.err.Error()
		return
	case p.pw != p.pw2:
		p.err = "The two new passwords differ."
		return
	}
	p.busy, p.err, p.notice = true, "", ""
	cur, next := p.current, p.pw
	ctx.Async(func() {
		err := client().ChangePassword(ctx, cur, next)
		ctx.Dispatch(func(ctx app.Context) {
			p.busy = false
			if err != nil {
				p.err = errorText(err)
				return
			}
			p.current, p.pw, p.pw2, p.strength = "", "", "", strength{}
			p.notice = "Your password was changed. Your other devices were signed out."
		})
	})
}
