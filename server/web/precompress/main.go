// Command precompress writes the brotli and gzip encodings of a build
// artefact next to a hash file, for the node to embed and serve without
// compressing at run time:
//
//	go run ./server/web/precompress bin/app.wasm server/web/dist
//
// writes dist/app.wasm.br, dist/app.wasm.gz and dist/app.wasm.sha256
// ("HEX-SHA256 SIZE"). If the hash file already matches the input, it does
// nothing: maximum-quality brotli of a large wasm takes a while.
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/andybalholm/brotli"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("precompress: ")
	if len(os.Args) != 3 {
		log.Fatal("usage: precompress FILE OUTDIR")
	}
	in, outDir := os.Args[1], os.Args[2]
	raw, err := os.ReadFile(in)
	if err != nil {
		log.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	meta := fmt.Sprintf("%s %d\n", hex.EncodeToString(sum[:]), len(raw))
	base := filepath.Join(outDir, filepath.Base(in))
	if old, err := os.ReadFile(base + ".sha256"); err == nil && string(old) == meta {
		if _, err := os.Stat(base + ".br"); err == nil {
			if _, err := os.Stat(base + ".gz"); err == nil {
				return
			}
		}
	}
	start := time.Now()
	var br bytes.Buffer
	bw := brotli.NewWriterOptions(&br, brotli.WriterOptions{Quality: brotli.BestCompression, LGWin: 24})
	must(bw.Write(raw))
	must0(bw.Close())
	var gz bytes.Buffer
	gw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	must(gw.Write(raw))
	must0(gw.Close())
	// Hash file last: its presence vouches for the other two.
	must0(writeAtomic(base+".br", br.Bytes()))
	must0(writeAtomic(base+".gz", gz.Bytes()))
	must0(writeAtomic(base+".sha256", []byte(meta)))
	log.Printf("%s: %d bytes, brotli %d, gzip %d (%.1fs)", filepath.Base(in), len(raw), br.Len(), gz.Len(), time.Since(start).Seconds())
}

func writeAtomic(name string, b []byte) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

func must(_ int, err error) { must0(err) }

func must0(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
