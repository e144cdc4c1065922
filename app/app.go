// Package app is CommunityCube's user interface: a go-app component per page.
// It is compiled into the browser's wasm, where it runs, and into the server,
// which prerenders each page's shell and serves the PWA. Anything that needs
// the browser beyond go-app's own API comes in through the Browser interface,
// which cmd/cubeweb fills from package wasm/browser, so this package stays
// buildable (and testable) natively.
package app

import (
	"regexp"
	"sync"

	"github.com/communitycube/cube/shared/api"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Browser is what the UI needs from the browser that go-app does not give.
type Browser interface {
	// Transport carries API calls (fetch in the browser).
	Transport() api.Transport
	// Online reports navigator.onLine (false means surely offline; true only
	// means a network interface is up).
	Online() bool
	// OnConnectivityChange calls f on the browser's online/offline events.
	OnConnectivityChange(f func(online bool)) (release func())
}

var browser Browser = offlineUnknown{}

// SetBrowser installs the browser's implementation; call it before app.RunWhenOnBrowser.
func SetBrowser(b Browser) { browser = b }

type offlineUnknown struct{}

func (offlineUnknown) Transport() api.Transport                         { return nil }
func (offlineUnknown) Online() bool                                     { return true }
func (offlineUnknown) OnConnectivityChange(func(bool)) (release func()) { return func() {} }

// Paths of the pages; the server uses Pages to tell a page from a 404.
const (
	PathHome     = "/"
	PathSetup    = "/setup"
	PathLogin    = "/login"
	PathFiles    = "/files"
	PathAdmin    = "/admin"
	PathGrid     = "/admin/grid"
	PathSettings = "/settings"
	// The file manager's other views (app/trash.go, recent.go, favorites.go, gallery.go).
	PathTrash     = "/trash"
	PathRecent    = "/recent"
	PathFavorites = "/favorites"
	PathGallery   = "/gallery"
	// The user's share links (app/links.go).
	PathLinks = "/links"
)

// sharePath matches the page of a share link, /s/ and a link id (26
// letters a-z and digits 2-7), app/share_page.go. The key is in the
// fragment, which never reaches the server.
var sharePath = regexp.MustCompile(`^/s/[a-z2-7]{26}$`)

// IsSharePath reports whether p is the path of a share link's page; the
// server serves the app shell there.
func IsSharePath(p string) bool { return sharePath.MatchString(p) }

// Pages lists every routed page path.
var Pages = []string{PathHome, PathSetup, PathLogin, PathFiles, PathAdmin, PathGrid, PathSettings,
	PathTrash, PathRecent, PathFavorites, PathGallery, PathLinks, PathShared}

// Register routes every page. Both binaries call it: the server to prerender,
// the browser to run.
func Register() {
	app.Route(PathHome, func() app.Composer { return &homePage{} })
	app.Route(PathSetup, func() app.Composer { return &setupPage{} })
	app.Route(PathLogin, func() app.Composer { return &loginPage{} })
	app.Route(PathFiles, func() app.Composer { return &filesPage{} })
	app.Route(PathAdmin, func() app.Composer { return &adminPage{} })
	app.Route(PathGrid, func() app.Composer { return &gridPage{} })
	app.Route(PathSettings, func() app.Composer { return &settingsPage{} })
	app.Route(PathTrash, func() app.Composer { return &trashPage{} })
	app.Route(PathRecent, func() app.Composer { return &recentPage{} })
	app.Route(PathFavorites, func() app.Composer { return &favoritesPage{} })
	app.Route(PathGallery, func() app.Composer { return &galleryPage{} })
	app.Route(PathLinks, func() app.Composer { return &linksPage{} })
	app.Route(PathShared, func() app.Composer { return &sharedPage{} })
	app.RouteWithRegexp(sharePath.String(), func() app.Composer { return &sharePage{} })
}

var (
	clientOnce sync.Once
	apiClient  *api.Client
)

// client is the one API client of the page; the browser holds the cookie.
func client() *api.Client {
	clientOnce.Do(func() {
		u := app.Window().URL()
		apiClient = &api.Client{Base: u.Scheme + "://" + u.Host, Transport: browser.Transport()}
	})
	return apiClient
}
