package helper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/shared/hashtree"
)

// URL paths of the helper protocol (docs/spec/helper.md).
const (
	// PathPrefix is where the handler is mounted.
	PathPrefix = "/helper/v1/"
	pathUpload = PathPrefix + "upload/"
)

// mediaTypeCBOR is the type of every request and response body except
// chunk data.
const mediaTypeCBOR = wire.MediaTypeCBOR

const (
	// maxBeginBody bounds the begin request (about 80 bytes in practice).
	maxBeginBody = 4 << 10
	// bodyIdleTimeout is how long a chunk's body may stall before the
	// request is dropped, releasing the session for the uploader's retry.
	// It is renewed at every read, so slow links are fine; dead ones are
	// not kept.
	bodyIdleTimeout = 2 * time.Minute
)

func uploadPath(si wire.StorageIndex) string { return pathUpload + si.String() }

func finishPath(si wire.StorageIndex) string { return uploadPath(si) + "/finish" }

type handler struct {
	s    *Service
	auth string
	mux  *http.ServeMux
}

// NewHandler returns the HTTP face of s: the endpoints under PathPrefix,
// for grid clients, each request authorised by the helper's swissnum in an
// "Authorization: Tahoe-LAFS <base64 swissnum>" header, as in the storage
// protocol. Serve it on the node's TLS listener.
func NewHandler(s *Service, swissnum string) http.Handler {
	h := &handler{s: s, auth: wire.AuthorizationValue(swissnum), mux: http.NewServeMux()}
	h.mux.HandleFunc("POST "+pathUpload+"{si}", h.wrap(h.begin))
	h.mux.HandleFunc("PATCH "+pathUpload+"{si}", h.wrap(h.chunk))
	h.mux.HandleFunc("GET "+pathUpload+"{si}", h.wrap(h.status))
	h.mux.HandleFunc("DELETE "+pathUpload+"{si}", h.wrap(h.abort))
	h.mux.HandleFunc("POST "+pathUpload+"{si}/finish", h.wrap(h.finish))
	return h
}

// ServeHTTP checks authorisation before anything else, so that a client
// without the swissnum learns nothing, not even which paths exist.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !wire.CheckAuthorization(r.Header.Get(wire.HeaderAuthorization), h.auth) {
		writeError(w, http.StatusUnauthorized, "missing or wrong Authorization")
		return
	}
	h.mux.ServeHTTP(w, r)
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, si wire.StorageIndex) error

func (h *handler) wrap(f handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		si, err := wire.ParseStorageIndex(r.PathValue("si"))
		if err != nil {
			writeError(w, http.StatusBadRequest, "malformed storage index")
			return
		}
		if err := f(w, r, si); err != nil {
			h.fail(w, r, err)
		}
	}
}

// HTTPStatus returns the HTTP status code for an error from the Service, as
// the handler sends it, so that other front ends (the web API) answer
// alike; 0 means an internal error, whose text is not for the client.
func HTTPStatus(err error) int {
	for _, m := range []struct {
		err  error
		code int
	}{
		{ErrInvalid, http.StatusBadRequest},
		{ErrNotFound, http.StatusNotFound},
		{ErrConflict, http.StatusConflict},
		{ErrTooLarge, http.StatusRequestEntityTooLarge},
		{ErrRange, http.StatusRequestedRangeNotSatisfiable},
		{ErrIntegrity, http.StatusUnprocessableEntity},
		{ErrPlacement, http.StatusBadGateway},
		{ErrBusy, http.StatusServiceUnavailable},
		{ErrInsufficientStorage, http.StatusInsufficientStorage},
	} {
		if errors.Is(err, m.err) {
			return m.code
		}
	}
	return 0
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := HTTPStatus(err)
	switch {
	case code == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "10")
	case code != 0:
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		// The client went away or the request timed out; the answer
		// will likely not be read, but say what happened.
		code, err = http.StatusServiceUnavailable, errors.New("request cancelled")
	default:
		h.s.log.Error("helper: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		code, err = http.StatusInternalServerError, errors.New("internal error")
	}
	writeError(w, code, err.Error())
}

func writeError(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

func writeStatus(w http.ResponseWriter, st Status) error {
	body := encodeStatus(st)
	w.Header().Set("Content-Type", mediaTypeCBOR)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body) // an error means the client went away
	return nil
}

// readCBORBody reads a small CBOR request body. ok is false if it
// answered the request already (wrong type, too large).
func readCBORBody(w http.ResponseWriter, r *http.Request) (body []byte, ok bool, err error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != mediaTypeCBOR {
			writeError(w, http.StatusUnsupportedMediaType, "the request body must be "+mediaTypeCBOR)
			return nil, false, nil
		}
	}
	body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBeginBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("%w: reading the body: %v", ErrInvalid, err)
	}
	return body, true, nil
}

func (h *handler) begin(w http.ResponseWriter, r *http.Request, si wire.StorageIndex) error {
	body, ok, err := readCBORBody(w, r)
	if !ok {
		return err
	}
	spec, err := decodeSpec(body)
	if err != nil {
		return err
	}
	st, err := h.s.Begin(r.Context(), si, spec)
	if err != nil {
		return err
	}
	return writeStatus(w, st)
}

func (h *handler) chunk(w http.ResponseWriter, r *http.Request, si wire.StorageIndex) error {
	cr := r.Header.Get("Content-Range")
	if cr == "" {
		writeError(w, http.StatusBadRequest, "a chunk needs a Content-Range header")
		return nil
	}
	rng, total, err := wire.ParseContentRange(cr)
	if err != nil {
		writeError(w, http.StatusRequestedRangeNotSatisfiable, "Content-Range must be \"bytes first-last/total\"")
		return nil
	}
	n := int64(rng.Len())
	if r.ContentLength >= 0 && r.ContentLength != n {
		writeError(w, http.StatusBadRequest, "Content-Length differs from the Content-Range")
		return nil
	}
	if total >= 0 {
		st, err := h.s.Status(si)
		if err != nil {
			return err
		}
		if total != st.Size {
			writeError(w, http.StatusConflict, "the Content-Range total differs from the upload's size of "+strconv.FormatInt(st.Size, 10))
			return nil
		}
	}
	body := &deadlineReader{r: r.Body, rc: http.NewResponseController(w)}
	st, err := h.s.WriteChunk(r.Context(), si, int64(rng.Begin), io.LimitReader(body, n), n)
	if err != nil {
		return err
	}
	if r.ContentLength < 0 {
		// Chunked encoding: the range's bytes are stored; anything more
		// means the client and we disagree about the chunk.
		var one [1]byte
		if k, _ := io.ReadFull(body, one[:]); k > 0 {
			writeError(w, http.StatusBadRequest, "the body is longer than the Content-Range")
			return nil
		}
	}
	return writeStatus(w, st)
}

// deadlineReader renews the connection's read deadline before each read,
// so a stalled upload is dropped after bodyIdleTimeout without limiting how
// long a slow but live one may take.
type deadlineReader struct {
	r  io.Reader
	rc *http.ResponseController
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	d.rc.SetReadDeadline(time.Now().Add(bodyIdleTimeout)) // unsupported: no deadline, as before
	return d.r.Read(p)
}

func (h *handler) status(w http.ResponseWriter, r *http.Request, si wire.StorageIndex) error {
	st, err := h.s.Status(si)
	if err != nil {
		return err
	}
	return writeStatus(w, st)
}

func (h *handler) finish(w http.ResponseWriter, r *http.Request, si wire.StorageIndex) error {
	// The body is empty (as older clients send it), or a small CBOR map
	// with the crypttext hash.
	var hash *hashtree.Hash
	if r.ContentLength != 0 {
		body, ok, err := readCBORBody(w, r)
		if !ok {
			return err
		}
		if len(body) > 0 {
			if hash, err = decodeFinish(body); err != nil {
				return err
			}
		}
	}
	p, err := h.s.FinishWithHash(r.Context(), si, hash)
	if err != nil {
		return err
	}
	return writeStatus(w, storedStatus(p))
}

func (h *handler) abort(w http.ResponseWriter, r *http.Request, si wire.StorageIndex) error {
	if err := h.s.Abort(r.Context(), si); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
