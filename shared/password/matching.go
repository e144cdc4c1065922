package password

import (
	"cmp"
	"slices"
	"unicode"
)

// matcher holds one password (or, for repeats, one repeated base string)
// and everything the matchers need about it.
type matcher struct {
	dicts *dictionaries
	user  userDictionary
	year  int // reference year for date and year guesses

	runes []rune
	lower []rune
	text  string // the original text, for tokens
	off   []int  // off[k] is the byte offset in text of rune k
}

func newMatcher(dicts *dictionaries, user userDictionary, year int, text string, maxRunes int) *matcher {
	m := &matcher{dicts: dicts, user: user, year: year, text: text}
	end := len(text)
	for at, r := range text {
		if len(m.runes) == maxRunes {
			end = at
			break
		}
		m.runes = append(m.runes, r)
		m.off = append(m.off, at)
	}
	m.off = append(m.off, end)
	m.lower = make([]rune, len(m.runes))
	for k, r := range m.runes {
		m.lower[k] = unicode.ToLower(r)
	}
	return m
}

// token returns the original text of runes i..j.
func (m *matcher) token(i, j int) string { return m.text[m.off[i]:m.off[j+1]] }

// omnimatch returns every candidate match, sorted by start then end. The
// stable sort keeps matcher order among equal spans, which decides ties in
// the search the same way zxcvbn does.
func (m *matcher) omnimatch() []Match {
	var matches []Match
	matches = m.dictionaryMatches(matches)
	matches = m.reversedDictionaryMatches(matches)
	matches = m.l33tMatches(matches)
	matches = m.spatialMatches(matches)
	matches = m.repeatMatches(matches)
	matches = m.sequenceMatches(matches)
	matches = m.yearMatches(matches)
	matches = m.dateMatches(matches)
	slices.SortStableFunc(matches, func(a, b Match) int {
		return cmp.Or(cmp.Compare(a.I, b.I), cmp.Compare(a.J, b.J))
	})
	return matches
}

// repeatMatches finds a string repeated back to back ("aaa", "abab").
//
// It reproduces zxcvbn's pair of regular expressions /(.+)\1+/ (greedy) and
// /(.+?)\1+/ (lazy) by hand, since Go's regexp has no back-references: at
// the leftmost position where any repeat starts, take whichever reading
// covers more text, then reduce its unit to the shortest one that still
// tiles it ("abab" in "abababab" becomes "ab" × 4).
func (m *matcher) repeatMatches(matches []Match) []Match {
	rs := m.runes
	n := len(rs)
	for from := 0; from < n; {
		start, shortest, longest := -1, 0, 0
		for p := from; p < n && start < 0; p++ {
			for unit := 1; p+2*unit <= n; unit++ {
				if slices.Equal(rs[p:p+unit], rs[p+unit:p+2*unit]) {
					if start < 0 {
						start, shortest = p, unit
					}
					longest = unit
				}
			}
		}
		if start < 0 {
			break
		}
		lazyLen := repeatedLength(rs[start:], shortest)
		greedyLen := repeatedLength(rs[start:], longest)
		length, unit := lazyLen, shortest
		if greedyLen > lazyLen {
			length = greedyLen
			unit = smallestPeriod(rs[start : start+greedyLen])
		}
		i, j := start, start+length-1
		base := string(rs[start : start+unit])
		sub := newMatcher(m.dicts, m.user, m.year, base, len(rs))
		baseGuesses, _ := sub.mostGuessableSequence(sub.omnimatch(), 0)
		matches = append(matches, Match{
			Pattern: PatternRepeat, I: i, J: j, Token: m.token(i, j),
			BaseToken: base, BaseGuesses: baseGuesses, RepeatCount: length / unit,
		})
		from = j + 1
	}
	return matches
}

// repeatedLength is how many runes of rs are covered by rs[:unit] repeated
// as often as possible.
func repeatedLength(rs []rune, unit int) int {
	length := unit
	for length+unit <= len(rs) && slices.Equal(rs[:unit], rs[length:length+unit]) {
		length += unit
	}
	return length
}

// smallestPeriod returns the shortest unit that, repeated at least twice,
// spells rs exactly.
func smallestPeriod(rs []rune) int {
	for unit := 1; unit <= len(rs)/2; unit++ {
		if len(rs)%unit == 0 && repeatedLength(rs, unit) == len(rs) {
			return unit
		}
	}
	return len(rs)
}

// maxSequenceStep is the largest code point step still seen as a sequence:
// skipping runs such as "aceg", "13579" or "adgj" are easy to enumerate.
const maxSequenceStep = 5

// sequenceMatches finds runs with a constant step between code points
// ("abcd", "9753", "zyx"); it works for any script, not only Latin.
func (m *matcher) sequenceMatches(matches []Match) []Match {
	rs := m.runes
	if len(rs) < 2 {
		return matches
	}
	emit := func(i, j int, step int) {
		if j-i < 2 && abs(step) != 1 {
			return // two characters form a sequence only when adjacent ("ab")
		}
		if step == 0 || abs(step) > maxSequenceStep {
			return
		}
		name := "unicode"
		switch tok := rs[i : j+1]; {
		case all(tok, func(r rune) bool { return 'a' <= r && r <= 'z' }):
			name = "lower"
		case all(tok, func(r rune) bool { return 'A' <= r && r <= 'Z' }):
			name = "upper"
		case all(tok, isDigit):
			name = "digits"
		}
		matches = append(matches, Match{
			Pattern: PatternSequence, I: i, J: j, Token: m.token(i, j),
			SequenceName: name, Ascending: step > 0,
		})
	}
	i := 0
	last := int(rs[1]) - int(rs[0])
	for k := 2; k < len(rs); k++ {
		step := int(rs[k]) - int(rs[k-1])
		if step == last {
			continue
		}
		// The run ends at k-1, and k-1 also starts the next run: in "abcb"
		// the "c" closes "abc" and opens "cb".
		emit(i, k-1, last)
		i, last = k-1, step
	}
	emit(i, len(rs)-1, last)
	return matches
}

// Recent years are those a person is likely to use: birth years, years of
// a wedding or of the password's creation. zxcvbn stops at 2019; the range
// here reaches the latest year the date matcher accepts.
const (
	minRecentYear = 1900
	maxRecentYear = dateMaxYear
)

// yearMatches finds four-digit recent years, scanning left to right without
// overlap as a global regular expression would.
func (m *matcher) yearMatches(matches []Match) []Match {
	rs := m.runes
	for i := 0; i+4 <= len(rs); {
		if y, ok := digitsValue(rs[i : i+4]); ok && y >= minRecentYear && y <= maxRecentYear {
			matches = append(matches, Match{
				Pattern: PatternYear, I: i, J: i + 3, Token: m.token(i, i+3), Year: y,
			})
			i += 4
			continue
		}
		i++
	}
	return matches
}

const (
	dateMinYear = 1000
	dateMaxYear = 2050
)

// dateSplits lists, for each length of an all-digit date, where the day,
// month and year parts may be cut: 4 digits "1191" can be 1 1 91 or 91 1 1.
var dateSplits = map[int][][2]int{
	4: {{1, 2}, {2, 3}},
	5: {{1, 3}, {2, 3}},
	6: {{1, 2}, {2, 4}, {4, 5}},
	7: {{1, 3}, {2, 3}, {4, 5}, {4, 6}},
	8: {{2, 4}, {4, 6}},
}

// dateMatches finds dates of 4 to 8 digits ("130587", "19870513") and dates
// with two equal separators ("13/05/1987", "1987-5-13"), in any day, month,
// year order. Dates inside longer dates are dropped: "2015_06_04" also
// contains "15_06_04" and "5_06_04", which add nothing but noise.
func (m *matcher) dateMatches(matches []Match) []Match {
	rs := m.runes
	n := len(rs)
	var dates []Match

	for i := 0; i+4 <= n; i++ {
		for j := i + 3; j <= i+7 && j < n; j++ {
			tok := rs[i : j+1]
			if !all(tok, isDigit) {
				break // longer substrings contain the same non-digit
			}
			best, found := date{}, false
			for _, cut := range dateSplits[len(tok)] {
				a, _ := digitsValue(tok[:cut[0]])
				b, _ := digitsValue(tok[cut[0]:cut[1]])
				c, _ := digitsValue(tok[cut[1]:])
				d, ok := intsToDate(a, b, c)
				// Of the readings of the same digits, keep the one an
				// attacker reaches first: the year nearest the reference
				// ("111504" is 11-15-2004, not 1-1-1504).
				if ok && (!found || abs(d.year-m.year) < abs(best.year-m.year)) {
					best, found = d, true
				}
			}
			if found {
				dates = append(dates, Match{
					Pattern: PatternDate, I: i, J: j, Token: m.token(i, j),
					Year: best.year, Month: best.month, Day: best.day,
				})
			}
		}
	}

	for i := 0; i+6 <= n; i++ {
		for j := i + 5; j <= i+9 && j < n; j++ {
			a, sep, b, c, ok := splitSeparatedDate(rs[i : j+1])
			if !ok {
				continue
			}
			if d, ok := intsToDate(a, b, c); ok {
				dates = append(dates, Match{
					Pattern: PatternDate, I: i, J: j, Token: m.token(i, j),
					Year: d.year, Month: d.month, Day: d.day, Separator: string(sep),
				})
			}
		}
	}

	// Dates are at most 10 runes long, so only those starting up to 9
	// runes earlier can contain a given one.
	byStart := make(map[int][]int, len(dates))
	for k, d := range dates {
		byStart[d.I] = append(byStart[d.I], k)
	}
	for k, d := range dates {
		if !dateInsideAnother(dates, byStart, k, d) {
			matches = append(matches, d)
		}
	}
	return matches
}

func dateInsideAnother(dates []Match, byStart map[int][]int, k int, d Match) bool {
	for i := max(0, d.I-9); i <= d.I; i++ {
		for _, l := range byStart[i] {
			if l != k && dates[l].J >= d.J {
				return true
			}
		}
	}
	return false
}

// splitSeparatedDate parses 1-4 digits, a separator, 1-2 digits, the same
// separator and 1-4 digits, filling the whole token.
func splitSeparatedDate(tok []rune) (a int, sep rune, b, c int, ok bool) {
	digitsAt := func(from int) int {
		k := from
		for k < len(tok) && isDigit(tok[k]) {
			k++
		}
		return k
	}
	e1 := digitsAt(0)
	if e1 < 1 || e1 > 4 || e1 >= len(tok) || !isDateSeparator(tok[e1]) {
		return
	}
	sep = tok[e1]
	e2 := digitsAt(e1 + 1)
	if e2-e1-1 < 1 || e2-e1-1 > 2 || e2 >= len(tok) || tok[e2] != sep {
		return
	}
	e3 := digitsAt(e2 + 1)
	if e3 != len(tok) || e3-e2-1 < 1 || e3-e2-1 > 4 {
		return
	}
	a, _ = digitsValue(tok[:e1])
	b, _ = digitsValue(tok[e1+1 : e2])
	c, _ = digitsValue(tok[e2+1:])
	return a, sep, b, c, true
}

func isDateSeparator(r rune) bool {
	switch r {
	case '/', '\\', '_', '.', '-':
		return true
	}
	return unicode.IsSpace(r)
}

type date struct{ year, month, day int }

// intsToDate maps three numbers onto day, month and year, or reports that
// they cannot be a date. It is deliberately loose (31 February passes): an
// attacker's date list would not bother with calendars either.
func intsToDate(a, b, c int) (date, bool) {
	// A year never sits in the middle, and the middle is never zero.
	if b > 31 || b <= 0 {
		return date{}, false
	}
	over12, over31, under1 := 0, 0, 0
	for _, v := range [3]int{a, b, c} {
		if (v > 99 && v < dateMinYear) || v > dateMaxYear {
			return date{}, false
		}
		if v > 31 {
			over31++
		}
		if v > 12 {
			over12++
		}
		if v <= 0 {
			under1++
		}
	}
	if over31 >= 2 || over12 == 3 || under1 >= 2 {
		return date{}, false
	}

	// A four-digit year, first or last, settles the question: the other
	// two must then be day and month, or this is no date.
	splits := [2][3]int{{c, a, b}, {a, b, c}} // year, then the other two
	for _, s := range splits {
		if s[0] >= dateMinYear && s[0] <= dateMaxYear {
			day, month, ok := intsToDayMonth(s[1], s[2])
			if !ok {
				return date{}, false
			}
			return date{s[0], month, day}, true
		}
	}
	// Otherwise a two-digit year: the most flexible of the three.
	for _, s := range splits {
		if day, month, ok := intsToDayMonth(s[1], s[2]); ok {
			return date{twoToFourDigitYear(s[0]), month, day}, true
		}
	}
	return date{}, false
}

func intsToDayMonth(a, b int) (day, month int, ok bool) {
	if 1 <= a && a <= 31 && 1 <= b && b <= 12 {
		return a, b, true
	}
	if 1 <= b && b <= 31 && 1 <= a && a <= 12 {
		return b, a, true
	}
	return 0, 0, false
}

// twoToFourDigitYear reads "87" as 1987 and "15" as 2015.
func twoToFourDigitYear(y int) int {
	switch {
	case y > 99:
		return y
	case y > 50:
		return y + 1900
	default:
		return y + 2000
	}
}

// digitsValue parses a short run of ASCII digits.
func digitsValue(rs []rune) (int, bool) {
	v := 0
	for _, r := range rs {
		if !isDigit(r) {
			return 0, false
		}
		v = v*10 + int(r-'0')
	}
	return v, len(rs) > 0
}

func isDigit(r rune) bool { return '0' <= r && r <= '9' }

func all(rs []rune, f func(rune) bool) bool {
	for _, r := range rs {
		if !f(r) {
			return false
		}
	}
	return true
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
