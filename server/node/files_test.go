package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/transfer"
	"github.com/communitycube/cube/shared/transfer/upload"
)

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return cap.EncodeBase32(b)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func newClient(url string) *api.Client {
	jar, _ := cookiejar.New(nil)
	return &api.Client{Base: url, Transport: api.HTTPTransport{Client: &http.Client{Jar: jar}}}
}

func apiCode(err error) string {
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// waitForServers waits until the node's broker knows a storage server (its
// own, announced through its own introducer): uploads need one.
func waitForServers(t *testing.T, c *api.Client) {
	t.Helper()
	ctx := context.Background()
	for i := 0; ; i++ {
		st, err := c.GridStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Servers) > 0 {
			return
		}
		if i > 600 {
			t.Fatal("the node found no storage server")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestFilesEndToEnd runs an all-in-one node and uses the Files API as the
// browser does: keys, a folder, an upload through the real upload engine,
// the file node, its ciphertext by range and its proof; the file is still
// there after a restart.
func TestFilesEndToEnd(t *testing.T) {
	dir := t.TempDir()
	r := start(t, Config{Data: dir})
	ctx := context.Background()
	c := newClient(r.url)
	if _, err := c.Setup(ctx, "admin", "Quartz-Lantern-Meadow-71"); err != nil {
		t.Fatal(err)
	}
	var keys api.Keys
	if err := c.Do(ctx, "GET", api.Prefix+"keys", nil, &keys); apiCode(err) != api.CodeNoKeys {
		t.Fatalf("GET keys before any: %v", err)
	}
	rootID := randomID()
	put := api.PutKeysRequest{
		Bundle:       randomBytes(300),
		RecoveryAuth: randomBytes(32),
		RootFolder:   &api.CreateNodeRequest{ID: rootID, Kind: api.KindFolder, Meta: randomBytes(40), Mode: api.ModeSecure},
	}
	if err := c.Do(ctx, "PUT", api.Prefix+"keys", put, &keys); err != nil {
		t.Fatal(err)
	}
	if keys.RootFolderID != rootID || !bytes.Equal(keys.Bundle, put.Bundle) {
		t.Fatalf("keys %+v", keys)
	}
	folderID := randomID()
	var folder api.Node
	err := c.Do(ctx, "POST", api.Prefix+"nodes", api.CreateNodeRequest{ID: folderID, Parent: rootID, Kind: api.KindFolder,
		NameHMAC: randomBytes(32), Meta: randomBytes(100), WrappedKey: randomBytes(72), Mode: api.ModeSecure}, &folder)
	if err != nil {
		t.Fatal(err)
	}
	if folder.ID != folderID || folder.Parent != rootID || folder.Version != 1 {
		t.Fatalf("folder %+v", folder)
	}

	// Session key: the same within a session.
	k1, err := c.SessionKey(ctx)
	if err != nil || len(k1) != 32 {
		t.Fatalf("session key %x %v", k1, err)
	}
	if k2, _ := c.SessionKey(ctx); !bytes.Equal(k1, k2) {
		t.Fatal("the session key changed within a session")
	}

	waitForServers(t, c)
	plain := randomBytes(3<<20 + 12345)
	var key chk.Key
	rand.Read(key[:])
	up, err := upload.New(upload.Options{Client: c, Source: bytes.NewReader(plain), Size: int64(len(plain)), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	res, err := up.Run(ctx)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	cipher := make([]byte, len(plain))
	transfer.GoCipher(key).XORKeyStreamAt(cipher, plain, 0)
	var usage api.Usage
	if err := c.Do(ctx, "GET", api.Prefix+"usage", nil, &usage); err != nil || usage.Used != int64(len(plain)) {
		t.Fatalf("usage after the upload: %+v %v", usage, err)
	}

	fileID, vid := randomID(), randomID()
	var file api.Node
	err = c.Do(ctx, "POST", api.Prefix+"nodes", api.CreateNodeRequest{ID: fileID, Parent: folderID, Kind: api.KindFile,
		NameHMAC: randomBytes(32), Meta: randomBytes(100), Mode: api.ModeSecure,
		Version: &api.NewVersionBody{ID: vid, StorageIndex: res.StorageIndex, Meta: randomBytes(120)}}, &file)
	if err != nil {
		t.Fatal(err)
	}
	if file.Current == nil || file.Current.ID != vid || file.Size != int64(len(plain)) || file.Current.VerifyCap != res.VerifyCap {
		t.Fatalf("file %+v", file)
	}
	if err := c.Do(ctx, "GET", api.Prefix+"usage", nil, &usage); err != nil || usage.Used != int64(len(plain)) {
		t.Fatalf("usage after the file: %+v %v", usage, err)
	}

	check := func(c *api.Client) {
		t.Helper()
		off, n := int64(1<<20-100), int64(1<<20+777)
		got, err := c.VersionContent(ctx, vid, off, n)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, cipher[off:off+n]) {
			t.Fatalf("range content differs (%d bytes)", len(got))
		}
		tail, err := c.VersionContent(ctx, vid, int64(len(cipher))-10, 100)
		if err != nil || !bytes.Equal(tail, cipher[len(cipher)-10:]) {
			t.Fatalf("tail %d bytes, %v", len(tail), err)
		}
		if _, err := c.VersionContent(ctx, vid, int64(len(cipher)), 10); apiCode(err) != api.CodeRange {
			t.Fatalf("range beyond the end: %v", err)
		}
		p, err := c.VersionProof(ctx, vid)
		if err != nil {
			t.Fatal(err)
		}
		rc := res.Cap.(cap.CHK)
		proof, err := chk.CheckProof(rc.Verifier(), p.UEB, p.SegmentHashes)
		if err != nil {
			t.Fatal(err)
		}
		if p.Size != int64(len(plain)) || p.SegmentSize != proof.Layout.SegmentSize {
			t.Fatalf("proof %d %d", p.Size, p.SegmentSize)
		}
		for i := 0; i < proof.Layout.NumSegments; i++ {
			o, l := proof.Segment(i)
			if err := proof.CheckSegment(i, cipher[o:o+l]); err != nil {
				t.Fatal(err)
			}
		}
		var info api.NodeInfo
		if err := c.Do(ctx, "GET", api.Prefix+"nodes/"+fileID, nil, &info); err != nil {
			t.Fatal(err)
		}
		if len(info.Ancestors) != 2 || info.Ancestors[0].ID != rootID || info.Ancestors[1].ID != folderID || info.Node.Current.ID != vid {
			t.Fatalf("node info %+v", info)
		}
	}
	check(c)

	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	// The log holds no key, bundle or read cap.
	logs := r.logs.String()
	for _, secret := range []string{base64.StdEncoding.EncodeToString(put.Bundle), base64.StdEncoding.EncodeToString(k1),
		res.Cap.String(), cap.EncodeBase32(key[:]), base64.StdEncoding.EncodeToString(cipher[:30])} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds a secret %q", secret)
		}
	}
	r = start(t, Config{Data: dir})
	c = newClient(r.url)
	if _, err := c.Login(ctx, "admin", "Quartz-Lantern-Meadow-71"); err != nil {
		t.Fatal(err)
	}
	if k3, err := c.SessionKey(ctx); err != nil || bytes.Equal(k3, k1) {
		t.Fatalf("a new session after a restart has the old session key (%v)", err)
	}
	waitForServers(t, c)
	check(c)
}
