package storage

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/communitycube/cube/server/grid/storage/container"
	"github.com/communitycube/cube/server/grid/storage/wire"
)

// httpError is an error with the HTTP status it should produce. Its message
// is sent to the client, so it must never contain secrets.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return fmt.Sprintf("%d %s", e.code, e.msg) }

func errorf(code int, format string, args ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

// request carries what the common wrapper parsed for a handler.
type request struct {
	si      wire.StorageIndex
	shnum   uint16
	secrets wire.Secrets
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, rq *request) error

// ServeHTTP implements http.Handler. Authorization is checked before
// anything else, for every path, so that an unauthorized client learns
// nothing (not even which routes exist).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !wire.CheckAuthorization(r.Header.Get(wire.HeaderAuthorization), s.authHeader) {
		writeError(w, http.StatusUnauthorized, "missing or wrong Authorization")
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) newMux() *http.ServeMux {
	m := http.NewServeMux()
	none := []wire.SecretKind{}
	lease := []wire.SecretKind{wire.LeaseRenewSecret, wire.LeaseCancelSecret}
	alloc := []wire.SecretKind{wire.LeaseRenewSecret, wire.LeaseCancelSecret, wire.UploadSecret}
	upload := []wire.SecretKind{wire.UploadSecret}
	rtw := []wire.SecretKind{wire.LeaseRenewSecret, wire.LeaseCancelSecret, wire.WriteEnabler}

	handle := func(pattern string, secrets []wire.SecretKind, h handlerFunc) {
		m.Handle(pattern, s.wrap(secrets, h))
	}
	handle("GET "+wire.PathVersion, none, s.handleVersion)
	handle("PUT /storage/v1/lease/{si}", lease, s.handleLease)

	handle("POST /storage/v1/immutable/{si}", alloc, s.handleAllocate)
	handle("PATCH /storage/v1/immutable/{si}/{shnum}", upload, s.handleWrite)
	handle("PUT /storage/v1/immutable/{si}/{shnum}/abort", upload, s.handleAbort)
	handle("GET /storage/v1/immutable/{si}/shares", none, s.listHandler(container.KindImmutable))
	handle("GET /storage/v1/immutable/{si}/{shnum}", none, s.readHandler(container.KindImmutable))
	handle("POST /storage/v1/immutable/{si}/{shnum}/corrupt", none, s.corruptHandler(container.KindImmutable))

	handle("POST /storage/v1/mutable/{si}/read-test-write", rtw, s.handleReadTestWrite)
	handle("GET /storage/v1/mutable/{si}/shares", none, s.listHandler(container.KindMutable))
	handle("GET /storage/v1/mutable/{si}/{shnum}", none, s.readHandler(container.KindMutable))
	handle("POST /storage/v1/mutable/{si}/{shnum}/corrupt", none, s.corruptHandler(container.KindMutable))
	return m
}

// wrap parses the X-Tahoe-Authorization secrets and path parameters, runs
// the handler and maps its error to a status code.
func (s *Server) wrap(required []wire.SecretKind, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rq := &request{}
		err := func() error {
			var err error
			rq.secrets, err = wire.ParseSecrets(r.Header.Values(wire.HeaderTahoeAuthorization), required...)
			if err != nil {
				return errorf(http.StatusBadRequest, "%v", err)
			}
			if v := r.PathValue("si"); v != "" {
				if rq.si, err = wire.ParseStorageIndex(v); err != nil {
					return errorf(http.StatusBadRequest, "malformed storage index")
				}
			}
			if v := r.PathValue("shnum"); v != "" {
				if rq.shnum, err = wire.ParseShareNumber(v); err != nil {
					return errorf(http.StatusBadRequest, "malformed share number")
				}
			}
			return h(w, r, rq)
		}()
		if err != nil {
			s.fail(w, r, err)
		}
	})
}

// fail writes the response for a handler error.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		writeError(w, he.code, he.msg)
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "no such share")
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

func writeError(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Del("Content-Range")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

// readCBOR reads and size-checks a CBOR request body. A missing
// Content-Type is taken to mean CBOR, as the protocol says.
func readCBOR(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != wire.MediaTypeCBOR {
			return nil, errorf(http.StatusUnsupportedMediaType, "request body must be %s", wire.MediaTypeCBOR)
		}
	}
	if r.ContentLength > limit {
		return nil, errorf(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errorf(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", limit)
		}
		return nil, errorf(http.StatusBadRequest, "reading request body: %v", err)
	}
	return body, nil
}

// badRequest converts a decoding error into a 400.
func badRequest(err error) error { return errorf(http.StatusBadRequest, "%v", err) }

// acceptsCBOR implements the protocol's Accept rule: no Accept header means
// CBOR; otherwise CBOR (or a wildcard covering it) must be listed.
func acceptsCBOR(r *http.Request) bool {
	vals := r.Header.Values("Accept")
	if len(vals) == 0 {
		return true
	}
	for _, v := range vals {
		for _, part := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			if q, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
					continue
				}
			}
			if mt == wire.MediaTypeCBOR || mt == "application/*" || mt == "*/*" {
				return true
			}
		}
	}
	return false
}

func writeCBOR(w http.ResponseWriter, r *http.Request, code int, body []byte) error {
	if !acceptsCBOR(r) {
		return errorf(http.StatusNotAcceptable, "only %s responses are available", wire.MediaTypeCBOR)
	}
	w.Header().Set("Content-Type", wire.MediaTypeCBOR)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write(body) // an error means the client went away; nothing to tell it
	return nil
}

// serveRange streams share data. Without a Range header the whole share is
// sent with 200. With one, only a single closed "bytes" range is supported
// (416 otherwise); it is clipped to the data length, and an empty result
// is a 204, as the protocol specifies (a Content-Range cannot express an
// empty range).
func serveRange(w http.ResponseWriter, r *http.Request, length int64, open func(off, n int64) io.Reader) error {
	h := w.Header()
	h.Set("Content-Type", wire.MediaTypeOctet)
	rh := r.Header.Get("Range")
	if rh == "" {
		h.Set("Content-Length", strconv.FormatInt(length, 10))
		w.WriteHeader(http.StatusOK)
		io.Copy(w, open(0, length))
		return nil
	}
	rng, err := wire.ParseRange(rh)
	if err != nil {
		h.Set("Content-Range", "bytes */"+strconv.FormatInt(length, 10))
		return errorf(http.StatusRequestedRangeNotSatisfiable, "only a single closed bytes range is supported")
	}
	end := min(rng.End, uint64(length))
	if rng.Begin >= end {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	rng.End = end
	h.Set("Content-Range", wire.FormatContentRange(rng, length))
	h.Set("Content-Length", strconv.FormatUint(rng.Len(), 10))
	w.WriteHeader(http.StatusPartialContent)
	io.Copy(w, open(int64(rng.Begin), int64(rng.Len())))
	return nil
}

func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request, _ *request) error {
	return writeCBOR(w, r, http.StatusOK, wire.EncodeVersion(s.Version()))
}

func (s *Server) listHandler(kind container.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rq *request) error {
		shares, err := s.listKind(rq.si, kind)
		if err != nil {
			return err
		}
		return writeCBOR(w, r, http.StatusOK, wire.EncodeShareList(shares))
	}
}

func (s *Server) readHandler(kind container.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rq *request) error {
		sh, err := s.openShare(rq.si, rq.shnum)
		if err != nil {
			return err
		}
		defer sh.close()
		if sh.kind != kind {
			return errorf(http.StatusNotFound, "no %s share %d", kind, rq.shnum)
		}
		return serveRange(w, r, sh.dataLength(), sh.dataReader)
	}
}
