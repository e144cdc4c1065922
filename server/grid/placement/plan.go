package placement

import "fmt"

// Server is what an uploader knows about one candidate server.
type Server struct {
	ID string
	// Has lists the shares the server already holds (including any the
	// uploader has already been granted there).
	Has []int
	// Writable means the server accepts new shares of this file's size.
	Writable bool
	// Refuses lists shares the server must not be asked to store even
	// though it is writable, e.g. because it holds a corrupt copy that it
	// would report as already present.
	Refuses []int
}

// Plan says where a file's shares should be.
type Plan struct {
	// Upload maps each share to be written to the server that should
	// receive it.
	Upload map[int]string
	// Keep maps each share that will not be written to one server that
	// already holds it.
	Keep map[int]string
	// Homeless lists shares that neither exist nor fit anywhere.
	Homeless []int
	// Happiness is that of the layout after the uploads (existing holdings
	// plus Upload).
	Happiness int
}

// Layout returns the layout after the plan: every server's existing shares
// plus its uploads.
func (p Plan) Layout(servers []Server) Placements {
	out := Placements{}
	for _, s := range servers {
		if len(s.Has) > 0 {
			out[s.ID] = append(out[s.ID], s.Has...)
		}
	}
	for sh, id := range p.Upload {
		out[id] = append(out[id], sh)
	}
	return Merge(out)
}

// PlanShares chooses servers for shares 0..n-1, given candidate servers in
// permuted order (earlier is preferred). It maximises happiness, relies on
// existing shares wherever that costs no happiness, and never plans to
// upload a share to a server that already holds it.
//
// It follows Tahoe's "upload strategy of happiness":
//
//  1. M1: a maximum matching between read-only servers and the shares
//     they hold (they can contribute nothing else).
//  2. M2: writable servers matched to shares they hold, around M1. (Tahoe
//     matches them only to shares M1 left; we extend M1 to a maximum
//     matching of the whole existing layout, which can only avoid
//     needless uploads.)
//  3. M3: a maximum matching between the remaining writable servers and
//     the remaining shares (a new upload on each edge).
//  4. (Ours) augmenting paths over the whole graph, in case a share a
//     writable server refuses kept steps 1-3 from the maximum. Without
//     refusals steps 1-3 are already maximal; see docs/spec/placement.md.
//  5. Every share still unmatched stays where a copy exists, or else goes
//     to the writable server with the fewest planned shares (earliest on
//     ties), so extra shares spread evenly.
//
// Matchings prefer earlier servers and lower share numbers, so with empty
// writable servers share i goes to the i-th server.
func PlanShares(servers []Server, n int) Plan {
	plan := Plan{Upload: map[int]string{}, Keep: map[int]string{}}
	if n <= 0 {
		return plan
	}
	ns := len(servers)
	has := make([][]bool, ns)
	refuses := make([][]bool, ns)
	for i, s := range servers {
		has[i] = make([]bool, n)
		refuses[i] = make([]bool, n)
		for _, sh := range s.Has {
			if sh >= 0 && sh < n {
				has[i][sh] = true
			}
		}
		for _, sh := range s.Refuses {
			if sh >= 0 && sh < n {
				refuses[i][sh] = true
			}
		}
	}
	canTake := func(i, sh int) bool { return servers[i].Writable && !refuses[i][sh] && !has[i][sh] }

	m := newMatcher(ns)
	m.setShares(n)
	taken := func(sh int) bool { return m.shareServer[sh] >= 0 }

	// Steps 1 and 2: a maximum matching of the existing layout, read-only
	// servers first. Kuhn's algorithm never unmatches a server, so the
	// read-only servers matched first stay matched (Tahoe's M1), and the
	// writable ones fill in around them (M2). Doing both in one matching,
	// rather than M2 on what M1 left, means no existing share is uploaded
	// again unless that raises happiness.
	for i := range servers {
		m.adj[i] = nil
		for sh := range n {
			if has[i][sh] {
				m.adj[i] = append(m.adj[i], sh)
			}
		}
	}
	m.run(func(i int) bool { return !servers[i].Writable })
	m.run(func(i int) bool { return servers[i].Writable })

	// Step 3: remaining writable servers and remaining shares.
	var free []int
	for sh := range n {
		if !taken(sh) {
			free = append(free, sh)
		}
	}
	for i := range servers {
		if servers[i].Writable && m.serverShare[i] < 0 {
			m.adj[i] = nil
			for _, sh := range free {
				if canTake(i, sh) {
					m.adj[i] = append(m.adj[i], sh)
				}
			}
		}
	}
	m.run(func(i int) bool { return servers[i].Writable })

	// Step 4: augment over the whole graph, held shares listed first so
	// that a rerouted server still prefers what it already has.
	for i := range servers {
		m.adj[i] = nil
		for sh := range n {
			if has[i][sh] {
				m.adj[i] = append(m.adj[i], sh)
			}
		}
		for sh := range n {
			if canTake(i, sh) {
				m.adj[i] = append(m.adj[i], sh)
			}
		}
	}
	m.run(nil)

	load := make([]int, ns)
	for sh := range n {
		i := m.shareServer[sh]
		if i < 0 {
			continue
		}
		load[i]++
		if has[i][sh] {
			plan.Keep[sh] = servers[i].ID
		} else {
			plan.Upload[sh] = servers[i].ID
		}
	}

	// Step 5: shares outside the matching.
	for sh := range n {
		if taken(sh) {
			continue
		}
		holder := -1
		for i := range servers {
			if has[i][sh] {
				holder = i
				break
			}
		}
		if holder >= 0 {
			plan.Keep[sh] = servers[holder].ID
			continue
		}
		best := -1
		for i := range servers {
			if canTake(i, sh) && (best < 0 || load[i] < load[best]) {
				best = i
			}
		}
		if best < 0 {
			plan.Homeless = append(plan.Homeless, sh)
			continue
		}
		load[best]++
		plan.Upload[sh] = servers[best].ID
	}
	plan.Happiness = Happiness(plan.Layout(servers))
	return plan
}

// FailureMessage explains, like Tahoe's happinessutil.failure_message,
// why a layout of happiness effective over servers servers falls short
// of happy for a k-of-n file.
func FailureMessage(servers, k, happy, effective int) string {
	switch {
	case servers < k:
		return fmt.Sprintf("shares could be placed or found on only %d server(s). "+
			"We were asked to place shares on at least %d server(s) such that any %d of them have enough shares to recover the file.",
			servers, happy, k)
	case effective < k:
		return fmt.Sprintf("shares could be placed or found on %d server(s), but they are not spread out evenly enough "+
			"to ensure that any %d of these servers would have enough shares to recover the file. "+
			"We were asked to place shares on at least %d servers such that any %d of them have enough shares to recover the file.",
			servers, k, happy, k)
	default:
		return fmt.Sprintf("shares could be placed on only %d server(s) such that any %d of them have enough shares "+
			"to recover the file, but we were asked to place shares on at least %d such servers.",
			effective, k, happy)
	}
}
