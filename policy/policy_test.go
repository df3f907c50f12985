package policy

import (
	"maps"
	"math"
	"strings"
	"testing"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/detect"
	"github.com/wildwarden/wildwarden/kb"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"default", string(defaultConfig), ""},
		{"unknown key", "thresholds: {review: 0.5, block: 0.9}\nrulez: []\n", "rulez"},
		{"thresholds out of order", "thresholds: {review: 0.9, block: 0.5}\n", "thresholds"},
		{"rule without action", "thresholds: {review: 0.5, block: 0.9}\nrules: [{name: x, when: {kind: query}}]\n", "cap or floor"},
		{"bad decision", "thresholds: {review: 0.5, block: 0.9}\nrules: [{name: x, cap: maybe}]\n", "maybe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.yaml))
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// defaultDetector loads the embedded knowledge base and its detector.
func defaultDetector(t testing.TB) (*kb.KB, *detect.Detector) {
	t.Helper()
	k, err := kb.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	d, err := detect.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, d
}

func decideWith(t *testing.T, cfg string, l *wildwarden.Listing) *wildwarden.Verdict {
	t.Helper()
	k, d := defaultDetector(t)
	c, err := ParseConfig([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	f := d.Detect(l, new(detect.Scratch))
	score, contrib := NewKeywordModel(k).Score(l, f)
	return New(c, k).Decide(l, f, score, contrib)
}

// TestRules checks thresholds, caps, floors and shadow mode on listings
// whose evidence is clear.
func TestRules(t *testing.T) {
	offer := &wildwarden.Listing{ID: "1", Title: "老白塑料手镯 出 加V 1200元"}
	query := &wildwarden.Listing{ID: "2", Kind: wildwarden.KindQuery, Title: "老白塑料手镯 出 加V 1200元"}
	base := "thresholds: {review: 0.5, block: 0.85}\n"
	if v := decideWith(t, base, offer); v.Decision != wildwarden.Block || v.Reason == "" || len(v.Categories) == 0 || len(v.Species) == 0 {
		t.Errorf("offer: %s %q %v %v", v.Decision, v.Reason, v.Categories, v.Species)
	}
	capped := base + "rules: [{name: q, when: {kind: query}, cap: review, reason: queries are warned}]\n"
	if v := decideWith(t, capped, query); v.Decision != wildwarden.Review || !strings.Contains(v.Reason, "queries are warned") {
		t.Errorf("cap: %s %q", v.Decision, v.Reason)
	}
	shadow := base + "rules: [{name: s, when: {category: ivory}, cap: allow, reason: test, shadow: true}]\n"
	if v := decideWith(t, shadow, offer); v.Decision != wildwarden.Block || len(v.Shadow) != 1 {
		t.Errorf("shadow: %s %v", v.Decision, v.Shadow)
	}
	// A rule on offer context: a post that names a product but offers
	// nothing is let through, while the same words still go to review in a
	// listing, and a post with a price is still blocked.
	posts := base + "rules: [{name: posts-that-offer-nothing, when: {kind: post, offer: false}, cap: allow, reason: a post that offers nothing}]\n"
	for _, tc := range []struct {
		l    *wildwarden.Listing
		want wildwarden.Decision
	}{
		{&wildwarden.Listing{ID: "p1", Kind: wildwarden.KindPost, Description: "my nan kept her ivory brooch in this box"}, wildwarden.Allow},
		{&wildwarden.Listing{ID: "p2", Kind: wildwarden.KindListing, Title: "my nan kept her ivory brooch in this box"}, wildwarden.Review},
		{&wildwarden.Listing{ID: "p3", Kind: wildwarden.KindPost, Description: "old ivory bangle $300"}, wildwarden.Block},
	} {
		v := decideWith(t, posts, tc.l)
		if v.Decision != tc.want {
			t.Errorf("offer rule, %s %q: %s (%s), want %s", tc.l.Kind, tc.l.Title+tc.l.Description, v.Decision, v.Reason, tc.want)
		}
		if tc.want == wildwarden.Allow && !strings.Contains(v.Reason, "offers nothing") {
			t.Errorf("offer rule, %q: reason %q does not say why it was let through", tc.l.Description, v.Reason)
		}
	}
	floor := "thresholds: {review: 0.99, block: 0.999}\nrules: [{name: f, when: {product: true}, floor: review, reason: product named}]\n"
	if v := decideWith(t, floor, &wildwarden.Listing{ID: "3", Title: "ivory"}); v.Decision != wildwarden.Review {
		t.Errorf("floor: %s %q", v.Decision, v.Reason)
	}
}

func BenchmarkDecide(b *testing.B) {
	k, d := defaultDetector(b)
	c, _ := DefaultConfig()
	p, m := New(c, k), NewKeywordModel(k)
	l := &wildwarden.Listing{ID: "1", Title: "老白塑料手镯 出 加V 1200元", Description: "carved bangle, DM for price"}
	f := d.Detect(l, new(detect.Scratch))
	for b.Loop() {
		score, contrib := m.Score(l, f)
		p.Decide(l, f, score, contrib)
	}
}

// TestScoreSumsFeatures holds the keyword model's score to its definition:
// the logistic of the weights of Features, with each weight that counted
// named in the contributions.
func TestScoreSumsFeatures(t *testing.T) {
	k, d := defaultDetector(t)
	m := NewKeywordModel(k)
	price := 120.0
	for _, l := range []wildwarden.Listing{
		{ID: "a", Title: "carved ivory bangle, DM for price", Price: &price},
		{ID: "b", Kind: wildwarden.KindQuery, Title: "buy rhino horn"},
		{ID: "c", Title: "live baby tiger for sale, whatsapp me"},
		{ID: "d", Title: "老白塑料手镯 出 加V 私聊", Description: "懂的来"},
		{ID: "e", Title: "resin elephant figurine", Price: &price},
	} {
		var sc detect.Scratch
		f := d.Detect(&l, &sc)
		z := 0.0
		want := map[string]float64{}
		for name, v := range Features(&l, f) {
			if w := m.Weights[name] * v; w != 0 {
				z += w
				want[name] = w
			}
		}
		score, contrib := m.Score(&l, f)
		if math.Abs(score-Sigmoid(z)) > 1e-12 || !maps.Equal(contrib, want) {
			t.Errorf("%s: score %v with %v, want %v with %v", l.ID, score, contrib, Sigmoid(z), want)
		}
	}
}

// TestDecideSignals checks that leaving out allow verdicts' signals
// changes nothing else, and nothing at all for flagged verdicts.
func TestDecideSignals(t *testing.T) {
	k, d := defaultDetector(t)
	cfg, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	p, m := New(cfg, k), NewKeywordModel(k)
	price := 20.0
	for _, l := range []wildwarden.Listing{
		{ID: "allow", Title: "oak chair for sale, DM me", Price: &price},
		{ID: "block", Title: "老白塑料手镯 出 加V 私聊"},
		{ID: "allow-colour", Title: "ivory white lace wedding dress for sale", Price: &price},
	} {
		var sc detect.Scratch
		f := d.Detect(&l, &sc)
		score, contrib := m.Score(&l, f)
		all, lean := p.Decide(&l, f, score, contrib), p.DecideSignals(&l, f, score, contrib, false)
		if len(all.Signals) == 0 || (all.Decision == wildwarden.Allow) != strings.HasPrefix(l.ID, "allow") {
			t.Fatalf("%s: decided %s with %d signals: not the case this test needs", l.ID, all.Decision, len(all.Signals))
		}
		// Only the offer context of an allow verdict is left out.
		if wantNone := l.ID == "allow"; wantNone && len(lean.Signals) != 0 {
			t.Errorf("%s: the allow verdict kept %d signals", l.ID, len(lean.Signals))
		} else if !wantNone && len(lean.Signals) != len(all.Signals) {
			t.Errorf("%s: %d signals, not %d", l.ID, len(lean.Signals), len(all.Signals))
		}
		lean.Signals = all.Signals
		if a, b := string(all.AppendJSON(nil)), string(lean.AppendJSON(nil)); a != b {
			t.Errorf("%s: verdicts differ beyond the signals:\n%s\n%s", l.ID, a, b)
		}
	}
	if v := p.DecideSignals(&wildwarden.Listing{ID: "x", Title: "oak chair"}, &detect.Findings{}, 0.01, nil, false); v.Decision != wildwarden.Allow {
		t.Errorf("nothing found: %s", v.Decision)
	}
}
