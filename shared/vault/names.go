package vault

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// MaxNameSize is the longest name, in bytes of UTF-8 (what common file
// systems allow; 255 bytes of UTF-8 are at most 255 UTF-16 units, Windows'
// limit).
const MaxNameSize = 255

// ValidateName reports (ErrInvalidName, with the reason) whether name can be
// the name of a file or folder. Refused:
//
//   - the empty name, "." and "..";
//   - more than MaxNameSize bytes, or invalid UTF-8;
//   - "/" (the path separator), NUL and every other control character
//     (U+0000–U+001F, U+007F–U+009F);
//   - the bidirectional embedding, override and isolate controls
//     (U+202A–U+202E, U+2066–U+2069), which make "photo‮gpj.exe" look like
//     a picture;
//   - a trailing space or dot: Windows drops them, so such a name could not
//     be downloaded or synced there under its own name, and "a.txt " would
//     look like "a.txt".
//
// Other characters Windows reserves (\ : * ? " < > |) and its reserved
// names (CON, NUL, …) are allowed: they are valid elsewhere, and clients
// that write to such file systems must map them.
func ValidateName(name string) error {
	bad := func(why string) error { return fmt.Errorf("%w: %q %s", ErrInvalidName, name, why) }
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidName)
	case name == "." || name == "..":
		return bad("is reserved")
	case len(name) > MaxNameSize:
		return fmt.Errorf("%w: %d bytes long (at most %d)", ErrInvalidName, len(name), MaxNameSize)
	case !utf8.ValidString(name):
		return bad("is not valid UTF-8")
	case strings.HasSuffix(name, " ") || strings.HasSuffix(name, "."):
		return bad("ends with a space or a dot")
	}
	for _, r := range name {
		switch {
		case r == '/':
			return bad("contains \"/\"")
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return bad("contains a control character")
		case (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
			return bad("contains a bidirectional override")
		}
	}
	return nil
}

// FoldName returns the form of name that NameHMAC hashes: Unicode canonical
// caseless matching (Unicode 15.0, D145: full case folding of the NFD form),
// returned in NFC. Two names collide (cannot both be in one folder) exactly
// when their folded forms are equal: "Report.PDF" and "report.pdf", "é"
// precomposed and "e" + U+0301, "Straße" and "STRASSE". Compatibility
// equivalents stay distinct ("①" and "1", full-width "Ａ" and "A"), as on
// macOS and Dropbox, except where case folding itself maps them (the
// ligature "ﬁ" folds to "fi").
func FoldName(name string) string {
	return norm.NFC.String(cases.Fold().String(norm.NFD.String(name)))
}

// NameHMAC returns the value that stands for name in the node's uniqueness
// check: HMAC-SHA256 under folder's name key (HKDF-SHA256(folder, info
// "communitycube/v1/name")) of FoldName(name) in UTF-8. Validate the name
// first (ValidateName).
func NameHMAC(folder Key, name string) [32]byte {
	nk := folder.sub(labelName)
	defer clear(nk[:])
	m := hmac.New(sha256.New, nk[:])
	m.Write([]byte(FoldName(name)))
	return [32]byte(m.Sum(nil))
}
