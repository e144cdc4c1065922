//go:build !js

package drive

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/vault"
)

// newUser has the administrator (a) create an account, whose user then
// chooses their own password (accounts made by an administrator must) and
// unlocks a Drive.
func newUser(t *testing.T, url string, a *Drive, name string) *Drive {
	t.Helper()
	ctx := context.Background()
	if _, err := a.Client().CreateUser(ctx, api.CreateUserRequest{Name: name, Password: "Initial-Pass-Word-93"}); err != nil {
		t.Fatal(err)
	}
	return signInAs(t, url, name, true)
}

// signInAs signs in to a fresh Drive (first: change the initial password).
func signInAs(t *testing.T, url, name string, first bool) *Drive {
	t.Helper()
	ctx := context.Background()
	c := client(url, nil)
	pw := testPassword
	if first {
		pw = "Initial-Pass-Word-93"
	}
	if _, err := c.Login(ctx, name, pw); err != nil {
		t.Fatal(err)
	}
	if first {
		if err := c.ChangePassword(ctx, pw, testPassword); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Login(ctx, name, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	d, _, err := Unlock(ctx, c, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

func isForbidden(err error) bool { return isAPI(err, api.CodeForbidden) }

func TestSharingOnNode(t *testing.T) {
	ctx := context.Background()
	url, _, _ := startNode(t)
	alice, _ := signIn(t, url, nil)
	bob := newUser(t, url, alice, "bob")
	carol := newUser(t, url, alice, "carol")

	project, err := alice.Mkdir(ctx, alice.RootID(), "Project", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	aData := randomBytes(5000)
	a := put(t, alice, project.ID, "a.txt", aData, PutOptions{})
	sub, err := alice.Mkdir(ctx, project.ID, "sub", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bData := randomBytes(3000)
	b := put(t, alice, sub.ID, "b.bin", bData, PutOptions{})
	put(t, alice, alice.RootID(), "private.txt", randomBytes(100), PutOptions{})

	// Fingerprints: the recipient's key as alice's client sees it is
	// bob's own.
	r, err := alice.Recipient(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	bobPub, _ := bob.PublicKey()
	if Fingerprint(r.Members[0].PublicKey) != Fingerprint(bobPub) || len(Fingerprint(bobPub)) != 24 {
		t.Errorf("fingerprints %q, %q", Fingerprint(r.Members[0].PublicKey), Fingerprint(bobPub))
	}
	share, err := alice.ShareWith(ctx, project.ID, r, api.PermRead)
	if err != nil {
		t.Fatal(err)
	}

	// Bob: "Shared with me", then the folder through the ordinary calls.
	shared, err := bob.SharedWithMe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(shared) != 1 || shared[0].Name != "Project" || shared[0].Owner != "admin" || shared[0].Writable() || !shared[0].Folder {
		t.Fatalf("shared with bob: %+v", shared)
	}
	kids, err := bob.List(ctx, project.ID)
	if err != nil {
		t.Fatal(err)
	}
	if names(kids) != "a.txt,sub" && names(kids) != "sub,a.txt" {
		t.Errorf("bob lists %s", names(kids))
	}
	if got := read(t, bob, a.ID, ""); !bytes.Equal(got, aData) {
		t.Error("bob reads other bytes")
	}
	// A fresh Drive, straight to an item deep inside: the key comes from
	// the share without listing first.
	bob2 := signInAs(t, url, "bob", false)
	if got := read(t, bob2, b.ID, ""); !bytes.Equal(got, bData) {
		t.Error("bob's fresh drive reads other bytes")
	}
	it, anc, err := bob2.Item(ctx, b.ID)
	if err != nil || it.Name != "b.bin" || len(anc) != 2 || anc[0].Name != "Project" || anc[1].Name != "sub" {
		t.Errorf("item %q, ancestors %+v, %v", it.Name, anc, err)
	}
	if sh, w := bob2.Shared(b.ID); !sh || w {
		t.Errorf("Shared(b) = %v, %v", sh, w)
	}
	// Nothing above or beside the share.
	if _, err := bob.List(ctx, alice.RootID()); !isAPI(err, api.CodeNotFound) {
		t.Errorf("alice's root: %v", err)
	}
	// Read-only: the node refuses changes.
	if _, err := bob.Mkdir(ctx, project.ID, "new", CreateOptions{}); !isForbidden(err) {
		t.Errorf("Mkdir in a read-only share: %v", err)
	}
	p, err := bob.NewPut(bytes.NewReader(randomBytes(1000)), 1000, PutOptions{ParentID: project.ID, Name: "x.bin"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(ctx); !isForbidden(err) {
		t.Errorf("upload into a read-only share: %v", err)
	}
	if _, err := bob.Rename(ctx, a.ID, "renamed.txt"); !isForbidden(err) {
		t.Errorf("rename in a read-only share: %v", err)
	}
	if err := bob.Trash(ctx, a.ID); !isForbidden(err) {
		t.Errorf("trash in a read-only share: %v", err)
	}

	// Read-write: bob adds a file and a folder; they are alice's.
	if _, err := alice.SetPermission(ctx, share.ID, api.PermWrite); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.SharedWithMe(ctx); err != nil {
		t.Fatal(err)
	}
	before, _ := alice.Usage(ctx)
	fromBob := randomBytes(4000)
	fb := put(t, bob, project.ID, "from-bob.bin", fromBob, PutOptions{})
	if fb.Mode != api.ModeSecure || len(fb.Node.Escrow) > 0 {
		t.Errorf("bob's file: mode %s", fb.Mode)
	}
	if _, err := bob.Mkdir(ctx, sub.ID, "bob's folder", CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, alice, fb.ID, ""); !bytes.Equal(got, fromBob) {
		t.Error("alice reads other bytes of bob's upload")
	}
	after, _ := alice.Usage(ctx)
	if after.Used <= before.Used {
		t.Errorf("alice's usage %d -> %d: bob's upload should count for her", before.Used, after.Used)
	}
	if _, err := bob.Rename(ctx, fb.ID, "bob.bin"); err != nil {
		t.Error(err)
	}
	if _, err := bob.Rename(ctx, project.ID, "Mine"); !isForbidden(err) && err == nil {
		t.Errorf("renaming the shared folder itself: %v", err)
	}

	// Revoke: the folder gets a new key. Bob keeps the old one.
	oldKey, ok := bob.cachedKey(project.ID)
	if !ok {
		t.Fatal("bob has no key of the folder")
	}
	if _, err := alice.Revoke(ctx, project.ID, share.ID); err != nil {
		t.Fatal(err)
	}
	if shares, _ := alice.Shares(ctx, project.ID); len(shares) != 0 {
		t.Errorf("shares after revoking: %+v", shares)
	}
	// Alice still reads everything (with a fresh Drive too).
	alice2, _ := signIn(t, url, nil)
	if kids, err := alice2.List(ctx, project.ID); err != nil || len(kids) != 3 {
		t.Fatalf("alice after the rekey: %v %s", err, names(kids))
	}
	if got := read(t, alice2, b.ID, ""); !bytes.Equal(got, bData) {
		t.Error("alice reads other bytes after the rekey")
	}
	// Bob no longer reaches it.
	if _, err := bob.List(ctx, project.ID); !isAPI(err, api.CodeNotFound) {
		t.Errorf("bob after revoking: %v", err)
	}
	if got, err := signInAs(t, url, "bob", false).SharedWithMe(ctx); err != nil || len(got) != 0 {
		t.Errorf("shared with bob after revoking: %v %+v", err, got)
	}
	// The next version: its file's key is wrapped under the new folder
	// key, so bob's old key opens neither it nor the version.
	a2 := put(t, alice2, project.ID, "a.txt", randomBytes(6000), PutOptions{Replace: true})
	info, err := alice2.nodeInfo(ctx, a2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vault.Unwrap(oldKey, info.Node.WrappedKey, vault.NodeKeySlot(a2.ID)); !errors.Is(err, vault.ErrCorrupt) {
		t.Errorf("bob's old folder key unwraps the file's key: %v", err)
	}
	if _, err := vault.OpenMeta(oldKey.MetaKey(), vault.MetaSlot(a2.ID), info.Node.Meta); !errors.Is(err, vault.ErrCorrupt) {
		t.Errorf("bob's old folder key opens the file's name: %v", err)
	}

	// A file shared and revoked: its next version is sealed under a key
	// bob never had.
	r, _ = alice.Recipient(ctx, "bob")
	fshare, err := alice2.ShareWith(ctx, b.ID, r, api.PermRead)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.SharedWithMe(ctx); err != nil {
		t.Fatal(err)
	}
	if got := read(t, bob, b.ID, ""); !bytes.Equal(got, bData) {
		t.Error("bob reads other bytes of the shared file")
	}
	oldFileKey, _ := bob.cachedKey(b.ID)
	if _, err := alice2.Revoke(ctx, b.ID, fshare.ID); err != nil {
		t.Fatal(err)
	}
	b2 := put(t, alice2, sub.ID, "b.bin", randomBytes(2000), PutOptions{Replace: true})
	if _, err := openVersion(oldFileKey.MetaKey(), b.ID, *b2.Node.Current); !errors.Is(err, vault.ErrCorrupt) {
		t.Errorf("bob's old key opens the next version: %v", err)
	}
	if _, _, err := bob.Open(ctx, b.ID, ""); !isAPI(err, api.CodeNotFound) {
		t.Errorf("bob opens the file after revoking: %v", err)
	}

	// A group: each member gets a box; a member added later gets one when
	// the owner's client updates the share.
	var g api.Group
	if err := alice.Client().Do(ctx, http.MethodPost, api.Prefix+"groups", api.CreateGroupRequest{Name: "team", Members: []string{"bob"}}, &g); err != nil {
		t.Fatal(err)
	}
	team, err := alice2.Recipient(ctx, "team")
	if err != nil {
		t.Fatal(err)
	}
	gshare, err := alice2.ShareWith(ctx, sub.ID, team, api.PermRead)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.List(ctx, sub.ID); err != nil {
		t.Errorf("bob through the group: %v", err)
	}
	if _, err := carol.List(ctx, sub.ID); !isAPI(err, api.CodeNotFound) {
		t.Errorf("carol before joining: %v", err)
	}
	if err := alice.Client().Do(ctx, http.MethodPatch, api.Prefix+"groups/"+itoa(g.ID), api.UpdateGroupRequest{Add: []string{"carol"}}, &g); err != nil {
		t.Fatal(err)
	}
	shares, err := alice2.Shares(ctx, sub.ID)
	if err != nil || len(shares) != 1 || len(shares[0].Missing) != 1 || shares[0].Missing[0].Name != "carol" {
		t.Fatalf("group share: %v %+v", err, shares)
	}
	if _, err := alice2.UpdateMembers(ctx, shares[0]); err != nil {
		t.Fatal(err)
	}
	if got := read(t, carol, b.ID, ""); len(got) != 2000 {
		t.Errorf("carol reads %d bytes", len(got))
	}
	if gshare.ToName != "team" {
		t.Errorf("group share to %q", gshare.ToName)
	}

	// Transfer a folder to bob.
	gift, err := alice2.Mkdir(ctx, alice2.RootID(), "Gift", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	giftData := randomBytes(7000)
	gf := put(t, alice2, gift.ID, "gift.bin", giftData, PutOptions{})
	r, _ = alice2.Recipient(ctx, "bob")
	if _, err := alice2.OfferFolder(ctx, gift.ID, r); err != nil {
		t.Fatal(err)
	}
	offers, err := bob.Transfers(ctx)
	if err != nil || len(offers) != 1 || offers[0].Name != "Gift" || !offers[0].Incoming {
		t.Fatalf("bob's offers: %v %+v", err, offers)
	}
	if mine, _ := alice2.Transfers(ctx); len(mine) != 1 || mine[0].Name != "Gift" || mine[0].Incoming {
		t.Errorf("alice's offers: %+v", mine)
	}
	got, err := bob.AcceptTransfer(ctx, offers[0].Transfer, bob.RootID())
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Gift" || got.ParentID != bob.RootID() {
		t.Errorf("accepted %+v", got)
	}
	if data := read(t, signInAs(t, url, "bob", false), gf.ID, ""); !bytes.Equal(data, giftData) {
		t.Error("bob reads other bytes of the gift")
	}
	if _, err := alice2.List(ctx, gift.ID); !isAPI(err, api.CodeNotFound) {
		t.Errorf("alice still lists the gift: %v", err)
	}
}

func itoa(n int64) string {
	var b []byte
	if n == 0 {
		return "0"
	}
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
