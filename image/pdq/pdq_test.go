package pdq

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// texturedImage draws a deterministic image with structure at several
// scales (waves plus noise), so its hash has high quality.
func texturedImage(width, height int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	fx, fy := 2+rng.Float64()*6, 2+rng.Float64()*6
	for y := range height {
		for x := range width {
			u, v := float64(x)/float64(width), float64(y)/float64(height)
			wave := math.Sin(2*math.Pi*fx*u) * math.Cos(2*math.Pi*fy*v*u)
			base := 128 + 90*wave + 20*rng.NormFloat64()
			c := uint8(max(0, min(255, base)))
			img.SetRGBA(x, y, color.RGBA{R: c, G: uint8(255 * u), B: uint8(255 * v), A: 255})
		}
	}
	return img
}

func TestHexRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		hash Hash
		hex  string
	}{
		{"zero", Hash{}, strings.Repeat("0", 64)},
		{"bit 0 is the last digit", Hash{1, 0, 0, 0}, strings.Repeat("0", 63) + "1"},
		{"bit 255 is the first digit", Hash{0, 0, 0, 1 << 63}, "8" + strings.Repeat("0", 63)},
		{"words in order", Hash{0x1111, 0x2222, 0x3333, 0x4444},
			"0000000000004444" + "0000000000003333" + "0000000000002222" + "0000000000001111"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.hash.String(); got != tt.hex {
				t.Errorf("String() = %s, want %s", got, tt.hex)
			}
			parsed, err := ParseHex(strings.ToUpper(tt.hex))
			if err != nil {
				t.Fatalf("ParseHex: %v", err)
			}
			if parsed != tt.hash {
				t.Errorf("ParseHex(%s) = %v, want %v", tt.hex, parsed, tt.hash)
			}
		})
	}
}

func TestBitOrderMatchesReferenceWords(t *testing.T) {
	// The reference stores bit k in 16-bit word k/16 at bit k%16, and prints
	// word 15 first. Bit 16 is therefore bit 0 of word 1: the 60th digit.
	var h Hash
	h.setBit(16)
	want := strings.Repeat("0", 59) + "1" + "0000"
	if got := h.String(); got != want {
		t.Errorf("bit 16 prints as %s, want %s", got, want)
	}
	if !h.Bit(16) || h.Bit(15) || h.Bit(17) {
		t.Errorf("Bit does not report exactly bit 16 set")
	}
}

func TestParseHexRejects(t *testing.T) {
	for _, input := range []string{"", "abc", strings.Repeat("0", 63), strings.Repeat("0", 65), strings.Repeat("g", 64)} {
		if _, err := ParseHex(input); err == nil {
			t.Errorf("ParseHex(%q) succeeded, want an error", input)
		}
	}
}

func TestDistance(t *testing.T) {
	all := Hash{math.MaxUint64, math.MaxUint64, math.MaxUint64, math.MaxUint64}
	tests := []struct {
		name string
		a, b Hash
		want int
	}{
		{"same", all, all, 0},
		{"complement", all, Hash{}, 256},
		{"one bit per word", Hash{1, 2, 4, 8}, Hash{}, 4},
		{"symmetric", Hash{}, Hash{0xff}, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Distance(tt.b); got != tt.want {
				t.Errorf("Distance = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestTooSmallOrFlatImages(t *testing.T) {
	tests := []struct {
		name        string
		img         image.Image
		zeroHash    bool
		maxQuality  int
		wantQuality int
	}{
		{"4×100 is below the minimum size", image.NewGray(image.Rect(0, 0, 4, 100)), true, 0, 0},
		{"flat grey has no gradients", image.NewGray(image.Rect(0, 0, 200, 100)), false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := HashImage(tt.img)
			if got.Quality != tt.wantQuality {
				t.Errorf("quality = %d, want %d", got.Quality, tt.wantQuality)
			}
			if tt.zeroHash && !got.Hash.IsZero() {
				t.Errorf("hash = %s, want zero", got.Hash)
			}
		})
	}
}

func TestHashRobustToReencoding(t *testing.T) {
	img := texturedImage(640, 480, 1)
	original := HashImage(img)
	if original.Quality < 50 {
		t.Fatalf("test image quality %d is too low to be meaningful", original.Quality)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 60}); err != nil {
		t.Fatal(err)
	}
	reencoded, err := HashReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if d := original.Hash.Distance(reencoded.Hash); d > 31 {
		t.Errorf("JPEG re-encoding moved the hash %d bits; want ≤ 31 (the match threshold)", d)
	}
	other := HashImage(texturedImage(640, 480, 2))
	if d := original.Hash.Distance(other.Hash); d <= 31 {
		t.Errorf("an unrelated image is only %d bits away", d)
	}
}

// orientPixels returns src (n×n) in orientation o, as documented on the
// Orientation constants.
func orientPixels(src *image.Gray, o Orientation) *image.Gray {
	n := src.Bounds().Dx()
	dst := image.NewGray(src.Bounds())
	for y := range n {
		for x := range n {
			var sy, sx int
			switch o {
			case Original:
				sy, sx = y, x
			case Rotate90:
				sy, sx = x, n-1-y
			case Rotate180:
				sy, sx = n-1-y, n-1-x
			case Rotate270:
				sy, sx = n-1-x, y
			case FlipX:
				sy, sx = n-1-y, x
			case FlipY:
				sy, sx = y, n-1-x
			case FlipPlus1:
				sy, sx = x, y
			case FlipMinus1:
				sy, sx = n-1-x, n-1-y
			}
			dst.SetGray(x, y, src.GrayAt(sx, sy))
		}
	}
	return dst
}

func TestDihedralEqualsHashOfTransformedPixels(t *testing.T) {
	// A 64×64 image skips the blur, so the DCT symmetry is exact and every
	// orientation hash must equal the hash of the transformed pixels.
	colourful := texturedImage(downsampledDim, downsampledDim, 7)
	grey := image.NewGray(colourful.Bounds())
	for y := range downsampledDim {
		for x := range downsampledDim {
			grey.Set(x, y, colourful.At(x, y))
		}
	}
	dihedral := HashDihedral(grey)
	if dihedral.Hashes[Original] != HashImage(grey).Hash {
		t.Fatalf("the original orientation differs from HashImage")
	}
	for _, o := range Orientations {
		t.Run(o.String(), func(t *testing.T) {
			want := HashImage(orientPixels(grey, o)).Hash
			if got := dihedral.Hashes[o]; got != want {
				t.Errorf("dihedral hash %s differs from the hash of the transformed pixels %s by %d bits", got, want, got.Distance(want))
			}
		})
	}
}

func TestHashLumaMatchesHashImage(t *testing.T) {
	img := texturedImage(300, 200, 3)
	luma := make([]float32, 300*200)
	fillLuma(img, luma)
	if got, want := HashLuma(luma, 200, 300), HashImage(img); got != want {
		t.Errorf("HashLuma = %+v, HashImage = %+v", got, want)
	}
}

func TestSubImageUsesItsBounds(t *testing.T) {
	img := texturedImage(400, 300, 4)
	crop := image.Rect(50, 40, 350, 260)
	sub := img.SubImage(crop)
	copied := image.NewRGBA(image.Rect(0, 0, crop.Dx(), crop.Dy()))
	for y := crop.Min.Y; y < crop.Max.Y; y++ {
		for x := crop.Min.X; x < crop.Max.X; x++ {
			copied.Set(x-crop.Min.X, y-crop.Min.Y, img.At(x, y))
		}
	}
	if got, want := HashImage(sub), HashImage(copied); got != want {
		t.Errorf("hash of a sub-image %+v differs from the hash of its copy %+v", got, want)
	}
}

// encodedSamples returns small images in each decodable format, the seed
// corpus for the fuzz test.
func encodedSamples(t testing.TB) [][]byte {
	img := texturedImage(40, 30, 5)
	var samples [][]byte
	for _, encode := range []func(*bytes.Buffer) error{
		func(b *bytes.Buffer) error { return png.Encode(b, img) },
		func(b *bytes.Buffer) error { return jpeg.Encode(b, img, nil) },
		func(b *bytes.Buffer) error { return gif.Encode(b, img, nil) },
	} {
		var buf bytes.Buffer
		if err := encode(&buf); err != nil {
			t.Fatalf("encode sample: %v", err)
		}
		samples = append(samples, buf.Bytes())
	}
	return samples
}

// FuzzHashDecoded hashes whatever the standard decoders accept and checks
// that hashing never panics and keeps its invariants.
func FuzzHashDecoded(f *testing.F) {
	for _, sample := range encodedSamples(f) {
		f.Add(sample)
	}
	f.Add([]byte("not an image"))
	f.Fuzz(func(t *testing.T, data []byte) {
		config, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || config.Width*config.Height > 1<<20 {
			return // undecodable, or too large to decode quickly
		}
		img, _, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		single := HashImage(img)
		dihedral := HashDihedral(img)
		if single.Quality < 0 || single.Quality > 100 {
			t.Errorf("quality %d outside 0…100", single.Quality)
		}
		if dihedral.Hashes[Original] != single.Hash || dihedral.Quality != single.Quality {
			t.Errorf("HashDihedral original %+v differs from HashImage %+v", dihedral, single)
		}
	})
}

// TestBoxAlongColsMatchesOneDimensional checks the row-ordered column pass
// against the one-dimensional filter applied to each column, exactly.
func TestBoxAlongColsMatchesOneDimensional(t *testing.T) {
	tests := []struct{ rows, cols, window int }{
		{5, 3, 1}, {7, 4, 2}, {20, 6, 3}, {130, 5, 8}, {64, 9, 64},
	}
	for _, tt := range tests {
		rng := rand.New(rand.NewPCG(uint64(tt.rows), uint64(tt.window)))
		in := make([]float32, tt.rows*tt.cols)
		for i := range in {
			in[i] = float32(rng.IntN(256))
		}
		got := make([]float32, len(in))
		boxAlongCols(in, got, tt.rows, tt.cols, tt.window)
		for c := range tt.cols {
			column := make([]float32, tt.rows)
			for r := range tt.rows {
				column[r] = in[r*tt.cols+c]
			}
			want := make([]float32, tt.rows)
			boxFilter1D(column, want, tt.window)
			for r := range tt.rows {
				if got[r*tt.cols+c] != want[r] {
					t.Fatalf("%d×%d window %d: cell (%d,%d) = %v, want %v", tt.rows, tt.cols, tt.window, r, c, got[r*tt.cols+c], want[r])
				}
			}
		}
	}
}

func TestBoxFilter1DAveragesItsWindow(t *testing.T) {
	in := []float32{0, 3, 6, 9, 12, 15}
	out := make([]float32, len(in))
	boxFilter1D(in, out, 3) // the window is centred: out[i] = mean(in[i-1..i+1])
	want := []float32{1.5, 3, 6, 9, 12, 13.5}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("out = %v, want %v", out, want)
			break
		}
	}
}
