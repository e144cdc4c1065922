package hashtree

import (
	"encoding/base32"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func enc(h Hash) string { return strings.ToLower(b32.EncodeToString(h[:])) }

// Known answers published with Tahoe-LAFS's own test suite.
func TestKnownTaggedHashes(t *testing.T) {
	cases := []struct {
		got  Hash
		want string
	}{
		{TaggedHash("tag", []byte("hello world")), "yra322btzoqjp4ts2jon5dztgnilcdg6jgztgk7joi6qpjkitg2q"},
		{TaggedHash("different", []byte("hello world")), "kfbsfssrv2bvtp3regne6j7gpdjcdjwncewriyfdtt764o5oa7ta"},
		{TaggedPairHash("tag", []byte("hello"), []byte("world")), "wmto44q3shtezwggku2fxztfkwibvznkfu6clatnvfog527sb6dq"},
		{TaggedPairHash("different", []byte("goodbye"), []byte("world")), "qnehpoypxxdhjheqq7dayloghtu42yr55uylc776zt23ii73o3oq"},
		{TaggedHash("allmydata_encoded_subshare_v1", nil), "msjr5bh4evuh7fa3zw7uovixfbvlnstr5b65mrerwfnvjxig2jvq"},
		{TaggedHash("allmydata_uri_extension_v1", nil), "wthsu45q7zewac2mnivoaa4ulh5xvbzdmsbuyztq2a5fzxdrnkka"},
		{TaggedHash("allmydata_crypttext_v1", nil), "itdj6e4njtkoiavlrmxkvpreosscssklunhwtvxn6ggho4rkqwga"},
		{TaggedHash("allmydata_crypttext_segment_v1", nil), "aovy5aa7jej6ym5ikgwyoi4pxawnoj3wtaludjz7e2nb5xijb7aa"},
	}
	for i, c := range cases {
		if enc(c.got) != c.want {
			t.Errorf("case %d: got %s want %s", i, enc(c.got), c.want)
		}
	}
	a, b := TaggedHash("x", []byte("a")), TaggedHash("x", []byte("b"))
	if PairHash(a, b) != TaggedPairHash(tagInterior, a[:], b[:]) {
		t.Fatal("PairHash fast path disagrees with TaggedPairHash")
	}
	h := NewHasher("tag")
	h.Write([]byte("hello "))
	h.Write([]byte("world"))
	if h.Sum() != TaggedHash("tag", []byte("hello world")) {
		t.Fatal("streaming Hasher disagrees")
	}
}

func leaves(n int) []Hash {
	out := make([]Hash, n)
	for i := range out {
		out[i] = TaggedHash("tag", []byte(strconv.Itoa(i)))
	}
	return out
}

// The three-leaf tree from Tahoe-LAFS's test suite, node by node.
func TestWellKnownTree(t *testing.T) {
	want := []string{
		"vxuqudnucceja4pqkdqy5txapagxubm5moupzqywkbg2jrjkaola",
		"weycjri4jlcaunca2jyx2kr7sbtb7qdriog3f26g5jpc5awfeazq",
		"5ovy3g2wwjnxoqtja4licckxkbqjef4xsjtclk6gxnsl66kvow6a",
		"esd34nbzri75l3j2vwetpk3dvlvsxstkbaktomonrulpks3df3sq",
		"jkxbwa2tppyfax35o72tbjecxvaa4xphma6zbyfbkkku3ed2657a",
		"wfisavaqgab2raihe7dld2qjps4rtxyiubgfs5enziokey2msjwa",
		"t3kza5vwx3tlowdemmgdyigp62ju57qduyfh7uulnfkc7mj2ncrq",
	}
	tr := New(leaves(3))
	if len(tr) != len(want) {
		t.Fatalf("len %d", len(tr))
	}
	for i := range tr {
		if enc(tr[i]) != want[i] {
			t.Errorf("node %d: %s want %s", i, enc(tr[i]), want[i])
		}
	}
}

func TestShapes(t *testing.T) {
	for n, p := range map[int]int{0: 1, 1: 1, 2: 2, 3: 4, 4: 4, 5: 8, 1000: 1024, 1024: 1024} {
		if PaddedLeaves(n) != p || NumNodes(n) != 2*p-1 || FirstLeaf(n) != p-1 {
			t.Errorf("n=%d", n)
		}
	}
	sorted := func(s []int) []int { s = slices.Clone(s); slices.Sort(s); return s }
	if got := sorted(Chain(8, 0, false)); !slices.Equal(got, []int{2, 4, 8}) {
		t.Errorf("Chain(8,0) = %v", got)
	}
	if got := sorted(Chain(8, 7, true)); !slices.Equal(got, []int{1, 5, 13, 14}) {
		t.Errorf("Chain(8,7,leaf) = %v", got)
	}
	if got := Chain(1, 0, true); !slices.Equal(got, []int{0}) {
		t.Errorf("Chain(1,0,leaf) = %v", got)
	}
	for n := 0; n <= 70; n++ {
		if Root(leaves(n)) != New(leaves(n)).Root() {
			t.Fatalf("Root(%d) differs from New", n)
		}
	}
}

func TestPartial(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 8, 33} {
		ls := leaves(n)
		full := New(ls)
		p := NewPartial(n, full.Root())
		// Validate leaves in a scattered order, fetching only what is missing.
		for _, j := range []int{n - 1, 0, n / 2, 1 % n} {
			var chain []Node
			for _, i := range p.Needed(j, false) {
				chain = append(chain, Node{i, full[i]})
			}
			if err := p.AddLeaf(j, ls[j], chain...); err != nil {
				t.Fatalf("n=%d leaf %d: %v", n, j, err)
			}
			if h, ok := p.Leaf(j); !ok || h != ls[j] {
				t.Fatalf("n=%d leaf %d not stored", n, j)
			}
		}
		if n < 2 {
			continue
		}
		// A wrong leaf is rejected and leaves no trace.
		q := NewPartial(n, full.Root())
		var chain []Node
		for _, i := range q.Needed(0, false) {
			chain = append(chain, Node{i, full[i]})
		}
		bad := ls[0]
		bad[0] ^= 1
		if err := q.AddLeaf(0, bad, chain...); !errors.Is(err, ErrBadHash) {
			t.Fatalf("n=%d: bad leaf: %v", n, err)
		}
		for i := 1; i < q.Len(); i++ {
			if _, ok := q.Get(i); ok {
				t.Fatalf("n=%d: node %d kept after failure", n, i)
			}
		}
		// Too few hashes.
		if err := q.AddLeaf(0, ls[0]); !errors.Is(err, ErrNotEnoughHashes) {
			t.Fatalf("n=%d: missing chain: %v", n, err)
		}
		// A corrupt interior hash is caught.
		chain[len(chain)-1].Hash[3] ^= 0x80
		if err := q.AddLeaf(0, ls[0], chain...); !errors.Is(err, ErrBadHash) {
			t.Fatalf("n=%d: corrupt chain: %v", n, err)
		}
	}
	// Adding a whole aligned group of leaves plus the group's uncles at once.
	ls := leaves(40)
	full := New(ls)
	p := NewPartial(40, full.Root())
	f := FirstLeaf(40)
	var nodes []Node
	for j := 8; j < 16; j++ {
		nodes = append(nodes, Node{f + j, ls[j]})
	}
	// Uncles of the subtree holding leaves 8..15 (its root is node 8 at depth 3 in a 64-leaf tree).
	sub := (f + 8 - 7) / 8
	for here := sub; here != 0; here = parent(here) {
		nodes = append(nodes, Node{sibling(here), full[sibling(here)]})
	}
	if err := p.Add(nodes...); err != nil {
		t.Fatal(err)
	}
	if len(p.Needed(12, true)) != 0 {
		t.Fatal("group leaves should all be validated")
	}
}
