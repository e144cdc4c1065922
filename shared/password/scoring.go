package password

import (
	"math"
	"strings"
	"unicode"
)

const (
	// bruteforceCardinality prices a character no pattern explains. It is
	// zxcvbn's value, deliberately far below the ~95 printable characters:
	// cracking tools try likely strings first rather than search uniformly,
	// and an underestimate of the guesses errs on the safe side.
	bruteforceCardinality = 10

	// minGuessesBeforeGrowingSequence is the D in the length penalty
	// D^(l-1): an attacker tries all shorter pattern sequences before
	// sequences of l patterns.
	minGuessesBeforeGrowingSequence = 1e4

	// A match that is only part of the password is worth at least this
	// many guesses; otherwise "p" + "a" + ... could each be nearly free.
	minSubmatchGuessesSingleChar = 10
	minSubmatchGuessesMultiChar  = 50

	// minYearSpace keeps a year close to the reference year from being
	// priced as almost free.
	minYearSpace = 20
)

// estimateGuesses fills in m.Guesses; total is the length in runes of the
// whole password the match is part of.
func (mt *matcher) estimateGuesses(m *Match, total int) {
	var g float64
	switch m.Pattern {
	case PatternDictionary:
		g = float64(m.Rank) * uppercaseVariations(m.Token) * l33tVariations(m)
		if m.Reversed {
			g *= 2
		}
	case PatternSpatial:
		g = spatialGuesses(m)
	case PatternRepeat:
		g = m.BaseGuesses * float64(m.RepeatCount)
	case PatternSequence:
		g = sequenceGuesses(m)
	case PatternYear:
		g = float64(max(abs(m.Year-mt.year), minYearSpace))
	case PatternDate:
		g = float64(max(abs(m.Year-mt.year), minYearSpace)) * 365
		if m.Separator != "" {
			g *= 4 // about four separators are in common use
		}
	}
	m.Guesses = math.Max(g, minGuesses(m.J-m.I+1, total))
}

func minGuesses(tokenLen, total int) float64 {
	switch {
	case tokenLen >= total:
		return 1
	case tokenLen == 1:
		return minSubmatchGuessesSingleChar
	default:
		return minSubmatchGuessesMultiChar
	}
}

// bruteforceGuesses prices length characters that match no pattern. It is
// kept one above the submatch floor so that a real pattern over the same
// characters wins any tie.
func bruteforceGuesses(length int) float64 {
	var g float64
	if length < len(powersOfCardinality) {
		g = powersOfCardinality[length]
	} else if g = math.Pow(bruteforceCardinality, float64(length)); math.IsInf(g, 1) {
		g = math.MaxFloat64
	}
	if length == 1 {
		return math.Max(g, minSubmatchGuessesSingleChar+1)
	}
	return math.Max(g, minSubmatchGuessesMultiChar+1)
}

// powersOfCardinality caches bruteforceCardinality^n for the lengths the
// search meets on every keystroke.
var powersOfCardinality = func() (p [maxAnalyzedRunes + 2]float64) {
	p[0] = 1
	for n := 1; n < len(p); n++ {
		p[n] = p[n-1] * bruteforceCardinality
	}
	return p
}()

// uppercaseVariations is how many capitalisations of a word an attacker
// must try to cover this one: 1 if lowercase, 2 for the common schemes
// (first, last or all letters upper), otherwise all ways to choose up to
// min(U, L) of the letters.
func uppercaseVariations(word string) float64 {
	rs := []rune(word)
	upper, lower := 0, 0
	for _, r := range rs {
		switch {
		case unicode.IsUpper(r):
			upper++
		case unicode.IsLower(r):
			lower++
		}
	}
	if upper == 0 {
		return 1
	}
	onlyUpperAt := func(k int) bool { return upper == 1 && unicode.IsUpper(rs[k]) }
	if len(rs) > 1 && (onlyUpperAt(0) || onlyUpperAt(len(rs)-1)) || lower == 0 {
		return 2 // Password, passworD, PASSWORD
	}
	return variationsUpTo(upper, lower)
}

// variationsUpTo counts the ways to pick 1..min(a, b) of a+b positions:
// the guesses needed to cover every mix with at most that many changes.
func variationsUpTo(a, b int) float64 {
	v := 0.0
	for k := 1; k <= min(a, b); k++ {
		v += binomial(a+b, k)
	}
	return v
}

// l33tVariations multiplies, for each substitution used, the number of ways
// to mix substituted and plain forms of that letter ("p4ssa" has one of two
// a's substituted). A letter substituted everywhere only doubles the count.
func l33tVariations(m *Match) float64 {
	if !m.L33t {
		return 1
	}
	lowered := strings.Map(unicode.ToLower, m.Token)
	v := 1.0
	for subbed, letter := range m.L33tSubs {
		s, u := strings.Count(lowered, subbed), strings.Count(lowered, letter)
		if s == 0 || u == 0 {
			v *= 2
		} else {
			v *= variationsUpTo(s, u)
		}
	}
	return v
}

// spatialGuesses counts the keyboard walks of this length or shorter with
// this many turns or fewer, from any starting key, then multiplies in the
// ways to shift some of the keys.
func spatialGuesses(m *Match) float64 {
	g := keyboardGraphs[0] // qwerty and dvorak share the statistics
	if m.Graph == "keypad" || m.Graph == "mac_keypad" {
		g = keyboardGraphs[2]
	}
	s, d := float64(g.startingPositions), g.averageDegree
	length := len([]rune(m.Token))
	guesses := 0.0
	for i := 2; i <= length; i++ {
		for j := 1; j <= min(m.Turns, i-1); j++ {
			guesses += binomial(i-1, j-1) * s * math.Pow(d, float64(j))
		}
	}
	if shifted := m.ShiftedCount; shifted > 0 {
		unshifted := length - shifted
		if unshifted == 0 {
			guesses *= 2
		} else {
			guesses *= variationsUpTo(shifted, unshifted)
		}
	}
	return guesses
}

// sequenceGuesses prices a sequence by its starting point and length:
// sequences starting at an obvious place ("abc", "123", "987") are tried
// first, descending ones after all ascending ones.
func sequenceGuesses(m *Match) float64 {
	rs := []rune(m.Token)
	var base float64
	switch first := rs[0]; {
	case strings.ContainsRune("aAzZ019", first):
		base = 4
	case isDigit(first):
		base = 10
	default:
		// Also for upper case and other scripts: 26 is the conservative
		// choice for an alphabet of unknown size.
		base = 26
	}
	if !m.Ascending {
		base *= 2
	}
	return base * float64(len(rs))
}

func binomial(n, k int) float64 {
	if k > n {
		return 0
	}
	r := 1.0
	for d := 1; d <= k; d++ {
		r *= float64(n)
		r /= float64(d)
		n--
	}
	return r
}

// mostGuessableSequence finds the decomposition of the password into
// non-overlapping matches (gaps filled with bruteforce) that minimises
//
//	g = l! × Π guesses(match) + D^(l-1)
//
// for a sequence of l matches: the product is the work to try every
// combination of the patterns, l! the orders they could come in, and
// D^(l-1) the shorter sequences an attacker would try first. This is
// zxcvbn's dynamic program: for each prefix end k and sequence length l it
// keeps only the best sequence, and a sequence survives only if no shorter
// one over the same prefix is at least as good, so few (k, l) cells fill.
//
// The runes beyond the analysed prefix (tailLen of them) form one extra
// unit that only bruteforce can cover.
func (m *matcher) mostGuessableSequence(matches []Match, tailLen int) (float64, []Match) {
	prefix := len(m.runes)
	total := prefix + tailLen
	if total == 0 {
		return 1, nil
	}
	units := prefix
	if tailLen > 0 {
		units++
	}
	// start(k) is the first rune of unit k; start(units) is the end.
	start := func(k int) int {
		if k <= prefix {
			return k
		}
		return total
	}

	for k := range matches {
		m.estimateGuesses(&matches[k], total)
	}
	byEnd := make([][]int, units)
	for k, mt := range matches {
		byEnd[mt.J] = append(byEnd[mt.J], k) // matches are sorted by start
	}

	// Precomputed terms of g for every possible sequence length.
	factorial := make([]float64, units+2)
	penalty := make([]float64, units+2)
	factorial[0], penalty[0] = 1, 1
	for l := 1; l < len(factorial); l++ {
		factorial[l] = factorial[l-1] * float64(l)
		penalty[l] = penalty[l-1] * minGuessesBeforeGrowingSequence
	}

	type cell struct {
		g, pi float64
		match int // index into matches, or -1 for bruteforce
		from  int // first unit of the cell's last match
		set   bool
	}
	stride := units + 1
	cells := make([]cell, units*stride) // cells[k*stride+l]
	maxLen := make([]int, units)        // largest l with a set cell at k

	update := func(k, from, l, match int, guesses float64) {
		pi := guesses
		if l > 1 {
			pi *= cells[(from-1)*stride+l-1].pi
		}
		g := factorial[l]*pi + penalty[l-1]
		for cl := 1; cl <= min(l, maxLen[k]); cl++ {
			if c := cells[k*stride+cl]; c.set && c.g <= g {
				return
			}
		}
		cells[k*stride+l] = cell{g: g, pi: pi, match: match, from: from, set: true}
		maxLen[k] = max(maxLen[k], l)
	}

	for k := range units {
		for _, idx := range byEnd[k] {
			mt := &matches[idx]
			if mt.I == 0 {
				update(k, 0, 1, idx, mt.Guesses)
				continue
			}
			for l := 1; l <= maxLen[mt.I-1]; l++ {
				if cells[(mt.I-1)*stride+l].set {
					update(k, mt.I, l+1, idx, mt.Guesses)
				}
			}
		}
		// Bruteforce from the start, or after any sequence that does not
		// itself end in bruteforce: two adjacent bruteforce runs are always
		// worse than one run over both.
		update(k, 0, 1, -1, bruteforceGuesses(start(k+1)))
		for i := 1; i <= k; i++ {
			bg := bruteforceGuesses(start(k+1) - start(i))
			for l := 1; l <= maxLen[i-1]; l++ {
				if c := cells[(i-1)*stride+l]; c.set && c.match >= 0 {
					update(k, i, l+1, -1, bg)
				}
			}
		}
	}

	last := units - 1
	bestL, bestG := 0, math.Inf(1)
	for l := 1; l <= maxLen[last]; l++ {
		if c := cells[last*stride+l]; c.set && c.g < bestG {
			bestL, bestG = l, c.g
		}
	}
	seq := make([]Match, bestL)
	for k, l := last, bestL; l > 0; l-- {
		c := cells[k*stride+l]
		if c.match >= 0 {
			seq[l-1] = matches[c.match]
		} else {
			i, j := start(c.from), start(k+1)-1
			seq[l-1] = Match{
				Pattern: PatternBruteforce, I: i, J: j,
				Token:   m.text[m.off[c.from]:m.unitEnd(k)],
				Guesses: bruteforceGuesses(j - i + 1),
			}
		}
		k = c.from - 1
	}
	if math.IsInf(bestG, 1) {
		bestG = math.MaxFloat64
	}
	return bestG, seq
}

// unitEnd is the byte offset just past unit k: past rune k inside the
// analysed prefix, or the end of the text for the tail.
func (m *matcher) unitEnd(k int) int {
	if k+1 < len(m.off) {
		return m.off[k+1]
	}
	return len(m.text)
}
