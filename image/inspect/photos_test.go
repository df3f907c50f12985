package inspect

import (
	"encoding/base64"
	"image"
	"testing"

	"github.com/wildwarden/wildwarden/image/imagetest"
)

// Test photos are drawn in Go, so the tests need no image files.

// scenePhoto draws a deterministic "product photo"; different seeds give
// unrelated pictures.
func scenePhoto(seed uint64, width, height int) *image.RGBA {
	return imagetest.Scene(seed, width, height)
}

// resized returns img scaled as a platform's thumbnailer would.
func resized(img image.Image, width, height int) *image.RGBA {
	return imagetest.Resized(img, width, height)
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
	return imagetest.JPEG(t, img, quality)
}

// dataURI wraps image bytes as a data: URI, as a listing may carry them.
func dataURI(mediaType string, data []byte) string {
	return "data:" + mediaType + ";base64," + base64.StdEncoding.EncodeToString(data)
}

// captionPhoto draws lines of text like the caption a trader puts on a
// product photo, as PNG.
func captionPhoto(t *testing.T, lines ...string) []byte {
	return imagetest.Caption(t, lines...)
}
