package main

import (
	"context"
	"encoding/base32"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/communitycube/cube/server/grid/upload"
	"github.com/communitycube/cube/server/node"
	"github.com/communitycube/cube/shared/chk"
)

func capCmd(ctx context.Context, args []string) error {
	fs := newFlags("cap", "[--convergence-secret-file F | --node DIR] [--k K] [--n N] [--segment-size S] FILE",
		"Prints the read cap that uploading FILE with these parameters gives, without uploading.\n"+
			"The key is convergent (derived from the content, the parameters and a convergence secret),\n"+
			"as Tahoe-LAFS does it, so the result is comparable with Tahoe's.")
	secretFile := fs.String("convergence-secret-file", "", "`file` whose bytes (minus a trailing newline) are the convergence secret")
	nodeDir := fs.String("node", "./data", "use the convergence secret of the node in this `directory` (when --convergence-secret-file is absent)")
	k := fs.Int("k", 3, "shares needed to rebuild the file")
	n := fs.Int("n", 10, "shares made")
	seg := fs.Int64("segment-size", upload.DefaultSegmentSize, "maximum segment `bytes` (Tahoe-LAFS's default is 131072)")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	secret, err := convergenceSecret(*secretFile, *nodeDir)
	if err != nil {
		return err
	}
	f, st, err := openRegular(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	c, err := chk.Encode(f, st.Size(), secret, chk.Params{K: *k, N: *n, MaxSegmentSize: *seg}, chk.Discard)
	if err != nil {
		return err
	}
	fmt.Println(c.String())
	return nil
}

// convergenceSecret reads an explicit secret file (raw bytes), or else the
// node's own secret (DIR/private/convergence, base32), which `cube put` uses.
func convergenceSecret(file, nodeDir string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		return []byte(strings.TrimRight(string(b), "\r\n")), nil
	}
	p := filepath.Join(nodeDir, node.PrivateDir, "convergence")
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("no convergence secret: give --convergence-secret-file, or --node DIR of a node (%v)", err)
	}
	enc := base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	return enc.DecodeString(strings.TrimSpace(string(b)))
}
