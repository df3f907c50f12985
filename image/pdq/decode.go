package pdq

import (
	"fmt"
	"image"
	_ "image/gif"  // register GIF for image.Decode
	_ "image/jpeg" // register JPEG for image.Decode
	_ "image/png"  // register PNG for image.Decode
	"io"

	_ "golang.org/x/image/webp" // register WebP for image.Decode
)

// HashReader decodes a JPEG, PNG, GIF or WebP image from r and hashes it.
// Callers reading untrusted input should bound its size and pixel count
// first (the fetch package does).
func HashReader(r io.Reader) (Result, error) {
	img, _, err := image.Decode(r)
	if err != nil {
		return Result{}, fmt.Errorf("pdq: decode image: %w", err)
	}
	return HashImage(img), nil
}

// HashDihedralReader decodes an image from r and returns its 8 orientation
// hashes.
func HashDihedralReader(r io.Reader) (DihedralResult, error) {
	img, _, err := image.Decode(r)
	if err != nil {
		return DihedralResult{}, fmt.Errorf("pdq: decode image: %w", err)
	}
	return HashDihedral(img), nil
}
