package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/communitycube/cube/internal/cubetest"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/scrub"
	"github.com/communitycube/cube/shared/vault"
)

// testNode is a node (internal/cubetest) with the CLI under test.
type testNode struct {
	*cubetest.Node
	t *testing.T
}

func startNode(t *testing.T) *testNode {
	t.Helper()
	return &testNode{Node: cubetest.Start(t), t: t}
}

const testPassword = cubetest.Password

// cube runs the CLI (the binary under test) and returns its standard output.
func (n *testNode) cube(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.Bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("cube %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

func (n *testNode) mustCube(args ...string) string {
	n.t.Helper()
	out, err := n.cube(args...)
	if err != nil {
		n.t.Fatal(err)
	}
	return out
}

func (n *testNode) login(config string) string {
	n.t.Helper()
	pw := filepath.Join(n.Dir, "pw")
	os.WriteFile(pw, []byte(testPassword+"\n"), 0o600)
	return n.mustCube("login", "--server", n.URL, "--user", "admin", "--password-file", pw, "--config", config)
}

func randomFile(t *testing.T, dir, name string, size int) (string, []byte) {
	b := make([]byte, size)
	rand.Read(b)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

func lines(s string) []string { return strings.Fields(s) }

func TestAccountCLI(t *testing.T) {
	n := startNode(t)
	cfg := filepath.Join(n.Dir, "cfg")
	out := n.login(cfg)
	if !regexp.MustCompile(`[0-9A-Z]{4}(-[0-9A-Z]{4}){13}`).MatchString(out) || !strings.Contains(out, "lost") {
		t.Fatalf("first login did not show the recovery key and the warning:\n%s", out)
	}
	for _, f := range []string{accountFile, sessionKeyFile} {
		st, err := os.Stat(filepath.Join(cfg, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, st.Mode(), err)
		}
	}
	c := []string{"--config", cfg}
	run := func(args ...string) string { return n.mustCube(append(args[:1:1], append(c, args[1:]...)...)...) }

	run("mkdir", "/Docs")
	if _, err := n.cube("mkdir", "--config", cfg, "/docs"); err == nil {
		t.Fatal("a second folder of the same (case-folded) name was made")
	}
	run("mkdir", "-p", "/Docs/a/b")
	local := t.TempDir()
	big, bigData := randomFile(t, local, "big.bin", 700_000)
	small, smallData := randomFile(t, local, "small.txt", 40)
	empty, _ := randomFile(t, local, "empty", 0)
	run("put", "--no-scrub", big, "/Docs") // into a folder: keeps its name
	run("put", small, "/Docs/notes.txt")   // a new name
	run("put", empty, "/Docs/a/b/")        // a 0-byte file
	if got := lines(run("ls", "/Docs")); strings.Join(got, " ") != "a/ big.bin notes.txt" {
		t.Fatalf("ls /Docs: %q", got)
	}
	if l := run("ls", "-l", "/Docs"); !strings.Contains(l, "700000") || !strings.Contains(l, "secure") {
		t.Fatalf("ls -l:\n%s", l)
	}
	if got := run("get", "/Docs/big.bin"); got != string(bigData) {
		t.Fatal("get to standard output: the bytes differ")
	}
	dl := filepath.Join(local, "out")
	os.Mkdir(dl, 0o755)
	run("get", "/Docs/notes.txt", filepath.Join(dl, "n.txt"))
	run("get", "/Docs/big.bin", dl)
	run("get", "/Docs/a/b/empty", dl)
	for name, want := range map[string][]byte{"n.txt": smallData, "big.bin": bigData, "empty": {}} {
		got, err := os.ReadFile(filepath.Join(dl, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("get %s: %d bytes, %v", name, len(got), err)
		}
	}
	if ents, _ := os.ReadDir(dl); len(ents) != 3 {
		t.Fatalf("get left other files: %v", ents)
	}

	// A JPEG with GPS: scrubbed by default, kept as is with --no-scrub.
	jpeg := filepath.Join("..", "..", "shared", "scrub", "testdata", "jpeg-progressive.jpg")
	orig, err := os.ReadFile(jpeg)
	if err != nil {
		t.Fatal(err)
	}
	run("put", jpeg, "/photo.jpg")
	run("put", "--no-scrub", jpeg, "/photo-raw.jpg")
	got := run("get", "/photo.jpg")
	if strings.Contains(got, "SCRUBME") || !strings.HasPrefix(got, "\xff\xd8\xff") || len(got) >= len(orig) {
		t.Fatalf("the scrubbed JPEG (%d bytes, original %d) kept metadata or is not a JPEG", len(got), len(orig))
	}
	plan, err := scrub.Scrub(bytes.NewReader(orig), int64(len(orig)), "photo.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := io.ReadAll(plan.Reader(bytes.NewReader(orig))); got != string(want) {
		t.Fatal("the scrubbed JPEG read back is not what scrubbing makes of it")
	}
	if v := run("versions", "/photo.jpg"); !strings.Contains(v, "GPS") {
		t.Fatalf("versions does not say GPS was removed:\n%s", v)
	}
	if got := run("get", "/photo-raw.jpg"); got != string(orig) {
		t.Fatal("--no-scrub changed the file")
	}

	// A second put to a file's path is a new version.
	small2, small2Data := randomFile(t, local, "small2.txt", 5000)
	run("put", small2, "/Docs/notes.txt")
	if v := strings.Split(strings.TrimSpace(run("versions", "/Docs/notes.txt")), "\n"); len(v) != 3 || !strings.Contains(v[1], "current") {
		t.Fatalf("versions after a second put:\n%s", strings.Join(v, "\n"))
	}
	if got := run("get", "/Docs/notes.txt"); got != string(small2Data) {
		t.Fatal("get after a new version: the bytes differ")
	}

	// Rename, move, trash, restore.
	run("mv", "/Docs/notes.txt", "/Docs/renamed.txt")
	run("mkdir", "/Archive")
	run("mv", "/Docs/renamed.txt", "/Archive")
	run("mv", "/Docs/big.bin", "/Archive/moved.bin")
	if got := lines(run("ls", "/Archive")); strings.Join(got, " ") != "moved.bin renamed.txt" {
		t.Fatalf("ls /Archive: %q", got)
	}
	if got := lines(run("ls", "/Docs")); strings.Join(got, " ") != "a/" {
		t.Fatalf("ls /Docs after moves: %q", got)
	}
	run("rm", "/Archive")
	if got := run("ls", "/"); strings.Contains(got, "Archive") {
		t.Fatalf("ls after rm:\n%s", got)
	}
	if tr := run("trash"); !strings.Contains(tr, "Archive/") {
		t.Fatalf("trash:\n%s", tr)
	}
	run("trash", "--restore", "/Archive")
	if got := run("get", "/Archive/moved.bin"); got != string(bigData) {
		t.Fatal("a restored file's bytes differ")
	}
	run("rm", "/photo-raw.jpg")
	run("trash", "--empty")
	if tr := run("trash"); strings.Contains(tr, "photo-raw") {
		t.Fatalf("trash after --empty:\n%s", tr)
	}

	// Another computer: a new config directory sees the same tree.
	cfg2 := filepath.Join(n.Dir, "cfg2")
	if out := n.login(cfg2); strings.Contains(out, "recovery key") {
		t.Fatalf("a second login made new keys:\n%s", out)
	}
	if got := lines(n.mustCube("ls", "--config", cfg2, "/")); strings.Join(got, " ") != "Archive/ Docs/ photo.jpg" {
		t.Fatalf("ls on the second login: %q", got)
	}
	if got := n.mustCube("get", "--config", cfg2, "/Archive/renamed.txt"); got != string(small2Data) {
		t.Fatal("the second login reads other bytes")
	}
	n.mustCube("logout", "--config", cfg2)
	if _, err := os.Stat(filepath.Join(cfg2, accountFile)); !os.IsNotExist(err) {
		t.Fatal("logout left the account file")
	}
	if _, err := n.cube("ls", "--config", cfg2, "/"); err == nil || !strings.Contains(err.Error(), "cube login") {
		t.Fatalf("ls after logout: %v", err)
	}
	// The first login is still signed in.
	run("ls", "/")
}

// The raw grid verbs keep working beside the account ones.
func TestPutGetDispatch(t *testing.T) {
	for _, c := range []struct {
		args []string
		pos  int
		node bool
	}{
		{[]string{"a", "b"}, 2, false},
		{[]string{"--node", "d", "a"}, 1, true},
		{[]string{"--node=d", "a", "b"}, 2, true},
		{[]string{"--config", "c", "--no-scrub", "a", "b"}, 2, false},
		{[]string{"-q", "a"}, 1, false},
	} {
		pos, node := positionals(c.args, "node", "config")
		if len(pos) != c.pos || node != c.node {
			t.Errorf("%q: %q %v", c.args, pos, node)
		}
	}
}

// A secure account leaves nothing readable on the node: no file content,
// no name, no key, in the database (and its WAL), the shares, or the
// node's output.
func TestLeak(t *testing.T) {
	n := startNode(t)
	cfg := filepath.Join(n.Dir, "cfg")
	n.login(cfg)
	const marker = "Zebra-Lighthouse-7731"
	const folder = "Folder-Quokka-5520"
	local := t.TempDir()
	content := bytes.Repeat([]byte("secret "+marker+"\n"), 20000)
	bigPath := filepath.Join(local, "big-"+marker+".txt")
	os.WriteFile(bigPath, content, 0o600)
	smallPath := filepath.Join(local, "small.txt")
	os.WriteFile(smallPath, []byte(marker), 0o600) // a literal (LIT) version
	c := []string{"--config", cfg}
	n.mustCube(append([]string{"mkdir"}, append(c, "--secure", "/"+folder)...)...)
	n.mustCube(append([]string{"mkdir"}, append(c, "/"+folder+"/Inner-"+folder)...)...)
	n.mustCube(append([]string{"put"}, append(c, "--secure", "--no-scrub", bigPath, "/"+folder)...)...)
	n.mustCube(append([]string{"put"}, append(c, "--secure", smallPath, "/"+folder+"/Inner-"+folder+"/"+marker+".txt")...)...)
	n.mustCube(append([]string{"mv"}, append(c, "/"+folder+"/big-"+marker+".txt", "/"+folder+"/Inner-"+folder)...)...)
	if got := n.mustCube(append([]string{"get"}, append(c, "/"+folder+"/Inner-"+folder+"/big-"+marker+".txt")...)...); got != string(content) {
		t.Fatal("round trip failed")
	}

	// What a thief would look for: the marker, the names, and every key
	// this client knows, in the usual encodings.
	secrets := map[string][]byte{"marker": []byte(marker), "folder": []byte(folder), "password": []byte(testPassword)}
	for name, k := range clientKeys(t, cfg) {
		secrets[name] = k
	}
	var needles []string
	var labels []string
	for name, s := range secrets {
		forms := []string{string(s)}
		if name != "marker" && name != "folder" && name != "password" {
			forms = append(forms, hex.EncodeToString(s), base64.StdEncoding.EncodeToString(s), base64.RawURLEncoding.EncodeToString(s),
				strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(s)))
		}
		for _, f := range forms {
			needles = append(needles, f)
			labels = append(labels, name)
		}
	}
	hits := func(b []byte) (found []string) {
		for i, nd := range needles {
			if bytes.Contains(b, []byte(nd)) {
				found = append(found, labels[i])
			}
		}
		return found
	}
	scan := func(path string, b []byte) {
		if f := hits(b); len(f) > 0 {
			t.Errorf("%s holds %s", path, strings.Join(f, ", "))
		}
	}
	// The scan finds what it looks for.
	for _, k := range []string{"root folder key", "escrow key", "marker"} {
		canary := append([]byte("junk "), hex.EncodeToString(secrets[k])...)
		if f := hits(append(canary, " junk"...)); len(f) == 0 && k != "marker" {
			t.Fatalf("the scan misses the %s in hex", k)
		}
	}
	if len(hits([]byte("xx"+marker+"xx"))) == 0 {
		t.Fatal("the scan misses the marker")
	}
	// While the node runs (the WAL holds recent writes), and after it stopped.
	scanned := 0
	walk := func() {
		filepath.WalkDir(n.Data, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				b, err := os.ReadFile(p)
				if err == nil {
					scan(p, b)
					scanned++
				}
			}
			return nil
		})
		b, _ := os.ReadFile(n.Log)
		scan(n.Log, b)
	}
	walk()
	shares := 0
	filepath.WalkDir(filepath.Join(n.Data), func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(p, "shares") && d.Type().IsRegular() {
			shares++
		}
		return nil
	})
	if shares == 0 || scanned < 3 {
		t.Fatalf("found %d files, %d shares to scan: the test looks in the wrong place", scanned, shares)
	}
	n.mustCube("logout", "--config", cfg)
	walk()
	// Stopped, the database has taken in its WAL.
	n.Stop()
	walk()
}

// clientKeys reads the keys `cube login` saved (the account's root,
// private, escrow and root folder keys) and the content keys of the
// caps the test can reach, so the leak test can look for them.
func clientKeys(t *testing.T, cfg string) map[string][]byte {
	data, err := os.ReadFile(filepath.Join(cfg, accountFile))
	if err != nil {
		t.Fatal(err)
	}
	var ac accountConfig
	if err := json.Unmarshal(data, &ac); err != nil {
		t.Fatal(err)
	}
	sk, err := os.ReadFile(filepath.Join(cfg, sessionKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	aead, err := chacha20poly1305.NewX(sk)
	if err != nil {
		t.Fatal(err)
	}
	ns := chacha20poly1305.NonceSizeX
	pt, err := aead.Open(nil, ac.Keys[1:1+ns], ac.Keys[1+ns:], []byte("communitycube/v1/drive-session"))
	if err != nil {
		t.Fatalf("opening the saved keys: %v", err)
	}
	if _, err := vault.UnmarshalSecret(pt[:vault.SecretSize]); err != nil {
		t.Fatal(err)
	}
	keys := map[string][]byte{
		"session key": sk, "root key": pt[1:33], "private key": pt[33:65], "escrow key": pt[65:97], "root folder key": pt[97:129],
	}
	// The content keys: the caps, through an in-process drive.
	d, err := openAccount(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var walk func(id string)
	walk = func(id string) {
		items, err := d.List(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.Folder {
				walk(it.ID)
				continue
			}
			if it.CurrentVersion() == nil {
				t.Fatalf("%s has no version", it.Name)
			}
			switch c, _ := cap.Parse(it.CurrentVersion().Cap); c := c.(type) {
			case cap.CHK:
				keys["content key of "+it.Name] = bytes.Clone(c.Key[:])
				keys["read cap of "+it.Name] = []byte(c.String())
			case cap.LIT:
				keys["literal cap of "+it.Name] = []byte(c.String())
			}
		}
	}
	walk(d.RootID())
	if len(keys) < 8 {
		t.Fatalf("only %d keys found", len(keys))
	}
	return keys
}
