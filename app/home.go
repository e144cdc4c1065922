package app

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// homePage only decides where to go: setup, sign-in or the files (see
// session.route).
type homePage struct {
	app.Compo
	sess session
}

func (p *homePage) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("CommunityCube")
	p.sess.start(ctx, forSignedIn)
}

func (p *homePage) OnDismount() { p.sess.stop() }

func (p *homePage) Render() app.UI { return layout(&p.sess, "") }
