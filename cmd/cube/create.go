package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/communitycube/cube/server/node"
)

func createIntroducer(ctx context.Context, args []string) error {
	fs := newFlags("create-introducer", "--data DIR --listen HOST:PORT [--advertise HOST:PORT]",
		"Creates an introducer node: the meeting point where the grid's nodes announce themselves.\n"+
			"Prints its NURL (also written to DIR/introducer.nurl); give it to `cube create-node --introducer`.")
	dir := fs.String("data", "", "data `directory` of the new node")
	listen := fs.String("listen", "", "`host:port` of the grid listener (TLS)")
	advertise := fs.String("advertise", "", "`host:port` others reach it at, if not --listen")
	nick := fs.String("nickname", "introducer", "a `name` shown on status pages")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *dir == "" || *listen == "" {
		fs.Usage()
		return usageError{"--data and --listen are required"}
	}
	nc := node.NodeConfig{Nickname: *nick, Listen: *listen, Advertise: *advertise,
		Introducer: &node.IntroducerConfig{}, Encoding: node.DefaultEncoding}
	n, err := node.Create(*dir, nc)
	if err != nil {
		return err
	}
	fmt.Println(n.Introducer)
	return nil
}

func createNode(ctx context.Context, args []string) error {
	fs := newFlags("create-node", "--data DIR --listen HOST:PORT --introducer NURL [--storage] [--helper] [--web ADDR] [flags]",
		"Creates a grid node. Without a role flag it is a storage node.\n"+
			"Then start it with `cube run --data DIR`.")
	dir := fs.String("data", "", "data `directory` of the new node")
	listen := fs.String("listen", "", "`host:port` of the grid listener (TLS)")
	advertise := fs.String("advertise", "", "`host:port` others reach it at, if not --listen")
	intro := fs.String("introducer", "", "introducer `NURL`s (comma-separated for several)")
	storageRole := fs.Bool("storage", false, "hold shares for the grid")
	helperRole := fs.Bool("helper", false, "encode and place uploads for clients")
	introRole := fs.Bool("run-introducer", false, "also be an introducer (alternative meeting point)")
	webAddr := fs.String("web", "", "serve the web app on this `host:port`")
	nick := fs.String("nickname", "", "a `name` shown on status pages")
	reserved := fs.String("reserved-space", "1GB", "disk `space` to keep free (storage)")
	k := fs.Int("k", node.DefaultEncoding.K, "shares needed to rebuild a file")
	happy := fs.Int("happy", node.DefaultEncoding.Happy, "distinct servers an upload must reach")
	n := fs.Int("n", node.DefaultEncoding.N, "shares per file")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *dir == "" || *listen == "" {
		fs.Usage()
		return usageError{"--data and --listen are required"}
	}
	nc := node.NodeConfig{Nickname: *nick, Listen: *listen, Advertise: *advertise,
		Encoding: node.Encoding{K: *k, Happy: *happy, N: *n, SegmentSize: node.DefaultEncoding.SegmentSize}}
	for _, u := range strings.Split(*intro, ",") {
		if u = strings.TrimSpace(u); u != "" {
			nc.Introducers = append(nc.Introducers, u)
		}
	}
	if *storageRole || (!*helperRole && *webAddr == "" && !*introRole) {
		nc.Storage = &node.StorageConfig{ReservedSpace: *reserved}
	}
	if *helperRole {
		nc.Helper = &node.HelperConfig{}
	}
	if *introRole {
		nc.Introducer = &node.IntroducerConfig{}
	}
	if *webAddr != "" {
		nc.Web = &node.WebConfig{Addr: *webAddr}
	}
	urls, err := node.Create(*dir, nc)
	if err != nil {
		return err
	}
	fmt.Printf("created node in %s\n", *dir)
	for _, r := range []struct{ name, u string }{{"storage", urls.Storage}, {"helper", urls.Helper}, {"introducer", urls.Introducer}} {
		if r.u != "" {
			fmt.Printf("%-10s %s\n", r.name, r.u)
		}
	}
	return nil
}
