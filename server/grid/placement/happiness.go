package placement

import (
	"maps"
	"slices"
)

// Placements maps a server id to the share numbers it holds or will hold.
type Placements map[string][]int

// Happiness returns the servers-of-happiness of a layout: the size of a
// maximum matching in the bipartite graph between servers and share
// numbers with an edge wherever a server holds a share. A layout of
// happiness h has h servers each holding a share no other of them is
// counted for, so any k of those servers can rebuild the file.
func Happiness(p Placements) int {
	ids := slices.Sorted(maps.Keys(p))
	m := newMatcher(len(ids))
	shareIdx := map[int]int{}
	for i, id := range ids {
		for _, sh := range p[id] {
			j, ok := shareIdx[sh]
			if !ok {
				j = len(shareIdx)
				shareIdx[sh] = j
			}
			m.adj[i] = append(m.adj[i], j)
		}
	}
	m.setShares(len(shareIdx))
	return m.run(nil)
}

// Merge returns a new layout holding every (server, share) pair of the
// arguments once.
func Merge(layouts ...Placements) Placements {
	out := Placements{}
	for _, l := range layouts {
		for id, shs := range l {
			for _, sh := range shs {
				if !slices.Contains(out[id], sh) {
					out[id] = append(out[id], sh)
				}
			}
		}
	}
	for id := range out {
		slices.Sort(out[id])
	}
	return out
}

// ByShare inverts a layout: share number to the servers holding it (each
// list sorted).
func (p Placements) ByShare() map[int][]string {
	out := map[int][]string{}
	for id, shs := range p {
		for _, sh := range shs {
			if !slices.Contains(out[sh], id) {
				out[sh] = append(out[sh], id)
			}
		}
	}
	for sh := range out {
		slices.Sort(out[sh])
	}
	return out
}

// matcher finds maximum bipartite matchings between "servers" (left,
// 0..len(adj)-1) and "shares" (right) by augmenting paths (Kuhn's
// algorithm). Servers are processed in index order and each server's edges
// in the order listed, so earlier servers and earlier edges win ties: once
// matched, a server stays matched, which is what makes "prefer earlier
// servers" hold. Graphs here are small (at most 256 shares), so the
// O(V·E) bound is no concern.
type matcher struct {
	adj         [][]int
	serverShare []int // server -> share or -1
	shareServer []int // share -> server or -1
	seen        []int // per share: stamp of the last search that visited it
	stamp       int
}

func newMatcher(servers int) *matcher {
	m := &matcher{adj: make([][]int, servers), serverShare: make([]int, servers)}
	for i := range m.serverShare {
		m.serverShare[i] = -1
	}
	return m
}

func (m *matcher) setShares(n int) {
	m.shareServer = make([]int, n)
	m.seen = make([]int, n)
	for i := range m.shareServer {
		m.shareServer[i] = -1
	}
}

// run tries to match every unmatched server allowed by only (nil: all) and
// returns the total matching size.
func (m *matcher) run(only func(server int) bool) int {
	for s := range m.adj {
		if m.serverShare[s] < 0 && (only == nil || only(s)) {
			m.stamp++
			m.augment(s)
		}
	}
	size := 0
	for _, sh := range m.serverShare {
		if sh >= 0 {
			size++
		}
	}
	return size
}

func (m *matcher) augment(s int) bool {
	// Take a free share if there is one, so that augmenting does not
	// needlessly shuffle earlier servers off the shares they were given.
	for _, sh := range m.adj[s] {
		if m.shareServer[sh] < 0 {
			m.shareServer[sh] = s
			m.serverShare[s] = sh
			return true
		}
	}
	for _, sh := range m.adj[s] {
		if m.seen[sh] == m.stamp {
			continue
		}
		m.seen[sh] = m.stamp
		if o := m.shareServer[sh]; o < 0 || m.augment(o) {
			m.shareServer[sh] = s
			m.serverShare[s] = sh
			return true
		}
	}
	return false
}
