package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrOffline means the node could not be reached at all (as opposed to the
// node answering with an error).
var ErrOffline = errors.New("The node cannot be reached. Check the connection; nothing was lost.")

// Transport sends one small request and returns the whole response. The
// browser implements it with fetch (wasm/fetch): Go's net/http client would
// add megabytes to the wasm download. The CLI uses HTTPTransport.
type Transport interface {
	RoundTrip(ctx context.Context, req *Request) (*Response, error)
}

// Request is what a Transport sends.
type Request struct {
	Method string
	URL    string
	Header map[string]string
	Body   []byte
}

// Response is what a Transport returns; Body is complete.
type Response struct {
	Status int
	Body   []byte
}

// MaxResponse bounds a JSON answer a Transport reads.
const MaxResponse = 16 << 20

// Client calls the node's API. In the browser the browser keeps the session
// cookie; the CLI gives its transport a cookie jar. Either way the client
// remembers the session's CSRF token from the last State it saw.
type Client struct {
	// Base is the node's origin, e.g. "http://127.0.0.1:8080".
	Base      string
	Transport Transport
	CSRF      string
	// Header is added to every request: a share link's access token
	// (LinkTokenHeader) travels this way.
	Header map[string]string
}

// Do sends in (if not nil) as JSON and decodes the answer into out (if not
// nil). An API error comes back as *Error; a network failure as ErrOffline
// wrapping the cause.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	req := &Request{Method: method, URL: strings.TrimRight(c.Base, "/") + path, Header: map[string]string{"Accept": "application/json"}}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		req.Body = b
		req.Header["Content-Type"] = "application/json"
	}
	c.addHeaders(req, method)
	resp, err := c.Transport.RoundTrip(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w (%v)", ErrOffline, err)
	}
	if resp.Status >= 300 {
		return ResponseError(resp.Status, resp.Body)
	}
	if out != nil && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return fmt.Errorf("decoding the node's answer: %w", err)
		}
	}
	if st, ok := out.(*State); ok {
		c.CSRF = st.CSRFToken
	}
	return nil
}

// ResponseError is the *Error of a non-2xx answer: the node's own (its
// JSON error body), or one naming the status.
func ResponseError(status int, body []byte) *Error {
	var er ErrorResponse
	if json.Unmarshal(body, &er) == nil && er.Error.Code != "" {
		return &er.Error
	}
	return &Error{Code: CodeInternal, Message: fmt.Sprintf("The node answered with HTTP status %d.", status)}
}

// State fetches the session state (and remembers the CSRF token).
func (c *Client) State(ctx context.Context) (State, error) {
	var st State
	err := c.Do(ctx, http.MethodGet, Prefix+"state", nil, &st)
	return st, err
}

// Login signs in.
func (c *Client) Login(ctx context.Context, name, pw string) (State, error) {
	var st State
	err := c.Do(ctx, http.MethodPost, Prefix+"login", LoginRequest{Name: name, Password: pw}, &st)
	return st, err
}

// Setup creates the first administrator and signs in as them.
func (c *Client) Setup(ctx context.Context, name, pw string) (State, error) {
	var st State
	err := c.Do(ctx, http.MethodPost, Prefix+"setup", SetupRequest{Name: name, Password: pw}, &st)
	return st, err
}

// Logout ends the session on the node.
func (c *Client) Logout(ctx context.Context) error {
	err := c.Do(ctx, http.MethodPost, Prefix+"logout", nil, nil)
	if err == nil {
		c.CSRF = ""
	}
	return err
}

// ChangePassword changes the signed-in user's password.
func (c *Client) ChangePassword(ctx context.Context, current, next string) error {
	return c.Do(ctx, http.MethodPost, Prefix+"password", ChangePasswordRequest{Current: current, New: next}, nil)
}

// Users lists accounts (administrators only).
func (c *Client) Users(ctx context.Context) ([]User, error) {
	var us []User
	err := c.Do(ctx, http.MethodGet, Prefix+"users", nil, &us)
	return us, err
}

// CreateUser adds an account (administrators only).
func (c *Client) CreateUser(ctx context.Context, req CreateUserRequest) (User, error) {
	var u User
	err := c.Do(ctx, http.MethodPost, Prefix+"users", req, &u)
	return u, err
}

// UpdateUser changes an account's flags (administrators only).
func (c *Client) UpdateUser(ctx context.Context, id int64, req UpdateUserRequest) (User, error) {
	var u User
	err := c.Do(ctx, http.MethodPatch, fmt.Sprintf("%susers/%d", Prefix, id), req, &u)
	return u, err
}

// GridStatus fetches the grid status (administrators only).
func (c *Client) GridStatus(ctx context.Context) (GridStatus, error) {
	var s GridStatus
	err := c.Do(ctx, http.MethodGet, Prefix+"grid/status", nil, &s)
	return s, err
}

// addHeaders puts the client's own headers and, on state changes, the CSRF
// token on req.
func (c *Client) addHeaders(req *Request, method string) {
	for k, v := range c.Header {
		req.Header[k] = v
	}
	if c.CSRF != "" && method != http.MethodGet && method != http.MethodHead {
		req.Header[CSRFHeader] = c.CSRF
	}
}
