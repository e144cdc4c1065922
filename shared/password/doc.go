// Package password estimates how hard a password is to guess and decides
// whether it is strong enough to be accepted.
//
// The estimate follows zxcvbn (Dropbox, 2016): the password is matched
// against patterns that attackers try first (common passwords, words, names,
// the user's own details, keyboard walks, repeats, sequences, dates and
// years), each match gets an estimated number of guesses, and a dynamic
// program picks the decomposition of the whole password that needs the
// fewest guesses. That number, not length or character classes, decides the
// score.
//
// The browser calls Evaluate on every keystroke to draw a strength meter and
// the server calls Validate before storing a password; both run this same
// pure Go code (it also compiles to GOOS=js GOARCH=wasm), so the meter and
// the server can never disagree about what is acceptable. The rule is
// written out in plain words in docs/password-strength.md.
package password
