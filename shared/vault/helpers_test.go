package vault

import (
	"bytes"
	"io"
	"testing"
)

// cheapKDF lowers the KDF floor for the duration of the test and returns
// parameters that cost almost nothing: for tests that are not about the cost.
func cheapKDF(t testing.TB) KDFParams {
	t.Helper()
	old := kdfLimits
	kdfLimits.minMemKiB, kdfLimits.minCostKiB = 8, 8
	t.Cleanup(func() { kdfLimits = old })
	return KDFParams{MemoryKiB: 8, Time: 1, Lanes: 1}
}

// fixedRandom makes the package draw exactly the given bytes, in order,
// for the duration of f; it fails the test if f draws more or fewer.
func fixedRandom(t testing.TB, f func(), parts ...[]byte) {
	t.Helper()
	r := bytes.NewReader(bytes.Join(parts, nil))
	old := randReader
	randReader = r
	defer func() { randReader = old }()
	f()
	if r.Len() != 0 {
		t.Fatalf("%d random bytes left unused", r.Len())
	}
}

// seq returns n bytes start, start+1, … (mod 256).
func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func key(start byte) Key { return Key(seq(start, KeySize)) }

// failingReader fails every read.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }
