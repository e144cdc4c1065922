package files

import (
	"errors"
	"testing"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/vault"
)

// realKeys gives the user a real key bundle (the node reads the public key
// in it) and returns the root folder's id.
func (f *fixture) realKeys(uid int64) string {
	f.t.Helper()
	b, u, _, err := vault.NewAccount(strong, vault.KDFParams{MemoryKiB: 19 << 10, Time: 2, Lanes: 1})
	if err != nil {
		f.t.Fatal(err)
	}
	u.Zero()
	data, err := b.MarshalBinary()
	if err != nil {
		f.t.Fatal(err)
	}
	root := newID()
	if _, err := f.s.PutKeys(f.ctx, uid, api.PutKeysRequest{Bundle: data, RecoveryAuth: rnd(32),
		RootFolder: &api.CreateNodeRequest{ID: root, Kind: api.KindFolder, Mode: api.ModeSecure}}); err != nil {
		f.t.Fatal(err)
	}
	return root
}

func (f *fixture) shareWith(owner int64, node string, perm string, users ...int64) api.Share {
	f.t.Helper()
	req := api.CreateShareRequest{ID: newID(), Node: node, Permission: perm, Meta: rnd(60), UserID: users[0]}
	for _, u := range users {
		req.Boxes = append(req.Boxes, api.ShareBox{UserID: u, Box: rnd(81)})
	}
	sh, err := f.s.CreateShare(f.ctx, owner, req)
	if err != nil {
		f.t.Fatal(err)
	}
	return sh
}

// fullRekey is a rekey request covering everything the item holds now.
func (f *fixture) fullRekey(owner int64, id string, revoke ...string) api.RekeyRequest {
	f.t.Helper()
	info, err := f.s.GetNode(f.ctx, owner, id)
	if err != nil {
		f.t.Fatal(err)
	}
	req := api.RekeyRequest{BaseVersion: info.Node.Version, Revoke: revoke, WrappedKey: rnd(73), Meta: rnd(40)}
	if info.Node.Kind == api.KindFile {
		vs, err := f.s.Versions(f.ctx, owner, id)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, v := range vs {
			req.Versions = append(req.Versions, api.RekeyVersion{ID: v.ID, Meta: rnd(50)})
		}
	} else {
		kids, err := childLocks(f.ctx, f.s.DB, id)
		if err != nil {
			f.t.Fatal(err)
		}
		for k := range kids {
			req.Children = append(req.Children, api.RekeyChild{ID: k, NameHMAC: rnd(32), Meta: rnd(40), WrappedKey: rnd(73)})
		}
	}
	shares, err := f.s.Shares(f.ctx, owner, id)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, sh := range shares {
		gone := false
		for _, r := range revoke {
			gone = gone || r == sh.ID
		}
		if gone {
			continue
		}
		rs := api.RekeyedShare{ID: sh.ID, Meta: rnd(60)}
		for _, g := range sh.Grantees {
			rs.Boxes = append(rs.Boxes, api.ShareBox{UserID: g.ID, Box: rnd(81)})
		}
		req.Shares = append(req.Shares, rs)
	}
	return req
}

func TestShareAccess(t *testing.T) {
	f := newFixture(t)
	ann, bob, carl := f.user("ann"), f.user("bob"), f.user("carl")
	root := f.realKeys(ann)
	bobRoot := f.realKeys(bob)
	f.realKeys(carl)
	dir := f.folder(ann, root, true)
	sub := f.folder(ann, dir.ID, true)
	file := f.file(ann, sub.ID, 1000)
	private := f.folder(ann, root, true)
	secret := f.file(ann, private.ID, 500)

	// Nothing is shared yet: Bob sees nothing.
	if _, err := f.s.GetNode(f.ctx, bob, dir.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before sharing: %v", err)
	}
	// Only the owner shares, and not with themselves.
	if _, err := f.s.CreateShare(f.ctx, ann, api.CreateShareRequest{ID: newID(), Node: dir.ID, Permission: api.PermRead, Meta: rnd(60),
		UserID: ann, Boxes: []api.ShareBox{{UserID: ann, Box: rnd(81)}}}); !errors.Is(err, ErrShareSelf) {
		t.Errorf("sharing with oneself: %v", err)
	}
	if _, err := f.s.CreateShare(f.ctx, ann, api.CreateShareRequest{ID: newID(), Node: dir.ID, Permission: api.PermRead, Meta: rnd(60),
		UserID: bob, Boxes: []api.ShareBox{{UserID: carl, Box: rnd(81)}}}); !errors.Is(err, ErrMembersChanged) {
		t.Errorf("a box for someone else: %v", err)
	}
	sh := f.shareWith(ann, dir.ID, api.PermRead, bob)
	if _, err := f.s.CreateShare(f.ctx, ann, api.CreateShareRequest{ID: newID(), Node: dir.ID, Permission: api.PermRead, Meta: rnd(60),
		UserID: bob, Boxes: []api.ShareBox{{UserID: bob, Box: rnd(81)}}}); !errors.Is(err, ErrShareExists) {
		t.Errorf("sharing twice: %v", err)
	}

	// Bob reads the subtree, and sees nothing above it.
	info, err := f.s.GetNode(f.ctx, bob, file.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Ancestors) != 2 || info.Ancestors[0].ID != dir.ID || info.Ancestors[1].ID != sub.ID {
		t.Errorf("ancestors %+v, want dir and sub only", info.Ancestors)
	}
	if info, err := f.s.GetNode(f.ctx, bob, dir.ID); err != nil || len(info.Ancestors) != 0 {
		t.Errorf("the shared folder: %v, %d ancestors", err, len(info.Ancestors))
	}
	if kids, err := f.s.Children(f.ctx, bob, dir.ID, "", 0); err != nil || len(kids.Items) != 1 {
		t.Errorf("children: %v %+v", err, kids)
	}
	if _, err := f.s.Versions(f.ctx, bob, file.ID); err != nil {
		t.Error(err)
	}
	if _, ok, err := f.s.VersionCap(f.ctx, bob, file.Current.ID); err != nil || !ok {
		t.Errorf("VersionCap: %v %v", ok, err)
	}
	for name, id := range map[string]string{"root": root, "private": private.ID, "secret": secret.ID} {
		if _, err := f.s.GetNode(f.ctx, bob, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s outside the share: %v", name, err)
		}
	}
	if _, _, err := f.s.VersionCap(f.ctx, bob, secret.Current.ID); !errors.Is(err, ErrVersionNotFound) {
		t.Errorf("VersionCap outside the share: %v", err)
	}
	// Carl sees nothing.
	if _, err := f.s.GetNode(f.ctx, carl, file.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("carl: %v", err)
	}
	if _, _, err := f.s.VersionCap(f.ctx, carl, file.Current.ID); !errors.Is(err, ErrVersionNotFound) {
		t.Errorf("carl's VersionCap: %v", err)
	}

	// Read-only: every change is refused.
	si, err := f.uploaded(bob, 700)
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := f.s.GetNode(f.ctx, ann, file.ID)
	base := fresh.Node.Version
	checks := map[string]error{}
	_, checks["CreateNode"] = f.s.CreateNode(f.ctx, bob, folderReq(dir.ID))
	_, checks["rename"] = f.s.UpdateNode(f.ctx, bob, file.ID, api.UpdateNodeRequest{BaseVersion: base, NameHMAC: rnd(32), Meta: rnd(20)})
	_, checks["move"] = f.s.UpdateNode(f.ctx, bob, file.ID, api.UpdateNodeRequest{BaseVersion: base, Parent: &dir.ID, NameHMAC: rnd(32), Meta: rnd(20)})
	_, checks["TrashNode"] = f.s.TrashNode(f.ctx, bob, file.ID, base)
	_, checks["NewVersion"] = f.s.NewVersion(f.ctx, bob, file.ID, api.NewVersionRequest{BaseVersion: base,
		Version: api.NewVersionBody{ID: newID(), StorageIndex: si, Meta: rnd(30)}})
	_, checks["RestoreVersion"] = f.s.RestoreVersion(f.ctx, bob, file.ID, file.Current.ID, api.RestoreVersionRequest{BaseVersion: base, NewID: newID(), Meta: rnd(30)})
	checks["DeleteVersion"] = f.s.DeleteVersion(f.ctx, bob, file.ID, file.Current.ID)
	for name, err := range checks {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("read-only %s: %v, want ErrReadOnly", name, err)
		}
	}
	// Sharing stays the owner's.
	if _, err := f.s.Shares(f.ctx, bob, dir.ID); !errors.Is(err, ErrOwnerOnly) {
		t.Errorf("Shares by a recipient: %v", err)
	}
	if _, err := f.s.CreateShare(f.ctx, bob, api.CreateShareRequest{ID: newID(), Node: dir.ID, Permission: api.PermRead, Meta: rnd(60),
		UserID: carl, Boxes: []api.ShareBox{{UserID: carl, Box: rnd(81)}}}); !errors.Is(err, ErrOwnerOnly) {
		t.Errorf("re-sharing by a recipient: %v", err)
	}
	got, err := f.s.Shared(f.ctx, bob)
	if err != nil || len(got) != 1 || got[0].Share != sh.ID || got[0].Owner != "ann" || got[0].Node.ID != dir.ID || len(got[0].Box) != 81 {
		t.Fatalf("Shared: %v %+v", err, got)
	}

	// Read-write: Bob adds, renames, trashes inside; the items are Ann's.
	if _, err := f.s.UpdateShare(f.ctx, ann, sh.ID, api.UpdateShareRequest{Permission: api.PermWrite}); err != nil {
		t.Fatal(err)
	}
	annUsed, bobUsed := f.used(ann), f.used(bob)
	req := folderReq(dir.ID)
	req.Escrow = rnd(73)
	req.Mode = api.ModeStandard
	if _, err := f.s.CreateNode(f.ctx, bob, req); !isInvalid(err) {
		t.Errorf("escrow by a recipient: %v", err)
	}
	bobs, err := f.s.CreateNode(f.ctx, bob, api.CreateNodeRequest{ID: newID(), Parent: dir.ID, Kind: api.KindFile, NameHMAC: rnd(32),
		Meta: rnd(20), Mode: api.ModeSecure, Version: &api.NewVersionBody{ID: newID(), StorageIndex: si, Meta: rnd(30)}})
	if err != nil {
		t.Fatal(err)
	}
	if f.used(ann) != annUsed+700 || f.used(bob) != bobUsed-700 {
		t.Errorf("usage: ann %d (was %d), bob %d (was %d): the upload should move to ann", f.used(ann), annUsed, f.used(bob), bobUsed)
	}
	if n, err := f.s.GetNode(f.ctx, ann, bobs.ID); err != nil || n.Node.ID != bobs.ID {
		t.Errorf("ann does not see bob's file: %v", err)
	}
	renamed, err := f.s.UpdateNode(f.ctx, bob, bobs.ID, api.UpdateNodeRequest{BaseVersion: bobs.Version, NameHMAC: rnd(32), Meta: rnd(20)})
	if err != nil {
		t.Fatal(err)
	}
	moved, err := f.s.UpdateNode(f.ctx, bob, bobs.ID, api.UpdateNodeRequest{BaseVersion: renamed.Version, Parent: &sub.ID, NameHMAC: rnd(32), Meta: rnd(20)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.UpdateNode(f.ctx, bob, bobs.ID, api.UpdateNodeRequest{BaseVersion: moved.Version, Parent: &bobRoot, NameHMAC: rnd(32), Meta: rnd(20)}); !isInvalid(err) {
		t.Errorf("moving out of the share into bob's own files: %v", err)
	}
	if _, err := f.s.UpdateNode(f.ctx, bob, bobs.ID, api.UpdateNodeRequest{BaseVersion: moved.Version, Parent: &private.ID, NameHMAC: rnd(32), Meta: rnd(20)}); !errors.Is(err, ErrNotFound) {
		t.Errorf("moving out of the share into ann's other folder: %v", err)
	}
	fav := true
	if _, err := f.s.UpdateNode(f.ctx, bob, bobs.ID, api.UpdateNodeRequest{BaseVersion: moved.Version, Favorite: &fav}); !errors.Is(err, ErrOwnerOnly) {
		t.Errorf("favourite by a recipient: %v", err)
	}
	d, _ := f.s.GetNode(f.ctx, ann, dir.ID)
	if _, err := f.s.UpdateNode(f.ctx, bob, dir.ID, api.UpdateNodeRequest{BaseVersion: d.Node.Version, NameHMAC: rnd(32), Meta: rnd(20)}); !errors.Is(err, ErrOwnerOnly) {
		t.Errorf("renaming the shared folder itself: %v", err)
	}
	if _, err := f.s.TrashNode(f.ctx, bob, dir.ID, d.Node.Version); !errors.Is(err, ErrOwnerOnly) {
		t.Errorf("trashing the shared folder itself: %v", err)
	}
	if _, err := f.s.TrashNode(f.ctx, bob, bobs.ID, moved.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.GetNode(f.ctx, bob, bobs.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("a trashed item is the owner's alone: %v", err)
	}
	if tr, _ := f.s.Trash(f.ctx, ann); len(tr) != 1 || tr[0].ID != bobs.ID {
		t.Errorf("ann's trash: %+v", tr)
	}

	// The owner puts the shared folder in the trash: access ends with it.
	d, _ = f.s.GetNode(f.ctx, ann, dir.ID)
	if _, err := f.s.TrashNode(f.ctx, ann, dir.ID, d.Node.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.GetNode(f.ctx, bob, file.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("inside a trashed share: %v", err)
	}
	if got, _ := f.s.Shared(f.ctx, bob); len(got) != 0 {
		t.Errorf("Shared lists a trashed item: %+v", got)
	}
	if _, err := f.s.RestoreTrash(f.ctx, ann, dir.ID, api.RestoreRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.GetNode(f.ctx, bob, file.ID); err != nil {
		t.Errorf("after restoring: %v", err)
	}

	// Revoking re-keys in one transaction; an incomplete request changes
	// nothing.
	rk := f.fullRekey(ann, dir.ID, sh.ID)
	short := rk
	short.Children = short.Children[1:]
	conflictNode(t, func() error { _, err := f.s.Rekey(f.ctx, ann, dir.ID, short); return err }())
	if _, err := f.s.GetNode(f.ctx, bob, file.ID); err != nil {
		t.Errorf("a refused rekey revoked: %v", err)
	}
	if _, err := f.s.Rekey(f.ctx, bob, dir.ID, rk); !errors.Is(err, ErrOwnerOnly) {
		t.Errorf("rekey by a recipient: %v", err)
	}
	out, err := f.s.Rekey(f.ctx, ann, dir.ID, rk)
	if err != nil {
		t.Fatal(err)
	}
	if string(out.WrappedKey) != string(rk.WrappedKey) || string(out.Meta) != string(rk.Meta) {
		t.Error("the folder's key and metadata were not replaced")
	}
	if n, _ := f.s.GetNode(f.ctx, ann, sub.ID); string(n.Node.WrappedKey) != string(rk.Children[0].WrappedKey) && len(rk.Children) == 1 {
		t.Error("the child's key was not re-wrapped")
	}
	if _, err := f.s.GetNode(f.ctx, bob, file.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("after revoking: %v", err)
	}
	if got, _ := f.s.Shared(f.ctx, bob); len(got) != 0 {
		t.Errorf("Shared after revoking: %+v", got)
	}

	// A file's rekey re-seals every version.
	fsh := f.shareWith(ann, file.ID, api.PermRead, carl)
	if _, err := f.s.GetNode(f.ctx, carl, file.ID); err != nil {
		t.Fatal(err)
	}
	frk := f.fullRekey(ann, file.ID, fsh.ID)
	if _, err := f.s.Rekey(f.ctx, ann, file.ID, frk); err != nil {
		t.Fatal(err)
	}
	vs, _ := f.s.Versions(f.ctx, ann, file.ID)
	if len(vs) != 1 || string(vs[0].Meta) != string(frk.Versions[0].Meta) {
		t.Error("the version's metadata was not re-sealed")
	}
}

func TestGroupShare(t *testing.T) {
	f := newFixture(t)
	ann, bob, carl, dave := f.user("ann"), f.user("bob"), f.user("carl"), f.user("dave")
	root := f.realKeys(ann)
	f.realKeys(bob)
	f.realKeys(carl)
	dir := f.folder(ann, root, true)
	file := f.file(ann, dir.ID, 100)

	if _, err := f.s.CreateGroup(f.ctx, api.CreateGroupRequest{Name: "bob"}); !errors.Is(err, ErrGroupTaken) {
		t.Errorf("a group named like a user: %v", err)
	}
	if _, err := f.s.CreateGroup(f.ctx, api.CreateGroupRequest{Name: "team", Members: []string{"nobody"}}); !isInvalid(err) {
		t.Errorf("an unknown member: %v", err)
	}
	g, err := f.s.CreateGroup(f.ctx, api.CreateGroupRequest{Name: "team", Members: []string{"ann", "bob", "carl", "dave"}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.s.Recipient(f.ctx, ann, "TEAM")
	if err != nil || r.Kind != api.RecipientGroup || len(r.Members) != 4 {
		t.Fatalf("Recipient: %v %+v", err, r)
	}
	// Dave has no keys: no box for him (nor for the owner).
	boxes := []api.ShareBox{{UserID: bob, Box: rnd(81)}, {UserID: carl, Box: rnd(81)}}
	sh, err := f.s.CreateShare(f.ctx, ann, api.CreateShareRequest{ID: newID(), Node: dir.ID, Permission: api.PermRead, Meta: rnd(60),
		GroupID: g.ID, Boxes: boxes})
	if err != nil {
		t.Fatal(err)
	}
	if len(sh.Grantees) != 2 || len(sh.Missing) != 0 || sh.ToName != "team" {
		t.Errorf("share %+v", sh)
	}
	for _, u := range []int64{bob, carl} {
		if _, err := f.s.GetNode(f.ctx, u, file.ID); err != nil {
			t.Errorf("member %d: %v", u, err)
		}
	}
	// Dave makes keys: he is missing a box until the owner's client
	// gives him one.
	f.realKeys(dave)
	shares, _ := f.s.Shares(f.ctx, ann, dir.ID)
	if len(shares) != 1 || len(shares[0].Missing) != 1 || shares[0].Missing[0].ID != dave || len(shares[0].Missing[0].PublicKey) != 32 {
		t.Fatalf("missing: %+v", shares)
	}
	if _, err := f.s.GetNode(f.ctx, dave, file.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("dave before his box: %v", err)
	}
	if _, err := f.s.UpdateShare(f.ctx, ann, sh.ID, api.UpdateShareRequest{Boxes: []api.ShareBox{{UserID: bob, Box: rnd(81)}}}); !errors.Is(err, ErrMembersChanged) {
		t.Errorf("a second box for bob: %v", err)
	}
	if _, err := f.s.UpdateShare(f.ctx, ann, sh.ID, api.UpdateShareRequest{Boxes: []api.ShareBox{{UserID: dave, Box: rnd(81)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.GetNode(f.ctx, dave, file.ID); err != nil {
		t.Errorf("dave with his box: %v", err)
	}
	// Removed from the group: access ends at once.
	if _, err := f.s.UpdateGroup(f.ctx, g.ID, api.UpdateGroupRequest{Remove: []string{"carl"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.GetNode(f.ctx, carl, file.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("carl after removal: %v", err)
	}
	if _, err := f.s.GetNode(f.ctx, bob, file.ID); err != nil {
		t.Errorf("bob after carl's removal: %v", err)
	}
	// Deleting the group ends its shares.
	if err := f.s.DeleteGroup(f.ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.GetNode(f.ctx, bob, file.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob after the group's deletion: %v", err)
	}
}

func TestTransfer(t *testing.T) {
	f := newFixture(t)
	ann, bob, carl := f.user("ann"), f.user("bob"), f.user("carl")
	root := f.realKeys(ann)
	bobRoot := f.realKeys(bob)
	f.realKeys(carl)
	dir := f.folder(ann, root, true)
	sub := f.folder(ann, dir.ID, true)
	file := f.file(ann, sub.ID, 1000)
	f.shareWith(ann, sub.ID, api.PermRead, carl)
	// A standard item with an escrow entry (under ann's escrow key).
	std := folderReq(dir.ID)
	std.Mode, std.Escrow = api.ModeStandard, rnd(73)
	if _, err := f.s.CreateNode(f.ctx, ann, std); err != nil {
		t.Fatal(err)
	}

	offer := func() api.Transfer {
		t.Helper()
		tr, err := f.s.CreateTransfer(f.ctx, ann, api.CreateTransferRequest{ID: newID(), Node: dir.ID, To: bob, Box: rnd(81), Meta: rnd(60)})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	if _, err := f.s.CreateTransfer(f.ctx, ann, api.CreateTransferRequest{ID: newID(), Node: file.ID, To: bob, Box: rnd(81), Meta: rnd(60)}); !isInvalid(err) {
		t.Errorf("transferring a file: %v", err)
	}
	tr := offer()
	if _, err := f.s.CreateTransfer(f.ctx, ann, api.CreateTransferRequest{ID: newID(), Node: dir.ID, To: carl, Box: rnd(81), Meta: rnd(60)}); !errors.Is(err, ErrTransferPending) {
		t.Errorf("a second offer: %v", err)
	}
	// Bob sees the offer with its box; Ann without; Carl not at all.
	if got, _ := f.s.Transfers(f.ctx, bob); len(got) != 1 || !got[0].Incoming || len(got[0].Box) == 0 || got[0].Size != 1000 {
		t.Errorf("bob's transfers: %+v", got)
	}
	if got, _ := f.s.Transfers(f.ctx, ann); len(got) != 1 || got[0].Incoming || len(got[0].Box) != 0 {
		t.Errorf("ann's transfers: %+v", got)
	}
	accept := api.AcceptTransferRequest{Parent: bobRoot, NameHMAC: rnd(32), Meta: rnd(40), WrappedKey: rnd(73)}
	if _, err := f.s.AcceptTransfer(f.ctx, carl, tr.ID, accept); !errors.Is(err, ErrTransferNotFound) {
		t.Errorf("carl accepts: %v", err)
	}
	if _, err := f.s.AcceptTransfer(f.ctx, ann, tr.ID, accept); !errors.Is(err, ErrTransferNotFound) {
		t.Errorf("the sender accepts: %v", err)
	}
	// Cancelled: it cannot be accepted.
	if err := f.s.CancelTransfer(f.ctx, ann, tr.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AcceptTransfer(f.ctx, bob, tr.ID, accept); !errors.Is(err, ErrTransferNotFound) {
		t.Errorf("accepting a cancelled offer: %v", err)
	}

	tr = offer()
	annUsed, bobUsed := f.used(ann), f.used(bob)
	n, err := f.s.AcceptTransfer(f.ctx, bob, tr.ID, accept)
	if err != nil {
		t.Fatal(err)
	}
	if n.Parent != bobRoot || string(n.WrappedKey) != string(accept.WrappedKey) {
		t.Errorf("accepted folder %+v", n)
	}
	if f.used(ann) != annUsed-1000 || f.used(bob) != bobUsed+1000 {
		t.Errorf("usage: ann %d, bob %d", f.used(ann), f.used(bob))
	}
	if _, err := f.s.GetNode(f.ctx, ann, file.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("ann still sees the file: %v", err)
	}
	info, err := f.s.GetNode(f.ctx, bob, file.ID)
	if err != nil || len(info.Ancestors) != 3 || info.Ancestors[0].ID != bobRoot {
		t.Errorf("bob's file: %v %+v", err, info.Ancestors)
	}
	if _, _, err := f.s.VersionCap(f.ctx, bob, file.Current.ID); err != nil {
		t.Errorf("bob's version: %v", err)
	}
	got, _ := f.s.Children(f.ctx, bob, dir.ID, "", 0)
	for _, c := range got.Items {
		if len(c.Escrow) > 0 || c.Mode != api.ModeSecure {
			t.Errorf("escrow kept after the transfer: %+v", c)
		}
	}
	// Ann's shares inside ended.
	if _, err := f.s.GetNode(f.ctx, carl, file.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("carl after the transfer: %v", err)
	}
	if got, _ := f.s.Transfers(f.ctx, bob); len(got) != 0 {
		t.Errorf("the offer stays: %+v", got)
	}
}
