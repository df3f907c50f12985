// Package imagetest draws the photos the image tests screen: deterministic
// "product photos" for hashing and bank matching, and captions in Chinese
// for OCR. It is for tests only.
package imagetest

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/wildwarden/wildwarden/internal/shareddata"
)

// Scene draws coloured blocks on a gradient, with enough structure for a
// PDQ quality near 100. Different seeds give unrelated pictures.
func Scene(seed uint64, width, height int) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for y := range height {
		for x := range width {
			img.Set(x, y, color.RGBA{uint8(x * 255 / width), uint8(y * 255 / height), 128, 255})
		}
	}
	for range 24 {
		x0, y0 := rng.IntN(width), rng.IntN(height)
		w, h := width/12+rng.IntN(width/4), height/12+rng.IntN(height/4)
		c := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
		draw.Draw(img, image.Rect(x0, y0, x0+w, y0+h), image.NewUniform(c), image.Point{}, draw.Src)
	}
	return img
}

// Resized returns img scaled to width×height with a good filter, as a
// platform's thumbnailer would.
func Resized(img image.Image, width, height int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, width, height))
	xdraw.CatmullRom.Scale(out, out.Bounds(), img, img.Bounds(), xdraw.Src, nil)
	return out
}

// Photo is the 640×480 Scene of seed, scaled to width×height, as a JPEG of
// the given quality.
func Photo(t testing.TB, seed uint64, width, height, quality int) []byte {
	t.Helper()
	return JPEG(t, Resized(Scene(seed, 640, 480), width, height), quality)
}

// JPEG encodes img.
func JPEG(t testing.TB, img image.Image, quality int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// PNG encodes img.
func PNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// cjkFontPaths are where Debian's fonts-noto-cjk (and other distributions)
// put a font with Simplified Chinese glyphs.
var cjkFontPaths = []string{
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
}

// CJKFace loads a Simplified Chinese face from the system, or skips the
// test (fails it under WW_REQUIRE_ALL=1).
func CJKFace(t *testing.T, size float64) font.Face {
	t.Helper()
	for _, path := range cjkFontPaths {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		collection, err := opentype.ParseCollection(data)
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		var chosen *opentype.Font
		for i := range collection.NumFonts() {
			f, err := collection.Font(i)
			if err != nil {
				t.Fatalf("font %d of %s: %v", i, path, err)
			}
			family, _ := f.Name(nil, 1) // family name, e.g. "Noto Sans CJK SC"
			if chosen == nil || strings.HasSuffix(family, " SC") {
				chosen = f
			}
			if strings.HasSuffix(family, " SC") {
				break
			}
		}
		face, err := opentype.NewFace(chosen, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
		if err != nil {
			t.Fatalf("face: %v", err)
		}
		return face
	}
	shareddata.SkipOrFail(t, "no CJK font found (install fonts-noto-cjk); looked in %v", cjkFontPaths)
	return nil
}

// Caption draws lines of text, dark on a light background, like the
// caption a trader puts on a product photo, and returns it as PNG.
func Caption(t *testing.T, lines ...string) []byte {
	t.Helper()
	const size, margin = 48, 40
	face := CJKFace(t, size)
	width := 0
	for _, line := range lines {
		width = max(width, font.MeasureString(face, line).Ceil())
	}
	img := image.NewRGBA(image.Rect(0, 0, width+2*margin, len(lines)*size*3/2+2*margin))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.RGBA{250, 248, 240, 255}), image.Point{}, draw.Src)
	drawer := &font.Drawer{Dst: img, Src: image.NewUniform(color.RGBA{20, 20, 30, 255}), Face: face}
	for i, line := range lines {
		drawer.Dot = fixed.P(margin, margin+size+i*size*3/2)
		drawer.DrawString(line)
	}
	return PNG(t, img)
}
