package password

import (
	"strings"
	"sync"
	"testing"
)

// benchmarkInputs are typical of what a user types, plus the slowest kinds
// of input: long digit runs (dates), ambiguous l33t characters and repeats
// at the 100-character cut.
var benchmarkInputs = []struct{ name, password string }{
	{"common", "password1"},
	{"passphrase30", "correct horse battery staple!!"},
	{"mixed30", "Tr0ub4dor&3-alice-1987-qwerty!"},
	{"random16", "x7#Lq9!vR2@mZp4$"},
	{"digits100", strings.Repeat("1987051320240101", 7)[:100]},
	{"l33t100", strings.Repeat("p@55w0rd|17!", 9)[:100]},
	{"repeat100", strings.Repeat("abcabd", 17)[:100]},
}

func BenchmarkEstimate(b *testing.B) {
	loadDictionaries()
	for _, in := range benchmarkInputs {
		b.Run(in.name, func(b *testing.B) {
			for b.Loop() {
				Evaluate(in.password, "alice", "communitycube")
			}
		})
	}
}

// BenchmarkLoadDictionaries measures the one-off cost of the first Evaluate.
func BenchmarkLoadDictionaries(b *testing.B) {
	for b.Loop() {
		loadOnce = sync.Once{}
		loadDictionaries()
	}
}
