package app

import (
	"strings"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/drive"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

type loginPage struct {
	app.Compo
	sess     session
	name, pw string
	busy     bool
	err      string
	// recovering: the "Forgot password?" form is shown.
	recovering bool
	// After sign-in with keys made just now: the recovery key is shown
	// before the page moves on (the session state is held back meanwhile).
	fresh  *drive.Fresh
	d      *drive.Drive
	sealed string
	st     api.State
	next   string
}

func (p *loginPage) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Sign in · CommunityCube")
	p.sess.start(ctx, forSignedOut)
}

func (p *loginPage) OnDismount() { p.sess.stop() }

func (p *loginPage) Render() app.UI {
	if p.fresh != nil {
		return layout(&session{loaded: true}, "", &recoveryKeyCard{Key: p.fresh.RecoveryKey, OnDone: p.keySaved})
	}
	if p.recovering {
		return layout(&p.sess, "", &recoverForm{
			OnCancel: func(ctx app.Context) { p.recovering = false },
			OnDone: func(ctx app.Context, d *drive.Drive, sealed string, st api.State) {
				installDrive(ctx, d, sealed)
				if st.User != nil {
					p.sess.signedIn(st)
				}
				ctx.Navigate(PathFiles)
			},
		})
	}
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
			app.P().Body(
				app.Button().ID("forgot-password").Type("button").Class("link").Text("Forgot password?").
					OnClick(func(ctx app.Context, e app.Event) { p.recovering, p.err = true, "" }),
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
		var (
			d      *drive.Drive
			sealed string
			fresh  *drive.Fresh
			uerr   error
		)
		if err == nil && !(st.User != nil && st.User.MustChangePassword) {
			d, sealed, fresh, uerr = unlockWithPassword(ctx, pw)
		}
		ctx.Dispatch(func(ctx app.Context) {
			p.busy = false
			if err != nil {
				p.err = errorText(err)
				return
			}
			p.pw = ""
			if (st.User != nil && st.User.MustChangePassword) || mustChangePassword(uerr) {
				p.sess.signedIn(st)
				ctx.Navigate(PathSettings + "?must-change=1")
				return
			}
			if uerr == nil {
				if fresh != nil {
					p.fresh, p.d, p.sealed, p.st, p.next = fresh, d, sealed, st, next
					return
				}
				installDrive(ctx, d, sealed)
			}
			// If unlocking failed, the page asks the password again.
			p.sess.signedIn(st)
			ctx.Navigate(next)
		})
	})
}

func (p *loginPage) keySaved(ctx app.Context) {
	installDrive(ctx, p.d, p.sealed)
	p.sess.signedIn(p.st)
	next := p.next
	p.fresh, p.d, p.sealed = nil, nil, ""
	ctx.Navigate(next)
}
