package app

// Key flows: the account's keys are unlocked in this tab after sign-in (or
// setup), kept across reloads sealed in sessionStorage under a key only the
// node's session can give back (POST /api/v1/session/key), and asked for
// again with the password when that fails (node restarted, new tab).
// docs/files.md, "In the browser".

import (
	"context"
	"encoding/base64"
	"errors"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/drive"
	"github.com/communitycube/cube/shared/transfer"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

var cipherFactory func(chk.Key) transfer.Cipher

// SetCipherFactory chooses the AES-CTR implementation of every unlocked
// drive (cmd/cubeweb passes WebCrypto, wasm/aesctr); nil keeps pure Go.
func SetCipherFactory(f func(chk.Key) transfer.Cipher) { cipherFactory = f }

const (
	// sealedKeysItem is the sessionStorage item holding drive.Seal's output.
	sealedKeysItem = "cube.sealed-keys"
	// stateUnlocked is the go-app state every page observes (session.start)
	// so that it renders again when the keys are unlocked or forgotten.
	stateUnlocked = "cube.unlocked"
)

// sessionKey asks the node for this session's key for sealing the keys in
// sessionStorage (api.SessionKey: kept in the node's memory with the
// session; it never sees what is sealed with it).
func sessionKey(ctx context.Context) ([]byte, error) {
	c := client()
	if c.CSRF == "" {
		// A POST needs the session's CSRF token, which comes with the state.
		if _, err := c.State(ctx); err != nil {
			return nil, err
		}
	}
	key, err := c.SessionKey(ctx)
	if err != nil {
		return nil, err
	}
	if len(key) != 32 {
		return nil, errors.New("the node gave a session key of the wrong size")
	}
	return key, nil
}

// prepareDrive readies a drive just unlocked (off the UI goroutine: it
// calls the node) and returns its sealed keys for sessionStorage, or "" if
// they cannot be kept (the tab then asks the password after a reload).
func prepareDrive(ctx context.Context, d *drive.Drive) string {
	if cipherFactory != nil {
		d.SetCipher(cipherFactory)
	}
	key, err := sessionKey(ctx)
	if err != nil {
		return ""
	}
	sealed, err := d.Seal(key)
	clear(key)
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(sealed)
}

// installDrive makes d this tab's unlocked drive (on the UI goroutine).
func installDrive(ctx app.Context, d *drive.Drive, sealed string) {
	if unlockedDrive != nil && unlockedDrive != d {
		unlockedDrive.Close()
	}
	unlockedDrive = d
	if sealed != "" {
		ctx.SessionStorage().Set(sealedKeysItem, sealed)
	}
	ctx.SetState(stateUnlocked, true)
}

// forgetKeys closes the drive and drops the sealed keys: sign-out, or a
// session that ended.
func forgetKeys(ctx app.Context) {
	if app.IsServer {
		return
	}
	ctx.SessionStorage().Del(sealedKeysItem)
	if unlockedDrive != nil {
		unlockedDrive.Close()
		unlockedDrive = nil
		ctx.SetState(stateUnlocked, false)
	}
}

// unlockWithPassword unlocks the signed-in account's keys (call it in
// ctx.Async). fresh is non-nil when the keys were made just now: its
// recovery key must be shown once.
func unlockWithPassword(ctx app.Context, pw string) (d *drive.Drive, sealed string, fresh *drive.Fresh, err error) {
	d, fresh, err = drive.Unlock(ctx, client(), pw)
	if err != nil {
		return nil, "", nil, err
	}
	return d, prepareDrive(ctx, d), fresh, nil
}

// mustChangePassword reports whether err says the account must choose its
// own password before it gets keys.
func mustChangePassword(err error) bool {
	var e *api.Error
	return errors.As(err, &e) && e.Code == api.CodeMustChangePassword
}

// unlockPromptCompo is what a page shows while the keys are locked: first
// it tries the sealed keys of this tab, then asks the password.
type unlockPromptCompo struct {
	app.Compo
	trying bool
	tried  bool
	pw     string
	busy   bool
	err    string
	// fresh: keys made just now, held back until the recovery key is saved.
	fresh  *drive.Fresh
	d      *drive.Drive
	sealed string
}

func newUnlockPrompt() app.UI { return &unlockPromptCompo{} }

func (u *unlockPromptCompo) OnMount(ctx app.Context) {
	if app.IsServer || u.tried {
		return
	}
	u.tried = true
	var sealed string
	if ctx.SessionStorage().Get(sealedKeysItem, &sealed) != nil || sealed == "" {
		return
	}
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		ctx.SessionStorage().Del(sealedKeysItem)
		return
	}
	u.trying = true
	ctx.Async(func() {
		var d *drive.Drive
		key, err := sessionKey(ctx)
		if err == nil {
			d, err = drive.Resume(ctx, client(), raw, key)
			clear(key)
		}
		if err == nil && cipherFactory != nil {
			d.SetCipher(cipherFactory)
		}
		ctx.Dispatch(func(ctx app.Context) {
			u.trying = false
			if err != nil {
				// The node restarted or this is another session: the
				// sealed keys are useless now.
				ctx.SessionStorage().Del(sealedKeysItem)
				return
			}
			installDrive(ctx, d, "")
		})
	})
}

func (u *unlockPromptCompo) Render() app.UI {
	if u.fresh != nil {
		return &recoveryKeyCard{Key: u.fresh.RecoveryKey, OnDone: func(ctx app.Context) {
			d, sealed := u.d, u.sealed
			u.fresh, u.d, u.sealed = nil, nil, ""
			installDrive(ctx, d, sealed)
		}}
	}
	if u.trying {
		return app.Div().ID("unlock-resuming").Class("loading").Aria("busy", "true").Text("Unlocking your files…")
	}
	return app.Div().ID("unlock-prompt").Class("card narrow").Body(
		app.H2().Text("Unlock your files"),
		app.P().Text("Your files are encrypted with keys that only your password opens. Enter it to unlock them in this tab."),
		app.Form().ID("unlock-form").OnSubmit(u.submit).Body(
			field("unlock-password", "Password", app.Input().Type("password").Value(u.pw).
				Attr("autocomplete", "current-password").Required(true).AutoFocus(true).
				OnInput(func(ctx app.Context, e app.Event) { u.pw = inputValue(ctx) })),
			errorBox(u.err),
			app.Button().ID("unlock-submit").Type("submit").Class("primary").Disabled(u.busy).Text("Unlock"),
		),
	)
}

func (u *unlockPromptCompo) submit(ctx app.Context, e app.Event) {
	e.PreventDefault()
	u.busy, u.err = true, ""
	pw := u.pw
	ctx.Async(func() {
		d, sealed, fresh, err := unlockWithPassword(ctx, pw)
		ctx.Dispatch(func(ctx app.Context) {
			u.busy = false
			switch {
			case mustChangePassword(err):
				ctx.Navigate(PathSettings + "?must-change=1")
				return
			case err != nil:
				u.err = errorText(err)
				return
			}
			u.pw = ""
			if fresh != nil {
				u.fresh, u.d, u.sealed = fresh, d, sealed
				return
			}
			installDrive(ctx, d, sealed)
		})
	})
}
