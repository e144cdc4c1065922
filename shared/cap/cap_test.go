package cap

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// A read cap from Tahoe-LAFS's published test vectors.
const vectorCap = "URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56"

func TestBase32(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"", ""}, {"f", "my"}, {"fo", "mzxq"}, {"foo", "mzxw6"}, {"foob", "mzxw6yq"},
		{"fooba", "mzxw6ytb"}, {"foobar", "mzxw6ytboi"},
	} {
		if got := EncodeBase32([]byte(c.in)); got != c.out {
			t.Errorf("Encode(%q) = %q want %q", c.in, got, c.out)
		}
		got, err := DecodeBase32(c.out)
		if err != nil || string(got) != c.in {
			t.Errorf("Decode(%q) = %q, %v", c.out, got, err)
		}
	}
	for _, bad := range []string{"a", "abc", "abcdef", "MY", "m1", "mz", "my=", "m!"} {
		if _, err := DecodeBase32(bad); !errors.Is(err, ErrBase32) {
			t.Errorf("Decode(%q) err=%v", bad, err)
		}
	}
}

func TestStorageIndexKnownAnswers(t *testing.T) {
	// Known answers from Tahoe-LAFS's test suite.
	var key [16]byte
	copy(key[:], strings.Repeat("x", 16))
	if got := EncodeBase32(si(key)); got != "wvggbrnrezdpa5yayrgiw5nzja" {
		t.Errorf("SI(x*16) = %s", got)
	}
	k2, _ := DecodeBase32("2ckv3dfzh6rgjis6ogfqhyxnzy")
	copy(key[:], k2)
	if got := EncodeBase32(si(key)); got != "aarbseqqrpsfowduchcjbonscq" {
		t.Errorf("SI(random key) = %s", got)
	}
}

func si(k [16]byte) []byte { s := StorageIndexFromKey(k); return s[:] }

func TestParseCHK(t *testing.T) {
	c, err := ParseCHK(vectorCap)
	if err != nil {
		t.Fatal(err)
	}
	if c.K != 1 || c.N != 1 || c.Size != 56 || c.String() != vectorCap {
		t.Fatalf("%+v", c)
	}
	v := c.Verifier()
	vs := v.String()
	if !strings.HasPrefix(vs, "URI:CHK-Verifier:") {
		t.Fatal(vs)
	}
	v2, err := ParseVerifier(vs)
	if err != nil || v2 != v || v.StorageIndex != c.StorageIndex() {
		t.Fatalf("%v %v", v2, err)
	}
	any, err := Parse(vs)
	if err != nil || any.(Verifier) != v {
		t.Fatal(err)
	}
}

func TestParseErrors(t *testing.T) {
	key, ueb := "yzxcoagbetwet65ltjpbqyli3m", "6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a"
	mk := func(parts ...string) string { return "URI:CHK:" + strings.Join(parts, ":") }
	bad := map[string]string{
		"wrong prefix":      "URI:SSK:" + key + ":" + ueb,
		"lower prefix":      "uri:chk:" + key + ":" + ueb + ":1:1:56",
		"no prefix":         "",
		"upper base32":      mk(strings.ToUpper(key), ueb, "1", "1", "56"),
		"bad char":          mk(key[:25]+"1", ueb, "1", "1", "56"),
		"short key":         mk(key[:24], ueb, "1", "1", "56"),
		"long key":          mk(key+"aa", ueb, "1", "1", "56"),
		"key trailing bits": mk(key[:25]+"b", ueb, "1", "1", "56"),
		"short hash":        mk(key, ueb[:50], "1", "1", "56"),
		"k>n":               mk(key, ueb, "3", "2", "56"),
		"n>256":             mk(key, ueb, "1", "257", "56"),
		"k=0":               mk(key, ueb, "0", "1", "56"),
		"negative size":     mk(key, ueb, "1", "1", "-5"),
		"plus sign":         mk(key, ueb, "+1", "1", "5"),
		"leading zero":      mk(key, ueb, "01", "1", "5"),
		"size overflow":     mk(key, ueb, "1", "1", "9223372036854775808"),
		"huge k":            mk(key, ueb, "99999999999999999999", "1", "5"),
		"empty number":      mk(key, ueb, "1", "", "5"),
		"trailing junk":     mk(key, ueb, "1", "1", "56") + "x",
		"trailing field":    mk(key, ueb, "1", "1", "56", "7"),
		"trailing colon":    mk(key, ueb, "1", "1", "56") + ":",
		"missing field":     mk(key, ueb, "1", "1"),
		"verifier junk":     "URI:CHK-Verifier:" + key + ":" + ueb + ":1:1:56\n",
		"LIT bad base32":    "URI:LIT:a",
		"LIT bad char":      "URI:LIT:my=",
		"LIT trailing bits": "URI:LIT:mz",
		"space":             " " + mk(key, ueb, "1", "1", "56"),
	}
	for name, s := range bad {
		if _, err := Parse(s); !errors.Is(err, ErrSyntax) {
			t.Errorf("%s: Parse(%q) err=%v", name, s, err)
		}
	}
	if _, err := Parse(mk(key, ueb, "1", "1", "56")); err != nil {
		t.Fatal(err)
	}
	// Secrets must not leak through error text.
	_, err := ParseCHK(mk(key, ueb, "9", "1", "56"))
	if err == nil || strings.Contains(err.Error(), key) {
		t.Fatalf("error leaks key: %v", err)
	}
}

func TestLIT(t *testing.T) {
	for _, d := range [][]byte{{}, []byte("a"), []byte("hello, world"), bytes.Repeat([]byte{0xff}, 55)} {
		s := LIT{Data: d}.String()
		l, err := ParseLIT(s)
		if err != nil || !bytes.Equal(l.Data, d) {
			t.Fatalf("%q: %v", s, err)
		}
	}
	if (LIT{}).String() != "URI:LIT:" {
		t.Fatal("empty LIT")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(vectorCap)
	f.Add("URI:CHK-Verifier:aarbseqqrpsfowduchcjbonscq:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:3:10:1000000")
	f.Add("URI:LIT:mzxw6ytboi")
	f.Add("URI:LIT:")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		out := c.String()
		if out != s {
			t.Fatalf("not canonical: %q formats as %q", s, out)
		}
		c2, err := Parse(out)
		if err != nil {
			t.Fatalf("reparse %q: %v", out, err)
		}
		if c2.String() != out {
			t.Fatalf("round trip changed %q", out)
		}
		switch c := c.(type) {
		case CHK:
			if c2.(CHK) != c {
				t.Fatal("CHK differs")
			}
		case Verifier:
			if c2.(Verifier) != c {
				t.Fatal("Verifier differs")
			}
		case LIT:
			if !bytes.Equal(c2.(LIT).Data, c.Data) {
				t.Fatal("LIT differs")
			}
		}
	})
}
