package app

import (
	"fmt"

	"github.com/communitycube/cube/shared/api"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// adminPage lets administrators create, disable and promote users.
type adminPage struct {
	app.Compo
	sess     session
	users    []api.User
	listErr  string
	name, pw string
	admin    bool
	strength strength
	busy     bool
	err      string
	notice   string
}

func (p *adminPage) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Admin · CommunityCube")
	p.sess.start(ctx, forAdmin)
	p.reload(ctx)
}

func (p *adminPage) OnDismount() { p.sess.stop() }

func (p *adminPage) reload(ctx app.Context) {
	if app.IsServer {
		return
	}
	ctx.Async(func() {
		us, err := client().Users(ctx)
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.listErr = errorText(err)
				return
			}
			p.users, p.listErr = us, ""
		})
	})
}

func (p *adminPage) Render() app.UI {
	me := int64(0)
	if p.sess.state.User != nil {
		me = p.sess.state.User.ID
	}
	return layout(&p.sess, PathAdmin,
		app.H1().Text("Users"),
		errorBox(p.listErr),
		app.Div().Class("table-wrap").Body(
			app.Table().ID("users").Class("table").Body(
				app.THead().Body(app.Tr().Body(
					app.Th().Text("Name"), app.Th().Text("Role"), app.Th().Text("Status"), app.Th().Text("Created"), app.Th().Text(""),
				)),
				app.TBody().Body(
					app.Range(p.users).Slice(func(i int) app.UI {
						u := p.users[i]
						role, status := "User", "Active"
						if u.Admin {
							role = "Administrator"
						}
						if u.Disabled {
							status = "Disabled"
						}
						toggle, adminToggle := "Disable", "Make administrator"
						if u.Disabled {
							toggle = "Enable"
						}
						if u.Admin {
							adminToggle = "Remove administrator"
						}
						return app.Tr().DataSet("user", u.Name).Body(
							app.Td().Text(u.Name),
							app.Td().Text(role),
							app.Td().Class("status").Text(status),
							app.Td().Text(u.CreatedAt.Local().Format("2006-01-02")),
							app.Td().Class("actions").Body(
								app.If(u.ID != me, func() app.UI {
									return app.Div().Body(
										app.Button().Class("small").Text(toggle).OnClick(p.update(u.ID, api.UpdateUserRequest{Disabled: ptr(!u.Disabled)})),
										app.Button().Class("small").Text(adminToggle).OnClick(p.update(u.ID, api.UpdateUserRequest{Admin: ptr(!u.Admin)})),
									)
								}),
							),
						)
					}),
				),
			),
		),
		app.Div().Class("card").Body(
			app.H2().Text("Add a user"),
			app.Form().ID("adduser-form").OnSubmit(p.create).Body(
				field("new-name", "User name", app.Input().Type("text").Value(p.name).Attr("autocomplete", "off").
					Attr("autocapitalize", "none").Required(true).MaxLength(64).
					OnInput(func(ctx app.Context, e app.Event) { p.name = inputValue(ctx); p.strength = judge(p.pw, p.name) })),
				field("new-password", "Initial password", app.Input().Type("password").Value(p.pw).Attr("autocomplete", "new-password").Required(true).
					OnInput(func(ctx app.Context, e app.Event) { p.pw = inputValue(ctx); p.strength = judge(p.pw, p.name) }),
					meter(p.strength)),
				app.Div().Class("field check").Body(
					app.Input().ID("new-admin").Type("checkbox").Checked(p.admin).
						OnChange(func(ctx app.Context, e app.Event) { p.admin = ctx.JSSrc().Get("checked").Bool() }),
					app.Label().For("new-admin").Text("Administrator"),
				),
				errorBox(p.err),
				app.If(p.notice != "", func() app.UI { return app.P().Class("notice").Role("status").Text(p.notice) }),
				app.Button().ID("adduser-submit").Type("submit").Class("primary").Disabled(p.busy).Text("Add user"),
			),
		),
		&adminMail{},
		&adminGroups{},
	)
}

func ptr[T any](v T) *T { return &v }

func (p *adminPage) update(id int64, req api.UpdateUserRequest) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		ctx.Async(func() {
			_, err := client().UpdateUser(ctx, id, req)
			ctx.Dispatch(func(ctx app.Context) {
				if err != nil {
					p.listErr = errorText(err)
					return
				}
				p.listErr = ""
				p.reload(ctx)
			})
		})
	}
}

func (p *adminPage) create(ctx app.Context, e app.Event) {
	e.PreventDefault()
	p.strength = judge(p.pw, p.name)
	if p.strength.err != nil {
		p.err = p.strength.err.Error()
		return
	}
	p.busy, p.err, p.notice = true, "", ""
	req := api.CreateUserRequest{Name: p.name, Password: p.pw, Admin: p.admin}
	ctx.Async(func() {
		u, err := client().CreateUser(ctx, req)
		ctx.Dispatch(func(ctx app.Context) {
			p.busy = false
			if err != nil {
				p.err = errorText(err)
				return
			}
			p.name, p.pw, p.admin, p.strength = "", "", false, strength{}
			p.notice = fmt.Sprintf("User %s was created. Give them their password in person or through a channel you trust.", u.Name)
			p.reload(ctx)
		})
	})
}
