package storage

import (
	"reflect"
	"testing"

	"github.com/communitycube/cube/server/grid/storage/wire"
)

func TestRangeSet(t *testing.T) {
	var s rangeSet
	for _, r := range [][2]uint64{{10, 20}, {30, 40}, {20, 25}, {50, 60}, {35, 55}, {0, 0}} {
		s.add(wire.ByteRange{Begin: r[0], End: r[1]})
	}
	want := []wire.ByteRange{{Begin: 10, End: 25}, {Begin: 30, End: 60}}
	if !reflect.DeepEqual(s.rs, want) {
		t.Fatalf("set = %v", s.rs)
	}
	if s.total() != 45 {
		t.Fatalf("total = %d", s.total())
	}
	if got := s.overlaps(wire.ByteRange{Begin: 0, End: 32}); !reflect.DeepEqual(got, []wire.ByteRange{{Begin: 10, End: 25}, {Begin: 30, End: 32}}) {
		t.Fatalf("overlaps = %v", got)
	}
	if got := s.overlaps(wire.ByteRange{Begin: 25, End: 30}); len(got) != 0 {
		t.Fatalf("gap overlaps = %v", got)
	}
	if got := s.missing(70); !reflect.DeepEqual(got, []wire.ByteRange{{Begin: 0, End: 10}, {Begin: 25, End: 30}, {Begin: 60, End: 70}}) {
		t.Fatalf("missing = %v", got)
	}
	s.add(wire.ByteRange{Begin: 0, End: 70})
	if got := s.missing(70); len(got) != 0 || len(s.rs) != 1 {
		t.Fatalf("after fill: missing %v, set %v", got, s.rs)
	}
}
