package netstring

import (
	"bytes"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, s := range []string{"", "a", "hello world", string(make([]byte, 1000))} {
		enc := Encode([]byte(s))
		v, rest, err := Parse(append(enc, 'x'))
		if err != nil || !bytes.Equal(v, []byte(s)) || string(rest) != "x" {
			t.Fatalf("%q: got %q %q %v", s, v, rest, err)
		}
	}
	if got := string(Encode([]byte("abc"))); got != "3:abc," {
		t.Fatalf("Encode = %q", got)
	}
}

func TestParseRejects(t *testing.T) {
	for _, s := range []string{"", ":", "3:ab,", "3:abc", "3:abcd", "03:abc,", "-1:,", "a:,", "99999999999999999999999:x,"} {
		if _, _, err := Parse([]byte(s)); err == nil {
			t.Errorf("Parse(%q) succeeded", s)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("3:abc,"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, rest, err := Parse(b)
		if err != nil {
			return
		}
		if !bytes.Equal(append(Encode(v), rest...), b) {
			t.Fatalf("not canonical: %q", b)
		}
	})
}
