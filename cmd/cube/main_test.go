package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/communitycube/cube/server/auth"
	"github.com/communitycube/cube/server/db"
	"github.com/communitycube/cube/server/node"
)

func TestDispatchErrors(t *testing.T) {
	ctx := context.Background()
	var ue usageError
	if err := dispatch(ctx, nil); !errors.As(err, &ue) {
		t.Fatalf("no command: %v", err)
	}
	if err := dispatch(ctx, []string{"frobnicate"}); !errors.As(err, &ue) || !strings.Contains(err.Error(), "frobnicate") {
		t.Fatalf("unknown command: %v", err)
	}
	if err := dispatch(ctx, []string{"run", "extra-arg"}); !errors.As(err, &ue) {
		t.Fatalf("stray argument: %v", err)
	}
	if err := dispatch(ctx, []string{"user", "add", "--name", "x"}); !errors.As(err, &ue) {
		t.Fatalf("missing --password-file: %v", err)
	}
}

func TestReadPasswordFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		return p
	}
	for _, c := range []struct{ content, want string }{
		{"secret words here\n", "secret words here"},
		{"secret words here\r\n", "secret words here"},
		{"secret words here", "secret words here"},
		{"  spaces kept  \n", "  spaces kept  "},
	} {
		got, err := readPasswordFile(write("p", c.content))
		if err != nil || got != c.want {
			t.Errorf("%q: got %q, %v", c.content, got, err)
		}
	}
	if _, err := readPasswordFile(write("empty", "\n")); err == nil {
		t.Error("an empty password file was accepted")
	}
	if _, err := readPasswordFile(write("big", strings.Repeat("x", 5000))); err == nil {
		t.Error("a 5000-byte password file was accepted")
	}
	if _, err := readPasswordFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file was accepted")
	}
}

func TestUserAddClosesSetup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("Quartz-Lantern-Meadow-71\n"), 0o600)
	if err := dispatch(ctx, []string{"user", "add", "--data", dir, "--name", "root", "--password-file", pw, "--admin"}); err != nil {
		t.Fatal(err)
	}
	weak := filepath.Join(t.TempDir(), "weak")
	os.WriteFile(weak, []byte("password1\n"), 0o600)
	if err := dispatch(ctx, []string{"user", "add", "--data", dir, "--name", "bob", "--password-file", weak}); err == nil {
		t.Fatal("a weak password was accepted")
	}
	d, err := db.Open(ctx, filepath.Join(dir, node.DBFile), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := auth.New(d, auth.NewHasher(1, 64, 1))
	if need, _ := s.SetupNeeded(ctx); need {
		t.Fatal("adding an administrator left setup open")
	}
	if _, err := s.Authenticate(ctx, "root", "Quartz-Lantern-Meadow-71", "127.0.0.1:1"); err != nil {
		t.Fatalf("the new administrator cannot sign in: %v", err)
	}
	if us, _ := s.Users(ctx); len(us) != 1 {
		t.Fatalf("users: %+v", us)
	}
}
