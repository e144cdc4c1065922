package app

import (
	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/drive"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// recoveryKeyCard shows a recovery key once, right after it was made: it is
// stored nowhere, so the user must save it before going on.
type recoveryKeyCard struct {
	app.Compo
	Key    string
	OnDone func(ctx app.Context)
	saved  bool
	copied bool
}

func (c *recoveryKeyCard) Render() app.UI {
	return app.Div().ID("recovery-key-card").Class("card narrow recovery-key").Role("dialog").Aria("labelledby", "recovery-key-title").Body(
		app.H1().ID("recovery-key-title").Text("Save your recovery key"),
		app.P().Text("This recovery key is the only way back into your files if you forget your password. It is shown this once and is stored nowhere: write it down or keep it in a password manager."),
		app.P().Class("warning").Role("note").Body(
			app.Strong().Text("If you forget your password and lose this key, your files are lost. "),
			app.Span().Text("Nobody, not even the administrator of this node, can open them."),
		),
		app.Code().ID("recovery-key").Class("recovery-key-value").Text(c.Key),
		app.Div().Class("actions").Body(
			app.Button().ID("recovery-key-copy").Type("button").Text(map[bool]string{false: "Copy", true: "Copied"}[c.copied]).OnClick(c.copy),
		),
		app.Label().Class("check").Body(
			app.Input().ID("recovery-key-saved").Type("checkbox").Checked(c.saved).
				OnChange(func(ctx app.Context, e app.Event) { c.saved = ctx.JSSrc().Get("checked").Bool() }),
			app.Span().Text(" I have saved my recovery key"),
		),
		app.Button().ID("recovery-key-done").Type("button").Class("primary").Disabled(!c.saved).Text("Continue").
			OnClick(func(ctx app.Context, e app.Event) {
				if c.saved && c.OnDone != nil {
					c.OnDone(ctx)
				}
			}),
	)
}

func (c *recoveryKeyCard) copy(ctx app.Context, e app.Event) {
	clip := app.Window().Get("navigator").Get("clipboard")
	if clip.Truthy() {
		clip.Call("writeText", c.Key)
		c.copied = true
	}
}

// recoverForm starts over with a lost password: name, recovery key and a
// new password; the keys are re-wrapped under the new password in the
// browser (drive.Recover) and the user is signed in.
type recoverForm struct {
	app.Compo
	OnDone    func(ctx app.Context, d *drive.Drive, sealed string, st api.State)
	OnCancel  func(ctx app.Context)
	name, key string
	pw, pw2   string
	strength  strength
	busy      bool
	err       string
}

func (f *recoverForm) Render() app.UI {
	return app.Div().ID("recover").Class("card narrow").Body(
		app.H1().Text("Recover your account"),
		app.P().Text("Enter your recovery key and choose a new password. Your files stay readable: the key unlocks them in this browser, the node never sees it."),
		app.Form().ID("recover-form").OnSubmit(f.submit).Body(
			field("recover-name", "User name", app.Input().Type("text").Value(f.name).
				Attr("autocomplete", "username").Attr("autocapitalize", "none").Required(true).
				OnInput(func(ctx app.Context, e app.Event) { f.name = inputValue(ctx); f.strength = judge(f.pw, f.name) })),
			field("recover-key", "Recovery key", app.Input().Type("text").Value(f.key).
				Attr("autocomplete", "off").Attr("autocapitalize", "none").Attr("spellcheck", "false").Required(true).
				OnInput(func(ctx app.Context, e app.Event) { f.key = inputValue(ctx) })),
			field("recover-password", "New password", app.Input().Type("password").Value(f.pw).
				Attr("autocomplete", "new-password").Required(true).
				OnInput(func(ctx app.Context, e app.Event) { f.pw = inputValue(ctx); f.strength = judge(f.pw, f.name) }),
				meter(f.strength)),
			field("recover-password2", "Repeat the new password", app.Input().Type("password").Value(f.pw2).
				Attr("autocomplete", "new-password").Required(true).
				OnInput(func(ctx app.Context, e app.Event) { f.pw2 = inputValue(ctx) })),
			errorBox(f.err),
			app.Div().Class("actions").Body(
				app.Button().ID("recover-submit").Type("submit").Class("primary").Disabled(f.busy).Text("Set new password"),
				app.Button().ID("recover-cancel").Type("button").Class("link").Text("Back to sign-in").
					OnClick(func(ctx app.Context, e app.Event) {
						if f.OnCancel != nil {
							f.OnCancel(ctx)
						}
					}),
			),
		),
	)
}

func (f *recoverForm) submit(ctx app.Context, e app.Event) {
	e.PreventDefault()
	f.strength = judge(f.pw, f.name)
	switch {
	case f.strength.err != nil:
		f.err = f.strength.err.Error()
		return
	case f.pw != f.pw2:
		f.err = "The two passwords differ."
		return
	}
	f.busy, f.err = true, ""
	name, key, pw := f.name, f.key, f.pw
	ctx.Async(func() {
		d, err := drive.Recover(ctx, client(), name, key, pw)
		sealed := ""
		var st api.State
		if err == nil {
			// Recover signed in: the new session's state and CSRF token.
			st, _ = client().State(ctx)
			sealed = prepareDrive(ctx, d)
		}
		ctx.Dispatch(func(ctx app.Context) {
			f.busy = false
			if err != nil {
				f.err = errorText(err)
				return
			}
			f.key, f.pw, f.pw2 = "", "", ""
			if f.OnDone != nil {
				f.OnDone(ctx, d, sealed, st)
			}
		})
	})
}
