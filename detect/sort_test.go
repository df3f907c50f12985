package detect

import (
	"math/rand/v2"
	"slices"
	"testing"

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
