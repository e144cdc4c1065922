// Command cube is CommunityCube in one binary: `cube run` starts a node; the
// other verbs administer a node's data directory or talk to a node.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
)

// version is set by the build (-ldflags "-X main.version=...").
var version = "dev"

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"run", "start a node (web app, API) on a data directory", runNode},
		{"user", "manage accounts of a data directory: user add, user list", userCmd},
		{"tls-init", "make HTTPS certificates so phones on your network can use the node", tlsInit},
		{"create-introducer", "create an introducer node (the grid's meeting point)", createIntroducer},
		{"create-node", "create a grid node: storage, helper, web", createNode},
		{"cap", "print the read cap a file would get, without uploading", capCmd},
		{"put", "upload a file to your files (LOCAL PATH), or to the grid by cap (--node)", putDispatch},
		{"get", "download a file of yours (PATH [OUT]), a share link (URL [OUT], no account), or from the grid by cap", getDispatch},
		{"login", "sign in to a node and unlock your files", loginCmd},
		{"logout", "end the session and forget the saved keys", logoutCmd},
		{"ls", "list a folder of your files", lsCmd},
		{"mkdir", "make a folder in your files", mkdirCmd},
		{"mv", "move or rename an item of your files", mvCmd},
		{"rm", "put an item of your files in the trash", rmCmd},
		{"versions", "list the versions of a file of yours", versionsCmd},
		{"trash", "list, restore or empty the trash", trashCmd},
		{"share", "make a share link to a file or folder of yours, or an upload link (--drop)", shareCmd},
		{"links", "list your share links and drops", linksCmd},
		{"unshare", "remove a share link or drop", unshareCmd},
		{"share-with", "share a file or folder of yours with a user or group of this node", shareWithCmd},
		{"shared", "list what other users share with you", sharedCmd},
		{"check", "check (verify, repair, renew leases of) a file on the grid", checkCmd},
		{"status", "show a running node's grid: servers, introducers, helper", statusCmd},
		{"version", "print the version", func(context.Context, []string) error { printVersion(os.Stdout); return nil }},
		{"help", "show help for a command", helpCmd},
	}
}

// usageError makes main print the command's usage after the message.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f := os.Getenv("CUBE_CPUPROFILE"); f != "" {
		// For developers: a CPU profile of this command.
		if out, err := os.Create(f); err == nil && pprof.StartCPUProfile(out) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	err := dispatch(ctx, os.Args[1:])
	pprof.StopCPUProfile()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "cube:", err)
		}
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		usage(os.Stderr)
		return usageError{"no command given"}
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(os.Stdout)
		return nil
	case "-v", "-version", "--version":
		printVersion(os.Stdout)
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:])
		}
	}
	usage(os.Stderr)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "CommunityCube %s: your private cloud.\n\nUsage: cube COMMAND [flags]\n\nCommands:\n", version)
	cs := append([]command(nil), commands...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'cube help COMMAND' or 'cube COMMAND -h' for a command's flags.\n")
}

func helpCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		usage(os.Stdout)
		return nil
	}
	return dispatch(ctx, []string{args[0], "-h"})
}

func printVersion(w io.Writer) {
	fmt.Fprintf(w, "cube %s\n", version)
}

// newFlags returns a flag set whose usage names the command and its
// arguments, and which reports errors instead of exiting.
func newFlags(name, argsUsage, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("cube "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: cube %s %s\n\n%s\n\nFlags:\n", name, argsUsage, about)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags and demands exactly nargs positional arguments (-1: any).
func parse(fs *flag.FlagSet, args []string, nargs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if nargs >= 0 && fs.NArg() != nargs {
		fs.Usage()
		return usageError{fmt.Sprintf("expected %d argument(s), got %d: %s", nargs, fs.NArg(), strings.Join(fs.Args(), " "))}
	}
	return nil
}
