package app

import (
	"fmt"
	"github.com/communitycube/cube/shared/units"
	"time"

	"github.com/communitycube/cube/shared/api"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// gridPage shows administrators how the node sees the storage grid: its
// roles, the servers it knows and their space, and the helper's work.
type gridPage struct {
	app.Compo
	sess    session
	status  *api.GridStatus
	err     string
	stopped bool
}

func (p *gridPage) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Grid · CommunityCube")
	p.sess.start(ctx, forAdmin)
	p.stopped = false
	p.poll(ctx)
}

func (p *gridPage) OnDismount() {
	p.sess.stop()
	p.stopped = true
}

// poll refreshes the status every few seconds while the page is open.
func (p *gridPage) poll(ctx app.Context) {
	if app.IsServer || p.stopped {
		return
	}
	ctx.Async(func() {
		st, err := client().GridStatus(ctx)
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.err = errorText(err)
			} else {
				p.status, p.err = &st, ""
			}
			ctx.After(5*time.Second, p.poll)
		})
	})
}

func (p *gridPage) Render() app.UI {
	return layout(&p.sess, PathGrid,
		app.H1().Text("Grid"),
		errorBox(p.err),
		app.If(p.status != nil, func() app.UI { return p.render(p.status) }),
	)
}

func (p *gridPage) render(s *api.GridStatus) app.UI {
	connected := 0
	for _, sv := range s.Servers {
		if sv.Connected {
			connected++
		}
	}
	return app.Div().Body(
		app.Div().Class("card").Body(
			app.P().Body(app.Strong().Text("This node: "), app.Code().Class("wrap").Text(s.NodeID)),
			app.P().Text(fmt.Sprintf("Roles: %s. Uploads are %d-of-%d and must reach %d servers.",
				joinWords(s.Roles), s.Encoding.K, s.Encoding.N, s.Encoding.Happy)),
			app.P().ID("grid-summary").Text(fmt.Sprintf("%d of %d known storage servers connected.", connected, len(s.Servers))),
			app.If(s.Storage != nil, func() app.UI {
				ro := ""
				if s.Storage.ReadOnly {
					ro = " (read-only)"
				}
				return app.P().Text(fmt.Sprintf("Own storage: %s available, %s reserved%s.",
					units.Bytes(s.Storage.AvailableSpace), units.Bytes(s.Storage.ReservedSpace), ro))
			}),
			app.If(s.Helper != nil, func() app.UI {
				return app.P().ID("helper-status").Text(fmt.Sprintf("Helper: %d uploads in progress, %s staged, %s being placed, %d completed.",
					s.Helper.ActiveUploads, units.Bytes(s.Helper.StagedBytes), units.Bytes(s.Helper.PlacingBytes), s.Helper.Completed))
			}),
		),
		app.H2().Text("Storage servers"),
		app.Div().Class("table-wrap").Body(
			app.Table().ID("servers").Class("table").Body(
				app.THead().Body(app.Tr().Body(
					app.Th().Text("Server"), app.Th().Text("Address"), app.Th().Text("Space"), app.Th().Text("State"),
				)),
				app.TBody().Body(app.Range(s.Servers).Slice(func(i int) app.UI {
					sv := s.Servers[i]
					name := sv.Nickname
					if name == "" {
						name = shortID(sv.NodeID)
					}
					if sv.Self {
						name += " (this node)"
					}
					state := "connected"
					if !sv.Connected {
						state = "not connected"
						if sv.LastError != "" {
							state += ": " + sv.LastError
						}
					}
					return app.Tr().DataSet("server", sv.NodeID).Body(
						app.Td().Text(name),
						app.Td().Text(sv.Address),
						app.Td().Text(units.Bytes(sv.AvailableSpace)),
						app.Td().Class("status").Text(state),
					)
				})),
			),
		),
		app.H2().Text("Introducers"),
		app.If(len(s.Introducers) == 0, func() app.UI {
			return app.P().Class("muted").Text("None: this node is its own grid.")
		}),
		app.Ul().Body(app.Range(s.Introducers).Slice(func(i int) app.UI {
			in := s.Introducers[i]
			state := "connected"
			if !in.Connected {
				state = "not connected"
				if in.LastError != "" {
					state += ": " + in.LastError
				}
			}
			return app.Li().Text(in.Address + " — " + state)
		})),
	)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12] + "…"
	}
	return id
}

func joinWords(ws []string) string {
	switch len(ws) {
	case 0:
		return "none"
	case 1:
		return ws[0]
	}
	out := ws[0]
	for _, w := range ws[1 : len(ws)-1] {
		out += ", " + w
	}
	return out + " and " + ws[len(ws)-1]
}
