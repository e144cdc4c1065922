package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/communitycube/cube/server/auth"
	"github.com/communitycube/cube/server/files"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/server/mail"
	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
)

// Share links, drops and mail (shared/api/links.go lists the routes). As
// for files, every rule lives in the store (server/files/links.go and
// drops.go); the handlers translate. Recipient routes have no session: the
// link id and the access token (header api.LinkTokenHeader) are the
// credentials. Neither the token nor anything else secret is ever logged:
// the request log has only the path, which holds ids.

// codeMailFailed (502): the SMTP server could not be reached or refused
// the mail.
const codeMailFailed = "mail_failed"

// MaxMailMessage bounds the sender's own text in a share mail (characters).
const MaxMailMessage = 2000

func (a *API) linkRoutes(mux *http.ServeMux) {
	p := api.Prefix
	s := func(h http.HandlerFunc) http.HandlerFunc { return a.session(false, h) }
	admin := func(h http.HandlerFunc) http.HandlerFunc { return a.session(true, h) }
	mux.Handle(p+"links", route{"GET": s(a.listLinks), "POST": s(a.createLink)})
	mux.Handle(p+"links/{id}", route{"PATCH": s(a.updateLink), "DELETE": s(a.deleteLink)})
	mux.Handle(p+"links/{id}/mail", route{"POST": s(a.mailLink)})
	mux.Handle(p+"drops", route{"GET": s(a.listDrops)})
	mux.Handle(p+"drops/{id}", route{"DELETE": s(a.deleteDrop)})
	mux.Handle(p+"mail", route{"GET": s(a.mailStatus)})
	mux.Handle(p+"mail/settings", route{"GET": admin(a.getMailSettings), "PUT": admin(a.putMailSettings)})
	mux.Handle(p+"mail/test", route{"POST": admin(a.testMail)})

	pl := p + "public/links/{id}"
	mux.Handle(pl, route{"GET": a.publicLink})
	mux.Handle(pl+"/access", route{"POST": a.openLink})
	mux.Handle(pl+"/nodes/{nid}/children", route{"GET": a.linkChildren})
	mux.Handle(pl+"/versions/{vid}/proof", route{"GET": func(w http.ResponseWriter, r *http.Request) { a.serveProof(w, r, a.linkVersion) }})
	mux.Handle(pl+"/versions/{vid}/content", route{"GET": func(w http.ResponseWriter, r *http.Request) { a.serveContent(w, r, a.linkVersion) }})
	mux.Handle(pl+"/uploads/{si}", route{
		"POST":   func(w http.ResponseWriter, r *http.Request) { a.beginUploadAs(w, r, a.dropUploads(r)) },
		"PATCH":  func(w http.ResponseWriter, r *http.Request) { a.sendChunkAs(w, r, a.dropUploads(r)) },
		"GET":    func(w http.ResponseWriter, r *http.Request) { a.getUploadAs(w, r, a.dropUploads(r)) },
		"DELETE": func(w http.ResponseWriter, r *http.Request) { a.abortUploadAs(w, r, a.dropUploads(r)) },
	})
	mux.Handle(pl+"/uploads/{si}/finish", route{"POST": func(w http.ResponseWriter, r *http.Request) { a.finishUploadAs(w, r, a.dropUploads(r)) }})
	mux.Handle(pl+"/files", route{"POST": a.dropFile})
}

// failLinks answers the errors of links, drops and mail; it reports
// whether err was one of them (failFiles calls it first).
func failLinks(w http.ResponseWriter, err error) bool {
	var (
		le    *files.LinkError
		thr   *files.LinkThrottledError
		dl    *files.DropLimitError
		dq    *files.DropQuotaError
		minv  *mail.InvalidError
		mrate *mail.RateError
	)
	switch {
	case errors.As(err, &le):
		status := http.StatusGone
		if le.Code == api.CodeWrongPassword {
			status = http.StatusForbidden
		}
		writeError(w, status, api.Error{Code: le.Code, Message: le.Message})
	case errors.As(err, &thr):
		writeError(w, http.StatusTooManyRequests, api.Error{Code: api.CodeThrottled, Message: thr.Error(), RetryAfter: seconds(thr.RetryAfter)})
	case errors.As(err, &dl):
		writeError(w, http.StatusRequestEntityTooLarge, api.Error{Code: dl.Code, Message: dl.Message})
	case errors.As(err, &dq):
		writeError(w, http.StatusRequestEntityTooLarge, api.Error{Code: api.CodeQuotaExceeded, Message: dq.Error()})
	case errors.Is(err, files.ErrLinkNotFound), errors.Is(err, files.ErrLinkKind), errors.Is(err, files.ErrDropNotFound):
		writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: err.Error()})
	case errors.Is(err, files.ErrLinkToken):
		writeError(w, http.StatusUnauthorized, api.Error{Code: api.CodeUnauthenticated, Message: err.Error()})
	case errors.As(err, &minv):
		writeError(w, http.StatusBadRequest, api.Error{Code: api.CodeInvalid, Field: minv.Field, Message: minv.Message})
	case errors.As(err, &mrate):
		writeError(w, http.StatusTooManyRequests, api.Error{Code: api.CodeThrottled, Message: mrate.Error(), RetryAfter: seconds(mrate.RetryAfter)})
	default:
		return false
	}
	return true
}

func seconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

func linkToken(r *http.Request) string { return r.Header.Get(api.LinkTokenHeader) }

// ---- the owner's routes

func (a *API) createLink(w http.ResponseWriter, r *http.Request) {
	var req api.CreateLinkRequest
	if err := decodeFiles(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	l, err := a.fs().CreateLink(r.Context(), currentUser(r).ID, req)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, l)
}

func (a *API) listLinks(w http.ResponseWriter, r *http.Request) {
	ls, err := a.fs().Links(r.Context(), currentUser(r).ID)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ls)
}

func (a *API) updateLink(w http.ResponseWriter, r *http.Request) {
	var req api.UpdateLinkRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	l, err := a.fs().UpdateLink(r.Context(), currentUser(r).ID, r.PathValue("id"), req)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

func (a *API) deleteLink(w http.ResponseWriter, r *http.Request) {
	if err := a.fs().DeleteLink(r.Context(), currentUser(r).ID, r.PathValue("id")); err != nil {
		a.failFiles(w, r, err)
		return
	}
	noContent(w)
}

func (a *API) listDrops(w http.ResponseWriter, r *http.Request) {
	ds, err := a.fs().DropFiles(r.Context(), currentUser(r).ID, r.URL.Query().Get("folder"))
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ds)
}

func (a *API) deleteDrop(w http.ResponseWriter, r *http.Request) {
	if err := a.fs().DeleteDropFile(r.Context(), currentUser(r).ID, r.PathValue("id")); err != nil {
		a.failFiles(w, r, err)
		return
	}
	noContent(w)
}

// ---- the recipient's routes

func (a *API) publicLink(w http.ResponseWriter, r *http.Request) {
	l, err := a.fs().PublicLink(r.Context(), r.PathValue("id"))
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

func (a *API) openLink(w http.ResponseWriter, r *http.Request) {
	var req api.AccessRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	acc, err := a.fs().OpenLink(r.Context(), r.PathValue("id"), r.RemoteAddr, req)
	clear(req.PasswordAuth)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, acc)
}

func (a *API) linkChildren(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := optInt(q.Get("limit"), "limit")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.fs().LinkChildren(r.Context(), r.PathValue("id"), linkToken(r), r.PathValue("nid"), q.Get("after"), limit)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// linkVersion is the versionLookup of the link routes (it counts the
// download: files.Store.LinkVersionCap).
func (a *API) linkVersion(r *http.Request) (cap.Verifier, bool, error) {
	return a.fs().LinkVersionCap(r.Context(), r.PathValue("id"), linkToken(r), r.PathValue("vid"))
}

// dropUploads is the uploader of a drop link's upload routes.
func (a *API) dropUploads(r *http.Request) uploader {
	id, token := r.PathValue("id"), linkToken(r)
	return uploader{
		get: func(ctx context.Context, si wire.StorageIndex) (int64, *files.Upload, error) {
			return a.fs().GetDropUpload(ctx, id, token, si)
		},
		begin: func(ctx context.Context, si wire.StorageIndex, size int64) (int64, bool, error) {
			return a.fs().BeginDropUpload(ctx, id, token, si, size)
		},
		nodeEncoding: true,
	}
}

func (a *API) dropFile(w http.ResponseWriter, r *http.Request) {
	var req api.DropFileRequest
	if err := decodeFiles(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.fs().AddDropFile(r.Context(), r.PathValue("id"), linkToken(r), req); err != nil {
		a.failFiles(w, r, err)
		return
	}
	noContent(w)
}

// ---- mail

func (a *API) mailStore() *mail.Store { return &mail.Store{DB: a.fs().DB, Now: a.fs().Now} }

func mailUnconfigured(w http.ResponseWriter) {
	writeError(w, http.StatusServiceUnavailable, api.Error{Code: api.CodeMailUnavailable,
		Message: "This node has no mail settings, so it cannot send mail: send the link from your own mail program, or ask an administrator to set up mail."})
}

func (a *API) mailStatus(w http.ResponseWriter, r *http.Request) {
	st, ok, err := a.mailStore().Settings(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.MailStatus{Configured: ok, From: st.From})
}

func mailView(st mail.Settings) api.MailSettings {
	return api.MailSettings{Host: st.Host, Port: st.Port, TLS: st.TLS, Username: st.Username, HasPassword: st.Password != "", From: st.From}
}

func (a *API) getMailSettings(w http.ResponseWriter, r *http.Request) {
	st, _, err := a.mailStore().Settings(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, mailView(st))
}

func (a *API) putMailSettings(w http.ResponseWriter, r *http.Request) {
	var req api.MailSettings
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.HasPassword {
		a.fail(w, r, &auth.InvalidError{Field: "has_password", Message: "has_password is only in answers: send password (or clear_password) to change it."})
		return
	}
	st, err := a.mailStore().PutSettings(r.Context(), mail.Settings{Host: req.Host, Port: req.Port, TLS: req.TLS,
		Username: req.Username, Password: req.Password, From: req.From}, req.ClearPassword)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	a.Log.Info("mail settings changed", "host", st.Host, "by", currentUser(r).Name)
	writeJSON(w, http.StatusOK, mailView(st))
}

// sendMail sends m with the node's settings, answering the errors itself.
// detail says whether the SMTP server's own words go to the client (for
// administrators: a test mail).
func (a *API) sendMail(w http.ResponseWriter, r *http.Request, m *mail.Message, detail bool) bool {
	ms := a.mailStore()
	st, ok, err := ms.Settings(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return false
	}
	if !ok {
		mailUnconfigured(w)
		return false
	}
	if err := ms.Reserve(r.Context(), currentUser(r).ID, len(m.To)); err != nil {
		a.failFiles(w, r, err)
		return false
	}
	err = mail.Send(r.Context(), st, m)
	if errors.Is(err, mail.ErrSend) {
		a.Log.Warn("sending mail failed", "host", st.Host, "err", err)
		msg := "The node could not send the mail (its mail server could not be reached or refused it). Try again later, or send the link from your own mail program."
		if detail {
			msg = "Sending the test mail failed: " + err.Error()
		}
		writeError(w, http.StatusBadGateway, api.Error{Code: codeMailFailed, Message: msg, RetryAfter: 60})
		return false
	}
	if err != nil {
		a.failFiles(w, r, err)
		return false
	}
	return true
}

func (a *API) testMail(w http.ResponseWriter, r *http.Request) {
	var req api.MailTestRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	to, err := mail.CheckAddress("to", req.To)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	m := &mail.Message{FromName: "CommunityCube", To: []string{to}, Subject: "CommunityCube test mail", Date: a.fs().Now(),
		Body: "This is a test mail from your CommunityCube node, sent by " + currentUser(r).Name + ".\n\nIf you can read it, the node's mail settings work.\n"}
	if a.sendMail(w, r, m, true) {
		noContent(w)
	}
}

func (a *API) mailLink(w http.ResponseWriter, r *http.Request) {
	var req api.MailLinkRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	u := currentUser(r)
	l, err := a.fs().OwnLiveLink(r.Context(), u.ID, id)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	if err := checkLinkURL(r, req.URL, id); err != nil {
		a.fail(w, r, err)
		return
	}
	to, err := recipients(req.To)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	msg, err := senderMessage(req.Message)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	subject, body := shareMail(u.Name, l, req.URL, msg)
	m := &mail.Message{FromName: u.Name + " (CommunityCube)", To: to, Subject: subject, Body: body, Date: a.fs().Now()}
	if a.sendMail(w, r, m, false) {
		a.Log.Info("link mailed", "user", u.Name, "link", id, "recipients", len(to))
		noContent(w)
	}
}

// checkLinkURL accepts only the link's own address on this node, as the
// request reached it: http(s)://HOST/s/ID with HOST the request's Host or
// Origin, no query and, above all, no fragment: the node must never see a
// link's key, so it cannot mail one, and it will not mail other addresses
// (it is no open relay for arbitrary links).
func checkLinkURL(r *http.Request, raw, id string) error {
	if strings.Contains(raw, "#") {
		return &auth.InvalidError{Field: "url", Message: "The link to mail must not contain its key (the part after #): keys never go through the node. Mail the link without it, and give the key to the recipient another way."}
	}
	bad := &auth.InvalidError{Field: "url", Message: fmt.Sprintf("url must be this link's address on this node: %s://%s/s/%s.", requestScheme(r), r.Host, id)}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.User != nil || u.Opaque != "" || u.RawQuery != "" || u.ForceQuery ||
		u.Path != "/s/"+id || u.RawPath != "" {
		return bad
	}
	if strings.EqualFold(u.Host, r.Host) {
		return nil
	}
	if o, err := url.Parse(r.Header.Get("Origin")); err == nil && o.Host != "" && strings.EqualFold(u.Host, o.Host) {
		return nil
	}
	return bad
}

func requestScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// recipients checks a share mail's addresses (each a plain address; at
// most api.MaxMailRecipients), dropping repeats.
func recipients(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, &mail.InvalidError{Field: "to", Message: "Give at least one address to send the link to."}
	}
	if len(in) > api.MaxMailRecipients {
		return nil, &mail.InvalidError{Field: "to", Message: fmt.Sprintf("A link can be mailed to at most %d addresses at once.", api.MaxMailRecipients)}
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		a, err := mail.CheckAddress("to", s)
		if err != nil {
			return nil, err
		}
		if k := strings.ToLower(a); !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// senderMessage checks the sender's own text: UTF-8, bounded, no control
// characters but line breaks and tabs.
func senderMessage(s string) (string, error) {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxMailMessage {
		return "", &auth.InvalidError{Field: "message", Message: fmt.Sprintf("The message must be text of at most %d characters.", MaxMailMessage)}
	}
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, strings.TrimSpace(s)), nil
}

// shareMail is the fixed text of a share mail: who shares what, the link,
// the sender's message, and where the key comes from.
func shareMail(sender string, l api.Link, link, message string) (subject, body string) {
	what := map[string]string{api.LinkFile: "a file", api.LinkFolder: "a folder", api.LinkDrop: "an upload folder"}[l.Kind]
	subject = sender + " shared " + what + " with you"
	var b strings.Builder
	fmt.Fprintf(&b, "%s shared %s with you on CommunityCube.\n\n", sender, what)
	if l.Kind == api.LinkDrop {
		b.WriteString("Send files to them here (you will not see what others sent):\n")
	} else {
		b.WriteString("Open it here:\n")
	}
	b.WriteString(link + "\n\n")
	if message != "" {
		fmt.Fprintf(&b, "%s wrote:\n", sender)
		for _, line := range strings.Split(message, "\n") {
			b.WriteString("> " + line + "\n")
		}
		b.WriteString("\n")
	}
	switch l.KeyMode {
	case api.KeySeparate:
		fmt.Fprintf(&b, "The key that opens it is not in this link: %s gives it to you separately.\n", sender)
	case api.KeyPassword:
		fmt.Fprintf(&b, "The link asks for a password: %s gives it to you separately.\n", sender)
	}
	if l.Expires != nil {
		fmt.Fprintf(&b, "The link works until %s.\n", l.Expires.UTC().Format("2 January 2006, 15:04 MST"))
	}
	b.WriteString("\n-- \nSent by a CommunityCube node on behalf of " + sender + ". The node stores only encrypted files and never has the key.\n")
	return subject, b.String()
}
