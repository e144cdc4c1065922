package app

import (
	"fmt"
	"github.com/communitycube/cube/shared/units"
	"net/url"
	"strconv"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/drive"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// settingsPage holds the signed-in user's own settings: password, recovery
// key, file preferences, and storage use.
type settingsPage struct {
	app.Compo
	sess             session
	current, pw, pw2 string
	strength         strength
	busy             bool
	err, notice      string
	// mustChange: sent here because an administrator created the account.
	mustChange bool
	// fresh: keys made right after the first own password, or a new
	// recovery key: shown once.
	fresh *drive.Fresh
	d     *drive.Drive
	seal  string
}

func (p *settingsPage) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Settings · CommunityCube")
	p.mustChange = ctx.Page().URL().Query().Get("must-change") != ""
	p.sess.start(ctx, forSignedIn)
}

func (p *settingsPage) OnDismount() { p.sess.stop() }

func (p *settingsPage) userName() string {
	if u := p.sess.state.User; u != nil {
		return u.Name
	}
	return ""
}

func (p *settingsPage) mustChangeNow() bool {
	u := p.sess.state.User
	return p.mustChange || (u != nil && u.MustChangePassword)
}

func (p *settingsPage) Render() app.UI {
	if p.fresh != nil {
		return layout(&p.sess, PathSettings,
			app.If(p.notice != "", func() app.UI { return app.P().Class("notice").Role("status").Text(p.notice) }),
			&recoveryKeyCard{Key: p.fresh.RecoveryKey, OnDone: func(ctx app.Context) {
				if p.d != nil {
					installDrive(ctx, p.d, p.seal)
				}
				p.fresh, p.d, p.seal = nil, nil, ""
				ctx.Navigate(PathFiles)
			}})
	}
	d := currentDrive()
	must := p.mustChangeNow()
	return layout(&p.sess, PathSettings,
		app.H1().Text("Settings"),
		app.If(must, func() app.UI {
			return app.Div().ID("must-change-password").Class("banner notice").Body(
				app.Strong().Text("Choose your own password. "),
				app.Span().Text("An administrator created this account and knows its first password. Your files get their encryption keys once you have chosen a password that only you know."),
			)
		}),
		app.Div().Class("card").Body(
			app.H2().Text("Change password"),
			app.P().Class("muted").Text("Signed in as "+p.userName()+". Changing the password signs out your other devices. Your files stay readable: their keys are re-wrapped with the new password in this browser."),
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
		app.If(!must && d == nil, func() app.UI {
			return app.Div().Class("card").Body(app.H2().Text("Files"), unlockPrompt())
		}).ElseIf(!must, func() app.UI { return &fileSettings{} }),
	)
}

// fileSettings are the settings that need the unlocked keys: storage use,
// file preferences, the recovery key. Mounted once the drive is unlocked.
type fileSettings struct {
	app.Compo
	files       api.FileSettings
	filesLoaded bool
	usage       *api.Usage
	filesBusy   bool
	filesErr    string
	filesNotice string
	fresh       string // a new recovery key, shown once
}

func (p *fileSettings) OnMount(ctx app.Context) {
	if d := currentDrive(); d != nil {
		p.fetchFiles(ctx, d)
	}
}

func (p *fileSettings) Render() app.UI {
	if p.fresh != "" {
		return &recoveryKeyCard{Key: p.fresh, OnDone: func(ctx app.Context) { p.fresh = "" }}
	}
	return app.Div().Body(
		app.Div().ID("usage").Class("card").Body(
			app.H2().Text("Storage"),
			app.If(p.usage != nil, func() app.UI {
				u := *p.usage
				quota := "no quota"
				if u.Quota > 0 {
					quota = "of " + units.Bytes(u.Quota) + fmt.Sprintf(" (%d%%)", u.Used*100/u.Quota)
				}
				return app.Div().Body(
					app.P().ID("usage-text").Text("Using "+units.Bytes(u.Used)+" "+quota+", of which "+units.Bytes(u.Trash)+" in the trash."),
					app.If(u.Quota > 0, func() app.UI {
						return app.Progress().ID("usage-bar").Max(u.Quota).Value(min(u.Used, u.Quota))
					}),
				)
			}).Else(func() app.UI { return app.P().Class("muted").Text("Loading…") }),
		),
		app.Div().Class("card").Body(
			app.H2().Text("Files"),
			// The fields wait for the stored settings, which would
			// overwrite what was typed before they came.
			app.Form().ID("file-settings-form").OnSubmit(p.saveFiles).Body(app.FieldSet().Class("plain").Disabled(!p.filesLoaded).Body(
				app.Div().Class("field").Body(
					app.Label().For("default-mode").Text("New files and folders"),
					app.Select().ID("default-mode").Name("default-mode").Body(
						app.Option().Value(api.ModeSecure).Selected(p.files.DefaultMode != api.ModeStandard).Text("Secure: only your password opens them"),
						app.Option().Value(api.ModeStandard).Selected(p.files.DefaultMode == api.ModeStandard).Text("Standard: the node can help (previews, sharing, recovery by the administrator)"),
					).OnChange(func(ctx app.Context, e app.Event) { p.files.DefaultMode = inputValue(ctx) }),
				),
				field("trash-days", "Empty the trash automatically after (days, 0: never)", app.Input().Type("number").Min(0).Max(3650).
					Value(strconv.Itoa(p.files.TrashDays)).
					OnInput(func(ctx app.Context, e app.Event) { p.files.TrashDays, _ = strconv.Atoi(inputValue(ctx)) })),
				field("upload-rate", "Upload speed limit (KB/s, 0: none)", app.Input().Type("number").Min(0).
					Value(strconv.Itoa(p.files.UploadRateLimit)).
					OnInput(func(ctx app.Context, e app.Event) { p.files.UploadRateLimit, _ = strconv.Atoi(inputValue(ctx)) })),
				errorBox(p.filesErr),
				app.If(p.filesNotice != "", func() app.UI { return app.P().Class("notice").Role("status").Text(p.filesNotice) }),
				app.Button().ID("file-settings-submit").Type("submit").Class("primary").Disabled(p.filesBusy || !p.filesLoaded).Text("Save"),
			)),
		),
		app.Div().Class("card").Body(
			app.H2().Text("Recovery key"),
			app.P().Text("Lost your recovery key, or fear someone saw it? Make a new one: the old one stops working."),
			app.Button().ID("new-recovery-key").Type("button").Disabled(p.filesBusy).Text("Make a new recovery key").OnClick(p.newRecoveryKey),
		),
		&keyFingerprint{},
	)
}

func (p *fileSettings) fetchFiles(ctx app.Context, d *drive.Drive) {
	ctx.Async(func() {
		s, err := d.Settings(ctx)
		u, uerr := d.Usage(ctx)
		ctx.Dispatch(func(ctx app.Context) {
			if err == nil {
				p.files, p.filesLoaded = s, true
			} else {
				p.filesErr = errorText(err)
			}
			if uerr == nil {
				p.usage = &u
			}
		})
	})
}

func (p *fileSettings) saveFiles(ctx app.Context, e app.Event) {
	e.PreventDefault()
	d := currentDrive()
	if d == nil {
		return
	}
	p.filesBusy, p.filesErr, p.filesNotice = true, "", ""
	s := p.files
	ctx.Async(func() {
		err := d.SetSettings(ctx, s)
		ctx.Dispatch(func(ctx app.Context) {
			p.filesBusy = false
			if err != nil {
				p.filesErr = errorText(err)
				return
			}
			p.filesNotice = "Saved."
		})
	})
}

func (p *fileSettings) newRecoveryKey(ctx app.Context, e app.Event) {
	d := currentDrive()
	if d == nil {
		return
	}
	p.filesBusy, p.filesErr = true, ""
	ctx.Async(func() {
		key, err := d.NewRecoveryKey(ctx)
		ctx.Dispatch(func(ctx app.Context) {
			p.filesBusy = false
			if err != nil {
				p.filesErr = errorText(err)
				return
			}
			p.fresh = key
		})
	})
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
	d := currentDrive()
	must := p.mustChangeNow()
	if d == nil && !must {
		p.err = "Unlock your files below first: the password also protects their keys, which are re-wrapped with the new one."
		return
	}
	p.busy, p.err, p.notice = true, "", ""
	cur, next := p.current, p.pw
	ctx.Async(func() {
		var (
			err    error
			nd     *drive.Drive
			sealed string
			fresh  *drive.Fresh
		)
		if d != nil {
			// One request: the login password and the wrapped keys change
			// together. The keys stay the same; seal them again in case
			// the session changed with the password.
			err = d.ChangePassword(ctx, cur, next)
			if err == nil {
				client().State(ctx) // the CSRF token, should the session have changed
				nd, sealed = d, prepareDrive(ctx, d)
			}
		} else {
			err = client().ChangePassword(ctx, cur, next)
			if err == nil && must {
				// The first own password: the keys are made now.
				nd, sealed, fresh, err = unlockWithPassword(ctx, next)
			}
		}
		var st api.State
		if err == nil {
			st, _ = client().State(ctx) // the CSRF token changed with the session
		}
		ctx.Dispatch(func(ctx app.Context) {
			p.busy = false
			if err != nil {
				p.err = errorText(err)
				return
			}
			if st.User != nil {
				p.sess.signedIn(st)
			}
			p.current, p.pw, p.pw2, p.strength = "", "", "", strength{}
			p.notice = "Your password was changed. Your other devices were signed out."
			if must {
				p.mustChange = false
				ctx.Page().ReplaceURL(&url.URL{Path: PathSettings})
			}
			if nd != nil {
				if fresh != nil {
					p.fresh, p.d, p.seal = fresh, nd, sealed
				} else {
					installDrive(ctx, nd, sealed)
				}
			}
		})
	})
}
