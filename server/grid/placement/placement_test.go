package placement

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestOrderTahoeVectors reproduces Tahoe's test_client.test_permute and
// test_permute_with_preferred, which pin the ring order forever.
func TestOrderTahoeVectors(t *testing.T) {
	seeds := [][]byte{[]byte("0"), []byte("1"), []byte("2"), []byte("3"), []byte("4")}
	name := func(idx []int) string {
		var b strings.Builder
		for _, i := range idx {
			b.Write(seeds[i])
		}
		return b.String()
	}
	if got := name(Order([]byte("one"), seeds, nil)); got != "31042" {
		t.Errorf("one: %s, want 31042", got)
	}
	if got := name(Order([]byte("two"), seeds, nil)); got != "04213" {
		t.Errorf("two: %s, want 04213", got)
	}
	pref := []bool{false, true, false, false, true}
	if got := name(Order([]byte("one"), seeds, pref)); got != "14302" {
		t.Errorf("preferred one: %s, want 14302", got)
	}
	if got := name(Order([]byte("two"), seeds, pref)); got != "41023" {
		t.Errorf("preferred two: %s, want 41023", got)
	}
	if got := Order([]byte("one"), nil, nil); len(got) != 0 {
		t.Errorf("empty: %v", got)
	}
	got := Permute([]byte("one"), []string{"0", "1", "2", "3", "4"}, func(s string) []byte { return []byte(s) })
	if strings.Join(got, "") != "31042" {
		t.Errorf("Permute: %v", got)
	}
}

func TestPermutationKey(t *testing.T) {
	// SHA-1("one" || "3"), computed independently; the key depends only on
	// the concatenation, as in Tahoe.
	for _, parts := range [][2]string{{"one", "3"}, {"on", "e3"}} {
		if k := PermutationKey([]byte(parts[0]), []byte(parts[1])); fmt.Sprintf("%x", k) != "25b9ad6019a75b2ea20c4d774b0085a027cc6d48" {
			t.Errorf("%q: %x", parts, k)
		}
	}
}

// TestHappinessTahoeExamples are the cases of Tahoe's
// test_servers_of_happiness_utility_function.
func TestHappinessTahoeExamples(t *testing.T) {
	cases := []struct {
		p    Placements
		want int
	}{
		{Placements{}, 0},
		{Placements{"s1": {1}, "s2": {2}, "s3": {3}, "s4": {4}}, 4},
		{Placements{"s1": {1, 4}, "s2": {2}, "s3": {3}}, 3},
		{Placements{"s1": {1, 4}, "s2": {2}, "s3": {3}, "s5": {5}, "s6": {6}, "s7": {7}, "s8": {8}}, 7},
		{Placements{"s1": {1, 4}, "s2": {2}, "s3": {3}, "s5": {5}, "s6": {6}, "s7": {7}, "s8": {8}}, 7},
		{Placements{"s1": {1}, "s2": {2}, "s3": {3}, "s4": {4}, "s5": {4}, "s6": {3, 5}}, 5},
		// Zooko's puzzles (ticket 778).
		{Placements{"s1": {0, 1}, "s2": {1, 2}, "s3": {2}}, 3},
		{Placements{"s1": {0, 1}, "s2": {1}}, 2},
		// servers_of_happiness docstring.
		{Placements{"s1": {1, 2, 3, 4}, "s2": {6}, "s3": {3}, "s4": {4}, "s5": {2}}, 5},
		// test_calc_happy: one server with share 0, another with 1..9.
		{Placements{"a": {0}, "b": {1, 2, 3, 4, 5, 6, 7, 8, 9}}, 2},
		{Placements{"a": {0, 1, 2}, "b": {0, 1, 2}, "c": {0, 1, 2}, "d": {0, 1, 2}}, 3},
		{Placements{"a": nil}, 0},
	}
	for i, c := range cases {
		if got := Happiness(c.p); got != c.want {
			t.Errorf("case %d %v: happiness %d, want %d", i, c.p, got, c.want)
		}
	}
}

func ids(prefix string, n int) []Server {
	out := make([]Server, n)
	for i := range out {
		out[i] = Server{ID: fmt.Sprintf("%s%d", prefix, i), Writable: true}
	}
	return out
}

func TestPlanFreshServers(t *testing.T) {
	// Ten empty servers: share i on the i-th server of the ring.
	p := PlanShares(ids("s", 10), 10)
	for sh := range 10 {
		if p.Upload[sh] != fmt.Sprintf("s%d", sh) {
			t.Errorf("share %d -> %q", sh, p.Upload[sh])
		}
	}
	if p.Happiness != 10 || len(p.Keep) != 0 || len(p.Homeless) != 0 {
		t.Errorf("plan %+v", p)
	}
	// Twenty servers: only the first ten are used (never more than n).
	p = PlanShares(ids("s", 20), 10)
	for sh, id := range p.Upload {
		if id != fmt.Sprintf("s%d", sh) {
			t.Errorf("share %d -> %q", sh, id)
		}
	}
	// Four servers, ten shares: happiness 4, extras spread 3/3/2/2.
	p = PlanShares(ids("s", 4), 10)
	if p.Happiness != 4 || len(p.Upload) != 10 {
		t.Fatalf("plan %+v", p)
	}
	count := map[string]int{}
	for _, id := range p.Upload {
		count[id]++
	}
	for _, id := range []string{"s0", "s1"} {
		if count[id] != 3 {
			t.Errorf("%s has %d shares: %v", id, count[id], count)
		}
	}
	for _, id := range []string{"s2", "s3"} {
		if count[id] != 2 {
			t.Errorf("%s has %d shares: %v", id, count[id], count)
		}
	}
	// One server takes everything.
	p = PlanShares(ids("s", 1), 3)
	if p.Happiness != 1 || len(p.Upload) != 3 {
		t.Errorf("plan %+v", p)
	}
	// No servers: everything homeless.
	p = PlanShares(nil, 3)
	if p.Happiness != 0 || len(p.Homeless) != 3 {
		t.Errorf("plan %+v", p)
	}
}

// TestPlanTahoeExamples follows Tahoe's test_happiness.Happiness cases.
func TestPlanTahoeExamples(t *testing.T) {
	// test_placement_simple: read-only peer0 holds share 2; peer1 takes 0, 1.
	srv := []Server{{ID: "peer0", Has: []int{2}}, {ID: "peer1", Writable: true}}
	p := PlanShares(srv, 3)
	want := Plan{Upload: map[int]string{0: "peer1", 1: "peer1"}, Keep: map[int]string{2: "peer0"}}
	if fmt.Sprint(p.Upload) != fmt.Sprint(want.Upload) || fmt.Sprint(p.Keep) != fmt.Sprint(want.Keep) {
		t.Errorf("simple: %+v", p)
	}

	// test_placement_1: peers 0-9 each hold share i (0-3 read-only), A and
	// B are empty: nothing moves.
	srv = nil
	for i := range 12 {
		s := Server{ID: fmt.Sprintf("peer%X", i), Writable: i >= 4}
		if i < 10 {
			s.Has = []int{i}
		}
		srv = append(srv, s)
	}
	p = PlanShares(srv, 10)
	if len(p.Upload) != 0 || p.Happiness != 10 {
		t.Errorf("placement_1: %+v", p)
	}
	for sh := range 10 {
		if p.Keep[sh] != fmt.Sprintf("peer%X", sh) {
			t.Errorf("placement_1: share %d kept on %s", sh, p.Keep[sh])
		}
	}

	// test_redistribute: a:{0} b:{1} c:{2,3} d:{} -> one of 2, 3 goes to d.
	srv = []Server{{ID: "a", Has: []int{0}, Writable: true}, {ID: "b", Has: []int{1}, Writable: true},
		{ID: "c", Has: []int{2, 3}, Writable: true}, {ID: "d", Writable: true}}
	p = PlanShares(srv, 4)
	if p.Happiness != 4 || len(p.Upload) != 1 || (p.Upload[2] != "d" && p.Upload[3] != "d") {
		t.Errorf("redistribute: %+v", p)
	}

	// test_unhappy: 4 peers, 5 shares.
	if p := PlanShares(ids("peer", 4), 5); p.Happiness != 4 || len(p.Upload) != 5 {
		t.Errorf("unhappy: %+v", p)
	}
	// test_hypothesis0 / _0 / _1 and test_100.
	for _, c := range [][2]int{{2, 2}, {1, 2}, {4, 9}, {100, 100}} {
		if p := PlanShares(ids("p", c[0]), c[1]); p.Happiness != min(c[0], c[1]) || len(p.Upload) != c[1] {
			t.Errorf("%d peers %d shares: %+v", c[0], c[1], p)
		}
	}
}

func TestPlanRefusesAndReadOnly(t *testing.T) {
	// s0 holds a bad copy of share 0 (so lists no shares and refuses 0).
	srv := []Server{{ID: "s0", Writable: true, Refuses: []int{0}}, {ID: "s1", Writable: true}}
	p := PlanShares(srv, 2)
	if p.Upload[0] != "s1" || p.Upload[1] != "s0" || p.Happiness != 2 {
		t.Errorf("refuses: %+v", p)
	}
	// A read-only server with nothing contributes nothing.
	srv = []Server{{ID: "ro"}, {ID: "w", Writable: true}}
	p = PlanShares(srv, 2)
	if p.Happiness != 1 || p.Upload[0] != "w" || p.Upload[1] != "w" {
		t.Errorf("read-only: %+v", p)
	}
	// Nothing writable, share 1 exists nowhere: homeless.
	srv = []Server{{ID: "ro", Has: []int{0}}}
	p = PlanShares(srv, 2)
	if !slices.Equal(p.Homeless, []int{1}) || p.Keep[0] != "ro" || p.Happiness != 1 {
		t.Errorf("homeless: %+v", p)
	}
	// Shares beyond n in Has are ignored.
	p = PlanShares([]Server{{ID: "a", Has: []int{7}, Writable: true}}, 2)
	if len(p.Upload) != 2 {
		t.Errorf("out of range share: %+v", p)
	}
}

// bruteMatching is an independent maximum matching (exhaustive search over
// share subsets), for small graphs.
func bruteMatching(edges [][]bool, n int) int {
	memo := map[[2]int]int{}
	var f func(i, used int) int
	f = func(i, used int) int {
		if i == len(edges) {
			return 0
		}
		key := [2]int{i, used}
		if v, ok := memo[key]; ok {
			return v
		}
		best := f(i+1, used)
		for sh := range n {
			if edges[i][sh] && used&(1<<sh) == 0 {
				best = max(best, 1+f(i+1, used|1<<sh))
			}
		}
		memo[key] = best
		return best
	}
	return f(0, 0)
}

// TestPlanProperties checks random layouts: happiness never exceeds
// min(#servers, n); the plan reaches the best happiness any placement
// could (a maximum matching over existing holdings plus every allowed new
// upload); the plan is well formed.
func TestPlanProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 3000 {
		n := 1 + rng.IntN(8)
		ns := rng.IntN(9)
		servers := make([]Server, ns)
		edges := make([][]bool, ns)
		layout := Placements{}
		for i := range servers {
			s := Server{ID: fmt.Sprintf("s%d", i), Writable: rng.IntN(3) != 0}
			edges[i] = make([]bool, n)
			for sh := range n {
				switch r := rng.IntN(10); {
				case r < 2:
					s.Has = append(s.Has, sh)
					edges[i][sh] = true
				case r < 3:
					s.Refuses = append(s.Refuses, sh)
				}
			}
			if len(s.Has) > 0 {
				layout[s.ID] = s.Has
			}
			for sh := range n {
				if s.Writable && !slices.Contains(s.Refuses, sh) {
					edges[i][sh] = true
				}
			}
			servers[i] = s
		}
		h := Happiness(layout)
		if h > min(ns, n) || h != bruteMatching(edgesOf(servers, n), n) {
			t.Fatalf("iter %d: happiness %d of %v", iter, h, layout)
		}
		p := PlanShares(servers, n)
		if opt := bruteMatching(edges, n); p.Happiness != opt {
			t.Fatalf("iter %d: plan happiness %d, optimum %d\nservers %+v\nplan %+v", iter, p.Happiness, opt, servers, p)
		}
		if p.Happiness > min(ns, n) {
			t.Fatalf("iter %d: happiness %d > min(%d, %d)", iter, p.Happiness, ns, n)
		}
		byID := map[string]Server{}
		for _, s := range servers {
			byID[s.ID] = s
		}
		for sh := range n {
			up, isUp := p.Upload[sh]
			keep, isKeep := p.Keep[sh]
			home := slices.Contains(p.Homeless, sh)
			if b2i(isUp)+b2i(isKeep)+b2i(home) != 1 {
				t.Fatalf("iter %d: share %d in %v/%v/%v", iter, sh, isUp, isKeep, home)
			}
			if isUp {
				s := byID[up]
				if !s.Writable || slices.Contains(s.Has, sh) || slices.Contains(s.Refuses, sh) {
					t.Fatalf("iter %d: share %d uploaded to %+v", iter, sh, s)
				}
			}
			if isKeep && !slices.Contains(byID[keep].Has, sh) {
				t.Fatalf("iter %d: share %d kept on %s which lacks it", iter, sh, keep)
			}
			if home {
				for _, s := range servers {
					if slices.Contains(s.Has, sh) || (s.Writable && !slices.Contains(s.Refuses, sh)) {
						t.Fatalf("iter %d: share %d homeless but %s could hold it", iter, sh, s.ID)
					}
				}
			}
		}
		// Without refusals nothing is uploaded to servers beyond what
		// happiness needs plus the shares that exist nowhere.
		if h == p.Happiness {
			for sh, id := range p.Upload {
				if len(layout.ByShare()[sh]) > 0 && !refusesAny(servers) {
					t.Fatalf("iter %d: share %d re-uploaded to %s with no happiness gain", iter, sh, id)
				}
			}
		}
	}
}

func refusesAny(servers []Server) bool {
	for _, s := range servers {
		if len(s.Refuses) > 0 {
			return true
		}
	}
	return false
}

// edgesOf is the graph of existing holdings only.
func edgesOf(servers []Server, n int) [][]bool {
	e := make([][]bool, len(servers))
	for i, s := range servers {
		e[i] = make([]bool, n)
		for _, sh := range s.Has {
			e[i][sh] = true
		}
	}
	return e
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestMergeByShare(t *testing.T) {
	m := Merge(Placements{"a": {2, 1}}, Placements{"a": {1, 3}, "b": {1}})
	if fmt.Sprint(m) != "map[a:[1 2 3] b:[1]]" {
		t.Errorf("merge %v", m)
	}
	if fmt.Sprint(m.ByShare()) != "map[1:[a b] 2:[a] 3:[a]]" {
		t.Errorf("byshare %v", m.ByShare())
	}
}

func TestFailureMessage(t *testing.T) {
	if msg := FailureMessage(5, 3, 7, 5); !strings.Contains(msg, "only 5 server(s) such that any 3") {
		t.Error(msg)
	}
	if msg := FailureMessage(2, 3, 7, 2); !strings.Contains(msg, "only 2 server(s)") {
		t.Error(msg)
	}
	if msg := FailureMessage(4, 3, 7, 2); !strings.Contains(msg, "not spread out evenly") {
		t.Error(msg)
	}
}

func BenchmarkPlan(b *testing.B) {
	srv := ids("s", 40)
	for i := range srv {
		srv[i].Has = []int{i % 10, (i * 7) % 10}
	}
	for b.Loop() {
		PlanShares(srv, 10)
	}
}
