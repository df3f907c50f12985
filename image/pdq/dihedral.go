package pdq

import "image"

// Orientation names one of the 8 rotations and flips of an image, in the
// reference's order and with its names.
type Orientation int

// The 8 orientations, with the reference's names. For an n×n image with
// pixel (row y, column x), the oriented image's pixel (y, x) is the
// original's pixel given beside each.
const (
	Original   Orientation = iota // (y, x)
	Rotate90                      // (x, n−1−y): a quarter turn counter-clockwise
	Rotate180                     // (n−1−y, n−1−x)
	Rotate270                     // (n−1−x, y): a quarter turn clockwise
	FlipX                         // (n−1−y, x): mirrored top to bottom, across the x axis
	FlipY                         // (y, n−1−x): mirrored left to right, across the y axis
	FlipPlus1                     // (x, y): mirrored across the main diagonal
	FlipMinus1                    // (n−1−x, n−1−y): mirrored across the anti-diagonal
)

// Orientations lists all 8 orientations in order.
var Orientations = [...]Orientation{Original, Rotate90, Rotate180, Rotate270, FlipX, FlipY, FlipPlus1, FlipMinus1}

var orientationNames = [...]string{"original", "rotate90", "rotate180", "rotate270", "flipx", "flipy", "flipplus1", "flipminus1"}

// String returns the orientation's lower-case name, e.g. "rotate90".
func (o Orientation) String() string {
	if o < 0 || int(o) >= len(orientationNames) {
		return "unknown"
	}
	return orientationNames[o]
}

// dctSymmetry says how an orientation acts on the DCT block. Mirroring an
// image along one axis multiplies the coefficient of frequency f along that
// axis by (−1)^f; frequencies start at 1, so cells with an even index are
// negated. A quarter turn or a diagonal flip also transposes the block.
// Negating rows and columns together negates cells with i+j odd.
type dctSymmetry struct {
	transpose     bool
	negateEvenRow bool // negate cells whose output row index is even
	negateEvenCol bool // negate cells whose output column index is even
}

var symmetries = [...]dctSymmetry{
	Original:   {},
	Rotate90:   {transpose: true, negateEvenRow: true},
	Rotate180:  {negateEvenRow: true, negateEvenCol: true},
	Rotate270:  {transpose: true, negateEvenCol: true},
	FlipX:      {negateEvenRow: true},
	FlipY:      {negateEvenCol: true},
	FlipPlus1:  {transpose: true},
	FlipMinus1: {transpose: true, negateEvenRow: true, negateEvenCol: true},
}

// apply returns the DCT block of the image in orientation s, given the
// block of the original.
func (s dctSymmetry) apply(dct *[dctDim][dctDim]float32) *[dctDim][dctDim]float32 {
	var out [dctDim][dctDim]float32
	for i := range dctDim {
		for j := range dctDim {
			v := dct[i][j]
			if s.transpose {
				v = dct[j][i]
			}
			if s.negateEvenRow && i%2 == 0 {
				v = -v
			}
			if s.negateEvenCol && j%2 == 0 {
				v = -v
			}
			out[i][j] = v
		}
	}
	return &out
}

// DihedralResult holds the hashes of an image in all 8 orientations,
// indexed by Orientation, and the image's quality.
type DihedralResult struct {
	Hashes  [8]Hash
	Quality int
}

// HashDihedral computes the PDQ hashes of img in all 8 orientations from one
// filtering and one DCT. A bank that stores one orientation can then match
// a re-posted photo that was rotated or mirrored.
func HashDihedral(img image.Image) DihedralResult {
	dct, quality, ok := dctOfImage(img)
	if !ok {
		return DihedralResult{}
	}
	result := DihedralResult{Quality: quality}
	for _, o := range Orientations {
		result.Hashes[o] = bitsAboveMedian(symmetries[o].apply(dct))
	}
	return result
}
