package password

import (
	"bytes"
	"compress/gzip"
	"embed"
	"io"
	"strings"
	"sync"
	"unicode"
)

// The word lists are truncated zxcvbn 4.4.2 frequency lists; see
// data/LICENSE-zxcvbn and docs/password-strength.md. To regenerate them
// (needs npm), run `go generate ./shared/password/`.
//
//go:generate go run ./internal/gen -out data

//go:embed data/*.txt.gz
var dataFS embed.FS

// builtinDictionaries is in zxcvbn's order so that, when two lists rank a
// word equally, the same list is reported.
var builtinDictionaries = [...]string{
	DictionaryPasswords,
	DictionaryEnglish,
	DictionaryFemaleNames,
	DictionarySurnames,
	DictionaryTVAndFilm,
	DictionaryMaleNames,
}

// dictEntry packs which built-in list a word is in (low 3 bits) and its
// 1-based rank there. zxcvbn keeps every word in only the list where it
// ranks best, so one entry per word is all there is.
type dictEntry uint32

func (e dictEntry) list() string { return builtinDictionaries[e&7] }
func (e dictEntry) rank() int    { return int(e >> 3) }

// dictionaries holds all built-in lists in one hash table, so that each
// substring of a password costs one lookup.
//
// The table is open addressing over a []uint64 that points into one string
// holding every word, instead of a map[string]: a map would hold ~94000
// string pointers that every garbage collection in the browser would have
// to trace for the rest of the session, while this layout has two.
type dictionaries struct {
	blob  string   // all lists, decompressed and concatenated
	slots []uint64 // 0 = empty, else offset<<32 | length<<24 | dictEntry
	count int      // words loaded, to detect a word in two lists
	// distinct is the number of different words in the table.
	distinct int
	maxLen   int // longest word in bytes (all words are ASCII)
	// lengths[a<<7|b] has bit n set when some word of n bytes starts with
	// the bytes a, b. Most substrings of a password are ruled out by this
	// table before they cost a lookup, which is what the scan spends its
	// time on.
	lengths [128 * 128]uint32
}

var (
	loadOnce sync.Once
	loaded   *dictionaries
)

// loadDictionaries decompresses the lists on first use only, so programs
// that link the package but never check a password pay nothing.
func loadDictionaries() *dictionaries {
	loadOnce.Do(func() {
		var blob strings.Builder
		blob.Grow(800 << 10) // the lists' decompressed size, to avoid regrowing
		var starts [len(builtinDictionaries) + 1]int
		for idx, name := range builtinDictionaries {
			starts[idx] = blob.Len()
			readList(&blob, name)
		}
		starts[len(builtinDictionaries)] = blob.Len()

		d := &dictionaries{blob: blob.String()}
		// At most half full: scanning a password mostly looks up strings
		// that are absent, and a miss must probe until an empty slot.
		size := 1
		for size < 2*strings.Count(d.blob, "\n") {
			size *= 2
		}
		d.slots = make([]uint64, size)
		for idx := range builtinDictionaries {
			rank := 0
			for at := starts[idx]; at < starts[idx+1]; {
				end := at + strings.IndexByte(d.blob[at:], '\n')
				if end < at {
					end = starts[idx+1]
				}
				if end > at {
					rank++
					d.insert(at, end-at, dictEntry(rank<<3|idx))
				}
				at = end + 1
			}
		}
		loaded = d
	})
	return loaded
}

// hashWord is FNV-1a; words are short and the table is built at run time,
// so nothing stronger is needed.
func hashWord(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h ^ h>>29
}

func (d *dictionaries) insert(off, n int, e dictEntry) {
	word := d.blob[off : off+n]
	d.count++
	if n > 255 || e >= 1<<24 || off >= 1<<31 {
		panic("password: embedded word list too large for the table layout")
	}
	mask := uint64(len(d.slots) - 1)
	for i := hashWord(word) & mask; ; i = (i + 1) & mask {
		v := d.slots[i]
		if v == 0 {
			d.slots[i] = uint64(off)<<32 | uint64(n)<<24 | uint64(e)
			d.distinct++
			break
		}
		if d.slotWord(v) == word {
			// In two lists (zxcvbn's data has none): the lower rank is the
			// one an attacker reaches first.
			if old := dictEntry(v & (1<<24 - 1)); e.rank() < old.rank() {
				d.slots[i] = uint64(off)<<32 | uint64(n)<<24 | uint64(e)
			}
			break
		}
	}
	d.maxLen = max(d.maxLen, n)
	if n >= 2 {
		d.lengths[int(word[0])<<7|int(word[1])] |= 1 << min(n, 31)
	}
}

func (d *dictionaries) slotWord(v uint64) string {
	off, n := v>>32, v>>24&0xff
	return d.blob[off : off+n]
}

// lookup returns the list and rank of word.
func (d *dictionaries) lookup(word string) (dictEntry, bool) {
	mask := uint64(len(d.slots) - 1)
	for i := hashWord(word) & mask; ; i = (i + 1) & mask {
		v := d.slots[i]
		if v == 0 {
			return 0, false
		}
		if int(v>>24&0xff) == len(word) && d.slotWord(v) == word {
			return dictEntry(v & (1<<24 - 1)), true
		}
	}
}

// mayContain reports whether a word of n bytes may start with runes a, b;
// false means it certainly does not.
func (d *dictionaries) mayContain(a, b rune, n int) bool {
	if n > d.maxLen || a >= 128 || b >= 128 {
		return false
	}
	return d.lengths[a<<7|b]&(1<<min(n, 31)) != 0
}

func readList(dst *strings.Builder, name string) {
	compressed, err := dataFS.ReadFile("data/" + name + ".txt.gz")
	if err != nil {
		panic("password: embedded list missing: " + err.Error())
	}
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		panic("password: embedded list corrupt: " + err.Error())
	}
	if _, err := io.Copy(dst, zr); err != nil {
		panic("password: embedded list corrupt: " + err.Error())
	}
}

// userDictionary ranks the caller's inputs (user name, e-mail, product
// name...) by their order, as zxcvbn does.
type userDictionary struct {
	ranks  map[string]int
	maxLen int // in runes
}

// minUserInputPart is the shortest piece of a user input that is also
// matched on its own; shorter pieces ("jo", "de") would match by chance.
const minUserInputPart = 3

// newUserDictionary lowercases every input and then, beyond zxcvbn, also
// adds the parts of each input: the local part of an e-mail address
// ("alice.smith") and every letter/digit run ("alice", "smith", "example",
// "org"), so that a password built from part of an e-mail address is caught
// too. Parts rank after all whole inputs.
//
// Parts matter because the search charges a large penalty per extra match:
// "Alice.Smith1987" as "alice" + "." + "smith" + 1987 costs more than
// bruteforcing "Alice." and is not recognised, while "alice.smith" + 1987
// is.
func newUserDictionary(inputs []string) userDictionary {
	u := userDictionary{}
	if len(inputs) == 0 {
		return u
	}
	u.ranks = make(map[string]int, 2*len(inputs))
	add := func(w string) {
		if w == "" {
			return
		}
		if _, dup := u.ranks[w]; dup {
			return
		}
		u.ranks[w] = len(u.ranks) + 1
		u.maxLen = max(u.maxLen, len([]rune(w)))
	}
	lowered := make([]string, len(inputs))
	for i, in := range inputs {
		// Per-rune lowering keeps one rune per rune, like the password side.
		lowered[i] = strings.Map(unicode.ToLower, in)
		add(lowered[i])
	}
	for _, in := range lowered {
		if local, _, ok := strings.Cut(in, "@"); ok && len([]rune(local)) >= minUserInputPart {
			add(local)
		}
		for _, part := range strings.FieldsFunc(in, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		}) {
			if len([]rune(part)) >= minUserInputPart {
				add(part)
			}
		}
	}
	return u
}

// runeText is a rune slice together with its UTF-8 form, so that any
// substring can be used as a lookup key without allocating.
type runeText struct {
	str string
	off []int // off[k] is the byte offset of rune k; off[len] == len(str)
}

func newRuneText(rs []rune) runeText {
	var b strings.Builder
	off := make([]int, len(rs)+1)
	for k, r := range rs {
		off[k] = b.Len()
		b.WriteRune(r)
	}
	off[len(rs)] = b.Len()
	return runeText{str: b.String(), off: off}
}

func (t runeText) sub(i, j int) string { return t.str[t.off[i]:t.off[j+1]] }

// dictHit is a dictionary entry found at runes i..j of the scanned text.
type dictHit struct {
	i, j       int
	word       string
	dictionary string
	rank       int
}

// findWords appends every dictionary word that equals a substring of the
// lowercased runes s.
func (m *matcher) findWords(s []rune, hits []dictHit) []dictHit {
	t := newRuneText(s)
	limit := max(m.dicts.maxLen, m.user.maxLen)
	for i := range s {
		for j := i; j < len(s) && j-i < limit; j++ {
			w := t.sub(i, j)
			if j == i || m.dicts.mayContain(s[i], s[i+1], len(w)) {
				if e, ok := m.dicts.lookup(w); ok {
					hits = append(hits, dictHit{i, j, w, e.list(), e.rank()})
				}
			}
			if j-i < m.user.maxLen {
				if rank, ok := m.user.ranks[w]; ok {
					hits = append(hits, dictHit{i, j, w, DictionaryUserInputs, rank})
				}
			}
		}
	}
	return hits
}

func (m *matcher) dictionaryMatches(matches []Match) []Match {
	for _, h := range m.findWords(m.lower, nil) {
		matches = append(matches, Match{
			Pattern: PatternDictionary, I: h.i, J: h.j, Token: m.token(h.i, h.j),
			Dictionary: h.dictionary, MatchedWord: h.word, Rank: h.rank,
		})
	}
	return matches
}

// reversedDictionaryMatches finds words typed backwards ("drowssap").
func (m *matcher) reversedDictionaryMatches(matches []Match) []Match {
	n := len(m.lower)
	rev := make([]rune, n)
	for k, r := range m.lower {
		rev[n-1-k] = r
	}
	for _, h := range m.findWords(rev, nil) {
		i, j := n-1-h.j, n-1-h.i
		if isPalindrome(rev[h.i : h.j+1]) {
			// The forward match is the same word without the reversal
			// factor, so this one could never be chosen.
			continue
		}
		matches = append(matches, Match{
			Pattern: PatternDictionary, I: i, J: j, Token: m.token(i, j),
			Dictionary: h.dictionary, MatchedWord: h.word, Rank: h.rank, Reversed: true,
		})
	}
	return matches
}

func isPalindrome(rs []rune) bool {
	for a, b := 0, len(rs)-1; a < b; a, b = a+1, b-1 {
		if rs[a] != rs[b] {
			return false
		}
	}
	return true
}

// l33tTable maps each substitution character to the letters it commonly
// stands for (zxcvbn's table, inverted).
var l33tTable = map[rune][]rune{
	'4': {'a'}, '@': {'a'},
	'8': {'b'},
	'(': {'c'}, '{': {'c'}, '[': {'c'}, '<': {'c'},
	'3': {'e'},
	'6': {'g'}, '9': {'g'},
	'1': {'i', 'l'}, '!': {'i'}, '|': {'i', 'l'},
	'7': {'l', 't'},
	'0': {'o'},
	'$': {'s'}, '5': {'s'},
	'+': {'t'},
	'%': {'x'},
	'2': {'z'},
}

// l33tMatches finds words written with substitutions ("p@ssw0rd").
//
// Every substitution character in the password is replaced at once; only
// the ambiguous ones ('1', '|', '7') multiply the number of translated
// strings to scan, so there are at most 8 of them whatever the password.
// zxcvbn instead enumerates partial tables, which misses words that use two
// substitutes for one letter ("4" and "@" both for "a").
func (m *matcher) l33tMatches(matches []Match) []Match {
	var subs []rune // distinct substitution characters present, in order of appearance
	seen := map[rune]bool{}
	for _, r := range m.lower {
		if _, ok := l33tTable[r]; ok && !seen[r] {
			seen[r] = true
			subs = append(subs, r)
		}
	}
	if len(subs) == 0 {
		return matches
	}
	choice := make([]int, len(subs)) // per subs entry, index into its letters
	translated := make([]rune, len(m.lower))
	type key struct {
		i, j       int
		word, dict string
	}
	found := map[key]bool{}
	for {
		table := make(map[rune]rune, len(subs))
		for k, r := range subs {
			table[r] = l33tTable[r][choice[k]]
		}
		for k, r := range m.lower {
			if letter, ok := table[r]; ok {
				translated[k] = letter
			} else {
				translated[k] = r
			}
		}
		for _, h := range m.findWords(translated, nil) {
			if h.j == h.i {
				// One-character l33t words ("4" as "a") are noise.
				continue
			}
			token := m.lower[h.i : h.j+1]
			if !containsAny(token, table) {
				continue // a plain word, already found by dictionaryMatches
			}
			k := key{h.i, h.j, h.word, h.dictionary}
			if found[k] {
				continue // same word under another choice for a character it lacks
			}
			found[k] = true
			used := map[string]string{}
			for _, r := range token {
				if letter, ok := table[r]; ok {
					used[string(r)] = string(letter)
				}
			}
			matches = append(matches, Match{
				Pattern: PatternDictionary, I: h.i, J: h.j, Token: m.token(h.i, h.j),
				Dictionary: h.dictionary, MatchedWord: h.word, Rank: h.rank,
				L33t: true, L33tSubs: used,
			})
		}
		// Advance to the next combination of choices for ambiguous characters.
		k := 0
		for ; k < len(subs); k++ {
			choice[k]++
			if choice[k] < len(l33tTable[subs[k]]) {
				break
			}
			choice[k] = 0
		}
		if k == len(subs) {
			return matches
		}
	}
}

func containsAny(rs []rune, table map[rune]rune) bool {
	for _, r := range rs {
		if _, ok := table[r]; ok {
			return true
		}
	}
	return false
}
