// Package pdq computes PDQ perceptual hashes of images.
//
// PDQ is the 256-bit perceptual hash published by Meta's ThreatExchange
// project. Two photos of the same scene, re-encoded, resized or lightly
// edited, have hashes a small Hamming distance apart (the reference
// recommends "match" at distance ≤ 31), while unrelated photos sit near 128.
// Traders re-post the same photos after every takedown, so PDQ is how a
// platform recognises a known picture.
//
// This implementation follows the published algorithm step by step so that
// its hashes agree with the C++ reference:
//
//  1. Luminance Y = 0.299 R + 0.587 G + 0.114 B, as float32, per pixel.
//  2. A Jarosz tent filter: two passes of a box filter along rows and columns,
//     with window sizes ⌈dimension / 128⌉, then decimation to 64×64 by
//     picking the centre sample of each cell.
//  3. A quality score (0–100) from the sum of quantised gradients of the
//     64×64 image: flat or featureless images score low and their hashes
//     should not be trusted (the reference discards quality < 50).
//  4. A 2-D DCT keeping only frequencies 1…16 in each direction, computed as
//     D·A·Dᵀ with a 16×64 DCT matrix D.
//  5. Bit k = 16·i + j is set when DCT cell (i, j) is above the median of the
//     256 cells.
//
// The hashes of the image's 8 rotations and flips (its dihedral group) come
// from the same DCT by transposing and negating cells, without filtering the
// image again; [Dihedral] returns all 8.
//
// The hex form ([Hash.String]) is the reference's: the 256-bit number whose
// bit k is DCT bit k, written most significant digit first, so hashes can be
// exchanged with other PDQ implementations and hash-sharing programmes.
package pdq
