package pdq

import (
	"bytes"
	"image/jpeg"
	"testing"
)

// BenchmarkHashJPEG1024x768 decodes and hashes a 1024×768 JPEG: the cost of
// hashing one listing photo from its bytes.
func BenchmarkHashJPEG1024x768(b *testing.B) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, texturedImage(1024, 768, 11), &jpeg.Options{Quality: 85}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := HashReader(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
}

// BenchmarkHashImage1024x768 hashes an already decoded 1024×768 JPEG image,
// separating PDQ's own cost from JPEG decoding.
func BenchmarkHashImage1024x768(b *testing.B) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, texturedImage(1024, 768, 11), &jpeg.Options{Quality: 85}); err != nil {
		b.Fatal(err)
	}
	img, err := jpeg.Decode(&buf)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		HashImage(img)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
}

// BenchmarkHashDihedral1024x768 computes all 8 orientation hashes of a
// decoded 1024×768 image.
func BenchmarkHashDihedral1024x768(b *testing.B) {
	img := texturedImage(1024, 768, 11)
	b.ReportAllocs()
	for b.Loop() {
		HashDihedral(img)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
}
