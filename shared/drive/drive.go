// Package drive is the client side of Files (docs/files.md): an unlocked
// account on a node, its folders and files by name, uploads (scrubbed,
// encrypted, sent to the node's helper, registered) and verified
// downloads. It sits on shared/api (the wire), shared/vault (keys and
// sealed metadata), shared/scrub, shared/transfer/upload and shared/transfer/download, and is
// used alike by the browser (Go in wasm) and the cube CLI, so both write
// the same formats (docs/spec/keys.md).
//
// Errors: what the node refuses comes back as *api.Error (test its Code:
// api.CodeNameTaken, api.CodeInTrash, api.CodeQuotaExceeded,
// api.CodeNotFound, ...); a wrong account password is vault.ErrWrongPassword,
// a wrong item password too (UnlockItem); an item with its own password
// not unlocked yet is ErrNeedsPassword; metadata that does not open
// (tampered, or another account's) wraps vault.ErrCorrupt; a download that
// does not match its cap wraps download.ErrTampered.
//
// A Drive is safe for use by several goroutines.
package drive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/scrub"
	"github.com/communitycube/cube/shared/transfer"
	"github.com/communitycube/cube/shared/transfer/upload"
	"github.com/communitycube/cube/shared/vault"
)

// ErrNeedsPassword: the item (or a folder above it) has its own password,
// not given yet in this Drive: call UnlockItem.
var ErrNeedsPassword = errors.New("This item is protected by its own password: enter it to open it.")

// ErrNotFound: Resolve found no item of that name.
var ErrNotFound = errors.New("No such file or folder.")

// ErrClosed: the Drive was closed (its keys forgotten).
var ErrClosed = errors.New("drive: the keys were closed; unlock again")

// KDFParams is the cost of the passwords this package sets (account and
// item passwords). Tests may lower it (within vault's limits).
var KDFParams = vault.DefaultKDFParams

// Drive is an account whose keys are unlocked in this process.
type Drive struct {
	c *api.Client

	mu        sync.Mutex
	u         *vault.Unlocked
	rootID    string
	keys      map[string]vault.Key // node keys opened so far (a key changes only when its owner re-keys the item: shares.go)
	metaKeys  metaKeyCache
	newCipher func(chk.Key) transfer.Cipher
	settings  *api.FileSettings
	peers     peerShares // what other users share with this one (shares.go)
}

// Fresh is returned by Unlock when it made the account's keys just now:
// RecoveryKey must be shown to the user once (it is not stored anywhere).
type Fresh struct {
	RecoveryKey string
}

func newDrive(c *api.Client, u *vault.Unlocked, rootID string) *Drive {
	d := &Drive{c: c, u: u, rootID: rootID, keys: map[string]vault.Key{}}
	d.keys[rootID] = u.RootFolder
	return d
}

// Unlock opens the keys of the signed-in account (c carries the session)
// with its password. An account without keys gets them now (and a root
// folder); Fresh then holds the recovery key to show once. A standard-mode
// escrow key is handed to the node (POST unlock).
//
// A wrong password is vault.ErrWrongPassword. An account an administrator
// made must change its password first (*api.Error must_change_password).
func Unlock(ctx context.Context, c *api.Client, password string) (*Drive, *Fresh, error) {
	var keys api.Keys
	err := c.Do(ctx, http.MethodGet, api.Prefix+"keys", nil, &keys)
	var fresh *Fresh
	var u *vault.Unlocked
	if isCode(err, api.CodeNoKeys) {
		b, nu, rk, err := vault.NewAccount(password, KDFParams)
		if err != nil {
			return nil, nil, err
		}
		data, err := b.MarshalBinary()
		if err != nil {
			return nil, nil, err
		}
		keep := true
		rootID := NewID()
		req := api.PutKeysRequest{
			Bundle:       data,
			RecoveryAuth: rk.Auth(),
			RootFolder:   &api.CreateNodeRequest{ID: rootID, Kind: api.KindFolder, Mode: api.ModeSecure, KeepHistory: &keep},
		}
		err = c.Do(ctx, http.MethodPut, api.Prefix+"keys", req, &keys)
		if err == nil {
			fresh, u = &Fresh{RecoveryKey: rk.String()}, nu
		} else {
			nu.Zero()
			var ae *api.Error
			if !errors.As(err, &ae) || ae.Code == api.CodeMustChangePassword {
				return nil, nil, err
			}
			// Perhaps another device made the keys meanwhile: use those.
			if err2 := c.Do(ctx, http.MethodGet, api.Prefix+"keys", nil, &keys); err2 != nil {
				return nil, nil, err
			}
		}
		rk.Zero()
	} else if err != nil {
		return nil, nil, err
	}
	if keys.MustChangePassword {
		return nil, nil, &api.Error{Code: api.CodeMustChangePassword, Message: "Choose your own password first: the one you have was set by an administrator."}
	}
	if u == nil {
		b, err := vault.ParseBundle(keys.Bundle)
		if err != nil {
			return nil, nil, err
		}
		if u, err = b.Unlock(password); err != nil {
			return nil, nil, err
		}
	}
	d := newDrive(c, u, keys.RootFolderID)
	if err := d.handEscrow(ctx); err != nil {
		d.Close()
		return nil, nil, err
	}
	return d, fresh, nil
}

// handEscrow gives the node the escrow key for this session (standard items).
func (d *Drive) handEscrow(ctx context.Context) error {
	u, err := d.unlocked()
	if err != nil {
		return err
	}
	k := u.Escrow
	defer k.Zero()
	return d.c.Do(ctx, http.MethodPost, api.Prefix+"unlock", api.UnlockRequest{EscrowKey: k[:]}, nil)
}

// Recover opens an account whose password is lost with its recovery key,
// sets newPassword (as login password and for the keys) and signs in: c
// holds the new session afterwards.
//
// A recovery key with a typo is vault.ErrRecoveryKeyFormat (checked before
// anything is sent); one the node refuses is *api.Error
// wrong_recovery_key; one that does not open the bundle is
// vault.ErrWrongRecoveryKey.
func Recover(ctx context.Context, c *api.Client, name, recoveryKey, newPassword string) (*Drive, error) {
	rk, err := vault.ParseRecoveryKey(recoveryKey)
	if err != nil {
		return nil, err
	}
	defer rk.Zero()
	var resp api.RecoverResponse
	if err := c.Do(ctx, http.MethodPost, api.Prefix+"keys/recover", api.RecoverRequest{Name: name, RecoveryAuth: rk.Auth()}, &resp); err != nil {
		return nil, err
	}
	b, err := vault.ParseBundle(resp.Bundle)
	if err != nil {
		return nil, err
	}
	u, err := b.UnlockWithRecovery(rk)
	if err != nil {
		return nil, err
	}
	nb, err := u.ChangePassword(b, newPassword, KDFParams)
	if err != nil {
		u.Zero()
		return nil, err
	}
	data, err := nb.MarshalBinary()
	if err != nil {
		u.Zero()
		return nil, err
	}
	resp = api.RecoverResponse{}
	req := api.RecoverRequest{Name: name, RecoveryAuth: rk.Auth(), NewPassword: newPassword, Bundle: data}
	if err := c.Do(ctx, http.MethodPost, api.Prefix+"keys/recover", req, &resp); err != nil {
		u.Zero()
		return nil, err
	}
	if resp.State != nil {
		c.CSRF = resp.State.CSRFToken
	}
	var keys api.Keys
	if err := c.Do(ctx, http.MethodGet, api.Prefix+"keys", nil, &keys); err != nil {
		u.Zero()
		return nil, err
	}
	d := newDrive(c, u, keys.RootFolderID)
	if err := d.handEscrow(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Seal exports the unlocked keys encrypted under sessionKey (32 bytes), so a
// browser tab can keep them in sessionStorage across reloads; Resume undoes
// it. Neither the node nor storage alone can open the result.
//
// The result holds the account's root, private, escrow and root folder
// keys and the root folder's id (not the keys of items unlocked with their
// own password: those are asked for again). It is bound to nothing else:
// anyone with both the result and sessionKey has the keys.
func (d *Drive) Seal(sessionKey []byte) ([]byte, error) {
	u, err := d.unlocked()
	if err != nil {
		return nil, err
	}
	secret := u.MarshalSecret()
	defer clear(secret)
	pt := append(secret, d.rootID...)
	defer clear(pt)
	return sealSession(sessionKey, pt)
}

// Resume is Unlock from what Seal made.
//
// It hands the escrow key to the node again (the node may have restarted
// since), which also checks that c's session is alive: a session that
// ended gives *api.Error unauthenticated. A wrong sessionKey or altered
// data gives vault.ErrCorrupt.
func Resume(ctx context.Context, c *api.Client, sealed, sessionKey []byte) (*Drive, error) {
	pt, err := openSession(sessionKey, sealed)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	if len(pt) < vault.SecretSize {
		return nil, fmt.Errorf("%w: sealed keys too short", vault.ErrCorrupt)
	}
	u, err := vault.UnmarshalSecret(pt[:vault.SecretSize])
	if err != nil {
		return nil, err
	}
	rootID := string(pt[vault.SecretSize:])
	if !ValidID(rootID) {
		u.Zero()
		return nil, fmt.Errorf("%w: sealed keys without a root folder", vault.ErrCorrupt)
	}
	d := newDrive(c, u, rootID)
	if err := d.handEscrow(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Close forgets the keys (best effort, see shared/vault).
func (d *Drive) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.u != nil {
		d.u.Zero()
		d.u = nil
	}
	for id, k := range d.keys {
		k.Zero()
		d.keys[id] = k
		delete(d.keys, id)
	}
	d.metaKeys.forget()
}

func (d *Drive) unlocked() (*vault.Unlocked, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.u == nil {
		return nil, ErrClosed
	}
	return d.u, nil
}

// SetCipher chooses the AES-CTR implementation for uploads and downloads
// (the browser passes WebCrypto, wasm/aesctr); the default is
// transfer.GoCipher.
func (d *Drive) SetCipher(newCipher func(chk.Key) transfer.Cipher) {
	d.mu.Lock()
	d.newCipher = newCipher
	d.mu.Unlock()
}

func (d *Drive) cipher(k chk.Key) transfer.Cipher {
	d.mu.Lock()
	f := d.newCipher
	d.mu.Unlock()
	if f == nil {
		return transfer.GoCipher(k)
	}
	return f(k)
}

// Client is the API client the drive uses.
func (d *Drive) Client() *api.Client { return d.c }

// RootID is the id of the user's root folder.
func (d *Drive) RootID() string { return d.rootID }

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
	Node                  api.Node // as the node keeps it
	current               *Version // files: opened (CurrentVersion)
	lazy                  *lazyVersion
}

// CurrentVersion is a file's current version: opened with the item, or
// for an item from List, on first use (once; every copy of the item then
// has it). Nil for folders, files without one, and one whose metadata
// does not open (opening the item by itself then says why).
func (it Item) CurrentVersion() *Version {
	if it.current != nil || it.lazy == nil {
		return it.current
	}
	return it.lazy.get()
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
	info, err := d.nodeInfo(ctx, id)
	if err != nil {
		return Item{}, nil, err
	}
	var anc []Item
	for _, a := range info.Ancestors {
		it, err := d.item(ctx, a)
		if err != nil {
			return Item{}, nil, err
		}
		anc = append(anc, it)
	}
	it, err := d.item(ctx, info.Node)
	return it, anc, err
}

// List returns a folder's live children (every page); a file's current
// version is opened on first use (Item.CurrentVersion). Files dropped into
// the folder through a drop link are adopted first (links.go, drop.go), so
// they appear in it; an adoption that fails does not fail the listing.
func (d *Drive) List(ctx context.Context, folderID string) ([]Item, error) {
	if _, err := d.keyOf(ctx, folderID); err != nil {
		return nil, err
	}
	_, _ = d.AdoptDrops(ctx, folderID) // best effort: AdoptDrops leaves what fails for next time
	return openAhead(ctx, d.childPages(folderID), func(n api.Node) (Item, error) {
		return d.openItem(ctx, n, true)
	})
}

// CreateOptions choose how a folder or file is made.
type CreateOptions struct {
	Mode        string // "": the parent's mode, else the user's default
	KeepHistory *bool  // folders; nil: on
	Password    string // its own password (secure items), "" none
}

// Mkdir makes a folder. A taken name is *api.Error name_taken.
func (d *Drive) Mkdir(ctx context.Context, parentID, name string, o CreateOptions) (Item, error) {
	if err := vault.ValidateName(name); err != nil {
		return Item{}, err
	}
	parent, err := d.node(ctx, parentID)
	if err != nil {
		return Item{}, err
	}
	pk, err := d.keyOf(ctx, parentID)
	if err != nil {
		return Item{}, err
	}
	now := time.Now().UTC()
	fm := vault.FolderMeta{Name: name, Created: now, Modified: now}
	plain, err := fm.Marshal()
	if err != nil {
		return Item{}, err
	}
	keep := true
	if o.KeepHistory != nil {
		keep = *o.KeepHistory
	}
	id := NewID()
	key := vault.NewKey()
	req := api.CreateNodeRequest{ID: id, Parent: parentID, Kind: api.KindFolder, KeepHistory: &keep}
	if err := d.fillCreate(ctx, &req, parent, pk, key, name, plain, o); err != nil {
		return Item{}, err
	}
	var n api.Node
	if err := d.c.Do(ctx, http.MethodPost, api.Prefix+"nodes", req, &n); err != nil {
		return Item{}, err
	}
	d.remember(id, key)
	return d.item(ctx, n)
}

// fillCreate fills what every creation carries: mode, name HMAC, sealed
// metadata, the wrapped key (or lock) and the escrow entry.
func (d *Drive) fillCreate(ctx context.Context, req *api.CreateNodeRequest, parent api.Node, pk, key vault.Key, name string, meta []byte, o CreateOptions) error {
	mode, err := d.modeFor(ctx, parent, o.Mode)
	if err != nil {
		return err
	}
	if d.foreign(req.Parent) {
		mode = api.ModeSecure // the escrow key is the owner's, not ours (shares.go)
	}
	req.Mode = mode
	h := vault.NameHMAC(pk, name)
	req.NameHMAC = h[:]
	if req.Meta, err = vault.SealMeta(pk.MetaKey(), vault.MetaSlot(req.ID), meta); err != nil {
		return err
	}
	if o.Password != "" {
		if req.Lock, req.WrappedKey, err = vault.LockItem(key, req.ID, o.Password, KDFParams); err != nil {
			return err
		}
	} else {
		req.WrappedKey = vault.Wrap(pk, key, vault.NodeKeySlot(req.ID))
	}
	if mode == api.ModeStandard {
		if req.Escrow, err = d.escrowOf(req.ID, key); err != nil {
			return err
		}
	}
	return nil
}

// escrowOf wraps a node's meta key under the escrow key (§7.5).
func (d *Drive) escrowOf(id string, key vault.Key) ([]byte, error) {
	u, err := d.unlocked()
	if err != nil {
		return nil, err
	}
	mk := vault.Key(key.MetaKey())
	defer mk.Zero()
	return vault.Wrap(u.Escrow, mk, vault.EscrowSlot(id)), nil
}

// modeFor is the mode of a new item: asked, else its folder's, else (in
// the root folder, whose own mode is only a placeholder) the user's
// default.
func (d *Drive) modeFor(ctx context.Context, parent api.Node, asked string) (string, error) {
	switch asked {
	case api.ModeSecure, api.ModeStandard:
		return asked, nil
	case "":
	default:
		return "", fmt.Errorf("drive: unknown mode %q", asked)
	}
	if parent.Parent != "" && (parent.Mode == api.ModeSecure || parent.Mode == api.ModeStandard) {
		return parent.Mode, nil
	}
	s, err := d.Settings(ctx)
	if err != nil || s.DefaultMode == "" {
		return api.ModeSecure, nil
	}
	return s.DefaultMode, nil
}

// Rename renames an item in its folder. A taken name is *api.Error
// name_taken. Concurrent changes (409 conflict) are retried on top of the
// node's current state.
func (d *Drive) Rename(ctx context.Context, id, name string) (Item, error) {
	if err := vault.ValidateName(name); err != nil {
		return Item{}, err
	}
	return d.update(ctx, id, func(n api.Node, req *api.UpdateNodeRequest) error {
		if n.Parent == "" {
			return errors.New("drive: the root folder has no name")
		}
		pk, err := d.keyOf(ctx, n.Parent)
		if err != nil {
			return err
		}
		meta, err := d.renamedMeta(pk, n, name)
		if err != nil {
			return err
		}
		h := vault.NameHMAC(pk, name)
		req.NameHMAC, req.Meta = h[:], meta
		return nil
	})
}

// Move moves an item into folder parentID, keeping its name. A taken
// name is *api.Error name_taken; a folder into its own subtree is
// *api.Error invalid.
func (d *Drive) Move(ctx context.Context, id, parentID string) (Item, error) {
	qk, err := d.keyOf(ctx, parentID)
	if err != nil {
		return Item{}, err
	}
	return d.update(ctx, id, func(n api.Node, req *api.UpdateNodeRequest) error {
		if n.Parent == "" {
			return errors.New("drive: the root folder cannot be moved")
		}
		return d.fillMove(ctx, n, parentID, qk, "", req)
	})
}

// fillMove re-makes n's name HMAC, metadata and wrapped key for folder
// parentID (key qk), renaming it to name if not "".
func (d *Drive) fillMove(ctx context.Context, n api.Node, parentID string, qk vault.Key, name string, req *api.UpdateNodeRequest) error {
	pk, err := d.keyOf(ctx, n.Parent)
	if err != nil {
		return err
	}
	m, err := openNodeMeta(d.metaKeys.of(pk), n)
	if err != nil {
		return err
	}
	plain, old := m.plain, m.name
	if name != "" && name != old {
		if plain, err = rename(n, plain, name); err != nil {
			return err
		}
	} else {
		name = old
	}
	if req.Meta, err = vault.SealMeta(qk.MetaKey(), vault.MetaSlot(n.ID), plain); err != nil {
		return err
	}
	h := vault.NameHMAC(qk, name)
	req.NameHMAC = h[:]
	req.Parent = &parentID
	if len(n.Lock) == 0 {
		k, err := d.keyOf(ctx, n.ID)
		if err != nil {
			return err
		}
		req.WrappedKey = vault.Wrap(qk, k, vault.NodeKeySlot(n.ID))
	}
	return nil
}

// update PATCHes a node, re-making the change on top of the node's
// current state when the node says it changed meanwhile (409 conflict).
func (d *Drive) update(ctx context.Context, id string, make func(n api.Node, req *api.UpdateNodeRequest) error) (Item, error) {
	n, err := d.node(ctx, id)
	if err != nil {
		return Item{}, err
	}
	for attempt := 0; ; attempt++ {
		req := api.UpdateNodeRequest{BaseVersion: n.Version}
		if err := make(n, &req); err != nil {
			return Item{}, err
		}
		var out api.Node
		err := d.c.Do(ctx, http.MethodPatch, api.Prefix+"nodes/"+id, req, &out)
		if err == nil {
			return d.item(ctx, out)
		}
		var ae *api.Error
		if attempt >= 5 || !errors.As(err, &ae) || ae.Code != api.CodeConflict || ae.Node == nil || ae.Node.ID != id {
			return Item{}, err
		}
		n = *ae.Node
	}
}

// Copy copies a file or a folder tree into parentID (content is not
// uploaded again); the copy gets a free name ("x (2).txt") if needed.
// Items with their own password are copied only when unlocked
// (ErrNeedsPassword otherwise); the copies get no password of their own.
func (d *Drive) Copy(ctx context.Context, id, parentID string) (Item, error) {
	src, _, err := d.Item(ctx, id)
	if err != nil {
		return Item{}, err
	}
	taken, err := d.takenNames(ctx, parentID)
	if err != nil {
		return Item{}, err
	}
	return d.copyInto(ctx, src, parentID, FreeName(src.Name, taken))
}

// takenNames reports whether a name is in use in folderID, compared as the
// node compares them (vault.FoldName); FreeName takes it.
func (d *Drive) takenNames(ctx context.Context, folderID string) (func(string) bool, error) {
	kids, err := d.List(ctx, folderID)
	if err != nil {
		return nil, err
	}
	names := make(map[string]bool, len(kids))
	for _, k := range kids {
		names[vault.FoldName(k.Name)] = true
	}
	return func(s string) bool { return names[vault.FoldName(s)] }, nil
}

// copyInto copies item it into parentID under name.
func (d *Drive) copyInto(ctx context.Context, it Item, parentID, name string) (Item, error) {
	if it.NeedsPassword {
		return Item{}, ErrNeedsPassword
	}
	parent, err := d.node(ctx, parentID)
	if err != nil {
		return Item{}, err
	}
	pk, err := d.keyOf(ctx, parentID)
	if err != nil {
		return Item{}, err
	}
	o := CreateOptions{Mode: it.Mode}
	id, key := NewID(), vault.NewKey()
	var plain []byte
	var req api.CreateNodeRequest
	if it.Folder {
		fm := vault.FolderMeta{Name: name, Created: it.Created, Modified: it.Modified}
		if plain, err = fm.Marshal(); err != nil {
			return Item{}, err
		}
		keep := it.KeepHistory
		req = api.CreateNodeRequest{ID: id, Parent: parentID, Kind: api.KindFolder, KeepHistory: &keep}
	} else {
		if it.CurrentVersion() == nil {
			return Item{}, fmt.Errorf("drive: %s has no content", it.Name)
		}
		fm := vault.FileMeta{Name: name, Size: it.Size, Modified: it.Modified}
		if plain, err = fm.Marshal(); err != nil {
			return Item{}, err
		}
		v := it.CurrentVersion()
		vid := NewID()
		vm := vault.VersionMeta{Cap: v.Cap, MIME: v.MIME, Modified: v.Modified, Thumbnail: v.Thumbnail, Scrubbed: v.Scrubbed}
		vplain, err := vm.Marshal()
		if err != nil {
			return Item{}, err
		}
		sealed, err := vault.SealMeta(key.MetaKey(), vault.VersionSlot(id, vid), vplain)
		if err != nil {
			return Item{}, err
		}
		body := &api.NewVersionBody{ID: vid, Meta: sealed}
		if it.Node.Current != nil && it.Node.Current.VerifyCap != "" {
			body.CopyOf = v.ID
		}
		req = api.CreateNodeRequest{ID: id, Parent: parentID, Kind: api.KindFile, Version: body}
	}
	if err := d.fillCreate(ctx, &req, parent, pk, key, name, plain, o); err != nil {
		return Item{}, err
	}
	var n api.Node
	if err := d.c.Do(ctx, http.MethodPost, api.Prefix+"nodes", req, &n); err != nil {
		return Item{}, err
	}
	d.remember(id, key)
	if it.Folder {
		kids, err := d.List(ctx, it.ID)
		if err != nil {
			return Item{}, err
		}
		for _, k := range kids {
			if _, err := d.copyInto(ctx, k, id, k.Name); err != nil {
				return Item{}, err
			}
		}
	}
	return d.item(ctx, n)
}

// Trash puts an item (and what is in it) in the trash.
func (d *Drive) Trash(ctx context.Context, id string) error {
	n, err := d.node(ctx, id)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		err := d.c.Do(ctx, http.MethodDelete, fmt.Sprintf("%snodes/%s?base_version=%d", api.Prefix, id, n.Version), nil, nil)
		var ae *api.Error
		if err == nil || attempt >= 5 || !errors.As(err, &ae) || ae.Code != api.CodeConflict || ae.Node == nil {
			return err
		}
		n = *ae.Node
	}
}

// TrashItems lists what the user put in the trash (not what is inside a
// trashed folder), most recently trashed first. An item whose folder was
// deleted for good has no readable name (Name "").
func (d *Drive) TrashItems(ctx context.Context) ([]Item, error) {
	var nodes []api.Node
	if err := d.c.Do(ctx, http.MethodGet, api.Prefix+"trash", nil, &nodes); err != nil {
		return nil, err
	}
	return d.items(ctx, nodes, true)
}

// Restore brings an item back from the trash: into its folder, with a
// free name ("x (2)") if its name was taken meanwhile; into the root
// folder if its folder is gone or in the trash.
func (d *Drive) Restore(ctx context.Context, id string) (Item, error) {
	var n api.Node
	err := d.c.Do(ctx, http.MethodPost, api.Prefix+"trash/"+id+"/restore", api.RestoreRequest{}, &n)
	if err == nil {
		return d.item(ctx, n)
	}
	var ae *api.Error
	if !errors.As(err, &ae) || (ae.Code != api.CodeNameTaken && ae.Code != api.CodeConflict) {
		return Item{}, err
	}
	cur, err := d.node(ctx, id)
	if err != nil {
		return Item{}, err
	}
	if cur.Trashed == nil {
		return Item{}, ae // in the trash only through its folder, or not at all
	}
	to := cur.Parent
	if ae.Code == api.CodeConflict || to == "" {
		to = d.rootID
	}
	for attempt := 0; ; attempt++ {
		qk, err := d.keyOf(ctx, to)
		if err != nil {
			return Item{}, err
		}
		taken, err := d.takenNames(ctx, to)
		if err != nil {
			return Item{}, err
		}
		pk, err := d.keyOf(ctx, cur.Parent)
		if err != nil {
			return Item{}, err
		}
		m, err := openNodeMeta(d.metaKeys.of(pk), cur)
		if err != nil {
			return Item{}, err
		}
		var up api.UpdateNodeRequest
		if err := d.fillMove(ctx, cur, to, qk, FreeName(m.name, taken), &up); err != nil {
			return Item{}, err
		}
		req := api.RestoreRequest{Parent: to, NameHMAC: up.NameHMAC, Meta: up.Meta, WrappedKey: up.WrappedKey}
		err = d.c.Do(ctx, http.MethodPost, api.Prefix+"trash/"+id+"/restore", req, &n)
		if err == nil {
			return d.item(ctx, n)
		}
		if attempt >= 3 || !isCode(err, api.CodeNameTaken) {
			return Item{}, err
		}
	}
}

// DeleteForever deletes an item in the trash for good, with every version.
func (d *Drive) DeleteForever(ctx context.Context, id string) error {
	return d.c.Do(ctx, http.MethodDelete, api.Prefix+"trash/"+id, nil, nil)
}

// EmptyTrash deletes everything in the trash for good.
func (d *Drive) EmptyTrash(ctx context.Context) error {
	return d.c.Do(ctx, http.MethodPost, api.Prefix+"trash/empty", nil, nil)
}

// Recent lists the files changed last, newest first.
func (d *Drive) Recent(ctx context.Context) ([]Item, error) {
	var nodes []api.Node
	if err := d.c.Do(ctx, http.MethodGet, api.Prefix+"recent", nil, &nodes); err != nil {
		return nil, err
	}
	return d.items(ctx, nodes, true)
}

// Favorites lists the favourites.
func (d *Drive) Favorites(ctx context.Context) ([]Item, error) {
	var nodes []api.Node
	if err := d.c.Do(ctx, http.MethodGet, api.Prefix+"favorites", nil, &nodes); err != nil {
		return nil, err
	}
	return d.items(ctx, nodes, true)
}

// Versions lists a file's versions, newest first.
func (d *Drive) Versions(ctx context.Context, fileID string) ([]Version, error) {
	n, err := d.node(ctx, fileID)
	if err != nil {
		return nil, err
	}
	k, err := d.keyOf(ctx, fileID)
	if err != nil {
		return nil, err
	}
	var vs []api.Version
	if err := d.c.Do(ctx, http.MethodGet, api.Prefix+"nodes/"+fileID+"/versions", nil, &vs); err != nil {
		return nil, err
	}
	out := make([]Version, 0, len(vs))
	for _, v := range vs {
		ov, err := openVersion(d.metaKeys.of(k), fileID, v)
		if err != nil {
			return nil, err
		}
		ov.Current = n.Current != nil && n.Current.ID == v.ID
		out = append(out, ov)
	}
	return out, nil
}

// SetFavorite marks or unmarks an item as a favourite.
func (d *Drive) SetFavorite(ctx context.Context, id string, on bool) (Item, error) {
	return d.update(ctx, id, func(n api.Node, req *api.UpdateNodeRequest) error {
		req.Favorite = &on
		return nil
	})
}

// SetKeepHistory sets whether a folder keeps old versions of its files.
func (d *Drive) SetKeepHistory(ctx context.Context, folderID string, on bool) (Item, error) {
	return d.update(ctx, folderID, func(n api.Node, req *api.UpdateNodeRequest) error {
		req.KeepHistory = &on
		return nil
	})
}

// SetMode makes an item secure (its escrow entry is removed) or standard
// (its meta key is wrapped under the escrow key). Only this item: its
// children keep their modes.
func (d *Drive) SetMode(ctx context.Context, id, mode string) (Item, error) {
	if mode != api.ModeSecure && mode != api.ModeStandard {
		return Item{}, fmt.Errorf("drive: unknown mode %q", mode)
	}
	return d.update(ctx, id, func(n api.Node, req *api.UpdateNodeRequest) error {
		req.Mode = &mode
		if mode == api.ModeSecure {
			req.ClearEscrow = len(n.Escrow) > 0
			return nil
		}
		k, err := d.keyOf(ctx, id)
		if err != nil {
			return err
		}
		req.Escrow, err = d.escrowOf(id, k)
		return err
	})
}

// RestoreVersion makes an old version current again (as a new version with
// the old content, so the history is kept).
func (d *Drive) RestoreVersion(ctx context.Context, fileID, versionID string) (Item, error) {
	vs, err := d.Versions(ctx, fileID)
	if err != nil {
		return Item{}, err
	}
	var old *Version
	for i := range vs {
		if vs[i].ID == versionID {
			old = &vs[i]
		}
	}
	if old == nil {
		return Item{}, &api.Error{Code: api.CodeNotFound, Message: "No such version of this file."}
	}
	k, err := d.keyOf(ctx, fileID)
	if err != nil {
		return Item{}, err
	}
	n, err := d.node(ctx, fileID)
	if err != nil {
		return Item{}, err
	}
	vm := vault.VersionMeta{Cap: old.Cap, MIME: old.MIME, Modified: old.Modified, Thumbnail: old.Thumbnail, Scrubbed: old.Scrubbed}
	for attempt := 0; ; attempt++ {
		nodeMeta, newID, sealed, err := d.sealNewVersion(ctx, n, k, old.Size, old.Modified, vm)
		if err != nil {
			return Item{}, err
		}
		req := api.RestoreVersionRequest{BaseVersion: n.Version, NewID: newID, Meta: sealed, NodeMeta: nodeMeta}
		var out api.Node
		err = d.c.Do(ctx, http.MethodPost, api.Prefix+"nodes/"+fileID+"/versions/"+versionID+"/restore", req, &out)
		if err == nil {
			return d.item(ctx, out)
		}
		var ae *api.Error
		if attempt >= 5 || !errors.As(err, &ae) || ae.Code != api.CodeConflict || ae.Node == nil {
			return Item{}, err
		}
		n = *ae.Node
	}
}

// sealNewVersion makes the metadata of a new version of file n (key k):
// its FileMeta re-sealed under the parent with the version's size and time,
// a new version id, and vm sealed under the file's meta key for that id.
func (d *Drive) sealNewVersion(ctx context.Context, n api.Node, k vault.Key, size int64, modified time.Time, vm vault.VersionMeta) (nodeMeta []byte, vid string, sealed []byte, err error) {
	if _, ok := d.shareRootOf(n.ID); ok {
		// A file shared with us: its FileMeta is under the owner's folder,
		// which we cannot re-seal; only the version is new.
		return d.sealVersionOnly(n, k, vm)
	}
	pk, err := d.keyOf(ctx, n.Parent)
	if err != nil {
		return nil, "", nil, err
	}
	m, err := openNodeMeta(d.metaKeys.of(pk), n)
	if err != nil {
		return nil, "", nil, err
	}
	fm, err := vault.UnmarshalFileMeta(m.plain)
	if err != nil {
		return nil, "", nil, err
	}
	fm.Size, fm.Modified = size, modified
	fplain, err := fm.Marshal()
	if err != nil {
		return nil, "", nil, err
	}
	if nodeMeta, err = vault.SealMeta(pk.MetaKey(), vault.MetaSlot(n.ID), fplain); err != nil {
		return nil, "", nil, err
	}
	vid = NewID()
	vplain, err := vm.Marshal()
	if err != nil {
		return nil, "", nil, err
	}
	sealed, err = vault.SealMeta(k.MetaKey(), vault.VersionSlot(n.ID, vid), vplain)
	return nodeMeta, vid, sealed, err
}

// DeleteVersion deletes an old version of a file (not the current one:
// *api.Error conflict).
func (d *Drive) DeleteVersion(ctx context.Context, fileID, versionID string) error {
	return d.c.Do(ctx, http.MethodDelete, api.Prefix+"nodes/"+fileID+"/versions/"+versionID, nil, nil)
}

// UnlockItem gives an item's own password for the rest of this Drive.
// A wrong password is vault.ErrWrongPassword.
func (d *Drive) UnlockItem(ctx context.Context, id, password string) error {
	n, err := d.node(ctx, id)
	if err != nil {
		return err
	}
	if len(n.Lock) == 0 {
		return nil
	}
	k, err := vault.UnlockItem(n.Lock, n.WrappedKey, id, password)
	if err != nil {
		return err
	}
	d.remember(id, k)
	return nil
}

// LockItem gives an item its own password (or changes it); "" removes it,
// wrapping the key under the folder's again. The item must be unlocked.
func (d *Drive) LockItem(ctx context.Context, id, password string) (Item, error) {
	return d.update(ctx, id, func(n api.Node, req *api.UpdateNodeRequest) error {
		if n.Parent == "" {
			return errors.New("drive: the root folder cannot have a password of its own")
		}
		k, err := d.keyOf(ctx, id)
		if err != nil {
			return err
		}
		if password == "" {
			pk, err := d.keyOf(ctx, n.Parent)
			if err != nil {
				return err
			}
			req.WrappedKey, req.ClearLock = vault.Wrap(pk, k, vault.NodeKeySlot(id)), true
			return nil
		}
		req.Lock, req.WrappedKey, err = vault.LockItem(k, id, password, KDFParams)
		return err
	})
}

// Settings returns the user's file settings.
func (d *Drive) Settings(ctx context.Context) (api.FileSettings, error) {
	var s api.FileSettings
	if err := d.c.Do(ctx, http.MethodGet, api.Prefix+"settings", nil, &s); err != nil {
		return s, err
	}
	return s, nil
}

// SetSettings stores the user's file settings.
func (d *Drive) SetSettings(ctx context.Context, s api.FileSettings) error {
	return d.c.Do(ctx, http.MethodPut, api.Prefix+"settings", s, nil)
}

// Usage returns the user's storage use and quota.
func (d *Drive) Usage(ctx context.Context) (api.Usage, error) {
	var u api.Usage
	err := d.c.Do(ctx, http.MethodGet, api.Prefix+"usage", nil, &u)
	return u, err
}

// NewRecoveryKey replaces the recovery key; show the result once.
func (d *Drive) NewRecoveryKey(ctx context.Context) (string, error) {
	u, err := d.unlocked()
	if err != nil {
		return "", err
	}
	var keys api.Keys
	if err := d.c.Do(ctx, http.MethodGet, api.Prefix+"keys", nil, &keys); err != nil {
		return "", err
	}
	b, err := vault.ParseBundle(keys.Bundle)
	if err != nil {
		return "", err
	}
	nb, rk, err := u.NewRecoveryKey(b)
	if err != nil {
		return "", err
	}
	defer rk.Zero()
	data, err := nb.MarshalBinary()
	if err != nil {
		return "", err
	}
	req := api.PutKeysRequest{Bundle: data, BaseBundle: keys.Bundle, RecoveryAuth: rk.Auth()}
	if err := d.c.Do(ctx, http.MethodPut, api.Prefix+"keys", req, nil); err != nil {
		return "", err
	}
	return rk.String(), nil
}

// ChangePassword changes the login password and re-wraps the keys, in one request.
// A wrong current password is *api.Error wrong_password (the node checks it).
func (d *Drive) ChangePassword(ctx context.Context, current, newPassword string) error {
	u, err := d.unlocked()
	if err != nil {
		return err
	}
	var keys api.Keys
	if err := d.c.Do(ctx, http.MethodGet, api.Prefix+"keys", nil, &keys); err != nil {
		return err
	}
	b, err := vault.ParseBundle(keys.Bundle)
	if err != nil {
		return err
	}
	nb, err := u.ChangePassword(b, newPassword, KDFParams)
	if err != nil {
		return err
	}
	data, err := nb.MarshalBinary()
	if err != nil {
		return err
	}
	return d.c.Do(ctx, http.MethodPost, api.Prefix+"password", api.ChangePasswordRequest{Current: current, New: newPassword, Bundle: data}, nil)
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
	// Thumbnail, if set, is a small image (at most vault.MaxThumbnail
	// bytes) sealed into the version's metadata.
	Thumbnail []byte
	// Worker, if set, makes the upload.Worker that sends the file itself
	// (the browser's upload worker), given what is uploaded as parts over
	// the source (the scrubbing plan's; one part of the whole source
	// without scrubbing). It returns nil when it cannot.
	Worker func(parts []scrub.Part) upload.Worker
}

// File is a version's plaintext, verified against its cap as it is read.
type File interface {
	io.ReaderAt
	io.WriterTo
	Size() int64
}

func isCode(err error, code string) bool {
	var ae *api.Error
	return errors.As(err, &ae) && ae.Code == code
}

// ValidID reports whether s is an id as this package makes them: 26
// lowercase base32 characters encoding 16 bytes.
func ValidID(s string) bool {
	if len(s) != 26 {
		return false
	}
	b, err := cap.DecodeBase32(s)
	return err == nil && len(b) == 16
}
