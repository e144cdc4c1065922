package password

import "strings"

// Keyboard layouts as drawn on paper. On the slanted keyboards every key
// token is the unshifted and the shifted character, and each row starts one
// column further right than the one above, which is how a real keyboard's
// rows are staggered; the keypads are square grids.
const (
	qwertyLayout = `
` + "`~" + ` 1! 2@ 3# 4$ 5% 6^ 7& 8* 9( 0) -_ =+
    qQ wW eE rR tT yY uU iI oO pP [{ ]} \|
     aA sS dD fF gG hH jJ kK lL ;: '"
      zZ xX cC vV bB nN mM ,< .> /?
`
	dvorakLayout = `
` + "`~" + ` 1! 2@ 3# 4$ 5% 6^ 7& 8* 9( 0) [{ ]}
    '" ,< .> pP yY fF gG cC rR lL /? =+ \|
     aA oO eE uU iI dD hH tT nN sS -_
      ;: qQ jJ kK xX bB mM wW vV zZ
`
	keypadLayout = `
  / * -
7 8 9 +
4 5 6
1 2 3
  0 .
`
	macKeypadLayout = `
  = / *
7 8 9 -
4 5 6 +
1 2 3
  0 .
`
)

// keyboardGraph says, for each character, which key lies in each direction
// (index = direction, "" = no key there). Keeping directions lets the
// matcher count turns, which is what makes a keyboard walk expensive.
type keyboardGraph struct {
	name      string
	neighbors map[rune][]string
	shifted   map[rune]bool // characters typed with shift (second of a key token)
	// Used by the guess estimate: how many keys a walk can start from and
	// how many neighbours a key has on average.
	startingPositions int
	averageDegree     float64
}

var keyboardGraphs = []*keyboardGraph{
	buildKeyboardGraph("qwerty", qwertyLayout, true),
	buildKeyboardGraph("dvorak", dvorakLayout, true),
	buildKeyboardGraph("keypad", keypadLayout, false),
	buildKeyboardGraph("mac_keypad", macKeypadLayout, false),
}

func buildKeyboardGraph(name, layout string, slanted bool) *keyboardGraph {
	type pos struct{ x, y int }
	keys := map[pos]string{}
	lines := strings.Split(layout, "\n")
	tokenLen := len(strings.Fields(layout)[0])
	unit := tokenLen + 1 // a token and the space after it
	for y, line := range lines {
		slant := 0
		if slanted {
			slant = y - 1 // the first drawn row (y=1) has no indentation
		}
		col := 0
		for _, tok := range strings.Fields(line) {
			at := strings.Index(line[col:], tok) + col
			col = at + len(tok)
			if len(tok) != tokenLen || (at-slant)%unit != 0 {
				panic("password: malformed keyboard layout " + name)
			}
			keys[pos{(at - slant) / unit, y}] = tok
		}
	}

	var dirs []pos
	if slanted {
		// left, up, up-right, right, down, down-left: the six keys that
		// touch a key on a staggered keyboard.
		dirs = []pos{{-1, 0}, {0, -1}, {1, -1}, {1, 0}, {0, 1}, {-1, 1}}
	} else {
		dirs = []pos{{-1, 0}, {-1, -1}, {0, -1}, {1, -1}, {1, 0}, {1, 1}, {0, 1}, {-1, 1}}
	}

	g := &keyboardGraph{name: name, neighbors: map[rune][]string{}, shifted: map[rune]bool{}}
	degrees := 0
	for p, tok := range keys {
		adj := make([]string, len(dirs))
		for d, dir := range dirs {
			if n, ok := keys[pos{p.x + dir.x, p.y + dir.y}]; ok {
				adj[d] = n
				degrees += len(tok) // every character of the key has this neighbour
			}
		}
		for k, r := range tok {
			g.neighbors[r] = adj
			if k > 0 {
				g.shifted[r] = true
			}
		}
	}
	g.startingPositions = len(g.neighbors)
	g.averageDegree = float64(degrees) / float64(len(g.neighbors))
	return g
}

// spatialMatches finds walks of three or more adjacent keys on each layout.
// A walk is extended while the next character sits on a key next to the
// previous one; every change of direction counts as a turn.
func (m *matcher) spatialMatches(matches []Match) []Match {
	rs := m.runes
	for _, g := range keyboardGraphs {
		for i := 0; i < len(rs)-1; {
			j := i + 1
			lastDir, turns, shifted := -1, 0, 0
			if g.shifted[rs[i]] {
				shifted = 1
			}
			for j < len(rs) {
				dir, shift := g.step(rs[j-1], rs[j])
				if dir < 0 {
					break
				}
				if shift {
					shifted++
				}
				if dir != lastDir {
					// The first step counts as a turn too: every walk starts
					// by choosing a direction.
					turns++
					lastDir = dir
				}
				j++
			}
			if j-i > 2 {
				matches = append(matches, Match{
					Pattern: PatternSpatial, I: i, J: j - 1, Token: m.token(i, j-1),
					Graph: g.name, Turns: turns, ShiftedCount: shifted,
				})
			}
			i = j
		}
	}
	return matches
}

// step reports the direction from key a to the key of b, -1 if they are not
// adjacent, and whether b is the shifted character of its key.
func (g *keyboardGraph) step(a, b rune) (dir int, shifted bool) {
	for d, key := range g.neighbors[a] {
		if k := strings.IndexRune(key, b); k >= 0 {
			return d, k > 0
		}
	}
	return -1, false
}
