package screen

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/listings"
)

var testEngine = func() func(t testing.TB) *Engine {
	var e *Engine
	var err error
	return func(t testing.TB) *Engine {
		if e == nil && err == nil {
			e, err = New(Options{KBDir: os.Getenv("WW_KB_DIR")})
		}
		if err != nil {
			t.Fatalf("building the engine: %v", err)
		}
		return e
	}
}()

// labelled is one corpus item with its verdict.
type labelled struct {
	l       wildwarden.Listing
	label   string // positive or negative
	expect  string // allow, review or block
	evasion string
	v       *wildwarden.Verdict
}

func screenCorpus(t *testing.T, path string) []labelled {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("the project's corpus is missing: %v", err)
	}
	defer f.Close()
	e := testEngine(t)
	var out []labelled
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var it labelled
		if err := listings.DecodeJSON(sc.Bytes(), &it.l); err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		it.label, it.expect, it.evasion = it.l.ExtraString("label"), it.l.ExtraString("expect"), it.l.ExtraString("evasion")
		it.l.Extra = nil
		it.v = e.ScreenListing(&it.l)
		out = append(out, it)
	}
	return out
}

// rates are the corpus figures: recall over positives, the false-positive
// rate over negatives a platform must allow.
type rates struct {
	pos, tp, neg, fp int
}

func (r rates) recall() float64 { return float64(r.tp) / float64(max(r.pos, 1)) }
func (r rates) fpr() float64    { return float64(r.fp) / float64(max(r.neg, 1)) }

func measure(items []labelled, keep func(labelled) bool) rates {
	var r rates
	for _, it := range items {
		if !keep(it) {
			continue
		}
		flagged := it.v.Decision != wildwarden.Allow
		switch {
		case it.label == "positive":
			r.pos++
			if flagged {
				r.tp++
			}
		case it.expect == "allow" || it.expect == "":
			r.neg++
			if flagged {
				r.fp++
			}
		}
	}
	return r
}

// TestCorpus holds the engine to the project's labelled corpus: recall at
// least 0.95, false-positive rate at most 0.03, and on each evasion trick a
// recall within 5 points of plain text.
func TestCorpus(t *testing.T) {
	items := screenCorpus(t, "../testdata/corpus/corpus.jsonl")
	all := measure(items, func(labelled) bool { return true })
	t.Logf("corpus: %d positives, recall %.3f; %d negatives to allow, false-positive rate %.3f", all.pos, all.recall(), all.neg, all.fpr())
	for _, it := range items {
		flagged := it.v.Decision != wildwarden.Allow
		if it.label == "positive" && !flagged {
			t.Logf("missed  %s [%s/%s] %q: %s", it.l.ID, it.evasion, it.l.Lang, it.l.Title+" "+it.l.Description, it.v.Reason)
		}
		if it.label == "negative" && (it.expect == "allow" || it.expect == "") && flagged {
			t.Logf("flagged %s [%s/%s] %q: %s", it.l.ID, it.evasion, it.l.Lang, it.l.Title+" "+it.l.Description, it.v.Reason)
		}
		if it.expect == "review" && it.label == "negative" && it.v.Decision == wildwarden.Block {
			t.Errorf("%s: lawful in some places, must go to review, not block: %s", it.l.ID, it.v.Reason)
		}
	}
	if all.recall() < 0.95 {
		t.Errorf("recall %.3f < 0.95", all.recall())
	}
	if all.fpr() > 0.03 {
		t.Errorf("false-positive rate %.3f > 0.03", all.fpr())
	}
	plain := measure(items, func(it labelled) bool { return it.evasion == "plain" })
	// The tricks the normalization views must see through are held to
	// plain text; code words, cover stories and off-platform contact are
	// matters of knowledge, measured and reported (docs/QUALITY.md) but not
	// held to that bar.
	tricks := map[string]bool{"homoglyph": true, "fullwidth": true, "zero_width": true, "diacritics": true,
		"separators": true, "leet": true, "repeat": true, "case": true, "traditional": true,
		"homophone": true, "pinyin": true, "emoji": true}
	byEvasion := map[string]bool{}
	for _, it := range items {
		byEvasion[it.evasion] = true
	}
	var names []string
	for e := range byEvasion {
		names = append(names, e)
	}
	sort.Strings(names)
	var table strings.Builder
	for _, e := range names {
		r := measure(items, func(it labelled) bool { return it.evasion == e })
		fmt.Fprintf(&table, "\n  %-12s positives %3d recall %.3f  negatives %3d fpr %.3f", e, r.pos, r.recall(), r.neg, r.fpr())
		if tricks[e] && r.pos > 0 && r.recall() < plain.recall()-0.05 {
			t.Errorf("evasion %s: recall %.3f is more than 5 points below plain text (%.3f)", e, r.recall(), plain.recall())
		}
	}
	t.Log("by evasion:" + table.String())
}

// TestEvidence checks that every non-allow verdict carries a signal whose
// span points at the characters it quotes.
func TestEvidence(t *testing.T) {
	for _, it := range screenCorpus(t, "../testdata/corpus/corpus.jsonl") {
		if it.v.Decision == wildwarden.Allow {
			continue
		}
		valid := 0
		for _, s := range it.v.Signals {
			if s.Span == nil {
				continue
			}
			field := fieldText(&it.l, s.Field)
			runes := []rune(field)
			if s.Span[0] < 0 || s.Span[0] >= s.Span[1] || s.Span[1] > len(runes) {
				t.Errorf("%s: signal %s has span %v outside %s (%d characters)", it.l.ID, s.Name, *s.Span, s.Field, len(runes))
				continue
			}
			if got := string(runes[s.Span[0]:s.Span[1]]); got != s.Text {
				t.Errorf("%s: signal %s span %v is %q but quotes %q", it.l.ID, s.Name, *s.Span, got, s.Text)
				continue
			}
			valid++
		}
		if valid == 0 {
			t.Errorf("%s: %s verdict without a signal with a valid span: %+v", it.l.ID, it.v.Decision, it.v.Signals)
		}
	}
}

func fieldText(l *wildwarden.Listing, name string) string {
	for _, f := range l.TextFields() {
		if f.Name == name {
			return f.Text
		}
	}
	return ""
}

// TestHoldout measures the held-out corpus, written after the main one and
// never used to tune the knowledge base or the engine (docs/QUALITY.md).
// Its floors only guard against regressions; the figures are the honest
// estimate.
func TestHoldout(t *testing.T) {
	items := screenCorpus(t, "../testdata/corpus/holdout.jsonl")
	all := measure(items, func(labelled) bool { return true })
	t.Logf("holdout: %d positives, recall %.3f; %d negatives to allow, false-positive rate %.3f", all.pos, all.recall(), all.neg, all.fpr())
	if all.recall() < 0.80 || all.fpr() > 0.10 {
		t.Errorf("holdout regressed: recall %.3f (floor 0.80), false-positive rate %.3f (ceiling 0.10)", all.recall(), all.fpr())
	}
}
