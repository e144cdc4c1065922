// Command gen converts zxcvbn's frequency lists into the compressed word
// lists embedded by package password.
//
// It is run by hand through `go generate ./shared/password/` and needs npm:
// without -tarball it runs `npm pack zxcvbn@4.4.2` in a temporary directory,
// so the data always comes from the published, integrity-checked package
// rather than from a copy of unknown origin.
//
// Each output file holds one lowercase word per line in rank order (most
// common first), gzip-compressed with a zeroed header so that regenerating
// gives byte-identical files.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

const zxcvbnPackage = "zxcvbn@4.4.2"

// lists says which zxcvbn lists are kept and how many of their top entries.
// The limits keep the wasm bundle small; the words cut off are rare enough
// that they mostly score as (strong) bruteforce anyway.
var lists = []struct {
	name  string
	limit int
}{
	{"passwords", 30000},
	{"english_wikipedia", 30000},
	{"female_names", 5000},
	{"surnames", 5000},
	// zxcvbn keeps each word only in the list where it ranks best, so
	// everyday words such as "you", "know" and "correct" are found only in
	// this list of words from film and TV subtitles.
	{"us_tv_and_film", 30000},
	{"male_names", 5000},
}

func main() {
	tarball := flag.String("tarball", "", "path to zxcvbn-4.4.2.tgz from `npm pack "+zxcvbnPackage+"` (default: run npm pack)")
	out := flag.String("out", "data", "directory to write the word lists into")
	flag.Parse()
	log.SetFlags(0)

	if *tarball == "" {
		path, cleanup, err := npmPack()
		if err != nil {
			log.Fatal(err)
		}
		defer cleanup()
		*tarball = path
	}
	raw, err := os.ReadFile(*tarball)
	if err != nil {
		log.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	files, err := readTarball(raw, "package/lib/frequency_lists.js", "package/LICENSE.txt")
	if err != nil {
		log.Fatal(err)
	}
	parsed, err := parseFrequencyLists(files["package/lib/frequency_lists.js"])
	if err != nil {
		log.Fatal(err)
	}

	total := 0
	for _, l := range lists {
		words, ok := parsed[l.name]
		if !ok {
			log.Fatalf("list %q not found in frequency_lists.js", l.name)
		}
		if len(words) > l.limit {
			words = words[:l.limit]
		}
		if err := checkWords(l.name, words); err != nil {
			log.Fatal(err)
		}
		data, err := compress([]byte(strings.Join(words, "\n") + "\n"))
		if err != nil {
			log.Fatal(err)
		}
		name := filepath.Join(*out, l.name+".txt.gz")
		if err := os.WriteFile(name, data, 0o644); err != nil {
			log.Fatal(err)
		}
		total += len(data)
		log.Printf("%s: %d words, %d bytes", name, len(words), len(data))
	}

	license := "The word lists in this directory (*.txt.gz) are truncated copies of the\n" +
		"frequency lists of zxcvbn 4.4.2 (https://github.com/dropbox/zxcvbn),\n" +
		"file lib/frequency_lists.js of the npm package " + zxcvbnPackage + "\n" +
		"(tarball sha256 " + hex.EncodeToString(sum[:]) + "),\n" +
		"converted by shared/password/internal/gen. They are used under the\n" +
		"following license.\n\n" + string(files["package/LICENSE.txt"])
	if err := os.WriteFile(filepath.Join(*out, "LICENSE-zxcvbn"), []byte(license), 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("total %d bytes compressed", total)
}

// npmPack downloads the zxcvbn tarball with npm into a temporary directory.
func npmPack() (path string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "zxcvbn-gen")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	cmd := exec.Command("npm", "pack", "--silent", zxcvbnPackage)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	outp, err := cmd.Output()
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("npm pack %s: %w", zxcvbnPackage, err)
	}
	name := strings.TrimSpace(string(outp))
	if i := strings.LastIndexByte(name, '\n'); i >= 0 {
		name = name[i+1:]
	}
	return filepath.Join(dir, name), cleanup, nil
}

func readTarball(raw []byte, want ...string) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	files := make(map[string][]byte)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		for _, w := range want {
			if hdr.Name == w {
				if files[w], err = io.ReadAll(tr); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, w := range want {
		if _, ok := files[w]; !ok {
			return nil, fmt.Errorf("%s not found in tarball", w)
		}
	}
	return files, nil
}

// listRE matches the compiled CoffeeScript form `name: "w1,w2,...".split(",")`.
var listRE = regexp.MustCompile(`(?m)^\s*([a-z_]+): "([^"]*)"\.split\(","\)`)

func parseFrequencyLists(js []byte) (map[string][]string, error) {
	out := make(map[string][]string)
	for _, m := range listRE.FindAllSubmatch(js, -1) {
		out[string(m[1])] = strings.Split(string(m[2]), ",")
	}
	if len(out) == 0 {
		return nil, errors.New("no lists found in frequency_lists.js")
	}
	return out, nil
}

// checkWords guards the assumptions the matcher makes about the data: words
// are printable lowercase ASCII, non-empty and unique within a list.
func checkWords(name string, words []string) error {
	seen := make(map[string]bool, len(words))
	for i, w := range words {
		if w == "" || seen[w] {
			return fmt.Errorf("%s: empty or duplicate word %q at rank %d", name, w, i+1)
		}
		seen[w] = true
		for j := 0; j < len(w); j++ {
			if c := w[j]; c < 0x21 || c > 0x7e || (c >= 'A' && c <= 'Z') {
				return fmt.Errorf("%s: word %q at rank %d is not printable lowercase ASCII", name, w, i+1)
			}
		}
	}
	return nil
}

func compress(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	// The zero header (no name, no mtime) keeps the output reproducible.
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
