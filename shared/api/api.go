// Package api holds the JSON wire types of the node's HTTP API (/api/v1/...).
// The browser (wasm), the server and the CLI all compile this package, so a
// request or response has exactly one definition.
package api

import "time"

// Prefix is the path under which every API route lives.
const Prefix = "/api/v1/"

// CSRFHeader carries the session's CSRF token on every state-changing request.
const CSRFHeader = "X-CSRF-Token"

// SessionCookie is the name of the HttpOnly session cookie.
const SessionCookie = "cube_session"

// Error is the body of every non-2xx API response: {"error": {...}}.
// Code is stable and machine-readable; Message is a sentence a person can act on.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the request field the error is about, when there is one.
	Field string `json:"field,omitempty"`
	// RetryAfter is set (seconds) when the client may retry later (429, 503).
	RetryAfter int `json:"retry_after,omitempty"`
	// Suggestions accompany a weak_password error.
	Suggestions []string `json:"suggestions,omitempty"`
	// Node is the current state of the node a 409 conflict is about (the
	// Files API: the change was based on a stale version), so the client
	// can retry on top of it without another request.
	Node *Node `json:"node,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// ErrorResponse wraps Error on the wire.
type ErrorResponse struct {
	Error Error `json:"error"`
}

// Error codes.
const (
	CodeBadJSON          = "bad_json"
	CodeBadContentType   = "unsupported_media_type"
	CodeTooLarge         = "request_too_large"
	CodeNotFound         = "not_found"
	CodeMethod           = "method_not_allowed"
	CodeUnauthenticated  = "unauthenticated"
	CodeForbidden        = "forbidden"
	CodeCSRF             = "csrf"
	CodeInvalid          = "invalid"
	CodeWeakPassword     = "weak_password"
	CodeBadCredentials   = "bad_credentials"
	CodeThrottled        = "throttled"
	CodeSetupClosed      = "setup_closed"
	CodeSetupNeeded      = "setup_needed"
	CodeConflict         = "conflict"
	CodeDiskFull         = "disk_full"
	CodeBusy             = "busy"
	CodeInternal         = "internal"
	CodeAccountDisabled  = "account_disabled"
	CodeLastAdmin        = "last_admin"
	CodeWrongOldPassword = "wrong_password"
)

// User is an account as the API shows it.
type User struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Admin     bool      `json:"admin"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	// MustChangePassword is set for an account an administrator created
	// (POST users) until its user chooses their own password.
	MustChangePassword bool `json:"must_change_password,omitempty"`
	// Quota (bytes, 0: none) and Used (bytes, see Usage) are filled in the
	// administrators' list (GET users).
	Quota int64 `json:"quota,omitempty"`
	Used  int64 `json:"used,omitempty"`
}

// State is what GET /api/v1/state returns: everything the app needs to decide
// which page to show. It never fails for anonymous callers.
type State struct {
	SetupNeeded bool   `json:"setup_needed"`
	User        *User  `json:"user,omitempty"`
	CSRFToken   string `json:"csrf_token,omitempty"`
	Version     string `json:"version"`
}

// SetupRequest creates the first administrator (POST /api/v1/setup).
type SetupRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// LoginRequest is the body of POST /api/v1/login.
type LoginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// ChangePasswordRequest is the body of POST /api/v1/password.
type ChangePasswordRequest struct {
	Current string `json:"current"`
	New     string `json:"new"`
	// Bundle is the user's key bundle re-wrapped under the new password
	// (docs/files.md). The node stores it in the same transaction as the
	// new password hash; it is required once the user has keys, so a
	// password change can never leave the keys wrapped under the old one.
	Bundle []byte `json:"bundle,omitempty"`
}

// CreateUserRequest is the body of POST /api/v1/users (administrators only).
type CreateUserRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	Admin    bool   `json:"admin"`
}

// UpdateUserRequest is the body of PATCH /api/v1/users/{id}; nil fields are left alone.
type UpdateUserRequest struct {
	Disabled *bool `json:"disabled,omitempty"`
	Admin    *bool `json:"admin,omitempty"`
	// Quota is the user's storage quota in bytes; 0 means none.
	Quota *int64 `json:"quota,omitempty"`
}

// GridStatus is what GET /api/v1/grid/status (administrators) and `cube
// status` show: this node's roles, the servers it knows, and its helper's work.
type GridStatus struct {
	NodeID      string             `json:"node_id"`
	Nickname    string             `json:"nickname,omitempty"`
	Roles       []string           `json:"roles"`
	Encoding    Encoding           `json:"encoding"`
	Introducers []IntroducerStatus `json:"introducers"`
	Servers     []ServerStatus     `json:"servers"`
	Storage     *StorageStatus     `json:"storage,omitempty"`
	Helper      *HelperStatus      `json:"helper,omitempty"`
}

// Encoding is k-of-n erasure coding with a happiness threshold.
type Encoding struct {
	K     int `json:"k"`
	Happy int `json:"happy"`
	N     int `json:"n"`
}

// IntroducerStatus is one introducer this node follows.
type IntroducerStatus struct {
	Address     string    `json:"address"` // host:port, never the secret part of the NURL
	Connected   bool      `json:"connected"`
	LastContact time.Time `json:"last_contact,omitempty"`
	LastError   string    `json:"last_error,omitempty"`
}

// ServerStatus is one storage server this node knows.
type ServerStatus struct {
	NodeID         string    `json:"node_id"`
	Nickname       string    `json:"nickname,omitempty"`
	Address        string    `json:"address"`
	AvailableSpace int64     `json:"available_space"` // bytes, as last announced or measured; -1 unknown
	Connected      bool      `json:"connected"`
	LastContact    time.Time `json:"last_contact,omitempty"`
	LastError      string    `json:"last_error,omitempty"`
	Self           bool      `json:"self,omitempty"`
}

// StorageStatus is this node's own storage server.
type StorageStatus struct {
	AvailableSpace int64 `json:"available_space"`
	ReservedSpace  int64 `json:"reserved_space"`
	ReadOnly       bool  `json:"read_only"`
}

// HelperStatus is this node's helper's activity.
type HelperStatus struct {
	ActiveUploads int   `json:"active_uploads"`
	StagedBytes   int64 `json:"staged_bytes"`
	PlacingBytes  int64 `json:"placing_bytes"`
	Completed     int64 `json:"completed"`
}
