package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseWhenAndSize(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"7d":                   now.AddDate(0, 0, 7),
		"24h":                  now.Add(24 * time.Hour),
		"2026-12-31T18:00:00Z": time.Date(2026, 12, 31, 18, 0, 0, 0, time.UTC),
	} {
		if got, err := parseWhen(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseWhen(%q) = %v, %v", in, got, err)
		}
	}
	if got, err := parseWhen("2026-12-31", now); err != nil || got.Local().Format("2006-01-02 15:04:05") != "2026-12-31 23:59:59" {
		t.Errorf("parseWhen(date) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "tomorrow", "-3d", "0h", "2026-13-01"} {
		if _, err := parseWhen(bad, now); err == nil {
			t.Errorf("parseWhen(%q) accepted", bad)
		}
	}
	for in, want := range map[string]int64{"1048576": 1 << 20, "1G": 1e9, "500MB": 500e6, "2GiB": 2 << 30, "1.5k": 1500, "10 MiB": 10 << 20} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "G", "1X", "-1", "abc"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}

func TestShareCLI(t *testing.T) {
	n := startNode(t)
	cfg := filepath.Join(n.Dir, "cfg")
	n.login(cfg)
	c := []string{"--config", cfg}
	run := func(args ...string) string { return n.mustCube(append(args[:1:1], append(c, args[1:]...)...)...) }
	local := t.TempDir()
	big, bigData := randomFile(t, local, "big.bin", 400_000)
	small, smallData := randomFile(t, local, "small.txt", 30)
	run("mkdir", "-p", "/Docs/Sub")
	run("put", "--no-scrub", big, "/Docs/big.bin")
	run("put", "--no-scrub", small, "/Docs/Sub/small.txt")

	// A file link, downloaded by someone without an account.
	fileURL := strings.TrimSpace(run("share", "/Docs/big.bin", "--expires", "7d"))
	if !strings.HasPrefix(fileURL, n.URL+"/s/") || !strings.Contains(fileURL, "#") {
		t.Fatalf("share printed %q", fileURL)
	}
	dl := t.TempDir()
	n.mustCube("get", fileURL, dl)
	if got, err := os.ReadFile(filepath.Join(dl, "big.bin")); err != nil || !bytes.Equal(got, bigData) {
		t.Fatalf("get URL: %d bytes, %v", len(got), err)
	}
	if _, err := n.cube("get", fileURL, dl); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Fatalf("get over an existing file: %v", err)
	}
	n.mustCube("get", fileURL, dl, "--force")

	// A folder link becomes a directory tree.
	folderURL := strings.TrimSpace(run("share", "/Docs"))
	out := filepath.Join(dl, "docs-copy")
	n.mustCube("get", folderURL, out)
	for p, want := range map[string][]byte{"big.bin": bigData, "Sub/small.txt": smallData} {
		if got, err := os.ReadFile(filepath.Join(out, p)); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("folder link, %s: %d bytes, %v", p, len(got), err)
		}
	}

	// A link without key in the URL.
	lines := strings.Split(strings.TrimSpace(run("share", "--no-key", "/Docs/Sub/small.txt")), "\n")
	if len(lines) != 2 || strings.Contains(lines[0], "#") || !strings.HasPrefix(lines[1], "key: ") {
		t.Fatalf("share --no-key printed %q", lines)
	}
	key := strings.TrimPrefix(lines[1], "key: ")
	if _, err := n.cube("get", lines[0], dl); err == nil || !strings.Contains(err.Error(), "--key") {
		t.Fatalf("get without the key: %v", err)
	}
	if _, err := n.cube("get", lines[0], dl, "--key", "AAAA"+key[4:]); err == nil || !strings.Contains(err.Error(), "does not open") {
		t.Fatalf("get with a wrong key: %v", err)
	}
	n.mustCube("get", lines[0], filepath.Join(dl, "k.txt"), "--key", key)
	if got, _ := os.ReadFile(filepath.Join(dl, "k.txt")); !bytes.Equal(got, smallData) {
		t.Fatal("get --key: the bytes differ")
	}

	// A password link.
	pwf, bad := filepath.Join(n.Dir, "linkpw"), filepath.Join(n.Dir, "badpw")
	os.WriteFile(pwf, []byte("a link password\n"), 0o600)
	os.WriteFile(bad, []byte("not it\n"), 0o600)
	pwURL := strings.TrimSpace(run("share", "--password-file", pwf, "--max-downloads", "5", "/Docs/big.bin"))
	if strings.Contains(pwURL, "#") {
		t.Fatalf("a password link's URL has a key: %s", pwURL)
	}
	if _, err := n.cube("get", pwURL, dl); err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("get a password link without password: %v", err)
	}
	if _, err := n.cube("get", pwURL, dl, "--password-file", bad); err == nil || !strings.Contains(err.Error(), "wrong password") {
		t.Fatalf("get with a wrong password: %v", err)
	}
	n.mustCube("get", pwURL, filepath.Join(dl, "p.bin"), "--password-file", pwf)
	if got, _ := os.ReadFile(filepath.Join(dl, "p.bin")); !bytes.Equal(got, bigData) {
		t.Fatal("password link: the bytes differ")
	}

	// A drop, the list, and removal.
	dropURL := strings.TrimSpace(run("share", "--drop", "/Docs/Sub", "--max-total", "1G", "--max-files", "10"))
	if strings.Contains(dropURL, "#") {
		t.Fatalf("a drop's URL: %s", dropURL)
	}
	if _, err := n.cube("get", dropURL, dl); err == nil || !strings.Contains(err.Error(), "upload link") {
		t.Fatalf("get a drop link: %v", err)
	}
	list := run("links")
	for _, want := range []string{"big.bin", "Docs", "small.txt", "Sub", "folder", "drop", "(password)", "(key apart)", "1/5", "active"} {
		if !strings.Contains(list, want) {
			t.Fatalf("links lacks %q:\n%s", want, list)
		}
	}
	if got := len(strings.Split(strings.TrimSpace(list), "\n")); got != 6 {
		t.Fatalf("links has %d lines:\n%s", got, list)
	}
	id := fileURL[len(n.URL+"/s/"):strings.Index(fileURL, "#")]
	run("unshare", id)
	if _, err := n.cube("get", fileURL, t.TempDir()); err == nil || !strings.Contains(err.Error(), "removed") {
		t.Fatalf("get a removed link: %v", err)
	}
	if strings.Contains(run("links"), id) {
		t.Fatal("a removed link is still listed")
	}
}
