package files

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/communitycube/cube/server/auth"
	"github.com/communitycube/cube/server/db"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
)

const strong = "Quartz-Lantern-Meadow-71"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	t     *testing.T
	s     *Store
	auth  *auth.Store
	clock *clock
	ctx   context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "cube.db"), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	c := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	a := auth.New(d, auth.NewHasher(1, 64, 1))
	a.Now = c.now
	s := New(d, a, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.Now = c.now
	return &fixture{t: t, s: s, auth: a, clock: c, ctx: context.Background()}
}

func (f *fixture) user(name string) int64 {
	f.t.Helper()
	u, err := f.auth.CreateUser(f.ctx, name, strong, false)
	if err != nil {
		f.t.Fatal(err)
	}
	return u.ID
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return cap.EncodeBase32(b)
}

func rnd(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// keys gives the user keys and returns the root folder's id.
func (f *fixture) keys(uid int64) string {
	f.t.Helper()
	root := newID()
	k, err := f.s.PutKeys(f.ctx, uid, api.PutKeysRequest{Bundle: rnd(100), RecoveryAuth: rnd(32),
		RootFolder: &api.CreateNodeRequest{ID: root, Kind: api.KindFolder, Mode: api.ModeSecure}})
	if err != nil {
		f.t.Fatal(err)
	}
	if k.RootFolderID != root {
		f.t.Fatalf("root %q", k.RootFolderID)
	}
	return root
}

func folderReq(parent string) api.CreateNodeRequest {
	return api.CreateNodeRequest{ID: newID(), Parent: parent, Kind: api.KindFolder, NameHMAC: rnd(32), Meta: rnd(20),
		WrappedKey: rnd(40), Mode: api.ModeSecure}
}

func (f *fixture) folder(uid int64, parent string, keep bool) api.Node {
	f.t.Helper()
	req := folderReq(parent)
	req.KeepHistory = &keep
	n, err := f.s.CreateNode(f.ctx, uid, req)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// literal creates a file with a literal first version.
func (f *fixture) literal(uid int64, parent string) api.Node {
	f.t.Helper()
	n, err := f.s.CreateNode(f.ctx, uid, api.CreateNodeRequest{ID: newID(), Parent: parent, Kind: api.KindFile, NameHMAC: rnd(32),
		Meta: rnd(20), Mode: api.ModeSecure, Version: &api.NewVersionBody{ID: newID(), Meta: rnd(30)}})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// uploaded makes a finished upload of size bytes and returns its storage index.
func (f *fixture) uploaded(uid int64, size int64) (string, error) {
	var si wire.StorageIndex
	rand.Read(si[:])
	if _, err := f.s.BeginUpload(f.ctx, uid, si, size); err != nil {
		return "", err
	}
	var v cap.Verifier
	v.StorageIndex = si
	rand.Read(v.UEBHash[:])
	v.K, v.N, v.Size = 1, 1, size
	if err := f.s.FinishUpload(f.ctx, uid, si, v.String(), rnd(50)); err != nil {
		return "", err
	}
	return si.String(), nil
}

func (f *fixture) file(uid int64, parent string, size int64) api.Node {
	f.t.Helper()
	si, err := f.uploaded(uid, size)
	if err != nil {
		f.t.Fatal(err)
	}
	n, err := f.s.CreateNode(f.ctx, uid, api.CreateNodeRequest{ID: newID(), Parent: parent, Kind: api.KindFile, NameHMAC: rnd(32),
		Meta: rnd(20), Mode: api.ModeSecure, Version: &api.NewVersionBody{ID: newID(), StorageIndex: si, Meta: rnd(30)}})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) used(uid int64) int64 {
	f.t.Helper()
	u, err := f.s.Usage(f.ctx, uid)
	if err != nil {
		f.t.Fatal(err)
	}
	return u.Used
}

func isInvalid(err error) bool {
	var ie *auth.InvalidError
	return errors.As(err, &ie)
}

func conflictNode(t *testing.T, err error) api.Node {
	t.Helper()
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a *ConflictError", err)
	}
	return ce.Node
}

func TestKeysCreateGetReplace(t *testing.T) {
	f := newFixture(t)
	uid := f.user("ann")
	if _, err := f.s.GetKeys(f.ctx, uid); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("GetKeys before: %v", err)
	}
	if _, err := f.s.PutKeys(f.ctx, uid, api.PutKeysRequest{Bundle: rnd(10), RecoveryAuth: rnd(32)}); !isInvalid(err) {
		t.Fatalf("first keys without a root folder: %v", err)
	}
	root := newID()
	b1 := rnd(100)
	if _, err := f.s.PutKeys(f.ctx, uid, api.PutKeysRequest{Bundle: b1, RecoveryAuth: rnd(32),
		RootFolder: &api.CreateNodeRequest{ID: root, Kind: api.KindFolder, Mode: api.ModeSecure}}); err != nil {
		t.Fatal(err)
	}
	k, err := f.s.GetKeys(f.ctx, uid)
	if err != nil || string(k.Bundle) != string(b1) || k.RootFolderID != root {
		t.Fatalf("GetKeys %+v %v", k, err)
	}
	if _, err := f.s.PutKeys(f.ctx, uid, api.PutKeysRequest{Bundle: rnd(10), BaseBundle: b1,
		RootFolder: &api.CreateNodeRequest{ID: newID(), Kind: api.KindFolder, Mode: api.ModeSecure}}); !errors.Is(err, ErrKeysExist) {
		t.Fatalf("second root: %v", err)
	}
	b2 := rnd(100)
	if _, err := f.s.PutKeys(f.ctx, uid, api.PutKeysRequest{Bundle: b2, BaseBundle: rnd(100)}); !errors.Is(err, ErrKeysChanged) {
		t.Fatalf("stale base bundle: %v", err)
	}
	if _, err := f.s.PutKeys(f.ctx, uid, api.PutKeysRequest{Bundle: b2}); !errors.Is(err, ErrKeysChanged) {
		t.Fatalf("no base bundle: %v", err)
	}
	auth2 := rnd(32)
	k, err = f.s.PutKeys(f.ctx, uid, api.PutKeysRequest{Bundle: b2, BaseBundle: b1, RecoveryAuth: auth2})
	if err != nil || string(k.Bundle) != string(b2) {
		t.Fatalf("replace: %+v %v", k, err)
	}
	// The new recovery key works.
	if _, b, err := f.s.Recover(f.ctx, api.RecoverRequest{Name: "ann", RecoveryAuth: auth2}, "10.0.0.1:5"); err != nil || string(b) != string(b2) {
		t.Fatalf("recover with the new recovery key: %v", err)
	}

	// An account an administrator made must change its password first.
	u, err := f.auth.CreateUserForOther(f.ctx, "bob", strong, false)
	if err != nil {
		t.Fatal(err)
	}
	req := api.PutKeysRequest{Bundle: rnd(10), RecoveryAuth: rnd(32), RootFolder: &api.CreateNodeRequest{ID: newID(), Kind: api.KindFolder, Mode: api.ModeSecure}}
	if _, err := f.s.PutKeys(f.ctx, u.ID, req); !errors.Is(err, ErrMustChangePassword) {
		t.Fatalf("keys before the password change: %v", err)
	}
	if err := f.auth.ChangePassword(f.ctx, u.ID, strong, strong+"-new", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.PutKeys(f.ctx, u.ID, req); err != nil {
		t.Fatalf("keys after the password change: %v", err)
	}
}

func TestRecover(t *testing.T) {
	f := newFixture(t)
	uid := f.user("ann")
	ra := rnd(32)
	b1 := rnd(50)
	if _, err := f.s.PutKeys(f.ctx, uid, api.PutKeysRequest{Bundle: b1, RecoveryAuth: ra,
		RootFolder: &api.CreateNodeRequest{ID: newID(), Kind: api.KindFolder, Mode: api.ModeSecure}}); err != nil {
		t.Fatal(err)
	}
	const remote = "192.0.2.7:4444"
	if _, _, err := f.s.Recover(f.ctx, api.RecoverRequest{Name: "ann", RecoveryAuth: rnd(32)}, remote); !errors.Is(err, ErrWrongRecovery) {
		t.Fatalf("wrong proof: %v", err)
	}
	if _, _, err := f.s.Recover(f.ctx, api.RecoverRequest{Name: "nobody", RecoveryAuth: ra}, remote); !errors.Is(err, ErrWrongRecovery) {
		t.Fatalf("unknown user: %v", err)
	}
	u, b, err := f.s.Recover(f.ctx, api.RecoverRequest{Name: "ann", RecoveryAuth: ra}, remote)
	if err != nil || u.ID != uid || string(b) != string(b1) {
		t.Fatalf("recover: %v", err)
	}
	// A new password comes with a bundle.
	if _, _, err := f.s.Recover(f.ctx, api.RecoverRequest{Name: "ann", RecoveryAuth: ra, NewPassword: "Other-Lantern-Meadow-99"}, remote); !isInvalid(err) {
		t.Fatalf("password without bundle: %v", err)
	}
	tok, _, err := f.auth.NewSession(f.ctx, uid, "", remote)
	if err != nil {
		t.Fatal(err)
	}
	b2 := rnd(50)
	if _, b, err = f.s.Recover(f.ctx, api.RecoverRequest{Name: "ann", RecoveryAuth: ra, NewPassword: "Other-Lantern-Meadow-99", Bundle: b2}, remote); err != nil || string(b) != string(b2) {
		t.Fatalf("reset: %v", err)
	}
	if _, _, err := f.auth.Session(f.ctx, tok); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("a session survived the reset: %v", err)
	}
	if _, err := f.auth.Authenticate(f.ctx, "ann", "Other-Lantern-Meadow-99", remote); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if k, _ := f.s.GetKeys(f.ctx, uid); string(k.Bundle) != string(b2) {
		t.Fatal("bundle not replaced")
	}
	// Throttled like sign-in: after the free failures even the right proof is refused.
	var throttled *auth.ThrottledError
	for i := 0; i < 10 && !errors.As(err, &throttled); i++ {
		_, _, err = f.s.Recover(f.ctx, api.RecoverRequest{Name: "ann", RecoveryAuth: rnd(32)}, remote)
	}
	if !errors.As(err, &throttled) {
		t.Fatalf("no throttling: %v", err)
	}
	if _, _, err := f.s.Recover(f.ctx, api.RecoverRequest{Name: "ann", RecoveryAuth: ra}, remote); !errors.As(err, &throttled) {
		t.Fatalf("right proof while throttled: %v", err)
	}
}

func TestPasswordBundle(t *testing.T) {
	f := newFixture(t)
	uid := f.user("ann")
	// Without keys: no bundle needed, none accepted.
	in, err := f.s.PasswordBundle(f.ctx, uid, rnd(10))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.auth.ChangePasswordWith(f.ctx, uid, strong, strong+"-2", "", in); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("bundle without keys: %v", err)
	}
	f.keys(uid)
	in, _ = f.s.PasswordBundle(f.ctx, uid, nil)
	if err := f.auth.ChangePasswordWith(f.ctx, uid, strong, strong+"-2", "", in); !isInvalid(err) {
		t.Fatalf("no bundle with keys: %v", err)
	}
	if _, err := f.auth.Authenticate(f.ctx, "ann", strong, "10.0.0.1:1"); err != nil {
		t.Fatalf("the refused change changed the password: %v", err)
	}
	b := rnd(60)
	in, _ = f.s.PasswordBundle(f.ctx, uid, b)
	if err := f.auth.ChangePasswordWith(f.ctx, uid, strong, strong+"-2", "", in); err != nil {
		t.Fatal(err)
	}
	if k, _ := f.s.GetKeys(f.ctx, uid); string(k.Bundle) != string(b) {
		t.Fatal("bundle not stored with the password")
	}
}

func TestTree(t *testing.T) {
	f := newFixture(t)
	uid := f.user("ann")
	if _, err := f.s.CreateNode(f.ctx, uid, folderReq(newID())); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("create before keys: %v", err)
	}
	root := f.keys(uid)
	a := f.folder(uid, root, false)
	if a.Parent != root || a.Version != 1 || a.Kind != api.KindFolder {
		t.Fatalf("folder %+v", a)
	}
	// Children, a page at a time, by id.
	ids := map[string]bool{}
	for range 5 {
		ids[f.literal(uid, a.ID).ID] = true
	}
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		c, err := f.s.Children(f.ctx, uid, a.ID, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Items) > 2 || pages > 5 {
			t.Fatalf("page of %d", len(c.Items))
		}
		for _, n := range c.Items {
			got = append(got, n.ID)
		}
		if c.Next == "" {
			break
		}
		after = c.Next
	}
	if len(got) != 5 {
		t.Fatalf("%d children, want 5", len(got))
	}
	for i, id := range got {
		if !ids[id] || i > 0 && got[i-1] >= id {
			t.Fatalf("children %v", got)
		}
	}
	// Names are unique per folder.
	req := folderReq(root)
	if _, err := f.s.CreateNode(f.ctx, uid, req); err != nil {
		t.Fatal(err)
	}
	dup := folderReq(root)
	dup.NameHMAC = req.NameHMAC
	if _, err := f.s.CreateNode(f.ctx, uid, dup); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("same name: %v", err)
	}
	dup.Parent = a.ID // another folder: fine
	if _, err := f.s.CreateNode(f.ctx, uid, dup); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.CreateNode(f.ctx, uid, folderReq(root)); err != nil {
		t.Fatal(err)
	}
	// Ids are never reused.
	again := folderReq(root)
	again.ID = a.ID
	if _, err := f.s.CreateNode(f.ctx, uid, again); !errors.Is(err, ErrIDTaken) {
		t.Fatalf("reused id: %v", err)
	}

	// A stale base version is refused with the current node.
	meta := rnd(20)
	a2, err := f.s.UpdateNode(f.ctx, uid, a.ID, api.UpdateNodeRequest{BaseVersion: 1, Meta: meta})
	if err != nil || a2.Version != 2 || string(a2.Meta) != string(meta) {
		t.Fatalf("rename: %+v %v", a2, err)
	}
	_, err = f.s.UpdateNode(f.ctx, uid, a.ID, api.UpdateNodeRequest{BaseVersion: 1, Meta: rnd(20)})
	if n := conflictNode(t, err); n.Version != 2 || string(n.Meta) != string(meta) {
		t.Fatalf("conflict carries %+v", n)
	}
	// Rename onto a taken name.
	if _, err := f.s.UpdateNode(f.ctx, uid, a.ID, api.UpdateNodeRequest{BaseVersion: 2, NameHMAC: req.NameHMAC}); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("rename onto a taken name: %v", err)
	}

	// Moves: not into the folder itself or its subtree, not into the trash, not the root.
	b := f.folder(uid, a.ID, false)
	c := f.folder(uid, b.ID, false)
	for _, to := range []string{a.ID, b.ID, c.ID} {
		p := to
		if _, err := f.s.UpdateNode(f.ctx, uid, a.ID, api.UpdateNodeRequest{BaseVersion: 2, Parent: &p, NameHMAC: rnd(32), Meta: rnd(9), WrappedKey: rnd(40)}); !isInvalid(err) {
			t.Fatalf("move into own subtree: %v", err)
		}
	}
	p := c.ID
	if _, err := f.s.UpdateNode(f.ctx, uid, root, api.UpdateNodeRequest{BaseVersion: 1, Parent: &p, NameHMAC: rnd(32), Meta: rnd(9), WrappedKey: rnd(40)}); !isInvalid(err) {
		t.Fatalf("moving the root: %v", err)
	}
	trashed := f.folder(uid, root, false)
	if _, err := f.s.TrashNode(f.ctx, uid, trashed.ID, 1); err != nil {
		t.Fatal(err)
	}
	p = trashed.ID
	if _, err := f.s.UpdateNode(f.ctx, uid, c.ID, api.UpdateNodeRequest{BaseVersion: 1, Parent: &p, NameHMAC: rnd(32), Meta: rnd(9), WrappedKey: rnd(40)}); !errors.Is(err, ErrInTrash) {
		t.Fatalf("move into the trash: %v", err)
	}
	if _, err := f.s.CreateNode(f.ctx, uid, folderReq(trashed.ID)); !errors.Is(err, ErrInTrash) {
		t.Fatalf("create in the trash: %v", err)
	}
	// A folder moves with its key re-wrapped for the new parent.
	p = root
	if _, err := f.s.UpdateNode(f.ctx, uid, c.ID, api.UpdateNodeRequest{BaseVersion: 1, Parent: &p, NameHMAC: rnd(32), Meta: rnd(9)}); !isInvalid(err) {
		t.Fatalf("move without the wrapped key: %v", err)
	}
	// A good move: c to the root.
	moved, err := f.s.UpdateNode(f.ctx, uid, c.ID, api.UpdateNodeRequest{BaseVersion: 1, Parent: &p, NameHMAC: rnd(32), Meta: rnd(9), WrappedKey: rnd(40)})
	if err != nil || moved.Parent != root || moved.Version != 2 {
		t.Fatalf("move: %+v %v", moved, err)
	}
	info, err := f.s.GetNode(f.ctx, uid, b.ID)
	if err != nil || len(info.Ancestors) != 2 || info.Ancestors[0].ID != root || info.Ancestors[1].ID != a.ID {
		t.Fatalf("ancestors %+v %v", info.Ancestors, err)
	}
	// Favourites do not change the modification time.
	fav := true
	fn, err := f.s.UpdateNode(f.ctx, uid, b.ID, api.UpdateNodeRequest{BaseVersion: 1, Favorite: &fav})
	if err != nil || !fn.Favorite || !fn.Modified.Equal(b.Modified) {
		t.Fatalf("favourite %+v %v", fn, err)
	}
	favs, _ := f.s.Favorites(f.ctx, uid)
	if len(favs) != 1 || favs[0].ID != b.ID {
		t.Fatalf("favorites %v", favs)
	}
	recent, _ := f.s.Recent(f.ctx, uid, 3)
	if len(recent) != 3 || recent[0].Kind != api.KindFile {
		t.Fatalf("recent %v", recent)
	}
}

func TestForeignIDsAreNotFound(t *testing.T) {
	f := newFixture(t)
	ann, bob := f.user("ann"), f.user("bob")
	root := f.keys(ann)
	f.keys(bob)
	dir := f.folder(ann, root, false)
	file := f.file(ann, dir.ID, 1000)
	vid := file.Current.ID
	checks := map[string]error{}
	_, checks["GetNode"] = f.s.GetNode(f.ctx, bob, dir.ID)
	_, checks["Children"] = f.s.Children(f.ctx, bob, dir.ID, "", 0)
	_, checks["UpdateNode"] = f.s.UpdateNode(f.ctx, bob, dir.ID, api.UpdateNodeRequest{BaseVersion: 1, Meta: rnd(5)})
	_, checks["TrashNode"] = f.s.TrashNode(f.ctx, bob, dir.ID, 1)
	_, checks["Versions"] = f.s.Versions(f.ctx, bob, file.ID)
	_, checks["CreateNode in a foreign folder"] = f.s.CreateNode(f.ctx, bob, folderReq(dir.ID))
	_, checks["NewVersion"] = f.s.NewVersion(f.ctx, bob, file.ID, api.NewVersionRequest{BaseVersion: 1, Version: api.NewVersionBody{ID: newID(), Meta: rnd(5)}})
	checks["DeleteVersion"] = f.s.DeleteVersion(f.ctx, bob, file.ID, vid)
	for name, err := range checks {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	if _, _, err := f.s.VersionCap(f.ctx, bob, vid); !errors.Is(err, ErrVersionNotFound) {
		t.Errorf("VersionCap: %v", err)
	}
	// Bob cannot copy Ann's version, nor use her upload.
	bobRoot, _ := f.s.GetKeys(f.ctx, bob)
	_, err := f.s.CreateNode(f.ctx, bob, api.CreateNodeRequest{ID: newID(), Parent: bobRoot.RootFolderID, Kind: api.KindFile, NameHMAC: rnd(32),
		Meta: rnd(5), Mode: api.ModeSecure, Version: &api.NewVersionBody{ID: newID(), CopyOf: vid, Meta: rnd(5)}})
	if !errors.Is(err, ErrVersionNotFound) {
		t.Errorf("copy of a foreign version: %v", err)
	}
	si, _ := f.uploaded(ann, 500)
	_, err = f.s.CreateNode(f.ctx, bob, api.CreateNodeRequest{ID: newID(), Parent: bobRoot.RootFolderID, Kind: api.KindFile, NameHMAC: rnd(32),
		Meta: rnd(5), Mode: api.ModeSecure, Version: &api.NewVersionBody{ID: newID(), StorageIndex: si, Meta: rnd(5)}})
	if !errors.Is(err, ErrUploadNotFound) {
		t.Errorf("a foreign upload: %v", err)
	}
	w, _ := wire.ParseStorageIndex(si)
	if _, err := f.s.GetUpload(f.ctx, bob, w); !errors.Is(err, ErrNoUpload) {
		t.Errorf("GetUpload: %v", err)
	}
	if _, err := f.s.BeginUpload(f.ctx, bob, w, 500); !errors.Is(err, ErrUploadTaken) {
		t.Errorf("BeginUpload of a foreign storage index: %v", err)
	}
	if err := f.s.DropUpload(f.ctx, bob, w); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.GetUpload(f.ctx, ann, w); err != nil {
		t.Errorf("Bob dropped Ann's upload: %v", err)
	}
}

func TestTrash(t *testing.T) {
	f := newFixture(t)
	uid := f.user("ann")
	root := f.keys(uid)
	if _, err := f.s.TrashNode(f.ctx, uid, root, 1); !isInvalid(err) {
		t.Fatalf("trashing the root: %v", err)
	}
	dir := f.folder(uid, root, false)
	file := f.file(uid, dir.ID, 1000)
	other := f.file(uid, root, 500)
	if _, err := f.s.TrashNode(f.ctx, uid, dir.ID, 7); conflictNode(t, err).ID != dir.ID {
		t.Fatal("stale trash")
	}
	tn, err := f.s.TrashNode(f.ctx, uid, dir.ID, 1)
	if err != nil || tn.Trashed == nil || !tn.InTrash || tn.Version != 2 {
		t.Fatalf("trashed %+v %v", tn, err)
	}
	info, _ := f.s.GetNode(f.ctx, uid, file.ID)
	if !info.Node.InTrash || info.Node.Trashed != nil {
		t.Fatalf("child in trash: %+v", info.Node)
	}
	if _, err := f.s.UpdateNode(f.ctx, uid, file.ID, api.UpdateNodeRequest{BaseVersion: 1, Meta: rnd(5)}); !errors.Is(err, ErrInTrash) {
		t.Fatalf("changing a trashed item: %v", err)
	}
	tr, _ := f.s.Trash(f.ctx, uid)
	if len(tr) != 1 || tr[0].ID != dir.ID {
		t.Fatalf("trash %v", tr)
	}
	if u, _ := f.s.Usage(f.ctx, uid); u.Used != 1500 || u.Trash != 1000 {
		t.Fatalf("usage %+v", u)
	}
	if _, err := f.s.RestoreTrash(f.ctx, uid, file.ID, api.RestoreRequest{}); conflictNode(t, err).ID != file.ID {
		t.Fatal("restoring an item inside a trashed folder")
	}
	// A folder with the same name meanwhile: the restore needs a new name.
	taken := folderReq(root)
	taken.NameHMAC = dir.NameHMAC
	if _, err := f.s.CreateNode(f.ctx, uid, taken); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.RestoreTrash(f.ctx, uid, dir.ID, api.RestoreRequest{}); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("restore onto a taken name: %v", err)
	}
	rn, err := f.s.RestoreTrash(f.ctx, uid, dir.ID, api.RestoreRequest{Parent: root, NameHMAC: rnd(32), Meta: rnd(10)})
	if err != nil || rn.InTrash || rn.Trashed != nil || rn.Parent != root {
		t.Fatalf("restore: %+v %v", rn, err)
	}
	if info, _ := f.s.GetNode(f.ctx, uid, file.ID); info.Node.InTrash {
		t.Fatal("child still in the trash after the restore")
	}

	// An item trashed on its own stays in the trash when its folder goes
	// and comes back.
	if _, err := f.s.TrashNode(f.ctx, uid, file.ID, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.TrashNode(f.ctx, uid, dir.ID, rn.Version); err != nil {
		t.Fatal(err)
	}
	if tr, _ := f.s.Trash(f.ctx, uid); len(tr) != 2 {
		t.Fatalf("trash %v", tr)
	}
	if _, err := f.s.RestoreTrash(f.ctx, uid, dir.ID, api.RestoreRequest{}); err != nil {
		t.Fatal(err)
	}
	if info, _ := f.s.GetNode(f.ctx, uid, file.ID); !info.Node.InTrash || info.Node.Trashed == nil {
		t.Fatalf("the separately trashed file came back with its folder: %+v", info.Node)
	}
	// Its folder trashed again: restoring the file needs another folder.
	dn, _ := f.s.GetNode(f.ctx, uid, dir.ID)
	if _, err := f.s.TrashNode(f.ctx, uid, dir.ID, dn.Node.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.RestoreTrash(f.ctx, uid, file.ID, api.RestoreRequest{}); conflictNode(t, err).ID != file.ID {
		t.Fatal("restore into a trashed folder")
	}
	// Delete the folder for good: the file stays in the trash, parentless.
	if err := f.s.DeleteForever(f.ctx, uid, dir.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.GetNode(f.ctx, uid, dir.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted folder: %v", err)
	}
	info, err = f.s.GetNode(f.ctx, uid, file.ID)
	if err != nil || info.Node.Parent != "" || info.Node.Trashed == nil {
		t.Fatalf("orphan %+v %v", info.Node, err)
	}
	if err := f.s.DeleteForever(f.ctx, uid, other.ID); conflictNode(t, err).ID != other.ID {
		t.Fatal("deleting a live item for good")
	}
	if err := f.s.EmptyTrash(f.ctx, uid); err != nil {
		t.Fatal(err)
	}
	if tr, _ := f.s.Trash(f.ctx, uid); len(tr) != 0 {
		t.Fatalf("trash after emptying: %v", tr)
	}
	if u, _ := f.s.Usage(f.ctx, uid); u.Used != 500 || u.Trash != 0 {
		t.Fatalf("usage after emptying %+v", u)
	}
}

func TestTrashAutoEmpty(t *testing.T) {
	f := newFixture(t)
	ann, bob := f.user("ann"), f.user("bob")
	aroot, broot := f.keys(ann), f.keys(bob)
	a := f.file(ann, aroot, 100)
	b := f.file(bob, broot, 100)
	if _, err := f.s.PutSettings(f.ctx, bob, api.FileSettings{DefaultMode: api.ModeSecure, TrashDays: 0}); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		uid int64
		id  string
	}{{ann, a.ID}, {bob, b.ID}} {
		if _, err := f.s.TrashNode(f.ctx, x.uid, x.id, 1); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.add(29 * 24 * time.Hour)
	if n, err := f.s.AutoEmptyTrash(f.ctx); err != nil || n != 0 {
		t.Fatalf("after 29 days: %d %v", n, err)
	}
	f.clock.add(2 * 24 * time.Hour)
	if n, err := f.s.AutoEmptyTrash(f.ctx); err != nil || n != 1 {
		t.Fatalf("after 31 days: %d %v", n, err)
	}
	if _, err := f.s.GetNode(f.ctx, ann, a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Ann's old trash: %v", err)
	}
	if _, err := f.s.GetNode(f.ctx, bob, b.ID); err != nil {
		t.Fatalf("Bob keeps his trash (trash_days 0): %v", err)
	}
	if f.used(ann) != 0 || f.used(bob) != 100 {
		t.Fatal("usage after the auto-empty")
	}
}

func TestVersions(t *testing.T) {
	f := newFixture(t)
	uid := f.user("ann")
	root := f.keys(uid)
	keep := f.folder(uid, root, true)
	drop := f.folder(uid, root, false)

	// keep_history on: old versions stay.
	k := f.file(uid, keep.ID, 100)
	si, _ := f.uploaded(uid, 200)
	k2, err := f.s.NewVersion(f.ctx, uid, k.ID, api.NewVersionRequest{BaseVersion: 1, Version: api.NewVersionBody{ID: newID(), StorageIndex: si, Meta: rnd(5)}, Meta: rnd(7)})
	if err != nil || k2.Version != 2 || k2.Size != 200 {
		t.Fatalf("new version %+v %v", k2, err)
	}
	vs, _ := f.s.Versions(f.ctx, uid, k.ID)
	if len(vs) != 2 || vs[0].ID != k2.Current.ID || vs[1].ID != k.Current.ID {
		t.Fatalf("versions %v", vs)
	}
	if f.used(uid) != 300 {
		t.Fatalf("used %d", f.used(uid))
	}
	// The upload was consumed.
	if _, err := f.s.NewVersion(f.ctx, uid, k.ID, api.NewVersionRequest{BaseVersion: 2, Version: api.NewVersionBody{ID: newID(), StorageIndex: si, Meta: rnd(5)}}); !errors.Is(err, ErrUploadNotFound) {
		t.Fatalf("reused upload: %v", err)
	}
	// Stale base version.
	if _, err := f.s.NewVersion(f.ctx, uid, k.ID, api.NewVersionRequest{BaseVersion: 1, Version: api.NewVersionBody{ID: newID(), Meta: rnd(5)}}); conflictNode(t, err).Version != 2 {
		t.Fatal("stale new version")
	}
	// Restore the first version: a new current version with its content.
	k3, err := f.s.RestoreVersion(f.ctx, uid, k.ID, k.Current.ID, api.RestoreVersionRequest{BaseVersion: 2, NewID: newID(), Meta: rnd(5), NodeMeta: rnd(5)})
	if err != nil || k3.Size != 100 || k3.Current.VerifyCap != k.Current.VerifyCap || k3.Current.ID == k.Current.ID {
		t.Fatalf("restore %+v %v", k3, err)
	}
	if vs, _ := f.s.Versions(f.ctx, uid, k.ID); len(vs) != 3 {
		t.Fatalf("versions after restore %d", len(vs))
	}
	if err := f.s.DeleteVersion(f.ctx, uid, k.ID, k3.Current.ID); conflictNode(t, err).ID != k.ID {
		t.Fatal("deleting the current version")
	}
	if err := f.s.DeleteVersion(f.ctx, uid, k.ID, k2.Current.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DeleteVersion(f.ctx, uid, k.ID, k2.Current.ID); !errors.Is(err, ErrVersionNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
	if f.used(uid) != 200 {
		t.Fatalf("used after deleting a version %d", f.used(uid))
	}

	// keep_history off: the previous version goes.
	d := f.file(uid, drop.ID, 1000)
	si, _ = f.uploaded(uid, 300)
	d2, err := f.s.NewVersion(f.ctx, uid, d.ID, api.NewVersionRequest{BaseVersion: 1, Version: api.NewVersionBody{ID: newID(), StorageIndex: si, Meta: rnd(5)}})
	if err != nil {
		t.Fatal(err)
	}
	vs, _ = f.s.Versions(f.ctx, uid, d.ID)
	if len(vs) != 1 || vs[0].ID != d2.Current.ID {
		t.Fatalf("versions without history %v", vs)
	}
	if _, _, err := f.s.VersionCap(f.ctx, uid, d.Current.ID); !errors.Is(err, ErrVersionNotFound) {
		t.Fatalf("the replaced version: %v", err)
	}
	if f.used(uid) != 500 {
		t.Fatalf("used %d", f.used(uid))
	}
}

func TestLiteralVersion(t *testing.T) {
	f := newFixture(t)
	uid := f.user("ann")
	root := f.keys(uid)
	n := f.literal(uid, root)
	if n.Current == nil || n.Size != 0 || n.Current.VerifyCap != "" {
		t.Fatalf("literal %+v", n)
	}
	_, ok, err := f.s.VersionCap(f.ctx, uid, n.Current.ID)
	if err != nil || ok {
		t.Fatalf("VersionCap of a literal version: %v %v", ok, err)
	}
	var si wire.StorageIndex
	if _, err := f.s.BeginUpload(f.ctx, uid, si, 55); !isInvalid(err) {
		t.Fatalf("uploading a literal-sized file: %v", err)
	}
	if f.used(uid) != 0 {
		t.Fatal("a literal version counts")
	}
}

func TestQuota(t *testing.T) {
	f := newFixture(t)
	if _, err := f.auth.CreateUser(f.ctx, "admin", strong, true); err != nil {
		t.Fatal(err)
	}
	uid := f.user("ann")
	root := f.keys(uid)
	q := int64(1000)
	if _, err := f.auth.Update(f.ctx, uid, auth.UserUpdate{Quota: &q}); err != nil {
		t.Fatal(err)
	}
	var quota *QuotaError
	if _, err := f.uploaded(uid, 1001); !errors.As(err, &quota) {
		t.Fatalf("upload over the quota: %v", err)
	}
	// Uploads count from their beginning, finished or not.
	var si wire.StorageIndex
	rand.Read(si[:])
	if _, err := f.s.BeginUpload(f.ctx, uid, si, 600); err != nil {
		t.Fatal(err)
	}
	if u, _ := f.s.Usage(f.ctx, uid); u.Used != 600 || u.Quota != 1000 {
		t.Fatalf("usage %+v", u)
	}
	if _, err := f.s.BeginUpload(f.ctx, uid, si, 600); err != nil {
		t.Fatalf("resuming: %v", err)
	}
	if _, err := f.uploaded(uid, 500); !errors.As(err, &quota) || quota.Used != 600 {
		t.Fatalf("second upload over the quota: %v", err)
	}
	if err := f.s.DropUpload(f.ctx, uid, si); err != nil {
		t.Fatal(err)
	}
	n := f.file(uid, root, 600)
	// A copy counts in full.
	_, err := f.s.CreateNode(f.ctx, uid, api.CreateNodeRequest{ID: newID(), Parent: root, Kind: api.KindFile, NameHMAC: rnd(32), Meta: rnd(5),
		Mode: api.ModeSecure, Version: &api.NewVersionBody{ID: newID(), CopyOf: n.Current.ID, Meta: rnd(5)}})
	if !errors.As(err, &quota) {
		t.Fatalf("copy over the quota: %v", err)
	}
	// Replacing a version without history frees the old one's room first.
	si2, err := f.uploaded(uid, 400)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.NewVersion(f.ctx, uid, n.ID, api.NewVersionRequest{BaseVersion: 1, Version: api.NewVersionBody{ID: newID(), StorageIndex: si2, Meta: rnd(5)}}); err != nil {
		t.Fatal(err)
	}
	if f.used(uid) != 400 {
		t.Fatalf("used %d", f.used(uid))
	}
	all, _ := f.s.UsageAll(f.ctx)
	if all[uid] != 400 {
		t.Fatalf("UsageAll %v", all)
	}
}

func TestSessionKeys(t *testing.T) {
	e := NewEscrow()
	now := time.Now()
	gen := func() ([]byte, error) { return rnd(32), nil }
	th1, th2 := rnd(32), rnd(32)
	k1, _ := e.GetOrCreate(th1, 1, now.Add(time.Hour), now, gen)
	k1b, _ := e.GetOrCreate(th1, 1, now.Add(time.Hour), now, gen)
	k2, _ := e.GetOrCreate(th2, 1, now.Add(time.Hour), now, gen)
	if string(k1) != string(k1b) || string(k1) == string(k2) {
		t.Fatal("a session key is not stable per session, or not different between sessions")
	}
	e.DropUser(1, th2)
	if _, ok := e.Get(th1, now); ok {
		t.Fatal("DropUser kept another session's key")
	}
	if _, ok := e.Get(th2, now); !ok {
		t.Fatal("DropUser dropped the kept session's key")
	}
	if _, ok := e.Get(th2, now.Add(2*time.Hour)); ok {
		t.Fatal("an expired key")
	}
}

// The root folder has no name (an empty name HMAC); changing one of its
// settings must keep it that way, not fail on the NOT NULL column.
func TestRootSettings(t *testing.T) {
	f := newFixture(t)
	uid := f.user("alice")
	root := f.keys(uid)
	info, err := f.s.GetNode(f.ctx, uid, root)
	if err != nil {
		t.Fatal(err)
	}
	keep := true
	fav := true
	n, err := f.s.UpdateNode(f.ctx, uid, root, api.UpdateNodeRequest{BaseVersion: info.Node.Version, KeepHistory: &keep, Favorite: &fav})
	if err != nil {
		t.Fatalf("keep_history on the root: %v", err)
	}
	if !n.KeepHistory || n.Version != info.Node.Version+1 {
		t.Fatalf("root after update: %+v", n)
	}
	mode := api.ModeStandard
	if _, err := f.s.UpdateNode(f.ctx, uid, root, api.UpdateNodeRequest{BaseVersion: n.Version, Mode: &mode, Escrow: rnd(72)}); err != nil {
		t.Fatalf("mode of the root: %v", err)
	}
}

func TestChildNamed(t *testing.T) {
	f := newFixture(t)
	alice, bob := f.user("alice"), f.user("bob")
	root := f.keys(alice)
	f.keys(bob)
	a := f.folder(alice, root, true)
	got, err := f.s.ChildNamed(f.ctx, alice, root, a.NameHMAC)
	if err != nil || got.ID != a.ID {
		t.Fatalf("ChildNamed = %v, %v; want %s", got.ID, err, a.ID)
	}
	if _, err := f.s.ChildNamed(f.ctx, alice, root, rnd(32)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown name: %v", err)
	}
	if _, err := f.s.ChildNamed(f.ctx, alice, root, rnd(5)); !isInvalid(err) {
		t.Fatalf("short HMAC: %v", err)
	}
	if _, err := f.s.ChildNamed(f.ctx, bob, root, a.NameHMAC); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another user's folder: %v", err)
	}
	// A child in the trash no longer holds its name.
	if _, err := f.s.TrashNode(f.ctx, alice, a.ID, a.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.ChildNamed(f.ctx, alice, root, a.NameHMAC); !errors.Is(err, ErrNotFound) {
		t.Fatalf("trashed child: %v", err)
	}
}
