package password

// Pattern names the kind of guessable structure a Match found.
type Pattern string

// The patterns a password is decomposed into.
const (
	PatternDictionary Pattern = "dictionary" // word from a ranked list or from the user inputs
	PatternSpatial    Pattern = "spatial"    // walk over adjacent keys, e.g. "qwerty", "zxcvfr"
	PatternRepeat     Pattern = "repeat"     // repeated string, e.g. "aaaa", "abcabc"
	PatternSequence   Pattern = "sequence"   // constant code point step, e.g. "abcd", "13579", "zyx"
	PatternDate       Pattern = "date"       // day, month and year, e.g. "13/05/1987", "130587"
	PatternYear       Pattern = "year"       // a year from 1900 to 2050 on its own
	PatternBruteforce Pattern = "bruteforce" // anything else, priced at 10 guesses per character
)

// Dictionary names used in Match.Dictionary.
const (
	DictionaryPasswords   = "passwords"
	DictionaryEnglish     = "english_wikipedia"
	DictionaryFemaleNames = "female_names"
	DictionarySurnames    = "surnames"
	DictionaryTVAndFilm   = "us_tv_and_film" // words of film and TV subtitles
	DictionaryMaleNames   = "male_names"
	DictionaryUserInputs  = "user_inputs" // the userInputs given to Evaluate or Validate
)

// Match is one part of a password's decomposition: the runes I..J
// (inclusive, counted in Unicode code points) and the guesses an attacker
// needs to hit that part. Only the fields of its Pattern are set.
type Match struct {
	Pattern Pattern `json:"pattern"`
	I       int     `json:"i"`
	J       int     `json:"j"`
	Token   string  `json:"token"`
	// Guesses already includes the floor that stops a short part from
	// counting as nearly free (10 for one character, 50 for more), unless
	// the part is the whole password.
	Guesses float64 `json:"guesses"`

	// PatternDictionary.
	Dictionary  string            `json:"dictionary,omitempty"`
	MatchedWord string            `json:"matchedWord,omitempty"`
	Rank        int               `json:"rank,omitempty"`
	Reversed    bool              `json:"reversed,omitempty"`
	L33t        bool              `json:"l33t,omitempty"`
	L33tSubs    map[string]string `json:"l33tSubs,omitempty"` // substituted character -> letter it stands for, e.g. "@" -> "a"

	// PatternSpatial.
	Graph        string `json:"graph,omitempty"` // qwerty, dvorak, keypad or mac_keypad
	Turns        int    `json:"turns,omitempty"`
	ShiftedCount int    `json:"shiftedCount,omitempty"`

	// PatternRepeat.
	BaseToken   string  `json:"baseToken,omitempty"`
	BaseGuesses float64 `json:"baseGuesses,omitempty"`
	RepeatCount int     `json:"repeatCount,omitempty"`

	// PatternSequence.
	SequenceName string `json:"sequenceName,omitempty"` // lower, upper, digits or unicode
	Ascending    bool   `json:"ascending,omitempty"`

	// PatternDate; PatternYear sets Year only.
	Year      int    `json:"year,omitempty"`
	Month     int    `json:"month,omitempty"`
	Day       int    `json:"day,omitempty"`
	Separator string `json:"separator,omitempty"`
}
