package drive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/vault"
)

// Sharing with other users of the node (docs/sharing-users.md).
//
// The owner's side: ShareWith seals the item's key to each recipient's
// public key and the item's name (a LinkMeta) under the item's meta key;
// Shares lists who has access; Revoke ends shares and re-keys the item so
// that what comes next is sealed under a key the former recipients never
// had; OfferFolder hands a whole folder to another user.
//
// The recipient's side: SharedWithMe opens the boxes with the private key
// and remembers each item's key, so the ordinary calls (List, Item, Open,
// Put, Mkdir, ...) work on the owner's items below it: keyOf walks down
// from the nearest key at hand, not only from the root folder.

// ErrNoKeysYet: the recipient has no keys, so nothing can be sealed to them.
var ErrNoKeysYet = errors.New("This user has not signed in to Files yet, so they have no keys to share with. Ask them to sign in once, then try again.")

// peerShares is what a Drive knows of the items shared with its user.
type peerShares struct {
	roots map[string]shareRoot // by node id
	below map[string]bool      // ids whose keys were unwrapped from a shared item's
}

type shareRoot struct {
	share, name, owner, permission, group string
}

// SharedItem is an item another user shares with this one.
type SharedItem struct {
	Item
	Share      string
	Owner      string // the owner's user name
	Permission string // api.PermRead or api.PermWrite
	Group      string // shared through this group, if any
	Created    time.Time
}

// Writable reports whether the recipient may change the item.
func (s SharedItem) Writable() bool { return s.Permission == api.PermWrite }

func (d *Drive) shareRootOf(id string) (shareRoot, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.peers.roots[id]
	return r, ok
}

// foreign reports whether id is another user's item this Drive reached
// through a share.
func (d *Drive) foreign(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, root := d.peers.roots[id]
	return root || d.peers.below[id]
}

func (d *Drive) markForeign(id string) {
	d.mu.Lock()
	if d.peers.below == nil {
		d.peers.below = map[string]bool{}
	}
	d.peers.below[id] = true
	d.mu.Unlock()
}

// Shared reports whether id is another user's item, reached through a
// share, and whether this user may change it (as far as the Drive knows:
// the node decides).
func (d *Drive) Shared(id string) (shared, writable bool) {
	if !d.foreign(id) {
		return false, false
	}
	return true, d.writable(id)
}

func (d *Drive) writable(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r, ok := d.peers.roots[id]; ok {
		return r.permission == api.PermWrite
	}
	// Below a shared item: writable if any shared item is (the node
	// refuses what is not: 403).
	for _, r := range d.peers.roots {
		if r.permission == api.PermWrite {
			return true
		}
	}
	return false
}

// SharedWithMe lists what other users share with this one, opening each
// item's key (remembered for the other calls) and the name it is shared
// under. A share whose box or name does not open (not sealed to this
// account: the node cannot forge one) fails the list with vault.ErrCorrupt.
func (d *Drive) SharedWithMe(ctx context.Context) ([]SharedItem, error) {
	u, err := d.unlocked()
	if err != nil {
		return nil, err
	}
	var got []api.SharedItem
	if err := d.c.Do(ctx, http.MethodGet, api.Prefix+"shared", nil, &got); err != nil {
		return nil, err
	}
	// Keys reached through shares may have changed (the owner re-keys an
	// item when a share of it ends): open them again from here.
	d.mu.Lock()
	for id := range d.peers.below {
		delete(d.keys, id)
	}
	for id := range d.peers.roots {
		delete(d.keys, id)
	}
	d.peers.below = nil
	d.mu.Unlock()
	roots := map[string]shareRoot{}
	out := make([]SharedItem, 0, len(got))
	for _, s := range got {
		k, lm, err := openShareBox(u, s.Box, s.Meta, s.Share, s.Node)
		if err != nil {
			return nil, fmt.Errorf("the share of %s by %s: %w", s.Node.ID, s.Owner, err)
		}
		d.remember(s.Node.ID, k)
		// Two shares of one item (directly and through a group): the
		// more generous one counts.
		if old, ok := roots[s.Node.ID]; !ok || old.permission != api.PermWrite {
			roots[s.Node.ID] = shareRoot{share: s.Share, name: lm.Name, owner: s.Owner, permission: s.Permission, group: s.Group}
		}
		out = append(out, SharedItem{Share: s.Share, Owner: s.Owner, Permission: s.Permission, Group: s.Group, Created: s.Created})
	}
	d.mu.Lock()
	d.peers.roots = roots
	d.mu.Unlock()
	for i, s := range got {
		it, err := d.item(ctx, s.Node)
		if err != nil {
			return nil, err
		}
		out[i].Item = it
	}
	return out, nil
}

// openShareBox opens a share's box (the item's key) and its LinkMeta, and
// checks they agree with the node.
func openShareBox(u *vault.Unlocked, box, meta []byte, shareID string, n api.Node) (vault.Key, *vault.LinkMeta, error) {
	plain, err := u.OpenSealed(box, vault.ShareBoxContext(shareID, n.ID))
	if err != nil {
		return vault.Key{}, nil, err
	}
	defer clear(plain)
	if len(plain) != vault.KeySize {
		return vault.Key{}, nil, fmt.Errorf("%w: a shared key of %d bytes", vault.ErrCorrupt, len(plain))
	}
	var k vault.Key
	copy(k[:], plain)
	lm, err := openShareMeta(k, meta, shareID)
	if err != nil {
		return vault.Key{}, nil, err
	}
	if lm.Kind != n.Kind {
		return vault.Key{}, nil, fmt.Errorf("%w: shared as a %s, the node says %s", vault.ErrCorrupt, lm.Kind, n.Kind)
	}
	return k, lm, nil
}

func openShareMeta(k vault.Key, meta []byte, shareID string) (*vault.LinkMeta, error) {
	plain, err := vault.OpenMeta(k.MetaKey(), vault.ShareMetaSlot(shareID), meta)
	if err != nil {
		return nil, err
	}
	return vault.UnmarshalLinkMeta(plain)
}

// sharedItem is the Item of an item shared with us (see item).
func (d *Drive) shareRootItem(it Item, n api.Node, r shareRoot) (Item, error) {
	it.Name = r.name
	it.Favorite = false
	if it.Folder || n.Current == nil {
		return it, nil
	}
	k, ok := d.cachedKey(n.ID)
	if !ok {
		return it, ErrClosed
	}
	v, err := openVersion(d.metaKeys.of(k), n.ID, *n.Current)
	if err != nil {
		return it, err
	}
	v.Current = true
	it.current = &v
	it.Size = v.Size
	return it, nil
}

// sealVersionOnly is sealNewVersion for a file shared with us: no FileMeta.
func (d *Drive) sealVersionOnly(n api.Node, k vault.Key, vm vault.VersionMeta) ([]byte, string, []byte, error) {
	vid := NewID()
	vplain, err := vm.Marshal()
	if err != nil {
		return nil, "", nil, err
	}
	sealed, err := vault.SealMeta(k.MetaKey(), vault.VersionSlot(n.ID, vid), vplain)
	return nil, vid, sealed, err
}

// ---- the owner's side

// PublicKey is this account's X25519 public key.
func (d *Drive) PublicKey() ([]byte, error) {
	u, err := d.unlocked()
	if err != nil {
		return nil, err
	}
	return u.PublicKey(), nil
}

// Fingerprint is a short, readable digest of a public key, to compare out
// of band (the node hands out public keys and could substitute one):
// the first 100 bits of SHA-256, in five groups of four base32 letters.
func Fingerprint(pub []byte) string {
	h := sha256.Sum256(pub)
	s := strings.ToUpper(cap.EncodeBase32(h[:13]))[:20]
	return s[0:4] + " " + s[4:8] + " " + s[8:12] + " " + s[12:16] + " " + s[16:20]
}

// Recipient looks a user or a group up by name.
func (d *Drive) Recipient(ctx context.Context, name string) (api.Recipient, error) {
	var r api.Recipient
	err := d.c.Do(ctx, http.MethodGet, api.Prefix+"recipients?name="+url.QueryEscape(name), nil, &r)
	return r, err
}

// boxesFor seals key to each member with keys, except this account.
func (d *Drive) boxesFor(members []api.Member, key vault.Key, shareID, nodeID string) ([]api.ShareBox, error) {
	me, err := d.PublicKey()
	if err != nil {
		return nil, err
	}
	var out []api.ShareBox
	for _, m := range members {
		if len(m.PublicKey) == 0 || bytes.Equal(m.PublicKey, me) {
			continue
		}
		box, err := vault.SealTo(m.PublicKey, key[:], vault.ShareBoxContext(shareID, nodeID))
		if err != nil {
			return nil, err
		}
		out = append(out, api.ShareBox{UserID: m.ID, Box: box})
	}
	return out, nil
}

// ShareWith shares item id with the user or group r (from Recipient),
// read-only or read-write (api.PermRead, api.PermWrite).
func (d *Drive) ShareWith(ctx context.Context, id string, r api.Recipient, permission string) (api.Share, error) {
	it, _, err := d.Item(ctx, id)
	if err != nil {
		return api.Share{}, err
	}
	key, err := d.keyOf(ctx, id)
	if err != nil {
		return api.Share{}, err
	}
	kind := api.KindFile
	if it.Folder {
		kind = api.KindFolder
	}
	for attempt := 0; ; attempt++ {
		shareID := NewID()
		meta, err := sealShareMeta(key, shareID, kind, it.Name)
		if err != nil {
			return api.Share{}, err
		}
		boxes, err := d.boxesFor(r.Members, key, shareID, id)
		if err != nil {
			return api.Share{}, err
		}
		if r.Kind == api.RecipientUser && len(boxes) == 0 {
			return api.Share{}, ErrNoKeysYet
		}
		req := api.CreateShareRequest{ID: shareID, Node: id, Permission: permission, Meta: meta, Boxes: boxes}
		if r.Kind == api.RecipientGroup {
			req.GroupID = r.ID
		} else {
			req.UserID = r.ID
		}
		var sh api.Share
		err = d.c.Do(ctx, http.MethodPost, api.Prefix+"shares", req, &sh)
		if err == nil || attempt >= 2 || !isCode(err, api.CodeConflict) || r.Kind != api.RecipientGroup {
			return sh, err
		}
		// The group changed meanwhile: look it up again.
		if r, err = d.Recipient(ctx, r.Name); err != nil {
			return api.Share{}, err
		}
	}
}

func sealShareMeta(key vault.Key, shareID, kind, name string) ([]byte, error) {
	lm := vault.LinkMeta{Kind: kind, Name: name}
	plain, err := lm.Marshal()
	if err != nil {
		return nil, err
	}
	return vault.SealMeta(key.MetaKey(), vault.ShareMetaSlot(shareID), plain)
}

// Shares lists the shares of one of the user's items: who has access.
func (d *Drive) Shares(ctx context.Context, id string) ([]api.Share, error) {
	var out []api.Share
	err := d.c.Do(ctx, http.MethodGet, api.Prefix+"shares?node="+url.QueryEscape(id), nil, &out)
	return out, err
}

// SetPermission changes a share's permission.
func (d *Drive) SetPermission(ctx context.Context, shareID, permission string) (api.Share, error) {
	var sh api.Share
	err := d.c.Do(ctx, http.MethodPatch, api.Prefix+"shares/"+url.PathEscape(shareID), api.UpdateShareRequest{Permission: permission}, &sh)
	return sh, err
}

// UpdateMembers gives a box to each member of a group share who has none
// yet (they joined the group, or made their keys, after it was shared).
func (d *Drive) UpdateMembers(ctx context.Context, sh api.Share) (api.Share, error) {
	if len(sh.Missing) == 0 {
		return sh, nil
	}
	key, err := d.keyOf(ctx, sh.Node)
	if err != nil {
		return sh, err
	}
	boxes, err := d.boxesFor(sh.Missing, key, sh.ID, sh.Node)
	if err != nil {
		return sh, err
	}
	var out api.Share
	err = d.c.Do(ctx, http.MethodPatch, api.Prefix+"shares/"+url.PathEscape(sh.ID), api.UpdateShareRequest{Boxes: boxes}, &out)
	return out, err
}

// Revoke ends shares of item id and gives it a new key, in one request
// (api.RekeyRequest): what is added or changed from now on is sealed under
// a key the former recipients never had. The remaining shares get boxes
// of the new key. Copies the recipients already downloaded, and keys they
// kept, stay theirs: see docs/sharing-users.md. With no shareIDs it only
// re-keys.
func (d *Drive) Revoke(ctx context.Context, id string, shareIDs ...string) (Item, error) {
	for attempt := 0; ; attempt++ {
		req, newKey, err := d.rekeyRequest(ctx, id, shareIDs)
		if err != nil {
			return Item{}, err
		}
		var out api.Node
		err = d.c.Do(ctx, http.MethodPost, api.Prefix+"nodes/"+url.PathEscape(id)+"/rekey", req, &out)
		if err == nil {
			d.remember(id, newKey)
			return d.item(ctx, out)
		}
		newKey.Zero()
		if attempt >= 3 || !isCode(err, api.CodeConflict) {
			return Item{}, err
		}
	}
}

// rekeyRequest re-makes everything of item id under a new key.
func (d *Drive) rekeyRequest(ctx context.Context, id string, revoke []string) (api.RekeyRequest, vault.Key, error) {
	var req api.RekeyRequest
	n, err := d.node(ctx, id)
	if err != nil {
		return req, vault.Key{}, err
	}
	if n.Parent == "" {
		return req, vault.Key{}, errors.New("drive: the root folder is not shared")
	}
	if len(n.Lock) > 0 {
		return req, vault.Key{}, errors.New("drive: an item with its own password is not shared with people")
	}
	old, err := d.keyOf(ctx, id)
	if err != nil {
		return req, vault.Key{}, err
	}
	pk, err := d.keyOf(ctx, n.Parent)
	if err != nil {
		return req, vault.Key{}, err
	}
	key := vault.NewKey()
	fail := func(err error) (api.RekeyRequest, vault.Key, error) {
		key.Zero()
		return api.RekeyRequest{}, vault.Key{}, err
	}
	req = api.RekeyRequest{BaseVersion: n.Version, Revoke: revoke, WrappedKey: vault.Wrap(pk, key, vault.NodeKeySlot(id))}
	// The item's own metadata stays under its folder's (unchanged) key;
	// it is sealed again only so the request is whole.
	m, err := openNodeMeta(d.metaKeys.of(pk), n)
	if err != nil {
		return fail(err)
	}
	if req.Meta, err = vault.SealMeta(d.metaKeys.of(pk), vault.MetaSlot(id), m.plain); err != nil {
		return fail(err)
	}
	if n.Mode == api.ModeStandard {
		if req.Escrow, err = d.escrowOf(id, key); err != nil {
			return fail(err)
		}
	}
	if n.Kind == api.KindFile {
		var vs []api.Version
		if err := d.c.Do(ctx, http.MethodGet, api.Prefix+"nodes/"+id+"/versions", nil, &vs); err != nil {
			return fail(err)
		}
		for _, v := range vs {
			plain, err := vault.OpenMeta(old.MetaKey(), vault.VersionSlot(id, v.ID), v.Meta)
			if err != nil {
				return fail(err)
			}
			sealed, err := vault.SealMeta(key.MetaKey(), vault.VersionSlot(id, v.ID), plain)
			if err != nil {
				return fail(err)
			}
			req.Versions = append(req.Versions, api.RekeyVersion{ID: v.ID, Meta: sealed})
		}
	} else {
		kids, err := d.children(ctx, id)
		if err != nil {
			return fail(err)
		}
		// Children in the trash are under this folder's key too.
		var trash []api.Node
		if err := d.c.Do(ctx, http.MethodGet, api.Prefix+"trash", nil, &trash); err != nil {
			return fail(err)
		}
		for _, t := range trash {
			if t.Parent == id {
				kids = append(kids, t)
			}
		}
		for _, c := range kids {
			m, err := openNodeMeta(d.metaKeys.of(old), c)
			if err != nil {
				return fail(err)
			}
			rc := api.RekeyChild{ID: c.ID}
			if rc.Meta, err = vault.SealMeta(key.MetaKey(), vault.MetaSlot(c.ID), m.plain); err != nil {
				return fail(err)
			}
			h := vault.NameHMAC(key, m.name)
			rc.NameHMAC = h[:]
			if len(c.Lock) == 0 {
				ck, err := vault.Unwrap(old, c.WrappedKey, vault.NodeKeySlot(c.ID))
				if err != nil {
					return fail(err)
				}
				rc.WrappedKey = vault.Wrap(key, ck, vault.NodeKeySlot(c.ID))
				ck.Zero()
			}
			req.Children = append(req.Children, rc)
		}
	}
	shares, err := d.Shares(ctx, id)
	if err != nil {
		return fail(err)
	}
	for _, sh := range shares {
		if containsString(revoke, sh.ID) {
			continue
		}
		lm, err := openShareMeta(old, sh.Meta, sh.ID)
		if err != nil {
			return fail(err)
		}
		rs := api.RekeyedShare{ID: sh.ID}
		if rs.Meta, err = sealShareMeta(key, sh.ID, lm.Kind, lm.Name); err != nil {
			return fail(err)
		}
		if rs.Boxes, err = d.boxesFor(sh.Grantees, key, sh.ID, id); err != nil {
			return fail(err)
		}
		req.Shares = append(req.Shares, rs)
	}
	return req, key, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ---- transfers

// Transfer is an offer of a folder, with its name opened where this
// account can (the recipient, from the offer; the sender, from the folder).
type Transfer struct {
	api.Transfer
	Name string
}

// OfferFolder offers folder id to user r (from Recipient): once they
// accept, the folder and everything in it are theirs.
func (d *Drive) OfferFolder(ctx context.Context, id string, r api.Recipient) (api.Transfer, error) {
	if r.Kind != api.RecipientUser {
		return api.Transfer{}, errors.New("A folder can be given to one person, not to a group.")
	}
	it, _, err := d.Item(ctx, id)
	if err != nil {
		return api.Transfer{}, err
	}
	if !it.Folder {
		return api.Transfer{}, errors.New("Only folders can be given to someone else.")
	}
	key, err := d.keyOf(ctx, id)
	if err != nil {
		return api.Transfer{}, err
	}
	tid := NewID()
	boxes, err := d.boxesFor(r.Members, key, tid, id)
	if err != nil {
		return api.Transfer{}, err
	}
	if len(boxes) != 1 {
		return api.Transfer{}, ErrNoKeysYet
	}
	meta, err := sealShareMeta(key, tid, api.KindFolder, it.Name)
	if err != nil {
		return api.Transfer{}, err
	}
	var t api.Transfer
	err = d.c.Do(ctx, http.MethodPost, api.Prefix+"transfers", api.CreateTransferRequest{ID: tid, Node: id, To: r.ID, Box: boxes[0].Box, Meta: meta}, &t)
	return t, err
}

// Transfers lists the offers this user made and received, with names.
func (d *Drive) Transfers(ctx context.Context) ([]Transfer, error) {
	u, err := d.unlocked()
	if err != nil {
		return nil, err
	}
	var got []api.Transfer
	if err := d.c.Do(ctx, http.MethodGet, api.Prefix+"transfers", nil, &got); err != nil {
		return nil, err
	}
	out := make([]Transfer, 0, len(got))
	for _, t := range got {
		tr := Transfer{Transfer: t}
		if t.Incoming {
			k, lm, err := openShareBox(u, t.Box, t.Meta, t.ID, api.Node{ID: t.Node, Kind: api.KindFolder})
			if err == nil {
				tr.Name = lm.Name
				k.Zero()
			}
		} else if k, err := d.keyOf(ctx, t.Node); err == nil {
			if lm, err := openShareMeta(k, t.Meta, t.ID); err == nil {
				tr.Name = lm.Name
			}
		}
		out = append(out, tr)
	}
	return out, nil
}

// AcceptTransfer takes an offered folder into folderID (with a free name
// there: "x (2)" if taken). The folder's own metadata is made anew (its
// name as offered; the sender's times are sealed under a folder of theirs).
func (d *Drive) AcceptTransfer(ctx context.Context, t api.Transfer, folderID string) (Item, error) {
	u, err := d.unlocked()
	if err != nil {
		return Item{}, err
	}
	if !t.Incoming {
		return Item{}, errors.New("drive: this offer is not to you")
	}
	k, lm, err := openShareBox(u, t.Box, t.Meta, t.ID, api.Node{ID: t.Node, Kind: api.KindFolder})
	if err != nil {
		return Item{}, err
	}
	qk, err := d.keyOf(ctx, folderID)
	if err != nil {
		return Item{}, err
	}
	for attempt := 0; ; attempt++ {
		taken, err := d.takenNames(ctx, folderID)
		if err != nil {
			return Item{}, err
		}
		name := FreeName(lm.Name, taken)
		now := time.Now().UTC()
		fm := vault.FolderMeta{Name: name, Created: now, Modified: now}
		plain, err := fm.Marshal()
		if err != nil {
			return Item{}, err
		}
		req := api.AcceptTransferRequest{Parent: folderID, WrappedKey: vault.Wrap(qk, k, vault.NodeKeySlot(t.Node))}
		if req.Meta, err = vault.SealMeta(qk.MetaKey(), vault.MetaSlot(t.Node), plain); err != nil {
			return Item{}, err
		}
		h := vault.NameHMAC(qk, name)
		req.NameHMAC = h[:]
		var n api.Node
		err = d.c.Do(ctx, http.MethodPost, api.Prefix+"transfers/"+url.PathEscape(t.ID)+"/accept", req, &n)
		if err == nil {
			d.remember(t.Node, k)
			return d.item(ctx, n)
		}
		if attempt >= 3 || !isCode(err, api.CodeNameTaken) {
			return Item{}, err
		}
	}
}

// CancelTransfer withdraws an offer (its sender) or declines it (its
// recipient).
func (d *Drive) CancelTransfer(ctx context.Context, id string) error {
	return d.c.Do(ctx, http.MethodDelete, api.Prefix+"transfers/"+url.PathEscape(id), nil, nil)
}

// lateShareRoot is for an item whose folder is out of reach (err): if it
// was shared with us since this Drive last looked, it is a shared item.
func (d *Drive) lateShareRoot(ctx context.Context, id string, err error) (shareRoot, bool) {
	if !errors.Is(err, ErrNotFound) && !isCode(err, api.CodeNotFound) {
		return shareRoot{}, false
	}
	if _, err := d.SharedWithMe(ctx); err != nil {
		return shareRoot{}, false
	}
	return d.shareRootOf(id)
}
