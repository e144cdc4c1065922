package app

// The admin page's groups section: groups of users to share with
// (docs/sharing-users.md). A member removed from a group loses access to
// what is shared with the group at once; a member added gets access when
// the owner of each shared item next opens its share dialog and updates it
// (their key must be sealed to them by the owner's browser).

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/communitycube/cube/shared/api"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

type adminGroups struct {
	app.Compo

	ctx     app.Context // the component's own: an event's may outlive its element
	groups  []api.Group
	loaded  bool
	busy    bool
	err     string
	notice  string
	name    string
	members string
	add     map[int64]string // per group: the name typed to add
}

func (g *adminGroups) OnMount(ctx app.Context) {
	g.ctx = ctx
	g.reload(ctx)
}

func (g *adminGroups) reload(ctx app.Context) {
	if app.IsServer {
		return
	}
	ctx.Async(func() {
		var gs []api.Group
		err := client().Do(ctx, http.MethodGet, api.Prefix+"groups", nil, &gs)
		ctx.Dispatch(func(ctx app.Context) {
			g.loaded = true
			if err != nil {
				g.err = "The groups could not be read: " + errorText(err)
				return
			}
			g.groups = gs
		})
	})
}

func (g *adminGroups) do(ctx app.Context, f func(ctx context.Context) error, msg string) {
	if g.busy {
		return
	}
	g.busy, g.err, g.notice = true, "", ""
	ctx = g.ctx
	ctx.Async(func() {
		err := f(ctx)
		ctx.Dispatch(func(ctx app.Context) {
			g.busy = false
			if err != nil {
				g.err = errorText(err)
			} else {
				g.notice = msg
			}
			g.reload(ctx)
		})
	})
}

func splitNames(s string) []string {
	var out []string
	for _, n := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		out = append(out, n)
	}
	return out
}

func (g *adminGroups) create(ctx app.Context, e app.Event) {
	e.PreventDefault()
	req := api.CreateGroupRequest{Name: strings.TrimSpace(g.name), Members: splitNames(g.members)}
	g.do(ctx, func(ctx context.Context) error {
		return client().Do(ctx, http.MethodPost, api.Prefix+"groups", req, nil)
	}, "Group “"+req.Name+"” created.")
	g.name, g.members = "", ""
}

func (g *adminGroups) update(id int64, req api.UpdateGroupRequest, msg string) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		e.PreventDefault()
		g.do(ctx, func(ctx context.Context) error {
			return client().Do(ctx, http.MethodPatch, api.Prefix+"groups/"+strconv.FormatInt(id, 10), req, nil)
		}, msg)
	}
}

func (g *adminGroups) Render() app.UI {
	return app.Div().ID("admin-groups").Class("card").Body(
		app.H2().Text("Groups"),
		app.P().Class("muted").Text("People share files with a group by its name. Someone removed from a group loses access to what is shared with it at once. Someone added gets access once the owner of each shared item opens its “Share with people” dialog and confirms (their browser seals the key to the new member)."),
		errorBox(g.err),
		app.If(g.notice != "", func() app.UI { return app.P().Class("notice").Role("status").Text(g.notice) }),
		app.If(g.loaded && len(g.groups) == 0, func() app.UI { return app.P().Class("muted").Text("No groups yet.") }),
		app.Ul().ID("groups").Class("group-list").Body(
			app.Range(g.groups).Slice(func(i int) app.UI {
				gr := g.groups[i]
				return app.Li().Class("group").DataSet("testid", "group").DataSet("name", gr.Name).Body(
					app.Strong().Text(gr.Name),
					app.Span().Text(" · "),
					app.Range(gr.Members).Slice(func(j int) app.UI {
						m := gr.Members[j]
						return app.Span().Class("group-member").Body(
							app.Text(m.Name),
							app.Button().Class("link small").Aria("label", "Remove "+m.Name+" from "+gr.Name).Text("✕").
								OnClick(g.update(gr.ID, api.UpdateGroupRequest{Remove: []string{m.Name}}, m.Name+" removed from "+gr.Name+".")),
							app.Text(" "),
						)
					}),
					app.Form().Class("inline-form").OnSubmit(func(ctx app.Context, e app.Event) {
						names := splitNames(g.add[gr.ID])
						delete(g.add, gr.ID)
						g.update(gr.ID, api.UpdateGroupRequest{Add: names}, "Added to "+gr.Name+".")(ctx, e)
					}).Body(
						app.Input().Type("text").Class("small-input").Aria("label", "Add to "+gr.Name).Placeholder("user names").
							Value(g.add[gr.ID]).OnInput(func(ctx app.Context, e app.Event) {
							if g.add == nil {
								g.add = map[int64]string{}
							}
							g.add[gr.ID] = inputValue(ctx)
						}),
						app.Button().Type("submit").Class("small").Disabled(g.busy).Text("Add"),
					),
					app.Button().Class("small danger").Disabled(g.busy).Text("Delete group").
						OnClick(func(ctx app.Context, e app.Event) {
							g.do(ctx, func(ctx context.Context) error {
								return client().Do(ctx, http.MethodDelete, api.Prefix+"groups/"+strconv.FormatInt(gr.ID, 10), nil, nil)
							}, "Group “"+gr.Name+"” deleted: what was shared with it no longer is.")
						}),
				)
			}),
		),
		app.Form().ID("group-form").OnSubmit(g.create).Body(
			field("group-name", "New group", app.Input().Type("text").Value(g.name).Required(true).MaxLength(64).
				OnInput(func(ctx app.Context, e app.Event) { g.name = inputValue(ctx) })),
			field("group-members", "Members (user names, separated by commas)", app.Input().Type("text").Value(g.members).
				OnInput(func(ctx app.Context, e app.Event) { g.members = inputValue(ctx) })),
			app.Button().ID("group-submit").Type("submit").Class("small primary-small").Disabled(g.busy).Text("Create group"),
		),
	)
}
