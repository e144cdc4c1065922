package app

// The Files UI is built by several hands; this file is the seam between
// them. The file manager (files*.go, upload*.go, trash.go) uses what is
// declared here; the key flows (unlock.go), previews (preview.go) and
// downloads (download.go) implement it.

import (
	"context"

	"github.com/communitycube/cube/shared/drive"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// LocalFile is a file the user picked or dropped: readable at any offset
// without holding it in memory (wasm/jsfile.File in the browser).
type LocalFile interface {
	ReadAt(p []byte, off int64) (int, error)
	Size() int64
	Name() string
	Type() string
	// Path is the file's path inside a dropped or picked folder
	// ("photos/2024/a.jpg"), or just its name.
	Path() string
}

// FilePicker turns the browser's file inputs and drops into LocalFiles. The
// UI renders <input type=file id=...> and drop zones by id; the picker
// watches them (go-app's Value hides the js.Value of a File).
type FilePicker interface {
	// Watch calls f with the files chosen in input elementID, or dropped
	// (files and whole folder trees) on element elementID.
	Watch(elementID string, f func([]LocalFile)) (release func())
}

var filePicker FilePicker

// SetFilePicker installs the browser's picker (cmd/cubeweb).
func SetFilePicker(p FilePicker) { filePicker = p }

// currentDrive is the unlocked account of this tab, nil while locked.
// unlock.go sets it after sign-in (or from sessionStorage after a reload).
func currentDrive() *drive.Drive { return unlockedDrive }

var unlockedDrive *drive.Drive

// unlockPrompt renders what a page shows while currentDrive() is nil: a
// password prompt that unlocks the keys and then re-renders the page.
func unlockPrompt() app.UI { return newUnlockPrompt() }

// itemSource is what previews and downloads read from: the unlocked
// account (*drive.Drive) or a share link opened without an account
// (*drive.Shared, app/share_page.go).
type itemSource interface {
	Open(ctx context.Context, fileID, versionID string) (drive.File, drive.Version, error)
	List(ctx context.Context, folderID string) ([]drive.Item, error)
}

// driveSource is the account as an itemSource, nil while locked (a nil
// *drive.Drive inside an interface would not compare equal to nil).
func driveSource() itemSource {
	if d := currentDrive(); d != nil {
		return d
	}
	return nil
}

// openPreview shows items[i] in the previewer (images, video, audio, PDF,
// text, Markdown, code), with arrow keys over items and Esc to close.
func openPreview(ctx app.Context, items []drive.Item, i int) { showPreview(driveSource(), items, i) }

// openPreviewFrom is openPreview reading from src.
func openPreviewFrom(src itemSource, items []drive.Item, i int) { showPreview(src, items, i) }

// downloadItems saves one file (streamed to disk through the service
// worker, verified) or several files and folders as one zip.
func downloadItems(ctx app.Context, items []drive.Item) { startDownload(ctx, driveSource(), items, "") }

// downloadItemsFrom is downloadItems reading from src; zipName names the
// zip of several items or a folder ("" picks one).
func downloadItemsFrom(ctx app.Context, src itemSource, items []drive.Item, zipName string) {
	startDownload(ctx, src, items, zipName)
}
