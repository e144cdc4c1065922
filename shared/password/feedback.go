package password

import (
	"math"
	"strconv"
	"unicode"
)

const suggestMoreWords = "Add another word or two. Uncommon words are better."

// feedback explains a weak password by its longest match, which is the
// part that contributes most to it being guessable. Passwords scoring 3 or
// more get none: there is nothing the user needs to fix.
func feedback(score int, seq []Match) (warning string, suggestions []string) {
	if len(seq) == 0 {
		return "", []string{
			"Use a few words, avoid common phrases.",
			"No need for symbols, digits, or uppercase letters.",
		}
	}
	if score > 2 {
		return "", nil
	}
	longest := &seq[0]
	for k := 1; k < len(seq); k++ {
		if tokenLen(&seq[k]) > tokenLen(longest) {
			longest = &seq[k]
		}
	}
	warning, suggestions = matchFeedback(longest, len(seq) == 1)
	return warning, append([]string{suggestMoreWords}, suggestions...)
}

func tokenLen(m *Match) int { return m.J - m.I + 1 }

func matchFeedback(m *Match, sole bool) (string, []string) {
	switch m.Pattern {
	case PatternDictionary:
		return dictionaryFeedback(m, sole)
	case PatternSpatial:
		warning := "Short keyboard patterns are easy to guess."
		if m.Turns == 1 {
			warning = "Straight rows of keys are easy to guess."
		}
		return warning, []string{"Use a longer keyboard pattern with more turns."}
	case PatternRepeat:
		warning := `Repeats like "abcabc" are only slightly harder to guess than "abc".`
		if len([]rune(m.BaseToken)) == 1 {
			warning = `Repeats like "aaa" are easy to guess.`
		}
		return warning, []string{"Avoid repeated words and characters."}
	case PatternSequence:
		return "Sequences like abc or 6543 are easy to guess.", []string{"Avoid sequences."}
	case PatternYear:
		return "Recent years are easy to guess.", []string{
			"Avoid recent years.",
			"Avoid years that are associated with you.",
		}
	case PatternDate:
		return "Dates are often easy to guess.", []string{"Avoid dates and years that are associated with you."}
	}
	return "", nil
}

func dictionaryFeedback(m *Match, sole bool) (string, []string) {
	var warning string
	switch m.Dictionary {
	case DictionaryPasswords:
		switch {
		case sole && !m.L33t && !m.Reversed && m.Rank <= 10:
			warning = "This is a top-10 common password."
		case sole && !m.L33t && !m.Reversed && m.Rank <= 100:
			warning = "This is a top-100 common password."
		case sole && !m.L33t && !m.Reversed:
			warning = "This is a very common password."
		case math.Log10(m.Guesses) <= 4:
			warning = "This is similar to a commonly used password."
		}
	case DictionaryEnglish:
		if sole {
			warning = "A word by itself is easy to guess."
		}
	case DictionaryFemaleNames, DictionaryMaleNames, DictionarySurnames:
		warning = "Common names and surnames are easy to guess."
		if sole {
			warning = "Names and surnames by themselves are easy to guess."
		}
	case DictionaryUserInputs:
		warning = "Passwords containing your user name or the name of this site are easy to guess."
	}

	var suggestions []string
	switch {
	case startsUpperOnly(m.Token):
		suggestions = append(suggestions, "Capitalization doesn't help very much.")
	case !hasLower(m.Token) && uppercaseVariations(m.Token) > 1:
		suggestions = append(suggestions, "All-uppercase is almost as easy to guess as all-lowercase.")
	}
	if m.Reversed && tokenLen(m) >= 4 {
		suggestions = append(suggestions, "Reversed words aren't much harder to guess.")
	}
	if m.L33t {
		suggestions = append(suggestions, "Predictable substitutions like '@' instead of 'a' don't help very much.")
	}
	if m.Dictionary == DictionaryUserInputs {
		suggestions = append(suggestions, "Avoid your user name and words associated with you or this site.")
	}
	return warning, suggestions
}

func startsUpperOnly(word string) bool {
	for k, r := range []rune(word) {
		if (k == 0) != unicode.IsUpper(r) {
			return false
		}
	}
	return len([]rune(word)) > 1
}

func hasLower(word string) bool {
	for _, r := range word {
		if unicode.IsLower(r) {
			return true
		}
	}
	return false
}

// guessesToScore buckets guesses into 0..4. The thresholds are zxcvbn's;
// the small delta keeps a value computed as 1000.0000001 from floating-point
// noise out of the next bucket.
func guessesToScore(guesses float64) int {
	const delta = 5
	switch {
	case guesses < 1e3+delta:
		return 0 // too guessable: risky password
	case guesses < 1e6+delta:
		return 1 // very guessable: protects from throttled online attacks only
	case guesses < 1e8+delta:
		return 2 // somewhat guessable: protects from unthrottled online attacks
	case guesses < 1e10+delta:
		return 3 // safely unguessable: moderate protection from offline attacks on a slow hash
	default:
		return 4 // very unguessable: strong protection from offline attacks on a slow hash
	}
}

// Attack speeds for the crack-time estimates.
const (
	// An online attack against a login form with rate limiting.
	onlineGuessesPerSecond = 100.0 / 3600
	// An offline attack on a stolen database of passwords hashed with a
	// deliberately slow function such as argon2id, on one machine.
	offlineGuessesPerSecond = 1e4
)

// displayTime renders seconds the way a person would say it.
func displayTime(seconds float64) string {
	const (
		minute  = 60.0
		hour    = 60 * minute
		day     = 24 * hour
		month   = 31 * day
		year    = 12 * month
		century = 100 * year
	)
	unit := func(n float64, name string) string {
		v := math.Floor(n + 0.5)
		s := strconv.FormatFloat(v, 'f', 0, 64) + " " + name
		if v != 1 {
			s += "s"
		}
		return s
	}
	switch {
	case seconds < 1:
		return "less than a second"
	case seconds < minute:
		return unit(seconds, "second")
	case seconds < hour:
		return unit(seconds/minute, "minute")
	case seconds < day:
		return unit(seconds/hour, "hour")
	case seconds < month:
		return unit(seconds/day, "day")
	case seconds < year:
		return unit(seconds/month, "month")
	case seconds < century:
		return unit(seconds/year, "year")
	default:
		return "centuries"
	}
}
