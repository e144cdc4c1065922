package password

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// pinYear fixes the reference year so that date and year guesses do not
// drift as the calendar moves on.
func pinYear(t *testing.T, year int) {
	t.Helper()
	old := now
	now = func() time.Time { return time.Date(year, 6, 1, 0, 0, 0, 0, time.UTC) }
	t.Cleanup(func() { now = old })
}

func TestScores(t *testing.T) {
	tests := []struct {
		password   string
		userInputs []string
		min, max   int
	}{
		{"password", nil, 0, 0},
		{"123456", nil, 0, 0},
		{"qwertyuiop", nil, 0, 0},
		{"P@ssw0rd", nil, 0, 0},
		{"aaaaaaaaaaaa", nil, 0, 0},
		{"abcdefghijk", nil, 0, 0},
		{"01/02/1990", nil, 1, 1},
		{"19901201", nil, 1, 1},
		{"130587", nil, 0, 1},
		{"1987-05-13", nil, 1, 1},
		{"correcthorsebatterystaple", nil, 4, 4}, // zxcvbn: 10^14.4
		{"correct horse battery staple", nil, 4, 4},
		{"Tr0ub4dor&3", nil, 3, 4}, // zxcvbn: 10^11, score 4
		{"alice2024", []string{"alice"}, 0, 1},
		{"alice2024", nil, 1, 2},
		{"Alice.Smith1987", []string{"alice.smith@example.org", "communitycube"}, 0, 1},
		{"Alice.Smith1987", nil, 4, 4}, // the "." costs a whole extra pattern
		{"communitycube2024", []string{"bob", "communitycube"}, 0, 1},
		{"x7#Lq9!vR2@m", nil, 4, 4},
		{"iloveyou", nil, 0, 0},
		{"drowssap", nil, 0, 0},
		{"zxcvbnm,./", nil, 0, 1},
		{"1qaz2wsx3edc", nil, 0, 1},
		{"abcabcabcabc", nil, 0, 0},
		{"13579", nil, 0, 0},
		{"passwordqwerty1987", nil, 3, 3}, // zxcvbn: 10^8.003
		{"Jennifer1985", nil, 1, 2},
		{"", nil, 0, 0},
		{"mypassword", nil, 0, 1},
		{"Pa55word!2023", nil, 1, 2},
		{"purple-elephant-dances-42", nil, 4, 4},
		{"ÅngströmÜberßtraße", nil, 4, 4},
	}
	for _, tt := range tests {
		est := Evaluate(tt.password, tt.userInputs...)
		if est.Score < tt.min || est.Score > tt.max {
			t.Errorf("Evaluate(%q, %q).Score = %d (10^%.2f guesses, %s), want %d..%d",
				tt.password, tt.userInputs, est.Score, est.GuessesLog10, describe(est.Sequence), tt.min, tt.max)
		}
		t.Logf("%-32q score %d  10^%5.2f  online %-18s offline %-18s %s", tt.password, est.Score,
			est.GuessesLog10, est.CrackTimeOnline, est.CrackTimeOffline, describe(est.Sequence))
	}
}

func describe(seq []Match) string {
	var parts []string
	for _, m := range seq {
		s := string(m.Pattern)
		if m.Dictionary != "" {
			s += ":" + m.Dictionary
		}
		if m.L33t {
			s += "/l33t"
		}
		if m.Reversed {
			s += "/reversed"
		}
		parts = append(parts, s+"("+m.Token+")")
	}
	return strings.Join(parts, " ")
}

// TestAgreesWithZxcvbn pins guesses to those of zxcvbn 4.4.2 (the
// JavaScript original, run on the same inputs with reference year 2026), so
// that a change to any estimator shows up here.
func TestAgreesWithZxcvbn(t *testing.T) {
	pinYear(t, 2026)
	tests := []struct {
		password string
		log10    float64
		seq      string
	}{
		{"password", 0.477, "dictionary:passwords(password)"},
		{"123456", 0.301, "dictionary:passwords(123456)"},
		{"qwertyuiop", 1.362, "dictionary:passwords(qwertyuiop)"},
		{"P@ssw0rd", 1.230, "dictionary:passwords/l33t(P@ssw0rd)"},
		{"aaaaaaaaaaaa", 2.161, "repeat(aaaaaaaaaaaa)"},
		{"abcdefghijk", 1.653, "sequence(abcdefghijk)"},
		{"01/02/1990", 4.721, "date(01/02/1990)"},
		{"19901201", 4.119, "date(19901201)"},
		{"correcthorsebatterystaple", 14.437, "dictionary:us_tv_and_film(correct) dictionary:passwords(horse) dictionary:english_wikipedia(battery) dictionary:english_wikipedia(staple)"},
		{"Tr0ub4dor&3", 11, "bruteforce(Tr0ub4dor&3)"},
		{"x7#Lq9!vR2@m", 12, "bruteforce(x7#Lq9!vR2@m)"},
		{"passwordqwerty1987", 8.003, "dictionary:passwords(password) dictionary:passwords(qwerty) year(1987)"},
		{"passwordzxcvfr1987", 8.740, "dictionary:passwords(password) spatial(zxcvfr) year(1987)"},
		{"1981-03-10", 4.818, "date(1981-03-10)"},
		{"22/05/1998", 4.612, "date(22/05/1998)"},
		{"2.5.1962", 4.971, "date(2.5.1962)"},
		{"9753millbrook", 6.342, "sequence(9753) dictionary:english_wikipedia(millbrook)"},
		{"zyxwvegitta", 8, "sequence(zyxwv) bruteforce(egitta)"},
		{"repsaj1987", 4.641, "dictionary:passwords/reversed(repsaj) year(1987)"},
		{"asdfghjkl;'", 3.636, "spatial(asdfghjkl;')"},
		{"aoeuidhtnshasidim", 8.227, "spatial(aoeuidhtns) dictionary:english_wikipedia(hasidim)"},
		{"qwertyuiop[]randi", 6.807, "spatial(qwertyuiop[]) dictionary:female_names(randi)"},
		{"lokitlokitlokit", 4.928, "repeat(lokitlokitlokit)"},
		{"1111111111arriving", 5.792, "repeat(1111111111) dictionary:english_wikipedia(arriving)"},
		{"Victimless35", 6.729, "dictionary:us_tv_and_film(Victimless) bruteforce(35)"},
		{"8ru15e", 4.515, "dictionary:us_tv_and_film/l33t(8ru15e)"},
		{"1p4ck3r$", 4.737, "bruteforce(1) dictionary:passwords/l33t(p4ck3r$)"},
		{"198700", 4.176, "year(1987) repeat(00)"},
		{"oaths improving chuckie1", 16.159, "bruteforce(oaths ) dictionary:english_wikipedia(improving) bruteforce( ) dictionary:passwords(chuckie1)"},
	}
	for _, tt := range tests {
		est := Evaluate(tt.password)
		if math.Abs(est.GuessesLog10-tt.log10) > 0.0015 {
			t.Errorf("Evaluate(%q): 10^%.4f guesses, zxcvbn has 10^%.3f", tt.password, est.GuessesLog10, tt.log10)
		}
		if got := describe(est.Sequence); got != tt.seq {
			t.Errorf("Evaluate(%q) sequence\n got %s\nwant %s", tt.password, got, tt.seq)
		}
	}
}

func TestDecompositionPasswordQwerty1987(t *testing.T) {
	const pw = "passwordqwerty1987"
	est := Evaluate(pw)
	var dict, year bool
	for _, m := range est.Sequence {
		dict = dict || (m.Pattern == PatternDictionary && m.Token == "password")
		year = year || (m.Pattern == PatternYear && m.Year == 1987) || (m.Pattern == PatternDate && m.Year == 1987)
	}
	if !dict || !year {
		t.Errorf("sequence %s: want the word \"password\" and the year 1987", describe(est.Sequence))
	}
	// "qwerty" is both a keyboard walk and the 4th most common password; the
	// list rank is far cheaper than the walk (~2000 guesses), so the
	// decomposition uses it. The spatial matcher must still have seen it.
	m := newMatcher(loadDictionaries(), userDictionary{}, 2026, pw, maxAnalyzedRunes)
	var spatial bool
	for _, c := range m.omnimatch() {
		spatial = spatial || (c.Pattern == PatternSpatial && c.Token == "qwerty" && c.Graph == "qwerty" && c.Turns == 1)
	}
	if !spatial {
		t.Errorf("no spatial candidate for \"qwerty\" in %q", pw)
	}

	// A walk that is not itself a listed password stays spatial.
	est = Evaluate("passwordzxcvfr1987")
	got := map[Pattern]bool{}
	for _, m := range est.Sequence {
		got[m.Pattern] = true
	}
	if !got[PatternDictionary] || !got[PatternSpatial] || !got[PatternYear] {
		t.Errorf("passwordzxcvfr1987: sequence %s, want dictionary, spatial and year", describe(est.Sequence))
	}
}

func TestSequenceCoversPassword(t *testing.T) {
	for _, pw := range []string{"passwordqwerty1987", "x", "Ünïcödé-πάσσωορδ-1987", "a\xffb", strings.Repeat("ab1", 50)} {
		checkCover(t, pw, Evaluate(pw))
	}
}

// checkCover asserts that the sequence tiles the password exactly.
func checkCover(t *testing.T, pw string, est Estimate) {
	t.Helper()
	var b strings.Builder
	next := 0
	for _, m := range est.Sequence {
		if m.I != next || m.J < m.I {
			t.Fatalf("%q: match %s at %d..%d, expected to start at %d", pw, m.Pattern, m.I, m.J, next)
		}
		if m.Guesses < 1 || math.IsNaN(m.Guesses) || math.IsInf(m.Guesses, 0) {
			t.Fatalf("%q: match %+v has guesses %v", pw, m, m.Guesses)
		}
		next = m.J + 1
		b.WriteString(m.Token)
	}
	if b.String() != pw {
		t.Fatalf("%q: tokens join to %q", pw, b.String())
	}
	if len(pw) == 0 && len(est.Sequence) != 0 {
		t.Fatalf("empty password has sequence %v", est.Sequence)
	}
}

func TestUserInputs(t *testing.T) {
	with := Evaluate("alice2024", "alice")
	without := Evaluate("alice2024")
	if with.Guesses >= without.Guesses {
		t.Errorf("user name did not lower the guesses: %v with, %v without", with.Guesses, without.Guesses)
	}
	if m := with.Sequence[0]; m.Dictionary != DictionaryUserInputs || m.MatchedWord != "alice" || m.Rank != 1 {
		t.Errorf("first match %+v, want user input \"alice\" with rank 1", m)
	}
	if !strings.Contains(with.Warning, "user name") {
		t.Errorf("warning %q does not mention the user name", with.Warning)
	}

	// Parts of an e-mail address count too, and case does not matter.
	for pw, part := range map[string]string{"Alice.Smith1987": "alice.smith", "Example2024xq": "example"} {
		est := Evaluate(pw, "Alice.Smith@Example.org")
		if m := est.Sequence[0]; m.Dictionary != DictionaryUserInputs || m.MatchedWord != part {
			t.Errorf("%q: sequence %s, want user input part %q first", pw, describe(est.Sequence), part)
		}
	}
	// Non-ASCII user inputs are matched rune for rune.
	est := Evaluate("ŁUKASZ-2020-xyz", "łukasz")
	if m := est.Sequence[0]; m.Dictionary != DictionaryUserInputs || m.Token != "ŁUKASZ" {
		t.Errorf("sequence %s, want user input \"ŁUKASZ\" first", describe(est.Sequence))
	}
}

func TestFeedback(t *testing.T) {
	tests := []struct {
		password, warning, suggestion string
	}{
		{"password", "This is a top-10 common password.", suggestMoreWords},
		{"superman", "This is a top-100 common password.", suggestMoreWords},
		{"qwertyuiopasdf", "This is similar to a commonly used password.", suggestMoreWords},
		{"zxcvfr", "Short keyboard patterns are easy to guess.", "Use a longer keyboard pattern with more turns."},
		{"zxcvbnm,./", "Straight rows of keys are easy to guess.", "Use a longer keyboard pattern with more turns."},
		{"13/05/1987", "Dates are often easy to guess.", "Avoid dates and years that are associated with you."},
		{"xkq1987", "Recent years are easy to guess.", "Avoid years that are associated with you."},
		{"aaaaaaaa", `Repeats like "aaa" are easy to guess.`, "Avoid repeated words and characters."},
		{"kqzkqzkqz", `Repeats like "abcabc" are only slightly harder to guess than "abc".`, "Avoid repeated words and characters."},
		{"abcdefgh", "Sequences like abc or 6543 are easy to guess.", "Avoid sequences."},
		{"Staple", "A word by itself is easy to guess.", "Capitalization doesn't help very much."},
		{"STAPLE", "A word by itself is easy to guess.", "All-uppercase is almost as easy to guess as all-lowercase."},
		{"monkey12", "This is a very common password.", suggestMoreWords},
		{"Elizabeth", "Names and surnames by themselves are easy to guess.", "Capitalization doesn't help very much."},
		{"garcia1987", "Common names and surnames are easy to guess.", suggestMoreWords},
		{"P@ssw0rd", "This is similar to a commonly used password.", "Predictable substitutions like '@' instead of 'a' don't help very much."},
		{"drowssap", "This is similar to a commonly used password.", "Reversed words aren't much harder to guess."},
	}
	for _, tt := range tests {
		est := Evaluate(tt.password)
		if est.Warning != tt.warning {
			t.Errorf("Evaluate(%q).Warning = %q, want %q (%s)", tt.password, est.Warning, tt.warning, describe(est.Sequence))
		}
		if len(est.Suggestions) == 0 || est.Suggestions[0] != suggestMoreWords {
			t.Errorf("Evaluate(%q).Suggestions = %q, want %q first", tt.password, est.Suggestions, suggestMoreWords)
		}
		found := false
		for _, s := range est.Suggestions {
			found = found || s == tt.suggestion
		}
		if !found {
			t.Errorf("Evaluate(%q).Suggestions = %q, want one to be %q", tt.password, est.Suggestions, tt.suggestion)
		}
	}

	if est := Evaluate("correct horse battery staple"); est.Warning != "" || len(est.Suggestions) != 0 {
		t.Errorf("strong password got feedback %q %q", est.Warning, est.Suggestions)
	}
	if est := Evaluate(""); est.Score != 0 || len(est.Suggestions) != 2 || est.Guesses != 1 || len(est.Sequence) != 0 {
		t.Errorf("empty password: %+v", est)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		password   string
		userInputs []string
		reason     Reason // "" = accepted
		contains   []string
	}{
		{"correct horse battery staple", nil, "", nil},
		{"x7#Lq9!vR2@mZp", nil, "", nil},
		{"purple-elephant-dances-42", []string{"alice"}, "", nil},
		{"short", nil, ReasonTooShort, []string{"too short", "at least 10 characters"}},
		{"x7#Lq9!vR", nil, ReasonTooShort, []string{"at least 10"}}, // strong but 9 characters
		{"éèêëēėęàáâ", nil, "", nil},                                // 10 characters, 20 bytes: long enough
		{"éèêëēėęàá", nil, ReasonTooShort, nil},                     // 9 characters, 18 bytes
		{strings.Repeat("x7#Lq9!vR2@m", 86), nil, ReasonTooLong, []string{"too long", "at most 1024"}},
		{"correct horse\tbattery staple", nil, ReasonInvalidCharacter, []string{"control character"}},
		{"correct horse battery staple\n", nil, ReasonInvalidCharacter, nil},
		{"correct horse \x00battery staple", nil, ReasonInvalidCharacter, nil},
		{"correct horse \xffbattery staple", nil, ReasonInvalidCharacter, []string{"invalid text"}},
		{"password123", nil, ReasonTooGuessable, []string{"This password is too easy to guess. This is a very common password. " + suggestMoreWords}},
		{"Qx7!z11111", nil, ReasonTooGuessable, []string{"This password is too easy to guess. " + suggestMoreWords}},
		{"aaaaaaaaaaaaaaaa", nil, ReasonTooGuessable, []string{`Repeats like "aaa" are easy to guess.`, suggestMoreWords}},
		{"qwertyuiop", nil, ReasonTooGuessable, []string{"top-100 common password"}},
		{"13/05/1987", nil, ReasonTooGuessable, []string{"Dates are often easy to guess."}},
		{"alice.smith1987", []string{"alice.smith@example.org"}, ReasonTooGuessable, []string{"user name"}},
		{"communitycube2024!", []string{"bob", "communitycube"}, ReasonTooGuessable, nil},
	}
	for _, tt := range tests {
		err := Validate(tt.password, tt.userInputs...)
		if tt.reason == "" {
			if err != nil {
				t.Errorf("Validate(%q) = %v, want nil", tt.password, err)
			}
			continue
		}
		var weak *WeakError
		if !errors.As(err, &weak) {
			t.Errorf("Validate(%q) = %v, want a *WeakError", tt.password, err)
			continue
		}
		if weak.Reason != tt.reason {
			t.Errorf("Validate(%q).Reason = %q, want %q (%v)", tt.password, weak.Reason, tt.reason, err)
		}
		msg := err.Error()
		for _, c := range tt.contains {
			if !strings.Contains(msg, c) {
				t.Errorf("Validate(%q) = %q, want it to contain %q", tt.password, msg, c)
			}
		}
		if !strings.HasSuffix(msg, ".") || strings.Contains(msg, "..") {
			t.Errorf("Validate(%q) = %q: not a clean sentence", tt.password, msg)
		}
		if tt.reason == ReasonTooGuessable && (weak.Score >= MinScore || len(weak.Suggestions) == 0) {
			t.Errorf("Validate(%q): %+v, want score below %d and suggestions", tt.password, weak, MinScore)
		}
	}

	// Exactly at the limits.
	if err := Validate(strings.Repeat("x7#Lq9!vR2@m", 86)[:MaxBytes]); err != nil {
		t.Errorf("password of MaxBytes bytes refused: %v", err)
	}
}

func TestWeakErrorJSON(t *testing.T) {
	err := Validate("password123")
	b, jerr := json.Marshal(err)
	if jerr != nil {
		t.Fatal(jerr)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["reason"] != "too_guessable" || got["warning"] == nil || got["suggestions"] == nil {
		t.Errorf("JSON %s lacks reason, warning or suggestions", b)
	}
}

func TestLongPasswords(t *testing.T) {
	// Beyond the analysed prefix every character counts as bruteforce.
	pw := strings.Repeat("a", maxAnalyzedRunes) + "bcdefghijkl"
	est := Evaluate(pw)
	checkCover(t, pw, est)
	last := est.Sequence[len(est.Sequence)-1]
	if last.Pattern != PatternBruteforce || last.J != len(pw)-1 || last.I > maxAnalyzedRunes {
		t.Errorf("last match %s %d..%d, want bruteforce over the tail", last.Pattern, last.I, last.J)
	}
	if est.Score != 4 {
		t.Errorf("score %d for a password with 11 characters beyond the cut, want 4", est.Score)
	}
	for _, m := range est.Sequence {
		if m.Pattern != PatternBruteforce && m.J >= maxAnalyzedRunes {
			t.Errorf("%s match at %d..%d reaches past the analysed prefix", m.Pattern, m.I, m.J)
		}
	}

	// Huge inputs cost time linear in their size, not quadratic.
	huge := strings.Repeat("Zx9!", 1<<18) // 1 MiB
	start := time.Now()
	est = Evaluate(huge)
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Evaluate of 1 MiB took %v", elapsed)
	}
	if math.IsInf(est.Guesses, 0) || est.Score != 4 || est.CrackTimeOffline != "centuries" {
		t.Errorf("1 MiB password: guesses %v, score %d, %s", est.Guesses, est.Score, est.CrackTimeOffline)
	}
	if _, err := json.Marshal(est); err != nil {
		t.Errorf("estimate of a huge password does not encode: %v", err)
	}
	checkCover(t, huge, est)
}

func TestDisplayTime(t *testing.T) {
	tests := []struct {
		seconds float64
		want    string
	}{
		{0, "less than a second"},
		{0.99, "less than a second"},
		{1, "1 second"},
		{1.6, "2 seconds"},
		{59, "59 seconds"},
		{60, "1 minute"},
		{3 * 3600, "3 hours"},
		{86400 * 2, "2 days"},
		{86400 * 31 * 5, "5 months"},
		{86400 * 31 * 12 * 42, "42 years"},
		{86400 * 31 * 12 * 100, "centuries"},
		{math.MaxFloat64, "centuries"},
	}
	for _, tt := range tests {
		if got := displayTime(tt.seconds); got != tt.want {
			t.Errorf("displayTime(%v) = %q, want %q", tt.seconds, got, tt.want)
		}
	}
}

func TestScoreThresholds(t *testing.T) {
	for _, tt := range []struct {
		guesses float64
		score   int
	}{{1, 0}, {999, 0}, {1e3 + 10, 1}, {1e6 - 1, 1}, {1e6 + 10, 2}, {1e8 + 10, 3}, {1e10 - 1, 3}, {1e10 + 10, 4}, {math.MaxFloat64, 4}} {
		if got := guessesToScore(tt.guesses); got != tt.score {
			t.Errorf("guessesToScore(%v) = %d, want %d", tt.guesses, got, tt.score)
		}
	}
}

func TestDictionariesLoaded(t *testing.T) {
	d := loadDictionaries()
	if d.count != d.distinct || d.count != 30000+30000+3712+5000+19160+983 {
		t.Errorf("%d words loaded, %d distinct: want the 88855 distinct words of the lists", d.count, d.distinct)
	}
	for word, want := range map[string]struct {
		list string
		rank int
	}{
		"123456":   {DictionaryPasswords, 1},
		"password": {DictionaryPasswords, 2},
		"the":      {DictionaryEnglish, 1},
		"mary":     {DictionaryFemaleNames, 1},
		"smith":    {DictionarySurnames, 1},
		"you":      {DictionaryTVAndFilm, 1},
		"james":    {DictionaryMaleNames, 1},
	} {
		e, ok := d.lookup(word)
		if !ok || e.list() != want.list || e.rank() != want.rank {
			t.Errorf("%q: in %q with rank %d, want %q rank %d", word, e.list(), e.rank(), want.list, want.rank)
		}
	}
}

func TestDeterministic(t *testing.T) {
	for _, pw := range []string{"Tr0ub4dor&3-alice-1987-qwerty!", "p@55w0rd|17!p@55w0rd|17!"} {
		a, _ := json.Marshal(Evaluate(pw, "alice"))
		b, _ := json.Marshal(Evaluate(pw, "alice"))
		if string(a) != string(b) {
			t.Errorf("Evaluate(%q) differs between calls:\n%s\n%s", pw, a, b)
		}
	}
}

func FuzzEstimate(f *testing.F) {
	for _, s := range []string{
		"", "password", "P@ssw0rd", "13/05/1987", "abcabcabc", "zyx", "qwerty", "1qaz2wsx",
		"ŁUKASZ-2020", "\xff\xfe", strings.Repeat("9", 120), strings.Repeat("a|7", 40),
		"2015_06_04", "1.1.91", "aabaab" + strings.Repeat("ab", 60),
	} {
		f.Add(s, "alice")
	}
	f.Fuzz(func(t *testing.T, pw, input string) {
		start := time.Now()
		est := Evaluate(pw, input, "communitycube")
		if elapsed := time.Since(start); elapsed > 3*time.Second {
			t.Errorf("Evaluate(%q) took %v", pw, elapsed)
		}
		if est.Score < 0 || est.Score > 4 {
			t.Errorf("score %d", est.Score)
		}
		if est.Guesses < 1 || math.IsNaN(est.Guesses) || math.IsInf(est.Guesses, 0) {
			t.Errorf("guesses %v", est.Guesses)
		}
		checkCover(t, pw, est)
		for _, m := range est.Sequence {
			if m.Pattern != PatternBruteforce && m.J >= maxAnalyzedRunes {
				t.Errorf("%s match at %d..%d past the analysed prefix", m.Pattern, m.I, m.J)
			}
		}
		err := Validate(pw, input, "communitycube")
		wantOK := est.Score >= MinScore && len(pw) <= MaxBytes && utf8.ValidString(pw) &&
			utf8.RuneCountInString(pw) >= MinLength && !strings.ContainsFunc(pw, unicode.IsControl)
		if (err == nil) != wantOK {
			t.Errorf("Validate(%q) = %v, inconsistent with score %d", pw, err, est.Score)
		}
	})
}
