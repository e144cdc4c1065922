package node

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// IntroducerNURLFile is where `cube create-introducer` writes the NURL that
// other nodes need (`--introducer` of `cube create-node`).
const IntroducerNURLFile = "introducer.nurl"

// Create makes a new node directory with the given configuration and a fresh
// identity, and returns the NURLs its roles will have. It refuses a
// directory that already holds a node.
func Create(dir string, nc NodeConfig) (RoleNURLs, error) {
	if _, err := os.Stat(filepath.Join(dir, ConfigFile)); err == nil {
		return RoleNURLs{}, fmt.Errorf("%s already holds a node (%s exists)", dir, ConfigFile)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return RoleNURLs{}, err
	}
	if err := nc.Validate(); err != nil {
		return RoleNURLs{}, err
	}
	host, portStr, _ := net.SplitHostPort(nc.Listen)
	if nc.Advertise != "" {
		host, portStr, _ = net.SplitHostPort(nc.Advertise)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port <= 0 || port > 65535 {
		return RoleNURLs{}, fmt.Errorf("listen: a node of a grid needs a fixed port (got %q): its NURL is handed to others", nc.Listen)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return RoleNURLs{}, fmt.Errorf("listen: %q does not say how others reach this node: give --advertise HOST:PORT", nc.Listen)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return RoleNURLs{}, err
	}
	id, err := LoadOrCreateIdentity(dir)
	if err != nil {
		return RoleNURLs{}, err
	}
	if err := SaveConfig(dir, nc); err != nil {
		return RoleNURLs{}, err
	}
	u, err := id.TLS.NURL(host, uint16(port))
	if err != nil {
		return RoleNURLs{}, err
	}
	with := func(swiss string) string { v := u; v.Swissnum = swiss; return v.String() }
	var out RoleNURLs
	if nc.Storage != nil {
		out.Storage = with(id.TLS.Swissnum)
	}
	if nc.Helper != nil {
		out.Helper = with(id.HelperSwissnum)
	}
	if nc.Introducer != nil {
		out.Introducer = with(id.IntroducerSwissnum)
		if err := os.WriteFile(filepath.Join(dir, IntroducerNURLFile), []byte(out.Introducer+"\n"), 0o600); err != nil {
			return RoleNURLs{}, err
		}
	}
	return out, nil
}
