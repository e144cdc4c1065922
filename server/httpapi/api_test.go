package httpapi

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/communitycube/cube/server/auth"
	"github.com/communitycube/cube/server/db"
	"github.com/communitycube/cube/shared/api"
)

const strong = "Quartz-Lantern-Meadow-71"

type env struct {
	t     *testing.T
	srv   *httptest.Server
	db    *sql.DB
	store *auth.Store
	logs  *strings.Builder
}

func newEnv(t *testing.T, opt db.Options, tls bool) *env {
	t.Helper()
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "cube.db"), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	store := auth.New(d, auth.NewHasher(1, 64, 1))
	logs := &strings.Builder{}
	a := &API{Auth: store, Log: slog.New(slog.NewTextHandler(logs, nil)), Version: "test"}
	mux := http.NewServeMux()
	mux.Handle("/api/", a.Handler())
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(mux)
	} else {
		srv = httptest.NewServer(mux)
	}
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, db: d, store: store, logs: logs}
}

// do sends a raw request and returns the status and decoded JSON error (if any).
func (e *env) do(c *http.Client, method, path, ctype, body string, hdr ...string) (int, api.Error, *http.Response) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c == nil {
		c = e.srv.Client()
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var er api.ErrorResponse
	if resp.StatusCode >= 300 {
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			e.t.Fatalf("%s %s: %d with Content-Type %q, want JSON", method, path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if err := json.Unmarshal(b, &er); err != nil || er.Error.Code == "" || er.Error.Message == "" {
			e.t.Fatalf("%s %s: %d body %q is not a JSON error", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, er.Error, resp
}

func (e *env) client() *api.Client {
	jar, _ := cookiejar.New(nil)
	hc := *e.srv.Client() // a copy: each client keeps its own cookies
	hc.Jar = jar
	return &api.Client{Base: e.srv.URL, Transport: api.HTTPTransport{Client: &hc}}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, db.Options{}, false)
	const j = "application/json"
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		code                            string
	}{
		{"malformed JSON", "POST", "/api/v1/setup", j, `{"name":`, 400, api.CodeBadJSON},
		{"not JSON at all", "POST", "/api/v1/setup", j, `name=admin`, 400, api.CodeBadJSON},
		{"empty body", "POST", "/api/v1/setup", j, ``, 400, api.CodeBadJSON},
		{"wrong type", "POST", "/api/v1/setup", j, `{"name": 5, "password": "x"}`, 400, api.CodeBadJSON},
		{"unknown field", "POST", "/api/v1/setup", j, `{"name":"a","password":"b","admin":true}`, 400, api.CodeBadJSON},
		{"trailing data", "POST", "/api/v1/setup", j, `{"name":"a","password":"b"} {"x":1}`, 400, api.CodeBadJSON},
		{"form content type", "POST", "/api/v1/setup", "application/x-www-form-urlencoded", `name=a`, 415, api.CodeBadContentType},
		{"no content type", "POST", "/api/v1/login", "", `{"name":"a","password":"b"}`, 415, api.CodeBadContentType},
		{"text/plain", "POST", "/api/v1/login", "text/plain", `{"name":"a","password":"b"}`, 415, api.CodeBadContentType},
		{"oversized body", "POST", "/api/v1/setup", j, `{"name":"` + strings.Repeat("a", MaxJSONBody) + `"}`, 413, api.CodeTooLarge},
		{"unknown route", "GET", "/api/v1/nothing", "", ``, 404, api.CodeNotFound},
		{"unknown version", "GET", "/api/v2/state", "", ``, 404, api.CodeNotFound},
		{"wrong method", "DELETE", "/api/v1/state", "", ``, 405, api.CodeMethod},
		{"GET on a POST route", "GET", "/api/v1/login", "", ``, 405, api.CodeMethod},
		{"not signed in", "GET", "/api/v1/users", "", ``, 401, api.CodeUnauthenticated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, er, _ := e.do(nil, c.method, c.path, c.ctype, c.body)
			if status != c.status || er.Code != c.code {
				t.Fatalf("got %d %q (%s), want %d %q", status, er.Code, er.Message, c.status, c.code)
			}
		})
	}
	// None of it changed anything.
	if need, _ := e.store.SetupNeeded(context.Background()); !need {
		t.Fatal("bad input created an administrator")
	}
}

func TestSetupLoginLogout(t *testing.T) {
	e := newEnv(t, db.Options{}, false)
	ctx := context.Background()
	c := e.client()
	st, err := c.State(ctx)
	if err != nil || !st.SetupNeeded || st.User != nil {
		t.Fatalf("fresh state %+v %v", st, err)
	}
	if _, err := c.Login(ctx, "admin", strong); apiCode(err) != api.CodeSetupNeeded {
		t.Fatalf("login before setup: %v", err)
	}
	if _, err := c.Setup(ctx, "admin", "password123"); apiCode(err) != api.CodeWeakPassword {
		t.Fatalf("weak setup: %v", err)
	}
	st, err = c.Setup(ctx, "admin", strong)
	if err != nil || st.User == nil || !st.User.Admin || st.CSRFToken == "" {
		t.Fatalf("setup: %+v %v", st, err)
	}
	if _, err := c.Setup(ctx, "other", strong); apiCode(err) != api.CodeSetupClosed {
		t.Fatalf("second setup: %v", err)
	}
	if _, err := c.Users(ctx); err != nil {
		t.Fatalf("admin after setup cannot list users: %v", err)
	}

	// Sign in from a second client; copy its cookie to replay later.
	c2 := e.client()
	if _, err := c2.Login(ctx, "admin", "nope"); apiCode(err) != api.CodeBadCredentials {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := c2.Login(ctx, "admin", strong); err != nil {
		t.Fatal(err)
	}
	jar := c2.Transport.(api.HTTPTransport).Client.Jar
	u := mustURL(e.srv.URL)
	cookies := jar.Cookies(u)
	if len(cookies) != 1 || cookies[0].Name != api.SessionCookie {
		t.Fatalf("cookies %v", cookies)
	}
	if err := c2.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	// Replaying the old cookie after logout gets nowhere.
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/users", nil)
	req.AddCookie(cookies[0])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("old cookie after logout: %d, want 401", resp.StatusCode)
	}
	// The first session is unaffected.
	if _, err := c.Users(ctx); err != nil {
		t.Fatalf("logout of one session ended another: %v", err)
	}
}

func TestCookieFlags(t *testing.T) {
	for _, tls := range []bool{false, true} {
		e := newEnv(t, db.Options{}, tls)
		_, _, resp := e.do(nil, "POST", "/api/v1/setup", "application/json", `{"name":"admin","password":"`+strong+`"}`)
		var c *http.Cookie
		for _, k := range resp.Cookies() {
			if k.Name == api.SessionCookie {
				c = k
			}
		}
		if c == nil {
			t.Fatal("no session cookie")
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure != tls {
			t.Fatalf("tls=%v: cookie %+v", tls, c)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatal("API answer may be cached")
		}
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, db.Options{}, false)
	ctx := context.Background()
	c := e.client()
	if _, err := c.Setup(ctx, "admin", strong); err != nil {
		t.Fatal(err)
	}
	hc := c.Transport.(api.HTTPTransport).Client
	body := `{"name":"mallory","password":"` + strong + `","admin":true}`
	// No token.
	if s, er, _ := e.do(hc, "POST", "/api/v1/users", "application/json", body); s != 403 || er.Code != api.CodeCSRF {
		t.Fatalf("no CSRF token: %d %v", s, er)
	}
	// Wrong token.
	if s, er, _ := e.do(hc, "POST", "/api/v1/users", "application/json", body, api.CSRFHeader, "forged"); s != 403 || er.Code != api.CodeCSRF {
		t.Fatalf("wrong CSRF token: %d %v", s, er)
	}
	// Right token, but the browser says the request comes from another site.
	if s, er, _ := e.do(hc, "POST", "/api/v1/users", "application/json", body, api.CSRFHeader, c.CSRF, "Origin", "https://evil.example"); s != 403 || er.Code != api.CodeCSRF {
		t.Fatalf("cross-origin: %d %v", s, er)
	}
	if s, er, _ := e.do(hc, "POST", "/api/v1/users", "application/json", body, api.CSRFHeader, c.CSRF, "Sec-Fetch-Site", "cross-site"); s != 403 || er.Code != api.CodeCSRF {
		t.Fatalf("Sec-Fetch-Site cross-site: %d %v", s, er)
	}
	// Login CSRF: a cross-site page cannot sign the victim into the attacker's account.
	if s, er, _ := e.do(nil, "POST", "/api/v1/login", "application/json", `{"name":"admin","password":"`+strong+`"}`, "Origin", "http://evil.example"); s != 403 || er.Code != api.CodeCSRF {
		t.Fatalf("cross-origin login: %d %v", s, er)
	}
	users, _ := e.store.Users(ctx)
	if len(users) != 1 {
		t.Fatalf("a forged request created a user: %+v", users)
	}
	// Same origin with the token works.
	if s, _, _ := e.do(hc, "POST", "/api/v1/users", "application/json", body, api.CSRFHeader, c.CSRF, "Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin"); s != 201 {
		t.Fatalf("legitimate request: %d", s)
	}
}

func TestAdminOnly(t *testing.T) {
	e := newEnv(t, db.Options{}, false)
	ctx := context.Background()
	a := e.client()
	a.Setup(ctx, "admin", strong)
	if _, err := a.CreateUser(ctx, api.CreateUserRequest{Name: "bob", Password: strong}); err != nil {
		t.Fatal(err)
	}
	b := e.client()
	if _, err := b.Login(ctx, "bob", strong); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Users(ctx); apiCode(err) != api.CodeForbidden {
		t.Fatalf("non-admin listing users: %v", err)
	}
	if _, err := b.CreateUser(ctx, api.CreateUserRequest{Name: "eve", Password: strong, Admin: true}); apiCode(err) != api.CodeForbidden {
		t.Fatalf("non-admin creating users: %v", err)
	}
	// The admin disables bob: his session dies at once.
	yes := true
	us, _ := a.Users(ctx)
	var bobID int64
	for _, u := range us {
		if u.Name == "bob" {
			bobID = u.ID
		}
	}
	if _, err := a.UpdateUser(ctx, bobID, api.UpdateUserRequest{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	if err := b.ChangePassword(ctx, strong, "Another-Strong-Passphrase-93"); apiCode(err) != api.CodeUnauthenticated {
		t.Fatalf("disabled user's session: %v", err)
	}
	if _, err := a.UpdateUser(ctx, 1, api.UpdateUserRequest{Disabled: &yes}); apiCode(err) != api.CodeLastAdmin {
		t.Fatalf("disable last admin: %v", err)
	}
	if s, er, _ := e.do(a.Transport.(api.HTTPTransport).Client, "PATCH", "/api/v1/users/abc", "application/json", `{}`, api.CSRFHeader, a.CSRF); s != 404 || er.Code != api.CodeNotFound {
		t.Fatalf("bad user id: %d %v", s, er)
	}
}

func TestThrottledLoginOverHTTP(t *testing.T) {
	e := newEnv(t, db.Options{}, false)
	ctx := context.Background()
	e.client().Setup(ctx, "admin", strong)
	c := e.client()
	for i := 0; i < auth.DefaultThrottle.FreePerAccount; i++ {
		c.Login(ctx, "admin", "wrong")
	}
	s, er, resp := e.do(nil, "POST", "/api/v1/login", "application/json", `{"name":"admin","password":"`+strong+`"}`)
	if s != 429 || er.Code != api.CodeThrottled || er.RetryAfter <= 0 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after repeated misses: %d %+v", s, er)
	}
}

// A full disk: the client gets 507 with a message it can show, the node keeps
// serving, and nothing half-done remains.
func TestDiskFull(t *testing.T) {
	e := newEnv(t, db.Options{}, false)
	// PRAGMA max_page_count is per connection: keep just one.
	e.db.SetMaxOpenConns(1)
	e.db.SetMaxIdleConns(1)
	var pages int
	e.db.QueryRow("PRAGMA page_count").Scan(&pages)
	if _, err := e.db.Exec("PRAGMA max_page_count = " + itoa(pages)); err != nil {
		t.Fatal(err)
	}
	// Use up the room left in the pages of the tables setup writes to, so
	// that its first insert finds the disk full.
	for _, fill := range []string{
		`INSERT INTO settings(key, value) VALUES(hex(randomblob(16)), hex(randomblob(40)))`,
		`INSERT INTO users(name, pw_hash, created_at, pw_changed_at) VALUES('filler' || hex(randomblob(8)), 'x', 0, 0)`,
	} {
		for i := 0; ; i++ {
			_, err := e.db.Exec(fill)
			if db.IsFull(err) {
				break
			}
			if err != nil || i > 10000 {
				t.Fatalf("filling the database: %v", err)
			}
		}
	}
	s, er, _ := e.do(nil, "POST", "/api/v1/setup", "application/json", `{"name":"admin","password":"`+strong+`"}`)
	if s != http.StatusInsufficientStorage || er.Code != api.CodeDiskFull {
		t.Fatalf("setup on a full disk: %d %+v", s, er)
	}
	if need, err := e.store.SetupNeeded(context.Background()); err != nil || !need {
		t.Fatalf("a failed setup left state behind: need=%v err=%v", need, err)
	}
	var admins int
	e.db.QueryRow(`SELECT count(*) FROM users WHERE name = 'admin'`).Scan(&admins)
	if admins != 0 {
		t.Fatal("a failed setup left a half-created administrator")
	}
	if s, _, _ := e.do(nil, "GET", "/api/v1/state", "", ""); s != 200 {
		t.Fatalf("the node stopped answering reads: %d", s)
	}
	e.db.Exec("PRAGMA max_page_count = 1000000")
	if s, _, _ := e.do(nil, "POST", "/api/v1/setup", "application/json", `{"name":"admin","password":"`+strong+`"}`); s != 201 {
		t.Fatalf("setup once space is back: %d", s)
	}
}

// A locked database: 503 with Retry-After, then normal service.
func TestDatabaseLocked(t *testing.T) {
	e := newEnv(t, db.Options{BusyTimeoutMS: 50}, false)
	path := ""
	e.db.QueryRow("PRAGMA database_list").Scan(new(int), new(string), &path)
	holder, err := db.Open(context.Background(), path, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	tx, err := holder.Begin()
	if err != nil {
		t.Fatal(err)
	}
	tx.Exec(`INSERT INTO settings(key, value) VALUES('lock', 'held')`)
	s, er, resp := e.do(nil, "POST", "/api/v1/setup", "application/json", `{"name":"admin","password":"`+strong+`"}`)
	if s != http.StatusServiceUnavailable || er.Code != api.CodeBusy || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("setup while locked: %d %+v", s, er)
	}
	tx.Rollback()
	if s, _, _ := e.do(nil, "POST", "/api/v1/setup", "application/json", `{"name":"admin","password":"`+strong+`"}`); s != 201 {
		t.Fatalf("setup after the lock: %d", s)
	}
}

func TestPanicIsA500AndTheNodeLives(t *testing.T) {
	logs := &strings.Builder{}
	a := &API{Log: slog.New(slog.NewTextHandler(logs, nil))}
	h := a.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/boom" {
			panic("boom")
		}
		w.WriteHeader(204)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	var er api.ErrorResponse
	json.NewDecoder(resp.Body).Decode(&er)
	resp.Body.Close()
	if resp.StatusCode != 500 || er.Error.Code != api.CodeInternal {
		t.Fatalf("panic: %d %+v", resp.StatusCode, er)
	}
	if !strings.Contains(logs.String(), "boom") {
		t.Fatal("the panic was not logged")
	}
	resp, err = http.Get(srv.URL + "/fine")
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("after a panic: %v %v", resp, err)
	}
}

func apiCode(err error) string {
	if e, ok := err.(*api.Error); ok {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return "other: " + err.Error()
}
