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
	add := codeWord(r, "kba_1", "zorbleflax")
	category := add.Category
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
	if err := r.Apply([]wildwarden.KBAddition{codeWord(r, "kba_1", "zorbleflax")}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

// codeWord returns an addition of a made-up code word in the knowledge
// base's first category.
func codeWord(r *Reloadable, id, text string) wildwarden.KBAddition {
	var category string
	for c := range r.Base().Categories {
		if category == "" || c < category {
			category = c
		}
	}
	return wildwarden.KBAddition{ID: id, Kind: wildwarden.KBAddTerm, Text: text, Lang: "en", Category: category, Note: "test"}
}

// TestReloadableApplyKeepsSameAdditions: additions with the IDs the engine
// was built with keep the engine (a replica learning of its own addition
// builds nothing); one more addition builds a new engine.
func TestReloadableApplyKeepsSameAdditions(t *testing.T) {
	r, err := NewReloadable(Options{})
	if err != nil {
		t.Fatal(err)
	}
	base := r.Current()
	if err := r.Apply(nil); err != nil || r.Current() != base {
		t.Fatalf("Apply(none) on the base engine: %v, engine replaced: %v", err, r.Current() != base)
	}
	first := []wildwarden.KBAddition{codeWord(r, "kba_1", "zorbleflax")}
	if err := r.Apply(first); err != nil || r.Current() == base {
		t.Fatalf("Apply(one addition): %v, engine replaced: %v; want a new engine", err, r.Current() != base)
	}
	built := r.Current()
	if err := r.Apply(first); err != nil || r.Current() != built {
		t.Fatalf("Apply(the same addition): %v, engine replaced: %v; want it kept", err, r.Current() != built)
	}
	both := append(first, codeWord(r, "kba_2", "quibbleplunk"))
	if err := r.Apply(both); err != nil || r.Current() == built {
		t.Fatalf("Apply(one more addition): %v, engine replaced: %v; want a new engine", err, r.Current() != built)
	}
	// Additions that were never stored have no ID: always built.
	unstored := []wildwarden.KBAddition{codeWord(r, "", "zorbleflax")}
	if err := r.Apply(unstored); err != nil {
		t.Fatal(err)
	}
	again := r.Current()
	if err := r.Apply(unstored); err != nil || r.Current() == again {
		t.Fatalf("Apply(additions without IDs) twice: %v, engine replaced: %v; want a new engine", err, r.Current() != again)
	}
}
