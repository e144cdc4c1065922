// Package drive is the client side of Files (docs/files.md): an unlocked
// account on a node, its folders and files by name, uploads (scrubbed,
// encrypted, sent to the node's helper, registered) and verified
// downloads. It sits on shared/api (the wire), shared/vault (keys and
// sealed metadata), shared/scrub, shared/transfer/upload and shared/transfer/download, and is
// used alike by the browser (Go in wasm) and the cube CLI, so both write
// the same formats.
//
// CONTRACT SKELETON: the signatures below are what the UI (app/) and the
// CLI (cmd/cube) program against. Bodies are being written.
package drive

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/transfer"
	"github.com/communitycube/cube/shared/transfer/upload"
)

var errTODO = errors.New("drive: not implemented yet")

// Drive is an account whose keys are unlocked in this process.
type Drive struct {
	c *api.Client
}

// Fresh is returned by Unlock when it made the account's keys just now:
// RecoveryKey must be shown to the user once (it is not stored anywhere).
type Fresh struct {
	RecoveryKey string
}

// Unlock opens the keys of the signed-in account (c carries the session)
// with its password. An account without keys gets them now (and a root
// folder); Fresh then holds the recovery key to show once. A standard-mode
// escrow key is handed to the node (POST unlock).
func Unlock(ctx context.Context, c *api.Client, password string) (*Drive, *Fresh, error) {
	return nil, nil, errTODO
}

// Recover opens an account whose password is lost with its recovery key,
// sets newPassword (as login password and for the keys) and signs in: c
// holds the new session afterwards.
func Recover(ctx context.Context, c *api.Client, name, recoveryKey, newPassword string) (*Drive, error) {
	return nil, errTODO
}

// Seal exports the unlocked keys encrypted under sessionKey (32 bytes), so a
// browser tab can keep them in sessionStorage across reloads; Resume undoes
// it. Neither the node nor storage alone can open the result.
func (d *Drive) Seal(sessionKey []byte) ([]byte, error) { return nil, errTODO }

// Resume is Unlock from what Seal made.
func Resume(ctx context.Context, c *api.Client, sealed, sessionKey []byte) (*Drive, error) {
	return nil, errTODO
}

// Close forgets the keys (best effort, see shared/vault).
func (d *Drive) Close() {}

// SetCipher chooses the AES-CTR implementation for uploads and downloads
// (the browser passes WebCrypto, wasm/aesctr); the default is
// transfer.GoCipher.
func (d *Drive) SetCipher(newCipher func(chk.Key) transfer.Cipher) {}

// Client is the API client the drive uses.
func (d *Drive) Client() *api.Client { return d.c }

// RootID is the id of the user's root folder.
func (d *Drive) RootID() string { return "" }

// Item is a file or folder with its metadata opened.
type Item struct {
	ID, ParentID string
	Folder       bool
	Name         string
	Size         int64
	Modified     time.Time
	Created      time.Time
	Mode         string // api.ModeSecure or api.ModeStandard
	Favorite     bool
	KeepHistory  bool // folders
	// Locked: the item has its own password; NeedsPassword: and it was
	// not given yet in this Drive (UnlockItem).
	Locked, NeedsPassword bool
	Trashed               *time.Time
	Current               *Version // files
	Node                  api.Node // as the node keeps it
}

// Version is one content of a file, metadata opened.
type Version struct {
	ID        string
	Size      int64
	Created   time.Time // when it was stored
	Modified  time.Time // the uploaded file's own time, if known
	MIME      string
	Cap       string // read cap: secret
	Thumbnail string // read cap of the thumbnail, if any
	Scrubbed  []string
	Current   bool
}

// Item returns an item and its ancestors, root first.
func (d *Drive) Item(ctx context.Context, id string) (Item, []Item, error) {
	return Item{}, nil, errTODO
}

// List returns a folder's live children (every page).
func (d *Drive) List(ctx context.Context, folderID string) ([]Item, error) { return nil, errTODO }

// Resolve finds an item by path from the root ("/", "/a/b.txt").
func (d *Drive) Resolve(ctx context.Context, path string) (Item, error) { return Item{}, errTODO }

// CreateOptions choose how a folder or file is made.
type CreateOptions struct {
	Mode        string // "": the parent's mode, else the user's default
	KeepHistory *bool  // folders; nil: on
	Password    string // its own password (secure items), "" none
}

func (d *Drive) Mkdir(ctx context.Context, parentID, name string, o CreateOptions) (Item, error) {
	return Item{}, errTODO
}
func (d *Drive) Rename(ctx context.Context, id, name string) (Item, error) { return Item{}, errTODO }
func (d *Drive) Move(ctx context.Context, id, parentID string) (Item, error) {
	return Item{}, errTODO
}

// Copy copies a file or a folder tree into parentID (content is not
// uploaded again); the copy gets a free name ("x (2).txt") if needed.
func (d *Drive) Copy(ctx context.Context, id, parentID string) (Item, error) {
	return Item{}, errTODO
}
func (d *Drive) Trash(ctx context.Context, id string) error           { return errTODO }
func (d *Drive) TrashItems(ctx context.Context) ([]Item, error)       { return nil, errTODO }
func (d *Drive) Restore(ctx context.Context, id string) (Item, error) { return Item{}, errTODO }
func (d *Drive) DeleteForever(ctx context.Context, id string) error   { return errTODO }
func (d *Drive) EmptyTrash(ctx context.Context) error                 { return errTODO }
func (d *Drive) Recent(ctx context.Context) ([]Item, error)           { return nil, errTODO }
func (d *Drive) Favorites(ctx context.Context) ([]Item, error)        { return nil, errTODO }
func (d *Drive) Versions(ctx context.Context, fileID string) ([]Version, error) {
	return nil, errTODO
}
func (d *Drive) SetFavorite(ctx context.Context, id string, on bool) (Item, error) {
	return Item{}, errTODO
}
func (d *Drive) SetKeepHistory(ctx context.Context, folderID string, on bool) (Item, error) {
	return Item{}, errTODO
}
func (d *Drive) SetMode(ctx context.Context, id, mode string) (Item, error) { return Item{}, errTODO }
func (d *Drive) RestoreVersion(ctx context.Context, fileID, versionID string) (Item, error) {
	return Item{}, errTODO
}
func (d *Drive) DeleteVersion(ctx context.Context, fileID, versionID string) error { return errTODO }

// UnlockItem gives an item's own password for the rest of this Drive.
func (d *Drive) UnlockItem(ctx context.Context, id, password string) error { return errTODO }

func (d *Drive) Settings(ctx context.Context) (api.FileSettings, error) {
	return api.FileSettings{}, errTODO
}
func (d *Drive) SetSettings(ctx context.Context, s api.FileSettings) error { return errTODO }
func (d *Drive) Usage(ctx context.Context) (api.Usage, error)              { return api.Usage{}, errTODO }

// NewRecoveryKey replaces the recovery key; show the result once.
func (d *Drive) NewRecoveryKey(ctx context.Context) (string, error) { return "", errTODO }

// ChangePassword changes the login password and re-wraps the keys, in one request.
func (d *Drive) ChangePassword(ctx context.Context, current, newPassword string) error {
	return errTODO
}

// PutOptions describe one upload.
type PutOptions struct {
	ParentID string
	Name     string
	Create   CreateOptions
	NoScrub  bool      // keep metadata (default: scrub)
	Modified time.Time // the file's own modification time, if known
	MIME     string    // "" : guessed from the name
	// Replace: a file of that name in the folder gets this as a new
	// version; otherwise a taken name is an *api.Error name_taken.
	Replace   bool
	RateLimit int // KB/s, 0: none
	Progress  func(transfer.Progress)
	Encoding  upload.Encoding
	// Key resumes an earlier upload of the same file (the caller kept
	// Put.Key(), e.g. in IndexedDB); nil: a new random key.
	Key *chk.Key
	// Thumbnail, if set, is stored (encrypted) with the version.
	Thumbnail []byte
}

// Put is one upload in progress: Upload() pauses, resumes, cancels and
// limits it.
type Put struct{}

// NewPut scrubs (plans) src and prepares its upload; nothing is sent.
func (d *Drive) NewPut(src io.ReaderAt, size int64, o PutOptions) (*Put, error) { return nil, errTODO }

func (p *Put) Key() chk.Key                          { return chk.Key{} }
func (p *Put) Size() int64                           { return 0 } // after scrubbing
func (p *Put) Scrubbed() []string                    { return nil }
func (p *Put) Upload() *upload.Upload                { return nil }
func (p *Put) Run(ctx context.Context) (Item, error) { return Item{}, errTODO }

// File is a version's plaintext, verified against its cap as it is read.
type File interface {
	io.ReaderAt
	io.WriterTo
	Size() int64
}

// Open opens a file's version (versionID "": the current one).
func (d *Drive) Open(ctx context.Context, fileID, versionID string) (File, Version, error) {
	return nil, Version{}, errTODO
}
