package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/communitycube/cube/shared/units"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/communitycube/cube/server/grid/download"
	"github.com/communitycube/cube/server/grid/gridclient"
	"github.com/communitycube/cube/server/grid/prealloc"
	"github.com/communitycube/cube/server/grid/repair"
	"github.com/communitycube/cube/server/grid/upload"
	"github.com/communitycube/cube/server/node"
	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/nurl"
)

// gridFlags are the flags of every verb that talks to a grid.
type gridFlags struct {
	node   *string
	config *string
}

func addGridFlags(fs *flag.FlagSet) gridFlags {
	return gridFlags{
		node:   fs.String("node", "./data", "the grid to use: a running node's data `directory`, or an introducer's NURL (pb://...)"),
		config: fs.String("config", defaultConfigDir(), "client `directory` for secrets when --node is an introducer (or set CUBE_CONFIG)"),
	}
}

func defaultConfigDir() string {
	if d := os.Getenv("CUBE_CONFIG"); d != "" {
		return d
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "communitycube")
	}
	return ".communitycube"
}

func (f gridFlags) open(ctx context.Context) (*gridclient.Grid, error) {
	if strings.HasPrefix(*f.node, "pb://") {
		return gridclient.OpenIntroducer(ctx, *f.node, *f.config)
	}
	return gridclient.OpenNode(ctx, *f.node)
}

func putCmd(ctx context.Context, args []string) error {
	fs := newFlags("put", "[--node DIR|NURL] [--random-key] FILE",
		"Encrypts FILE, stores it on the grid and prints its read cap (URI:CHK:...), which is all anyone\n"+
			"needs to read it back: keep it safe. Through a node with a helper only ciphertext leaves this\n"+
			"machine, and an interrupted upload resumes when run again.")
	gf := addGridFlags(fs)
	random := fs.Bool("random-key", false, "encrypt with a random key instead of a convergent one (identical files then get different caps)")
	quiet := fs.Bool("q", false, "no progress on standard error")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	f, st, err := openRegular(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	g, err := gf.open(ctx)
	if err != nil {
		return err
	}
	defer g.Close()
	var progress func(sent, total int64)
	if show, done := progressLine(*quiet); show != nil {
		progress = func(sent, total int64) { show(sent, total, "") }
		defer done()
	}
	c, err := g.Put(ctx, f, st.Size(), *random, progress)
	if err != nil {
		return err
	}
	fmt.Println(c.String())
	return nil
}

func getCmd(ctx context.Context, args []string) error {
	fs := newFlags("get", "[--node DIR|NURL] CAP [OUT]",
		"Fetches the file a read cap names, checks every block against the cap, and writes it to OUT\n"+
			"(standard output if absent). OUT appears only once the whole file arrived intact.")
	gf := addGridFlags(fs)
	if err := parse(fs, args, -1); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		fs.Usage()
		return usageError{"want CAP [OUT]"}
	}
	c, err := cap.Parse(fs.Arg(0))
	if err != nil {
		return err
	}
	if _, ok := c.(cap.Verifier); ok {
		return errors.New("that is a verify cap: it can check a file but not read it; give the read cap (URI:CHK:...)")
	}
	g, err := gf.open(ctx)
	if err != nil {
		return err
	}
	defer g.Close()
	if fs.NArg() == 1 {
		_, err := download.Download(ctx, g.Broker, c, os.Stdout, nil)
		return err
	}
	return writeAtomically(fs.Arg(1), capSize(c), func(w io.Writer) error {
		_, err := download.Download(ctx, g.Broker, c, w, nil)
		return err
	})
}

// openRegular opens a local file to upload: a regular file, not a
// directory or a device.
func openRegular(name string) (*os.File, os.FileInfo, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is not a regular file", name)
	}
	return f, st, nil
}

// progressLine is the "sent of total" line an upload rewrites on standard
// error (at most every 200 ms, and at the end), or nil when quiet or not on
// a terminal; done ends the line.
func progressLine(quiet bool) (show func(sent, total int64, note string), done func()) {
	if quiet || !isTerminal(os.Stderr) {
		return nil, nil
	}
	var last time.Time
	show = func(sent, total int64, note string) {
		if time.Since(last) > 200*time.Millisecond || sent == total {
			last = time.Now()
			fmt.Fprintf(os.Stderr, "\r%s of %s sent%s   ", units.Bytes(sent), units.Bytes(total), note)
		}
	}
	return show, func() { fmt.Fprintln(os.Stderr) }
}

// writeAtomically writes to a temporary file beside out and renames it into
// place only when fill succeeded: nothing corrupt or partial is ever left
// under the final name. It does not fsync (neither do cp, curl or rclone):
// the file's original is safe on the grid, and a sync would cost a second
// per 256 MiB on a typical disk.
func writeAtomically(out string, size int64, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".partial-*")
	if err != nil {
		return err
	}
	if err := prealloc.File(tmp, size); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := fill(tmp); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	ok = true
	return nil
}

// capSize is the size of the file a cap names.
func capSize(c cap.Cap) int64 {
	switch c := c.(type) {
	case cap.CHK:
		return c.Size
	case cap.LIT:
		return int64(len(c.Data))
	}
	return 0
}

func checkCmd(ctx context.Context, args []string) error {
	fs := newFlags("check", "[--node DIR|NURL] [--verify] [--repair] [--add-lease] CAP",
		"Checks that a file is healthy: enough shares on enough distinct servers. --verify also reads\n"+
			"and checks every block; --repair regenerates missing or corrupt shares on other servers;\n"+
			"--add-lease renews this client's lease on every share. A verify cap is enough for all of it.")
	gf := addGridFlags(fs)
	verify := fs.Bool("verify", false, "download and check every block (slow)")
	doRepair := fs.Bool("repair", false, "repair the file if it is unhealthy")
	addLease := fs.Bool("add-lease", false, "add or renew this client's leases")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	c, err := cap.Parse(fs.Arg(0))
	if err != nil {
		return err
	}
	var v cap.Verifier
	switch c := c.(type) {
	case cap.CHK:
		v = c.Verifier()
	case cap.Verifier:
		v = c
	case cap.LIT:
		fmt.Println("healthy: a literal cap holds its data itself")
		return nil
	}
	g, err := gf.open(ctx)
	if err != nil {
		return err
	}
	defer g.Close()
	// Judge happiness by what fits the grid, as uploads do (a one-server
	// grid stores 1-of-1 and is healthy that way).
	happy := upload.ParamsFor(len(g.Broker.Servers()), g.Encoding).Happy
	opts := &repair.Options{Verify: *verify, AddLease: *addLease, LeaseSecret: g.LeaseSecret, Happy: happy}
	if *doRepair {
		res, err := repair.Repair(ctx, g.Broker, v, opts)
		if err != nil {
			return err
		}
		printReport(res.Pre)
		if !res.Attempted {
			fmt.Println("no repair needed")
			return nil
		}
		fmt.Println("after repair:")
		printReport(res.Post)
		if !res.Successful {
			return errors.New("the repair did not make the file healthy")
		}
		return nil
	}
	rep, err := repair.Check(ctx, g.Broker, v, opts)
	if err != nil {
		return err
	}
	printReport(rep)
	if !rep.Healthy {
		return errors.New("the file is not healthy; run again with --repair")
	}
	return nil
}

func printReport(r *repair.Report) {
	fmt.Println(r.Summary)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tSHARES\tNOTE")
	for _, s := range r.Servers {
		if len(s.Shares) == 0 && s.Responded && len(s.Corrupt) == 0 {
			continue
		}
		name := s.Nickname
		if name == "" {
			name = s.ID
		}
		note := s.Error
		if len(s.Corrupt) > 0 {
			note = fmt.Sprintf("corrupt: %v", s.Corrupt)
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\n", name, s.Shares, note)
	}
	tw.Flush()
}

func statusCmd(ctx context.Context, args []string) error {
	fs := newFlags("status", "[--node DIR]", "Shows the running node's roles, the storage servers it knows, and its helper's work.")
	dir := fs.String("node", "./data", "the node's data `directory`")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	n, err := node.ReadNURLs(*dir)
	if err != nil {
		return err
	}
	control, err := nurl.Parse(n.Control)
	if err != nil {
		return fmt.Errorf("%s: %w", *dir, err)
	}
	var s api.GridStatus
	if err := gridclient.Control(ctx, control, "status", &s); err != nil {
		return err
	}
	name := s.Nickname
	if name == "" {
		name = "(no nickname)"
	}
	fmt.Printf("node %s %s\nroles: %s; uploads %d-of-%d, happy %d\n", name, s.NodeID, strings.Join(s.Roles, ", "), s.Encoding.K, s.Encoding.N, s.Encoding.Happy)
	if s.Storage != nil {
		fmt.Printf("storage: %s available, %s reserved, read-only %v\n", units.Bytes(s.Storage.AvailableSpace), units.Bytes(s.Storage.ReservedSpace), s.Storage.ReadOnly)
	}
	if s.Helper != nil {
		fmt.Printf("helper: %d uploads in progress, %s staged, %s being placed, %d completed\n", s.Helper.ActiveUploads, units.Bytes(s.Helper.StagedBytes), units.Bytes(s.Helper.PlacingBytes), s.Helper.Completed)
	}
	connected := 0
	for _, sv := range s.Servers {
		if sv.Connected {
			connected++
		}
	}
	fmt.Printf("\nstorage servers: %d known, %d connected\n", len(s.Servers), connected)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NICKNAME\tADDRESS\tSPACE\tSTATE\tNODE ID")
	for _, sv := range s.Servers {
		state := "connected"
		if !sv.Connected {
			state = "not connected"
			if sv.LastError != "" {
				state += " (" + sv.LastError + ")"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", sv.Nickname, sv.Address, units.Bytes(sv.AvailableSpace), state, sv.NodeID)
	}
	tw.Flush()
	fmt.Printf("\nintroducers: %d\n", len(s.Introducers))
	for _, in := range s.Introducers {
		state := "connected"
		if !in.Connected {
			state = "not connected " + in.LastError
		}
		fmt.Printf("  %s %s\n", in.Address, state)
	}
	return nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
