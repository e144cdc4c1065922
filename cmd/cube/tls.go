package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/communitycube/cube/server/node"
)

func tlsInit(ctx context.Context, args []string) error {
	fs := newFlags("tls-init", "[--data DIR] [--host ADDR,...]",
		"Creates a certificate authority for this node (once) and a server certificate for the\n"+
			"node's LAN addresses, so phones and computers on your network get HTTPS, which the\n"+
			"web app needs to install and work offline. Install DIR/tls/ca.pem on each device once.")
	dir := fs.String("data", "./data", "data `directory`")
	hosts := fs.String("host", "", "comma-separated `addresses or names` (default: this machine's LAN addresses, localhost)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	var hs []string
	if *hosts != "" {
		for _, h := range strings.Split(*hosts, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hs = append(hs, h)
			}
		}
	} else {
		hs = append(node.LANAddresses(), "localhost", "127.0.0.1")
	}
	files, err := node.CreateLocalTLS(*dir, hs, time.Now())
	if err != nil {
		return err
	}
	fmt.Printf(`Certificate for %s written.

1. Install the CA on each device, once: %s
   Android: Settings > Security > Encryption & credentials > Install a certificate > CA certificate.
   iPhone:  send the file to the phone, open it, install the profile, then enable it under
            Settings > General > About > Certificate Trust Settings.
   Desktop: import it as a trusted authority in the browser's or system's certificate settings.
2. Start the node for the network:
   cube run --data %s --addr 0.0.0.0:8443 --tls-cert %s --tls-key %s
3. Open https://%s:8443 on the phone and add it to the home screen.
`, strings.Join(hs, ", "), files.CAFile, *dir, files.CertFile, files.KeyFile, hs[0])
	return nil
}
