package app

import (
	"errors"
	"net/url"
	"time"

	"github.com/communitycube/cube/shared/api"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// access says who may see a page; session.load sends everyone else where
// they belong (setup while no administrator exists, then sign-in).
type access int

const (
	forAnyone    access = iota
	forSetup            // only while setup is open
	forSignedOut        // the sign-in page
	forSignedIn
	forAdmin
)

// session is the part of every page that knows who is signed in and whether
// the node can be reached.
type session struct {
	need    access
	loaded  bool // the node answered at least once on this page
	offline bool
	flash   string // a page-wide error, e.g. a failed sign-out
	state   api.State
	release func()
	// unlocked mirrors stateUnlocked: observing it makes the page render
	// again when the keys are unlocked or forgotten (unlock.go).
	unlocked  bool
	observing bool
}

// lastState survives navigation between pages so the header does not flicker.
var lastState *api.State

// start fetches the session state and, once known, redirects if this page is
// not for the caller. It retries while the node cannot be reached.
func (s *session) start(ctx app.Context, need access) {
	s.need = need
	if lastState != nil {
		s.state, s.loaded = *lastState, true
	}
	if app.IsServer {
		return
	}
	if !s.observing {
		s.observing = true
		ctx.ObserveState(stateUnlocked, &s.unlocked)
	}
	if s.release == nil {
		s.release = browser.OnConnectivityChange(func(online bool) {
			ctx.Dispatch(func(ctx app.Context) {
				if online {
					s.refresh(ctx)
				} else {
					s.offline = true
				}
			})
		})
	}
	s.refresh(ctx)
}

func (s *session) stop() {
	if s.release != nil {
		s.release()
		s.release = nil
	}
}

func (s *session) refresh(ctx app.Context) {
	ctx.Async(func() {
		st, err := client().State(ctx)
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				if errors.Is(err, api.ErrOffline) {
					s.offline = true
					ctx.After(5*time.Second, s.refresh)
				}
				return
			}
			s.offline, s.loaded, s.state = false, true, st
			lastState = &st
			if st.User == nil {
				// Signed out (here or elsewhere) or the session ended:
				// the keys of this tab go with it.
				forgetKeys(ctx)
			}
			s.route(ctx)
		})
	})
}

func (s *session) route(ctx app.Context) {
	st := s.state
	path := ctx.Page().URL().Path
	switch {
	case st.SetupNeeded && s.need != forSetup:
		ctx.Navigate(PathSetup)
	case !st.SetupNeeded && s.need == forSetup:
		ctx.Navigate(PathHome)
	case st.User == nil && (s.need == forSignedIn || s.need == forAdmin):
		ctx.Navigate(PathLogin + "?next=" + url.QueryEscape(path))
	case st.User != nil && (s.need == forSignedOut || path == PathHome):
		ctx.Navigate(PathFiles)
	case st.User != nil && s.need == forAdmin && !st.User.Admin:
		ctx.Navigate(PathFiles)
	case st.User != nil && st.User.MustChangePassword && (s.need == forSignedIn || s.need == forAdmin) && path != PathSettings:
		// An account an administrator created chooses its own password
		// first; its keys are made after that.
		ctx.Navigate(PathSettings + "?must-change=1")
	}
}

// signedIn records a fresh state after setup or sign-in.
func (s *session) signedIn(st api.State) {
	s.state, s.loaded = st, true
	lastState = &st
}

// ready reports whether the page may show its content: the node answered and
// the caller is allowed here.
func (s *session) ready() bool {
	if !s.loaded {
		return false
	}
	st := s.state
	switch s.need {
	case forSetup:
		return st.SetupNeeded
	case forSignedOut:
		return !st.SetupNeeded && st.User == nil
	case forSignedIn:
		return st.User != nil
	case forAdmin:
		return st.User != nil && st.User.Admin
	}
	return true
}

// errorText turns an API error into something to show next to a form.
func errorText(err error) string {
	var e *api.Error
	if errors.As(err, &e) {
		return e.Message
	}
	if errors.Is(err, api.ErrOffline) {
		return api.ErrOffline.Error()
	}
	return err.Error()
}
