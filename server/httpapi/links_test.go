package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/communitycube/cube/internal/smtpsink"
	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/transfer"
	tupload "github.com/communitycube/cube/shared/transfer/upload"
)

// uploadFile sends size random bytes through the real upload engine on
// routes and returns the storage index and the ciphertext.
func uploadFile(t *testing.T, routes tupload.Sessions, size int) (string, []byte) {
	t.Helper()
	plain := rnd(size)
	var key chk.Key
	rand.Read(key[:])
	up, err := tupload.New(tupload.Options{Client: routes, Source: bytes.NewReader(plain), Size: int64(size), Key: key, ChunkSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	res, err := up.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cipher := make([]byte, size)
	transfer.GoCipher(key).XORKeyStreamAt(cipher, plain, 0)
	return res.StorageIndex, cipher
}

func fileReq(parent string, body api.NewVersionBody) api.CreateNodeRequest {
	return api.CreateNodeRequest{ID: newID(), Parent: parent, Kind: api.KindFile, NameHMAC: rnd(32), Meta: rnd(5), Mode: api.ModeSecure, Version: &body}
}

// anonymous is a client without a session that opened link id.
func (e *fenv) anonymous(id string, auth []byte) (*api.Client, api.Access) {
	e.t.Helper()
	c := e.client()
	acc, err := c.LinkAccess(context.Background(), id, api.AccessRequest{PasswordAuth: auth})
	if err != nil {
		e.t.Fatal(err)
	}
	c.Header = map[string]string{api.LinkTokenHeader: acc.Token}
	return c, acc
}

func (e *fenv) uploadRows() int {
	var n int
	if err := e.db.QueryRow(`SELECT COUNT(*) FROM uploads`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestLinksOverHTTP(t *testing.T) {
	e := newFilesEnv(t, true)
	ctx := context.Background()
	ann := e.signIn("ann")
	root := makeKeys(t, ann)
	var dir, file api.Node
	if err := ann.Do(ctx, "POST", api.Prefix+"nodes", folderReq(root), &dir); err != nil {
		t.Fatal(err)
	}
	si, cipher := uploadFile(t, ann, 150<<10)
	if err := ann.Do(ctx, "POST", api.Prefix+"nodes", fileReq(dir.ID, api.NewVersionBody{ID: newID(), StorageIndex: si, Meta: rnd(9)}), &file); err != nil {
		t.Fatal(err)
	}
	outSI, _ := uploadFile(t, ann, 100<<10)
	var outside api.Node
	if err := ann.Do(ctx, "POST", api.Prefix+"nodes", fileReq(root, api.NewVersionBody{ID: newID(), StorageIndex: outSI, Meta: rnd(9)}), &outside); err != nil {
		t.Fatal(err)
	}

	// A folder link, opened by someone without an account.
	l, err := ann.CreateLink(ctx, api.CreateLinkRequest{ID: newID(), Target: dir.ID, Kind: api.LinkFolder, KeyMode: api.KeyInURL, Meta: rnd(30)})
	if err != nil || l.State != api.LinkActive {
		t.Fatalf("create %+v %v", l, err)
	}
	anon := e.client()
	if pl, err := anon.PublicLink(ctx, l.ID); err != nil || pl.Kind != api.LinkFolder {
		t.Fatalf("public %+v %v", pl, err)
	}
	if _, err := anon.LinkChildren(ctx, l.ID, dir.ID, ""); apiCode(err) != api.CodeUnauthenticated {
		t.Fatalf("children without a token: %v", err)
	}
	anon, acc := e.anonymous(l.ID, nil)
	if acc.Node == nil || acc.Node.ID != dir.ID {
		t.Fatalf("access %+v", acc)
	}
	ch, err := anon.LinkChildren(ctx, l.ID, dir.ID, "")
	if err != nil || len(ch.Items) != 1 || ch.Items[0].ID != file.ID {
		t.Fatalf("children %+v %v", ch, err)
	}
	if _, err := anon.LinkChildren(ctx, l.ID, root, ""); apiCode(err) != api.CodeNotFound {
		t.Fatalf("the folder above: %v", err)
	}
	routes := anon.LinkRoutes(l.ID)
	if _, err := routes.VersionProof(ctx, file.Current.ID); err != nil {
		t.Fatal(err)
	}
	got, err := routes.VersionContent(ctx, file.Current.ID, 0, int64(len(cipher)))
	if err != nil || !bytes.Equal(got, cipher) {
		t.Fatalf("content: %d bytes, %v", len(got), err)
	}
	resp, b := raw(t, anon, "GET", api.Prefix+"public/links/"+l.ID+"/versions/"+file.Current.ID+"/content", nil,
		api.LinkTokenHeader, acc.Token, "Range", "bytes=100-199")
	if resp.StatusCode != 206 || !bytes.Equal(b, cipher[100:200]) {
		t.Fatalf("range: %d", resp.StatusCode)
	}
	if _, err := routes.VersionContent(ctx, outside.Current.ID, 0, 10); apiCode(err) != api.CodeNotFound {
		t.Fatalf("a file outside: %v", err)
	}
	ls, err := ann.Links(ctx)
	if err != nil || len(ls) != 1 || ls[0].Downloads != 1 {
		t.Fatalf("links %+v %v", ls, err)
	}
	// Another user cannot see, change or remove it.
	bob := e.signIn("bob")
	if ls, err := bob.Links(ctx); err != nil || len(ls) != 0 {
		t.Fatalf("bob's links %v %v", ls, err)
	}
	if err := bob.DeleteLink(ctx, l.ID); apiCode(err) != api.CodeNotFound {
		t.Fatalf("bob deletes: %v", err)
	}

	// A download limit: a counted token continues, an uncounted one is
	// refused content.
	fl, err := ann.CreateLink(ctx, api.CreateLinkRequest{ID: newID(), Target: file.ID, Kind: api.LinkFile, KeyMode: api.KeySeparate, Meta: rnd(30), MaxDownloads: 1})
	if err != nil {
		t.Fatal(err)
	}
	a1, _ := e.anonymous(fl.ID, nil)
	a2, _ := e.anonymous(fl.ID, nil)
	if _, err := a1.LinkRoutes(fl.ID).VersionContent(ctx, file.Current.ID, 0, 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := a2.LinkRoutes(fl.ID).VersionContent(ctx, file.Current.ID, 0, 1000); apiCode(err) != api.CodeLinkExhausted {
		t.Fatalf("uncounted token after the limit: %v", err)
	}
	if got, err := a1.LinkRoutes(fl.ID).VersionContent(ctx, file.Current.ID, 1000, 1000); err != nil || !bytes.Equal(got, cipher[1000:2000]) {
		t.Fatalf("counted token continues: %v", err)
	}
	resp, b = raw(t, e.client(), "GET", api.Prefix+"public/links/"+fl.ID, nil)
	if resp.StatusCode != 410 || errCode(b) != api.CodeLinkExhausted {
		t.Fatalf("public of an exhausted link: %d %s", resp.StatusCode, b)
	}

	// Removed: 410 with a clear message; unknown: 404.
	if err := ann.DeleteLink(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	resp, b = raw(t, e.client(), "GET", api.Prefix+"public/links/"+l.ID, nil)
	if resp.StatusCode != 410 || errCode(b) != api.CodeLinkRemoved || !strings.Contains(string(b), "removed") {
		t.Fatalf("removed: %d %s", resp.StatusCode, b)
	}
	if _, err := routes.VersionContent(ctx, file.Current.ID, 0, 10); apiCode(err) != api.CodeLinkRemoved {
		t.Fatalf("content of a removed link: %v", err)
	}
	resp, b = raw(t, e.client(), "GET", api.Prefix+"public/links/"+newID(), nil)
	if resp.StatusCode != 404 || errCode(b) != api.CodeNotFound {
		t.Fatalf("unknown: %d %s", resp.StatusCode, b)
	}
	// The target in the trash: 410, another message.
	if err := ann.Do(ctx, "DELETE", api.Prefix+"nodes/"+dir.ID+"?base_version="+strconv.FormatInt(dir.Version, 10), nil, nil); err != nil {
		t.Fatal(err)
	}
	resp, b = raw(t, e.client(), "GET", api.Prefix+"public/links/"+fl.ID, nil)
	if resp.StatusCode != 410 || errCode(b) != api.CodeLinkRemoved || !strings.Contains(string(b), "trash") {
		t.Fatalf("trashed target: %d %s", resp.StatusCode, b)
	}
	if ls, _ := ann.Links(ctx); len(ls) != 1 || ls[0].State != api.LinkTargetGone {
		t.Fatalf("links after trashing %+v", ls)
	}
	for _, secret := range []string{acc.Token, a1.Header[api.LinkTokenHeader]} {
		if strings.Contains(e.logs.String(), secret) {
			t.Fatal("a link token is in the log")
		}
	}
}

func TestLinkPasswordOverHTTP(t *testing.T) {
	e := newFilesEnv(t, false)
	ctx := context.Background()
	ann := e.signIn("ann")
	root := makeKeys(t, ann)
	proof := rnd(32)
	h := sha256.Sum256(proof)
	wrapped := rnd(60)
	l, err := ann.CreateLink(ctx, api.CreateLinkRequest{ID: newID(), Target: root, Kind: api.LinkFolder, KeyMode: api.KeyPassword, Meta: rnd(30),
		Password: &api.LinkPassword{Lock: rnd(40), Wrapped: wrapped, AuthHash: h[:]}})
	if err != nil {
		t.Fatal(err)
	}
	anon := e.client()
	for range 4 {
		resp, b := raw(t, anon, "POST", api.Prefix+"public/links/"+l.ID+"/access", mustJSON(api.AccessRequest{PasswordAuth: rnd(32)}), "Content-Type", "application/json")
		if resp.StatusCode != 403 || errCode(b) != api.CodeWrongPassword {
			t.Fatalf("wrong password: %d %s", resp.StatusCode, b)
		}
	}
	resp, b := raw(t, anon, "POST", api.Prefix+"public/links/"+l.ID+"/access", mustJSON(api.AccessRequest{PasswordAuth: rnd(32)}), "Content-Type", "application/json")
	if resp.StatusCode != 403 {
		t.Fatalf("fifth wrong password: %d %s", resp.StatusCode, b)
	}
	resp, b = raw(t, anon, "POST", api.Prefix+"public/links/"+l.ID+"/access", mustJSON(api.AccessRequest{PasswordAuth: proof}), "Content-Type", "application/json")
	if resp.StatusCode != 429 || errCode(b) != api.CodeThrottled || resp.Header.Get("Retry-After") != "30" {
		t.Fatalf("throttled: %d %s %q", resp.StatusCode, b, resp.Header.Get("Retry-After"))
	}
	// Another link is not blocked.
	h2 := sha256.Sum256(proof)
	l2, err := ann.CreateLink(ctx, api.CreateLinkRequest{ID: newID(), Target: root, Kind: api.LinkFolder, KeyMode: api.KeyPassword, Meta: rnd(30),
		Password: &api.LinkPassword{Lock: rnd(40), Wrapped: wrapped, AuthHash: h2[:]}})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := anon.LinkAccess(ctx, l2.ID, api.AccessRequest{PasswordAuth: proof})
	if err != nil || !bytes.Equal(acc.Wrapped, wrapped) {
		t.Fatalf("right password: %+v %v", acc, err)
	}
	if strings.Contains(e.logs.String(), fmt.Sprintf("%x", proof)) || strings.Contains(e.logs.String(), acc.Token) {
		t.Fatal("a proof or token is in the log")
	}
}

func TestDropOverHTTP(t *testing.T) {
	e := newFilesEnv(t, true)
	ctx := context.Background()
	ann := e.signIn("ann")
	root := makeKeys(t, ann)
	var dir api.Node
	if err := ann.Do(ctx, "POST", api.Prefix+"nodes", folderReq(root), &dir); err != nil {
		t.Fatal(err)
	}
	mine, _ := uploadFile(t, ann, 80<<10)
	var own api.Node
	if err := ann.Do(ctx, "POST", api.Prefix+"nodes", fileReq(dir.ID, api.NewVersionBody{ID: newID(), StorageIndex: mine, Meta: rnd(9)}), &own); err != nil {
		t.Fatal(err)
	}
	l, err := ann.CreateLink(ctx, api.CreateLinkRequest{ID: newID(), Target: dir.ID, Kind: api.LinkDrop, KeyMode: api.KeyInURL,
		Drop: &api.DropLimits{MaxFile: 100 << 10, MaxFiles: 2}})
	if err != nil {
		t.Fatal(err)
	}
	anon, acc := e.anonymous(l.ID, nil)
	if acc.Node != nil {
		t.Fatal("a drop's access shows its folder")
	}
	pl, err := anon.PublicLink(ctx, l.ID)
	if err != nil || pl.Owner != "ann" || pl.Drop == nil || pl.Drop.MaxFiles != 2 || pl.DropUsage == nil {
		t.Fatalf("public %+v %v", pl, err)
	}
	// The uploader cannot list or read anything.
	if _, err := anon.LinkChildren(ctx, l.ID, dir.ID, ""); apiCode(err) != api.CodeNotFound {
		t.Fatalf("a drop lists its folder: %v", err)
	}
	if _, err := anon.LinkRoutes(l.ID).VersionContent(ctx, own.Current.ID, 0, 10); apiCode(err) != api.CodeNotFound {
		t.Fatalf("a drop reads: %v", err)
	}
	// An upload through the real engine, then the dropped file.
	si, cipher := uploadFile(t, anon.LinkRoutes(l.ID), 60<<10)
	drop := api.DropFileRequest{ID: newID(), Box: rnd(100), Meta: rnd(50), Version: api.NewVersionBody{ID: newID(), StorageIndex: si, Meta: rnd(40)}}
	if err := anon.DropFile(ctx, l.ID, drop); err != nil {
		t.Fatal(err)
	}
	// Over the per-file limit: refused at begin, nothing stored.
	rows := e.uploadRows()
	big := newID()
	if _, err := anon.LinkRoutes(l.ID).BeginUpload(ctx, big, api.BeginUploadRequest{Size: 100<<10 + 1}); apiCode(err) != api.CodeFileTooLarge {
		t.Fatalf("over the per-file limit: %v", err)
	}
	if e.uploadRows() != rows {
		t.Fatal("a refused upload left a row")
	}
	if _, err := anon.LinkRoutes(l.ID).GetUpload(ctx, big); apiCode(err) != api.CodeNotFound {
		t.Fatalf("a refused upload exists: %v", err)
	}
	if _, err := anon.LinkRoutes(l.ID).BeginUpload(ctx, newID(), api.BeginUploadRequest{Size: 1000, K: 1, N: 3}); apiCode(err) != api.CodeInvalid {
		t.Fatalf("an uploader's own encoding: %v", err)
	}
	// Over the count (a literal file fills the second place).
	if err := anon.DropFile(ctx, l.ID, api.DropFileRequest{ID: newID(), Box: rnd(100), Meta: rnd(50), Version: api.NewVersionBody{ID: newID(), Meta: rnd(40)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := anon.LinkRoutes(l.ID).BeginUpload(ctx, newID(), api.BeginUploadRequest{Size: 1000}); apiCode(err) != api.CodeDropFull {
		t.Fatalf("over the count: %v", err)
	}
	// The owner's quota: refused with quota_exceeded before anything.
	var u api.Usage
	if err := ann.Do(ctx, "GET", api.Prefix+"usage", nil, &u); err != nil || u.Used != int64(80<<10+60<<10) {
		t.Fatalf("usage with a dropped file %+v %v", u, err)
	}
	if _, err := e.db.Exec(`UPDATE users SET quota_bytes = ? WHERE name = 'ann'`, u.Used+500); err != nil {
		t.Fatal(err)
	}
	l2, err := ann.CreateLink(ctx, api.CreateLinkRequest{ID: newID(), Target: dir.ID, Kind: api.LinkDrop, KeyMode: api.KeyInURL})
	if err != nil {
		t.Fatal(err)
	}
	anon2, _ := e.anonymous(l2.ID, nil)
	if _, err := anon2.LinkRoutes(l2.ID).BeginUpload(ctx, newID(), api.BeginUploadRequest{Size: 1000}); apiCode(err) != api.CodeQuotaExceeded {
		t.Fatalf("over the owner's quota: %v", err)
	}
	if e.uploadRows() != rows {
		t.Fatal("a refused upload left a row")
	}
	// A token of another drop cannot continue this drop's uploads.
	if _, err := anon2.LinkRoutes(l.ID).GetUpload(ctx, si); apiCode(err) != api.CodeUnauthenticated {
		t.Fatalf("another link's token: %v", err)
	}

	// The owner sees the drops and adopts one: its content becomes a
	// version, readable through the owner's routes; the usage stays.
	ds, err := ann.Drops(ctx, dir.ID)
	if len(ds) == 2 && ds[0].ID != drop.ID { // dropped in the same millisecond: by id
		ds[0], ds[1] = ds[1], ds[0]
	}
	if err != nil || len(ds) != 2 || ds[0].ID != drop.ID || !bytes.Equal(ds[0].Box, drop.Box) {
		t.Fatalf("drops %+v %v", ds, err)
	}
	var n api.Node
	if err := ann.Do(ctx, "POST", api.Prefix+"nodes", fileReq(dir.ID, api.NewVersionBody{ID: newID(), FromDrop: drop.ID, Meta: rnd(9)}), &n); err != nil {
		t.Fatal(err)
	}
	got, err := ann.VersionContent(ctx, n.Current.ID, 0, int64(len(cipher)))
	if err != nil || !bytes.Equal(got, cipher) {
		t.Fatalf("adopted content: %v", err)
	}
	var u2 api.Usage
	if err := ann.Do(ctx, "GET", api.Prefix+"usage", nil, &u2); err != nil || u2.Used != u.Used {
		t.Fatalf("usage after adoption %+v", u2)
	}
	if err := ann.Do(ctx, "POST", api.Prefix+"nodes", fileReq(dir.ID, api.NewVersionBody{ID: newID(), FromDrop: drop.ID, Meta: rnd(9)}), nil); apiCode(err) != api.CodeNotFound {
		t.Fatalf("adopted twice: %v", err)
	}
	if err := ann.DeleteDrop(ctx, ds[1].ID); err != nil {
		t.Fatal(err)
	}
	if err := ann.DeleteDrop(ctx, ds[1].ID); apiCode(err) != api.CodeNotFound {
		t.Fatalf("discarded twice: %v", err)
	}
	bob := e.signIn("bob")
	if _, err := bob.Drops(ctx, dir.ID); apiCode(err) != api.CodeNotFound {
		t.Fatalf("bob lists ann's drops: %v", err)
	}
}

func TestMailOverHTTP(t *testing.T) {
	e := newFilesEnv(t, false)
	ctx := context.Background()
	admin := e.signIn("admin")
	root := makeKeys(t, admin)
	l, err := admin.CreateLink(ctx, api.CreateLinkRequest{ID: newID(), Target: root, Kind: api.LinkFolder, KeyMode: api.KeySeparate, Meta: rnd(30)})
	if err != nil {
		t.Fatal(err)
	}
	url := admin.Base + "/s/" + l.ID
	good := api.MailLinkRequest{To: []string{"carol@example.org"}, URL: url, Message: "Photos of the trip.\nEnjoy!"}
	if st, err := admin.MailStatus(ctx); err != nil || st.Configured {
		t.Fatalf("status before %+v %v", st, err)
	}
	if err := admin.MailLink(ctx, l.ID, good); apiCode(err) != api.CodeMailUnavailable {
		t.Fatalf("without settings: %v", err)
	}

	sink, err := smtpsink.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	host, port, _ := net.SplitHostPort(sink.Addr())
	p, _ := strconv.Atoi(port)
	settings := api.MailSettings{Host: host, Port: p, TLS: "none", From: "cube@example.org"}
	bob := e.signIn("bob")
	if err := bob.Do(ctx, "PUT", api.Prefix+"mail/settings", settings, nil); apiCode(err) != api.CodeForbidden {
		t.Fatalf("bob sets mail: %v", err)
	}
	var got api.MailSettings
	if err := admin.Do(ctx, "PUT", api.Prefix+"mail/settings", settings, &got); err != nil || got.Host != host || got.Password != "" {
		t.Fatalf("put settings %+v %v", got, err)
	}
	bad := settings
	bad.From = "x\r\nBcc: eve@example.org"
	if err := admin.Do(ctx, "PUT", api.Prefix+"mail/settings", bad, nil); apiCode(err) != api.CodeInvalid {
		t.Fatalf("bad from: %v", err)
	}
	if st, err := bob.MailStatus(ctx); err != nil || !st.Configured || st.From != "cube@example.org" {
		t.Fatalf("status %+v %v", st, err)
	}

	for name, req := range map[string]api.MailLinkRequest{
		"fragment":     {To: good.To, URL: url + "#" + strings.Repeat("k", 43)},
		"empty frag":   {To: good.To, URL: url + "#"},
		"other host":   {To: good.To, URL: "https://evil.example/s/" + l.ID},
		"other path":   {To: good.To, URL: admin.Base + "/s/" + newID()},
		"query":        {To: good.To, URL: url + "?x=1"},
		"injection":    {To: []string{"carol@example.org\r\nBcc: eve@example.org"}, URL: url},
		"display":      {To: []string{"Carol <carol@example.org>"}, URL: url},
		"none":         {URL: url},
		"too many":     {To: strings.Split(strings.Repeat("a@example.org,", api.MaxMailRecipients+1), ",")[:api.MaxMailRecipients+1], URL: url},
		"long message": {To: good.To, URL: url, Message: strings.Repeat("x", MaxMailMessage+1)},
	} {
		err := admin.MailLink(ctx, l.ID, req)
		if apiCode(err) != api.CodeInvalid {
			t.Errorf("%s: %v", name, err)
		}
		if name == "fragment" && (err == nil || !strings.Contains(err.Error(), "keys never go through the node")) {
			t.Errorf("fragment message: %v", err)
		}
	}
	if err := bob.MailLink(ctx, l.ID, good); apiCode(err) != api.CodeNotFound {
		t.Fatalf("bob mails admin's link: %v", err)
	}
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("%d mails after refusals", n)
	}
	if err := admin.MailLink(ctx, l.ID, good); err != nil {
		t.Fatal(err)
	}
	ms := sink.Messages()
	if len(ms) != 1 || ms[0].To[0] != "carol@example.org" || ms[0].From != "cube@example.org" {
		t.Fatalf("mails %+v", ms)
	}
	text := qpText(ms[0].Data)
	for _, want := range []string{url + "\r\n", "admin shared a folder with you", "> Photos of the trip.", "separately"} {
		if !strings.Contains(text, want) {
			t.Errorf("the mail lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "#") {
		t.Errorf("the mail has a fragment:\n%s", text)
	}
	// A removed link is not mailed.
	if err := admin.DeleteLink(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	if err := admin.MailLink(ctx, l.ID, good); apiCode(err) != api.CodeNotFound {
		t.Fatalf("a removed link: %v", err)
	}
	// The administrator's test mail.
	if err := bob.Do(ctx, "POST", api.Prefix+"mail/test", api.MailTestRequest{To: "dan@example.org"}, nil); apiCode(err) != api.CodeForbidden {
		t.Fatalf("bob's test mail: %v", err)
	}
	if err := admin.Do(ctx, "POST", api.Prefix+"mail/test", api.MailTestRequest{To: "dan@example.org"}, nil); err != nil {
		t.Fatal(err)
	}
	if ms := sink.Messages(); len(ms) != 2 || ms[1].To[0] != "dan@example.org" {
		t.Fatalf("test mail %+v", ms)
	}
	// The password is write-only.
	settings.Username, settings.Password = "node", "s3cret"
	if err := admin.Do(ctx, "PUT", api.Prefix+"mail/settings", settings, &got); err != nil || got.Password != "" || !got.HasPassword {
		t.Fatalf("with a password %+v %v", got, err)
	}
	got = api.MailSettings{}
	resp, b := raw(t, admin, "GET", api.Prefix+"mail/settings", nil)
	if resp.StatusCode != 200 || strings.Contains(string(b), "s3cret") || !strings.Contains(string(b), `"has_password":true`) {
		t.Fatalf("get settings %d %s", resp.StatusCode, b)
	}
}

// qpText undoes quoted-printable soft line breaks and =XX escapes enough
// to search the mail's text.
func qpText(b []byte) string {
	s := strings.ReplaceAll(string(b), "=\r\n", "")
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '=' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				out.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		out.WriteByte(s[i])
	}
	return out.String()
}
