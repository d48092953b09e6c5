//go:build ignore

// gen_hero writes assets/static/hero.png: a deterministic 640×240 banner
// (a diagonal gradient with a rising trend line), small and valid.
//
//	go generate ./reference-app/web
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
)

func main() {
	const w, h = 640, 240
	img := image.NewPaletted(image.Rect(0, 0, w, h), palette())
	for y := range h {
		for x := range w {
			// Background: 32 bands of a blue-to-teal gradient.
			band := (x + 2*y) * 32 / (w + 2*h)
			img.SetColorIndex(x, y, uint8(band))
		}
	}
	// A rising "trend" polyline, three pixels thick.
	for x := range w {
		fx := float64(x) / w
		y := int(float64(h) * (0.85 - 0.6*fx - 0.08*math.Sin(fx*18)))
		for dy := -1; dy <= 1; dy++ {
			if yy := y + dy; yy >= 0 && yy < h {
				img.SetColorIndex(x, yy, 32)
			}
		}
	}
	f, err := os.Create("assets/static/hero.png")
	if err != nil {
		log.Fatal(err)
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, img); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

func palette() color.Palette {
	p := make(color.Palette, 0, 33)
	for i := range 32 {
		t := float64(i) / 31
		p = append(p, color.RGBA{R: uint8(20 + 10*t), G: uint8(60 + 120*t), B: uint8(140 + 60*t), A: 255})
	}
	return append(p, color.RGBA{R: 255, G: 196, B: 61, A: 255}) // the trend line
}
