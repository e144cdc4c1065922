package app

import (
	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/drive"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// setupPage creates the first administrator. It is reachable only while the
// node has none; afterwards the node refuses setup for good.
type setupPage struct {
	app.Compo
	sess          session
	name, pw, pw2 string
	strength      strength
	busy          bool
	err           string
	// The administrator's keys are made right after setup; the recovery
	// key is shown before the page moves on.
	fresh  *drive.Fresh
	d      *drive.Drive
	sealed string
	st     api.State
}

func (p *setupPage) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Set up CommunityCube")
	p.sess.start(ctx, forSetup)
}

func (p *setupPage) OnDismount() { p.sess.stop() }

func (p *setupPage) Render() app.UI {
	if p.fresh != nil {
		return layout(&session{loaded: true}, "", &recoveryKeyCard{Key: p.fresh.RecoveryKey, OnDone: func(ctx app.Context) {
			installDrive(ctx, p.d, p.sealed)
			p.sess.signedIn(p.st)
			p.fresh, p.d, p.sealed = nil, nil, ""
			ctx.Navigate(PathFiles)
		}})
	}
	return layout(&p.sess, "",
		app.Div().Class("card narrow").Body(
			app.H1().Text("Welcome to CommunityCube"),
			app.P().Text("Create the administrator of this node. Choose a strong password: it protects everything stored here."),
			app.Form().ID("setup-form").OnSubmit(p.submit).Body(
				field("name", "Administrator user name", app.Input().Type("text").Value(p.name).
					Attr("autocomplete", "username").Attr("autocapitalize", "none").Required(true).MaxLength(64).
					OnInput(func(ctx app.Context, e app.Event) { p.name = inputValue(ctx); p.strength = judge(p.pw, p.name) })),
				field("password", "Password", app.Input().Type("password").Value(p.pw).
					Attr("autocomplete", "new-password").Required(true).
					OnInput(func(ctx app.Context, e app.Event) { p.pw = inputValue(ctx); p.strength = judge(p.pw, p.name) }),
					meter(p.strength)),
				field("password2", "Repeat the password", app.Input().Type("password").Value(p.pw2).
					Attr("autocomplete", "new-password").Required(true).
					OnInput(func(ctx app.Context, e app.Event) { p.pw2 = inputValue(ctx) })),
				errorBox(p.err),
				app.Button().ID("setup-submit").Type("submit").Class("primary").Disabled(p.busy).Text("Create administrator"),
			),
		),
	)
}

func (p *setupPage) submit(ctx app.Context, e app.Event) {
	e.PreventDefault()
	p.strength = judge(p.pw, p.name)
	switch {
	case p.strength.err != nil:
		p.err = p.strength.err.Error()
		return
	case p.pw != p.pw2:
		p.err = "The two passwords differ."
		return
	}
	p.busy, p.err = true, ""
	name, pw := p.name, p.pw
	ctx.Async(func() {
		st, err := client().Setup(ctx, name, pw)
		var (
			d      *drive.Drive
			sealed string
			fresh  *drive.Fresh
			uerr   error
		)
		if err == nil {
			d, sealed, fresh, uerr = unlockWithPassword(ctx, pw)
		}
		ctx.Dispatch(func(ctx app.Context) {
			p.busy = false
			if err != nil {
				p.err = errorText(err)
				return
			}
			p.pw, p.pw2 = "", ""
			if uerr == nil {
				if fresh != nil {
					p.fresh, p.d, p.sealed, p.st = fresh, d, sealed, st
					return
				}
				installDrive(ctx, d, sealed)
			}
			p.sess.signedIn(st)
			ctx.Navigate(PathFiles)
		})
	})
}
