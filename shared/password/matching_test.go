package password

import (
	"math"
	"slices"
	"testing"
)

// candidates runs all matchers over pw and returns the matches of one
// pattern.
func candidates(pw string, p Pattern, userInputs ...string) []Match {
	m := newMatcher(loadDictionaries(), newUserDictionary(userInputs), 2026, pw, maxAnalyzedRunes)
	var out []Match
	for _, c := range m.omnimatch() {
		if c.Pattern == p {
			out = append(out, c)
		}
	}
	return out
}

func find(ms []Match, token string) *Match {
	return findFunc(ms, func(m Match) bool { return m.Token == token })
}

func findFunc(ms []Match, f func(Match) bool) *Match {
	for k := range ms {
		if f(ms[k]) {
			return &ms[k]
		}
	}
	return nil
}

func TestDateMatches(t *testing.T) {
	tests := []struct {
		pw, token        string
		year, month, day int
		sep              string
	}{
		{"13/05/1987", "13/05/1987", 1987, 5, 13, "/"},
		{"1987-05-13", "1987-05-13", 1987, 5, 13, "-"},
		{"130587", "130587", 1987, 5, 13, ""},
		{"19870513", "19870513", 1987, 5, 13, ""},
		{"x5.13.87y", "5.13.87", 1987, 5, 13, "."},
		{"1 1 91", "1 1 91", 1991, 1, 1, " "},
		{"111504", "111504", 2004, 11, 15, ""},        // not 1-1-1504: nearest year wins
		{"2015_06_04", "2015_06_04", 2015, 4, 6, "_"}, // day first when both fit, as zxcvbn
		{"1191", "1191", 2001, 9, 11, ""},             // 11 9 1 beats 1 1 91: 2001 is nearer
	}
	for _, tt := range tests {
		ds := candidates(tt.pw, PatternDate)
		d := find(ds, tt.token)
		if d == nil {
			t.Errorf("%q: no date %q among %v", tt.pw, tt.token, describe(ds))
			continue
		}
		if d.Year != tt.year || d.Month != tt.month || d.Day != tt.day || d.Separator != tt.sep {
			t.Errorf("%q: got %d-%d-%d sep %q, want %d-%d-%d sep %q", tt.pw, d.Year, d.Month, d.Day, d.Separator,
				tt.year, tt.month, tt.day, tt.sep)
		}
	}
	// Dates inside longer dates are dropped.
	if ds := candidates("2015_06_04", PatternDate); len(ds) != 1 {
		t.Errorf("2015_06_04: %d dates %s, want only the whole", len(ds), describe(ds))
	}
	for _, pw := range []string{"1/13/32/1", "99999999", "00/00/00", "13-13-1313", "1987/05-13", "12/345/6789"} {
		for _, d := range candidates(pw, PatternDate) {
			if d.Token == pw {
				t.Errorf("%q matched as a date: %+v", pw, d)
			}
		}
	}
}

func TestYearMatches(t *testing.T) {
	ys := candidates("x1899y1900z2050w2051v1987", PatternYear)
	var got []int
	for _, y := range ys {
		got = append(got, y.Year)
	}
	if want := []int{1900, 2050, 1987}; !slices.Equal(got, want) {
		t.Errorf("years %v, want %v", got, want)
	}
}

func TestSequenceMatches(t *testing.T) {
	tests := []struct {
		pw, token, name string
		ascending       bool
	}{
		{"abcdef", "abcdef", "lower", true},
		{"13579", "13579", "digits", true},
		{"zyx", "zyx", "lower", false},
		{"XYZ", "XYZ", "upper", true},
		{"9753", "9753", "digits", false},
		{"αβγδ", "αβγδ", "unicode", true},
		{"ab", "ab", "lower", true},
	}
	for _, tt := range tests {
		s := find(candidates(tt.pw, PatternSequence), tt.token)
		if s == nil || s.SequenceName != tt.name || s.Ascending != tt.ascending {
			t.Errorf("%q: sequence %+v, want %q %s ascending=%v", tt.pw, s, tt.token, tt.name, tt.ascending)
		}
	}
	for _, pw := range []string{"aa", "ac", "agmsy", "a1"} {
		if s := candidates(pw, PatternSequence); len(s) != 0 {
			t.Errorf("%q: unexpected sequence %s", pw, describe(s))
		}
	}
	// "abcdb975zy" splits as zxcvbn documents it: abcd, 975, zy.
	var got []string
	for _, s := range candidates("abcdb975zy", PatternSequence) {
		got = append(got, s.Token)
	}
	if want := []string{"abcd", "975", "zy"}; !slices.Equal(got, want) {
		t.Errorf("abcdb975zy: sequences %q, want %q", got, want)
	}
}

func TestRepeatMatches(t *testing.T) {
	tests := []struct {
		pw, token, base string
		count           int
	}{
		{"aaaa", "aaaa", "a", 4},
		{"abcabcabc", "abcabcabc", "abc", 3},
		{"xxabab!", "xx", "x", 2},
		{"aabaab", "aabaab", "aab", 2},             // greedy beats lazy
		{"aabaabaabaab", "aabaabaabaab", "aab", 4}, // and is reduced to its shortest unit
		{"aaaaa", "aaaaa", "a", 5},                 // lazy beats greedy
		{"ŁŁŁ", "ŁŁŁ", "Ł", 3},
	}
	for _, tt := range tests {
		r := find(candidates(tt.pw, PatternRepeat), tt.token)
		if r == nil || r.BaseToken != tt.base || r.RepeatCount != tt.count {
			t.Errorf("%q: repeat %+v, want %q = %q × %d", tt.pw, r, tt.token, tt.base, tt.count)
		}
	}
	// The base is priced by its own decomposition: "password" is cheap.
	r := find(candidates("passwordpassword", PatternRepeat), "passwordpassword")
	if r == nil || r.BaseGuesses != 3 {
		t.Errorf("passwordpassword: %+v, want base guesses 3 (rank 2 of \"password\", plus 1)", r)
	}
}

func TestSpatialMatches(t *testing.T) {
	tests := []struct {
		pw, token, graph string
		turns, shifted   int
	}{
		{"qwerty", "qwerty", "qwerty", 1, 0},
		{"zxcvfr", "zxcvfr", "qwerty", 2, 0},
		{"QWERTY", "QWERTY", "qwerty", 1, 6},
		{"!QAZ@WSX", "!QAZ", "qwerty", 1, 4},
		{"!QAZ@WSX", "@WSX", "qwerty", 1, 4},
		{"aoeuidhtns", "aoeuidhtns", "dvorak", 1, 0},
		{"78963", "78963", "keypad", 2, 0},
		{"=/*", "=/*", "mac_keypad", 1, 0},
	}
	for _, tt := range tests {
		var got *Match
		for _, s := range candidates(tt.pw, PatternSpatial) {
			if s.Token == tt.token && s.Graph == tt.graph {
				got = &s
			}
		}
		if got == nil || got.Turns != tt.turns || got.ShiftedCount != tt.shifted {
			t.Errorf("%q: spatial %+v, want %s turns %d shifted %d", tt.pw, got, tt.graph, tt.turns, tt.shifted)
		}
	}
	if s := candidates("qw", PatternSpatial); len(s) != 0 {
		t.Errorf("two keys form no pattern, got %s", describe(s))
	}
}

func TestDictionaryVariants(t *testing.T) {
	ds := candidates("P@ssw0rd", PatternDictionary)
	l := findFunc(ds, func(m Match) bool { return m.L33t && m.Token == "P@ssw0rd" })
	if l == nil || !l.L33t || l.MatchedWord != "password" || l.L33tSubs["@"] != "a" || l.L33tSubs["0"] != "o" || len(l.L33tSubs) != 2 {
		t.Errorf("P@ssw0rd: %+v, want l33t password with @->a, 0->o", l)
	}
	// Both substitutes for one letter in one word, and an ambiguous '1'.
	l = findFunc(candidates("p4$$w0rd", PatternDictionary), func(m Match) bool { return m.Token == "p4$$w0rd" })
	if l == nil || l.MatchedWord != "password" {
		t.Errorf("p4$$w0rd: %+v, want l33t \"password\"", l)
	}
	// zxcvbn 4.4.2 misses both of these.
	for pw, word := range map[string]string{"pa$5w0rd": "password", "b@n4n4": "banana"} {
		l = findFunc(candidates(pw, PatternDictionary), func(m Match) bool { return m.Token == pw && m.L33t })
		if l == nil || l.MatchedWord != word {
			t.Errorf("%s: %+v, want l33t %q", pw, l, word)
		}
	}
	if find(candidates("1ov3", PatternDictionary), "1ov3") == nil {
		t.Error("1ov3: no l33t match for \"love\"")
	}
	r := findFunc(candidates("drowssap", PatternDictionary), func(m Match) bool { return m.Reversed && m.Token == "drowssap" })
	if r == nil || !r.Reversed || r.MatchedWord != "password" {
		t.Errorf("drowssap: %+v, want reversed \"password\"", r)
	}
	// A palindrome is only matched forwards.
	for _, m := range candidates("level", PatternDictionary) {
		if m.Reversed && m.Token == "level" {
			t.Error("palindrome \"level\" also matched reversed")
		}
	}
	// Single-character l33t matches are noise.
	for _, m := range candidates("4", PatternDictionary) {
		if m.L33t {
			t.Errorf("\"4\" matched as l33t %+v", m)
		}
	}
}

func TestGuessEstimates(t *testing.T) {
	tests := []struct {
		word string
		want float64
	}{
		{"password", 1}, {"Password", 2}, {"passworD", 2}, {"PASSWORD", 2},
		{"PassWord", binomial(8, 1) + binomial(8, 2)}, {"pAsSwOrD", binomial(8, 1) + binomial(8, 2) + binomial(8, 3) + binomial(8, 4)},
		{"1234", 1}, {"Ñandú", 2},
	}
	for _, tt := range tests {
		if got := uppercaseVariations(tt.word); got != tt.want {
			t.Errorf("uppercaseVariations(%q) = %v, want %v", tt.word, got, tt.want)
		}
	}
	// zxcvbn's example "aa44a": two of five a's substituted, C(5,1)+C(5,2).
	m := Match{Token: "aa44a", L33t: true, L33tSubs: map[string]string{"4": "a"}}
	if got := l33tVariations(&m); got != 15 {
		t.Errorf("l33tVariations(aa44a) = %v, want 15", got)
	}
	if got := bruteforceGuesses(1); got != 11 {
		t.Errorf("bruteforceGuesses(1) = %v, want 11", got)
	}
	if got := bruteforceGuesses(2); got != 100 {
		t.Errorf("bruteforceGuesses(2) = %v, want 100", got)
	}
	if got := bruteforceGuesses(400); got != math.MaxFloat64 {
		t.Errorf("bruteforceGuesses(400) = %v, want MaxFloat64", got)
	}
}

// TestKeyboardGraphs checks the graphs derived from the layout drawings
// against zxcvbn's published adjacency data.
func TestKeyboardGraphs(t *testing.T) {
	byName := map[string]*keyboardGraph{}
	for _, g := range keyboardGraphs {
		byName[g.name] = g
	}
	tests := []struct {
		graph string
		key   rune
		want  []string
	}{
		{"qwerty", 'g', []string{"fF", "tT", "yY", "hH", "bB", "vV"}},
		{"qwerty", 'q', []string{"", "1!", "2@", "wW", "aA", ""}},
		{"qwerty", '?', []string{".>", ";:", "'\"", "", "", ""}},
		{"dvorak", 'a', []string{"", "'\"", ",<", "oO", ";:", ""}},
		{"keypad", '5', []string{"4", "7", "8", "9", "6", "3", "2", "1"}},
		{"mac_keypad", '=', []string{"", "", "", "", "/", "9", "8", "7"}},
	}
	for _, tt := range tests {
		if got := byName[tt.graph].neighbors[tt.key]; !slices.Equal(got, tt.want) {
			t.Errorf("%s %q: neighbours %q, want %q", tt.graph, tt.key, got, tt.want)
		}
	}
	// zxcvbn's KEYBOARD_* and KEYPAD_* constants.
	for _, tt := range []struct {
		graph  string
		starts int
		degree float64
	}{{"qwerty", 94, 4.595744680851064}, {"dvorak", 94, 4.595744680851064}, {"keypad", 15, 5.066666666666666}} {
		g := byName[tt.graph]
		if g.startingPositions != tt.starts || math.Abs(g.averageDegree-tt.degree) > 1e-12 {
			t.Errorf("%s: %d keys, degree %v; want %d, %v", tt.graph, g.startingPositions, g.averageDegree, tt.starts, tt.degree)
		}
	}
}
