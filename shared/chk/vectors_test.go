package chk

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// vector is one CHK case from Tahoe-LAFS's integration test vectors.
type vector struct {
	convergence []byte
	seed        []byte
	length      int64
	k, n        int
	segSize     int64
	expected    string
}

// findVectors walks up from the package directory looking for the shared
// vectors file, which lives beside the checkout (../shared/tahoe/...).
func findVectors(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "tahoe", "chk_vectors.yaml")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("chk_vectors.yaml not found in any shared/tahoe/ above the package directory; skipping Tahoe-LAFS vector test")
		}
		dir = parent
	}
}

// parseVectors reads the file's small YAML subset: a list of records whose
// fields are "key: value" lines, nested by indentation.
func parseVectors(t testing.TB, path string) []vector {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []map[string]string
	var section string
	sc := bufio.NewScanner(f)
	inList := false
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		if line == "vector:" {
			inList = true
			continue
		}
		if !inList {
			continue // header prose
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		body := strings.TrimSpace(line)
		if strings.HasPrefix(body, "- ") {
			recs = append(recs, map[string]string{})
			body = body[2:]
			indent += 2
		}
		key, val, ok := strings.Cut(body, ":")
		if !ok || len(recs) == 0 {
			t.Fatalf("unparsable line %q", line)
		}
		val = strings.TrimSpace(val)
		if indent <= 2 {
			section = ""
		}
		if val == "" {
			section = key + "."
			continue
		}
		recs[len(recs)-1][section+key] = val
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var out []vector
	for i, r := range recs {
		num := func(k string) int64 {
			v, err := strconv.ParseInt(r[k], 10, 64)
			if err != nil {
				t.Fatalf("record %d: %s: %v", i, k, err)
			}
			return v
		}
		b64 := func(k string) []byte {
			v, err := base64.StdEncoding.DecodeString(r[k])
			if err != nil {
				t.Fatalf("record %d: %s: %v", i, k, err)
			}
			return v
		}
		if r["format.kind"] != "chk" {
			continue
		}
		out = append(out, vector{
			convergence: b64("convergence"), seed: b64("sample.seed"), length: num("sample.length"),
			k: int(num("zfec.required")), n: int(num("zfec.total")), segSize: num("zfec.segmentSize"),
			expected: r["expected"],
		})
	}
	return out
}

func stretch(seed []byte, n int64) []byte {
	return bytes.Repeat(seed, int(n)/len(seed)+1)[:n]
}

func TestTahoeVectors(t *testing.T) {
	vs := parseVectors(t, findVectors(t))
	if len(vs) != 120 {
		t.Fatalf("parsed %d CHK vectors, expected 120", len(vs))
	}
	pass := 0
	for i, v := range vs {
		if testing.Short() && v.length > 1<<20 {
			continue
		}
		data := stretch(v.seed, v.length)
		p := Params{K: v.k, N: v.n, MaxSegmentSize: v.segSize}
		c, err := Encode(bytes.NewReader(data), v.length, v.convergence, p, Discard)
		if err != nil {
			t.Errorf("vector %d: %v", i, err)
			continue
		}
		if c.String() != v.expected {
			t.Errorf("vector %d (%d bytes, %d-of-%d): got %s want %s", i, v.length, v.k, v.n, c, v.expected)
			continue
		}
		pass++
	}
	t.Logf("%d of %d Tahoe-LAFS CHK vectors reproduced", pass, len(vs))
}
