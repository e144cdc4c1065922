package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/communitycube/cube/server/auth"
	"github.com/communitycube/cube/server/files"
	"github.com/communitycube/cube/server/grid/helper"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/hashtree"
)

// The Files API (shared/api/files.go lists the routes; docs/files.md, "The
// Files API"). The handlers only translate HTTP to files.Store calls and
// back; every rule lives in the store.

// Files is what the Files API needs. Store is required; Uploads and
// Content may be nil (a node without a helper answers the upload routes
// with 503 no_helper; one without a grid answers content and proof with 503
// grid_unavailable).
type Files struct {
	Store   *files.Store
	Uploads Uploads
	Content Content
}

// Uploads is the node's helper (files.Grid).
type Uploads interface {
	// Params is the encoding of a new upload on the grid as it is now.
	Params() helper.Params
	// Servers is how many storage servers the node knows.
	Servers() int
	Begin(ctx context.Context, si wire.StorageIndex, spec helper.Spec) (helper.Status, error)
	WriteChunk(ctx context.Context, si wire.StorageIndex, off int64, r io.Reader, n int64) (helper.Status, error)
	FinishWithHash(ctx context.Context, si wire.StorageIndex, h *hashtree.Hash) (*helper.Placed, error)
	Status(si wire.StorageIndex) (helper.Status, error)
	Abort(ctx context.Context, si wire.StorageIndex) error
}

// Content reads stored files from the grid (files.Grid).
type Content interface {
	OpenCiphertext(ctx context.Context, v cap.Verifier) (files.Ciphertext, error)
	Proof(ctx context.Context, v cap.Verifier) (*chk.Proof, error)
}

// Limits of the Files API's requests.
const (
	// MaxFilesJSONBody bounds a Files API JSON body: two sealed metadata
	// blobs (files.MaxMeta each) in base64, and the rest.
	MaxFilesJSONBody = 512 << 10
	// MaxChunk bounds one upload PATCH (the engine sends 1 MiB).
	MaxChunk = 16 << 20
	// SessionKeySize is the size of a session key (POST session/key).
	SessionKeySize = 32
)

func (a *API) filesRoutes(mux *http.ServeMux) {
	p := api.Prefix
	s := func(h http.HandlerFunc) http.HandlerFunc { return a.session(false, h) }
	mux.Handle(p+"keys", route{"GET": s(a.getKeys), "PUT": s(a.putKeys)})
	mux.Handle(p+"keys/recover", route{"POST": a.recoverKeys})
	mux.Handle(p+"unlock", route{"POST": s(a.unlock)})
	mux.Handle(p+"session/key", route{"POST": s(a.sessionKey)})
	mux.Handle(p+"nodes", route{"POST": s(a.createNode)})
	mux.Handle(p+"nodes/{id}", route{"GET": s(a.getNode), "PATCH": s(a.updateNode), "DELETE": s(a.trashNode)})
	mux.Handle(p+"nodes/{id}/children", route{"GET": s(a.children)})
	mux.Handle(p+"nodes/{id}/child", route{"GET": s(a.childNamed)})
	mux.Handle(p+"nodes/{id}/versions", route{"GET": s(a.versions), "POST": s(a.newVersion)})
	mux.Handle(p+"nodes/{id}/versions/{vid}", route{"DELETE": s(a.deleteVersion)})
	mux.Handle(p+"nodes/{id}/versions/{vid}/restore", route{"POST": s(a.restoreVersion)})
	mux.Handle(p+"trash", route{"GET": s(a.trash)})
	mux.Handle(p+"trash/empty", route{"POST": s(a.emptyTrash)})
	mux.Handle(p+"trash/{id}", route{"DELETE": s(a.deleteForever)})
	mux.Handle(p+"trash/{id}/restore", route{"POST": s(a.restoreTrash)})
	mux.Handle(p+"recent", route{"GET": s(a.recent)})
	mux.Handle(p+"favorites", route{"GET": s(a.favorites)})
	mux.Handle(p+"usage", route{"GET": s(a.usage)})
	mux.Handle(p+"settings", route{"GET": s(a.getSettings), "PUT": s(a.putSettings)})
	mux.Handle(p+"uploads/{si}", route{"POST": s(a.beginUpload), "PATCH": s(a.sendChunk), "GET": s(a.getUpload), "DELETE": s(a.abortUpload)})
	mux.Handle(p+"uploads/{si}/finish", route{"POST": s(a.finishUpload)})
	mux.Handle(p+"versions/{vid}/content", route{"GET": s(a.content)})
	mux.Handle(p+"versions/{vid}/proof", route{"GET": s(a.proof)})
	a.linkRoutes(mux)
	a.shareRoutes(mux)
}

func currentSession(r *http.Request) auth.Session { return r.Context().Value(sessKey).(auth.Session) }

func (a *API) fs() *files.Store { return a.Files.Store }

// decodeFiles reads a Files API JSON body (larger than the others).
func decodeFiles(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeJSONLimit(w, r, v, MaxFilesJSONBody)
}

func noContent(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// failFiles maps the errors of package files (and of the helper) to API
// errors; anything else goes to fail.
func (a *API) failFiles(w http.ResponseWriter, r *http.Request, err error) {
	var (
		conflict *files.ConflictError
		quota    *files.QuotaError
	)
	if failShares(w, err) || failLinks(w, err) {
		return
	}
	switch {
	case errors.As(err, &conflict):
		n := conflict.Node
		writeError(w, http.StatusConflict, api.Error{Code: api.CodeConflict, Message: conflict.Message, Node: &n})
	case errors.As(err, &quota):
		writeError(w, http.StatusRequestEntityTooLarge, api.Error{Code: api.CodeQuotaExceeded, Message: quota.Error()})
	case errors.Is(err, files.ErrNotFound), errors.Is(err, files.ErrVersionNotFound), errors.Is(err, files.ErrNoUpload):
		writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: err.Error()})
	case errors.Is(err, files.ErrUploadNotFound):
		writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound, Field: "version.storage_index", Message: err.Error()})
	case errors.Is(err, files.ErrNoKeys):
		writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNoKeys, Message: err.Error()})
	case errors.Is(err, files.ErrNameTaken):
		writeError(w, http.StatusConflict, api.Error{Code: api.CodeNameTaken, Field: "name_hmac", Message: err.Error()})
	case errors.Is(err, files.ErrIDTaken):
		writeError(w, http.StatusConflict, api.Error{Code: api.CodeConflict, Field: "id", Message: err.Error()})
	case errors.Is(err, files.ErrInTrash):
		writeError(w, http.StatusConflict, api.Error{Code: api.CodeInTrash, Message: err.Error()})
	case errors.Is(err, files.ErrMustChangePassword):
		writeError(w, http.StatusForbidden, api.Error{Code: api.CodeMustChangePassword, Message: err.Error()})
	case errors.Is(err, files.ErrWrongRecovery):
		writeError(w, http.StatusForbidden, api.Error{Code: api.CodeRecovery, Field: "recovery_auth", Message: err.Error()})
	case errors.Is(err, files.ErrKeysChanged):
		writeError(w, http.StatusConflict, api.Error{Code: api.CodeConflict, Field: "base_bundle", Message: err.Error()})
	case errors.Is(err, files.ErrKeysExist):
		writeError(w, http.StatusConflict, api.Error{Code: api.CodeConflict, Field: "root_folder", Message: err.Error()})
	case errors.Is(err, files.ErrUploadTaken):
		writeError(w, http.StatusConflict, api.Error{Code: api.CodeConflict, Message: err.Error()})
	case errors.Is(err, helper.ErrInvalid):
		writeError(w, http.StatusBadRequest, api.Error{Code: api.CodeInvalid, Message: err.Error()})
	case errors.Is(err, helper.ErrNotFound):
		writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: "The node holds no such upload (it was finished, abandoned or left idle too long): begin it again."})
	case errors.Is(err, helper.ErrConflict):
		writeError(w, http.StatusConflict, api.Error{Code: api.CodeConflict, Message: err.Error()})
	case errors.Is(err, helper.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, api.Error{Code: api.CodeTooLarge, Message: err.Error()})
	case errors.Is(err, helper.ErrRange):
		writeError(w, http.StatusRequestedRangeNotSatisfiable, api.Error{Code: api.CodeRange, Message: err.Error()})
	case errors.Is(err, helper.ErrIntegrity):
		writeError(w, http.StatusUnprocessableEntity, api.Error{Code: api.CodeIntegrity, Message: "The ciphertext the node received does not match the crypttext hash; the upload was discarded: upload the file again."})
	case errors.Is(err, helper.ErrPlacement):
		a.Log.Warn("placing an upload failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusBadGateway, api.Error{Code: api.CodeGrid, Message: "Storing the file on the grid failed; the node keeps what it received. Try finishing again later.", RetryAfter: 30})
	case errors.Is(err, helper.ErrBusy):
		writeError(w, http.StatusServiceUnavailable, api.Error{Code: api.CodeBusy, Message: "The node's helper is busy; try again in a moment.", RetryAfter: 10})
	case errors.Is(err, helper.ErrInsufficientStorage):
		writeError(w, http.StatusInsufficientStorage, api.Error{Code: api.CodeDiskFull, Message: "The node has no room to stage this upload now. Try again later, or ask its administrator."})
	default:
		a.fail(w, r, err)
	}
}

// noHelper answers the upload routes of a node without a helper.
func noHelper(w http.ResponseWriter) {
	writeError(w, http.StatusServiceUnavailable, api.Error{Code: api.CodeNoHelper,
		Message: "This node has no upload helper: it cannot store files. Ask its administrator."})
}

func gridUnavailable(w http.ResponseWriter, msg string) {
	writeError(w, http.StatusServiceUnavailable, api.Error{Code: api.CodeGrid, Message: msg, RetryAfter: 10})
}

// ---- keys, unlock, session key

func (a *API) getKeys(w http.ResponseWriter, r *http.Request) {
	k, err := a.fs().GetKeys(r.Context(), currentUser(r).ID)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, k)
}

func (a *API) putKeys(w http.ResponseWriter, r *http.Request) {
	var req api.PutKeysRequest
	if err := decodeFiles(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	k, err := a.fs().PutKeys(r.Context(), currentUser(r).ID, req)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, k)
}

// recoverKeys needs no session: the recovery key's proof is the
// credential, throttled together with sign-in.
func (a *API) recoverKeys(w http.ResponseWriter, r *http.Request) {
	var req api.RecoverRequest
	if err := decodeFiles(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	u, bundle, err := a.fs().Recover(r.Context(), req, r.RemoteAddr)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	resp := api.RecoverResponse{Bundle: bundle}
	if req.NewPassword != "" {
		a.Log.Info("password reset with the recovery key", "user", u.Name)
		token, sess, err := a.Auth.NewSession(r.Context(), u.ID, r.UserAgent(), r.RemoteAddr)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.setCookie(w, r, token, sess.ExpiresAt)
		resp.State = &api.State{User: apiUser(u), CSRFToken: sess.CSRFToken, Version: a.Version}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (a *API) unlock(w http.ResponseWriter, r *http.Request) {
	var req api.UnlockRequest
	if err := decodeFiles(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if len(req.EscrowKey) != files.EscrowKeySize {
		a.fail(w, r, &auth.InvalidError{Field: "escrow_key", Message: fmt.Sprintf("escrow_key must be %d bytes.", files.EscrowKeySize)})
		return
	}
	sess := currentSession(r)
	a.fs().Escrow.Put(sess.TokenHash(), currentUser(r).ID, sess.ExpiresAt, req.EscrowKey)
	clear(req.EscrowKey)
	noContent(w)
}

func (a *API) sessionKey(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 {
		var req api.SessionKeyRequest
		if err := decodeFiles(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	sess := currentSession(r)
	key, err := a.fs().SessionKeys.GetOrCreate(sess.TokenHash(), currentUser(r).ID, sess.ExpiresAt, a.fs().Now(), func() ([]byte, error) {
		k := make([]byte, SessionKeySize)
		_, err := rand.Read(k)
		return k, err
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.SessionKey{Key: key})
	clear(key)
}

// ---- nodes

func (a *API) getNode(w http.ResponseWriter, r *http.Request) {
	info, err := a.fs().GetNode(r.Context(), currentUser(r).ID, r.PathValue("id"))
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (a *API) children(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := optInt(q.Get("limit"), "limit")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.fs().Children(r.Context(), currentUser(r).ID, r.PathValue("id"), q.Get("after"), limit)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (a *API) childNamed(w http.ResponseWriter, r *http.Request) {
	hmac, err := base64.RawURLEncoding.DecodeString(r.URL.Query().Get("name_hmac"))
	if err != nil {
		a.fail(w, r, &auth.InvalidError{Field: "name_hmac", Message: "name_hmac must be unpadded base64url."})
		return
	}
	n, err := a.fs().ChildNamed(r.Context(), currentUser(r).ID, r.PathValue("id"), hmac)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

func optInt(s, field string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, &auth.InvalidError{Field: field, Message: field + " must be a non-negative whole number."}
	}
	return n, nil
}

func (a *API) createNode(w http.ResponseWriter, r *http.Request) {
	var req api.CreateNodeRequest
	if err := decodeFiles(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	n, err := a.fs().CreateNode(r.Context(), currentUser(r).ID, req)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, n)
}

func (a *API) updateNode(w http.ResponseWriter, r *http.Request) {
	var req api.UpdateNodeRequest
	if err := decodeFiles(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	n, err := a.fs().UpdateNode(r.Context(), currentUser(r).ID, r.PathValue("id"), req)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

func (a *API) trashNode(w http.ResponseWriter, r *http.Request) {
	base, err := strconv.ParseInt(r.URL.Query().Get("base_version"), 10, 64)
	if err != nil {
		a.fail(w, r, &auth.InvalidError{Field: "base_version", Message: "base_version (the node's version counter) is required."})
		return
	}
	n, err := a.fs().TrashNode(r.Context(), currentUser(r).ID, r.PathValue("id"), base)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

// ---- versions

func (a *API) versions(w http.ResponseWriter, r *http.Request) {
	vs, err := a.fs().Versions(r.Context(), currentUser(r).ID, r.PathValue("id"))
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, vs)
}

func (a *API) newVersion(w http.ResponseWriter, r *http.Request) {
	var req api.NewVersionRequest
	if err := decodeFiles(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	n, err := a.fs().NewVersion(r.Context(), currentUser(r).ID, r.PathValue("id"), req)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

func (a *API) restoreVersion(w http.ResponseWriter, r *http.Request) {
	var req api.RestoreVersionRequest
	if err := decodeFiles(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	n, err := a.fs().RestoreVersion(r.Context(), currentUser(r).ID, r.PathValue("id"), r.PathValue("vid"), req)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

func (a *API) deleteVersion(w http.ResponseWriter, r *http.Request) {
	if err := a.fs().DeleteVersion(r.Context(), currentUser(r).ID, r.PathValue("id"), r.PathValue("vid")); err != nil {
		a.failFiles(w, r, err)
		return
	}
	noContent(w)
}

// ---- trash

func (a *API) trash(w http.ResponseWriter, r *http.Request) {
	ns, err := a.fs().Trash(r.Context(), currentUser(r).ID)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ns)
}

func (a *API) restoreTrash(w http.ResponseWriter, r *http.Request) {
	var req api.RestoreRequest
	if r.ContentLength != 0 {
		if err := decodeFiles(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	n, err := a.fs().RestoreTrash(r.Context(), currentUser(r).ID, r.PathValue("id"), req)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

func (a *API) deleteForever(w http.ResponseWriter, r *http.Request) {
	if err := a.fs().DeleteForever(r.Context(), currentUser(r).ID, r.PathValue("id")); err != nil {
		a.failFiles(w, r, err)
		return
	}
	noContent(w)
}

func (a *API) emptyTrash(w http.ResponseWriter, r *http.Request) {
	if err := a.fs().EmptyTrash(r.Context(), currentUser(r).ID); err != nil {
		a.failFiles(w, r, err)
		return
	}
	noContent(w)
}

// ---- lists, usage, settings

func (a *API) recent(w http.ResponseWriter, r *http.Request) {
	limit, err := optInt(r.URL.Query().Get("limit"), "limit")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ns, err := a.fs().Recent(r.Context(), currentUser(r).ID, limit)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ns)
}

func (a *API) favorites(w http.ResponseWriter, r *http.Request) {
	ns, err := a.fs().Favorites(r.Context(), currentUser(r).ID)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ns)
}

func (a *API) usage(w http.ResponseWriter, r *http.Request) {
	u, err := a.fs().Usage(r.Context(), currentUser(r).ID)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (a *API) getSettings(w http.ResponseWriter, r *http.Request) {
	st, err := a.fs().Settings(r.Context(), currentUser(r).ID)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (a *API) putSettings(w http.ResponseWriter, r *http.Request) {
	var req api.FileSettings
	if err := decodeFiles(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	st, err := a.fs().PutSettings(r.Context(), currentUser(r).ID, req)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// ---- uploads

// uploadSI reads the storage index of an upload route; a malformed one is
// "not found".
func uploadSI(w http.ResponseWriter, r *http.Request) (wire.StorageIndex, bool) {
	si, err := wire.ParseStorageIndex(r.PathValue("si"))
	if err != nil {
		writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: "No such upload: a storage index is 26 lowercase base32 characters."})
		return si, false
	}
	return si, true
}

func uploadStatus(st helper.Status) api.UploadStatus {
	out := api.UploadStatus{Received: st.Received, Size: st.Size, State: string(st.State), SegmentSize: st.SegmentSize}
	if st.State == helper.StateStored || st.State == helper.StatePlacing {
		out.Received = st.Size
	}
	return out
}

// uploader is whose uploads the upload routes serve: the signed-in user's
// own, or those of a drop link (links.go), which belong to the link's owner
// and are reserved to the link.
type uploader struct {
	// get finds an upload of the caller's and its owner, or
	// files.ErrNoUpload.
	get func(ctx context.Context, si wire.StorageIndex) (owner int64, u *files.Upload, err error)
	// begin registers an upload (or its resume) before the helper has
	// any of it, checking quotas and limits.
	begin func(ctx context.Context, si wire.StorageIndex, size int64) (owner int64, created bool, err error)
	// nodeEncoding refuses an encoding chosen by the client: an anonymous
	// uploader must not pick how much room a file takes on the grid.
	nodeEncoding bool
}

// ownUploads is the signed-in user's uploader.
func (a *API) ownUploads(r *http.Request) uploader {
	uid := currentUser(r).ID
	return uploader{
		get: func(ctx context.Context, si wire.StorageIndex) (int64, *files.Upload, error) {
			u, err := a.fs().GetUpload(ctx, uid, si)
			return uid, u, err
		},
		begin: func(ctx context.Context, si wire.StorageIndex, size int64) (int64, bool, error) {
			created, err := a.fs().BeginUpload(ctx, uid, si, size)
			return uid, created, err
		},
	}
}

func (a *API) beginUpload(w http.ResponseWriter, r *http.Request) {
	a.beginUploadAs(w, r, a.ownUploads(r))
}

func (a *API) sendChunk(w http.ResponseWriter, r *http.Request) {
	a.sendChunkAs(w, r, a.ownUploads(r))
}

func (a *API) finishUpload(w http.ResponseWriter, r *http.Request) {
	a.finishUploadAs(w, r, a.ownUploads(r))
}

func (a *API) getUpload(w http.ResponseWriter, r *http.Request) {
	a.getUploadAs(w, r, a.ownUploads(r))
}

func (a *API) abortUpload(w http.ResponseWriter, r *http.Request) {
	a.abortUploadAs(w, r, a.ownUploads(r))
}

func (a *API) beginUploadAs(w http.ResponseWriter, r *http.Request, as uploader) {
	si, ok := uploadSI(w, r)
	if !ok {
		return
	}
	var req api.BeginUploadRequest
	if err := decodeFiles(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if a.Files.Uploads == nil {
		noHelper(w)
		return
	}
	up := a.Files.Uploads
	ctx := r.Context()
	if req.Size <= chk.LiteralThreshold {
		a.fail(w, r, &auth.InvalidError{Field: "size", Message: fmt.Sprintf("A file of at most %d bytes is not uploaded: its content goes in its version's metadata.", chk.LiteralThreshold)})
		return
	}
	// A resume of an upload this user began: the helper's session says
	// where it is (its encoding was fixed at the first begin, perhaps for
	// a grid of another size than now).
	if _, u, err := as.get(ctx, si); err == nil {
		if u.Size != req.Size {
			a.fail(w, r, &auth.InvalidError{Field: "size", Message: fmt.Sprintf("An upload with this storage index and another size (%d bytes) is in progress.", u.Size)})
			return
		}
		if u.Finished() {
			writeJSON(w, http.StatusOK, api.UploadStatus{Received: u.Size, Size: u.Size, State: string(helper.StateStored)})
			return
		}
		if req.K == 0 {
			if st, err := up.Status(si); err == nil {
				writeJSON(w, http.StatusOK, uploadStatus(st))
				return
			}
		}
	} else if !errors.Is(err, files.ErrNoUpload) {
		a.failFiles(w, r, err)
		return
	}
	if as.nodeEncoding && (req.K != 0 || req.N != 0 || req.Happy != 0 || req.SegmentSize != 0) {
		a.fail(w, r, &auth.InvalidError{Field: "k", Message: "An upload through a link uses the node's encoding: leave k, n, happy and segment_size out."})
		return
	}
	var params helper.Params
	if req.K == 0 {
		if up.Servers() == 0 {
			gridUnavailable(w, "The node knows no storage server yet, so it cannot store files. Try again in a moment.")
			return
		}
		params = up.Params()
	} else {
		params = helper.Params{K: req.K, N: req.N, Happy: req.Happy, MaxSegmentSize: req.SegmentSize}
		if params.Happy == 0 {
			params.Happy = params.N
		}
		if params.MaxSegmentSize == 0 {
			params.MaxSegmentSize = up.Params().MaxSegmentSize
		}
	}
	uid, created, err := as.begin(ctx, si, req.Size)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	st, err := up.Begin(ctx, si, helper.Spec{Size: req.Size, Params: params})
	if err != nil {
		if created {
			a.fs().DropUpload(context.WithoutCancel(ctx), uid, si)
		}
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, uploadStatus(st))
}

// parseContentRange reads "bytes A-B/SIZE".
func parseContentRange(s string) (first, last, size int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, sz, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	first, err1 = strconv.ParseInt(a, 10, 64)
	last, err2 = strconv.ParseInt(b, 10, 64)
	size, err3 = strconv.ParseInt(sz, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || first < 0 || last < first || size <= 0 {
		return 0, 0, 0, false
	}
	return first, last, size, true
}

// sendChunk streams the body to the helper; it is never held in memory
// beyond the helper's copy buffer.
func (a *API) sendChunkAs(w http.ResponseWriter, r *http.Request, as uploader) {
	si, ok := uploadSI(w, r)
	if !ok {
		return
	}
	if a.Files.Uploads == nil {
		noHelper(w)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/octet-stream" {
		writeError(w, http.StatusUnsupportedMediaType, api.Error{Code: api.CodeBadContentType,
			Message: "Send ciphertext with Content-Type: application/octet-stream."})
		return
	}
	first, last, size, ok := parseContentRange(r.Header.Get("Content-Range"))
	if !ok {
		a.fail(w, r, &auth.InvalidError{Field: "Content-Range", Message: "A chunk needs the header Content-Range: bytes FIRST-LAST/SIZE."})
		return
	}
	n := last - first + 1
	if n > MaxChunk {
		writeError(w, http.StatusRequestEntityTooLarge, api.Error{Code: api.CodeTooLarge, Message: fmt.Sprintf("A chunk is at most %d bytes.", MaxChunk)})
		return
	}
	if r.ContentLength >= 0 && r.ContentLength != n {
		a.fail(w, r, &auth.InvalidError{Field: "Content-Range", Message: "The body's length does not match its Content-Range."})
		return
	}
	_, u, err := as.get(r.Context(), si)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	if size != u.Size {
		a.fail(w, r, &auth.InvalidError{Field: "Content-Range", Message: fmt.Sprintf("This upload is of %d bytes, not %d.", u.Size, size)})
		return
	}
	if last >= u.Size {
		writeError(w, http.StatusRequestedRangeNotSatisfiable, api.Error{Code: api.CodeRange, Message: "The chunk lies beyond the upload's size."})
		return
	}
	if u.Finished() {
		writeError(w, http.StatusConflict, api.Error{Code: api.CodeConflict, Message: "This upload is finished: it takes no more bytes."})
		return
	}
	body := http.MaxBytesReader(w, r.Body, n)
	st, err := a.Files.Uploads.WriteChunk(r.Context(), si, first, body, n)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, uploadStatus(st))
}

func (a *API) finishUploadAs(w http.ResponseWriter, r *http.Request, as uploader) {
	si, ok := uploadSI(w, r)
	if !ok {
		return
	}
	var req api.FinishUploadRequest
	if err := decodeFiles(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	var flat, root *hashtree.Hash
	switch {
	case len(req.CrypttextHash) > 0 && len(req.CrypttextRootHash) > 0:
		a.fail(w, r, &auth.InvalidError{Field: "crypttext_root_hash", Message: "Give crypttext_hash or crypttext_root_hash, not both."})
		return
	case len(req.CrypttextHash) == hashtree.HashSize:
		flat = (*hashtree.Hash)(req.CrypttextHash)
	case len(req.CrypttextRootHash) == hashtree.HashSize:
		root = (*hashtree.Hash)(req.CrypttextRootHash)
	case len(req.CrypttextRootHash) > 0:
		a.fail(w, r, &auth.InvalidError{Field: "crypttext_root_hash", Message: fmt.Sprintf("crypttext_root_hash must be %d bytes.", hashtree.HashSize)})
		return
	default:
		a.fail(w, r, &auth.InvalidError{Field: "crypttext_hash", Message: fmt.Sprintf("crypttext_hash must be %d bytes.", hashtree.HashSize)})
		return
	}
	ctx := r.Context()
	uid, u, err := as.get(ctx, si)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	if u.Finished() {
		writeJSON(w, http.StatusOK, api.Uploaded{VerifyCap: u.VerifyCap, UEB: u.UEB})
		return
	}
	if a.Files.Uploads == nil {
		noHelper(w)
		return
	}
	placed, err := a.Files.Uploads.FinishWithHash(ctx, si, flat)
	if err == nil && root != nil {
		err = checkRootHash(placed, *root)
	}
	if errors.Is(err, helper.ErrIntegrity) {
		a.fs().DropUpload(context.WithoutCancel(ctx), uid, si)
	}
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	vc := placed.VerifyCap.String()
	if err := a.fs().FinishUpload(ctx, uid, si, vc, placed.UEB); err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.Uploaded{VerifyCap: vc, UEB: placed.UEB})
}

// checkRootHash checks the file an upload became against the uploader's
// crypttext root hash. Unlike the flat hash, the helper cannot check it
// before placing (it is the encoder's own result): a mismatch discards the
// upload, and its shares are left to expire with their leases.
func checkRootHash(p *helper.Placed, root hashtree.Hash) error {
	u, err := chk.ParseUEB(p.UEB)
	if err != nil {
		return fmt.Errorf("%w: the stored file's URI extension block: %v", helper.ErrIntegrity, err)
	}
	if u.CrypttextRootHash != root {
		return fmt.Errorf("%w: the ciphertext received does not match the crypttext root hash; the upload was discarded", helper.ErrIntegrity)
	}
	return nil
}

func (a *API) getUploadAs(w http.ResponseWriter, r *http.Request, as uploader) {
	si, ok := uploadSI(w, r)
	if !ok {
		return
	}
	_, u, err := as.get(r.Context(), si)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	if u.Finished() {
		writeJSON(w, http.StatusOK, api.UploadStatus{Received: u.Size, Size: u.Size, State: string(helper.StateStored)})
		return
	}
	if a.Files.Uploads == nil {
		noHelper(w)
		return
	}
	st, err := a.Files.Uploads.Status(si)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, uploadStatus(st))
}

func (a *API) abortUploadAs(w http.ResponseWriter, r *http.Request, as uploader) {
	si, ok := uploadSI(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	uid, _, err := as.get(ctx, si)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	if a.Files.Uploads != nil {
		if err := a.Files.Uploads.Abort(ctx, si); err != nil && !errors.Is(err, helper.ErrNotFound) {
			a.failFiles(w, r, err)
			return
		}
	}
	if err := a.fs().DropUpload(ctx, uid, si); err != nil {
		a.failFiles(w, r, err)
		return
	}
	noContent(w)
}

// ---- content and proof

// versionLookup finds the verify cap of the version a content or proof
// route names (ok false: a literal version), checking the caller may read
// it: the signed-in user's (ownVersion), or a link's (links.go).
type versionLookup func(r *http.Request) (v cap.Verifier, ok bool, err error)

func (a *API) ownVersion(r *http.Request) (cap.Verifier, bool, error) {
	return a.fs().VersionCap(r.Context(), currentUser(r).ID, r.PathValue("vid"))
}

func (a *API) proof(w http.ResponseWriter, r *http.Request)   { a.serveProof(w, r, a.ownVersion) }
func (a *API) content(w http.ResponseWriter, r *http.Request) { a.serveContent(w, r, a.ownVersion) }

// versionCap finds the verify cap of the route's version with find,
// answering the errors itself.
func (a *API) versionCap(w http.ResponseWriter, r *http.Request, find versionLookup) (cap.Verifier, bool) {
	v, ok, err := find(r)
	if err != nil {
		a.failFiles(w, r, err)
		return v, false
	}
	if !ok {
		writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound,
			Message: "This version is literal: its content is in its metadata, and the node stores none."})
		return v, false
	}
	if a.Files.Content == nil {
		gridUnavailable(w, "This node takes no part in a grid: it cannot read stored files.")
		return v, false
	}
	return v, true
}

func (a *API) serveProof(w http.ResponseWriter, r *http.Request, find versionLookup) {
	v, ok := a.versionCap(w, r, find)
	if !ok {
		return
	}
	p, err := a.Files.Content.Proof(r.Context(), v)
	if err != nil {
		a.gridFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.Proof{UEB: p.UEB, SegmentHashes: p.SegmentHashBytes(), SegmentSize: p.Layout.SegmentSize, Size: p.Layout.Size})
}

func (a *API) gridFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return
	}
	a.Log.Warn("reading a file from the grid failed", "path", r.URL.Path, "err", err)
	gridUnavailable(w, "The file cannot be read from the grid now (too few of its storage servers answer). Try again later.")
}

// byteRange parses a Range header for a body of size bytes. ok is false
// when the whole body is to be sent (no header, one the node does not
// understand, or several ranges); unsat when the range lies beyond it.
func byteRange(h string, size int64) (start, length int64, ok, unsat bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, false
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, false
	}
	if a == "" { // the last b bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false, false
		}
		if n == 0 || size == 0 {
			return 0, 0, false, true
		}
		n = min(n, size)
		return size - n, n, true, false
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first < 0 {
		return 0, 0, false, false
	}
	last := size - 1
	if b != "" {
		if last, err = strconv.ParseInt(b, 10, 64); err != nil || last < first {
			return 0, 0, false, false
		}
		last = min(last, size-1)
	}
	if first >= size {
		return 0, 0, false, true
	}
	return first, last - first + 1, true, false
}

// content serves a version's ciphertext, verified by the node against the
// verify cap as it is read from the grid, with single byte ranges.
func (a *API) serveContent(w http.ResponseWriter, r *http.Request, find versionLookup) {
	v, ok := a.versionCap(w, r, find)
	if !ok {
		return
	}
	size := v.Size
	start, length, partial, unsat := byteRange(r.Header.Get("Range"), size)
	h := w.Header()
	if unsat {
		h.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		writeError(w, http.StatusRequestedRangeNotSatisfiable, api.Error{Code: api.CodeRange,
			Message: fmt.Sprintf("The range lies beyond the file's %d bytes.", size)})
		return
	}
	if !partial {
		start, length = 0, size
	}
	ct, err := a.Files.Content.OpenCiphertext(r.Context(), v)
	if err != nil {
		a.gridFail(w, r, err)
		return
	}
	defer ct.Close()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Cache-Control", "private, no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Accept-Ranges", "bytes")
	h.Set("ETag", `"`+r.PathValue("vid")+`"`)
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	status := http.StatusOK
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, size))
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	buf := make([]byte, 256<<10)
	if _, err := io.CopyBuffer(w, io.NewSectionReader(ct, start, length), buf); err != nil && r.Context().Err() == nil {
		// The status is sent; the short body tells the client.
		a.Log.Warn("sending a file's ciphertext stopped", "path", r.URL.Path, "err", err)
	}
}
