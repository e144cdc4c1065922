package storage

import (
	"sort"

	"github.com/communitycube/cube/server/grid/storage/wire"
)

// rangeSet is a set of byte positions kept as sorted, disjoint, non-adjacent
// half-open intervals. It tracks which parts of an immutable upload have
// been written (and synced).
type rangeSet struct {
	rs []wire.ByteRange
}

// add inserts [r.Begin, r.End), merging with neighbours.
func (s *rangeSet) add(r wire.ByteRange) {
	if r.Begin >= r.End {
		return
	}
	// First interval whose end reaches r.Begin (touching counts).
	i := sort.Search(len(s.rs), func(i int) bool { return s.rs[i].End >= r.Begin })
	j := i
	for j < len(s.rs) && s.rs[j].Begin <= r.End {
		if s.rs[j].Begin < r.Begin {
			r.Begin = s.rs[j].Begin
		}
		if s.rs[j].End > r.End {
			r.End = s.rs[j].End
		}
		j++
	}
	s.rs = append(s.rs[:i], append([]wire.ByteRange{r}, s.rs[j:]...)...)
}

// overlaps returns the parts of r already in the set.
func (s *rangeSet) overlaps(r wire.ByteRange) []wire.ByteRange {
	var out []wire.ByteRange
	i := sort.Search(len(s.rs), func(i int) bool { return s.rs[i].End > r.Begin })
	for ; i < len(s.rs) && s.rs[i].Begin < r.End; i++ {
		o := wire.ByteRange{Begin: max(r.Begin, s.rs[i].Begin), End: min(r.End, s.rs[i].End)}
		if o.Begin < o.End {
			out = append(out, o)
		}
	}
	return out
}

// missing returns the parts of [0, size) not in the set.
func (s *rangeSet) missing(size uint64) []wire.ByteRange {
	out := []wire.ByteRange{}
	pos := uint64(0)
	for _, r := range s.rs {
		if r.Begin >= size {
			break
		}
		if r.Begin > pos {
			out = append(out, wire.ByteRange{Begin: pos, End: r.Begin})
		}
		pos = max(pos, r.End)
	}
	if pos < size {
		out = append(out, wire.ByteRange{Begin: pos, End: size})
	}
	return out
}

// total returns the number of bytes in the set.
func (s *rangeSet) total() uint64 {
	var n uint64
	for _, r := range s.rs {
		n += r.Len()
	}
	return n
}
