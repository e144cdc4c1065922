package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/communitycube/cube/server/auth"
	"github.com/communitycube/cube/server/db"
	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/password"
)

// fail maps err to a status and a JSON error. Unknown errors are logged with
// the request path and shown to the client only as "internal error": their
// text may contain details the client has no business seeing.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		reqErr    *requestError
		invalid   *auth.InvalidError
		weak      *password.WeakError
		throttled *auth.ThrottledError
	)
	switch {
	case errors.As(err, &reqErr):
		writeError(w, reqErr.status, reqErr.e)
	case errors.As(err, &weak):
		writeError(w, http.StatusBadRequest, api.Error{Code: api.CodeWeakPassword, Field: "password",
			Message: weak.Error(), Suggestions: weak.Suggestions})
	case errors.As(err, &invalid):
		writeError(w, http.StatusBadRequest, api.Error{Code: api.CodeInvalid, Field: invalid.Field, Message: invalid.Message})
	case errors.As(err, &throttled):
		secs := int((throttled.RetryAfter + 999e6) / 1e9)
		writeError(w, http.StatusTooManyRequests, api.Error{Code: api.CodeThrottled, Message: throttled.Error(), RetryAfter: secs})
	case errors.Is(err, auth.ErrBadCredentials):
		writeError(w, http.StatusUnauthorized, api.Error{Code: api.CodeBadCredentials, Message: err.Error()})
	case errors.Is(err, auth.ErrNoSession):
		writeError(w, http.StatusUnauthorized, api.Error{Code: api.CodeUnauthenticated, Message: err.Error()})
	case errors.Is(err, auth.ErrSetupClosed):
		writeError(w, http.StatusForbidden, api.Error{Code: api.CodeSetupClosed, Message: err.Error()})
	case errors.Is(err, auth.ErrDisabled):
		writeError(w, http.StatusForbidden, api.Error{Code: api.CodeAccountDisabled, Message: err.Error()})
	case errors.Is(err, auth.ErrWrongPassword):
		writeError(w, http.StatusForbidden, api.Error{Code: api.CodeWrongOldPassword, Field: "current", Message: err.Error()})
	case errors.Is(err, auth.ErrNameTaken):
		writeError(w, http.StatusConflict, api.Error{Code: api.CodeConflict, Field: "name", Message: err.Error()})
	case errors.Is(err, auth.ErrNotFound):
		writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: err.Error()})
	case errors.Is(err, auth.ErrLastAdmin):
		writeError(w, http.StatusConflict, api.Error{Code: api.CodeLastAdmin, Message: err.Error()})
	case db.IsFull(err):
		a.Log.Error("database full", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInsufficientStorage, api.Error{Code: api.CodeDiskFull,
			Message: "The node's disk is full, so nothing was changed. Free some space on the node and try again."})
	case db.IsBusy(err):
		a.Log.Warn("database busy", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusServiceUnavailable, api.Error{Code: api.CodeBusy,
			Message: "The node's database is busy. Nothing was changed; try again in a moment.", RetryAfter: 2})
	case errors.Is(err, context.Canceled):
		// The client went away; there is nobody to answer.
	default:
		a.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, api.Error{Code: api.CodeInternal,
			Message: "Something went wrong on the node. The error was logged; nothing was changed."})
	}
}
