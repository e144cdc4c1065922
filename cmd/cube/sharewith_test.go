package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/communitycube/cube/shared/api"
)

func TestShareWithCLI(t *testing.T) {
	n := startNode(t)
	ctx := context.Background()
	// Bob: made by the administrator, then his own password (accounts made
	// by an administrator choose theirs before they get keys).
	jar, _ := cookiejar.New(nil)
	c := &api.Client{Base: n.URL, Transport: api.HTTPTransport{Client: &http.Client{Jar: jar}}}
	if _, err := c.Login(ctx, "admin", testPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateUser(ctx, api.CreateUserRequest{Name: "bob", Password: "Initial-Lantern-Meadow-83"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, "bob", "Initial-Lantern-Meadow-83"); err != nil {
		t.Fatal(err)
	}
	if err := c.ChangePassword(ctx, "Initial-Lantern-Meadow-83", testPassword); err != nil {
		t.Fatal(err)
	}
	alice, bob := filepath.Join(n.Dir, "alice"), filepath.Join(n.Dir, "bob")
	n.login(alice)
	pw := filepath.Join(n.Dir, "pw")
	os.WriteFile(pw, []byte(testPassword+"\n"), 0o600)
	n.mustCube("login", "--server", n.URL, "--user", "bob", "--password-file", pw, "--config", bob)

	n.mustCube("mkdir", "--config", alice, "/Docs")
	if _, err := n.cube("share-with", "--config", alice, "nobody", "/Docs"); err == nil {
		t.Error("sharing with nobody worked")
	}
	out := n.mustCube("share-with", "--config", alice, "bob", "/Docs", "--write")
	if !strings.Contains(out, `Shared "Docs" with bob (can edit)`) || !strings.Contains(out, "key fingerprint") {
		t.Errorf("share-with printed %q", out)
	}
	out = n.mustCube("shared", "--config", bob)
	if !strings.Contains(out, "Docs/") || !strings.Contains(out, "admin") || !strings.Contains(out, "can edit") {
		t.Errorf("shared printed %q", out)
	}
	if out := n.mustCube("shared", "--config", alice); strings.Contains(out, "Docs") {
		t.Errorf("alice's shared lists her own folder: %q", out)
	}
}
