//go:build !js

package drive

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/curve25519"

	"github.com/communitycube/cube/internal/smtpsink"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/vault"
)

// stranger is a client without cookies, as a recipient's browser.
func stranger(url string) *api.Client {
	return &api.Client{Base: url, Transport: api.HTTPTransport{Client: &http.Client{}}}
}

func readShared(t *testing.T, s *Shared, id string) []byte {
	t.Helper()
	f, _, err := s.Open(context.Background(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := f.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func byName(t *testing.T, items []Item, name string) Item {
	t.Helper()
	for _, it := range items {
		if it.Name == name {
			return it
		}
	}
	t.Fatalf("no %q in %s", name, names(items))
	return Item{}
}

func TestLinksOnNode(t *testing.T) {
	url, _, _ := startNode(t)
	ctx := context.Background()
	d, _ := signIn(t, url, nil)
	root := d.RootID()

	// A tree: /Share/{a.bin, tiny.txt, Sub/{deep.bin}, Locked/{secret.txt}}.
	share, err := d.Mkdir(ctx, root, "Share", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	aData, tinyData, deepData, secretData := randomBytes(300_000), []byte("hello, link"), randomBytes(70_000), randomBytes(1000)
	a := put(t, d, share.ID, "a.bin", aData, PutOptions{NoScrub: true})
	put(t, d, share.ID, "tiny.txt", tinyData, PutOptions{})
	sub, err := d.Mkdir(ctx, share.ID, "Sub", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, d, sub.ID, "deep.bin", deepData, PutOptions{NoScrub: true})
	locked, err := d.Mkdir(ctx, share.ID, "Locked", CreateOptions{Password: "item password 1"})
	if err != nil {
		t.Fatal(err)
	}
	put(t, d, locked.ID, "secret.txt", secretData, PutOptions{NoScrub: true})

	// A file link, key in the URL.
	fl, err := d.CreateLink(ctx, a.ID, LinkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u := fl.URL("http://node.example/")
	base, id, key, err := ParseShareURL(u)
	if err != nil || base != "http://node.example" || id != fl.ID || key != fl.Key || !strings.Contains(u, "#") {
		t.Fatalf("ParseShareURL(%q) = %q %q %q %v", u, base, id, key, err)
	}
	c := stranger(url)
	s, err := OpenLink(ctx, c, fl.ID, Secret{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Root(); r.Name != "a.bin" || r.Folder || r.CurrentVersion() == nil || r.Size != int64(len(aData)) {
		t.Fatalf("file link root: %+v", r)
	}
	if got := readShared(t, s, s.Root().ID); !bytes.Equal(got, aData) {
		t.Fatal("file link: the bytes differ")
	}
	if _, _, err := s.Open(ctx, share.ID, ""); !errors.Is(err, ErrNotShared) {
		t.Fatalf("opening the folder above a file link: %v", err)
	}
	// Without a key, with a wrong key.
	if _, err := OpenLink(ctx, stranger(url), fl.ID, Secret{}); !errors.Is(err, ErrNeedsKey) {
		t.Fatalf("no key: %v", err)
	}
	if _, err := OpenLink(ctx, stranger(url), fl.ID, Secret{Key: vault.FormatLinkKey(vault.NewKey())}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong key: %v", err)
	}

	// A folder link with the key apart: list, subfolders, locked items.
	fo, err := d.CreateLink(ctx, share.ID, LinkOptions{KeyMode: api.KeySeparate})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(fo.URL(url), "#") || fo.Key == "" {
		t.Fatalf("a key-apart link's URL has the key: %s", fo.URL(url))
	}
	if _, err := OpenLink(ctx, stranger(url), fo.ID, Secret{}); !errors.Is(err, ErrNeedsKey) {
		t.Fatalf("key-apart link without key: %v", err)
	}
	if pl, err := LookupLink(ctx, stranger(url), fo.ID); err != nil || pl.Kind != api.LinkFolder || pl.KeyMode != api.KeySeparate {
		t.Fatalf("LookupLink: %+v %v", pl, err)
	}
	s, err = OpenLink(ctx, stranger(url), fo.ID, Secret{Key: "  #" + fo.Key + "\n"})
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Root(); r.Name != "Share" || !r.Folder {
		t.Fatalf("folder link root: %+v", r)
	}
	items, err := s.List(ctx, s.Root().ID)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(names(items), ",")
	sort.Strings(got)
	if strings.Join(got, ",") != "Locked,Sub,a.bin,tiny.txt" {
		t.Fatalf("folder link lists %v", got)
	}
	if !bytes.Equal(readShared(t, s, byName(t, items, "tiny.txt").ID), tinyData) {
		t.Fatal("a literal file through a folder link differs")
	}
	subItems, err := s.List(ctx, byName(t, items, "Sub").ID)
	if err != nil || names(subItems) != "deep.bin" {
		t.Fatalf("Sub: %s %v", names(subItems), err)
	}
	if !bytes.Equal(readShared(t, s, subItems[0].ID), deepData) {
		t.Fatal("a file in a subfolder differs")
	}
	lk := byName(t, items, "Locked")
	if !lk.NeedsPassword {
		t.Fatal("a locked folder inside the link does not ask for its password")
	}
	if _, err := s.List(ctx, lk.ID); !errors.Is(err, ErrNeedsPassword) {
		t.Fatalf("listing a locked folder: %v", err)
	}
	if err := s.UnlockItem(ctx, lk.ID, "wrong"); !errors.Is(err, vault.ErrWrongPassword) {
		t.Fatalf("wrong item password: %v", err)
	}
	if err := s.UnlockItem(ctx, lk.ID, "item password 1"); err != nil {
		t.Fatal(err)
	}
	inLocked, err := s.List(ctx, lk.ID)
	if err != nil || names(inLocked) != "secret.txt" || !bytes.Equal(readShared(t, s, inLocked[0].ID), secretData) {
		t.Fatalf("the locked folder, unlocked: %s %v", names(inLocked), err)
	}

	// A locked item shared by a key-apart link opens with its own password.
	ll, err := d.CreateLink(ctx, locked.ID, LinkOptions{KeyMode: api.KeySeparate})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLink(ctx, stranger(url), ll.ID, Secret{ItemPassword: "nope"}); !errors.Is(err, vault.ErrWrongPassword) {
		t.Fatalf("wrong item password for the link: %v", err)
	}
	if s, err := OpenLink(ctx, stranger(url), ll.ID, Secret{ItemPassword: "item password 1"}); err != nil || s.Root().Name != "Locked" {
		t.Fatalf("item password for the link: %v", err)
	}

	// A password link.
	pw, err := d.CreateLink(ctx, sub.ID, LinkOptions{KeyMode: api.KeyPassword, Password: "link password 2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLink(ctx, stranger(url), pw.ID, Secret{}); !errors.Is(err, ErrNeedsLinkPassword) {
		t.Fatalf("password link without password: %v", err)
	}
	if _, err := OpenLink(ctx, stranger(url), pw.ID, Secret{Password: "wrong"}); !errors.Is(err, vault.ErrWrongPassword) {
		t.Fatalf("password link, wrong password: %v", err)
	}
	s, err = OpenLink(ctx, stranger(url), pw.ID, Secret{Password: "link password 2"})
	if err != nil {
		t.Fatal(err)
	}
	if items, err := s.List(ctx, s.Root().ID); err != nil || names(items) != "deep.bin" || !bytes.Equal(readShared(t, s, items[0].ID), deepData) {
		t.Fatalf("password link: %v", err)
	}

	// The owner's list, and removal.
	ls, err := d.Links(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 4 {
		t.Fatalf("%d links", len(ls))
	}
	for _, l := range ls {
		if l.Name == "" || l.Key == "" {
			t.Fatalf("link %s without name or key: %+v", l.ID, l)
		}
	}
	if err := d.DeleteLink(ctx, fl.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLink(ctx, stranger(url), fl.ID, Secret{Key: fl.Key}); !isAPI(err, api.CodeLinkRemoved) {
		t.Fatalf("a removed link: %v", err)
	}
	// A download limit: the token that fetched content keeps working, a
	// new visitor is refused.
	one, err := d.CreateLink(ctx, sub.ID, LinkOptions{MaxDownloads: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err = OpenLink(ctx, stranger(url), one.ID, Secret{Key: one.Key})
	if err != nil {
		t.Fatal(err)
	}
	items, err = s.List(ctx, s.Root().ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readShared(t, s, items[0].ID), deepData) || !bytes.Equal(readShared(t, s, items[0].ID), deepData) {
		t.Fatal("a limited link: the bytes differ")
	}
	s2, err := OpenLink(ctx, stranger(url), one.ID, Secret{Key: one.Key})
	if err == nil {
		if _, err = s2.List(ctx, s2.Root().ID); err == nil {
			_, _, err = s2.Open(ctx, items[0].ID, "")
		}
	}
	if !isAPI(err, api.CodeLinkExhausted) {
		t.Fatalf("a second visitor of a link limited to one download: %v", err)
	}
	// Without SMTP settings the node sends no mail: the client offers mailto:.
	if st, err := d.MailStatus(ctx); err != nil || st.Configured {
		t.Fatalf("MailStatus: %+v %v", st, err)
	}
	if err := d.MailLink(ctx, fo, url, []string{"bob@example.org"}, "hi"); !isAPI(err, api.CodeMailUnavailable) {
		t.Fatalf("MailLink without SMTP: %v", err)
	}
	mt := MailtoURL(fo, url, []string{"bob@example.org"}, false)
	if !strings.HasPrefix(mt, "mailto:bob@example.org?subject=") || strings.Contains(mt, fo.Key) {
		t.Fatalf("mailto: %s", mt)
	}
	if mt := MailtoURL(fo, url, nil, true); !strings.Contains(mt, fo.Key) {
		t.Fatalf("mailto with key: %s", mt)
	}
}

func TestDropOnNode(t *testing.T) {
	url, _, _ := startNode(t)
	ctx := context.Background()
	d, _ := signIn(t, url, nil)
	inbox, err := d.Mkdir(ctx, d.RootID(), "Inbox", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mine := randomBytes(5000)
	put(t, d, inbox.ID, "report.pdf", mine, PutOptions{NoScrub: true})
	dl, err := d.CreateDrop(ctx, inbox.ID, DropOptions{Limits: api.DropLimits{MaxFiles: 3, MaxFile: 200_000}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(dl.URL(url), "#") || dl.Key != "" {
		t.Fatalf("a drop's URL: %s", dl.URL(url))
	}
	// An anonymous uploader sends two files, one of a name already taken.
	c := stranger(url)
	dr, err := OpenDrop(ctx, c, dl.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if dr.Link().Owner != "admin" || len(dr.Link().PublicKey) != 32 {
		t.Fatalf("drop: %+v", dr.Link())
	}
	one, two := randomBytes(150_000), []byte("short")
	for _, f := range []struct {
		name string
		data []byte
	}{{"report.pdf", one}, {"note.txt", two}} {
		p, err := dr.NewPut(bytes.NewReader(f.data), int64(len(f.data)), DropPutOptions{Name: f.name, NoScrub: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Run(ctx); err != nil {
			t.Fatalf("drop %s: %v", f.name, err)
		}
	}
	if u := dr.Link().DropUsage; u == nil || u.Files != 2 || u.Bytes != int64(len(one)+len(two)) {
		t.Fatalf("the drop's usage after two files: %+v", u)
	}
	// Over the per-file limit: refused before anything is sent.
	if _, err := dr.NewPut(bytes.NewReader(make([]byte, 300_000)), 300_000, DropPutOptions{Name: "big.bin", NoScrub: true}); !isAPI(err, api.CodeFileTooLarge) {
		t.Fatalf("an over-limit file: %v", err)
	}
	// The uploader cannot list the folder.
	if _, err := c.LinkChildren(ctx, dl.ID, inbox.ID, ""); err == nil {
		t.Fatal("a drop's uploader listed the folder")
	}
	// The owner's listing adopts them.
	items, err := d.List(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(names(items), ",")
	sort.Strings(got)
	if strings.Join(got, ",") != "note.txt,report (2).pdf,report.pdf" {
		t.Fatalf("after adoption: %v", got)
	}
	for name, want := range map[string][]byte{"report.pdf": mine, "report (2).pdf": one, "note.txt": two} {
		if b := read(t, d, byName(t, items, name).ID, ""); !bytes.Equal(b, want) {
			t.Fatalf("%s: the bytes differ", name)
		}
	}
	if n, err := d.AdoptDrops(ctx, inbox.ID); n != 0 || err != nil {
		t.Fatalf("adopting again: %d %v", n, err)
	}
	// A dropped file whose box does not open for the owner is reported
	// and left alone; the listing still works.
	other := vault.NewKey()
	pl := dr.Link()
	pl.PublicKey, _ = curve25519.X25519(other[:], curve25519.Basepoint)
	req, err := sealDrop(pl, NewID(), NewID(), vault.NewKey(), "stray.txt", 4, time.Time{}, vault.VersionMeta{Cap: "URI:LIT:nbswy3dp"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DropFile(ctx, dl.ID, req); err != nil {
		t.Fatal(err)
	}
	var ae *AdoptError
	if n, err := d.AdoptDrops(ctx, inbox.ID); n != 0 || !errors.As(err, &ae) || len(ae.Failed) != 1 {
		t.Fatalf("adopting a drop that does not open: %d %v", n, err)
	}
	if items, err := d.List(ctx, inbox.ID); err != nil || len(items) != 3 {
		t.Fatalf("listing beside a bad drop: %s %v", names(items), err)
	}
	if left, err := d.Client().Drops(ctx, inbox.ID); err != nil || len(left) != 1 {
		t.Fatalf("the bad drop was not kept: %d %v", len(left), err)
	}
	// A password drop.
	pd, err := d.CreateDrop(ctx, inbox.ID, DropOptions{Password: "drop password 3"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDrop(ctx, stranger(url), pd.ID, ""); !errors.Is(err, ErrNeedsLinkPassword) {
		t.Fatalf("password drop without password: %v", err)
	}
	if _, err := OpenDrop(ctx, stranger(url), pd.ID, "wrong"); !errors.Is(err, vault.ErrWrongPassword) {
		t.Fatalf("password drop, wrong password: %v", err)
	}
	pdr, err := OpenDrop(ctx, stranger(url), pd.ID, "drop password 3")
	if err != nil {
		t.Fatal(err)
	}
	// A drop full after one file refuses the next before sending, in this
	// Drop and in a new one.
	p, err := pdr.NewPut(bytes.NewReader(two), int64(len(two)), DropPutOptions{Name: "x.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.UpdateLink(ctx, pd.ID, api.UpdateLinkRequest{Drop: &api.DropLimits{MaxFiles: 1}}); err != nil {
		t.Fatal(err)
	}
	pdr, err = OpenDrop(ctx, stranger(url), pd.ID, "drop password 3")
	if err != nil {
		t.Fatal(err)
	}
	if u := pdr.Link().DropUsage; u == nil || u.Files != 1 {
		t.Fatalf("the drop's usage: %+v", u)
	}
	if _, err := pdr.NewPut(bytes.NewReader(two), int64(len(two)), DropPutOptions{Name: "y.txt"}); !isAPI(err, api.CodeDropFull) {
		t.Fatalf("a full drop: %v", err)
	}
}

func TestMailLinkOnNode(t *testing.T) {
	url, _, _ := startNode(t)
	ctx := context.Background()
	d, _ := signIn(t, url, nil)
	sink, err := smtpsink.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	port, _ := strconv.Atoi(sink.Addr()[strings.LastIndexByte(sink.Addr(), ':')+1:])
	settings := api.MailSettings{Host: "127.0.0.1", Port: port, TLS: "none", From: "cube@example.org"}
	if err := d.Client().Do(ctx, http.MethodPut, api.Prefix+"mail/settings", settings, nil); err != nil {
		t.Fatal(err)
	}
	f := put(t, d, d.RootID(), "plan.txt", []byte("the plan, in short"), PutOptions{})
	l, err := d.CreateLink(ctx, f.ID, LinkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := d.MailStatus(ctx); err != nil || !st.Configured {
		t.Fatalf("MailStatus: %+v %v", st, err)
	}
	if err := d.MailLink(ctx, l, url, []string{"bob@example.org"}, "Here it is."); err != nil {
		t.Fatal(err)
	}
	msgs := sink.Messages() // recorded before the node's send returned
	if len(msgs) != 1 {
		t.Fatalf("%d mails", len(msgs))
	}
	mail := string(msgs[0].Data)
	// Quoted-printable or not, the link id is there and the key is not.
	flat := strings.ReplaceAll(strings.ReplaceAll(mail, "=\r\n", ""), "=\n", "")
	if !strings.Contains(flat, l.ID) || strings.Contains(flat, l.Key) || strings.Contains(flat, "/s/"+l.ID+"#") {
		t.Fatalf("the mail has no link, or has the key:\n%s", mail)
	}
}
