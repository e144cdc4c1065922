package vault

import (
	"bytes"
	"errors"
	"testing"
)

func TestMarshalSecret(t *testing.T) {
	lowKDF := cheapKDF(t)
	b, u, _, err := NewAccount("correct horse battery staple", lowKDF)
	if err != nil {
		t.Fatal(err)
	}
	s := u.MarshalSecret()
	if len(s) != SecretSize {
		t.Fatalf("%d bytes", len(s))
	}
	v, err := UnmarshalSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	if v.root != u.root || v.private != u.private || v.Escrow != u.Escrow || v.RootFolder != u.RootFolder || !bytes.Equal(v.public, u.public) {
		t.Fatal("keys differ after a round trip")
	}
	// The restored keys are the account's: they can re-wrap its bundle.
	if _, err := v.ChangePassword(b, "another long password here", lowKDF); err != nil {
		t.Fatalf("restored keys do not own the bundle: %v", err)
	}
	if _, err := UnmarshalSecret(s[:len(s)-1]); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("short: %v", err)
	}
	bad := bytes.Clone(s)
	bad[0] = 2
	if _, err := UnmarshalSecret(bad); !errors.Is(err, ErrVersion) {
		t.Fatalf("version: %v", err)
	}
	if _, err := UnmarshalSecret(nil); !errors.Is(err, ErrVersion) {
		t.Fatalf("empty: %v", err)
	}
}
