package screen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/detect"
	"github.com/wildwarden/wildwarden/kb"
)

// TestReloadableApply: an added code word changes verdicts without a new
// engine being built by the caller, and an addition the knowledge base
// refuses is skipped with why, leaving the current engine in place.
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
			if err := r.Apply([]wildwarden.KBAddition{add, tt.add}); err != nil {
				t.Fatalf("Apply = %v, want the bad addition skipped", err)
			}
			applied, skipped := r.Additions()
			if !slices.Equal(applied, []string{"kba_1"}) || len(skipped) != 1 || wildwarden.ErrorCode(skipped[0].Err) != wildwarden.EINVALID {
				t.Fatalf("Additions() = %v, %v; want kba_1 applied and the bad one skipped as invalid", applied, skipped)
			}
			if v, _ := r.Versions(); v != v1 {
				t.Fatalf("version after skipping the addition = %s, want %s kept", v, v1)
			}
		})
	}
}

// TestReloadableSkipsRefusedAdditions: of the additions A, B and C, where
// the knowledge base refuses B (a category it lacks, or a cue pattern the
// detector cannot compile although it is a valid regular expression), A
// and C apply and B is reported with why; the refusal holds at the next
// Apply.
func TestReloadableSkipsRefusedAdditions(t *testing.T) {
	for _, tt := range []struct {
		name, why string
		b         wildwarden.KBAddition
	}{
		{"unknown category", `category: "unicorn-horn" is not a category`,
			wildwarden.KBAddition{ID: "kba_b", Kind: wildwarden.KBAddTerm, Text: "quibbleplunk", Lang: "en", Category: "unicorn-horn", Note: "n"}},
		// One only the detector refuses (see refuseInDetector).
		{"pattern the detector refuses", "the detector cannot compile it",
			wildwarden.KBAddition{ID: "kba_b", Kind: wildwarden.KBAddCue, Text: refusedPattern, Regex: true, Lang: "en", Cue: "price", Note: "n"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			refuseInDetector(t)
			r, err := NewReloadable(Options{})
			if err != nil {
				t.Fatal(err)
			}
			a, c := codeWord(r, "kba_a", "zorbleflax"), codeWord(r, "kba_c", "snorkelwump")
			if err := r.Apply([]wildwarden.KBAddition{a, tt.b, c}); err != nil {
				t.Fatalf("Apply(A, B, C) = %v, want B skipped", err)
			}
			for _, word := range []string{"zorbleflax", "snorkelwump"} {
				if v := r.ScreenListing(&wildwarden.Listing{ID: "L", Title: word + " bangle for sale"}); !hasTerm(v, word) {
					t.Errorf("the engine does not know %s: %+v", word, v.Signals)
				}
			}
			applied, skipped := r.Additions()
			if !slices.Equal(applied, []string{"kba_a", "kba_c"}) {
				t.Errorf("applied = %v, want [kba_a kba_c]", applied)
			}
			if len(skipped) != 1 || skipped[0].ID != "kba_b" || !strings.Contains(skipped[0].Err.Error(), tt.why) {
				t.Fatalf("skipped = %v, want kba_b: %s", skipped, tt.why)
			}
			d := codeWord(r, "kba_d", "wibblequark")
			if err := r.Apply([]wildwarden.KBAddition{a, tt.b, c, d}); err != nil {
				t.Fatal(err)
			}
			if applied, skipped := r.Additions(); !slices.Equal(applied, []string{"kba_a", "kba_c", "kba_d"}) || len(skipped) != 1 || skipped[0].ID != "kba_b" {
				t.Errorf("after one more addition: applied %v, skipped %v; want B still skipped", applied, skipped)
			}
		})
	}
}

// refusedPattern is a cue expression that CheckAddition takes and that
// the detector installed by refuseInDetector refuses: none is known today
// (CheckAddition judges all detect.New refuses), so the test stands one in
// to reach the safety net.
const refusedPattern = `ivory\d+refused`

// refuseInDetector makes the detector refuse a knowledge base that holds
// refusedPattern, for the test's duration.
func refuseInDetector(t *testing.T) {
	t.Helper()
	orig := newDetector
	newDetector = func(k *kb.KB) (*detect.Detector, error) {
		for _, c := range k.Cues {
			if c.Pattern == refusedPattern {
				return nil, fmt.Errorf("cue %q: refused by the test's detector", c.Pattern)
			}
		}
		return orig(k)
	}
	t.Cleanup(func() { newDetector = orig })
}

// TestReloadableFindsEachPatternTheDetectorRefuses// TestReloadableFindsEachPatternTheDetectorRefuses: of several additions
// the detector refuses among good ones, each is found and skipped, and
// the rest apply in order.
func TestReloadableFindsEachPatternTheDetectorRefuses(t *testing.T) {
	refuseInDetector(t)
	r, err := NewReloadable(Options{})
	if err != nil {
		t.Fatal(err)
	}
	quoted := func(id string) wildwarden.KBAddition {
		return wildwarden.KBAddition{ID: id, Kind: wildwarden.KBAddCue, Text: refusedPattern, Regex: true, Lang: "en", Cue: "price", Note: "n"}
	}
	adds := []wildwarden.KBAddition{quoted("kba_q1"), codeWord(r, "kba_a", "zorbleflax"), codeWord(r, "kba_b", "snorkelwump"),
		quoted("kba_q2"), codeWord(r, "kba_c", "wibblequark"), quoted("kba_q3")}
	if err := r.Apply(adds); err != nil {
		t.Fatal(err)
	}
	applied, skipped := r.Additions()
	var ids []string
	for _, s := range skipped {
		ids = append(ids, s.ID)
	}
	if !slices.Equal(applied, []string{"kba_a", "kba_b", "kba_c"}) || !slices.Equal(ids, []string{"kba_q1", "kba_q2", "kba_q3"}) {
		t.Errorf("applied %v, skipped %v; want the code words applied and the three patterns skipped", applied, ids)
	}
}

// TestReloadableCheck: Check refuses what Apply would skip, the pattern
// only the detector refuses included, and takes a good addition.
func TestReloadableCheck(t *testing.T) {
	refuseInDetector(t)
	r, err := NewReloadable(Options{})
	if err != nil {
		t.Fatal(err)
	}
	good := codeWord(r, "", "zorbleflax")
	if err := r.Check(&good); err != nil {
		t.Errorf("Check(a good code word) = %v", err)
	}
	for _, tt := range []struct {
		add   wildwarden.KBAddition
		field string
	}{
		{wildwarden.KBAddition{Kind: wildwarden.KBAddTerm, Text: "x", Lang: "en", Category: "unicorn-horn", Note: "n"}, "category"},
		{wildwarden.KBAddition{Kind: wildwarden.KBAddCue, Text: refusedPattern, Regex: true, Lang: "en", Cue: "price", Note: "n"}, "text"},
	} {
		if err := r.Check(&tt.add); wildwarden.ErrorCode(err) != wildwarden.EINVALID || wildwarden.ErrorField(err) != tt.field {
			t.Errorf("Check(%q) = %v, want invalid %s", tt.add.Text, err, tt.field)
		}
	}
}

// TestReloadableApplyFailsWithoutAdditionsToBlame: a build that fails for
// a reason of its own (the policy file broke since the start) is an error
// and keeps the engine, and no addition is reported skipped for it.
func TestReloadableApplyFailsWithoutAdditionsToBlame(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, policyYAML(t), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := NewReloadable(Options{PolicyPath: path})
	if err != nil {
		t.Fatal(err)
	}
	before := r.Current()
	if err := os.WriteFile(path, []byte("thresholds: [not, a, map]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Apply([]wildwarden.KBAddition{codeWord(r, "kba_1", "zorbleflax")}); err == nil || !strings.Contains(err.Error(), "policy") {
		t.Fatalf("Apply with a broken policy file = %v, want the policy's error", err)
	}
	if applied, skipped := r.Additions(); r.Current() != before || len(applied) != 0 || len(skipped) != 0 {
		t.Errorf("after the failed Apply: engine replaced %v, applied %v, skipped %v; want all kept", r.Current() != before, applied, skipped)
	}
}

// policyYAML returns the embedded policy configuration.
func policyYAML(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "policy", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func hasTerm(v *wildwarden.Verdict, term string) bool {
	for _, s := range v.Signals {
		if s.Term == term {
			return true
		}
	}
	return false
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
