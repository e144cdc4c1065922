package nurl

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

// testCertPEM and testCertHash were produced independently of this package
// with the OpenSSL command line, following RFC 7469 Appendix A:
//
//	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
//	  -keyout k.pem -out c.pem -days 30 -subj /CN=nurl-test-vector
//	openssl x509 -noout -in c.pem -pubkey |
//	  openssl asn1parse -noout -inform pem -out public.key
//	openssl dgst -sha256 -binary public.key | openssl enc -base64
//
// which printed IA/WwJPGij9g5FGdx6BwKUt3W9DfI4JBcJtUDEbakEM= ; the expected
// value below is that with "/"→"_", "+"→"-" and the padding removed, which is
// how Tahoe-LAFS (http_common.get_spki_hash) encodes it.
const testCertPEM = `-----BEGIN CERTIFICATE-----
MIIBizCCATGgAwIBAgIUUjv4qBFCdV84CdhAMJoY6PZUUP0wCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQbnVybC10ZXN0LXZlY3RvcjAeFw0yNjExMjMwNDE2MjFaFw0y
NjEyMjMwNDE2MjFaMBsxGTAXBgNVBAMMEG51cmwtdGVzdC12ZWN0b3IwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAAT3BtnwpocZRReH1sRjdJQU4UGg73ssKD93ktcV
wbhsCSl+unpvG2KHg/6oxeStPHJwOdNmpbUqxlqGY3LI3uz2o1MwUTAdBgNVHQ4E
FgQUQWEsuu7NpYWzVCR18lkg2LxJSu0wHwYDVR0jBBgwFoAUQWEsuu7NpYWzVCR1
8lkg2LxJSu0wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEAg76P
zlo4wpFTTeNQWcA+FbFAfyqpND12J5i8pd1uwzcCICWlup13toZCzw/FVJDMm+am
6cMGs4y0MnsXHRijkUT6
-----END CERTIFICATE-----
`

const testCertHash = "IA_WwJPGij9g5FGdx6BwKUt3W9DfI4JBcJtUDEbakEM"

func testCert(t *testing.T) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode([]byte(testCertPEM))
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSPKIHashMatchesOpenSSL(t *testing.T) {
	c := testCert(t)
	if got := SPKIHash(c); got != testCertHash {
		t.Fatalf("SPKIHash = %s, want %s", got, testCertHash)
	}
	if !MatchesCertificate(c, testCertHash) {
		t.Fatal("MatchesCertificate false for own hash")
	}
	if MatchesCertificate(c, strings.Repeat("A", HashLen)) {
		t.Fatal("MatchesCertificate true for wrong hash")
	}
}

func TestNewAndRoundTrip(t *testing.T) {
	c := testCert(t)
	n, err := New(c, "storage.example.org", 8443, "abcdefghij234567")
	if err != nil {
		t.Fatal(err)
	}
	want := "pb://" + testCertHash + "@storage.example.org:8443/abcdefghij234567#v=1"
	if n.String() != want {
		t.Fatalf("String = %q, want %q", n.String(), want)
	}
	back, err := Parse(want)
	if err != nil {
		t.Fatal(err)
	}
	if back != n {
		t.Fatalf("Parse(String) = %+v, want %+v", back, n)
	}
	if back.Address() != "storage.example.org:8443" {
		t.Fatalf("Address = %q", back.Address())
	}
	if strings.Contains(n.Redacted(), n.Swissnum) {
		t.Fatal("Redacted leaks the swissnum")
	}
}

func TestParseValid(t *testing.T) {
	h := testCertHash
	for _, tc := range []struct {
		in   string
		host string
		port uint16
	}{
		{"pb://" + h + "@127.0.0.1:1/s#v=1", "127.0.0.1", 1},
		{"pb://" + h + "@[::1]:65535/s#v=1", "::1", 65535},
		{"pb://" + h + "@[2001:db8::7]:443/a-b.c_d~e#v=1", "2001:db8::7", 443},
		{"pb+tor://" + h + "@abcdefghijklmnop.onion:80/x#v=1", "abcdefghijklmnop.onion", 80},
		{"pb+i2p://" + h + "@zzzz.b32.i2p:80/x#v=1", "zzzz.b32.i2p", 80},
		{"pb://" + h + "@localhost:47877/64i4aokv4ej#v=1", "localhost", 47877},
	} {
		n, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if n.Host != tc.host || n.Port != tc.port {
			t.Errorf("Parse(%q) = host %q port %d", tc.in, n.Host, n.Port)
		}
		if n.String() != tc.in {
			t.Errorf("round trip %q -> %q", tc.in, n.String())
		}
	}
}

func TestParseInvalid(t *testing.T) {
	h := testCertHash
	for _, in := range []string{
		"",
		"https://" + h + "@example.com:1/s#v=1",
		"pb://" + h + "@example.com:1/s",           // version 0
		"pb://" + h + "@example.com:1/s#v=2",       // unknown version
		"pb://" + h + "@example.com:1/s?x=1#v=1",   // query
		"pb://" + h + "@example.com:1#v=1",         // no swissnum
		"pb://" + h + "@example.com:1/#v=1",        // empty swissnum
		"pb://" + h + "@example.com:1/a/b#v=1",     // two segments
		"pb://" + h + "@example.com:1/a%20b#v=1",   // escapes
		"pb://" + h + "@example.com/s#v=1",         // no port
		"pb://" + h + "@example.com:0/s#v=1",       // port 0
		"pb://" + h + "@example.com:65536/s#v=1",   // port too big
		"pb://" + h + "@example.com:080/s#v=1",     // leading zero
		"pb://" + h + "@example.com:+80/s#v=1",     // sign
		"pb://" + h + "@::1:80/s#v=1",              // unbracketed v6
		"pb://" + h + "@[::1/s#v=1",                // unterminated
		"pb://" + h + "@[1.2.3.4]:1/s#v=1",         // v4 in brackets
		"pb://" + h + "@127.1:1/s#v=1",             // short v4
		"pb://" + h + "@-bad.example:1/s#v=1",      // label
		"pb://" + h + "@bad..example:1/s#v=1",      // empty label
		"pb://" + h + "@tcp:127.1:34399/s#v=1",     // Foolscap hint
		"pb://" + h[:42] + "@example.com:1/s#v=1",  // short hash
		"pb://" + h + "A@example.com:1/s#v=1",      // long hash
		"pb://" + h[:42] + "+@example.com:1/s#v=1", // std alphabet
		"pb://" + h[:42] + "N@example.com:1/s#v=1", // non-canonical bits
		"pb://example.com:1/s#v=1",                 // no hash
		"pb://" + h + "@example.com:1/" + strings.Repeat("a", MaxSwissnumLen+1) + "#v=1",
	} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error", in)
			continue
		}
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) error %v does not wrap ErrSyntax", in, err)
		}
		if strings.Contains(err.Error(), "/s#") {
			t.Errorf("error message repeats the input: %v", err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("pb://" + testCertHash + "@127.0.0.1:1/s#v=1")
	f.Add("pb://" + testCertHash + "@[::1]:65535/abc#v=1")
	f.Add("pb+tor://" + testCertHash + "@x.onion:80/x#v=1")
	f.Add("pb://x@y:1/z")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			return
		}
		// Canonical: the accepted spelling is the only spelling.
		if n.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, n.String())
		}
		n2, err := Parse(n.String())
		if err != nil || n2 != n {
			t.Fatalf("round trip failed: %v %+v %+v", err, n, n2)
		}
		if _, err := DecodeSPKIHash(n.SPKIHash); err != nil {
			t.Fatal(err)
		}
	})
}
