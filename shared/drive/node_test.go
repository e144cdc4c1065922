//go:build !js

package drive

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"github.com/communitycube/cube/internal/cubetest"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/vault"
)

// These tests run against a real node: the `cube` binary (CUBE_BIN, or a
// fresh build) started on a loopback port.

const testPassword = cubetest.Password

// startNode starts a node with an administrator and returns its URL, data
// directory and log (its standard output and error).
func startNode(t *testing.T) (url, data, logPath string) {
	t.Helper()
	n := cubetest.Start(t)
	old := KDFParams
	KDFParams = vault.KDFParams{MemoryKiB: 19 << 10, Time: 2, Lanes: 1} // the cheapest accepted
	t.Cleanup(func() { KDFParams = old })
	return n.URL, n.Data, n.Log
}

// hookTransport runs before on each request, then sends it.
type hookTransport struct {
	api.Transport
	before func(r *api.Request)
}

func (h hookTransport) RoundTrip(ctx context.Context, r *api.Request) (*api.Response, error) {
	if h.before != nil {
		h.before(r)
	}
	return h.Transport.RoundTrip(ctx, r)
}

func client(url string, before func(r *api.Request)) *api.Client {
	jar, _ := cookiejar.New(nil)
	return &api.Client{Base: url, Transport: hookTransport{api.HTTPTransport{Client: &http.Client{Jar: jar}}, before}}
}

func signIn(t *testing.T, url string, before func(r *api.Request)) (*Drive, *Fresh) {
	t.Helper()
	ctx := context.Background()
	c := client(url, before)
	if _, err := c.Login(ctx, "admin", testPassword); err != nil {
		t.Fatal(err)
	}
	d, fresh, err := Unlock(ctx, c, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d, fresh
}

func put(t *testing.T, d *Drive, parent, name string, data []byte, o PutOptions) Item {
	t.Helper()
	o.ParentID, o.Name = parent, name
	p, err := d.NewPut(bytes.NewReader(data), int64(len(data)), o)
	if err != nil {
		t.Fatal(err)
	}
	it, err := p.Run(context.Background())
	if err != nil {
		t.Fatalf("put %s: %v", name, err)
	}
	return it
}

func read(t *testing.T, d *Drive, id, vid string) []byte {
	t.Helper()
	f, _, err := d.Open(context.Background(), id, vid)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := f.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if int64(b.Len()) != f.Size() {
		t.Fatalf("%d bytes, size %d", b.Len(), f.Size())
	}
	return b.Bytes()
}

func names(items []Item) string {
	var s []string
	for _, it := range items {
		s = append(s, it.Name)
	}
	return strings.Join(s, ",")
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func isAPI(err error, code string) bool {
	var ae *api.Error
	return errors.As(err, &ae) && ae.Code == code
}

func TestDriveOnNode(t *testing.T) {
	ctx := context.Background()
	url, data, logPath := startNode(t)

	// Conflicts: before the first PATCH of a marked node, another device
	// changes it.
	var (
		mu     sync.Mutex
		target string
		other  func()
	)
	d, fresh := signIn(t, url, func(r *api.Request) {
		mu.Lock()
		f := other
		if r.Method == "PATCH" && target != "" && strings.HasSuffix(r.URL, "/nodes/"+target) {
			other = nil
		} else {
			f = nil
		}
		mu.Unlock()
		if f != nil {
			f()
		}
	})
	if fresh == nil || fresh.RecoveryKey == "" {
		t.Fatal("the first unlock made no recovery key")
	}
	d2, fresh2 := signIn(t, url, nil)
	if fresh2 != nil || d2.RootID() != d.RootID() {
		t.Fatal("the second unlock made other keys")
	}
	root := d.RootID()

	docs, err := d.Mkdir(ctx, root, "Docs", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if docs.Mode != api.ModeSecure || !docs.KeepHistory || len(docs.Node.Escrow) != 0 {
		t.Fatalf("a new folder: %+v", docs)
	}
	if _, err := d.Mkdir(ctx, root, "DOCS", CreateOptions{}); !isAPI(err, api.CodeNameTaken) {
		t.Fatalf("a folder of a taken name: %v", err)
	}
	if _, err := d.Mkdir(ctx, root, "a/b", CreateOptions{}); !errors.Is(err, vault.ErrInvalidName) {
		t.Fatalf("a name with a slash: %v", err)
	}
	std, err := d.Mkdir(ctx, root, "Shared", CreateOptions{Mode: api.ModeStandard})
	if err != nil || std.Mode != api.ModeStandard || len(std.Node.Escrow) != vault.WrappedSize {
		t.Fatalf("a standard folder: %+v, %v", std, err)
	}

	big := randomBytes(300_000)
	f1 := put(t, d, docs.ID, "big.bin", big, PutOptions{NoScrub: true})
	if f1.Size != int64(len(big)) || f1.CurrentVersion() == nil || !strings.HasPrefix(f1.CurrentVersion().Cap, "URI:CHK:") {
		t.Fatalf("put: %+v", f1)
	}
	tiny := put(t, d, docs.ID, "tiny.txt", []byte("hello"), PutOptions{})
	if !strings.HasPrefix(tiny.CurrentVersion().Cap, "URI:LIT:") || tiny.CurrentVersion().MIME != "text/plain; charset=utf-8" {
		t.Fatalf("tiny: %+v", tiny.CurrentVersion())
	}
	zero := put(t, d, docs.ID, "zero", nil, PutOptions{})
	if !bytes.Equal(read(t, d, zero.ID, ""), nil) || !bytes.Equal(read(t, d, tiny.ID, ""), []byte("hello")) || !bytes.Equal(read(t, d, f1.ID, ""), big) {
		t.Fatal("read back: the bytes differ")
	}
	// Without Replace a taken name is refused before anything is sent.
	p, err := d.NewPut(bytes.NewReader(big), int64(len(big)), PutOptions{ParentID: docs.ID, Name: "BIG.bin"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(ctx); !isAPI(err, api.CodeNameTaken) {
		t.Fatalf("put of a taken name: %v", err)
	}
	// ReadAt through the drive, across segments.
	f, _, err := d.Open(ctx, f1.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 200_000)
	if n, err := f.ReadAt(buf, 50_000); err != nil || n != len(buf) || !bytes.Equal(buf, big[50_000:250_000]) {
		t.Fatalf("ReadAt: %d, %v", n, err)
	}

	// Versions: Replace adds one; restoring and deleting them.
	big2 := randomBytes(100_000)
	f1b := put(t, d, docs.ID, "big.bin", big2, PutOptions{Replace: true, NoScrub: true})
	if f1b.ID != f1.ID || f1b.Size != int64(len(big2)) {
		t.Fatalf("replace: %+v", f1b)
	}
	vs, err := d.Versions(ctx, f1.ID)
	if err != nil || len(vs) != 2 || !vs[0].Current || vs[1].Current || vs[1].Size != int64(len(big)) {
		t.Fatalf("versions: %+v, %v", vs, err)
	}
	if !bytes.Equal(read(t, d, f1.ID, vs[1].ID), big) || !bytes.Equal(read(t, d, f1.ID, ""), big2) {
		t.Fatal("reading versions: the bytes differ")
	}
	if _, err := d.RestoreVersion(ctx, f1.ID, vs[1].ID); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read(t, d, f1.ID, ""), big) {
		t.Fatal("the restored version reads other bytes")
	}
	if err := d.DeleteVersion(ctx, f1.ID, vs[0].ID); err != nil {
		t.Fatal(err)
	}
	if vs, _ := d.Versions(ctx, f1.ID); len(vs) != 2 {
		t.Fatalf("after restore and delete: %d versions", len(vs))
	}
	if _, _, err := d.Open(ctx, f1.ID, "nosuchversionxxxxxxxxxxxxx"); err == nil {
		t.Fatal("opened a version that does not exist")
	}

	// Rename and move, with a concurrent change from another device.
	mu.Lock()
	target = f1.ID
	other = func() {
		if _, err := d2.SetFavorite(ctx, f1.ID, true); err != nil {
			t.Error(err)
		}
	}
	mu.Unlock()
	ren, err := d.Rename(ctx, f1.ID, "renamed.bin")
	if err != nil {
		t.Fatal(err)
	}
	if ren.Name != "renamed.bin" || !ren.Favorite {
		t.Fatalf("rename on top of a concurrent change: %+v", ren)
	}
	archive, err := d.Mkdir(ctx, docs.ID, "Archive", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	target = f1.ID
	other = func() {
		if _, err := d2.Rename(ctx, f1.ID, "other.bin"); err != nil {
			t.Error(err)
		}
	}
	mu.Unlock()
	moved, err := d.Move(ctx, f1.ID, archive.ID)
	if err != nil {
		t.Fatal(err)
	}
	if moved.ParentID != archive.ID || moved.Name != "other.bin" {
		t.Fatalf("move on top of a concurrent rename: %+v", moved)
	}
	if _, err := d.Move(ctx, docs.ID, archive.ID); !isAPI(err, api.CodeInvalid) {
		t.Fatalf("a folder into its own subfolder: %v", err)
	}
	got, err := d.Resolve(ctx, "/docs/ARCHIVE/other.bin")
	if err != nil || got.ID != f1.ID {
		t.Fatalf("Resolve: %+v, %v", got, err)
	}
	if _, err := d.Resolve(ctx, "/Docs/nothing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Resolve of nothing: %v", err)
	}
	it, anc, err := d.Item(ctx, f1.ID)
	if err != nil || it.Name != "other.bin" || names(anc) != ",Docs,Archive" {
		t.Fatalf("Item: %+v %q %v", it, names(anc), err)
	}
	// The other device reads the moved file.
	if !bytes.Equal(read(t, d2, f1.ID, ""), big) {
		t.Fatal("the second device reads other bytes")
	}
	favs, err := d.Favorites(ctx)
	if err != nil || names(favs) != "other.bin" {
		t.Fatalf("favorites: %q %v", names(favs), err)
	}
	rec, err := d.Recent(ctx)
	if err != nil || len(rec) != 3 {
		t.Fatalf("recent: %q %v", names(rec), err)
	}

	// Copy a folder tree: new ids, same content, not uploaded again.
	cp, err := d.Copy(ctx, docs.ID, root)
	if err != nil || cp.Name != "Docs (2)" {
		t.Fatalf("copy: %+v, %v", cp, err)
	}
	cpf, err := d.Resolve(ctx, "/Docs (2)/Archive/other.bin")
	if err != nil || cpf.ID == f1.ID || !bytes.Equal(read(t, d, cpf.ID, ""), big) {
		t.Fatalf("the copied file: %+v, %v", cpf, err)
	}
	if got, _ := d.Resolve(ctx, "/Docs (2)/tiny.txt"); !bytes.Equal(read(t, d, got.ID, ""), []byte("hello")) {
		t.Fatal("the copied literal file")
	}

	// Trash and restore: into the old folder; under a free name when
	// taken; into the root folder when the folder is in the trash.
	if err := d.Trash(ctx, tiny.ID); err != nil {
		t.Fatal(err)
	}
	put(t, d, docs.ID, "tiny.txt", []byte("new tiny"), PutOptions{})
	back, err := d.Restore(ctx, tiny.ID)
	if err != nil || back.Name != "tiny (2).txt" || back.ParentID != docs.ID {
		t.Fatalf("restore of a taken name: %+v, %v", back, err)
	}
	if err := d.Trash(ctx, zero.ID); err != nil {
		t.Fatal(err)
	}
	if err := d.Trash(ctx, docs.ID); err != nil {
		t.Fatal(err)
	}
	tr, err := d.TrashItems(ctx)
	if err != nil || names(tr) != "Docs,zero" {
		t.Fatalf("trash: %q %v", names(tr), err)
	}
	back, err = d.Restore(ctx, zero.ID)
	if err != nil || back.ParentID != root || back.Name != "zero" {
		t.Fatalf("restore from a trashed folder: %+v, %v", back, err)
	}
	if err := d.DeleteForever(ctx, docs.ID); err != nil {
		t.Fatal(err)
	}
	if tr, _ := d.TrashItems(ctx); len(tr) != 0 {
		t.Fatalf("trash after delete: %q", names(tr))
	}
	if err := d.EmptyTrash(ctx); err != nil {
		t.Fatal(err)
	}
	top, err := d.List(ctx, root)
	if err != nil || names(top) == "" {
		t.Fatalf("root: %v", err)
	}

	// An item with its own password.
	vault1, err := d.Mkdir(ctx, root, "Vault", CreateOptions{Password: "item password one"})
	if err != nil || !vault1.Locked {
		t.Fatalf("locked folder: %+v %v", vault1, err)
	}
	secret := put(t, d, vault1.ID, "s.bin", randomBytes(1000), PutOptions{})
	if !bytes.Equal(read(t, d, secret.ID, ""), read(t, d, secret.ID, "")) {
		t.Fatal("locked: read")
	}
	ls, _ := d2.List(ctx, root)
	for _, it := range ls {
		if it.ID == vault1.ID && (!it.Locked || !it.NeedsPassword || it.Name != "Vault") {
			t.Fatalf("another device sees the locked folder as %+v", it)
		}
	}
	if _, err := d2.List(ctx, vault1.ID); !errors.Is(err, ErrNeedsPassword) {
		t.Fatalf("listing a locked folder: %v", err)
	}
	if err := d2.UnlockItem(ctx, vault1.ID, "wrong"); !errors.Is(err, vault.ErrWrongPassword) {
		t.Fatalf("a wrong item password: %v", err)
	}
	if err := d2.UnlockItem(ctx, vault1.ID, "item password one"); err != nil {
		t.Fatal(err)
	}
	if kids, err := d2.List(ctx, vault1.ID); err != nil || names(kids) != "s.bin" {
		t.Fatalf("after unlock: %q %v", names(kids), err)
	}

	// Modes.
	sm, err := d.SetMode(ctx, zero.ID, api.ModeStandard)
	if err != nil || sm.Mode != api.ModeStandard || len(sm.Node.Escrow) == 0 {
		t.Fatalf("SetMode standard: %+v %v", sm, err)
	}
	if sm, err = d.SetMode(ctx, zero.ID, api.ModeSecure); err != nil || len(sm.Node.Escrow) != 0 {
		t.Fatalf("SetMode secure: %+v %v", sm, err)
	}
	inStd := put(t, d, std.ID, "doc.txt", []byte(strings.Repeat("standard ", 20)), PutOptions{})
	if inStd.Mode != api.ModeStandard || len(inStd.Node.Escrow) == 0 {
		t.Fatalf("a file in a standard folder: %+v", inStd)
	}

	// Seal and Resume against the node.
	sk := randomBytes(32)
	sealed, err := d.Seal(sk)
	if err != nil {
		t.Fatal(err)
	}
	d3, err := Resume(ctx, d.Client(), sealed, sk)
	if err != nil {
		t.Fatal(err)
	}
	defer d3.Close()
	if !bytes.Equal(read(t, d3, inStd.ID, ""), []byte(strings.Repeat("standard ", 20))) {
		t.Fatal("the resumed drive reads other bytes")
	}

	// Settings, usage, recovery key, password change.
	if _, err := d.Settings(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Usage(ctx); err != nil {
		t.Fatal(err)
	}
	rk, err := d.NewRecoveryKey(ctx)
	if err != nil || rk == fresh.RecoveryKey {
		t.Fatalf("new recovery key: %v", err)
	}
	if err := d.ChangePassword(ctx, testPassword, "Another-Long-Password-42"); err != nil {
		t.Fatal(err)
	}
	c := client(url, nil)
	if _, err := c.Login(ctx, "admin", "Another-Long-Password-42"); err != nil {
		t.Fatal(err)
	}
	d4, _, err := Unlock(ctx, c, "Another-Long-Password-42")
	if err != nil {
		t.Fatal(err)
	}
	defer d4.Close()
	// Lost password: the new recovery key opens the account.
	c5 := client(url, nil)
	d5, err := Recover(ctx, c5, "admin", rk, "Third-Long-Password-99")
	if err != nil {
		t.Fatal(err)
	}
	defer d5.Close()
	if !bytes.Equal(read(t, d5, cpf.ID, ""), big) {
		t.Fatal("the recovered drive reads other bytes")
	}
	if _, err := Recover(ctx, client(url, nil), "admin", fresh.RecoveryKey, "Fourth-Long-Password-1"); err == nil {
		t.Fatal("the replaced recovery key still works")
	}

	// Nothing the client knows in clear is on the node's disk or in its
	// output: names, node keys, meta keys (of secure items), the account's keys.
	secrets := map[string][]byte{"folder name": []byte("Archive"), "file name": []byte("renamed.bin")}
	d.mu.Lock()
	for id, k := range d.keys {
		secrets["node key of "+id] = bytes.Clone(k[:])
		mk := k.MetaKey()
		secrets["meta key of "+id] = bytes.Clone(mk[:])
	}
	d.mu.Unlock()
	sec := d.u.MarshalSecret()
	secrets["account keys"] = sec[1:33]
	secrets["escrow key"] = sec[65:97]
	scanned := 0
	check := func(path string, b []byte) {
		scanned++
		for name, s := range secrets {
			for _, form := range [][]byte{s, []byte(hex.EncodeToString(s)), []byte(base64.StdEncoding.EncodeToString(s)), []byte(base64.RawURLEncoding.EncodeToString(s))} {
				if bytes.Contains(b, form) {
					t.Errorf("%s holds the %s", path, name)
				}
			}
		}
	}
	filepath.WalkDir(data, func(p string, de fs.DirEntry, err error) error {
		if err == nil && de.Type().IsRegular() {
			if b, err := os.ReadFile(p); err == nil {
				check(p, b)
			}
		}
		return nil
	})
	b, _ := os.ReadFile(logPath)
	check(logPath, b)
	if scanned < 3 || len(secrets) < 10 {
		t.Fatalf("scanned %d files for %d secrets", scanned, len(secrets))
	}
}

// A thumbnail given to a Put is sealed with the version as a LIT cap and
// comes back on every read of the item (list, item, versions, copies); one
// over vault.MaxThumbnail is refused.
func TestThumbnailOnNode(t *testing.T) {
	ctx := context.Background()
	url, _, _ := startNode(t)
	d, _ := signIn(t, url, nil)
	root := d.RootID()

	thumb := append([]byte{0xff, 0xd8, 0xff, 0xe0}, randomBytes(9000)...)
	photo := randomBytes(70_000)
	it := put(t, d, root, "photo.bin", photo, PutOptions{NoScrub: true, MIME: "image/jpeg", Thumbnail: thumb})
	check := func(where string, v *Version) {
		t.Helper()
		if v == nil || !strings.HasPrefix(v.Thumbnail, "URI:LIT:") {
			t.Fatalf("%s: no thumbnail cap: %+v", where, v)
		}
		lit, err := cap.ParseLIT(v.Thumbnail)
		if err != nil || !bytes.Equal(lit.Data, thumb) {
			t.Fatalf("%s: the thumbnail differs (%v)", where, err)
		}
	}
	check("put", it.CurrentVersion())
	got, _, err := d.Item(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("item", got.CurrentVersion())
	d2, _ := signIn(t, url, nil)
	ls, err := d2.List(ctx, root)
	if err != nil || len(ls) != 1 {
		t.Fatalf("list: %q %v", names(ls), err)
	}
	check("list on another device", ls[0].CurrentVersion())
	if !bytes.Equal(read(t, d2, it.ID, ""), photo) {
		t.Fatal("the content differs")
	}
	cp, err := d.Copy(ctx, it.ID, root)
	if err != nil {
		t.Fatal(err)
	}
	check("copy", cp.CurrentVersion())

	// A new version without one has none; the old version keeps its own.
	it2 := put(t, d, root, "photo.bin", randomBytes(1000), PutOptions{NoScrub: true, Replace: true})
	if it2.CurrentVersion().Thumbnail != "" {
		t.Fatalf("a version without a thumbnail has %q", it2.CurrentVersion().Thumbnail)
	}
	vs, err := d.Versions(ctx, it.ID)
	if err != nil || len(vs) != 2 {
		t.Fatalf("versions: %+v %v", vs, err)
	}
	check("old version", &vs[1])

	// At most vault.MaxThumbnail bytes.
	put(t, d, root, "max.bin", []byte("x"), PutOptions{Thumbnail: randomBytes(vault.MaxThumbnail)})
	p, err := d.NewPut(bytes.NewReader(photo), int64(len(photo)), PutOptions{ParentID: root, Name: "big-thumb.bin",
		NoScrub: true, Thumbnail: randomBytes(vault.MaxThumbnail + 1)})
	if err == nil {
		_, err = p.Run(ctx)
	}
	if err == nil {
		t.Fatal("a thumbnail over vault.MaxThumbnail was accepted")
	}
	if _, err := d.Resolve(ctx, "/big-thumb.bin"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the refused file was registered: %v", err)
	}
}

// answerHook lets after change each answer.
type answerHook struct {
	api.Transport
	after func(r *api.Request, resp *api.Response)
}

func (h answerHook) RoundTrip(ctx context.Context, r *api.Request) (*api.Response, error) {
	resp, err := h.Transport.RoundTrip(ctx, r)
	if err == nil {
		h.after(r, resp)
	}
	return resp, err
}

// TestListOpensVersionsOnUse: List opens a file's current version only
// when it is asked for (a long folder draws a few rows); a version whose
// metadata the node tampered with leaves the rest of the folder readable,
// and a version not opened before the drive closed is not opened after.
func TestListOpensVersionsOnUse(t *testing.T) {
	ctx := context.Background()
	url, _, _ := startNode(t)
	d, _ := signIn(t, url, nil)
	dir, err := d.Mkdir(ctx, d.RootID(), "dir", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := put(t, d, dir.ID, "a.txt", randomBytes(100), PutOptions{NoScrub: true})
	b := put(t, d, dir.ID, "b.txt", randomBytes(100), PutOptions{NoScrub: true})
	c := put(t, d, dir.ID, "c.txt", randomBytes(100), PutOptions{NoScrub: true})

	// Another device whose node flips a byte of b's version metadata in
	// folder listings.
	jar, _ := cookiejar.New(nil)
	cl := &api.Client{Base: url, Transport: answerHook{api.HTTPTransport{Client: &http.Client{Jar: jar}}, func(r *api.Request, resp *api.Response) {
		if !strings.Contains(r.URL, "/children") {
			return
		}
		var page api.Children
		if json.Unmarshal(resp.Body, &page) != nil {
			return
		}
		for i := range page.Items {
			if page.Items[i].ID == b.ID {
				page.Items[i].Current.Meta[5] ^= 1
			}
		}
		resp.Body, _ = json.Marshal(page)
	}}}
	if _, err := cl.Login(ctx, "admin", testPassword); err != nil {
		t.Fatal(err)
	}
	d2, _, err := Unlock(ctx, cl, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := d2.List(ctx, dir.ID)
	if err != nil || len(ls) != 3 {
		t.Fatalf("list: %q %v", names(ls), err)
	}
	byID := map[string]Item{}
	for _, it := range ls {
		byID[it.ID] = it
	}
	if v := byID[a.ID].CurrentVersion(); v == nil || v.Cap != a.CurrentVersion().Cap || !v.Current {
		t.Fatalf("a: %+v", v)
	}
	if v := byID[b.ID].CurrentVersion(); v != nil {
		t.Fatalf("b's tampered version opened: %+v", v)
	}
	if _, _, err := d2.Item(ctx, b.ID); err != nil { // the node's answer for b alone is not tampered with
		t.Fatal(err)
	}
	d2.Close()
	if v := byID[c.ID].CurrentVersion(); v != nil {
		t.Fatalf("c's version opened after the drive closed: %+v", v)
	}
	if c.CurrentVersion() == nil {
		t.Fatal("c has no version")
	}
}
