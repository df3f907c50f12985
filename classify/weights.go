package classify

import (
	"math"
	"math/bits"
)

// sparseWeights holds a model's non-zero weights compactly, for scoring:
// one bit per bucket says whether its weight is non-zero, and a count of
// the non-zero weights before each block of 64 buckets finds it among
// them. A model has a few tens of thousands of non-zero weights among
// 2^18 buckets, and scoring reads a few hundred buckets per listing at
// random: the compact form (about 150 KB instead of 1 MB) stays in the
// cache that the detector's tables compete for.
type sparseWeights struct {
	blocks []weightBlock
	// values are the non-zero weights by bucket, then a zero, so that
	// the position computed for a bucket without a weight is in range.
	values []float32
}

// weightBlock describes 64 buckets.
type weightBlock struct {
	present uint64 // bit b: bucket 64·i+b has a non-zero weight
	before  uint32 // non-zero weights in the buckets before the block
}

// newSparseWeights compacts dense weights.
func newSparseWeights(dense []float32) sparseWeights {
	s := sparseWeights{blocks: make([]weightBlock, (len(dense)+63)/64)}
	for i, w := range dense {
		if w != 0 {
			s.blocks[i/64].present |= 1 << (i % 64)
			s.values = append(s.values, w)
		}
	}
	n := uint32(0)
	for i := range s.blocks {
		s.blocks[i].before = n
		n += uint32(bits.OnesCount64(s.blocks[i].present))
	}
	s.values = append(s.values, 0)
	return s
}

// at returns the weight of a bucket. It does not branch on whether the
// weight is zero: whether a listing's word was seen in training is not
// predictable.
func (s *sparseWeights) at(index uint32) float32 {
	b := s.blocks[index/64]
	shift := index % 64
	w := s.values[b.before+uint32(bits.OnesCount64(b.present&(1<<shift-1)))]
	mask := -uint32(b.present >> shift & 1) // all ones when the bucket has a weight
	return math.Float32frombits(math.Float32bits(w) & mask)
}
