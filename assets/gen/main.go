//go:build ignore

// Renders the PNG icons from the same geometry as icon.svg, so the project
// needs no SVG rasteriser: go run assets/gen/main.go (from the repository root).
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"os"
)

type pt struct{ x, y float64 }

var faces = []struct {
	poly []pt
	c    color.NRGBA
}{
	{[]pt{{256, 96}, {395, 176}, {256, 256}, {117, 176}}, color.NRGBA{0x7d, 0xd3, 0xfc, 255}},
	{[]pt{{117, 176}, {256, 256}, {256, 416}, {117, 336}}, color.NRGBA{0x38, 0xbd, 0xf8, 255}},
	{[]pt{{256, 256}, {395, 176}, {395, 336}, {256, 416}}, color.NRGBA{0x03, 0x69, 0xa1, 255}},
}

var bg = color.NRGBA{0x17, 0x32, 0x4d, 255}

func inPoly(p pt, poly []pt) bool {
	in := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		a, b := poly[i], poly[j]
		if (a.y > p.y) != (b.y > p.y) && p.x < (b.x-a.x)*(p.y-a.y)/(b.y-a.y)+a.x {
			in = !in
		}
	}
	return in
}

// inRounded reports whether p lies inside the 512-unit square with corner radius r.
func inRounded(p pt, r float64) bool {
	cx, cy := p.x, p.y
	if cx < r {
		cx = r
	} else if cx > 512-r {
		cx = 512 - r
	}
	if cy < r {
		cy = r
	} else if cy > 512-r {
		cy = 512 - r
	}
	dx, dy := p.x-cx, p.y-cy
	return dx*dx+dy*dy <= r*r
}

// render draws the icon at size px; maskable icons fill the square (the
// platform applies its own mask) and shrink the cube into the safe zone.
func render(size int, maskable bool) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const ss = 4 // supersampling per axis
	scale := 512 / float64(size)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			var r, g, b, a float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					p := pt{(float64(x) + (float64(sx)+0.5)/ss) * scale, (float64(y) + (float64(sy)+0.5)/ss) * scale}
					var c color.NRGBA
					inside := maskable || inRounded(p, 96)
					if inside {
						c = bg
					}
					q := p
					if maskable { // cube at 80% around the centre
						q = pt{256 + (p.x-256)/0.8, 256 + (p.y-256)/0.8}
					}
					for _, f := range faces {
						if inside && inPoly(q, f.poly) {
							c = f.c
						}
					}
					r += float64(c.R) * float64(c.A)
					g += float64(c.G) * float64(c.A)
					b += float64(c.B) * float64(c.A)
					a += float64(c.A)
				}
			}
			if a > 0 {
				img.SetNRGBA(x, y, color.NRGBA{uint8(r / a), uint8(g / a), uint8(b / a), uint8(a / (ss * ss))})
			}
		}
	}
	return img
}

func main() {
	for _, o := range []struct {
		name     string
		size     int
		maskable bool
	}{{"assets/icon-192.png", 192, false}, {"assets/icon-512.png", 512, false}, {"assets/icon-maskable-512.png", 512, true}} {
		f, err := os.Create(o.name)
		if err != nil {
			log.Fatal(err)
		}
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		if err := enc.Encode(f, render(o.size, o.maskable)); err != nil {
			log.Fatal(err)
		}
		f.Close()
	}
}
