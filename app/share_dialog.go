package app

// The file manager's "Share link…" and "Upload link…" dialogs: make a link
// to a file or folder (key in the link, key sent separately, or a
// password; expiry; download limit) or an upload link into a folder (file
// drop: limits, expiry, optional password), then show its address to copy
// and send it by e-mail: through the node's SMTP settings when it has
// them (that mail never carries the key), else with the user's own mail
// program (mailto:).

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/drive"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

type shareDialog struct {
	// ctx is the files page's: go-app drops a Dispatch whose element (the
	// button or form that asked) is gone by the time the answer comes.
	ctx    app.Context
	kind   string // "", "link" or "drop"
	target drive.Item

	mode     string // api.KeyInURL, api.KeySeparate, api.KeyPassword
	password string
	expires  string // yyyy-mm-dd
	maxDl    string
	maxTotal string // MB
	maxFile  string // MB
	maxFiles string
	busy     bool
	err      string

	link      *drive.Link
	mail      api.MailStatus
	mailKnown bool
	to        string
	message   string
	mailBusy  bool
	mailErr   string
	notice    string
}

// openShareLink and openDropLink are the selection bar's entries. They read
// the selection when clicked: go-app keeps the first handler of an element
// whose handler code is the same, so a closure over the item of one render
// would act on a stale item later.
func (p *filesPage) openShareLink(ctx app.Context, e app.Event) {
	if items := p.selected(); len(items) == 1 {
		p.share.open(p.ctx, "link", items[0])
	}
}

func (p *filesPage) openDropLink(ctx app.Context, e app.Event) {
	if items := p.selected(); len(items) == 1 && items[0].Folder {
		p.share.open(p.ctx, "drop", items[0])
	}
}

func (s *shareDialog) open(ctx app.Context, kind string, it drive.Item) {
	*s = shareDialog{ctx: ctx, kind: kind, target: it, mode: api.KeyInURL}
	d := currentDrive()
	if d == nil || app.IsServer {
		return
	}
	ctx.Async(func() {
		st, err := d.MailStatus(ctx)
		ctx.Dispatch(func(ctx app.Context) {
			if err == nil {
				s.mail, s.mailKnown = st, true
			}
		})
	})
}

func (s *shareDialog) close() { *s = shareDialog{} }

func (s *shareDialog) render() app.UI {
	if s.kind == "" {
		return app.Div().Class("dialog-none").Hidden(true)
	}
	closeFn := func(ctx app.Context, e app.Event) { s.close() }
	title := "Share “" + s.target.Name + "”"
	if s.kind == "drop" {
		title = "Upload link to “" + s.target.Name + "”"
	}
	var body app.UI
	switch {
	case s.link != nil:
		body = s.result()
	case s.kind == "drop":
		body = s.dropForm()
	default:
		body = s.linkForm()
	}
	return fmModal("dialog-share-"+s.kind, title, closeFn, body)
}

func (s *shareDialog) radio(value, label, hint string) app.UI {
	id := "share-mode-" + value
	return app.Div().Class("field check share-mode").Body(
		app.Input().ID(id).Type("radio").Name("share-mode").Value(value).Checked(s.mode == value).
			OnChange(func(ctx app.Context, e app.Event) { s.mode, s.err = value, "" }),
		app.Label().For(id).Body(app.Strong().Text(label), app.Span().Class("hint").Text(" "+hint)),
	)
}

func (s *shareDialog) expiryField() app.UI {
	return field("share-expires", "Expires at the end of (optional)", app.Input().Type("date").Value(s.expires).
		Min(todayDate()).OnInput(func(ctx app.Context, e app.Event) { s.expires, s.err = inputValue(ctx), "" }))
}

func (s *shareDialog) linkForm() app.UI {
	return app.Form().ID("share-form").OnSubmit(s.createLink).Body(
		app.FieldSet().Class("share-modes").Body(
			app.Legend().Text("How the recipient opens it"),
			s.radio(api.KeyInURL, "Key in the link", "Whoever has the link opens it."),
			s.radio(api.KeySeparate, "Key sent separately", "The link alone does not open it: send the key another way."),
			s.radio(api.KeyPassword, "Password", "The recipient types a password you give them."),
		),
		app.If(s.mode == api.KeyPassword, func() app.UI {
			return field("share-password", "Password for the link", app.Input().Type("password").Value(s.password).
				Attr("autocomplete", "new-password").
				OnInput(func(ctx app.Context, e app.Event) { s.password, s.err = inputValue(ctx), "" }),
				app.Span().Text("Give it to the recipients another way than the link. It never reaches the node."))
		}),
		s.expiryField(),
		field("share-max-downloads", "Download limit (optional)", app.Input().Type("number").Min(1).Step(1).
			Attr("inputmode", "numeric").Value(s.maxDl).Placeholder("none").
			OnInput(func(ctx app.Context, e app.Event) { s.maxDl, s.err = inputValue(ctx), "" })),
		errorBox(s.err),
		app.Div().Class("modal-actions").Body(
			app.Button().Type("button").Class("small").Text("Cancel").OnClick(func(ctx app.Context, e app.Event) { s.close() }),
			app.Button().ID("share-create").Type("submit").Class("small primary-small").Disabled(s.busy).Text("Create link"),
		),
	)
}

func (s *shareDialog) dropForm() app.UI {
	mb := func(id, label string, v *string) app.UI { return mbField(id, label, v, func() { s.err = "" }) }
	return app.Form().ID("drop-form").OnSubmit(s.createDrop).Body(
		app.P().Class("muted").Text("Anyone with this link can upload files into this folder, encrypted to you. They cannot see what is in it, nor each other's files."),
		mb("drop-max-total", "Total size limit, MB (optional)", &s.maxTotal),
		mb("drop-max-file", "Limit per file, MB (optional)", &s.maxFile),
		countField("drop-max-files", "Number of files (optional)", &s.maxFiles, 1, func() { s.err = "" }),
		s.expiryField(),
		field("drop-password", "Password (optional)", app.Input().Type("password").Value(s.password).
			Attr("autocomplete", "new-password").
			OnInput(func(ctx app.Context, e app.Event) { s.password, s.err = inputValue(ctx), "" }),
			app.Span().Text("Uploaders must type it first. Give it to them another way than the link.")),
		errorBox(s.err),
		app.Div().Class("modal-actions").Body(
			app.Button().Type("button").Class("small").Text("Cancel").OnClick(func(ctx app.Context, e app.Event) { s.close() }),
			app.Button().ID("drop-create").Type("submit").Class("small primary-small").Disabled(s.busy).Text("Create upload link"),
		),
	)
}

func (s *shareDialog) createLink(ctx app.Context, e app.Event) {
	e.PreventDefault()
	ctx = s.ctx
	d := currentDrive()
	if d == nil || s.busy {
		return
	}
	o := drive.LinkOptions{KeyMode: s.mode}
	if s.mode == api.KeyPassword {
		if s.password == "" {
			s.err = "Choose a password for the link."
			return
		}
		o.Password = s.password
	}
	exp, err := parseExpiry(s.expires)
	if err != nil {
		s.err = err.Error()
		return
	}
	if exp != nil {
		o.Expires = *exp
	}
	if o.MaxDownloads, err = parseLimit(s.maxDl); err != nil {
		s.err = "The download limit must be a whole number (empty for none)."
		return
	}
	id := s.target.ID
	s.busy, s.err = true, ""
	ctx.Async(func() {
		l, err := d.CreateLink(ctx, id, o)
		ctx.Dispatch(func(ctx app.Context) { s.created(l, err) })
	})
}

func (s *shareDialog) createDrop(ctx app.Context, e app.Event) {
	e.PreventDefault()
	ctx = s.ctx
	d := currentDrive()
	if d == nil || s.busy {
		return
	}
	o := drive.DropOptions{Password: s.password}
	exp, err := parseExpiry(s.expires)
	if err != nil {
		s.err = err.Error()
		return
	}
	if exp != nil {
		o.Expires = *exp
	}
	if o.Limits.MaxTotal, err = parseMB(s.maxTotal); err != nil {
		s.err = "The total size limit must be a number of MB (empty for none)."
		return
	}
	if o.Limits.MaxFile, err = parseMB(s.maxFile); err != nil {
		s.err = "The limit per file must be a number of MB (empty for none)."
		return
	}
	if o.Limits.MaxFiles, err = parseLimit(s.maxFiles); err != nil {
		s.err = "The number of files must be a whole number (empty for none)."
		return
	}
	id := s.target.ID
	s.busy, s.err = true, ""
	ctx.Async(func() {
		l, err := d.CreateDrop(ctx, id, o)
		ctx.Dispatch(func(ctx app.Context) { s.created(l, err) })
	})
}

func (s *shareDialog) created(l drive.Link, err error) {
	s.busy = false
	if err != nil {
		s.err = "The link could not be made: " + errorText(err)
		return
	}
	s.link, s.password = &l, ""
}

// mbField is an input of a size limit in MB (parseMB reads it) bound to
// *v; changed, if not nil, runs after each edit.
func mbField(id, label string, v *string, changed func()) app.UI {
	return field(id, label, app.Input().Type("number").Min(0).Step(0.1).Attr("inputmode", "decimal").
		Value(*v).Placeholder("no limit").OnInput(limitInput(v, changed)))
}

// countField is an input of a limit on a number of things (parseLimit
// reads it), at least min, bound to *v like mbField.
func countField(id, label string, v *string, min int, changed func()) app.UI {
	return field(id, label, app.Input().Type("number").Min(min).Step(1).Attr("inputmode", "numeric").
		Value(*v).Placeholder("no limit").OnInput(limitInput(v, changed)))
}

func limitInput(v *string, changed func()) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		*v = inputValue(ctx)
		if changed != nil {
			changed()
		}
	}
}

// parseMB reads a size in MB (1 MB = 1,000,000 bytes, as sizes are shown);
// "" is 0 (no limit).
func parseMB(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= 0 && f <= 1e9) {
		return 0, errors.New("not a size")
	}
	return int64(math.Round(f * 1e6)), nil
}

func todayDate() string {
	if app.IsServer {
		return ""
	}
	return time.Now().Format("2006-01-02")
}

// mailTo splits the recipients field.
func (s *shareDialog) mailTo() []string {
	var out []string
	for _, a := range strings.FieldsFunc(s.to, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' }) {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func (s *shareDialog) result() app.UI {
	l := *s.link
	base := pageOrigin()
	url := l.URL(base)
	drop := l.Kind == api.LinkDrop
	to := s.mailTo()
	hasKey := !drop && l.Key != "" && l.KeyMode != api.KeyPassword
	return app.Div().ID("share-result").Class("share-result").Body(
		app.P().Role("status").Text(map[bool]string{true: "The upload link is ready.", false: "The link is ready."}[drop]),
		app.Div().Class("field").Body(
			app.Label().For("share-url").Text("Link"),
			app.Div().Class("copy-row").Body(
				app.Input().ID("share-url").Type("text").ReadOnly(true).Value(url).
					OnFocus(func(ctx app.Context, e app.Event) { ctx.JSSrc().Call("select") }),
				app.Button().ID("share-copy").Type("button").Class("small").Text("Copy").
					OnClick(func(ctx app.Context, e app.Event) {
						if s.link != nil {
							s.copied(copyText(s.link.URL(pageOrigin())), "The link is copied.")
						}
					}),
			),
		),
		app.If(l.KeyMode == api.KeySeparate && !drop, func() app.UI {
			return app.Div().Class("field").Body(
				app.Label().For("share-key").Text("Key (send it another way than the link)"),
				app.Div().Class("copy-row").Body(
					app.Input().ID("share-key").Type("text").ReadOnly(true).Value(l.Key).
						OnFocus(func(ctx app.Context, e app.Event) { ctx.JSSrc().Call("select") }),
					app.Button().ID("share-copy-key").Type("button").Class("small").Text("Copy key").
						OnClick(func(ctx app.Context, e app.Event) {
							if s.link != nil {
								s.copied(copyText(s.link.Key), "The key is copied.")
							}
						}),
				),
				app.Div().Class("hint").Text("Whoever has the link and the key opens it: send them through different channels (another app, a call, in person)."),
			)
		}),
		app.If(l.KeyMode == api.KeyPassword, func() app.UI {
			return app.P().Class("hint").Text("The recipients need the password: give it to them another way than the link.")
		}),
		app.If(s.notice != "", func() app.UI { return app.P().ID("share-notice").Class("notice").Role("status").Text(s.notice) }),
		app.Details().ID("share-mail").Class("share-mail").Open(true).Body(
			app.Summary().Text("Send by e-mail"),
			field("share-mail-to", "To (addresses, separated by commas)", app.Input().Type("email").Multiple(true).Value(s.to).
				Attr("autocomplete", "email").
				OnInput(func(ctx app.Context, e app.Event) { s.to, s.mailErr = inputValue(ctx), "" })),
			app.If(s.mail.Configured, func() app.UI {
				return app.Div().Body(
					app.Div().Class("field").Body(
						app.Label().For("share-mail-message").Text("Message (optional)"),
						app.Textarea().ID("share-mail-message").Rows(3).MaxLength(2000).Text(s.message).
							OnInput(func(ctx app.Context, e app.Event) { s.message = inputValue(ctx) }),
					),
					app.P().ID("share-mail-note").Class("hint").Text(nodeMailNote(l)),
					errorBox(s.mailErr),
					app.Div().Class("modal-actions").Body(
						app.If(hasKey, func() app.UI {
							return app.A().ID("share-mail-key").Class("button small").Href(drive.MailtoURL(l, base, to, true)).
								Text("Send the key from my own mail program")
						}),
						app.Button().ID("share-mail-send").Type("button").Class("small primary-small").Disabled(s.mailBusy || len(to) == 0).
							Text(map[bool]string{true: "Sending…", false: "Send through the node"}[s.mailBusy]).OnClick(s.sendMail),
					),
				)
			}).Else(func() app.UI {
				return app.Div().Body(
					app.P().Class("hint").Text(mailtoNote(l, s.mailKnown)),
					app.Div().Class("modal-actions").Body(
						app.A().ID("share-mailto").Class("button small").Href(drive.MailtoURL(l, base, to, l.KeyMode == api.KeyInURL)).
							Text("Write the e-mail in my mail program"),
						app.If(hasKey && l.KeyMode == api.KeySeparate, func() app.UI {
							return app.A().ID("share-mailto-key").Class("button small").Href(drive.MailtoURL(l, base, to, true)).
								Text("E-mail the key separately")
						}),
					),
				)
			}),
		),
		app.Div().Class("modal-actions").Body(
			app.A().Class("button small").Href(PathLinks).Text("All my links"),
			app.Button().ID("share-done").Type("button").Class("small primary-small").Text("Done").
				OnClick(func(ctx app.Context, e app.Event) { s.close() }),
		),
	)
}

func nodeMailNote(l drive.Link) string {
	switch {
	case l.Kind == api.LinkDrop:
		return "Your node sends the link."
	case l.KeyMode == api.KeyPassword:
		return "Your node sends the link; the mail does not carry the password: give it another way."
	}
	return "Your node sends the link without its key, so the node never sees the key. Send the key another way: for example with the button on the left, from your own mail program."
}

func mailtoNote(l drive.Link, known bool) string {
	pre := "Your node has no mail settings, so the e-mail is written in your own mail program. "
	if !known {
		pre = "The e-mail is written in your own mail program. "
	}
	switch {
	case l.Kind == api.LinkDrop, l.KeyMode == api.KeyInURL:
		return pre + "It carries the whole link."
	case l.KeyMode == api.KeyPassword:
		return pre + "It carries the link, not the password."
	}
	return pre + "It carries the link without its key; send the key in a second e-mail, or better another way."
}

func (s *shareDialog) copied(err error, msg string) {
	if err != nil {
		s.notice = "Copying failed: select the text and copy it yourself."
		return
	}
	s.notice = msg
}

func (s *shareDialog) sendMail(ctx app.Context, e app.Event) {
	ctx = s.ctx
	d := currentDrive()
	to := s.mailTo()
	if d == nil || s.link == nil || len(to) == 0 || s.mailBusy {
		return
	}
	if len(to) > api.MaxMailRecipients {
		s.mailErr = "At most " + strconv.Itoa(api.MaxMailRecipients) + " addresses at a time."
		return
	}
	l, msg, base := *s.link, s.message, pageOrigin()
	s.mailBusy, s.mailErr = true, ""
	ctx.Async(func() {
		err := d.MailLink(ctx, l, base, to, msg)
		ctx.Dispatch(func(ctx app.Context) {
			s.mailBusy = false
			if err != nil {
				s.mailErr = "The mail was not sent: " + errorText(err)
				return
			}
			s.notice = "Sent to " + strings.Join(to, ", ") + "."
		})
	})
}
