package detect

import (
	"math/rand/v2"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/wildwarden/wildwarden"
)

// TestSortEvidenceIsStable compares the counting sort with a stable
// comparison sort on random evidence, unknown signal names included.
func TestSortEvidenceIsStable(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	names := append(rankOrder[:], "some.other_signal")
	var f Findings
	for round := 0; round < 500; round++ {
		f.Evidence = f.Evidence[:0]
		for i := rng.IntN(30); i > 0; i-- {
			f.Evidence = append(f.Evidence, Evidence{Signal: wildwarden.Signal{Name: names[rng.IntN(len(names))], Term: string(rune('a' + i))}})
		}
		want := slices.Clone(f.Evidence)
		slices.SortStableFunc(want, func(a, b Evidence) int { return signalRank(a.Name) - signalRank(b.Name) })
		f.sortEvidence()
		if !slices.EqualFunc(f.Evidence, want, func(a, b Evidence) bool { return a.Name == b.Name && a.Term == b.Term }) {
			t.Fatalf("round %d: got %v, want %v", round, f.Evidence, want)
		}
	}
}

// TestRuneCounter checks code-point offsets asked for in any order against
// counting from the start each time.
func TestRuneCounter(t *testing.T) {
	s := "Ivory 象牙 bangle, café \xff ok 老白塑料"
	var bounds []int
	for i := range s {
		bounds = append(bounds, i)
	}
	bounds = append(bounds, len(s))
	rng := rand.New(rand.NewPCG(7, 8))
	c := runeCounter{s: s}
	for range 1000 {
		a, b := bounds[rng.IntN(len(bounds))], bounds[rng.IntN(len(bounds))]
		a, b = min(a, b), max(a, b)
		gs, ge := c.span(a, b)
		ws := utf8.RuneCountInString(s[:a])
		if we := ws + utf8.RuneCountInString(s[a:b]); gs != ws || ge != we {
			t.Fatalf("span(%d, %d) = %d, %d; want %d, %d", a, b, gs, ge, ws, we)
		}
	}
}
