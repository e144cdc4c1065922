package files

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/communitycube/cube/shared/api"
)

func (f *fixture) link(uid int64, req api.CreateLinkRequest) api.Link {
	f.t.Helper()
	if req.ID == "" {
		req.ID = newID()
	}
	if req.KeyMode == "" {
		req.KeyMode = api.KeyInURL
	}
	if req.Kind != api.LinkDrop && req.Meta == nil {
		req.Meta = rnd(40)
	}
	l, err := f.s.CreateLink(f.ctx, uid, req)
	if err != nil {
		f.t.Fatal(err)
	}
	return l
}

// guest is the address of a link's recipient in these tests.
const guest = "192.0.2.1:40000"

func (f *fixture) open(id string, auth []byte) api.Access {
	f.t.Helper()
	acc, err := f.s.OpenLink(f.ctx, id, guest, api.AccessRequest{PasswordAuth: auth})
	if err != nil {
		f.t.Fatal(err)
	}
	return acc
}

func wantLinkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

func TestCreateLinkRules(t *testing.T) {
	f := newFixture(t)
	ann, bob := f.user("ann"), f.user("bob")
	root := f.keys(ann)
	f.keys(bob)
	dir := f.folder(ann, root, false)
	file := f.file(ann, dir.ID, 1000)
	mk := func(uid int64, r api.CreateLinkRequest) error {
		if r.ID == "" {
			r.ID = newID()
		}
		_, err := f.s.CreateLink(f.ctx, uid, r)
		return err
	}
	meta := rnd(40)
	pw := &api.LinkPassword{Lock: rnd(40), Wrapped: rnd(60), AuthHash: rnd(32)}
	for _, c := range []struct {
		name string
		uid  int64
		req  api.CreateLinkRequest
		ok   func(error) bool
	}{
		{"bad id", ann, api.CreateLinkRequest{ID: "x", Target: file.ID, Kind: api.LinkFile, KeyMode: api.KeyInURL, Meta: meta}, isInvalid},
		{"kind mismatch", ann, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkFolder, KeyMode: api.KeyInURL, Meta: meta}, isInvalid},
		{"drop on a file", ann, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkDrop, KeyMode: api.KeyInURL}, isInvalid},
		{"no meta", ann, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkFile, KeyMode: api.KeyInURL}, isInvalid},
		{"meta too big", ann, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkFile, KeyMode: api.KeyInURL, Meta: rnd(api.MaxLinkMeta + 1)}, isInvalid},
		{"password without material", ann, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkFile, KeyMode: api.KeyPassword, Meta: meta}, isInvalid},
		{"password without wrapped", ann, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkFile, KeyMode: api.KeyPassword, Meta: meta,
			Password: &api.LinkPassword{Lock: rnd(40), AuthHash: rnd(32)}}, isInvalid},
		{"auth hash size", ann, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkFile, KeyMode: api.KeyPassword, Meta: meta,
			Password: &api.LinkPassword{Lock: rnd(40), Wrapped: rnd(60), AuthHash: rnd(31)}}, isInvalid},
		{"drop with wrapped", ann, api.CreateLinkRequest{Target: dir.ID, Kind: api.LinkDrop, KeyMode: api.KeyPassword,
			Password: &api.LinkPassword{Lock: rnd(40), Wrapped: rnd(60), AuthHash: rnd(32)}}, isInvalid},
		{"bad key mode", ann, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkFile, KeyMode: "x", Meta: meta}, isInvalid},
		{"past expiry", ann, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkFile, KeyMode: api.KeyInURL, Meta: meta,
			Expires: ptr(f.clock.now().Add(-time.Minute))}, isInvalid},
		{"negative limit", ann, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkFile, KeyMode: api.KeyInURL, Meta: meta, MaxDownloads: -1}, isInvalid},
		{"foreign target", bob, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkFile, KeyMode: api.KeyInURL, Meta: meta},
			func(err error) bool { return errors.Is(err, ErrNotFound) }},
		{"ok file", ann, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkFile, KeyMode: api.KeyPassword, Meta: meta, Password: pw}, nil},
		{"ok drop", ann, api.CreateLinkRequest{Target: dir.ID, Kind: api.LinkDrop, KeyMode: api.KeyInURL, Drop: &api.DropLimits{MaxFiles: 3}}, nil},
	} {
		err := mk(c.uid, c.req)
		if c.ok == nil && err != nil || c.ok != nil && !c.ok(err) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// In the trash: no link.
	gone := f.folder(ann, root, false)
	if _, err := f.s.TrashNode(f.ctx, ann, gone.ID, gone.Version); err != nil {
		t.Fatal(err)
	}
	if err := mk(ann, api.CreateLinkRequest{Target: gone.ID, Kind: api.LinkFolder, KeyMode: api.KeyInURL, Meta: meta}); !errors.Is(err, ErrInTrash) {
		t.Errorf("trashed target: %v", err)
	}
	// A taken id.
	l := f.link(ann, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkFile})
	if err := mk(ann, api.CreateLinkRequest{ID: l.ID, Target: file.ID, Kind: api.LinkFile, KeyMode: api.KeyInURL, Meta: meta}); !errors.Is(err, ErrIDTaken) {
		t.Errorf("taken id: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestLinkListUpdateDelete(t *testing.T) {
	f := newFixture(t)
	ann, bob := f.user("ann"), f.user("bob")
	root := f.keys(ann)
	file := f.file(ann, root, 1000)
	l1 := f.link(ann, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkFile})
	f.clock.add(time.Second)
	l2 := f.link(ann, api.CreateLinkRequest{Target: root, Kind: api.LinkFolder, MaxDownloads: 2})
	ls, err := f.s.Links(f.ctx, ann)
	if err != nil || len(ls) != 2 || ls[0].ID != l2.ID || ls[1].ID != l1.ID || ls[0].State != api.LinkActive || ls[0].MaxDownloads != 2 {
		t.Fatalf("links %+v %v", ls, err)
	}
	if ls, _ := f.s.Links(f.ctx, bob); len(ls) != 0 {
		t.Fatalf("bob sees %v", ls)
	}
	// Update: expiry, then clear it; limits.
	exp := f.clock.now().Add(time.Hour)
	u, err := f.s.UpdateLink(f.ctx, ann, l1.ID, api.UpdateLinkRequest{Expires: &exp, MaxDownloads: ptr(5)})
	if err != nil || u.Expires == nil || !u.Expires.Equal(exp) || u.MaxDownloads != 5 {
		t.Fatalf("update %+v %v", u, err)
	}
	f.clock.add(2 * time.Hour)
	if g, _ := f.s.GetLink(f.ctx, ann, l1.ID); g.State != api.CodeLinkExpired {
		t.Fatalf("state after expiry %q", g.State)
	}
	// Expire now: a date in the past is the owner stopping the link.
	past := f.clock.now().Add(-time.Minute)
	if u, err := f.s.UpdateLink(f.ctx, ann, l1.ID, api.UpdateLinkRequest{Expires: &past}); err != nil || u.State != api.CodeLinkExpired {
		t.Fatalf("expire now: %+v %v", u, err)
	}
	u, err = f.s.UpdateLink(f.ctx, ann, l1.ID, api.UpdateLinkRequest{ClearExpires: true, MaxDownloads: ptr(0)})
	if err != nil || u.Expires != nil || u.MaxDownloads != 0 || u.State != api.LinkActive {
		t.Fatalf("clear %+v %v", u, err)
	}
	if _, err := f.s.UpdateLink(f.ctx, bob, l1.ID, api.UpdateLinkRequest{ClearExpires: true}); !errors.Is(err, ErrLinkNotFound) {
		t.Fatalf("bob updates: %v", err)
	}
	if _, err := f.s.UpdateLink(f.ctx, ann, l1.ID, api.UpdateLinkRequest{Drop: &api.DropLimits{MaxFiles: 1}}); !isInvalid(err) {
		t.Fatalf("drop limits on a file link: %v", err)
	}
	// Delete: gone from the list, 410 removed for recipients, not found
	// for the owner's routes; unknown ids are not found.
	acc := f.open(l1.ID, nil)
	if err := f.s.DeleteLink(f.ctx, bob, l1.ID); !errors.Is(err, ErrLinkNotFound) {
		t.Fatalf("bob deletes: %v", err)
	}
	if err := f.s.DeleteLink(f.ctx, ann, l1.ID); err != nil {
		t.Fatal(err)
	}
	if ls, _ := f.s.Links(f.ctx, ann); len(ls) != 1 {
		t.Fatalf("after delete %v", ls)
	}
	_, err = f.s.PublicLink(f.ctx, l1.ID)
	wantLinkErr(t, "public of removed", err, ErrLinkRemoved)
	_, err = f.s.OpenLink(f.ctx, l1.ID, guest, api.AccessRequest{})
	wantLinkErr(t, "open removed", err, ErrLinkRemoved)
	_, _, err = f.s.LinkVersionCap(f.ctx, l1.ID, acc.Token, file.Current.ID)
	wantLinkErr(t, "content of removed", err, ErrLinkRemoved)
	if err := f.s.DeleteLink(f.ctx, ann, l1.ID); !errors.Is(err, ErrLinkNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	_, err = f.s.PublicLink(f.ctx, newID())
	wantLinkErr(t, "unknown", err, ErrLinkNotFound)
}

func TestLinkFileAccessAndDownloads(t *testing.T) {
	f := newFixture(t)
	ann := f.user("ann")
	root := f.keys(ann)
	file := f.file(ann, root, 1000)
	other := f.file(ann, root, 1000)
	l := f.link(ann, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkFile, MaxDownloads: 1})
	pub, err := f.s.PublicLink(f.ctx, l.ID)
	if err != nil || pub.Kind != api.LinkFile || pub.KeyMode != api.KeyInURL || pub.Owner != "" || pub.PublicKey != nil {
		t.Fatalf("public %+v %v", pub, err)
	}
	a1 := f.open(l.ID, nil)
	if a1.Node == nil || a1.Node.ID != file.ID || a1.Node.Parent != "" || a1.Node.Current == nil || string(a1.Meta) != string(l.Meta) {
		t.Fatalf("access %+v", a1)
	}
	if !a1.Expires.Equal(f.clock.now().Add(api.LinkTokenTTL)) {
		t.Fatalf("token expiry %v", a1.Expires)
	}
	// Only the target's current version.
	_, _, err = f.s.LinkVersionCap(f.ctx, l.ID, a1.Token, other.Current.ID)
	wantLinkErr(t, "another file", err, ErrVersionNotFound)
	_, _, err = f.s.LinkVersionCap(f.ctx, l.ID, "nonsense", file.Current.ID)
	wantLinkErr(t, "bad token", err, ErrLinkToken)
	_, err = f.s.LinkChildren(f.ctx, l.ID, a1.Token, file.ID, "", 0)
	wantLinkErr(t, "children of a file link", err, ErrLinkKind)
	a2 := f.open(l.ID, nil) // opened before the limit is reached
	v, ok, err := f.s.LinkVersionCap(f.ctx, l.ID, a1.Token, file.Current.ID)
	if err != nil || !ok || v.String() != file.Current.VerifyCap {
		t.Fatalf("cap %v %v %v", v, ok, err)
	}
	// The same token again (a Range request, the proof): not counted twice.
	if _, _, err := f.s.LinkVersionCap(f.ctx, l.ID, a1.Token, file.Current.ID); err != nil {
		t.Fatal(err)
	}
	if g, _ := f.s.GetLink(f.ctx, ann, l.ID); g.Downloads != 1 || g.State != api.CodeLinkExhausted {
		t.Fatalf("after one download %+v", g)
	}
	// Exhausted: another token is refused content, new ones are not issued,
	// the counted one continues (a download in progress completes).
	_, _, err = f.s.LinkVersionCap(f.ctx, l.ID, a2.Token, file.Current.ID)
	wantLinkErr(t, "uncounted token", err, ErrLinkExhausted)
	_, err = f.s.OpenLink(f.ctx, l.ID, guest, api.AccessRequest{})
	wantLinkErr(t, "open exhausted", err, ErrLinkExhausted)
	_, err = f.s.PublicLink(f.ctx, l.ID)
	wantLinkErr(t, "public exhausted", err, ErrLinkExhausted)
	if _, _, err := f.s.LinkVersionCap(f.ctx, l.ID, a1.Token, file.Current.ID); err != nil {
		t.Fatalf("counted token after the limit: %v", err)
	}
	// A new version: the old one is no longer served.
	si, err := f.uploaded(ann, 2000)
	if err != nil {
		t.Fatal(err)
	}
	n, err := f.s.NewVersion(f.ctx, ann, file.ID, api.NewVersionRequest{BaseVersion: file.Version, Version: api.NewVersionBody{ID: newID(), StorageIndex: si, Meta: rnd(30)}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = f.s.LinkVersionCap(f.ctx, l.ID, a1.Token, file.Current.ID)
	wantLinkErr(t, "old version", err, ErrVersionNotFound)
	if _, _, err := f.s.LinkVersionCap(f.ctx, l.ID, a1.Token, n.Current.ID); err != nil {
		t.Fatalf("new version: %v", err)
	}
	// The token ends with its TTL.
	f.clock.add(api.LinkTokenTTL)
	_, _, err = f.s.LinkVersionCap(f.ctx, l.ID, a1.Token, n.Current.ID)
	wantLinkErr(t, "ended token", err, ErrLinkToken)
	// A token of another link does not open this one.
	l2 := f.link(ann, api.CreateLinkRequest{Target: other.ID, Kind: api.LinkFile})
	a3 := f.open(l2.ID, nil)
	_, _, err = f.s.LinkVersionCap(f.ctx, l.ID, a3.Token, n.Current.ID)
	wantLinkErr(t, "token of another link", err, ErrLinkToken)
}

// A file of at most 55 bytes travels inside its sealed metadata: the link
// answer (file link) or the folder page (folder link) that carries it is
// the download, counted once per token like a range of a larger file.
func TestLinkLiteralContentCounts(t *testing.T) {
	f := newFixture(t)
	ann := f.user("ann")
	root := f.keys(ann)
	tiny := f.literal(ann, root)
	l := f.link(ann, api.CreateLinkRequest{Target: tiny.ID, Kind: api.LinkFile, MaxDownloads: 1})
	a1 := f.open(l.ID, nil)
	if a1.Node == nil || a1.Node.Current == nil || a1.Node.Current.VerifyCap != "" {
		t.Fatalf("access %+v", a1)
	}
	if g, _ := f.s.GetLink(f.ctx, ann, l.ID); g.Downloads != 1 || g.State != api.CodeLinkExhausted {
		t.Fatalf("after opening a small file's link %+v", g)
	}
	_, err := f.s.OpenLink(f.ctx, l.ID, guest, api.AccessRequest{})
	wantLinkErr(t, "second visitor", err, ErrLinkExhausted)

	// A folder: listing a page without small files is free; the first page
	// with one counts, once.
	dir := f.folder(ann, root, false)
	sub := f.folder(ann, dir.ID, false)
	f.file(ann, dir.ID, 1000)
	f.literal(ann, sub.ID)
	fl := f.link(ann, api.CreateLinkRequest{Target: dir.ID, Kind: api.LinkFolder, MaxDownloads: 2})
	b1, b2 := f.open(fl.ID, nil), f.open(fl.ID, nil)
	downloads := func() int {
		g, err := f.s.GetLink(f.ctx, ann, fl.ID)
		if err != nil {
			t.Fatal(err)
		}
		return g.Downloads
	}
	if _, err := f.s.LinkChildren(f.ctx, fl.ID, b1.Token, dir.ID, "", 0); err != nil || downloads() != 0 {
		t.Fatalf("listing without small files: %v, %d downloads", err, downloads())
	}
	for range 2 {
		if _, err := f.s.LinkChildren(f.ctx, fl.ID, b1.Token, sub.ID, "", 0); err != nil || downloads() != 1 {
			t.Fatalf("listing a small file: %v, %d downloads", err, downloads())
		}
	}
	if _, err := f.s.LinkChildren(f.ctx, fl.ID, b2.Token, sub.ID, "", 0); err != nil || downloads() != 2 {
		t.Fatalf("second token: %v, %d downloads", err, downloads())
	}
	// Exhausted: a counted token goes on, a new one is refused.
	if _, err := f.s.LinkChildren(f.ctx, fl.ID, b1.Token, sub.ID, "", 0); err != nil {
		t.Fatalf("counted token after the limit: %v", err)
	}
	_, err = f.s.OpenLink(f.ctx, fl.ID, guest, api.AccessRequest{})
	wantLinkErr(t, "exhausted folder", err, ErrLinkExhausted)
}

func TestLinkExpiryAndTargetGone(t *testing.T) {
	f := newFixture(t)
	ann := f.user("ann")
	root := f.keys(ann)
	dir := f.folder(ann, root, false)
	file := f.file(ann, dir.ID, 1000)
	exp := f.clock.now().Add(time.Hour)
	l := f.link(ann, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkFile, Expires: &exp})
	acc := f.open(l.ID, nil)
	f.clock.add(time.Hour)
	_, err := f.s.PublicLink(f.ctx, l.ID)
	wantLinkErr(t, "expired public", err, ErrLinkExpired)
	_, _, err = f.s.LinkVersionCap(f.ctx, l.ID, acc.Token, file.Current.ID)
	wantLinkErr(t, "expired content", err, ErrLinkExpired)

	// The target's folder in the trash: the link answers "target gone"
	// (code link_removed, its own message) and lists as target_gone.
	fl := f.link(ann, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkFile})
	f.open(fl.ID, nil)
	if _, err := f.s.TrashNode(f.ctx, ann, dir.ID, dir.Version); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.OpenLink(f.ctx, fl.ID, guest, api.AccessRequest{})
	wantLinkErr(t, "trashed target", err, ErrLinkTarget)
	var le *LinkError
	if !errors.As(err, &le) || le.Code != api.CodeLinkRemoved || le.Message == ErrLinkRemoved.Message {
		t.Fatalf("target gone error %#v", le)
	}
	if g, _ := f.s.GetLink(f.ctx, ann, fl.ID); g.State != api.LinkTargetGone {
		t.Fatalf("state %q", g.State)
	}
	// Restored: it works again; deleted for good: gone for good.
	if _, err := f.s.RestoreTrash(f.ctx, ann, dir.ID, api.RestoreRequest{}); err != nil {
		t.Fatal(err)
	}
	f.open(fl.ID, nil)
	d, _ := f.s.GetNode(f.ctx, ann, dir.ID)
	if _, err := f.s.TrashNode(f.ctx, ann, dir.ID, d.Node.Version); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DeleteForever(f.ctx, ann, dir.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.PublicLink(f.ctx, fl.ID)
	wantLinkErr(t, "deleted target", err, ErrLinkTarget)
}

func TestLinkFolderSubtree(t *testing.T) {
	f := newFixture(t)
	ann := f.user("ann")
	root := f.keys(ann)
	shared := f.folder(ann, root, false)
	sub := f.folder(ann, shared.ID, false)
	inner := f.file(ann, sub.ID, 1000)
	lit := f.literal(ann, sub.ID)
	trashed := f.file(ann, sub.ID, 1000)
	outside := f.file(ann, root, 1000)
	if _, err := f.s.TrashNode(f.ctx, ann, trashed.ID, trashed.Version); err != nil {
		t.Fatal(err)
	}
	l := f.link(ann, api.CreateLinkRequest{Target: shared.ID, Kind: api.LinkFolder})
	acc := f.open(l.ID, nil)
	if acc.Node.ID != shared.ID || acc.Node.Parent != "" {
		t.Fatalf("access node %+v", acc.Node)
	}
	c, err := f.s.LinkChildren(f.ctx, l.ID, acc.Token, shared.ID, "", 0)
	if err != nil || len(c.Items) != 1 || c.Items[0].ID != sub.ID {
		t.Fatalf("children of the target %+v %v", c, err)
	}
	c, err = f.s.LinkChildren(f.ctx, l.ID, acc.Token, sub.ID, "", 0)
	if err != nil || len(c.Items) != 2 {
		t.Fatalf("children of a subfolder (the trashed file left out) %+v %v", c, err)
	}
	for _, n := range c.Items {
		if n.ID == trashed.ID || n.Escrow != nil {
			t.Fatalf("child %+v", n)
		}
	}
	_, err = f.s.LinkChildren(f.ctx, l.ID, acc.Token, root, "", 0)
	wantLinkErr(t, "the folder above", err, ErrNotFound)
	_, err = f.s.LinkChildren(f.ctx, l.ID, acc.Token, inner.ID, "", 0)
	if !isInvalid(err) {
		t.Fatalf("children of a file: %v", err)
	}
	if _, ok, err := f.s.LinkVersionCap(f.ctx, l.ID, acc.Token, inner.Current.ID); err != nil || !ok {
		t.Fatalf("a file below: %v %v", ok, err)
	}
	if _, ok, err := f.s.LinkVersionCap(f.ctx, l.ID, acc.Token, lit.Current.ID); err != nil || ok {
		t.Fatalf("a literal file: %v %v", ok, err)
	}
	_, _, err = f.s.LinkVersionCap(f.ctx, l.ID, acc.Token, trashed.Current.ID)
	wantLinkErr(t, "a trashed file", err, ErrVersionNotFound)
	_, _, err = f.s.LinkVersionCap(f.ctx, l.ID, acc.Token, outside.Current.ID)
	wantLinkErr(t, "a file outside", err, ErrVersionNotFound)
	// Moved out of the shared folder: no longer reachable.
	n, _ := f.s.GetNode(f.ctx, ann, inner.ID)
	if _, err := f.s.UpdateNode(f.ctx, ann, inner.ID, api.UpdateNodeRequest{BaseVersion: n.Node.Version, Parent: &root, NameHMAC: rnd(32), Meta: rnd(20)}); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.s.LinkVersionCap(f.ctx, l.ID, acc.Token, inner.Current.ID)
	wantLinkErr(t, "moved out", err, ErrVersionNotFound)
}

func TestLinkPasswordThrottle(t *testing.T) {
	f := newFixture(t)
	ann := f.user("ann")
	root := f.keys(ann)
	file := f.file(ann, root, 1000)
	proof := rnd(32)
	h := sha256.Sum256(proof)
	lock, wrapped := rnd(40), rnd(60)
	l := f.link(ann, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkFile, KeyMode: api.KeyPassword,
		Password: &api.LinkPassword{Lock: lock, Wrapped: wrapped, AuthHash: h[:]}})
	pub, err := f.s.PublicLink(f.ctx, l.ID)
	if err != nil || string(pub.Lock) != string(lock) {
		t.Fatalf("public %+v %v", pub, err)
	}
	_, err = f.s.OpenLink(f.ctx, l.ID, guest, api.AccessRequest{})
	wantLinkErr(t, "no proof", err, ErrLinkPassword)
	for i := 1; i < LinkFreePerNetwork; i++ {
		_, err = f.s.OpenLink(f.ctx, l.ID, guest, api.AccessRequest{PasswordAuth: rnd(32)})
		wantLinkErr(t, "wrong proof", err, ErrLinkPassword)
	}
	// The guesser's network has spent its free failures: blocked, even
	// for the right proof.
	var thr *LinkThrottledError
	_, err = f.s.OpenLink(f.ctx, l.ID, guest, api.AccessRequest{PasswordAuth: proof})
	if !errors.As(err, &thr) || thr.RetryAfter != LinkFailDelay {
		t.Fatalf("blocked: %v", err)
	}
	// Other networks are not blocked: a wrong proof from one is checked,
	// and a recipient elsewhere gets in.
	_, err = f.s.OpenLink(f.ctx, l.ID, "[2001:db8:1:2::1]:1", api.AccessRequest{PasswordAuth: rnd(32)})
	wantLinkErr(t, "another network", err, ErrLinkPassword)
	if acc, err := f.s.OpenLink(f.ctx, l.ID, "198.51.100.7:5000", api.AccessRequest{PasswordAuth: proof}); err != nil || acc.Token == "" {
		t.Fatalf("a recipient elsewhere is kept out by a guesser: %v", err)
	}
	f.clock.add(LinkFailDelay)
	_, err = f.s.OpenLink(f.ctx, l.ID, guest, api.AccessRequest{PasswordAuth: rnd(32)})
	wantLinkErr(t, "wrong after the block", err, ErrLinkPassword)
	_, err = f.s.OpenLink(f.ctx, l.ID, guest, api.AccessRequest{PasswordAuth: proof})
	if !errors.As(err, &thr) || thr.RetryAfter != 2*LinkFailDelay {
		t.Fatalf("doubled: %v", err)
	}
	f.clock.add(2 * LinkFailDelay)
	acc := f.open(l.ID, proof)
	if string(acc.Wrapped) != string(wrapped) || acc.Token == "" {
		t.Fatalf("access %+v", acc)
	}
	// A success clears the network's count: a mistyped password later
	// gets its free failures again.
	for i := 1; i < LinkFreePerNetwork; i++ {
		_, err = f.s.OpenLink(f.ctx, l.ID, guest, api.AccessRequest{PasswordAuth: rnd(32)})
		wantLinkErr(t, "wrong after success", err, ErrLinkPassword)
	}
	f.open(l.ID, proof)

	// Guesses from many networks: the link's own count blocks everyone
	// once LinkFreeFailures are spent, so spreading guesses gains little.
	spent := 2*LinkFreePerNetwork + 1 // the misses above, the other /64 included
	for i := 0; spent < LinkFreeFailures; i++ {
		remote := fmt.Sprintf("203.0.%d.%d:1", i/200, i%200+1)
		for k := 0; k < LinkFreePerNetwork-1 && spent < LinkFreeFailures; k++ {
			_, err = f.s.OpenLink(f.ctx, l.ID, remote, api.AccessRequest{PasswordAuth: rnd(32)})
			wantLinkErr(t, "spread guesses", err, ErrLinkPassword)
			spent++
		}
	}
	_, err = f.s.OpenLink(f.ctx, l.ID, "198.51.100.8:1", api.AccessRequest{PasswordAuth: proof})
	if !errors.As(err, &thr) || thr.RetryAfter != LinkFailDelay {
		t.Fatalf("link blocked for all after %d misses: %v", LinkFreeFailures, err)
	}
	// Housekeeping forgets the networks' counts a day later.
	f.clock.add(linkFailForget + time.Minute)
	if err := f.s.forgetLinkFailures(f.ctx); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := f.s.DB.QueryRow(`SELECT COUNT(*) FROM link_failures`).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("link_failures left: %d %v", rows, err)
	}
	f.open(l.ID, proof)
	// The wrapped key is never given without the proof.
	nl := f.link(ann, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkFile})
	if a := f.open(nl.ID, nil); a.Wrapped != nil {
		t.Fatal("wrapped key on a link without password")
	}
	if _, err := f.s.OpenLink(f.ctx, nl.ID, guest, api.AccessRequest{PasswordAuth: proof}); !isInvalid(err) {
		t.Fatalf("proof for a link without password: %v", err)
	}
}

// Housekeeping forgets expired access tokens (opening a link does not).
func TestHousekeepingForgetsExpiredLinkTokens(t *testing.T) {
	f := newFixture(t)
	ann := f.user("ann")
	root := f.keys(ann)
	l := f.link(ann, api.CreateLinkRequest{Target: root, Kind: api.LinkFolder})
	f.open(l.ID, nil)
	f.open(l.ID, nil)
	count := func() (n int) {
		if err := f.s.DB.QueryRowContext(f.ctx, `SELECT COUNT(*) FROM link_tokens`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	f.s.housekeep(f.ctx, nil)
	if n := count(); n != 2 {
		t.Fatalf("live tokens after housekeeping: %d", n)
	}
	f.clock.add(api.LinkTokenTTL + time.Minute)
	f.s.housekeep(f.ctx, nil)
	if n := count(); n != 0 {
		t.Fatalf("expired tokens after housekeeping: %d", n)
	}
}
