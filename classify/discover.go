package classify

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/detect"
	"github.com/wildwarden/wildwarden/kb"
	"github.com/wildwarden/wildwarden/text"
)

// DiscoverOptions configure code-word discovery.
type DiscoverOptions struct {
	MinCount int     // a candidate must appear in at least this many positives (default 3)
	Top      int     // how many candidates to return (default 50)
	Prior    float64 // pseudo-count added to every cell of the 2×2 table (default 0.5)
	Examples int     // example listing ids per candidate (default 3)
}

// Candidate is a term over-represented in confirmed violations.
type Candidate struct {
	Term      string   // folded form, as matched
	Original  string   // as first written in a listing, when that folds to Term
	Lang      string   // guessed from its script or the listings' language
	Category  string   // the KB category that co-occurs most, or the commonest one
	Guessed   bool     // no KB category co-occurred: the category is the data set's commonest
	Positives int      // positive listings that contain it
	Negatives int      // negative listings that contain it
	Score     float64  // z-score of the smoothed log-odds ratio
	Examples  []string // ids of positive listings that contain it
}

// candidateStats accumulates one term's counts.
type candidateStats struct {
	original   string // the first original form seen
	pos, neg   int
	examples   []string
	categories map[string]int
	langs      map[string]int
}

// Discover ranks terms and phrases over-represented in the positive
// examples against the negatives, in the listings' own text (title,
// description, image text; not the seller's description): Latin-script words and word pairs, and
// character 2- to 4-grams of Han, kana, Thai and other scripts written
// without spaces, all on the folded view. Terms whose folded form is, or
// contains, or lies inside a knowledge-base term or cue are left out: they
// are known already. Scores are z-scores of the log-odds ratio with a
// pseudo-count prior, which favours terms that are both frequent and
// specific.
func Discover(d *detect.Detector, k *kb.KB, ex []Example, opts DiscoverOptions) ([]Candidate, error) {
	if opts.MinCount <= 0 {
		opts.MinCount = 3
	}
	if opts.Top <= 0 {
		opts.Top = 50
	}
	if opts.Prior <= 0 {
		opts.Prior = 0.5
	}
	if opts.Examples <= 0 {
		opts.Examples = 3
	}
	totalPos := 0
	for _, e := range ex {
		if e.Positive {
			totalPos++
		}
	}
	if totalPos == 0 || totalPos == len(ex) {
		return nil, fmt.Errorf("classify: discover: %w: got %d positive and %d negative", ErrOneClass, totalPos, len(ex)-totalPos)
	}
	totalNeg := len(ex) - totalPos
	norm := d.Normalizer()
	known := knownForms(norm, k)

	stats := map[string]*candidateStats{}
	categoryTotals := map[string]int{}
	var ds detect.Scratch
	var buf text.Buffer
	for _, e := range ex {
		l := e.Listing
		var cats []string
		if e.Positive {
			for _, ev := range d.Detect(l, &ds).Evidence {
				if ev.Category != "" && !contains(cats, ev.Category) {
					cats = append(cats, ev.Category)
					categoryTotals[ev.Category]++
				}
			}
		}
		terms := map[string]string{}
		for _, f := range l.TextFields() {
			// The seller's own description repeats on every listing of a
			// seller: one prolific seller's bio would fill the ranking.
			if f.Name == wildwarden.FieldSellerName || f.Name == wildwarden.FieldSellerDescription {
				continue
			}
			views := norm.Views(f.Text, &buf)
			collectTerms(&views[0], f.Text, terms)
		}
		for t, orig := range terms {
			s := stats[t]
			if s == nil {
				s = &candidateStats{original: orig}
				stats[t] = s
			}
			if !e.Positive {
				s.neg++
				continue
			}
			s.pos++
			if len(s.examples) < opts.Examples {
				s.examples = append(s.examples, l.ID)
			}
			if len(cats) > 0 && s.categories == nil {
				s.categories = map[string]int{}
			}
			for _, c := range cats {
				s.categories[c]++
			}
			if l.Lang != "" {
				if s.langs == nil {
					s.langs = map[string]int{}
				}
				s.langs[l.Lang]++
			}
		}
	}
	commonest := argmax(categoryTotals)
	a := opts.Prior
	var out []Candidate
	for t, s := range stats {
		if s.pos < opts.MinCount || isKnown(t, known) {
			continue
		}
		p, n := float64(s.pos), float64(s.neg)
		delta := math.Log((p+a)/(float64(totalPos)-p+a)) - math.Log((n+a)/(float64(totalNeg)-n+a))
		se := math.Sqrt(1/(p+a) + 1/(float64(totalPos)-p+a) + 1/(n+a) + 1/(float64(totalNeg)-n+a))
		c := Candidate{Term: t, Original: s.original, Positives: s.pos, Negatives: s.neg, Score: delta / se, Examples: s.examples}
		c.Category = argmax(s.categories)
		if c.Category == "" {
			c.Category, c.Guessed = commonest, true
		}
		c.Lang = guessLang(t, s.langs)
		if c.Score > 0 {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		// Equal evidence: the longer term says more.
		if a, b := utf8.RuneCountInString(out[i].Term), utf8.RuneCountInString(out[j].Term); a != b {
			return a > b
		}
		return out[i].Term < out[j].Term
	})
	out = dropRedundant(out)
	if len(out) > opts.Top {
		out = out[:opts.Top]
	}
	for i := range out {
		// Keep the original spelling only where it folds to the term.
		if strings.TrimSpace(text.Fold(norm, out[i].Original)) != out[i].Term {
			out[i].Original = ""
		}
	}
	return out, nil
}

// dropRedundant removes a candidate inside a better-ranked one that is
// found in nearly the same positives (白塑 when 白塑料 ranks above it).
func dropRedundant(c []Candidate) []Candidate {
	const window = 2000 // only the head of the ranking is worth comparing
	keep := c[:0:0]
	for i, x := range c {
		redundant := false
		for _, y := range keep {
			if i > window {
				break
			}
			if strings.Contains(y.Term, x.Term) && float64(y.Positives) >= 0.8*float64(x.Positives) {
				redundant = true
				break
			}
		}
		if !redundant {
			keep = append(keep, x)
		}
	}
	return keep
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func argmax(m map[string]int) string {
	best, bestN := "", 0
	for k, n := range m {
		if n > bestN || (n == bestN && k < best) {
			best, bestN = k, n
		}
	}
	return best
}

// knownForms returns the folded forms of every knowledge-base term and
// non-regex cue.
func knownForms(norm *text.Normalizer, k *kb.KB) []string {
	var out []string
	for _, t := range k.Terms {
		if f := strings.TrimSpace(text.Fold(norm, t.Text)); f != "" {
			out = append(out, f)
		}
	}
	for _, c := range k.Cues {
		if !c.Regex {
			if f := strings.TrimSpace(text.Fold(norm, c.Pattern)); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

// isKnown reports whether a candidate is a known form, contains one, or
// is part of one. Latin-script candidates are compared word by word, so
// that "ivo" is not inside "ivory".
func isKnown(t string, known []string) bool {
	latin := isLatinTerm(t)
	for _, k := range known {
		if t == k || containsTerm(t, k, latin) || containsTerm(k, t, latin) {
			return true
		}
	}
	return false
}

func containsTerm(s, sub string, words bool) bool {
	if !words {
		return strings.Contains(s, sub)
	}
	return strings.Contains(" "+s+" ", " "+sub+" ")
}

func isLatinTerm(t string) bool {
	for _, r := range t {
		if classifyRune(r) == kindContinuous {
			return false
		}
	}
	return true
}

// collectTerms adds the candidate terms of a folded view to set, each
// with the original characters it was folded from (the first time seen),
// so that candidates read as sellers wrote them.
func collectTerms(view *text.View, original string, set map[string]string) {
	folded := view.Text
	add := func(s, e int) {
		key := string(folded[s:e])
		if _, ok := set[key]; !ok {
			os, oe := view.Source(s, e)
			set[key] = strings.TrimSpace(original[os:oe])
		}
	}
	prevStart, prevEnd := -1, -1
	var starts []int
	i := 0
	for i < len(folded) {
		r, size := utf8.DecodeRune(folded[i:])
		k := classifyRune(r)
		if k == kindSeparator || k == kindSymbol {
			if k == kindSymbol {
				prevStart = -1
			}
			i += size
			continue
		}
		j := i + size
		for j < len(folded) {
			r2, s2 := utf8.DecodeRune(folded[j:])
			if classifyRune(r2) != k {
				break
			}
			j += s2
		}
		run := folded[i:j]
		if k == kindWord {
			if !allDigits(run) && utf8.RuneCount(run) >= 2 {
				add(i, j)
				if prevStart >= 0 {
					// The pair's key has one space, whatever separated it.
					key := string(folded[prevStart:prevEnd]) + " " + string(run)
					if _, ok := set[key]; !ok {
						os, _ := view.Source(prevStart, prevEnd)
						_, oe := view.Source(i, j)
						set[key] = strings.TrimSpace(original[os:oe])
					}
				}
				prevStart, prevEnd = i, j
			} else {
				prevStart = -1
			}
		} else {
			prevStart = -1
			starts = starts[:0]
			for p := i; p < j; {
				_, sz := utf8.DecodeRune(folded[p:])
				starts = append(starts, p)
				p += sz
			}
			starts = append(starts, j)
			n := len(starts) - 1
			for a := range n {
				for g := 2; g <= 4 && a+g <= n; g++ {
					add(starts[a], starts[a+g])
				}
			}
		}
		i = j
	}
}

func allDigits(s []byte) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// guessLang names a candidate's language from its script, or else the
// commonest language of the listings it came from.
func guessLang(t string, langs map[string]int) string {
	for _, r := range t {
		switch {
		case r >= 0x3040 && r <= 0x30FF:
			return "ja"
		case r >= 0x0E00 && r <= 0x0E7F:
			return "th"
		case r >= 0x3400 && r <= 0x9FFF:
			return "zh-Hans" // the folded view is Simplified
		}
	}
	if l := argmax(langs); l != "" {
		return l
	}
	return "und"
}

// WriteCandidatesTSV writes candidates in the format of kb/data/terms.tsv
// (kind code, taxon and flags "-"), with a note giving the counts and
// examples, so that an analyst can paste the rows they accept.
func WriteCandidatesTSV(w io.Writer, c []Candidate, source string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Candidate code words discovered by `wildwarden discover` from %s.\n", source)
	b.WriteString("# Each row is a proposal: check the examples, fix the category and language, then paste accepted rows into kb/data/terms.tsv.\n")
	b.WriteString("term\tlang\tkind\tcategory\ttaxon\tflags\tnote\n")
	for _, x := range c {
		term := x.Original
		if term == "" {
			term = x.Term
		}
		guess := ""
		if x.Guessed {
			guess = "; category guessed (no KB evidence beside it)"
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t-\t-\tdiscovered: in %d confirmed violations and %d negatives (log-odds z %.1f)%s; e.g. %s\n",
			clean(term), x.Lang, kb.KindCode, x.Category, x.Positives, x.Negatives, x.Score, guess, clean(strings.Join(x.Examples, ", ")))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// clean keeps tabs and newlines out of a TSV cell.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}
