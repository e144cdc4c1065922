package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/communitycube/cube/server/auth"
	"github.com/communitycube/cube/server/db"
	"github.com/communitycube/cube/server/files"
	"github.com/communitycube/cube/server/grid/broker"
	"github.com/communitycube/cube/server/grid/broker/brokertest"
	"github.com/communitycube/cube/server/grid/helper"
	"github.com/communitycube/cube/server/grid/storage/storagetest"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/server/grid/upload"
	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/hashtree"
	"github.com/communitycube/cube/shared/transfer"
	tupload "github.com/communitycube/cube/shared/transfer/upload"
)

// placer places helper uploads on an in-process grid, as the node's does.
type placer struct{ b broker.Broker }

func (p placer) Place(ctx context.Context, si wire.StorageIndex, r io.Reader, size int64, hp helper.Params) (*helper.Placed, error) {
	params := upload.ParamsFor(len(p.b.Servers()), upload.Params(hp))
	res, err := upload.Upload(ctx, p.b, si, r, size, params, &upload.Options{LeaseSecret: leaseSecret})
	if err != nil {
		return nil, err
	}
	return &helper.Placed{VerifyCap: res.VerifyCap(), UEB: res.Encoding.UEB, Happiness: res.Happiness}, nil
}

type fenv struct {
	t     *testing.T
	srv   *httptest.Server
	db    *sql.DB
	auth  *auth.Store
	files *files.Store
	logs  *strings.Builder
}

// newFilesEnv serves the API with the Files API over a real database and,
// if withGrid, a real helper placing on an in-process grid of 3 servers.
func newFilesEnv(t *testing.T, withGrid bool) *fenv {
	t.Helper()
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "cube.db"), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	logs := &strings.Builder{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	as := auth.New(d, auth.NewHasher(1, 64, 1))
	fs := files.New(d, as, log)
	fa := &Files{Store: fs}
	if withGrid {
		g := storagetest.NewGrid(t, 3)
		b := brokertest.New(t, g)
		h, err := helper.New(helper.Config{Dir: t.TempDir(), Placer: placer{b}, Logger: log, GapWait: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		gr := &files.Grid{Helper: h, Broker: b, Encoding: helper.Params{K: 2, N: 3, Happy: 3, MaxSegmentSize: 64 << 10}}
		fa.Uploads, fa.Content = gr, gr
	}
	a := &API{Auth: as, Log: log, Version: "test", Files: fa}
	mux := http.NewServeMux()
	mux.Handle("/api/", a.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fenv{t: t, srv: srv, db: d, auth: as, files: fs, logs: logs}
}

func (e *fenv) client() *api.Client {
	return (&env{srv: e.srv}).client()
}

// signIn makes the administrator (first call) or a user and signs them in.
func (e *fenv) signIn(name string) *api.Client {
	e.t.Helper()
	ctx := context.Background()
	c := e.client()
	if need, _ := e.auth.SetupNeeded(ctx); need {
		if _, err := c.Setup(ctx, name, strong); err != nil {
			e.t.Fatal(err)
		}
		return c
	}
	if _, err := e.auth.CreateUser(ctx, name, strong, false); err != nil {
		e.t.Fatal(err)
	}
	if _, err := c.Login(ctx, name, strong); err != nil {
		e.t.Fatal(err)
	}
	return c
}

func newID() string { return cap.EncodeBase32(rnd(16)) }

func rnd(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// makeKeys creates the user's keys and returns the root folder id.
func makeKeys(t *testing.T, c *api.Client) string {
	t.Helper()
	root := newID()
	var k api.Keys
	err := c.Do(context.Background(), "PUT", api.Prefix+"keys", api.PutKeysRequest{Bundle: rnd(100), RecoveryAuth: rnd(32),
		RootFolder: &api.CreateNodeRequest{ID: root, Kind: api.KindFolder, Mode: api.ModeSecure}}, &k)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func folderReq(parent string) api.CreateNodeRequest {
	return api.CreateNodeRequest{ID: newID(), Parent: parent, Kind: api.KindFolder, NameHMAC: rnd(32), Meta: rnd(20),
		WrappedKey: rnd(40), Mode: api.ModeSecure}
}

// raw sends a request with c's cookies and CSRF token.
func raw(t *testing.T, c *api.Client, method, path string, body []byte, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, c.Base+path, bytes.NewReader(body))
	if c.CSRF != "" {
		req.Header.Set(api.CSRFHeader, c.CSRF)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Transport.(api.HTTPTransport).Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func errCode(b []byte) string {
	var er api.ErrorResponse
	json.Unmarshal(b, &er)
	return er.Error.Code
}

func TestFilesTreeOverHTTP(t *testing.T) {
	e := newFilesEnv(t, false)
	ctx := context.Background()
	c := e.signIn("admin")
	var k api.Keys
	if err := c.Do(ctx, "GET", api.Prefix+"keys", nil, &k); apiCode(err) != api.CodeNoKeys {
		t.Fatalf("keys before: %v", err)
	}
	if err := c.Do(ctx, "POST", api.Prefix+"nodes", folderReq(newID()), nil); apiCode(err) != api.CodeNoKeys {
		t.Fatalf("node before keys: %v", err)
	}
	root := makeKeys(t, c)
	if err := c.Do(ctx, "GET", api.Prefix+"keys", nil, &k); err != nil || k.RootFolderID != root {
		t.Fatalf("keys: %+v %v", k, err)
	}
	// A replaced bundle needs the current one as base.
	if err := c.Do(ctx, "PUT", api.Prefix+"keys", api.PutKeysRequest{Bundle: rnd(10), BaseBundle: rnd(10)}, nil); apiCode(err) != api.CodeConflict {
		t.Fatalf("stale base bundle: %v", err)
	}
	req := folderReq(root)
	resp, b := raw(t, c, "POST", api.Prefix+"nodes", mustJSON(req), "Content-Type", "application/json")
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	dup := folderReq(root)
	dup.NameHMAC = req.NameHMAC
	if err := c.Do(ctx, "POST", api.Prefix+"nodes", dup, nil); apiCode(err) != api.CodeNameTaken {
		t.Fatalf("same name: %v", err)
	}
	var n api.Node
	if err := c.Do(ctx, "PATCH", api.Prefix+"nodes/"+req.ID, api.UpdateNodeRequest{BaseVersion: 1, Meta: rnd(9)}, &n); err != nil || n.Version != 2 {
		t.Fatalf("rename: %v", err)
	}
	err := c.Do(ctx, "PATCH", api.Prefix+"nodes/"+req.ID, api.UpdateNodeRequest{BaseVersion: 1, Meta: rnd(9)}, nil)
	var ae *api.Error
	if apiCode(err) != api.CodeConflict || !asAPIError(err, &ae) || ae.Node == nil || ae.Node.Version != 2 || ae.Node.ID != req.ID {
		t.Fatalf("stale change: %v %+v", err, ae)
	}
	// Children, paged.
	for range 3 {
		if err := c.Do(ctx, "POST", api.Prefix+"nodes", folderReq(req.ID), nil); err != nil {
			t.Fatal(err)
		}
	}
	var ch api.Children
	if err := c.Do(ctx, "GET", api.Prefix+"nodes/"+req.ID+"/children?limit=2", nil, &ch); err != nil || len(ch.Items) != 2 || ch.Next == "" {
		t.Fatalf("page 1: %+v %v", ch, err)
	}
	var ch2 api.Children
	if err := c.Do(ctx, "GET", api.Prefix+"nodes/"+req.ID+"/children?limit=2&after="+ch.Next, nil, &ch2); err != nil || len(ch2.Items) != 1 || ch2.Next != "" {
		t.Fatalf("page 2: %+v %v", ch2, err)
	}
	// Trash: base_version required, then trash, restore, delete forever.
	if err := c.Do(ctx, "DELETE", api.Prefix+"nodes/"+req.ID, nil, nil); apiCode(err) != api.CodeInvalid {
		t.Fatalf("trash without base_version: %v", err)
	}
	if err := c.Do(ctx, "DELETE", api.Prefix+"nodes/"+req.ID+"?base_version=2", nil, &n); err != nil || n.Trashed == nil {
		t.Fatalf("trash: %v", err)
	}
	if err := c.Do(ctx, "POST", api.Prefix+"nodes", folderReq(req.ID), nil); apiCode(err) != api.CodeInTrash {
		t.Fatalf("create in the trash: %v", err)
	}
	var tr []api.Node
	if err := c.Do(ctx, "GET", api.Prefix+"trash", nil, &tr); err != nil || len(tr) != 1 {
		t.Fatalf("trash list: %v %v", tr, err)
	}
	n = api.Node{}
	if err := c.Do(ctx, "POST", api.Prefix+"trash/"+req.ID+"/restore", nil, &n); err != nil || n.Trashed != nil || n.InTrash {
		t.Fatalf("restore: %v", err)
	}
	if err := c.Do(ctx, "DELETE", api.Prefix+"nodes/"+req.ID+"?base_version="+fmt.Sprint(n.Version), nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "DELETE", api.Prefix+"trash/"+req.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "GET", api.Prefix+"nodes/"+req.ID, nil, nil); apiCode(err) != api.CodeNotFound {
		t.Fatalf("deleted: %v", err)
	}
	if err := c.Do(ctx, "POST", api.Prefix+"trash/empty", nil, nil); err != nil {
		t.Fatal(err)
	}
	// A literal file: versions, no content.
	fid, vid := newID(), newID()
	if err := c.Do(ctx, "POST", api.Prefix+"nodes", api.CreateNodeRequest{ID: fid, Parent: root, Kind: api.KindFile, NameHMAC: rnd(32), Meta: rnd(5),
		Mode: api.ModeSecure, Version: &api.NewVersionBody{ID: vid, Meta: rnd(9)}}, &n); err != nil {
		t.Fatal(err)
	}
	var vs []api.Version
	if err := c.Do(ctx, "GET", api.Prefix+"nodes/"+fid+"/versions", nil, &vs); err != nil || len(vs) != 1 || vs[0].ID != vid {
		t.Fatalf("versions %v %v", vs, err)
	}
	if _, err := c.VersionContent(ctx, vid, 0, 10); apiCode(err) != api.CodeNotFound {
		t.Fatalf("content of a literal version: %v", err)
	}
	var ns []api.Node
	if err := c.Do(ctx, "GET", api.Prefix+"recent?limit=5", nil, &ns); err != nil || len(ns) != 1 {
		t.Fatalf("recent %v %v", ns, err)
	}
	if err := c.Do(ctx, "GET", api.Prefix+"favorites", nil, &ns); err != nil || len(ns) != 0 {
		t.Fatalf("favorites %v %v", ns, err)
	}
	var st api.FileSettings
	if err := c.Do(ctx, "GET", api.Prefix+"settings", nil, &st); err != nil || st.TrashDays != 30 || st.DefaultMode != api.ModeSecure {
		t.Fatalf("settings %+v %v", st, err)
	}
	st.TrashDays, st.DefaultMode = 7, api.ModeStandard
	if err := c.Do(ctx, "PUT", api.Prefix+"settings", st, &st); err != nil || st.TrashDays != 7 {
		t.Fatalf("put settings %+v %v", st, err)
	}
	var u api.Usage
	if err := c.Do(ctx, "GET", api.Prefix+"usage", nil, &u); err != nil || u.Used != 0 {
		t.Fatalf("usage %+v %v", u, err)
	}
	// Another user sees none of it.
	bob := e.signIn("bob")
	for _, p := range []string{"nodes/" + fid, "nodes/" + root + "/children", "nodes/" + fid + "/versions", "versions/" + vid + "/proof"} {
		if err := bob.Do(ctx, "GET", api.Prefix+p, nil, nil); apiCode(err) != api.CodeNotFound {
			t.Errorf("bob GET %s: %v", p, err)
		}
	}
	// Without a helper, uploads are refused plainly.
	if _, err := c.BeginUpload(ctx, newID(), api.BeginUploadRequest{Size: 1000}); apiCode(err) != api.CodeNoHelper {
		t.Fatalf("begin without a helper: %v", err)
	}
	// CSRF applies.
	c2 := *c
	c2.CSRF = "wrong"
	if err := c2.Do(ctx, "POST", api.Prefix+"nodes", folderReq(root), nil); apiCode(err) != api.CodeCSRF {
		t.Fatalf("no CSRF: %v", err)
	}
}

func asAPIError(err error, ae **api.Error) bool {
	e, ok := err.(*api.Error)
	*ae = e
	return ok
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestUploadsAndContentOverHTTP(t *testing.T) {
	e := newFilesEnv(t, true)
	ctx := context.Background()
	c := e.signIn("admin")
	root := makeKeys(t, c)

	// Raw chunks: the rules of PATCH.
	si := newID()
	const size = 200 << 10
	ct := rnd(size)
	if _, err := c.BeginUpload(ctx, si, api.BeginUploadRequest{Size: 50}); apiCode(err) != api.CodeInvalid {
		t.Fatalf("literal-sized begin: %v", err)
	}
	st, err := c.BeginUpload(ctx, si, api.BeginUploadRequest{Size: size})
	if err != nil || st.Size != size || st.Received != 0 || st.SegmentSize <= 0 {
		t.Fatalf("begin %+v %v", st, err)
	}
	patch := func(first, last, total int64, body []byte, ctype string) (int, []byte) {
		resp, b := raw(t, c, "PATCH", api.Prefix+"uploads/"+si, body, "Content-Type", ctype,
			"Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, total))
		return resp.StatusCode, b
	}
	if s, b := patch(0, 9, size, ct[:10], "text/plain"); s != 415 {
		t.Fatalf("text chunk: %d %s", s, b)
	}
	if s, b := patch(100, 199, size, ct[100:200], "application/octet-stream"); s != 416 || errCode(b) != api.CodeRange {
		t.Fatalf("gap: %d %s", s, b)
	}
	if s, b := patch(size-10, size+9, size, make([]byte, 20), "application/octet-stream"); s != 416 || errCode(b) != api.CodeRange {
		t.Fatalf("beyond the end: %d %s", s, b)
	}
	if s, b := patch(0, 9, size+1, ct[:10], "application/octet-stream"); s != 400 {
		t.Fatalf("wrong total: %d %s", s, b)
	}
	if s, b := patch(0, 99, size, ct[:100], "application/octet-stream"); s != 200 || !strings.Contains(string(b), `"received":100`) {
		t.Fatalf("chunk: %d %s", s, b)
	}
	if _, err := c.SendChunk(ctx, si, 100, size, ct[100:]); err != nil {
		t.Fatal(err)
	}
	if st, err := c.GetUpload(ctx, si); err != nil || st.Received != size {
		t.Fatalf("status %+v %v", st, err)
	}
	// Bob cannot touch it.
	bob := e.signIn("bob")
	if _, err := bob.GetUpload(ctx, si); apiCode(err) != api.CodeNotFound {
		t.Fatalf("bob's view of the upload: %v", err)
	}
	if _, err := bob.BeginUpload(ctx, si, api.BeginUploadRequest{Size: size}); apiCode(err) != api.CodeConflict {
		t.Fatalf("bob's begin of the same storage index: %v", err)
	}
	// A wrong crypttext hash discards the upload.
	if _, err := c.FinishUpload(ctx, si, api.FinishUploadRequest{CrypttextHash: rnd(32), CrypttextRootHash: rnd(32)}); apiCode(err) != api.CodeInvalid {
		t.Fatalf("two hashes: %v", err)
	}
	if _, err := c.FinishUpload(ctx, si, api.FinishUploadRequest{CrypttextRootHash: rnd(31)}); apiCode(err) != api.CodeInvalid {
		t.Fatalf("a short root hash: %v", err)
	}
	if _, err := c.FinishUpload(ctx, si, api.FinishUploadRequest{CrypttextHash: rnd(32)}); apiCode(err) != api.CodeIntegrity {
		t.Fatalf("wrong hash: %v\n%s", err, e.logs)
	}
	if _, err := c.GetUpload(ctx, si); apiCode(err) != api.CodeNotFound {
		t.Fatalf("after integrity failure: %v", err)
	}
	var u api.Usage
	if err := c.Do(ctx, "GET", api.Prefix+"usage", nil, &u); err != nil || u.Used != 0 {
		t.Fatalf("usage after the discarded upload %+v %v", u, err)
	}

	// The real engine.
	plain := rnd(300<<10 + 7)
	var key chk.Key
	rand.Read(key[:])
	up, err := tupload.New(tupload.Options{Client: c, Source: bytes.NewReader(plain), Size: int64(len(plain)), Key: key, ChunkSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	res, err := up.Run(ctx)
	if err != nil {
		t.Fatalf("%v\n%s", err, e.logs)
	}
	cipher := make([]byte, len(plain))
	transfer.GoCipher(key).XORKeyStreamAt(cipher, plain, 0)
	// Finishing again answers the same.
	if again, err := c.FinishUpload(ctx, res.StorageIndex, api.FinishUploadRequest{CrypttextHash: rnd(32)}); err != nil || again.VerifyCap != res.VerifyCap {
		t.Fatalf("finish again: %v", err)
	}
	fid, vid := newID(), newID()
	var n api.Node
	if err := c.Do(ctx, "POST", api.Prefix+"nodes", api.CreateNodeRequest{ID: fid, Parent: root, Kind: api.KindFile, NameHMAC: rnd(32), Meta: rnd(5),
		Mode: api.ModeSecure, Version: &api.NewVersionBody{ID: vid, StorageIndex: res.StorageIndex, Meta: rnd(9)}}, &n); err != nil {
		t.Fatal(err)
	}
	// The upload became the version.
	if _, err := c.GetUpload(ctx, res.StorageIndex); apiCode(err) != api.CodeNotFound {
		t.Fatalf("upload after use: %v", err)
	}
	resp, b := raw(t, c, "GET", api.Prefix+"versions/"+vid+"/content", nil, "Range", "bytes=1000-70999")
	if resp.StatusCode != 206 || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 1000-70999/%d", len(cipher)) || !bytes.Equal(b, cipher[1000:71000]) {
		t.Fatalf("range: %d %q %d bytes", resp.StatusCode, resp.Header.Get("Content-Range"), len(b))
	}
	resp, b = raw(t, c, "GET", api.Prefix+"versions/"+vid+"/content", nil, "Range", "bytes=-5")
	if resp.StatusCode != 206 || !bytes.Equal(b, cipher[len(cipher)-5:]) {
		t.Fatalf("suffix range: %d", resp.StatusCode)
	}
	resp, b = raw(t, c, "GET", api.Prefix+"versions/"+vid+"/content", nil)
	if resp.StatusCode != 200 || !bytes.Equal(b, cipher) {
		t.Fatalf("whole: %d %d bytes", resp.StatusCode, len(b))
	}
	resp, b = raw(t, c, "GET", api.Prefix+"versions/"+vid+"/content", nil, "Range", fmt.Sprintf("bytes=%d-", len(cipher)))
	if resp.StatusCode != 416 || errCode(b) != api.CodeRange || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes */%d", len(cipher)) {
		t.Fatalf("unsatisfiable: %d %s %q", resp.StatusCode, b, resp.Header.Get("Content-Range"))
	}
	p, err := c.VersionProof(ctx, vid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chk.CheckProof(res.Cap.(cap.CHK).Verifier(), p.UEB, p.SegmentHashes); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.VersionContent(ctx, vid, 0, 10); apiCode(err) != api.CodeNotFound {
		t.Fatalf("bob reads the content: %v", err)
	}

	// Quota: set by the administrator, refused at begin.
	users, _ := c.Users(ctx)
	var admin api.User
	for _, u := range users {
		if u.Name == "admin" {
			admin = u
		}
	}
	if admin.Used != int64(len(plain)) {
		t.Fatalf("admin's usage in the list: %+v", admin)
	}
	q := int64(len(plain) + 1000)
	if u, err := c.UpdateUser(ctx, admin.ID, api.UpdateUserRequest{Quota: &q}); err != nil || u.Quota != q {
		t.Fatalf("quota: %+v %v", u, err)
	}
	err = c.Do(ctx, "POST", api.Prefix+"uploads/"+newID(), api.BeginUploadRequest{Size: 2000}, nil)
	if apiCode(err) != api.CodeQuotaExceeded {
		t.Fatalf("begin over the quota: %v", err)
	}
	// Aborting an upload frees its room.
	si2 := newID()
	if _, err := c.BeginUpload(ctx, si2, api.BeginUploadRequest{Size: 900}); err != nil {
		t.Fatal(err)
	}
	if err := c.AbortUpload(ctx, si2); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "GET", api.Prefix+"usage", nil, &u); err != nil || u.Used != int64(len(plain)) || u.Quota != q {
		t.Fatalf("usage after abort %+v %v", u, err)
	}
	for _, secret := range []string{string(cipher[:16])} {
		if strings.Contains(e.logs.String(), secret) {
			t.Fatal("the log holds ciphertext")
		}
	}
}

func TestSessionKeyAndUnlock(t *testing.T) {
	e := newFilesEnv(t, false)
	ctx := context.Background()
	c := e.signIn("admin")
	k1, err := c.SessionKey(ctx)
	if err != nil || len(k1) != 32 {
		t.Fatalf("%x %v", k1, err)
	}
	if k, _ := c.SessionKey(ctx); !bytes.Equal(k, k1) {
		t.Fatal("the key changed within the session")
	}
	// Without a body too.
	resp, b := raw(t, c, "POST", api.Prefix+"session/key", nil)
	var sk api.SessionKey
	if json.Unmarshal(b, &sk); resp.StatusCode != 200 || !bytes.Equal(sk.Key, k1) {
		t.Fatalf("bodiless: %d %s", resp.StatusCode, b)
	}
	other := e.client()
	if _, err := other.Login(ctx, "admin", strong); err != nil {
		t.Fatal(err)
	}
	if k, _ := other.SessionKey(ctx); bytes.Equal(k, k1) {
		t.Fatal("two sessions share a key")
	}
	if err := c.Do(ctx, "POST", api.Prefix+"unlock", api.UnlockRequest{EscrowKey: rnd(31)}, nil); apiCode(err) != api.CodeInvalid {
		t.Fatalf("short escrow key: %v", err)
	}
	if err := c.Do(ctx, "POST", api.Prefix+"unlock", api.UnlockRequest{EscrowKey: rnd(32)}, nil); err != nil {
		t.Fatal(err)
	}
	if e.files.Escrow.Len() != 1 || e.files.SessionKeys.Len() != 2 {
		t.Fatalf("escrow %d, session keys %d", e.files.Escrow.Len(), e.files.SessionKeys.Len())
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if e.files.Escrow.Len() != 0 || e.files.SessionKeys.Len() != 1 {
		t.Fatalf("after sign-out: escrow %d, session keys %d", e.files.Escrow.Len(), e.files.SessionKeys.Len())
	}
	if _, err := c.SessionKey(ctx); apiCode(err) != api.CodeUnauthenticated {
		t.Fatalf("key without a session: %v", err)
	}
	if _, err := c.Login(ctx, "admin", strong); err != nil {
		t.Fatal(err)
	}
	if k, _ := c.SessionKey(ctx); bytes.Equal(k, k1) {
		t.Fatal("a new session got the old key")
	}
	// A password change ends the other sessions, and their keys.
	root := makeKeys(t, c)
	_ = root
	if err := c.Do(ctx, "POST", api.Prefix+"password", api.ChangePasswordRequest{Current: strong, New: strong + "-2", Bundle: rnd(20)}, nil); err != nil {
		t.Fatal(err)
	}
	if e.files.SessionKeys.Len() != 1 {
		t.Fatalf("session keys after a password change: %d", e.files.SessionKeys.Len())
	}
}

func TestPasswordsAndAccounts(t *testing.T) {
	e := newFilesEnv(t, false)
	ctx := context.Background()
	admin := e.signIn("admin")
	// Administrator-made accounts must change their password before keys.
	u, err := admin.CreateUser(ctx, api.CreateUserRequest{Name: "carol", Password: strong})
	if err != nil || !u.MustChangePassword {
		t.Fatalf("create %+v %v", u, err)
	}
	c := e.client()
	st, err := c.Login(ctx, "carol", strong)
	if err != nil || !st.User.MustChangePassword {
		t.Fatalf("login %+v %v", st.User, err)
	}
	req := api.PutKeysRequest{Bundle: rnd(10), RecoveryAuth: rnd(32), RootFolder: &api.CreateNodeRequest{ID: newID(), Kind: api.KindFolder, Mode: api.ModeSecure}}
	if err := c.Do(ctx, "PUT", api.Prefix+"keys", req, nil); apiCode(err) != api.CodeMustChangePassword {
		t.Fatalf("keys first: %v", err)
	}
	if err := c.Do(ctx, "POST", api.Prefix+"password", api.ChangePasswordRequest{Current: strong, New: strong + "-c"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "PUT", api.Prefix+"keys", req, nil); err != nil {
		t.Fatal(err)
	}
	// With keys, a password change needs the re-wrapped bundle.
	if err := c.Do(ctx, "POST", api.Prefix+"password", api.ChangePasswordRequest{Current: strong + "-c", New: strong + "-d"}, nil); apiCode(err) != api.CodeInvalid {
		t.Fatalf("change without bundle: %v", err)
	}
	nb := rnd(30)
	if err := c.Do(ctx, "POST", api.Prefix+"password", api.ChangePasswordRequest{Current: strong + "-c", New: strong + "-d", Bundle: nb}, nil); err != nil {
		t.Fatal(err)
	}
	var k api.Keys
	if err := c.Do(ctx, "GET", api.Prefix+"keys", nil, &k); err != nil || !bytes.Equal(k.Bundle, nb) {
		t.Fatalf("bundle after the change: %v", err)
	}

	// Recovery: no session needed, wrong proofs refused and throttled.
	ra := rnd(32)
	if err := c.Do(ctx, "PUT", api.Prefix+"keys", api.PutKeysRequest{Bundle: nb, BaseBundle: nb, RecoveryAuth: ra}, nil); err != nil {
		t.Fatal(err)
	}
	anon := e.client()
	var rr api.RecoverResponse
	if err := anon.Do(ctx, "POST", api.Prefix+"keys/recover", api.RecoverRequest{Name: "carol", RecoveryAuth: rnd(32)}, nil); apiCode(err) != api.CodeRecovery {
		t.Fatalf("wrong proof: %v", err)
	}
	if err := anon.Do(ctx, "POST", api.Prefix+"keys/recover", api.RecoverRequest{Name: "carol", RecoveryAuth: ra}, &rr); err != nil || !bytes.Equal(rr.Bundle, nb) || rr.State != nil {
		t.Fatalf("recover: %v", err)
	}
	nb2 := rnd(30)
	if err := anon.Do(ctx, "POST", api.Prefix+"keys/recover", api.RecoverRequest{Name: "carol", RecoveryAuth: ra, NewPassword: "Brand-New-Lantern-42", Bundle: nb2}, &rr); err != nil || rr.State == nil || rr.State.CSRFToken == "" {
		t.Fatalf("reset: %+v %v", rr, err)
	}
	anon.CSRF = rr.State.CSRFToken
	if err := anon.Do(ctx, "GET", api.Prefix+"keys", nil, &k); err != nil || !bytes.Equal(k.Bundle, nb2) {
		t.Fatalf("signed in by the reset: %v", err)
	}
	if err := c.Do(ctx, "GET", api.Prefix+"keys", nil, nil); apiCode(err) != api.CodeUnauthenticated {
		t.Fatalf("the old session survived the reset: %v", err)
	}
	for i := 0; i < 10 && apiCode(err) != api.CodeThrottled; i++ {
		err = e.client().Do(ctx, "POST", api.Prefix+"keys/recover", api.RecoverRequest{Name: "carol", RecoveryAuth: rnd(32)}, nil)
	}
	if apiCode(err) != api.CodeThrottled {
		t.Fatalf("recovery not throttled: %v", err)
	}
}

var leaseSecret = broker.LeaseSecret(rnd(32))

// An upload finished by its crypttext root hash (what the browser's upload
// worker gives): the segments are cut by the session's segment size; a
// wrong root discards the upload, the right one stores it.
func TestUploadFinishedByRootHash(t *testing.T) {
	e := newFilesEnv(t, true)
	ctx := context.Background()
	c := e.signIn("admin")
	makeKeys(t, c)
	send := func(ct []byte) (string, int64) {
		si := newID()
		st, err := c.BeginUpload(ctx, si, api.BeginUploadRequest{Size: int64(len(ct)), K: 2, N: 2, SegmentSize: 1000})
		if err != nil || st.SegmentSize != 1000 {
			t.Fatalf("begin %+v %v", st, err)
		}
		if _, err := c.SendChunk(ctx, si, 0, int64(len(ct)), ct); err != nil {
			t.Fatal(err)
		}
		return si, st.SegmentSize
	}
	root := func(ct []byte, seg int64) []byte {
		var leaves []hashtree.Hash
		for off := int64(0); off < int64(len(ct)); off += seg {
			inner := sha256.Sum256(append(chk.SegmentHashPrefix(), ct[off:min(off+seg, int64(len(ct)))]...))
			leaves = append(leaves, sha256.Sum256(inner[:]))
		}
		r := hashtree.Root(leaves)
		return r[:]
	}
	ct := rnd(10_500)
	si, seg := send(ct)
	wrong := root(ct[:len(ct)-1], seg)
	if _, err := c.FinishUpload(ctx, si, api.FinishUploadRequest{CrypttextRootHash: wrong}); apiCode(err) != api.CodeIntegrity {
		t.Fatalf("wrong root: %v\n%s", err, e.logs)
	}
	if _, err := c.GetUpload(ctx, si); apiCode(err) != api.CodeNotFound {
		t.Fatalf("after a wrong root: %v", err)
	}
	si, seg = send(ct)
	up, err := c.FinishUpload(ctx, si, api.FinishUploadRequest{CrypttextRootHash: root(ct, seg)})
	if err != nil {
		t.Fatalf("right root: %v\n%s", err, e.logs)
	}
	u, err := chk.ParseUEB(up.UEB)
	if err != nil || u.SegmentSize != 1000 || u.K != 2 {
		t.Fatalf("UEB %+v %v", u, err)
	}
}
