// Package httpapi serves the node's JSON API under /api/v1/: setup, sign-in
// and sessions, passwords, and user administration. Every response, including
// every error, is JSON (see shared/api).
package httpapi

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/communitycube/cube/server/auth"
	"github.com/communitycube/cube/shared/api"
)

// API is the handler set. Fill the fields, then use Handler.
type API struct {
	Auth    *auth.Store
	Log     *slog.Logger
	Version string
	// GridStatus reports the node's grid side; nil on a node without one.
	GridStatus func() api.GridStatus
	// Files serves the Files API (files.go); nil leaves it out.
	Files *Files
}

// route dispatches one path by method, answering 405 in JSON otherwise (the
// standard mux would answer in plain text).
type route map[string]http.HandlerFunc

func (rt route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := rt[r.Method]; ok {
		h(w, r)
		return
	}
	if r.Method == http.MethodHead {
		if h, ok := rt[http.MethodGet]; ok {
			h(w, r)
			return
		}
	}
	writeError(w, http.StatusMethodNotAllowed, api.Error{Code: api.CodeMethod, Message: r.Method + " is not allowed here."})
}

// Handler returns the API, to be mounted at api.Prefix.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	p := api.Prefix
	mux.Handle(p+"state", route{"GET": a.state})
	mux.Handle(p+"setup", route{"POST": a.setup})
	mux.Handle(p+"login", route{"POST": a.login})
	mux.Handle(p+"logout", route{"POST": a.logout})
	mux.Handle(p+"password", route{"POST": a.session(false, a.changePassword)})
	mux.Handle(p+"users", route{"GET": a.session(true, a.listUsers), "POST": a.session(true, a.createUser)})
	mux.Handle(p+"users/{id}", route{"PATCH": a.session(true, a.updateUser)})
	mux.Handle(p+"grid/status", route{"GET": a.session(true, a.gridStatus)})
	if a.Files != nil {
		a.filesRoutes(mux)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: "No such API endpoint: " + r.URL.Path})
	})
	return a.guard(mux)
}

// guard recovers from panics (answering 500 in JSON and keeping the node up)
// and refuses cross-site state changes.
func (a *API) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.Log.Error("panic in API handler", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				writeError(w, http.StatusInternalServerError, api.Error{Code: api.CodeInternal, Message: "Something went wrong on the node. The error was logged."})
			}
		}()
		if !safeMethod(r.Method) && !sameOrigin(r) {
			writeError(w, http.StatusForbidden, api.Error{Code: api.CodeCSRF, Message: "Cross-site requests are not allowed."})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin rejects requests a browser marks as coming from another site.
// Non-browser clients (the CLI) send neither header and pass; they cannot be
// tricked into carrying a victim's cookie.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return u.Scheme == scheme && u.Host == r.Host
}

type ctxKey int

const (
	userKey ctxKey = iota
	sessKey
	tokenKey
)

// session wraps h so it runs only for a signed-in user (an administrator if
// admin), with a matching CSRF token on state-changing methods.
func (a *API) session(admin bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := sessionToken(r)
		sess, user, err := a.Auth.Session(r.Context(), token)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if !safeMethod(r.Method) {
			got := r.Header.Get(api.CSRFHeader)
			if subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRFToken)) != 1 {
				writeError(w, http.StatusForbidden, api.Error{Code: api.CodeCSRF,
					Message: "The request lacks this session's CSRF token (header " + api.CSRFHeader + "). Reload the page and try again."})
				return
			}
		}
		if admin && !user.Admin {
			writeError(w, http.StatusForbidden, api.Error{Code: api.CodeForbidden, Message: "Only administrators can do this."})
			return
		}
		ctx := context.WithValue(r.Context(), userKey, user)
		ctx = context.WithValue(ctx, sessKey, sess)
		ctx = context.WithValue(ctx, tokenKey, token)
		h(w, r.WithContext(ctx))
	}
}

func currentUser(r *http.Request) auth.User { return r.Context().Value(userKey).(auth.User) }

func sessionToken(r *http.Request) string {
	c, err := r.Cookie(api.SessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

func (a *API) setCookie(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	c := &http.Cookie{
		Name:     api.SessionCookie,
		Value:    token,
		Path:     "/",
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	}
	if token == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
	}
	http.SetCookie(w, c)
}

func apiUser(u auth.User) *api.User {
	return &api.User{ID: u.ID, Name: u.Name, Admin: u.Admin, Disabled: u.Disabled, CreatedAt: u.CreatedAt,
		MustChangePassword: u.MustChangePassword, Quota: u.Quota}
}

func (a *API) state(w http.ResponseWriter, r *http.Request) {
	need, err := a.Auth.SetupNeeded(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	st := api.State{SetupNeeded: need, Version: a.Version}
	if token := sessionToken(r); token != "" {
		sess, user, err := a.Auth.Session(r.Context(), token)
		switch err {
		case nil:
			st.User, st.CSRFToken = apiUser(user), sess.CSRFToken
		case auth.ErrNoSession:
			a.setCookie(w, r, "", time.Time{}) // a dead cookie is only noise
		default:
			a.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, st)
}

// signIn starts a session for u and answers with the new state.
func (a *API) signIn(w http.ResponseWriter, r *http.Request, u auth.User, status int) {
	token, sess, err := a.Auth.NewSession(r.Context(), u.ID, r.UserAgent(), r.RemoteAddr)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.setCookie(w, r, token, sess.ExpiresAt)
	writeJSON(w, status, api.State{User: apiUser(u), CSRFToken: sess.CSRFToken, Version: a.Version})
}

func (a *API) setup(w http.ResponseWriter, r *http.Request) {
	var req api.SetupRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := a.Auth.Setup(r.Context(), req.Name, req.Password)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.Log.Info("administrator created by setup", "user", u.Name)
	a.signIn(w, r, u, http.StatusCreated)
}

func (a *API) login(w http.ResponseWriter, r *http.Request) {
	var req api.LoginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if need, err := a.Auth.SetupNeeded(r.Context()); err != nil {
		a.fail(w, r, err)
		return
	} else if need {
		writeError(w, http.StatusConflict, api.Error{Code: api.CodeSetupNeeded, Message: "This node has no administrator yet: open the setup page first."})
		return
	}
	if len(req.Name) > 256 || len(req.Password) > 4096 {
		a.fail(w, r, auth.ErrBadCredentials)
		return
	}
	u, err := a.Auth.Authenticate(r.Context(), req.Name, req.Password, r.RemoteAddr)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.signIn(w, r, u, http.StatusOK)
}

// logout ends the session on the server: the old cookie is dead even if a
// copy of it survives somewhere. Without a valid session it just clears the
// cookie; with one, it needs the CSRF token like any other state change.
func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	token := sessionToken(r)
	sess, _, err := a.Auth.Session(r.Context(), token)
	if err == nil {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get(api.CSRFHeader)), []byte(sess.CSRFToken)) != 1 {
			writeError(w, http.StatusForbidden, api.Error{Code: api.CodeCSRF, Message: "The request lacks this session's CSRF token."})
			return
		}
		if err := a.Auth.EndSession(r.Context(), token); err != nil {
			a.fail(w, r, err)
			return
		}
		if a.Files != nil {
			a.Files.Store.EndSession(sess.TokenHash())
		}
	} else if err != auth.ErrNoSession {
		a.fail(w, r, err)
		return
	}
	a.setCookie(w, r, "", time.Time{})
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) changePassword(w http.ResponseWriter, r *http.Request) {
	var req api.ChangePasswordRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	u := currentUser(r)
	token := r.Context().Value(tokenKey).(string)
	var inTx func(*sql.Tx) error
	if a.Files != nil {
		f, err := a.Files.Store.PasswordBundle(r.Context(), u.ID, req.Bundle)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		inTx = f
	}
	if err := a.Auth.ChangePasswordWith(r.Context(), u.ID, req.Current, req.New, token, inTx); err != nil {
		a.failFiles(w, r, err)
		return
	}
	if a.Files != nil {
		a.Files.Store.EndOtherSessions(u.ID, auth.TokenHash(token))
	}
	a.Log.Info("password changed", "user", u.Name)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	users, err := a.Auth.Users(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var used map[int64]int64
	if a.Files != nil {
		if used, err = a.Files.Store.UsageAll(r.Context()); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	out := make([]*api.User, len(users))
	for i, u := range users {
		out[i] = apiUser(u)
		out[i].Used = used[u.ID]
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	var req api.CreateUserRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	// The administrator chose the password, so its user must choose their
	// own before making keys.
	u, err := a.Auth.CreateUserForOther(r.Context(), req.Name, req.Password, req.Admin)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.Log.Info("user created", "user", u.Name, "admin", u.Admin, "by", currentUser(r).Name)
	writeJSON(w, http.StatusCreated, apiUser(u))
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: "No such user."})
		return
	}
	var req api.UpdateUserRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := a.Auth.Update(r.Context(), id, auth.UserUpdate{Disabled: req.Disabled, Admin: req.Admin, Quota: req.Quota})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if u.Disabled && a.Files != nil {
		a.Files.Store.EndOtherSessions(u.ID, nil) // their sessions ended
	}
	a.Log.Info("user updated", "user", u.Name, "disabled", u.Disabled, "admin", u.Admin, "quota", u.Quota, "by", currentUser(r).Name)
	writeJSON(w, http.StatusOK, apiUser(u))
}

func (a *API) gridStatus(w http.ResponseWriter, r *http.Request) {
	if a.GridStatus == nil {
		writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: "This node takes no part in a grid."})
		return
	}
	writeJSON(w, http.StatusOK, a.GridStatus())
}
