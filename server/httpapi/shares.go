package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/communitycube/cube/server/files"
	"github.com/communitycube/cube/shared/api"
)

// Sharing with users and groups (shared/api/shares.go lists the routes).
// As for the Files API, the handlers translate; the rules are in
// files.Store (shares.go, groups.go, transfer.go, access.go).
func (a *API) shareRoutes(mux *http.ServeMux) {
	p := api.Prefix
	s := func(h http.HandlerFunc) http.HandlerFunc { return a.session(false, h) }
	admin := func(h http.HandlerFunc) http.HandlerFunc { return a.session(true, h) }
	mux.Handle(p+"recipients", route{"GET": s(a.recipient)})
	mux.Handle(p+"shares", route{"GET": s(a.listShares), "POST": s(a.createShare)})
	mux.Handle(p+"shares/{id}", route{"PATCH": s(a.updateShare)})
	mux.Handle(p+"nodes/{id}/rekey", route{"POST": s(a.rekey)})
	mux.Handle(p+"shared", route{"GET": s(a.shared)})
	mux.Handle(p+"transfers", route{"GET": s(a.transfers), "POST": s(a.createTransfer)})
	mux.Handle(p+"transfers/{id}", route{"DELETE": s(a.cancelTransfer)})
	mux.Handle(p+"transfers/{id}/accept", route{"POST": s(a.acceptTransfer)})
	mux.Handle(p+"groups", route{"GET": admin(a.groups), "POST": admin(a.createGroup)})
	mux.Handle(p+"groups/{id}", route{"PATCH": admin(a.updateGroup), "DELETE": admin(a.deleteGroup)})
}

// failShares answers the errors of access and sharing; false: not one of
// those (failFiles goes on).
func failShares(w http.ResponseWriter, err error) bool {
	switch {
	case errors.Is(err, files.ErrReadOnly), errors.Is(err, files.ErrOwnerOnly):
		writeError(w, http.StatusForbidden, api.Error{Code: api.CodeForbidden, Message: err.Error()})
	case errors.Is(err, files.ErrShareNotFound), errors.Is(err, files.ErrTransferNotFound),
		errors.Is(err, files.ErrGroupNotFound), errors.Is(err, files.ErrNoRecipient):
		writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: err.Error()})
	case errors.Is(err, files.ErrShareSelf):
		writeError(w, http.StatusBadRequest, api.Error{Code: api.CodeInvalid, Field: "name", Message: err.Error()})
	case errors.Is(err, files.ErrRecipientKeys), errors.Is(err, files.ErrShareExists), errors.Is(err, files.ErrMembersChanged),
		errors.Is(err, files.ErrTransferPending), errors.Is(err, files.ErrGroupTaken):
		writeError(w, http.StatusConflict, api.Error{Code: api.CodeConflict, Message: err.Error()})
	default:
		return false
	}
	return true
}

func (a *API) recipient(w http.ResponseWriter, r *http.Request) {
	out, err := a.fs().Recipient(r.Context(), currentUser(r).ID, r.URL.Query().Get("name"))
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) listShares(w http.ResponseWriter, r *http.Request) {
	out, err := a.fs().Shares(r.Context(), currentUser(r).ID, r.URL.Query().Get("node"))
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) createShare(w http.ResponseWriter, r *http.Request) {
	var req api.CreateShareRequest
	if err := decodeFiles(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	out, err := a.fs().CreateShare(r.Context(), currentUser(r).ID, req)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (a *API) updateShare(w http.ResponseWriter, r *http.Request) {
	var req api.UpdateShareRequest
	if err := decodeFiles(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	out, err := a.fs().UpdateShare(r.Context(), currentUser(r).ID, r.PathValue("id"), req)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// MaxRekeyBody bounds a rekey request: a folder's every child carries a
// sealed metadata blob (a FolderMeta or FileMeta is small, but may reach
// files.MaxMeta), so this is larger than other Files bodies.
const MaxRekeyBody = 64 << 20

func (a *API) rekey(w http.ResponseWriter, r *http.Request) {
	var req api.RekeyRequest
	if err := decodeJSONLimit(w, r, &req, MaxRekeyBody); err != nil {
		a.fail(w, r, err)
		return
	}
	out, err := a.fs().Rekey(r.Context(), currentUser(r).ID, r.PathValue("id"), req)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) shared(w http.ResponseWriter, r *http.Request) {
	out, err := a.fs().Shared(r.Context(), currentUser(r).ID)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) transfers(w http.ResponseWriter, r *http.Request) {
	out, err := a.fs().Transfers(r.Context(), currentUser(r).ID)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) createTransfer(w http.ResponseWriter, r *http.Request) {
	var req api.CreateTransferRequest
	if err := decodeFiles(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	out, err := a.fs().CreateTransfer(r.Context(), currentUser(r).ID, req)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (a *API) cancelTransfer(w http.ResponseWriter, r *http.Request) {
	if err := a.fs().CancelTransfer(r.Context(), currentUser(r).ID, r.PathValue("id")); err != nil {
		a.failFiles(w, r, err)
		return
	}
	noContent(w)
}

func (a *API) acceptTransfer(w http.ResponseWriter, r *http.Request) {
	var req api.AcceptTransferRequest
	if err := decodeFiles(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	out, err := a.fs().AcceptTransfer(r.Context(), currentUser(r).ID, r.PathValue("id"), req)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) groups(w http.ResponseWriter, r *http.Request) {
	out, err := a.fs().Groups(r.Context())
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request) {
	var req api.CreateGroupRequest
	if err := decodeFiles(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	out, err := a.fs().CreateGroup(r.Context(), req)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func groupID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: files.ErrGroupNotFound.Error()})
		return 0, false
	}
	return id, true
}

func (a *API) updateGroup(w http.ResponseWriter, r *http.Request) {
	id, ok := groupID(w, r)
	if !ok {
		return
	}
	var req api.UpdateGroupRequest
	if err := decodeFiles(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	out, err := a.fs().UpdateGroup(r.Context(), id, req)
	if err != nil {
		a.failFiles(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request) {
	id, ok := groupID(w, r)
	if !ok {
		return
	}
	if err := a.fs().DeleteGroup(r.Context(), id); err != nil {
		a.failFiles(w, r, err)
		return
	}
	noContent(w)
}
