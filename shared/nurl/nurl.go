// Package nurl parses and formats version-1 NURLs, the self-authenticating
// URLs that locate Tahoe-LAFS-compatible HTTP storage servers ("Great Black
// Swamp"), and computes the SPKI hashes embedded in them.
//
// A version-1 NURL looks like
//
//	pb://<spki-hash>@<host>:<port>/<swissnum>#v=1
//
// where <spki-hash> is the unpadded base64url encoding of the SHA-256 digest
// of the server certificate's DER-encoded SubjectPublicKeyInfo (RFC 7469
// "pin-sha256", but URL-safe and without padding), and <swissnum> is the
// shared secret that authorizes use of the storage service.
//
// The package is pure Go with no dependencies beyond the standard library so
// that it can be used by every part of CommunityCube, including WebAssembly
// builds.
package nurl

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Schemes accepted by Parse. Only SchemeTCP can be dialled directly; the
// others need an overlay-network dialer supplied by the caller.
const (
	SchemeTCP = "pb"
	SchemeTor = "pb+tor"
	SchemeI2P = "pb+i2p"
)

// Fragment marks a NURL as version 1 (HTTP storage protocol, SPKI pinning).
// Without it a pb:// URL is a Foolscap fURL, which this package refuses.
const Fragment = "v=1"

// HashLen is the length of an encoded SPKI hash: 32 bytes of SHA-256 in
// unpadded base64 is 43 characters.
const HashLen = 43

// MaxSwissnumLen bounds the swissnum so that a hostile NURL cannot make us
// build absurd Authorization headers. Tahoe's swissnums are 32 characters;
// ours are 52.
const MaxSwissnumLen = 256

// ErrSyntax is wrapped by every error Parse returns, so callers can test for
// "this is not a valid NURL" with errors.Is. Error messages never repeat the
// input, because a NURL carries a secret (the swissnum).
var ErrSyntax = errors.New("nurl: invalid NURL")

// hashEncoding is the exact encoding Tahoe-LAFS uses for SPKI hashes
// (urlsafe_b64encode with the "=" padding stripped). Strict mode rejects
// non-canonical encodings whose unused trailing bits are not zero, so that a
// given hash has exactly one textual form.
var hashEncoding = base64.RawURLEncoding.Strict()

// NURL is a parsed version-1 NURL.
type NURL struct {
	// Scheme is one of SchemeTCP, SchemeTor or SchemeI2P.
	Scheme string
	// SPKIHash is the 43-character unpadded base64url SHA-256 digest of the
	// server's SubjectPublicKeyInfo.
	SPKIHash string
	// Host is a DNS name, an IPv4 literal or an IPv6 literal (without
	// brackets).
	Host string
	// Port is the TCP port. Parse requires it to be present and non-zero.
	Port uint16
	// Swissnum is the authorization secret, exactly as it appears in the
	// path. It is sent, base64-encoded, in the Authorization header.
	Swissnum string
}

func syntaxErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSyntax, fmt.Sprintf(format, args...))
}

// Parse parses a version-1 NURL. It is deliberately strict: it accepts only
// what Format produces for some valid NURL value, so that a NURL has one
// canonical spelling (Parse(n.String()) == n and Parse(s).String() == s).
func Parse(s string) (NURL, error) {
	var n NURL
	if len(s) > 2048 {
		return n, syntaxErr("longer than 2048 bytes")
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return n, syntaxErr(`missing "://" after scheme`)
	}
	switch scheme {
	case SchemeTCP, SchemeTor, SchemeI2P:
	default:
		return n, syntaxErr("unsupported scheme (want pb, pb+tor or pb+i2p)")
	}
	n.Scheme = scheme

	body, frag, hasFrag := strings.Cut(rest, "#")
	if !hasFrag {
		return n, syntaxErr("missing #v=1 fragment (version-0 Foolscap fURLs are not supported)")
	}
	if frag != Fragment {
		return n, syntaxErr("unsupported version fragment (want #v=1)")
	}
	if strings.ContainsAny(body, "?#") {
		return n, syntaxErr("query strings are not allowed")
	}

	authority, swiss, ok := strings.Cut(body, "/")
	if !ok {
		return n, syntaxErr("missing /swissnum path")
	}
	if err := checkSwissnum(swiss); err != nil {
		return n, err
	}
	n.Swissnum = swiss

	hash, hostport, ok := strings.Cut(authority, "@")
	if !ok {
		return n, syntaxErr(`missing "@" between SPKI hash and location`)
	}
	if _, err := DecodeSPKIHash(hash); err != nil {
		return n, err
	}
	n.SPKIHash = hash

	host, port, err := splitHostPort(hostport)
	if err != nil {
		return n, err
	}
	n.Host, n.Port = host, port
	return n, nil
}

// MustParse is Parse for constants in tests; it panics on error.
func MustParse(s string) NURL {
	n, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return n
}

// Validate reports whether n would survive a round trip through String and
// Parse.
func (n NURL) Validate() error {
	_, err := Parse(n.String())
	return err
}

// String formats n. The result is only meaningful if n is valid; String does
// not validate.
func (n NURL) String() string {
	var b strings.Builder
	b.WriteString(n.Scheme)
	b.WriteString("://")
	b.WriteString(n.SPKIHash)
	b.WriteByte('@')
	b.WriteString(n.Address())
	b.WriteByte('/')
	b.WriteString(n.Swissnum)
	b.WriteString("#" + Fragment)
	return b.String()
}

// Redacted formats n with the swissnum replaced by "xxxxx", for logs.
func (n NURL) Redacted() string {
	n.Swissnum = "xxxxx"
	return n.String()
}

// Address returns "host:port", with brackets around IPv6 literals, suitable
// for net.Dial.
func (n NURL) Address() string {
	return net.JoinHostPort(n.Host, strconv.Itoa(int(n.Port)))
}

// New builds a NURL for a server presenting cert at host:port.
func New(cert *x509.Certificate, host string, port uint16, swissnum string) (NURL, error) {
	n := NURL{Scheme: SchemeTCP, SPKIHash: SPKIHash(cert), Host: host, Port: port, Swissnum: swissnum}
	if err := n.Validate(); err != nil {
		return NURL{}, err
	}
	return n, nil
}

// SPKIHash returns the SPKI hash of cert as it appears in a NURL: SHA-256 of
// the DER SubjectPublicKeyInfo (x509.Certificate.RawSubjectPublicKeyInfo),
// base64url-encoded without padding. This matches Tahoe-LAFS's
// get_spki_hash and RFC 7469 pin-sha256 modulo the alphabet and padding.
func SPKIHash(cert *x509.Certificate) string {
	return HashSPKI(cert.RawSubjectPublicKeyInfo)
}

// HashSPKI is SPKIHash for a raw DER-encoded SubjectPublicKeyInfo.
func HashSPKI(spkiDER []byte) string {
	sum := sha256.Sum256(spkiDER)
	return hashEncoding.EncodeToString(sum[:])
}

// DecodeSPKIHash decodes an encoded SPKI hash into its 32-byte digest,
// rejecting anything that is not the canonical 43-character form.
func DecodeSPKIHash(s string) ([sha256.Size]byte, error) {
	var out [sha256.Size]byte
	if len(s) != HashLen {
		return out, syntaxErr("SPKI hash must be %d base64url characters, got %d", HashLen, len(s))
	}
	b, err := hashEncoding.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return out, syntaxErr("SPKI hash is not canonical unpadded base64url")
	}
	copy(out[:], b)
	return out, nil
}

// MatchesCertificate reports, in constant time, whether cert's SPKI hash is
// the encoded hash want.
func MatchesCertificate(cert *x509.Certificate, want string) bool {
	got := SPKIHash(cert)
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// checkSwissnum accepts a non-empty run of RFC 3986 "unreserved" characters.
// The grammar allows any path segment, but percent-escapes and sub-delims
// would give one secret several spellings; no implementation we know of
// generates them (Tahoe and CommunityCube both use base32).
func checkSwissnum(s string) error {
	if s == "" {
		return syntaxErr("empty swissnum")
	}
	if len(s) > MaxSwissnumLen {
		return syntaxErr("swissnum longer than %d characters", MaxSwissnumLen)
	}
	for i := 0; i < len(s); i++ {
		if !isUnreserved(s[i]) {
			return syntaxErr("swissnum may only contain letters, digits and -._~")
		}
	}
	return nil
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func splitHostPort(hp string) (string, uint16, error) {
	var host, portStr string
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return "", 0, syntaxErr("unterminated IPv6 literal")
		}
		host = hp[1:end]
		rest := hp[end+1:]
		if !strings.HasPrefix(rest, ":") {
			return "", 0, syntaxErr("missing port")
		}
		portStr = rest[1:]
		ip := net.ParseIP(host)
		if ip == nil || ip.To4() != nil || !strings.Contains(host, ":") {
			return "", 0, syntaxErr("invalid IPv6 literal")
		}
	} else {
		i := strings.LastIndexByte(hp, ':')
		if i < 0 {
			return "", 0, syntaxErr("missing port")
		}
		host, portStr = hp[:i], hp[i+1:]
		if err := checkHost(host); err != nil {
			return "", 0, err
		}
	}
	port, err := parsePort(portStr)
	if err != nil {
		return "", 0, err
	}
	return host, port, nil
}

func parsePort(s string) (uint16, error) {
	if s == "" || len(s) > 5 || (s[0] == '0') {
		return 0, syntaxErr("port must be a decimal number from 1 to 65535 without leading zeros")
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, syntaxErr("port must be a decimal number")
		}
		v = v*10 + int(s[i]-'0')
	}
	if v < 1 || v > 65535 {
		return 0, syntaxErr("port out of range")
	}
	return uint16(v), nil
}

// checkHost accepts a dotted-quad IPv4 literal or a DNS name (RFC 1035
// letters-digits-hyphens labels; .onion and .i2p names qualify).
func checkHost(h string) error {
	if h == "" {
		return syntaxErr("empty host")
	}
	if len(h) > 253 {
		return syntaxErr("host name too long")
	}
	if strings.Contains(h, ":") {
		return syntaxErr("IPv6 literals must be in brackets")
	}
	allNumeric := true
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return syntaxErr("invalid host name label")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return syntaxErr("host name label may not start or end with '-'")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case '0' <= c && c <= '9':
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '-':
				allNumeric = false
			default:
				return syntaxErr("invalid character in host name")
			}
		}
	}
	if allNumeric {
		// Something like 127.1 or 1.2.3.4.5 is neither a name nor a
		// canonical IPv4 literal.
		ip := net.ParseIP(h)
		if ip == nil || ip.To4() == nil || ip.String() != h {
			return syntaxErr("invalid IPv4 literal")
		}
	}
	return nil
}
