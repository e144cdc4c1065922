// Command photos writes N JPEG files that look like photos to a browser
// and weigh what phone photos weigh (a few hundred KB to a few MB), for
// the benchmark of a shared photo folder (e2e/share.bench.ts). Each image
// is a different smooth gradient with fine noise, so JPEG cannot shrink it
// to nothing and every file differs.
//
//	go run ./e2e/tools/photos --dir DIR --count 50 --width 2400 --height 1800
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
)

func main() {
	dir := flag.String("dir", "", "folder to write into (created)")
	count := flag.Int("count", 50, "how many photos")
	w := flag.Int("width", 2400, "width in pixels")
	h := flag.Int("height", 1800, "height in pixels")
	flag.Parse()
	if *dir == "" || *count < 1 || *w < 1 || *h < 1 {
		log.Fatal("usage: photos --dir DIR [--count N] [--width W] [--height H]")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	for i := range *count {
		r := rand.New(rand.NewPCG(uint64(i), 42))
		img := image.NewRGBA(image.Rect(0, 0, *w, *h))
		r0, g0, b0 := r.IntN(200), r.IntN(200), r.IntN(200)
		for y := range *h {
			for x := range *w {
				n := r.IntN(24)
				img.SetRGBA(x, y, color.RGBA{
					R: uint8((r0 + x*55 / *w + n) % 256),
					G: uint8((g0 + y*55 / *h + n) % 256),
					B: uint8((b0 + (x+y)*40/(*w+*h) + n) % 256),
					A: 255,
				})
			}
		}
		name := filepath.Join(*dir, fmt.Sprintf("photo-%03d.jpg", i+1))
		f, err := os.Create(name)
		if err != nil {
			log.Fatal(err)
		}
		if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 85}); err != nil {
			log.Fatal(err)
		}
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
}
