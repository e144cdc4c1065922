package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/communitycube/cube/shared/api"
)

// MaxJSONBody bounds every JSON request body. API requests are small; a large
// body is a mistake or an attack, and is refused before it is read in full.
const MaxJSONBody = 64 << 10

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"encoding the response failed"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError sends {"error": e} with status.
func writeError(w http.ResponseWriter, status int, e api.Error) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(e.RetryAfter))
	}
	writeJSON(w, status, api.ErrorResponse{Error: e})
}

// requestError is a client mistake found while reading the request.
type requestError struct {
	status int
	e      api.Error
}

func (r *requestError) Error() string { return r.e.Message }

// decodeJSON reads exactly one JSON object from the body into v. It insists
// on Content-Type application/json (a cross-site form cannot send that
// without a CORS preflight, which this API never grants), a bounded size,
// known fields only, and nothing after the object.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeJSONLimit(w, r, v, MaxJSONBody)
}

// decodeJSONLimit is decodeJSON with another size limit.
func decodeJSONLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &requestError{http.StatusUnsupportedMediaType, api.Error{Code: api.CodeBadContentType,
			Message: "Send the request body as JSON with Content-Type: application/json."}}
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	// Anything but whitespace after the object is an error.
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return jsonError(err)
		}
		return &requestError{http.StatusBadRequest, api.Error{Code: api.CodeBadJSON, Message: "The request body has data after the JSON object."}}
	}
	return nil
}

func jsonError(err error) error {
	var maxErr *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	msg := "The request body is not valid JSON."
	switch {
	case errors.As(err, &maxErr):
		return &requestError{http.StatusRequestEntityTooLarge, api.Error{Code: api.CodeTooLarge,
			Message: fmt.Sprintf("The request body is larger than %d bytes.", maxErr.Limit)}}
	case errors.Is(err, io.EOF):
		msg = "The request body is empty; a JSON object was expected."
	case errors.Is(err, io.ErrUnexpectedEOF):
		msg = "The request body is truncated JSON."
	case errors.As(err, &syn):
		msg = fmt.Sprintf("The request body is not valid JSON (at byte %d).", syn.Offset)
	case errors.As(err, &typ):
		msg = fmt.Sprintf("The field %q has the wrong type: expected %s.", typ.Field, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		msg = "Unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ") + "."
	}
	return &requestError{http.StatusBadRequest, api.Error{Code: api.CodeBadJSON, Message: msg}}
}
