package pdq

import (
	"encoding/hex"
	"fmt"
	"math/bits"
)

// Bits is the length of a PDQ hash in bits.
const Bits = 256

// Hash is a 256-bit PDQ hash. Word q holds bits 64·q … 64·q+63; bit k is the
// DCT cell (k/16, k%16).
type Hash [4]uint64

// Bit reports whether bit k (0 ≤ k < 256) is set.
func (h Hash) Bit(k int) bool { return h[k/64]>>(k%64)&1 == 1 }

// setBit sets bit k.
func (h *Hash) setBit(k int) { h[k/64] |= 1 << (k % 64) }

// Distance is the Hamming distance between two hashes: the number of bits
// that differ, from 0 (same) to 256.
func (h Hash) Distance(other Hash) int {
	return bits.OnesCount64(h[0]^other[0]) + bits.OnesCount64(h[1]^other[1]) +
		bits.OnesCount64(h[2]^other[2]) + bits.OnesCount64(h[3]^other[3])
}

// IsZero reports whether no bit is set, which is what hashing an image too
// small to hash yields.
func (h Hash) IsZero() bool { return h == Hash{} }

// String returns the reference's 64-digit hex form: the hash as a 256-bit
// number, most significant digit first (bit 255 is the top bit of the first
// digit, bit 0 the low bit of the last).
func (h Hash) String() string {
	return fmt.Sprintf("%016x%016x%016x%016x", h[3], h[2], h[1], h[0])
}

// MarshalText implements encoding.TextMarshaler with the hex form, so hashes
// appear as strings in JSON.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler for the hex form.
func (h *Hash) UnmarshalText(text []byte) error {
	parsed, err := ParseHex(string(text))
	if err != nil {
		return err
	}
	*h = parsed
	return nil
}

// ParseHex parses the 64-digit hex form written by [Hash.String] (either
// letter case).
func ParseHex(s string) (Hash, error) {
	if len(s) != Bits/4 {
		return Hash{}, fmt.Errorf("pdq: parse hash %q: want %d hex digits, got %d", s, Bits/4, len(s))
	}
	raw, err := hex.DecodeString(s)
	if err != nil {
		return Hash{}, fmt.Errorf("pdq: parse hash %q: %w", s, err)
	}
	var h Hash
	for q := 0; q < 4; q++ {
		// raw[0:8] is the most significant word, h[3].
		var word uint64
		for _, b := range raw[(3-q)*8 : (4-q)*8] {
			word = word<<8 | uint64(b)
		}
		h[q] = word
	}
	return h, nil
}
