package password

import (
	"math"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// The acceptance rule applied by Validate.
const (
	// MinScore is the lowest Score Validate accepts: at least 1e8 guesses,
	// about 3 hours against a slow hash offline and centuries online.
	MinScore = 3
	// MinLength is the minimum number of characters (Unicode code points),
	// whatever the score: short passwords have too little room for error
	// in the estimate.
	MinLength = 10
	// MaxBytes bounds the UTF-8 length, so that the slow hash on the
	// server cannot be turned into a denial of service.
	MaxBytes = 1024
)

// maxAnalyzedRunes caps what the matchers see; some of them are quadratic
// in the length. The rest of a longer password counts as bruteforce, that
// is 10 guesses per character, so such passwords are strong by length.
const maxAnalyzedRunes = 100

// Estimate is the result of Evaluate.
type Estimate struct {
	Score        int     `json:"score"`        // 0..4: under 1e3, 1e6, 1e8, 1e10 guesses, or more
	Guesses      float64 `json:"guesses"`      // estimated guesses to find the password
	GuessesLog10 float64 `json:"guessesLog10"` // log10(Guesses), handy for a meter
	// Time to find the password at 100 guesses per hour: an online attack
	// against a rate-limited login, e.g. "3 hours", "centuries".
	CrackTimeOnline string `json:"crackTimeOnline"`
	// Time to find it at 1e4 guesses per second: an offline attack on a
	// stolen argon2id hash.
	CrackTimeOffline string   `json:"crackTimeOffline"`
	Warning          string   `json:"warning,omitempty"`     // what is wrong, one sentence; empty if nothing to say
	Suggestions      []string `json:"suggestions,omitempty"` // what to do instead, most general first
	Sequence         []Match  `json:"sequence"`              // the cheapest decomposition found
}

// now is replaced in tests to pin the reference year.
var now = time.Now

// Evaluate estimates how many guesses an attacker needs to find password.
// userInputs are strings that an attacker would try first for this user,
// such as the user name, e-mail address and the product name
// ("communitycube"); they are matched as a dictionary of their own.
//
// It is cheap enough to call on every keystroke (well under a millisecond
// natively for a typical password, about one in the browser). The first
// call also unpacks the word lists, which takes ~10 ms natively and ~100 ms
// in the browser: a form can call Evaluate("") when it opens so that the
// first keystroke does not pay for it.
func Evaluate(password string, userInputs ...string) Estimate {
	m := newMatcher(loadDictionaries(), newUserDictionary(userInputs), now().Year(), password, maxAnalyzedRunes)
	tail := utf8.RuneCountInString(password[m.off[len(m.runes)]:])
	guesses, seq := m.mostGuessableSequence(m.omnimatch(), tail)
	score := guessesToScore(guesses)
	warning, suggestions := feedback(score, seq)
	if seq == nil {
		seq = []Match{}
	}
	return Estimate{
		Score:            score,
		Guesses:          guesses,
		GuessesLog10:     math.Log10(guesses),
		CrackTimeOnline:  displayTime(guesses / onlineGuessesPerSecond),
		CrackTimeOffline: displayTime(guesses / offlineGuessesPerSecond),
		Warning:          warning,
		Suggestions:      suggestions,
		Sequence:         seq,
	}
}

// Reason says which rule refused a password.
type Reason string

// The rules Validate applies, in the order it checks them.
const (
	ReasonTooLong          Reason = "too_long"          // more than MaxBytes bytes
	ReasonInvalidCharacter Reason = "invalid_character" // control character or invalid UTF-8
	ReasonTooShort         Reason = "too_short"         // fewer than MinLength characters
	ReasonTooGuessable     Reason = "too_guessable"     // Score below MinScore
)

// WeakError is the error Validate returns for a refused password. Its
// fields are meant for a structured (JSON) answer; Error gives a sentence
// to show the user as is. Score, Warning and Suggestions come from Evaluate
// for every reason, so a form can show them next to a length error too.
type WeakError struct {
	Reason      Reason   `json:"reason"`
	Score       int      `json:"score"`
	Warning     string   `json:"warning,omitempty"`
	Suggestions []string `json:"suggestions,omitempty"`
}

func (e *WeakError) Error() string {
	switch e.Reason {
	case ReasonTooLong:
		return "This password is too long: use at most " + strconv.Itoa(MaxBytes) +
			" characters (accented letters and emoji count as 2 to 4)."
	case ReasonInvalidCharacter:
		return "This password contains a control character (such as a tab or line break) or invalid text: type it again without it."
	case ReasonTooShort:
		return "This password is too short: use at least " + strconv.Itoa(MinLength) + " characters."
	}
	msg := "This password is too easy to guess."
	if e.Warning != "" {
		msg += " " + e.Warning
	}
	if len(e.Suggestions) > 0 {
		msg += " " + e.Suggestions[0]
	}
	return msg
}

// Validate returns nil if password may be used, or a *WeakError saying
// why not. The browser and the server call it with the same userInputs so
// that they reach the same verdict.
func Validate(password string, userInputs ...string) error {
	est := Evaluate(password, userInputs...)
	refuse := func(r Reason) error {
		return &WeakError{Reason: r, Score: est.Score, Warning: est.Warning, Suggestions: est.Suggestions}
	}
	switch {
	case len(password) > MaxBytes:
		return refuse(ReasonTooLong)
	case !utf8.ValidString(password) || hasControl(password):
		return refuse(ReasonInvalidCharacter)
	case utf8.RuneCountInString(password) < MinLength:
		return refuse(ReasonTooShort)
	case est.Score < MinScore:
		return refuse(ReasonTooGuessable)
	}
	return nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}
