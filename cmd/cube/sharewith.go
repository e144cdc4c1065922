package main

// Sharing with people of the same node (docs/sharing-users.md): `cube
// share-with NAME PATH [--write]` shares an item of yours with a user or a
// group, `cube shared` lists what others share with you.

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/drive"
	"github.com/communitycube/cube/shared/units"
)

func shareWithCmd(ctx context.Context, args []string) error {
	fs := newFlags("share-with", "[--write] [--config DIR] NAME PATH",
		"Shares a file or folder of yours with a user or a group of this node (read-only unless --write).\n"+
			"They find it under \"Shared with me\". Compare the key fingerprint printed here with theirs\n"+
			"(their Settings page) to be sure the node gave you their real key.")
	write := fs.Bool("write", false, "let them add, change and delete inside it")
	config := addConfigFlag(fs)
	pos, err := parseAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError{"give the user or group NAME and the PATH of the item"}
	}
	d, err := openAccount(ctx, *config)
	if err != nil {
		return err
	}
	defer d.Close()
	it, err := d.Resolve(ctx, cleanPath(pos[1]))
	if err != nil {
		return err
	}
	r, err := d.Recipient(ctx, pos[0])
	if err != nil {
		return err
	}
	perm := api.PermRead
	if *write {
		perm = api.PermWrite
	}
	if _, err := d.ShareWith(ctx, it.ID, r, perm); err != nil {
		return err
	}
	fmt.Printf("Shared %q with %s (%s).\n", it.Name, r.Name, permWords(perm))
	for _, m := range r.Members {
		if len(m.PublicKey) > 0 {
			fmt.Printf("  %s: key fingerprint %s\n", m.Name, drive.Fingerprint(m.PublicKey))
		} else {
			fmt.Printf("  %s: no keys yet (never signed in to Files): no access until you share again\n", m.Name)
		}
	}
	return nil
}

func permWords(p string) string {
	if p == api.PermWrite {
		return "can edit"
	}
	return "read-only"
}

func sharedCmd(ctx context.Context, args []string) error {
	fs := newFlags("shared", "[--config DIR]", "Lists what other users share with you.")
	config := addConfigFlag(fs)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	d, err := openAccount(ctx, *config)
	if err != nil {
		return err
	}
	defer d.Close()
	items, err := d.SharedWithMe(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tFROM\tPERMISSION\tSIZE\tID")
	for _, s := range items {
		name, size := s.Name, units.Bytes(s.Size)
		if s.Folder {
			name, size = name+"/", "-"
		}
		from := s.Owner
		if s.Group != "" {
			from += " (group " + s.Group + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, from, permWords(s.Permission), size, s.ID)
	}
	return tw.Flush()
}
