package console

import (
	"math"
	"testing"
	"time"
)

func TestWilson(t *testing.T) {
	tests := []struct {
		k, n      int64
		low, high float64
	}{
		// Reference values: Wilson score interval, z = 1.96 (Newcombe 1998, table I).
		{0, 10, 0, 0.2775},
		{1, 10, 0.0179, 0.4042},
		{5, 10, 0.2366, 0.7634},
		{10, 10, 0.7225, 1},
		{81, 263, 0.2553, 0.3662},
	}
	for _, tt := range tests {
		low, high := wilson(tt.k, tt.n)
		if math.Abs(low-tt.low) > 5e-4 || math.Abs(high-tt.high) > 5e-4 {
			t.Errorf("wilson(%d, %d) = [%.4f, %.4f], want [%.4f, %.4f]", tt.k, tt.n, low, high, tt.low, tt.high)
		}
	}
	if low, high := wilson(0, 0); low != 0 || high != 1 {
		t.Errorf("wilson(0, 0) = [%v, %v], want [0, 1] (nothing known)", low, high)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{3, 1, 2}, 2},
		{[]time.Duration{4, 1, 3, 2}, 2},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestNiceMax(t *testing.T) {
	tests := []struct{ in, want float64 }{{0, 4}, {1, 4}, {4, 4}, {5, 8}, {9, 20}, {20, 20}, {21, 40}, {130, 200}}
	for _, tt := range tests {
		if got := niceMax(tt.in); got != tt.want {
			t.Errorf("niceMax(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
