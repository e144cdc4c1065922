package main

// The account verbs: `cube login` signs in to a node and unlocks the
// account's keys; ls, mkdir, put, get, mv, rm, versions and trash then work
// on its files, encrypted and decrypted here (shared/drive), as the web
// app does in the browser.
//
// What `cube login` keeps in the config directory (--config, CUBE_CONFIG,
// default os.UserConfigDir()/cube), both files 0600 in a 0700 directory:
//
//   - account.json: the node's URL and the user name in clear; the session
//     cookie and the unlocked keys sealed (XChaCha20-Poly1305) under a
//     random key;
//   - session.key: that random key.
//
// Trade-off: the keys must survive between commands without asking for
// the password each time, and there is no portable OS key store. Keeping
// the sealing key in a separate file means that one file alone (a synced or
// backed-up account.json, one pasted into a bug report) gives neither the
// keys nor the session; someone who can read both files (the user's own
// account on this machine, root, a full disk copy) has both, as with any
// program that stays signed in. `cube logout` ends the session on the node
// and deletes both files. The password itself is never stored.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/drive"
	"github.com/communitycube/cube/shared/transfer"
	"github.com/communitycube/cube/shared/vault"
)

const (
	accountFile    = "account.json"
	sessionKeyFile = "session.key"
)

// accountConfig is account.json.
type accountConfig struct {
	Server string `json:"server"`
	User   string `json:"user"`
	// Session is the session cookie's value, sealed under session.key.
	Session []byte `json:"session"`
	// Keys are the unlocked keys, sealed under session.key (drive.Seal).
	Keys []byte `json:"keys"`
}

func accountConfigDir() string {
	if d := os.Getenv("CUBE_CONFIG"); d != "" {
		return d
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "cube")
	}
	return ".cube"
}

func addConfigFlag(fs interface {
	String(name, value, usage string) *string
}) *string {
	return fs.String("config", accountConfigDir(), "`directory` where `cube login` keeps the session (or set CUBE_CONFIG)")
}

// newAPIClient returns a client for server with a cookie jar holding
// session (if not "").
func newAPIClient(server, session string) (*api.Client, *cookiejar.Jar, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, fmt.Errorf("%q is not a node's address (want http://host:port or https://host)", server)
	}
	jar, _ := cookiejar.New(nil)
	if session != "" {
		jar.SetCookies(u, []*http.Cookie{{Name: api.SessionCookie, Value: session, Path: "/", Secure: u.Scheme == "https"}})
	}
	hc := &http.Client{Jar: jar, Timeout: 0}
	return &api.Client{Base: strings.TrimRight(server, "/"), Transport: api.HTTPTransport{Client: hc}}, jar, nil
}

func sessionCookie(jar *cookiejar.Jar, server string) string {
	u, _ := url.Parse(server)
	for _, c := range jar.Cookies(u) {
		if c.Name == api.SessionCookie {
			return c.Value
		}
	}
	return ""
}

// writeSecret writes a file only its owner can read, atomically.
func writeSecret(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, name))
}

func loginCmd(ctx context.Context, args []string) error {
	fs := newFlags("login", "--server URL --user NAME --password-file FILE [--config DIR]",
		"Signs in to a node and unlocks your files' keys with your password. The first time, it\n"+
			"makes the keys and prints your recovery key: write it down. The session and the unlocked\n"+
			"keys are kept in the config directory until `cube logout`.")
	server := fs.String("server", "", "the node's `URL`, e.g. http://127.0.0.1:8080")
	user := fs.String("user", "", "user `name`")
	pwFile := fs.String("password-file", "", "`file` holding the password (- for standard input); one trailing newline is ignored")
	config := addConfigFlag(fs)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *server == "" || *user == "" || *pwFile == "" {
		fs.Usage()
		return usageError{"--server, --user and --password-file are required"}
	}
	pw, err := readPasswordFile(*pwFile)
	if err != nil {
		return err
	}
	c, jar, err := newAPIClient(*server, "")
	if err != nil {
		return err
	}
	if _, err := c.Login(ctx, *user, pw); err != nil {
		return err
	}
	d, fresh, err := drive.Unlock(ctx, c, pw)
	if err != nil {
		if errors.Is(err, vault.ErrWrongPassword) {
			return errors.New("the password signed you in but does not open your keys (were they made with another password?)")
		}
		return err
	}
	defer d.Close()
	if err := os.MkdirAll(*config, 0o700); err != nil {
		return err
	}
	endOldSession(ctx, *config)
	key := make([]byte, 32)
	rand.Read(key)
	sealed, err := d.Seal(key)
	if err != nil {
		return err
	}
	cookie, err := sealCookie(key, sessionCookie(jar, c.Base))
	if err != nil {
		return err
	}
	cfg := accountConfig{Server: c.Base, User: *user, Session: cookie, Keys: sealed}
	data, _ := json.MarshalIndent(cfg, "", "  ")
	if err := writeSecret(*config, sessionKeyFile, key); err != nil {
		return err
	}
	clear(key)
	if err := writeSecret(*config, accountFile, append(data, '\n')); err != nil {
		return err
	}
	if fresh != nil {
		fmt.Printf(`Your files' keys were made just now. This is your recovery key:

    %s

Write it down and keep it somewhere safe, away from this computer. It is shown
only this once. If you lose both your password and this recovery key, your
files are lost: nobody, not even the node's administrator, can open them.

`, fresh.RecoveryKey)
	}
	fmt.Printf("signed in to %s as %s\n", c.Base, *user)
	return nil
}

// cookieAD binds a sealed session cookie to its purpose.
const cookieAD = "communitycube/v1/cli-session-cookie"

func sealCookie(key []byte, cookie string) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, []byte(cookie), []byte(cookieAD)), nil
}

func openCookie(key, sealed []byte) (string, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return "", err
	}
	if len(sealed) < chacha20poly1305.NonceSizeX {
		return "", errors.New("sealed session too short")
	}
	b, err := aead.Open(nil, sealed[:chacha20poly1305.NonceSizeX], sealed[chacha20poly1305.NonceSizeX:], []byte(cookieAD))
	return string(b), err
}

// errSignedOut tells the user to sign in.
var errSignedOut = errors.New("not signed in: run `cube login` first")

// openAccount loads the config directory's session and keys.
func openAccount(ctx context.Context, config string) (*drive.Drive, error) {
	data, err := os.ReadFile(filepath.Join(config, accountFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errSignedOut
	}
	if err != nil {
		return nil, err
	}
	var cfg accountConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(config, accountFile), err)
	}
	key, err := os.ReadFile(filepath.Join(config, sessionKeyFile))
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", errSignedOut, err)
	}
	defer clear(key)
	cookie, err := openCookie(key, cfg.Session)
	if err != nil {
		return nil, fmt.Errorf("the saved session in %s does not open: run `cube login` again", config)
	}
	c, _, err := newAPIClient(cfg.Server, cookie)
	if err != nil {
		return nil, err
	}
	st, err := c.State(ctx)
	if err != nil {
		return nil, err
	}
	if st.User == nil {
		return nil, fmt.Errorf("your session on %s ended: run `cube login` again", cfg.Server)
	}
	d, err := drive.Resume(ctx, c, cfg.Keys, key)
	if errors.Is(err, vault.ErrCorrupt) {
		return nil, fmt.Errorf("the saved keys in %s do not open: run `cube login` again", config)
	}
	return d, err
}

// endOldSession signs out the session saved in config, if any (best effort).
func endOldSession(ctx context.Context, config string) {
	data, err := os.ReadFile(filepath.Join(config, accountFile))
	if err != nil {
		return
	}
	var cfg accountConfig
	if json.Unmarshal(data, &cfg) != nil {
		return
	}
	key, err := os.ReadFile(filepath.Join(config, sessionKeyFile))
	if err != nil {
		return
	}
	defer clear(key)
	cookie, err := openCookie(key, cfg.Session)
	if err != nil || cookie == "" {
		return
	}
	if c, _, err := newAPIClient(cfg.Server, cookie); err == nil {
		if st, err := c.State(ctx); err == nil && st.User != nil {
			c.Logout(ctx)
		}
	}
}

func logoutCmd(ctx context.Context, args []string) error {
	fs := newFlags("logout", "[--config DIR]", "Ends the session on the node and deletes the saved session and keys.")
	config := addConfigFlag(fs)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(*config, accountFile)); errors.Is(err, os.ErrNotExist) {
		fmt.Println("not signed in")
		return nil
	}
	endOldSession(ctx, *config)
	for _, f := range []string{accountFile, sessionKeyFile} {
		if err := os.Remove(filepath.Join(*config, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	fmt.Println("signed out")
	return nil
}

// cleanPath makes a user's path absolute in the drive ("a/b" is "/a/b").
func cleanPath(p string) string { return path.Clean("/" + p) }

func lsCmd(ctx context.Context, args []string) error {
	fs := newFlags("ls", "[-l] [--config DIR] [PATH]", "Lists a folder of your files (default: the top folder).")
	long := fs.Bool("l", false, "long listing: mode, size, modification time")
	config := addConfigFlag(fs)
	if err := parse(fs, args, -1); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageError{"give at most one PATH"}
	}
	d, err := openAccount(ctx, *config)
	if err != nil {
		return err
	}
	defer d.Close()
	it, err := d.Resolve(ctx, cleanPath(fs.Arg(0)))
	if err != nil {
		return err
	}
	items := []drive.Item{it}
	if it.Folder {
		if items, err = d.List(ctx, it.ID); err != nil {
			return err
		}
	}
	sort.Slice(items, func(i, j int) bool { return strings.ToLower(items[i].Name) < strings.ToLower(items[j].Name) })
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	for _, it := range items {
		name := it.Name
		if it.Folder {
			name += "/"
		}
		if it.NeedsPassword {
			name += " (locked)"
		}
		if !*long {
			fmt.Fprintln(tw, name)
			continue
		}
		size := "-"
		if !it.Folder {
			size = fmt.Sprint(it.Size)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", it.Mode, size, it.Modified.Local().Format("2006-01-02 15:04"), name)
	}
	return tw.Flush()
}

func mkdirCmd(ctx context.Context, args []string) error {
	fs := newFlags("mkdir", "[-p] [--secure|--standard] [--config DIR] PATH", "Makes a folder in your files.")
	parents := fs.Bool("p", false, "make missing folders above it too, and accept an existing folder")
	mode := addModeFlags(fs)
	config := addConfigFlag(fs)
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	m, err := mode()
	if err != nil {
		return err
	}
	d, err := openAccount(ctx, *config)
	if err != nil {
		return err
	}
	defer d.Close()
	p := cleanPath(fs.Arg(0))
	if p == "/" {
		return errors.New("the top folder exists already")
	}
	if !*parents {
		parent, err := d.Resolve(ctx, path.Dir(p))
		if err != nil {
			return err
		}
		_, err = d.Mkdir(ctx, parent.ID, path.Base(p), drive.CreateOptions{Mode: m})
		return err
	}
	cur, err := d.Resolve(ctx, "/")
	if err != nil {
		return err
	}
	curPath := "/"
	for _, name := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		curPath = path.Join(curPath, name)
		next, err := d.Resolve(ctx, curPath)
		if errors.Is(err, drive.ErrNotFound) {
			next, err = d.Mkdir(ctx, cur.ID, name, drive.CreateOptions{Mode: m})
		}
		if err != nil {
			return err
		}
		if !next.Folder {
			return fmt.Errorf("%s is a file", name)
		}
		cur = next
	}
	return nil
}

// pathOf is an item's path from the top folder.
func pathOf(ctx context.Context, d *drive.Drive, it drive.Item) string {
	if it.ParentID == "" {
		return "/"
	}
	_, anc, err := d.Item(ctx, it.ID)
	if err != nil {
		return "/" + it.Name
	}
	p := "/"
	for _, a := range anc {
		p = path.Join(p, a.Name)
	}
	return path.Join(p, it.Name)
}

// addModeFlags adds --secure and --standard.
func addModeFlags(fs interface {
	Bool(name string, value bool, usage string) *bool
}) func() (string, error) {
	secure := fs.Bool("secure", false, "secure mode: the keys never leave this computer (default: the folder's mode)")
	standard := fs.Bool("standard", false, "standard mode: the node may read it while you are signed in (for previews, search)")
	return func() (string, error) {
		switch {
		case *secure && *standard:
			return "", usageError{"--secure or --standard, not both"}
		case *secure:
			return api.ModeSecure, nil
		case *standard:
			return api.ModeStandard, nil
		}
		return "", nil
	}
}

func accountPutCmd(ctx context.Context, args []string) error {
	fs := newFlags("put", "[--secure|--standard] [--no-scrub] [--config DIR] LOCAL PATH",
		"Uploads the local file LOCAL to your files at PATH: into PATH if it is a folder (keeping the\n"+
			"file's name), as a new version if PATH is a file, else as a new file named PATH. Metadata\n"+
			"(camera, GPS position, authors...) is removed first unless --no-scrub; the file is encrypted\n"+
			"here. (With --node, or a single FILE, put stores a file on the grid by cap: see below.)")
	mode := addModeFlags(fs)
	noScrub := fs.Bool("no-scrub", false, "keep the file's metadata as it is")
	quiet := fs.Bool("q", false, "no progress on standard error")
	config := addConfigFlag(fs)
	if err := parse(fs, args, 2); err != nil {
		return err
	}
	m, err := mode()
	if err != nil {
		return err
	}
	f, st, err := openRegular(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	d, err := openAccount(ctx, *config)
	if err != nil {
		return err
	}
	defer d.Close()
	p := cleanPath(fs.Arg(1))
	var parentID, name string
	it, err := d.Resolve(ctx, p)
	switch {
	case err == nil && it.Folder:
		parentID, name = it.ID, filepath.Base(fs.Arg(0))
	case err == nil:
		parentID, name = it.ParentID, it.Name
	case errors.Is(err, drive.ErrNotFound):
		parent, err := d.Resolve(ctx, path.Dir(p))
		if err != nil {
			return err
		}
		if !parent.Folder {
			return fmt.Errorf("%s is a file", path.Dir(p))
		}
		parentID, name = parent.ID, path.Base(p)
	default:
		return err
	}
	o := drive.PutOptions{ParentID: parentID, Name: name, Create: drive.CreateOptions{Mode: m}, NoScrub: *noScrub,
		Modified: st.ModTime(), Replace: true}
	if show, done := progressLine(*quiet); show != nil {
		o.Progress = func(p transfer.Progress) { show(p.Done, p.Total, " ("+string(p.State)+")") }
		defer done()
	}
	put, err := d.NewPut(f, st.Size(), o)
	if err != nil {
		return fmt.Errorf("%w (use --no-scrub to upload it as it is)", err)
	}
	res, err := put.Run(ctx)
	if err != nil {
		return err
	}
	if s := put.Scrubbed(); len(s) > 0 && !*quiet {
		fmt.Fprintf(os.Stderr, "removed: %s\n", strings.Join(s, ", "))
	}
	fmt.Println(path.Join(pathOf(ctx, d, res)))
	return nil
}

func accountGetCmd(ctx context.Context, args []string) error {
	fs := newFlags("get", "[--config DIR] PATH [OUT]",
		"Downloads a file of yours, checking every byte against its cap, and writes it to OUT (a file, or\n"+
			"a folder to keep its name; standard output if absent). OUT appears only once the whole file\n"+
			"arrived intact. (With --node, or a cap URI:..., get reads a file from the grid by cap.)")
	config := addConfigFlag(fs)
	if err := parse(fs, args, -1); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		fs.Usage()
		return usageError{"want PATH [OUT]"}
	}
	d, err := openAccount(ctx, *config)
	if err != nil {
		return err
	}
	defer d.Close()
	it, err := d.Resolve(ctx, cleanPath(fs.Arg(0)))
	if err != nil {
		return err
	}
	if it.Folder {
		return fmt.Errorf("%s is a folder", fs.Arg(0))
	}
	f, _, err := d.Open(ctx, it.ID, "")
	if err != nil {
		return err
	}
	if fs.NArg() == 1 {
		_, err := f.WriteTo(os.Stdout)
		return err
	}
	out := fs.Arg(1)
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		out = filepath.Join(out, it.Name)
	}
	return writeAtomically(out, f.Size(), func(w io.Writer) error {
		_, err := f.WriteTo(w)
		return err
	})
}

func mvCmd(ctx context.Context, args []string) error {
	fs := newFlags("mv", "[--config DIR] SRC DST", "Moves or renames an item of your files: into DST if it is a folder, else to the path DST.")
	config := addConfigFlag(fs)
	if err := parse(fs, args, 2); err != nil {
		return err
	}
	d, err := openAccount(ctx, *config)
	if err != nil {
		return err
	}
	defer d.Close()
	src, err := d.Resolve(ctx, cleanPath(fs.Arg(0)))
	if err != nil {
		return err
	}
	if src.ParentID == "" {
		return errors.New("the top folder cannot be moved")
	}
	dst := cleanPath(fs.Arg(1))
	parentID, name := "", src.Name
	if to, err := d.Resolve(ctx, dst); err == nil && to.Folder {
		parentID = to.ID
	} else if err == nil {
		return fmt.Errorf("%s exists already", dst)
	} else if errors.Is(err, drive.ErrNotFound) {
		parent, err := d.Resolve(ctx, path.Dir(dst))
		if err != nil {
			return err
		}
		parentID, name = parent.ID, path.Base(dst)
	} else {
		return err
	}
	if parentID != src.ParentID {
		if name != src.Name {
			// Rename first where it is, so the move does not collide with
			// an item of the old name in the new folder.
			if src, err = d.Rename(ctx, src.ID, name); err != nil {
				return err
			}
		}
		_, err = d.Move(ctx, src.ID, parentID)
		return err
	}
	if name != src.Name {
		_, err = d.Rename(ctx, src.ID, name)
	}
	return err
}

func rmCmd(ctx context.Context, args []string) error {
	fs := newFlags("rm", "[--config DIR] PATH", "Puts an item of your files in the trash (see `cube trash`).")
	config := addConfigFlag(fs)
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	d, err := openAccount(ctx, *config)
	if err != nil {
		return err
	}
	defer d.Close()
	it, err := d.Resolve(ctx, cleanPath(fs.Arg(0)))
	if err != nil {
		return err
	}
	if it.ParentID == "" {
		return errors.New("the top folder cannot be put in the trash")
	}
	return d.Trash(ctx, it.ID)
}

func versionsCmd(ctx context.Context, args []string) error {
	fs := newFlags("versions", "[--config DIR] PATH", "Lists the versions of a file, newest first.")
	config := addConfigFlag(fs)
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	d, err := openAccount(ctx, *config)
	if err != nil {
		return err
	}
	defer d.Close()
	it, err := d.Resolve(ctx, cleanPath(fs.Arg(0)))
	if err != nil {
		return err
	}
	vs, err := d.Versions(ctx, it.ID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTORED\tSIZE\tCURRENT\tSCRUBBED")
	for _, v := range vs {
		cur := ""
		if v.Current {
			cur = "current"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", v.ID, v.Created.Local().Format("2006-01-02 15:04:05"), v.Size, cur, strings.Join(v.Scrubbed, ", "))
	}
	return tw.Flush()
}

func trashCmd(ctx context.Context, args []string) error {
	fs := newFlags("trash", "[--restore NAME|ID] [--empty] [--config DIR]",
		"Lists what is in the trash; --restore brings an item back (into its folder, or the top folder if\n"+
			"that is gone), --empty deletes everything in the trash for good.")
	restore := fs.String("restore", "", "restore the trash item with this `name or id` (a path's last part is its name)")
	empty := fs.Bool("empty", false, "delete everything in the trash for good")
	config := addConfigFlag(fs)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	d, err := openAccount(ctx, *config)
	if err != nil {
		return err
	}
	defer d.Close()
	if *empty {
		return d.EmptyTrash(ctx)
	}
	items, err := d.TrashItems(ctx)
	if err != nil {
		return err
	}
	if *restore != "" {
		want := path.Base(cleanPath(*restore))
		var match []drive.Item
		for _, it := range items {
			if it.ID == *restore || vault.FoldName(it.Name) == vault.FoldName(want) {
				match = append(match, it)
			}
		}
		switch len(match) {
		case 0:
			return fmt.Errorf("nothing called %q in the trash", *restore)
		case 1:
		default:
			return fmt.Errorf("%d items called %q in the trash: give the id (see `cube trash`)", len(match), *restore)
		}
		it, err := d.Restore(ctx, match[0].ID)
		if err != nil {
			return err
		}
		fmt.Println(pathOf(ctx, d, it))
		return nil
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTRASHED\tNAME")
	for _, it := range items {
		when := ""
		if it.Trashed != nil {
			when = it.Trashed.Local().Format("2006-01-02 15:04")
		}
		name := it.Name
		if it.Folder {
			name += "/"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", it.ID, when, name)
	}
	return tw.Flush()
}

// putDispatch and getDispatch pick between the grid verbs (a cap, --node) and the
// account verbs (paths in your files).
func putDispatch(ctx context.Context, args []string) error {
	pos, node := positionals(args, "node", "config")
	if !node && len(pos) == 2 {
		return accountPutCmd(ctx, args)
	}
	if len(pos) == 0 && hasHelp(args) {
		accountPutCmd(ctx, args)
		fmt.Fprintln(os.Stderr)
	}
	return putCmd(ctx, args)
}

func getDispatch(ctx context.Context, args []string) error {
	pos, node := positionals(args, "node", "config", "key", "password-file")
	if !node && len(pos) > 0 && isShareURL(pos[0]) {
		return linkGetCmd(ctx, args)
	}
	if node || len(pos) > 0 && strings.HasPrefix(pos[0], "URI:") {
		return getCmd(ctx, args)
	}
	if len(pos) == 0 && hasHelp(args) {
		accountGetCmd(ctx, args)
		fmt.Fprintln(os.Stderr)
		linkGetCmd(ctx, args)
		fmt.Fprintln(os.Stderr)
		return getCmd(ctx, args)
	}
	return accountGetCmd(ctx, args)
}

func hasHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			return true
		}
	}
	return false
}

// positionals returns the arguments that are not flags (flags named in
// valued take a value when not given as --flag=value), and whether --node
// was given.
func positionals(args []string, valued ...string) (pos []string, node bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(pos, args[i+1:]...), node
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "node" {
			node = true
		}
		for _, v := range valued {
			if name == v && !hasValue {
				i++
			}
		}
	}
	return pos, node
}
