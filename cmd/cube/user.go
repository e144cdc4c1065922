package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/communitycube/cube/server/auth"
	"github.com/communitycube/cube/server/db"
	"github.com/communitycube/cube/server/node"
)

func userCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{"usage: cube user add|list [flags]"}
	}
	switch args[0] {
	case "add":
		return userAdd(ctx, args[1:])
	case "list":
		return userList(ctx, args[1:])
	}
	return usageError{fmt.Sprintf("unknown user command %q (want add or list)", args[0])}
}

func openStore(ctx context.Context, dir string) (*auth.Store, func(), error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	database, err := db.Open(ctx, filepath.Join(dir, node.DBFile), db.Options{})
	if err != nil {
		return nil, nil, err
	}
	return auth.New(database, auth.DefaultHasher()), func() { database.Close() }, nil
}

func userAdd(ctx context.Context, args []string) error {
	fs := newFlags("user add", "--data DIR --name NAME --password-file FILE [--admin]",
		"Creates an account directly in a data directory (the node may be running).\nAdding an administrator closes the setup page, as completing it would.")
	dir := fs.String("data", "./data", "data `directory`")
	name := fs.String("name", "", "user `name`")
	pwFile := fs.String("password-file", "", "`file` holding the password (- for standard input); one trailing newline is ignored")
	admin := fs.Bool("admin", false, "make the user an administrator")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *name == "" || *pwFile == "" {
		fs.Usage()
		return usageError{"--name and --password-file are required"}
	}
	pw, err := readPasswordFile(*pwFile)
	if err != nil {
		return err
	}
	store, closeDB, err := openStore(ctx, *dir)
	if err != nil {
		return err
	}
	defer closeDB()
	u, err := store.CreateUser(ctx, *name, pw, *admin)
	if err != nil {
		return err
	}
	role := "user"
	if u.Admin {
		role = "administrator"
	}
	fmt.Printf("created %s %s\n", role, u.Name)
	return nil
}

func userList(ctx context.Context, args []string) error {
	fs := newFlags("user list", "--data DIR", "Lists the accounts of a data directory.")
	dir := fs.String("data", "./data", "data `directory`")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	store, closeDB, err := openStore(ctx, *dir)
	if err != nil {
		return err
	}
	defer closeDB()
	users, err := store.Users(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSTATUS\tCREATED")
	for _, u := range users {
		role, status := "user", "active"
		if u.Admin {
			role = "admin"
		}
		if u.Disabled {
			status = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, role, status, u.CreatedAt.Format("2006-01-02"))
	}
	return tw.Flush()
}

// readPasswordFile reads a password from a file or standard input ("-").
// Passwords never come from the command line, where other users of the
// machine can read them in the process list.
func readPasswordFile(path string) (string, error) {
	var r io.Reader
	if path == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, 4097))
	if err != nil {
		return "", err
	}
	if len(b) > 4096 {
		return "", fmt.Errorf("%s: a password file holds one password of at most 4096 bytes", path)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return "", fmt.Errorf("%s is empty", path)
	}
	return string(b), nil
}
