package app

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// STUB: the key flows replace this file.
func newUnlockPrompt() app.UI { return app.P().Text("Unlock your files.") }
