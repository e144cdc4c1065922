package app

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// layout is the frame of every page: header with navigation, the offline
// banner, and the page's content (or a loading/offline placeholder until the
// node has answered).
func layout(s *session, active string, content ...app.UI) app.UI {
	user := s.state.User
	showContent := s.ready()
	return app.Div().Class("shell").Body(
		app.Header().Class("topbar").Body(
			app.A().Class("brand").Href(PathHome).Body(
				app.Img().Src("/web/icon.svg").Alt("").Class("brand-icon"),
				app.Span().Text("CommunityCube"),
			),
			app.If(user != nil, func() app.UI {
				return app.Nav().Class("mainnav").Aria("label", "Main").Body(
					navLink(PathFiles, "Files", active),
					navLink(PathRecent, "Recent", active),
					navLink(PathShared, "Shared with me", active),
					navLink(PathFavorites, "Favourites", active),
					navLink(PathGallery, "Gallery", active),
					navLink(PathLinks, "Links", active),
					navLink(PathTrash, "Trash", active),
					app.If(user.Admin, func() app.UI { return navLink(PathAdmin, "Admin", active) }),
					app.If(user.Admin, func() app.UI { return navLink(PathGrid, "Grid", active) }),
					navLink(PathSettings, "Settings", active),
					app.Button().ID("logout").Class("link").Text("Sign out "+user.Name).OnClick(s.logout),
				)
			}),
		),
		app.If(s.offline, func() app.UI {
			return app.Div().ID("offline-banner").Class("banner offline").Role("status").Body(
				app.Strong().Text("Offline. "),
				app.Span().Text("This CommunityCube node cannot be reached right now. The app keeps running and reconnects by itself."),
			)
		}),
		app.If(s.flash != "", func() app.UI {
			return app.Div().Class("banner error").Role("alert").Text(s.flash)
		}),
		app.Main().ID("main").Class("content").Body(
			app.If(showContent, func() app.UI {
				return app.Div().Class("page").Body(content...)
			}).ElseIf(s.offline, func() app.UI {
				return app.Div().Class("card center").Body(
					app.H1().Text("You are offline"),
					app.P().Text("The app is installed on this device, but your node does not answer. Your files appear again as soon as the connection is back."),
				)
			}).Else(func() app.UI {
				return app.Div().Class("loading").Aria("busy", "true").Text("Loading…")
			}),
		),
	)
}

func navLink(path, label, active string) app.UI {
	a := app.A().Href(path).Text(label)
	if path == active {
		a = a.Class("active").Aria("current", "page")
	}
	return a
}

func (s *session) logout(ctx app.Context, e app.Event) {
	ctx.Async(func() {
		err := client().Logout(ctx)
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				s.flash = "Signing out failed: " + errorText(err)
				return
			}
			lastState = nil
			ctx.Navigate(PathLogin)
		})
	})
}

// field renders a labelled input; the label's for= matches the input's id so
// both people and tests can find it by its label.
func field(id, label string, input app.HTMLInput, hint ...app.UI) app.UI {
	return app.Div().Class("field").Body(
		app.Label().For(id).Text(label),
		input.ID(id).Name(id),
		app.Div().Class("hint").Body(hint...),
	)
}

func errorBox(msg string) app.UI {
	return app.If(msg != "", func() app.UI {
		return app.Div().Class("error").Role("alert").Text(msg)
	})
}

func inputValue(ctx app.Context) string { return ctx.JSSrc().Get("value").String() }
