package drive

// Drops (docs/sharing.md, "File drops"; formats in docs/spec/keys.md §11):
// an uploader without an account sends files into a folder of the owner's
// through a drop link, each file's key sealed to the owner's public key;
// the owner's client later "adopts" them into the folder as ordinary
// nodes.

import (
	"context"
	"errors"
	"fmt"
	"io"
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

// Drop is an opened drop link, for an uploader (no account needed).
type Drop struct {
	c *api.Client

	mu        sync.Mutex
	pl        api.PublicLink // DropUsage grows as this Drop's files arrive
	newCipher func(chk.Key) transfer.Cipher
}

// OpenDrop opens drop link id (password "" for a drop without one): the
// access token goes in c.Header[api.LinkTokenHeader]. A wrong password is
// vault.ErrWrongPassword; a missing one ErrNeedsLinkPassword; a link that
// does not work *api.Error (link_removed, link_expired...).
func OpenDrop(ctx context.Context, c *api.Client, id, password string) (*Drop, error) {
	pl, err := LookupLink(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if pl.Kind != api.LinkDrop {
		return nil, errors.New("This link shares files; it does not take uploads.")
	}
	if len(pl.PublicKey) != 32 {
		return nil, fmt.Errorf("%w: the drop's public key has %d bytes", vault.ErrCorrupt, len(pl.PublicKey))
	}
	var req api.AccessRequest
	if pl.KeyMode == api.KeyPassword {
		if password == "" {
			return nil, ErrNeedsLinkPassword
		}
		lpk, err := vault.DeriveLinkPassword(pl.Lock, password)
		if err != nil {
			return nil, err
		}
		req.PasswordAuth = lpk.Auth()
		lpk.Zero()
	}
	acc, err := c.LinkAccess(ctx, id, req)
	if isCode(err, api.CodeWrongPassword) {
		return nil, vault.ErrWrongPassword
	}
	if err != nil {
		return nil, err
	}
	if c.Header == nil {
		c.Header = map[string]string{}
	}
	c.Header[api.LinkTokenHeader] = acc.Token
	return &Drop{c: c, pl: pl}, nil
}

// Link is what the node says of the drop (owner, limits), with the usage
// it gave when the drop was opened plus the files this Drop sent since.
func (dr *Drop) Link() api.PublicLink {
	dr.mu.Lock()
	defer dr.mu.Unlock()
	pl := dr.pl
	if pl.DropUsage != nil {
		u := *pl.DropUsage
		pl.DropUsage = &u
	}
	return pl
}

// SetCipher chooses the AES-CTR implementation (WebCrypto in the browser).
func (dr *Drop) SetCipher(newCipher func(chk.Key) transfer.Cipher) {
	dr.mu.Lock()
	dr.newCipher = newCipher
	dr.mu.Unlock()
}

func (dr *Drop) cipher(k chk.Key) transfer.Cipher {
	dr.mu.Lock()
	f := dr.newCipher
	dr.mu.Unlock()
	if f == nil {
		return transfer.GoCipher(k)
	}
	return f(k)
}

// sent counts a file this Drop delivered, so that the next NewPut checks
// the limits against what is left.
func (dr *Drop) sent(size int64) {
	dr.mu.Lock()
	defer dr.mu.Unlock()
	u := api.DropUsage{}
	if dr.pl.DropUsage != nil {
		u = *dr.pl.DropUsage
	}
	u.Files++
	u.Bytes += size
	dr.pl.DropUsage = &u
}

// DropPutOptions describe one file sent into a drop.
type DropPutOptions struct {
	Name, MIME string
	Modified   time.Time
	NoScrub    bool
	// Progress, if set, is called as the upload goes (transfer.Progress),
	// as PutOptions.Progress.
	Progress func(transfer.Progress)
	// Worker, if set, makes the upload.Worker that sends the file itself,
	// as PutOptions.Worker.
	Worker func(parts []scrub.Part) upload.Worker
}

// DropPut is one file being sent into a drop.
type DropPut struct {
	dr *Drop
	o  DropPutOptions
	payload
}

// NewPut scrubs (plans) src and prepares its upload; nothing is sent. What
// the drop's limits, as the node gave them when the drop was opened,
// already exclude is refused now (*api.Error file_too_large or drop_full);
// the node checks again when the upload begins.
func (dr *Drop) NewPut(src io.ReaderAt, size int64, o DropPutOptions) (*DropPut, error) {
	if err := vault.ValidateName(o.Name); err != nil {
		return nil, err
	}
	pl := dr.Link()
	p, err := newPayload(src, size, payloadOptions{
		sessions: dr.c.LinkRoutes(pl.ID), cipher: dr.cipher, name: o.Name, mime: o.MIME, noScrub: o.NoScrub,
		progress: o.Progress, worker: o.Worker,
	})
	if err != nil {
		return nil, err
	}
	if err := dropAllows(pl, p.size); err != nil {
		return nil, err
	}
	return &DropPut{dr: dr, o: o, payload: p}, nil
}

// dropAllows checks a file of size bytes against a drop's public limits.
// AES-CTR ciphertext is as long as the plaintext, so the limits on
// ciphertext apply to size directly.
func dropAllows(pl api.PublicLink, size int64) error {
	lim := pl.Drop
	if lim == nil {
		return nil
	}
	var used api.DropUsage
	if pl.DropUsage != nil {
		used = *pl.DropUsage
	}
	if lim.MaxFile > 0 && size > lim.MaxFile {
		return &api.Error{Code: api.CodeFileTooLarge, Message: fmt.Sprintf("This file (%d bytes) is larger than this drop accepts (%d bytes per file).", size, lim.MaxFile)}
	}
	if lim.MaxFiles > 0 && used.Files >= lim.MaxFiles {
		return &api.Error{Code: api.CodeDropFull, Message: fmt.Sprintf("This drop has received all the files it accepts (%d).", lim.MaxFiles)}
	}
	if lim.MaxTotal > 0 && used.Bytes+size > lim.MaxTotal {
		return &api.Error{Code: api.CodeDropFull, Message: fmt.Sprintf("This file (%d bytes) does not fit in what is left of this drop (%d bytes).", size, max(lim.MaxTotal-used.Bytes, 0))}
	}
	return nil
}

// Upload is the transfer (progress, pause, cancel); it does nothing for a
// file of at most 55 bytes, which travels in its sealed metadata.
func (p *DropPut) Upload() *upload.Upload { return p.up }

// Size is the size of what is sent, after scrubbing.
func (p *DropPut) Size() int64 { return p.size }

// Scrubbed says what scrubbing removed.
func (p *DropPut) Scrubbed() []string { return p.scrubbed }

// Run encrypts and uploads the file through the drop's routes, then hands
// it to the node as a dropped file: its key sealed to the owner's public
// key, its FileMeta and VersionMeta sealed under that key. It may be
// called again after a failure (the upload resumes).
func (p *DropPut) Run(ctx context.Context) error {
	res, err := p.up.Run(ctx)
	if err != nil {
		return err
	}
	vm := p.versionMeta(res, p.o.Modified)
	id, vid := NewID(), NewID()
	key := vault.NewKey()
	defer key.Zero()
	pl := p.dr.Link()
	req, err := sealDrop(pl, id, vid, key, p.o.Name, p.size, p.o.Modified, vm)
	if err != nil {
		return err
	}
	req.Version.StorageIndex = res.StorageIndex
	if err := p.dr.c.DropFile(ctx, pl.ID, req); err != nil {
		return err
	}
	p.dr.sent(p.size)
	return nil
}

// sealDrop makes a dropped file's request: key sealed to the drop owner's
// public key, FileMeta under key's meta key in drop-meta(id), VersionMeta
// in version-meta(id, vid).
func sealDrop(pl api.PublicLink, id, vid string, key vault.Key, name string, size int64, modified time.Time, vm vault.VersionMeta) (api.DropFileRequest, error) {
	var req api.DropFileRequest
	box, err := vault.SealTo(pl.PublicKey, key[:], vault.DropBoxContext(pl.ID, id))
	if err != nil {
		return req, err
	}
	if modified.IsZero() {
		modified = time.Now()
	}
	fm := vault.FileMeta{Name: name, Size: size, Modified: modified.UTC()}
	plain, err := fm.Marshal()
	if err != nil {
		return req, err
	}
	meta, err := vault.SealMeta(key.MetaKey(), vault.DropMetaSlot(id), plain)
	if err != nil {
		return req, err
	}
	vplain, err := vm.Marshal()
	if err != nil {
		return req, err
	}
	vmeta, err := vault.SealMeta(key.MetaKey(), vault.VersionSlot(id, vid), vplain)
	if err != nil {
		return req, err
	}
	return api.DropFileRequest{ID: id, Box: box, Meta: meta, Version: api.NewVersionBody{ID: vid, Meta: vmeta}}, nil
}

// AdoptError lists the dropped files AdoptDrops could not adopt. They stay
// on the node (never deleted by adoption): another attempt, or the owner,
// decides.
type AdoptError struct {
	Failed map[string]error // drop file id -> why
}

func (e *AdoptError) Error() string {
	for id, err := range e.Failed {
		if len(e.Failed) == 1 {
			return fmt.Sprintf("A dropped file (%s) could not be added to the folder: %v", id, err)
		}
		return fmt.Sprintf("%d dropped files could not be added to the folder (%s: %v, ...)", len(e.Failed), id, err)
	}
	return "no dropped file failed"
}

// AdoptDrops turns the files dropped into a folder into ordinary files of
// it: each box is opened with the account's private key, and a node is
// made with new ids, the file's key wrapped under the folder's, its
// FileMeta under the folder's meta key (a free name if the name is taken),
// its VersionMeta re-sealed for the new ids, and the dropped content
// moved over (Version.FromDrop). It returns how many were adopted; the
// files that failed are left as they are and reported in an *AdoptError.
func (d *Drive) AdoptDrops(ctx context.Context, folderID string) (int, error) {
	drops, err := d.c.Drops(ctx, folderID)
	if err != nil || len(drops) == 0 {
		return 0, err
	}
	u, err := d.unlocked()
	if err != nil {
		return 0, err
	}
	parent, err := d.node(ctx, folderID)
	if err != nil {
		return 0, err
	}
	pk, err := d.keyOf(ctx, folderID)
	if err != nil {
		return 0, err
	}
	taken, err := d.folderNames(ctx, folderID)
	if err != nil {
		return 0, err
	}
	adopted := 0
	failed := map[string]error{}
	for _, df := range drops {
		if df.Folder != "" && df.Folder != folderID {
			continue
		}
		err := d.adopt(ctx, u, parent, pk, df, taken)
		switch {
		case err == nil:
			adopted++
		case isCode(err, api.CodeNotFound):
			// Adopted meanwhile by another client of the account, or discarded.
		default:
			failed[df.ID] = err
		}
	}
	if len(failed) > 0 {
		return adopted, &AdoptError{Failed: failed}
	}
	return adopted, nil
}

// folderNames is the folded names of a folder's children, without adopting.
func (d *Drive) folderNames(ctx context.Context, folderID string) (map[string]bool, error) {
	nodes, err := d.children(ctx, folderID)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, n := range nodes {
		if it, err := d.item(ctx, n); err == nil {
			names[vault.FoldName(it.Name)] = true
		}
	}
	return names, nil
}

func (d *Drive) adopt(ctx context.Context, u *vault.Unlocked, parent api.Node, pk vault.Key, df api.DropFile, taken map[string]bool) error {
	kb, err := u.OpenSealed(df.Box, vault.DropBoxContext(df.Link, df.ID))
	if err != nil {
		return err
	}
	if len(kb) != vault.KeySize {
		clear(kb)
		return fmt.Errorf("%w: a dropped file's key of %d bytes", vault.ErrCorrupt, len(kb))
	}
	var key vault.Key
	copy(key[:], kb)
	clear(kb)
	plain, err := vault.OpenMeta(key.MetaKey(), vault.DropMetaSlot(df.ID), df.Meta)
	if err != nil {
		return err
	}
	fm, err := vault.UnmarshalFileMeta(plain)
	if err != nil {
		return err
	}
	vplain, err := vault.OpenMeta(key.MetaKey(), vault.VersionSlot(df.ID, df.Version.ID), df.Version.Meta)
	if err != nil {
		return err
	}
	vm, err := vault.UnmarshalVersionMeta(vplain)
	if err != nil {
		return err
	}
	// The size is the content's, whatever the uploader claimed; a CHK cap
	// must name the content the node holds for this drop.
	switch c, _ := cap.Parse(vm.Cap); c := c.(type) {
	case cap.LIT:
		fm.Size = int64(len(c.Data))
	case cap.CHK:
		fm.Size = c.Size
		if df.Version.VerifyCap != "" && df.Version.VerifyCap != c.Verifier().String() {
			return fmt.Errorf("%w: the dropped content is not the one its cap names", vault.ErrCorrupt)
		}
	}
	if fm.Modified.IsZero() {
		fm.Modified = df.Created
	}
	vplain, err = vm.Marshal()
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		fm.Name = FreeName(fm.Name, func(s string) bool { return taken[vault.FoldName(s)] })
		plain, err := fm.Marshal()
		if err != nil {
			return err
		}
		id, vid := NewID(), NewID()
		sealed, err := vault.SealMeta(key.MetaKey(), vault.VersionSlot(id, vid), vplain)
		if err != nil {
			return err
		}
		req := api.CreateNodeRequest{ID: id, Parent: parent.ID, Kind: api.KindFile,
			Version: &api.NewVersionBody{ID: vid, FromDrop: df.ID, Meta: sealed}}
		if err := d.fillCreate(ctx, &req, parent, pk, key, fm.Name, plain, CreateOptions{}); err != nil {
			return err
		}
		var n api.Node
		err = d.c.Do(ctx, "POST", api.Prefix+"nodes", req, &n)
		if err == nil {
			taken[vault.FoldName(fm.Name)] = true
			d.remember(id, key)
			return nil
		}
		if attempt >= 3 || !isCode(err, api.CodeNameTaken) {
			return err
		}
		// A name taken meanwhile: look again.
		if names, err := d.folderNames(ctx, parent.ID); err == nil {
			for k := range names {
				taken[k] = true
			}
		}
		taken[vault.FoldName(fm.Name)] = true
	}
}
