package httpapi

import "net/http"

// Share links, drops and mail (shared/api/links.go lists the routes).
func (a *API) linkRoutes(mux *http.ServeMux) {}
