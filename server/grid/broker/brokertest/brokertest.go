// Package brokertest builds brokers over in-process storage grids
// (storagetest) for the tests of the grid client packages.
package brokertest

import (
	"strconv"
	"testing"
	"time"

	"github.com/communitycube/cube/server/grid/broker"
	"github.com/communitycube/cube/server/grid/gbs"
	"github.com/communitycube/cube/server/grid/storage/storagetest"
	"github.com/communitycube/cube/shared/cap"
)

// Info describes grid node i the way an announcement would: id
// "v0-<base32 node id>", nickname "node<i>", permutation seed = node id.
func Info(n *storagetest.Node) broker.Info {
	nid := n.Identity.NodeID()
	return broker.Info{
		ID:              "v0-" + cap.EncodeBase32(nid[:]),
		Nickname:        "node" + strconv.Itoa(n.Index),
		PermutationSeed: nid[:],
		NURL:            n.NURL,
		AvailableSpace:  -1,
	}
}

// Options are broker options suited to tests: quick retries, short
// backoff.
func Options() *broker.Options {
	return &broker.Options{
		Client:  &gbs.Options{RetryBackoff: 5 * time.Millisecond, MaxRetries: 2},
		Backoff: 50 * time.Millisecond,
	}
}

// New returns a Static broker over the given nodes of g (all of them if
// none are named), closed when the test ends.
func New(t testing.TB, g *storagetest.Grid, nodes ...int) *broker.Static {
	t.Helper()
	if len(nodes) == 0 {
		for i := range g.Nodes {
			nodes = append(nodes, i)
		}
	}
	var infos []broker.Info
	for _, i := range nodes {
		infos = append(infos, Info(g.Nodes[i]))
	}
	b, err := broker.NewStatic(infos, Options())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// NodeOf returns the grid node a broker server stands for, or nil.
func NodeOf(g *storagetest.Grid, s *broker.Server) *storagetest.Node {
	for _, n := range g.Nodes {
		if n.NURL == s.NURL() {
			return n
		}
	}
	return nil
}

// Stop stops grid node i after dropping the idle connections the brokers'
// clients hold to it, which Stop would otherwise wait on.
func Stop(g *storagetest.Grid, i int, brokers ...broker.Broker) {
	for _, b := range brokers {
		for _, s := range b.Servers() {
			if s.NURL() == g.Nodes[i].NURL {
				if c, err := s.Client(); err == nil {
					c.Close()
				}
			}
		}
	}
	g.Nodes[i].Stop()
}
