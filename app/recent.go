package app

import (
	"context"

	"github.com/communitycube/cube/shared/drive"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// recentPage lists the files changed most recently.
type recentPage struct {
	app.Compo
	itemsView
}

func (p *recentPage) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Recent · CommunityCube")
	p.start(ctx, "recent", func(ctx context.Context, d *drive.Drive) ([]drive.Item, error) { return d.Recent(ctx) })
}

func (p *recentPage) OnDismount() { p.sess.stop() }

func (p *recentPage) Render() app.UI {
	return layout(&p.sess, PathRecent, fmNeedDrive(func() app.UI {
		return p.render("Recent", "Files you stored or changed lately appear here.", false)
	}))
}
