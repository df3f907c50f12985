package pdq

import (
	"image"
	"image/color"
	"math"
	"slices"
	"sync"
)

const (
	// minHashableDim is the smallest width or height hashed; smaller images
	// get the zero hash and quality 0, as in the reference.
	minHashableDim = 5
	// downsampledDim is the side of the blurred, decimated image the DCT reads.
	downsampledDim = 64
	// dctDim is the side of the kept block of DCT frequencies (1…16).
	dctDim = 16
	// jaroszPasses is the number of row+column box-filter pass pairs: two
	// box filters make a tent filter.
	jaroszPasses = 2
	// Luminance weights of the reference (ITU-R BT.601).
	lumaFromRed   float32 = 0.299
	lumaFromGreen float32 = 0.587
	lumaFromBlue  float32 = 0.114
)

// Result is the hash of one image and its quality, 0–100. Hashes of quality
// below 50 describe flat or featureless images and should not be matched.
type Result struct {
	Hash    Hash `json:"hash"`
	Quality int  `json:"quality"`
}

// dctMatrix is the 16×64 DCT-II matrix for frequencies 1…16 (frequency 0,
// the mean brightness, is left out), scaled by √(2/64).
var dctMatrix = func() (d [dctDim][downsampledDim]float32) {
	scale := float32(math.Sqrt(2.0 / downsampledDim))
	for i := range dctDim {
		for j := range downsampledDim {
			angle := math.Pi / 2 / downsampledDim * float64(i+1) * float64(2*j+1)
			d[i][j] = float32(float64(scale) * math.Cos(angle))
		}
	}
	return d
}()

// lumaBuffers recycles the two full-size float buffers the filter needs, so
// hashing a stream of photos does not allocate megabytes per image.
var lumaBuffers sync.Pool

func getBuffer(n int) []float32 {
	if p, ok := lumaBuffers.Get().(*[]float32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float32, n)
}

func putBuffer(b []float32) { lumaBuffers.Put(&b) }

// HashImage computes the PDQ hash and quality of img.
func HashImage(img image.Image) Result {
	dct, quality, ok := dctOfImage(img)
	if !ok {
		return Result{}
	}
	return Result{Hash: bitsAboveMedian(dct), Quality: quality}
}

// HashLuma computes the PDQ hash of a luminance image given row-major as
// rows×cols values in 0…255. It overwrites luma. A 64×64 input is used as
// the downsampled image directly, as the reference does for video frames
// that were downscaled already.
func HashLuma(luma []float32, rows, cols int) Result {
	if rows < minHashableDim || cols < minHashableDim || len(luma) < rows*cols {
		return Result{}
	}
	scratch := getBuffer(rows * cols)
	defer putBuffer(scratch)
	dct, quality := dctOfLuma(luma, scratch, rows, cols)
	return Result{Hash: bitsAboveMedian(dct), Quality: quality}
}

// dctOfImage converts img to luminance and returns its 16×16 DCT block and
// quality; ok is false for images too small to hash.
func dctOfImage(img image.Image) (dct *[dctDim][dctDim]float32, quality int, ok bool) {
	bounds := img.Bounds()
	rows, cols := bounds.Dy(), bounds.Dx()
	if rows < minHashableDim || cols < minHashableDim {
		return nil, 0, false
	}
	luma := getBuffer(rows * cols)
	scratch := getBuffer(rows * cols)
	defer putBuffer(luma)
	defer putBuffer(scratch)
	fillLuma(img, luma)
	dct, quality = dctOfLuma(luma, scratch, rows, cols)
	return dct, quality, true
}

// dctOfLuma blurs and decimates luma to 64×64, scores its quality, and
// returns the 16×16 DCT block. luma and scratch are overwritten.
func dctOfLuma(luma, scratch []float32, rows, cols int) (*[dctDim][dctDim]float32, int) {
	var small [downsampledDim][downsampledDim]float32
	if rows == downsampledDim && cols == downsampledDim {
		for i := range downsampledDim {
			copy(small[i][:], luma[i*cols:(i+1)*cols])
		}
	} else {
		windowAlongRows := jaroszWindowSize(cols)
		windowAlongCols := jaroszWindowSize(rows)
		for range jaroszPasses {
			boxAlongRows(luma, scratch, rows, cols, windowAlongRows)
			boxAlongCols(scratch, luma, rows, cols, windowAlongCols)
		}
		decimate(luma, rows, cols, &small)
	}
	quality := gradientQuality(&small)
	return dct64To16(&small), quality
}

// fillLuma writes the luminance of every pixel of img, row-major, to luma.
// Colour channels are read without alpha premultiplication, as the
// reference reads the decoded file's channels.
func fillLuma(img image.Image, luma []float32) {
	bounds := img.Bounds()
	cols := bounds.Dx()
	switch src := img.(type) {
	case *image.YCbCr:
		for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
			row := luma[(y-bounds.Min.Y)*cols : (y-bounds.Min.Y+1)*cols]
			lumaRow := src.Y[src.YOffset(bounds.Min.X, y):]
			for i := range row {
				ci := src.COffset(bounds.Min.X+i, y)
				r, g, b := color.YCbCrToRGB(lumaRow[i], src.Cb[ci], src.Cr[ci])
				row[i] = weigh(r, g, b)
			}
		}
	case *image.Gray:
		for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
			row := luma[(y-bounds.Min.Y)*cols:]
			pix := src.Pix[src.PixOffset(bounds.Min.X, y):]
			for x := range cols {
				row[x] = float32(pix[x])
			}
		}
	case *image.NRGBA:
		fillLumaFromPix(src.Pix, src.Stride, src.PixOffset(bounds.Min.X, bounds.Min.Y), bounds, luma)
	case *image.RGBA:
		fillLumaFromPix(src.Pix, src.Stride, src.PixOffset(bounds.Min.X, bounds.Min.Y), bounds, luma)
	default:
		for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
			row := luma[(y-bounds.Min.Y)*cols:]
			for x := bounds.Min.X; x < bounds.Max.X; x++ {
				c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				row[x-bounds.Min.X] = weigh(c.R, c.G, c.B)
			}
		}
	}
}

// weightedChannels holds each channel's weighted value for 0…255, so that
// a pixel's luminance is three lookups and two additions; the products are
// the same float32 values the multiplication gives.
var weightedChannels = func() (w [3][256]float32) {
	for v := range 256 {
		w[0][v] = lumaFromRed * float32(v)
		w[1][v] = lumaFromGreen * float32(v)
		w[2][v] = lumaFromBlue * float32(v)
	}
	return w
}()

// weigh is the luminance of one pixel.
func weigh(r, g, b uint8) float32 {
	return weightedChannels[0][r] + weightedChannels[1][g] + weightedChannels[2][b]
}

// fillLumaFromPix reads 4-byte-per-pixel R, G, B, A rows.
func fillLumaFromPix(pix []uint8, stride, start int, bounds image.Rectangle, luma []float32) {
	cols := bounds.Dx()
	for y := range bounds.Dy() {
		row := luma[y*cols : (y+1)*cols]
		p := pix[start+y*stride : start+y*stride+4*cols]
		for x := range row {
			row[x] = weigh(p[4*x], p[4*x+1], p[4*x+2])
		}
	}
}

// jaroszWindowSize is the box-filter window for one pass along a dimension
// of the given length: ⌈length / 128⌉, so that two passes (a tent) span
// about one 64th of the image.
func jaroszWindowSize(length int) int {
	return (length + 2*downsampledDim - 1) / (2 * downsampledDim)
}

// boxAlongRows box-filters each row of in into out.
func boxAlongRows(in, out []float32, rows, cols, window int) {
	for i := range rows {
		boxFilter1D(in[i*cols:(i+1)*cols], out[i*cols:(i+1)*cols], window)
	}
}

// boxFilter1D writes to out the mean of in over a sliding window. The
// window leads the output by half its size (rounded up) and shrinks at both
// ends rather than padding, as the reference does.
func boxFilter1D(in, out []float32, window int) {
	n := len(in)
	half := (window + 2) / 2
	var sum float32
	count := 0
	read, drop, write := 0, 0, 0
	for range half - 1 { // fill the leading part of the window, no output
		sum += in[read]
		count++
		read++
	}
	for range window - half + 1 { // growing window
		sum += in[read]
		count++
		out[write] = sum / float32(count)
		read++
		write++
	}
	for range n - window { // full window
		sum += in[read]
		sum -= in[drop]
		out[write] = sum / float32(count)
		read++
		drop++
		write++
	}
	for range half - 1 { // shrinking window
		sum -= in[drop]
		count--
		out[write] = sum / float32(count)
		drop++
		write++
	}
}

// boxAlongCols box-filters each column of in into out. It runs the same
// arithmetic as boxFilter1D on every column at once, walking rows in order
// so that memory is read sequentially.
func boxAlongCols(in, out []float32, rows, cols, window int) {
	half := (window + 2) / 2
	sums := getBuffer(cols)
	defer putBuffer(sums)
	clear(sums)
	rowOf := func(buf []float32, r int) []float32 { return buf[r*cols : (r+1)*cols] }
	count := 0
	read, drop, write := 0, 0, 0
	emit := func() {
		dst := rowOf(out, write)
		n := float32(count)
		for j, s := range sums {
			dst[j] = s / n
		}
		write++
	}
	for range half - 1 {
		for j, v := range rowOf(in, read) {
			sums[j] += v
		}
		count++
		read++
	}
	for range window - half + 1 {
		for j, v := range rowOf(in, read) {
			sums[j] += v
		}
		count++
		read++
		emit()
	}
	for range rows - window {
		add, sub := rowOf(in, read), rowOf(in, drop)
		for j := range sums {
			sums[j] += add[j]
			sums[j] -= sub[j]
		}
		read++
		drop++
		emit()
	}
	for range half - 1 {
		for j, v := range rowOf(in, drop) {
			sums[j] -= v
		}
		count--
		drop++
		emit()
	}
}

// decimate samples the blurred image at the centre of each of 64×64 cells.
func decimate(in []float32, rows, cols int, out *[downsampledDim][downsampledDim]float32) {
	for i := range downsampledDim {
		srcRow := int((float64(i) + 0.5) * float64(rows) / downsampledDim)
		for j := range downsampledDim {
			srcCol := int((float64(j) + 0.5) * float64(cols) / downsampledDim)
			out[i][j] = in[srcRow*cols+srcCol]
		}
	}
}

// gradientQuality is the reference's heuristic quality: the sum of
// neighbour differences, each quantised to percent of full scale, divided by
// 90 and capped at 100. Quantising counts significant edges rather than
// many small ones.
func gradientQuality(img *[downsampledDim][downsampledDim]float32) int {
	sum := 0
	step := func(u, v float32) {
		d := int((u - v) * 100 / 255)
		if d < 0 {
			d = -d
		}
		sum += d
	}
	for i := range downsampledDim - 1 {
		for j := range downsampledDim {
			step(img[i][j], img[i+1][j])
		}
	}
	for i := range downsampledDim {
		for j := range downsampledDim - 1 {
			step(img[i][j], img[i][j+1])
		}
	}
	return min(sum/90, 100)
}

// dct64To16 returns D·A·Dᵀ: the 16×16 low-frequency block of the 2-D DCT.
func dct64To16(a *[downsampledDim][downsampledDim]float32) *[dctDim][dctDim]float32 {
	var t [dctDim][downsampledDim]float32 // t = D·A
	for i := range dctDim {
		for j := range downsampledDim {
			var sum float32
			for k := range downsampledDim {
				sum += dctMatrix[i][k] * a[k][j]
			}
			t[i][j] = sum
		}
	}
	var b [dctDim][dctDim]float32 // b = t·Dᵀ
	for i := range dctDim {
		for j := range dctDim {
			var sum float32
			for k := range downsampledDim {
				sum += t[i][k] * dctMatrix[j][k]
			}
			b[i][j] = sum
		}
	}
	return &b
}

// bitsAboveMedian sets bit 16·i+j for every DCT cell strictly above the
// median cell (the lower of the two middle values, as the reference's
// Torben median gives), so about half the bits are set.
func bitsAboveMedian(dct *[dctDim][dctDim]float32) Hash {
	cells := make([]float32, 0, dctDim*dctDim)
	for i := range dctDim {
		cells = append(cells, dct[i][:]...)
	}
	sorted := slices.Clone(cells)
	slices.Sort(sorted)
	median := sorted[len(sorted)/2-1]
	var h Hash
	for k, v := range cells {
		if v > median {
			h.setBit(k)
		}
	}
	return h
}
