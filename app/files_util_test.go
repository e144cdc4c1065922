package app

import (
	"strings"
	"testing"
	"time"

	"github.com/communitycube/cube/shared/drive"
)

func names(items []drive.Item) string {
	var out []string
	for _, it := range items {
		out = append(out, it.Name)
	}
	return strings.Join(out, ",")
}

func TestSortItems(t *testing.T) {
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	items := func() []drive.Item {
		return []drive.Item{
			{Name: "file 10", Size: 5, Modified: day},
			{Name: "File 2", Size: 5, Modified: day.Add(time.Hour)},
			{Name: "b", Folder: true},
			{Name: "file 02b", Size: 1, Modified: day},
			{Name: "A", Folder: true},
			{Name: "file 2", Size: 9, Modified: day.Add(-time.Hour)},
		}
	}
	for _, c := range []struct {
		key  string
		desc bool
		want string
	}{
		// Folders first; numbers in order; case-insensitive; "File 2" and
		// "file 2" are equal by name and keep their order.
		{"name", false, "A,b,File 2,file 2,file 02b,file 10"},
		{"name", true, "b,A,file 10,file 02b,File 2,file 2"},
		{"size", false, "A,b,file 02b,File 2,file 10,file 2"},
		{"size", true, "b,A,file 2,file 10,File 2,file 02b"},
		{"modified", false, "A,b,file 2,file 02b,file 10,File 2"},
	} {
		it := items()
		sortItems(it, c.key, c.desc)
		if got := names(it); got != c.want {
			t.Errorf("%s desc=%v: %s, want %s", c.key, c.desc, got, c.want)
		}
	}
}

func TestNaturalCompare(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"file 2", "file 10", -1},
		{"file 010", "file 9", 1},
		{"a1b2", "a1b10", -1},
		{"abc", "abcd", -1},
		{"x007", "x7", 0},
		{"", "", 0},
	} {
		if got := naturalCompare(c.a, c.b); got != c.want {
			t.Errorf("naturalCompare(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := naturalCompare(c.b, c.a); got != -c.want {
			t.Errorf("naturalCompare(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}
