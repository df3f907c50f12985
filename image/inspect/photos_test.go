package inspect

import (
	"bytes"
	"encoding/base64"
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

	"github.com/wildwarden/wildwarden/image/internal/shareddata"
)

// Test photos are drawn in Go, so the tests need no image files.

// scenePhoto draws a deterministic "product photo": coloured blocks on a
// gradient, with enough structure for a PDQ quality near 100. Different
// seeds give unrelated pictures.
func scenePhoto(seed uint64, width, height int) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
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

// resized returns img scaled to width×height with a good filter, as a
// platform's thumbnailer would.
func resized(img image.Image, width, height int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, width, height))
	xdraw.CatmullRom.Scale(out, out.Bounds(), img, img.Bounds(), xdraw.Src, nil)
	return out
}

// rotated90 returns img turned a quarter clockwise.
func rotated90(img image.Image) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dy(), b.Dx()))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			out.Set(b.Max.Y-1-y, x-b.Min.X, img.At(x, y))
		}
	}
	return out
}

func encodeJPEG(t testing.TB, img image.Image, quality int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// dataURI wraps image bytes as a data: URI, as a listing may carry them.
func dataURI(mediaType string, data []byte) string {
	return "data:" + mediaType + ";base64," + base64.StdEncoding.EncodeToString(data)
}

// cjkFontPaths are where Debian's fonts-noto-cjk (and other distributions)
// put a font with Simplified Chinese glyphs.
var cjkFontPaths = []string{
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
}

// cjkFace loads a Simplified Chinese face from the system, or skips (fails
// under WW_REQUIRE_ALL=1).
func cjkFace(t *testing.T, size float64) font.Face {
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
			family, _ := f.Name(nil, 1)
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

// captionPhoto draws lines of text, dark on a light background, like the
// caption a trader puts on a product photo, and returns it as PNG.
func captionPhoto(t *testing.T, lines ...string) []byte {
	t.Helper()
	const size, margin = 48, 40
	face := cjkFace(t, size)
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
	return encodePNG(t, img)
}
