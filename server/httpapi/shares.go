package httpapi

import "net/http"

// Sharing with users and groups (shared/api/shares.go lists the routes).
func (a *API) shareRoutes(mux *http.ServeMux) {}
