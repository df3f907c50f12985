package classify

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/kb"
)

// plantedSet is a synthetic set of decided listings in which a made-up
// code word (and a made-up Chinese one) appears in a share of the
// violations and almost never in lawful listings, among words common to
// both classes and words of the knowledge base.
func plantedSet(seed uint64, latinCode, hanCode string) []Example {
	rng := rand.New(rand.NewPCG(seed, 11))
	filler := []string{"nice", "item", "good", "condition", "shipping", "fast", "old", "collection", "genuine", "look", "please", "message", "好", "东西", "包邮"}
	var out []Example
	for i := range 600 {
		positive := i%3 == 0
		var words []string
		for range 6 {
			words = append(words, filler[rng.IntN(len(filler))])
		}
		if positive {
			switch rng.IntN(4) {
			case 0:
				words = append(words, latinCode)
			case 1:
				prefix := []string{"老", "新", "一件", "正品", ""}
				suffix := []string{"手镯", "吊坠", "摆件", "珠子", "原料"}
				words = append(words, prefix[rng.IntN(len(prefix))]+hanCode+suffix[rng.IntN(len(suffix))])
			case 2:
				words = append(words, "ivory", "for sale") // known terms, not candidates
			default:
				words = append(words, "whatsapp", "rare")
			}
		} else if rng.IntN(100) == 0 {
			words = append(words, latinCode) // a rare innocent use
		}
		rng.Shuffle(len(words), func(a, b int) { words[a], words[b] = words[b], words[a] })
		label := "negative"
		if positive {
			label = "positive"
		}
		l := &wildwarden.Listing{ID: fmt.Sprintf("d-%d-%s", i, label), Lang: "en", Title: strings.Join(words, " ")}
		out = append(out, Example{Listing: l, Positive: positive})
	}
	return out
}

func TestDiscoverFindsPlantedCodeWords(t *testing.T) {
	d, k := testDetector(t)
	tests := []struct {
		name    string
		code    string
		maxRank int
	}{
		{"latin code word", "zorblax", 2},
		{"chinese code word", "青月石", 2},
	}
	set := plantedSet(1, "zorblax", "青月石")
	cands, err := Discover(d, k, set, DiscoverOptions{Top: 20})
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	rank := map[string]int{}
	for i, c := range cands {
		if _, ok := rank[c.Term]; !ok {
			rank[c.Term] = i + 1
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := rank[tc.code]
			if !ok || r > tc.maxRank {
				t.Fatalf("%q ranked %d (0 = absent), want within the top %d; ranking: %v", tc.code, r, tc.maxRank, terms(cands))
			}
			c := cands[r-1]
			if c.Positives == 0 || len(c.Examples) == 0 || !strings.Contains(c.Examples[0], "positive") {
				t.Errorf("candidate %+v: want positive counts and positive examples", c)
			}
		})
	}
	for _, known := range []string{"ivory", "for sale", "whatsapp", "for", "sale"} {
		if _, ok := rank[known]; ok {
			t.Errorf("known term %q was proposed", known)
		}
	}
	var buf bytes.Buffer
	if err := WriteCandidatesTSV(&buf, cands, "test"); err != nil {
		t.Fatal(err)
	}
	// The rows must load as terms.tsv: swap them into the test KB.
	fs := kbFS(t, buf.Bytes())
	loaded, err := kb.Load(fs)
	if err != nil {
		t.Fatalf("candidates do not load as terms.tsv: %v\n%s", err, buf.String())
	}
	if len(loaded.Terms) != len(cands) {
		t.Errorf("loaded %d terms from %d candidates", len(loaded.Terms), len(cands))
	}
}

func TestDiscoverRefusesOneClass(t *testing.T) {
	d, k := testDetector(t)
	set := plantedSet(2, "zorblax", "青月石")
	var neg []Example
	for _, e := range set {
		if !e.Positive {
			neg = append(neg, e)
		}
	}
	if _, err := Discover(d, k, neg, DiscoverOptions{}); err == nil || !strings.Contains(err.Error(), "both positive and negative") {
		t.Fatalf("Discover on negatives only: err %v", err)
	}
}

func terms(c []Candidate) []string {
	var out []string
	for _, x := range c {
		out = append(out, fmt.Sprintf("%s(%d/%d)", x.Term, x.Positives, x.Negatives))
	}
	return out
}
