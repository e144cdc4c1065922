package main

// The link verbs: `cube share` makes a link to an item of yours (or a drop
// into a folder), `cube links` lists them, `cube unshare` removes one, and
// `cube get URL` downloads what a link shares, without an account, as the
// recipient's browser does (shared/drive's Shared).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/drive"
	"github.com/communitycube/cube/shared/units"
	"github.com/communitycube/cube/shared/vault"
)

// parseAnywhere parses flags wherever they are among the positional
// arguments (`cube share PATH --no-key` as well as `cube share --no-key
// PATH`) and returns the positional ones.
func parseAnywhere(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// parseWhen reads an expiry: a date (2026-12-31: the link works through
// that day, local time), an RFC 3339 time, or a duration from now (7d,
// 24h, 90m).
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return d.AddDate(0, 0, 1).Add(-time.Second), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days > 0 {
			return now.AddDate(0, 0, days), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2026-12-31), a time (2026-12-31T18:00:00Z) or a duration (7d, 24h)", s)
}

// parseSize reads a size: bytes, or with a unit (k, M, G, T: powers of
// 1000; KiB, MiB, GiB, TiB: of 1024), e.g. 1G, 500MB, 2GiB.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	num, unit := strings.TrimSpace(t[:i]), strings.ToLower(strings.TrimSpace(t[i:]))
	mult := map[string]float64{"": 1, "b": 1,
		"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}[unit]
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || mult == 0 || f < 0 || f*mult > 1<<62 {
		return 0, fmt.Errorf("%q is not a size (e.g. 1G, 500MB, 2GiB, 1048576)", s)
	}
	return int64(f * mult), nil
}

func shareCmd(ctx context.Context, args []string) error {
	fs := newFlags("share", "[--no-key] [--password-file F] [--expires DATE] [--max-downloads N] [--config DIR] PATH\n"+
		"       cube share --drop [--password-file F] [--expires DATE] [--max-total SIZE] [--max-file SIZE] [--max-files N] FOLDER",
		"Makes a share link to a file or folder of yours and prints its URL. The key that opens it is in the\n"+
			"URL after #, which browsers never send to the node: whoever has the URL can read the item. With\n"+
			"--no-key the key is printed on a line of its own, to send another way; with --password-file the\n"+
			"recipient must type that password instead.\n\n"+
			"With --drop, makes an upload link into FOLDER: anyone with it can send you files (encrypted to\n"+
			"your key) without seeing the folder; they appear in it when you list it.\n\n"+
			"DATE is 2026-12-31 (through that day), 2026-12-31T18:00:00Z, or a duration such as 7d or 24h.\n"+
			"SIZE is e.g. 1G, 500MB or 2GiB. `cube links` lists your links, `cube unshare ID` removes one.")
	noKey := fs.Bool("no-key", false, "leave the key out of the URL and print it separately")
	pwFile := fs.String("password-file", "", "`file` holding a password the recipient (or uploader) must type")
	expires := fs.String("expires", "", "the link stops working after `DATE`")
	maxDownloads := fs.Int("max-downloads", 0, "stop after `N` downloads (0: no limit)")
	drop := fs.Bool("drop", false, "make an upload link into a folder")
	maxTotal := fs.String("max-total", "", "drops: at most `SIZE` in all")
	maxFile := fs.String("max-file", "", "drops: at most `SIZE` per file")
	maxFiles := fs.Int("max-files", 0, "drops: at most `N` files")
	config := addConfigFlag(fs)
	pos, err := parseAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageError{"give one PATH"}
	}
	var exp time.Time
	if *expires != "" {
		if exp, err = parseWhen(*expires, time.Now()); err != nil {
			return usageError{err.Error()}
		}
		if !exp.After(time.Now()) {
			return usageError{fmt.Sprintf("--expires %s is in the past", *expires)}
		}
	}
	password := ""
	if *pwFile != "" {
		if password, err = readPasswordFile(*pwFile); err != nil {
			return err
		}
	}
	if *drop {
		if *noKey || *maxDownloads != 0 {
			return usageError{"--no-key and --max-downloads are for links, not drops"}
		}
	} else if *maxTotal != "" || *maxFile != "" || *maxFiles != 0 {
		return usageError{"--max-total, --max-file and --max-files are for drops (--drop)"}
	}
	if *noKey && password != "" {
		return usageError{"--no-key or --password-file, not both"}
	}
	if *maxDownloads < 0 || *maxFiles < 0 {
		return usageError{"limits cannot be negative"}
	}
	d, err := openAccount(ctx, *config)
	if err != nil {
		return err
	}
	defer d.Close()
	it, err := d.Resolve(ctx, cleanPath(pos[0]))
	if err != nil {
		return err
	}
	base := d.Client().Base
	if *drop {
		o := drive.DropOptions{Password: password, Expires: exp}
		o.Limits.MaxFiles = *maxFiles
		if *maxTotal != "" {
			if o.Limits.MaxTotal, err = parseSize(*maxTotal); err != nil {
				return usageError{err.Error()}
			}
		}
		if *maxFile != "" {
			if o.Limits.MaxFile, err = parseSize(*maxFile); err != nil {
				return usageError{err.Error()}
			}
		}
		l, err := d.CreateDrop(ctx, it.ID, o)
		if err != nil {
			return err
		}
		fmt.Println(l.URL(base))
		return nil
	}
	o := drive.LinkOptions{KeyMode: api.KeyInURL, Expires: exp, MaxDownloads: *maxDownloads}
	switch {
	case *noKey:
		o.KeyMode = api.KeySeparate
	case password != "":
		o.KeyMode, o.Password = api.KeyPassword, password
	}
	l, err := d.CreateLink(ctx, it.ID, o)
	if err != nil {
		return err
	}
	fmt.Println(l.URL(base))
	if *noKey {
		fmt.Println("key:", l.Key)
	}
	return nil
}

func linksCmd(ctx context.Context, args []string) error {
	fs := newFlags("links", "[--config DIR]", "Lists your share links and drops, newest first.")
	config := addConfigFlag(fs)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	d, err := openAccount(ctx, *config)
	if err != nil {
		return err
	}
	defer d.Close()
	ls, err := d.Links(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tNAME\tCREATED\tEXPIRES\tDOWNLOADS\tSTATE")
	for _, l := range ls {
		name := l.Name
		if name == "" {
			name = "?"
		}
		kind := l.Kind
		switch l.KeyMode {
		case api.KeySeparate:
			kind += " (key apart)"
		case api.KeyPassword:
			kind += " (password)"
		}
		expires := "never"
		if l.Expires != nil {
			expires = l.Expires.Local().Format("2006-01-02 15:04")
		}
		var dl string
		switch {
		case l.Kind == api.LinkDrop:
			dl = "-"
			if l.DropUsage != nil {
				dl = fmt.Sprintf("%d files, %s", l.DropUsage.Files, units.Bytes(l.DropUsage.Bytes))
			}
		case l.MaxDownloads > 0:
			dl = fmt.Sprintf("%d/%d", l.Downloads, l.MaxDownloads)
		default:
			dl = strconv.Itoa(l.Downloads)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.ID, kind, name, l.Created.Local().Format("2006-01-02 15:04"), expires, dl, l.State)
	}
	return tw.Flush()
}

func unshareCmd(ctx context.Context, args []string) error {
	fs := newFlags("unshare", "[--config DIR] ID|URL", "Removes a share link or drop (see `cube links`): it stops working at once.")
	config := addConfigFlag(fs)
	pos, err := parseAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageError{"give one link ID"}
	}
	id := pos[0]
	if _, lid, _, err := drive.ParseShareURL(id); err == nil {
		id = lid
	}
	d, err := openAccount(ctx, *config)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.DeleteLink(ctx, id)
}

// isShareURL reports whether a `cube get` argument is a share link.
func isShareURL(s string) bool {
	return (strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) && strings.Contains(s, "/s/")
}

func linkGetCmd(ctx context.Context, args []string) error {
	fs := newFlags("get", "URL [OUT] [--key KEY] [--password-file F] [--force]",
		"Downloads what a share link shares; no account needed. A file goes to OUT (default: its name,\n"+
			"in the current directory; into OUT if it is a directory; - for standard output); a folder\n"+
			"becomes the directory OUT (default: its name; inside OUT if it exists), with everything below\n"+
			"it. Every byte is checked against the file's cap, and a file appears only once it arrived whole.\n"+
			"Existing files are not overwritten unless --force.")
	key := fs.String("key", "", "the link's `KEY`, for a link whose URL has none")
	pwFile := fs.String("password-file", "", "`file` with the link's password (or, for a link without key, the item's own password)")
	force := fs.Bool("force", false, "overwrite existing files")
	addConfigFlag(fs) // accepted like every verb's; a link needs no account
	pos, err := parseAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		fs.Usage()
		return usageError{"want URL [OUT]"}
	}
	base, id, urlKey, err := drive.ParseShareURL(pos[0])
	if err != nil {
		return err
	}
	c, _, err := newAPIClient(base, "")
	if err != nil {
		return err
	}
	pl, err := drive.LookupLink(ctx, c, id)
	if err != nil {
		return linkError(err)
	}
	if pl.Kind == api.LinkDrop {
		return errors.New("this is an upload link (a drop): it takes files, it has nothing to download; open it in a browser to send files")
	}
	s := drive.Secret{Key: urlKey}
	if *key != "" {
		s.Key = *key
	}
	if *pwFile != "" {
		pw, err := readPasswordFile(*pwFile)
		if err != nil {
			return err
		}
		if pl.KeyMode == api.KeyPassword {
			s.Password = pw
		} else {
			s.ItemPassword = pw
		}
	}
	sh, err := drive.OpenLink(ctx, c, id, s)
	if err != nil {
		return linkError(err)
	}
	root := sh.Root()
	if err := safeName(root.Name); err != nil {
		return err
	}
	out := root.Name
	if len(pos) == 2 {
		out = pos[1]
		if st, err := os.Stat(out); err == nil && st.IsDir() {
			out = filepath.Join(out, root.Name)
		}
	}
	if !root.Folder {
		if out == "-" {
			f, _, err := sh.Open(ctx, root.ID, "")
			if err != nil {
				return linkError(err)
			}
			_, err = f.WriteTo(os.Stdout)
			return linkError(err)
		}
		return linkError(getSharedFile(ctx, sh, root, out, *force))
	}
	skipped, err := getSharedFolder(ctx, sh, root, out, *force)
	if err != nil {
		return linkError(err)
	}
	if skipped > 0 {
		fmt.Fprintf(os.Stderr, "%d item(s) with their own password were skipped\n", skipped)
	}
	return nil
}

// safeName refuses a shared name that is not a plain file name here (the
// sharer chose it: it must not reach outside the output directory).
func safeName(name string) error {
	if name == "" || name == "." || name == ".." || filepath.Base(name) != name || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("the link shares an item named %q, which cannot be a file name here", name)
	}
	return nil
}

func getSharedFile(ctx context.Context, sh *drive.Shared, it drive.Item, out string, force bool) error {
	if _, err := os.Lstat(out); err == nil && !force {
		return fmt.Errorf("%s exists already (use --force to overwrite it)", out)
	}
	f, _, err := sh.Open(ctx, it.ID, "")
	if err != nil {
		return err
	}
	return writeAtomically(out, f.Size(), func(w io.Writer) error {
		_, err := f.WriteTo(w)
		return err
	})
}

// getSharedFolder writes folder it and everything below it to directory
// out, and returns how many items it skipped for their own password.
func getSharedFolder(ctx context.Context, sh *drive.Shared, it drive.Item, out string, force bool) (int, error) {
	if err := os.Mkdir(out, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return 0, err
	}
	if st, err := os.Stat(out); err != nil || !st.IsDir() {
		return 0, fmt.Errorf("%s exists already and is not a directory", out)
	}
	items, err := sh.List(ctx, it.ID)
	if err != nil {
		return 0, err
	}
	skipped := 0
	for _, k := range items {
		if err := safeName(k.Name); err != nil {
			return skipped, err
		}
		p := filepath.Join(out, k.Name)
		if k.NeedsPassword {
			fmt.Fprintf(os.Stderr, "skipped %s: it has its own password\n", p)
			skipped++
			continue
		}
		if k.Folder {
			n, err := getSharedFolder(ctx, sh, k, p, force)
			skipped += n
			if err != nil {
				return skipped, err
			}
			continue
		}
		if err := getSharedFile(ctx, sh, k, p, force); err != nil {
			return skipped, err
		}
	}
	return skipped, nil
}

// linkError says in the CLI's terms why a link did not open.
func linkError(err error) error {
	var ae *api.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, drive.ErrNeedsKey):
		return errors.New("this link needs its key, which is not in the URL: give it with --key KEY (or the item's own password with --password-file)")
	case errors.Is(err, drive.ErrNeedsLinkPassword):
		return errors.New("this link is protected by a password: give it with --password-file FILE")
	case errors.Is(err, drive.ErrWrongKey), errors.Is(err, vault.ErrLinkKey):
		return errors.New("this key does not open the link: check that it was copied whole")
	case errors.Is(err, vault.ErrWrongPassword):
		return errors.New("wrong password for this link")
	case errors.As(err, &ae):
		switch ae.Code {
		case api.CodeLinkRemoved:
			return errors.New("this link was removed by its owner")
		case api.CodeLinkExpired:
			return errors.New("this link has expired")
		case api.CodeLinkExhausted:
			return errors.New("this link has reached its download limit")
		case api.CodeNotFound:
			return errors.New("no such link on this node (check the URL)")
		}
	}
	return err
}
