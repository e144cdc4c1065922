package app

// The admin page's mail section: the node's SMTP settings (used to send
// share links by e-mail) and a test mail. The SMTP password is write-only:
// the node never gives it back, and an empty field keeps the stored one.

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/communitycube/cube/shared/api"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

type adminMail struct {
	app.Compo
	ctx app.Context // its own: Dispatch through a clicked element that is gone is dropped

	s        api.MailSettings
	port     string
	loaded   bool
	busy     bool
	err      string
	notice   string
	testTo   string
	testBusy bool
	testErr  string
	testOK   string
}

func (m *adminMail) OnMount(ctx app.Context) {
	m.ctx = ctx
	if app.IsServer {
		return
	}
	ctx.Async(func() {
		var s api.MailSettings
		err := client().Do(ctx, http.MethodGet, api.Prefix+"mail/settings", nil, &s)
		ctx.Dispatch(func(ctx app.Context) {
			m.loaded = true
			if err != nil {
				m.err = "The mail settings could not be read: " + errorText(err)
				return
			}
			m.set(s)
		})
	})
}

func (m *adminMail) set(s api.MailSettings) {
	if s.TLS == "" {
		s.TLS = "starttls"
	}
	s.Password = ""
	m.s = s
	m.port = ""
	if s.Port > 0 {
		m.port = strconv.Itoa(s.Port)
	}
}

func (m *adminMail) Render() app.UI {
	text := func(id, label string, v *string, typ, auto string, hint ...app.UI) app.UI {
		return field(id, label, app.Input().Type(typ).Value(*v).Attr("autocomplete", auto).Attr("autocapitalize", "none").
			OnInput(func(ctx app.Context, e app.Event) { *v = inputValue(ctx); m.err, m.notice = "", "" }), hint...)
	}
	pwHint := "Leave empty if the server needs none."
	if m.s.HasPassword {
		pwHint = "A password is stored: leave empty to keep it."
	}
	return app.Section().ID("admin-mail").Class("card").Body(
		app.H2().Text("Mail"),
		app.P().Class("muted").Text("With these settings the node sends share links by e-mail for its users. Without them, users send links from their own mail program. Mails from the node never carry a link's key."),
		// The fields wait for the stored settings: typed into before they
		// came, they were overwritten by them (and saved half empty).
		app.Form().ID("mail-form").OnSubmit(m.save).Body(app.FieldSet().Class("plain").Disabled(!m.loaded).Body(
			text("mail-host", "SMTP server", &m.s.Host, "text", "off"),
			text("mail-port", "Port", &m.port, "number", "off", app.Span().Text("Usually 587 (STARTTLS) or 465 (TLS).")),
			app.Div().Class("field").Body(
				app.Label().For("mail-tls").Text("Encryption"),
				app.Select().ID("mail-tls").OnChange(func(ctx app.Context, e app.Event) { m.s.TLS = inputValue(ctx) }).Body(
					app.Option().Value("starttls").Selected(m.s.TLS == "starttls").Text("STARTTLS"),
					app.Option().Value("tls").Selected(m.s.TLS == "tls").Text("TLS"),
					app.Option().Value("none").Selected(m.s.TLS == "none").Text("None (only for a relay on this machine)"),
				),
			),
			text("mail-user", "User name (optional)", &m.s.Username, "text", "off"),
			text("mail-password", "Password", &m.s.Password, "password", "new-password", app.Span().Text(pwHint)),
			app.If(m.s.HasPassword, func() app.UI {
				return app.Div().Class("field check").Body(
					app.Input().ID("mail-clear-password").Type("checkbox").Checked(m.s.ClearPassword).
						OnChange(func(ctx app.Context, e app.Event) { m.s.ClearPassword = ctx.JSSrc().Get("checked").Bool() }),
					app.Label().For("mail-clear-password").Text("Remove the stored password"),
				)
			}),
			text("mail-from", "Sender address", &m.s.From, "email", "off"),
			errorBox(m.err),
			app.If(m.notice != "", func() app.UI { return app.P().ID("mail-notice").Class("notice").Role("status").Text(m.notice) }),
			app.Button().ID("mail-save").Type("submit").Class("primary").Disabled(m.busy || !m.loaded).Text("Save mail settings"),
		)),
		app.Form().ID("mail-test-form").Class("mail-test").OnSubmit(m.test).Body(
			field("mail-test-to", "Send a test mail to", app.Input().Type("email").Value(m.testTo).Attr("autocomplete", "email").
				OnInput(func(ctx app.Context, e app.Event) { m.testTo = inputValue(ctx); m.testErr, m.testOK = "", "" })),
			errorBox(m.testErr),
			app.If(m.testOK != "", func() app.UI { return app.P().ID("mail-test-ok").Class("notice").Role("status").Text(m.testOK) }),
			app.Button().ID("mail-test").Type("submit").Disabled(m.testBusy).Text("Send test mail"),
		),
	)
}

func (m *adminMail) save(ctx app.Context, e app.Event) {
	e.PreventDefault()
	ctx = m.ctx
	s := m.s
	s.Host = strings.TrimSpace(s.Host)
	s.From = strings.TrimSpace(s.From)
	port, err := strconv.Atoi(strings.TrimSpace(m.port))
	if err != nil || port <= 0 || port > 65535 {
		m.err = "The port must be a number from 1 to 65535."
		return
	}
	s.Port = port
	s.HasPassword = false
	m.busy, m.err, m.notice = true, "", ""
	ctx.Async(func() {
		var out api.MailSettings
		err := client().Do(ctx, http.MethodPut, api.Prefix+"mail/settings", s, &out)
		ctx.Dispatch(func(ctx app.Context) {
			m.busy = false
			if err != nil {
				m.err = "The mail settings were not saved: " + errorText(err)
				return
			}
			m.set(out)
			m.notice = "The mail settings are saved."
		})
	})
}

func (m *adminMail) test(ctx app.Context, e app.Event) {
	e.PreventDefault()
	ctx = m.ctx
	to := strings.TrimSpace(m.testTo)
	if to == "" {
		m.testErr = "Type the address to send the test mail to."
		return
	}
	m.testBusy, m.testErr, m.testOK = true, "", ""
	ctx.Async(func() {
		err := client().Do(ctx, http.MethodPost, api.Prefix+"mail/test", api.MailTestRequest{To: to}, nil)
		ctx.Dispatch(func(ctx app.Context) {
			m.testBusy = false
			if err != nil {
				m.testErr = "The test mail was not sent: " + errorText(err)
				return
			}
			m.testOK = "A test mail was sent to " + to + "."
		})
	})
}
