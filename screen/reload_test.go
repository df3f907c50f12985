package screen

import (
	"context"
	"sync"
	"testing"

	"github.com/wildwarden/wildwarden"
)

// TestReloadableApply: an added code word changes verdicts without a new
// engine being built by the caller, and a bad addition leaves the current
// engine in place.
func TestReloadableApply(t *testing.T) {
	r, err := NewReloadable(Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A made-up code word that no knowledge base holds.
	listing := &wildwarden.Listing{ID: "L-1", Title: "zorbleflax bangle for sale, DM me"}
	before := r.ScreenListing(listing)
	v0, _ := r.Versions()
	var category string
	for id := range r.Base().Categories {
		if category == "" || id < category {
			category = id
		}
	}
	add := wildwarden.KBAddition{ID: "kba_1", Kind: wildwarden.KBAddTerm, Text: "zorbleflax", Lang: "en", Category: category, Note: "test"}
	if err := r.Apply([]wildwarden.KBAddition{add}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	after := r.ScreenListing(listing)
	if after.Score <= before.Score || len(after.Categories) == 0 || after.Categories[0] != category {
		t.Fatalf("after adding the code word: score %.3f (before %.3f), categories %v; want a higher score in %s", after.Score, before.Score, after.Categories, category)
	}
	v1, _ := r.Versions()
	if v1 == v0 {
		t.Fatalf("kb version unchanged after an addition: %s", v1)
	}

	bad := []struct {
		name string
		add  wildwarden.KBAddition
	}{
		{"unknown category", wildwarden.KBAddition{Kind: wildwarden.KBAddTerm, Text: "x", Lang: "en", Category: "unicorn", Note: "n"}},
		{"unknown cue", wildwarden.KBAddition{Kind: wildwarden.KBAddCue, Text: "x", Lang: "en", Cue: "vibes", Note: "n"}},
		{"bad regex", wildwarden.KBAddition{Kind: wildwarden.KBAddCue, Text: "(", Regex: true, Lang: "en", Cue: "price", Note: "n"}},
		{"no note", wildwarden.KBAddition{Kind: wildwarden.KBAddTerm, Text: "x", Lang: "en", Category: category}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if err := r.Apply([]wildwarden.KBAddition{add, tt.add}); wildwarden.ErrorCode(err) != wildwarden.EINVALID {
				t.Fatalf("Apply = %v, want invalid", err)
			}
			if v, _ := r.Versions(); v != v1 {
				t.Fatalf("version after a failed Apply = %s, want %s kept", v, v1)
			}
		})
	}
}

// TestReloadableConcurrent screens while the engine is swapped (run with
// -race).
func TestReloadableConcurrent(t *testing.T) {
	r, err := NewReloadable(Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if _, err := r.Screen(context.Background(), &wildwarden.Listing{ID: "L", Title: "ivory bangle"}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	if err := r.Apply(nil); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}
