package files

import (
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/vault"
)

func randomSI() wire.StorageIndex {
	var si wire.StorageIndex
	rand.Read(si[:])
	return si
}

// dropUpload begins and finishes an upload of size bytes through drop
// link id, as the helper would, and returns its storage index.
func (f *fixture) dropUpload(id, token string, size int64) (wire.StorageIndex, error) {
	si := randomSI()
	owner, _, err := f.s.BeginDropUpload(f.ctx, id, token, si, size)
	if err != nil {
		return si, err
	}
	var v cap.Verifier
	v.StorageIndex = si
	rand.Read(v.UEBHash[:])
	v.K, v.N, v.Size = 1, 1, size
	return si, f.s.FinishUpload(f.ctx, owner, si, v.String(), rnd(50))
}

func dropReq(si string) api.DropFileRequest {
	return api.DropFileRequest{ID: newID(), Box: rnd(100), Meta: rnd(50), Version: api.NewVersionBody{ID: newID(), StorageIndex: si, Meta: rnd(40)}}
}

func (f *fixture) uploadRows() int {
	f.t.Helper()
	var n int
	if err := f.s.DB.QueryRowContext(f.ctx, `SELECT COUNT(*) FROM uploads`).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func TestDropPublicView(t *testing.T) {
	f := newFixture(t)
	ann := f.user("ann")
	b, _, _, err := vault.NewAccount(strong, vault.KDFParams{MemoryKiB: 19 << 10, Time: 2, Lanes: 1})
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	root := newID()
	if _, err := f.s.PutKeys(f.ctx, ann, api.PutKeysRequest{Bundle: bundle, RecoveryAuth: rnd(32),
		RootFolder: &api.CreateNodeRequest{ID: root, Kind: api.KindFolder, Mode: api.ModeSecure}}); err != nil {
		t.Fatal(err)
	}
	l := f.link(ann, api.CreateLinkRequest{Target: root, Kind: api.LinkDrop, Drop: &api.DropLimits{MaxFiles: 5, MaxTotal: 1 << 20}})
	acc := f.open(l.ID, nil)
	if acc.Node != nil || acc.Meta != nil {
		t.Fatalf("a drop's access shows the folder: %+v", acc)
	}
	if _, err := f.dropUpload(l.ID, acc.Token, 1000); err != nil {
		t.Fatal(err)
	}
	pub, err := f.s.PublicLink(f.ctx, l.ID)
	if err != nil || pub.Owner != "ann" || string(pub.PublicKey) != string(b.PublicKey) || pub.Drop.MaxFiles != 5 ||
		pub.DropUsage.Files != 1 || pub.DropUsage.Bytes != 1000 {
		t.Fatalf("public %+v %v", pub, err)
	}
}

func TestDropLimitsRefuseBeforeStoring(t *testing.T) {
	f := newFixture(t)
	ann := f.user("ann")
	root := f.keys(ann)
	dir := f.folder(ann, root, false)
	l := f.link(ann, api.CreateLinkRequest{Target: dir.ID, Kind: api.LinkDrop, Drop: &api.DropLimits{MaxFile: 3000, MaxFiles: 2, MaxTotal: 5000}})
	acc := f.open(l.ID, nil)
	var dl *DropLimitError
	// Per file.
	if _, _, err := f.s.BeginDropUpload(f.ctx, l.ID, acc.Token, randomSI(), 3001); !errors.As(err, &dl) || dl.Code != api.CodeFileTooLarge {
		t.Fatalf("over the per-file limit: %v", err)
	}
	if f.uploadRows() != 0 {
		t.Fatal("a refused upload left a row")
	}
	// An upload in progress counts from its first request.
	si1, err := f.dropUpload(l.ID, acc.Token, 3000)
	if err != nil {
		t.Fatal(err)
	}
	// Total.
	if _, _, err := f.s.BeginDropUpload(f.ctx, l.ID, acc.Token, randomSI(), 2001); !errors.As(err, &dl) || dl.Code != api.CodeDropFull {
		t.Fatalf("over the total: %v", err)
	}
	// A resume of the same upload is fine.
	if _, created, err := f.s.BeginDropUpload(f.ctx, l.ID, acc.Token, si1, 3000); err != nil || created {
		t.Fatalf("resume: %v %v", created, err)
	}
	if err := f.s.AddDropFile(f.ctx, l.ID, acc.Token, dropReq(si1.String())); err != nil {
		t.Fatal(err)
	}
	if _, err := f.dropUpload(l.ID, acc.Token, 2000); err != nil {
		t.Fatal(err)
	}
	// Count: two files (one dropped, one in progress).
	if _, _, err := f.s.BeginDropUpload(f.ctx, l.ID, acc.Token, randomSI(), 100); !errors.As(err, &dl) || dl.Code != api.CodeDropFull {
		t.Fatalf("over the count: %v", err)
	}
	if err := f.s.AddDropFile(f.ctx, l.ID, acc.Token, dropReq("")); !errors.As(err, &dl) || dl.Code != api.CodeDropFull {
		t.Fatalf("a literal file over the count: %v", err)
	}
	if f.uploadRows() != 1 {
		t.Fatalf("uploads: %d", f.uploadRows())
	}
	g, _ := f.s.GetLink(f.ctx, ann, l.ID)
	if g.DropUsage == nil || g.DropUsage.Files != 2 || g.DropUsage.Bytes != 5000 {
		t.Fatalf("usage %+v", g.DropUsage)
	}
	// The owner's quota, before anything is stored.
	if _, err := f.s.DB.ExecContext(f.ctx, `UPDATE users SET quota_bytes = ? WHERE id = ?`, f.used(ann)+100, ann); err != nil {
		t.Fatal(err)
	}
	l2 := f.link(ann, api.CreateLinkRequest{Target: dir.ID, Kind: api.LinkDrop})
	acc2 := f.open(l2.ID, nil)
	var dq *DropQuotaError
	if _, _, err := f.s.BeginDropUpload(f.ctx, l2.ID, acc2.Token, randomSI(), 1000); !errors.As(err, &dq) {
		t.Fatalf("over the owner's quota: %v", err)
	}
	if f.uploadRows() != 1 {
		t.Fatal("a refused upload left a row")
	}
	// Expiry.
	exp := f.clock.now().Add(time.Minute)
	if _, err := f.s.UpdateLink(f.ctx, ann, l2.ID, api.UpdateLinkRequest{Expires: &exp}); err != nil {
		t.Fatal(err)
	}
	f.clock.add(time.Minute)
	if _, _, err := f.s.BeginDropUpload(f.ctx, l2.ID, acc2.Token, randomSI(), 60); !errors.Is(err, ErrLinkExpired) {
		t.Fatalf("expired drop: %v", err)
	}
}

func TestDropUploadsBelongToTheLink(t *testing.T) {
	f := newFixture(t)
	ann := f.user("ann")
	root := f.keys(ann)
	l1 := f.link(ann, api.CreateLinkRequest{Target: root, Kind: api.LinkDrop})
	l2 := f.link(ann, api.CreateLinkRequest{Target: root, Kind: api.LinkDrop})
	a1, a2 := f.open(l1.ID, nil), f.open(l2.ID, nil)
	si, err := f.dropUpload(l1.ID, a1.Token, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.GetDropUpload(f.ctx, l2.ID, a2.Token, si); !errors.Is(err, ErrNoUpload) {
		t.Fatalf("another link's upload: %v", err)
	}
	if _, _, err := f.s.GetDropUpload(f.ctx, l2.ID, a1.Token, si); !errors.Is(err, ErrLinkToken) {
		t.Fatalf("another link's token: %v", err)
	}
	if _, _, err := f.s.BeginDropUpload(f.ctx, l2.ID, a2.Token, si, 1000); !errors.Is(err, ErrUploadTaken) {
		t.Fatalf("begin another link's upload: %v", err)
	}
	if err := f.s.AddDropFile(f.ctx, l2.ID, a2.Token, dropReq(si.String())); !errors.Is(err, ErrUploadNotFound) {
		t.Fatalf("drop another link's upload: %v", err)
	}
	// The owner's own upload is not a drop's.
	own, err := f.uploaded(ann, 1000)
	if err != nil {
		t.Fatal(err)
	}
	ownSI, _ := wire.ParseStorageIndex(own)
	if _, _, err := f.s.BeginDropUpload(f.ctx, l1.ID, a1.Token, ownSI, 1000); !errors.Is(err, ErrUploadTaken) {
		t.Fatalf("begin the owner's upload: %v", err)
	}
	// The uploader cannot list, read, or use a file link's routes.
	if _, err := f.s.LinkChildren(f.ctx, l1.ID, a1.Token, root, "", 0); !errors.Is(err, ErrLinkKind) {
		t.Fatalf("a drop lists: %v", err)
	}
	file := f.file(ann, root, 1000)
	if _, _, err := f.s.LinkVersionCap(f.ctx, l1.ID, a1.Token, file.Current.ID); !errors.Is(err, ErrLinkKind) {
		t.Fatalf("a drop reads: %v", err)
	}
	// A file link takes no uploads.
	fl := f.link(ann, api.CreateLinkRequest{Target: file.ID, Kind: api.LinkFile})
	fa := f.open(fl.ID, nil)
	if _, _, err := f.s.BeginDropUpload(f.ctx, fl.ID, fa.Token, randomSI(), 1000); !errors.Is(err, ErrLinkKind) {
		t.Fatalf("upload through a file link: %v", err)
	}
	// Removing the link forgets its uploads in progress.
	if err := f.s.DeleteLink(f.ctx, ann, l1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.GetUpload(f.ctx, ann, si); !errors.Is(err, ErrNoUpload) {
		t.Fatalf("upload of a removed link: %v", err)
	}
}

func TestDropFilesAndAdoption(t *testing.T) {
	f := newFixture(t)
	ann, bob := f.user("ann"), f.user("bob")
	root := f.keys(ann)
	bobRoot := f.keys(bob)
	dir := f.folder(ann, root, false)
	l := f.link(ann, api.CreateLinkRequest{Target: dir.ID, Kind: api.LinkDrop})
	acc := f.open(l.ID, nil)
	before := f.used(ann)
	si, err := f.dropUpload(l.ID, acc.Token, 4000)
	if err != nil {
		t.Fatal(err)
	}
	if f.used(ann) != before+4000 {
		t.Fatalf("an upload in progress is not in the owner's usage: %d", f.used(ann))
	}
	// Checks of the request.
	bad := dropReq(si.String())
	bad.Box = rnd(MaxDropBox + 1)
	if err := f.s.AddDropFile(f.ctx, l.ID, acc.Token, bad); !isInvalid(err) {
		t.Fatalf("box too large: %v", err)
	}
	bad = dropReq(si.String())
	bad.Meta = rnd(MaxMeta + 1)
	if err := f.s.AddDropFile(f.ctx, l.ID, acc.Token, bad); !isInvalid(err) {
		t.Fatalf("meta too large: %v", err)
	}
	unfinished := randomSI()
	if _, _, err := f.s.BeginDropUpload(f.ctx, l.ID, acc.Token, unfinished, 500); err != nil {
		t.Fatal(err)
	}
	if err := f.s.AddDropFile(f.ctx, l.ID, acc.Token, dropReq(unfinished.String())); !errors.Is(err, ErrUploadNotFound) {
		t.Fatalf("an unfinished upload: %v", err)
	}
	req := dropReq(si.String())
	if err := f.s.AddDropFile(f.ctx, l.ID, acc.Token, req); err != nil {
		t.Fatal(err)
	}
	lit := dropReq("")
	if err := f.s.AddDropFile(f.ctx, l.ID, acc.Token, lit); err != nil {
		t.Fatal(err)
	}
	if err := f.s.AddDropFile(f.ctx, l.ID, acc.Token, req); !errors.Is(err, ErrIDTaken) {
		t.Fatalf("the same drop twice: %v", err)
	}
	if f.used(ann) != before+4500 {
		t.Fatalf("usage with a dropped file: %d", f.used(ann))
	}
	ds, err := f.s.DropFiles(f.ctx, ann, dir.ID)
	if len(ds) == 2 && ds[0].ID != req.ID { // same time: by id
		ds[0], ds[1] = ds[1], ds[0]
	}
	if err != nil || len(ds) != 2 || ds[0].ID != req.ID || ds[0].Version.Size != 4000 || ds[0].Version.VerifyCap == "" ||
		string(ds[0].Box) != string(req.Box) || ds[0].Link != l.ID || ds[0].Folder != dir.ID || ds[1].Version.VerifyCap != "" {
		t.Fatalf("drops %+v %v", ds, err)
	}
	if _, err := f.s.DropFiles(f.ctx, bob, dir.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bob lists ann's drops: %v", err)
	}
	// Bob cannot adopt it, ann can: the content moves, the usage stays.
	mk := func(uid int64, parent, from string) (api.Node, error) {
		return f.s.CreateNode(f.ctx, uid, api.CreateNodeRequest{ID: newID(), Parent: parent, Kind: api.KindFile, NameHMAC: rnd(32),
			Meta: rnd(20), Mode: api.ModeSecure, Version: &api.NewVersionBody{ID: newID(), FromDrop: from, Meta: rnd(30)}})
	}
	if _, err := mk(bob, bobRoot, req.ID); !errors.Is(err, ErrDropNotFound) {
		t.Fatalf("bob adopts: %v", err)
	}
	if _, err := f.s.CreateNode(f.ctx, ann, api.CreateNodeRequest{ID: newID(), Parent: dir.ID, Kind: api.KindFile, NameHMAC: rnd(32),
		Meta: rnd(20), Mode: api.ModeSecure, Version: &api.NewVersionBody{ID: newID(), FromDrop: req.ID, StorageIndex: si.String(), Meta: rnd(30)}}); !isInvalid(err) {
		t.Fatalf("from_drop with storage_index: %v", err)
	}
	n, err := mk(ann, dir.ID, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n.Current.VerifyCap != ds[0].Version.VerifyCap || n.Size != 4000 {
		t.Fatalf("adopted %+v", n.Current)
	}
	if f.used(ann) != before+4500 {
		t.Fatalf("usage after adoption: %d", f.used(ann))
	}
	if _, err := mk(ann, dir.ID, req.ID); !errors.Is(err, ErrDropNotFound) {
		t.Fatalf("adopted twice: %v", err)
	}
	if n2, err := mk(ann, dir.ID, lit.ID); err != nil || n2.Current.VerifyCap != "" {
		t.Fatalf("adopt a literal drop: %+v %v", n2, err)
	}
	if ds, _ := f.s.DropFiles(f.ctx, ann, dir.ID); len(ds) != 0 {
		t.Fatalf("drops after adoption %v", ds)
	}
	// Discarding frees the room.
	si2, err := f.dropUpload(l.ID, acc.Token, 700)
	if err != nil {
		t.Fatal(err)
	}
	r2 := dropReq(si2.String())
	if err := f.s.AddDropFile(f.ctx, l.ID, acc.Token, r2); err != nil {
		t.Fatal(err)
	}
	u := f.used(ann)
	if err := f.s.DeleteDropFile(f.ctx, bob, r2.ID); !errors.Is(err, ErrDropNotFound) {
		t.Fatalf("bob discards: %v", err)
	}
	if err := f.s.DeleteDropFile(f.ctx, ann, r2.ID); err != nil {
		t.Fatal(err)
	}
	if f.used(ann) != u-700 {
		t.Fatalf("usage after discarding %d", f.used(ann))
	}
	all, _ := f.s.UsageAll(f.ctx)
	if all[ann] != f.used(ann) {
		t.Fatalf("UsageAll %d, Usage %d", all[ann], f.used(ann))
	}
}

// A drop's limits are over the link's life: files the owner adopted or
// discarded still count, so opening the folder does not make room for
// more; the owner raising the limit does.
func TestDropLimitsCountAdoptedFiles(t *testing.T) {
	f := newFixture(t)
	ann := f.user("ann")
	root := f.keys(ann)
	dir := f.folder(ann, root, false)
	l := f.link(ann, api.CreateLinkRequest{Target: dir.ID, Kind: api.LinkDrop, Drop: &api.DropLimits{MaxFiles: 2}})
	acc := f.open(l.ID, nil)
	si, err := f.dropUpload(l.ID, acc.Token, 4000)
	if err != nil {
		t.Fatal(err)
	}
	first := dropReq(si.String())
	second := dropReq("")
	for _, r := range []api.DropFileRequest{first, second} {
		if err := f.s.AddDropFile(f.ctx, l.ID, acc.Token, r); err != nil {
			t.Fatal(err)
		}
	}
	// The owner adopts one and discards the other.
	if _, err := f.s.CreateNode(f.ctx, ann, api.CreateNodeRequest{ID: newID(), Parent: dir.ID, Kind: api.KindFile, NameHMAC: rnd(32),
		Meta: rnd(20), Mode: api.ModeSecure, Version: &api.NewVersionBody{ID: newID(), FromDrop: first.ID, Meta: rnd(30)}}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DeleteDropFile(f.ctx, ann, second.ID); err != nil {
		t.Fatal(err)
	}
	if g, _ := f.s.GetLink(f.ctx, ann, l.ID); g.DropUsage == nil || g.DropUsage.Files != 2 || g.DropUsage.Bytes != 4000 {
		t.Fatalf("usage after adoption %+v", g.DropUsage)
	}
	var dl *DropLimitError
	if _, _, err := f.s.BeginDropUpload(f.ctx, l.ID, acc.Token, randomSI(), 100); !errors.As(err, &dl) || dl.Code != api.CodeDropFull {
		t.Fatalf("a third file after adoption: %v", err)
	}
	if err := f.s.AddDropFile(f.ctx, l.ID, acc.Token, dropReq("")); !errors.As(err, &dl) || dl.Code != api.CodeDropFull {
		t.Fatalf("a third literal file after adoption: %v", err)
	}
	if _, err := f.s.UpdateLink(f.ctx, ann, l.ID, api.UpdateLinkRequest{Drop: &api.DropLimits{MaxFiles: 3}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.dropUpload(l.ID, acc.Token, 100); err != nil {
		t.Fatalf("a third file after the limit was raised: %v", err)
	}
	if _, _, err := f.s.BeginDropUpload(f.ctx, l.ID, acc.Token, randomSI(), 100); !errors.As(err, &dl) || dl.Code != api.CodeDropFull {
		t.Fatalf("a fourth file: %v", err)
	}
}
