package classify

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"sort"
	"strings"

	"github.com/wildwarden/wildwarden"
)

// EvalItem is one labelled listing as a scorer and the policy judged it.
type EvalItem struct {
	ID       string
	Positive bool
	Score    float64
	Decision wildwarden.Decision
	Tags     map[string]string // breakdown fields: lang, category, evasion, …
}

// ThresholdRow is one line of the threshold table.
type ThresholdRow struct {
	Threshold float64 `json:"threshold"`
	Flagged   int     `json:"flagged"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// GroupRow is the decision-level outcome of one value of a breakdown field.
type GroupRow struct {
	Value     string    `json:"value"`
	N         int       `json:"n"`
	Positives int       `json:"positives"`
	Confusion Confusion `json:"confusion"`
	Precision float64   `json:"precision"`
	Recall    float64   `json:"recall"`
	F1        float64   `json:"f1"`
}

// Report is an evaluation of one scorer on one labelled data set.
type Report struct {
	Data         string  `json:"data"`
	Model        string  `json:"model"`
	KBVersion    string  `json:"kb_version"`
	N            int     `json:"n"`
	Positives    int     `json:"positives"`
	PRAUC        float64 `json:"pr_auc"`
	BestF1       float64 `json:"best_f1"`
	BestF1At     float64 `json:"best_f1_threshold"`
	BestF1Prec   float64 `json:"best_f1_precision"`
	BestF1Recall float64 `json:"best_f1_recall"`
	// Flagged is the decision-level confusion: block or review counts as
	// flagged, allow as not. Blocked counts only block.
	Flagged    Confusion             `json:"flagged"`
	Blocked    Confusion             `json:"blocked"`
	Decisions  map[string]int        `json:"decisions"`
	Thresholds []ThresholdRow        `json:"thresholds"`
	Breakdowns map[string][]GroupRow `json:"breakdowns"`
	Curve      []PRPoint             `json:"curve"`
	// Errors lists a few misjudged listings for a person to read.
	FalsePositives []string `json:"false_positives"`
	FalseNegatives []string `json:"false_negatives"`
}

// tableThresholds are the score thresholds of the threshold table.
var tableThresholds = []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99}

// maxExamples is how many misjudged ids a report lists per kind.
const maxExamples = 20

// NewReport evaluates items; by names the tag fields to break down by.
func NewReport(items []EvalItem, by []string) *Report {
	r := &Report{N: len(items), Decisions: map[string]int{}, Breakdowns: map[string][]GroupRow{}}
	scored := make([]Scored, len(items))
	for i, it := range items {
		scored[i] = Scored{Score: it.Score, Positive: it.Positive}
		if it.Positive {
			r.Positives++
		}
		flagged := it.Decision == wildwarden.Block || it.Decision == wildwarden.Review
		r.Flagged.Add(flagged, it.Positive)
		r.Blocked.Add(it.Decision == wildwarden.Block, it.Positive)
		r.Decisions[string(it.Decision)]++
		switch {
		case flagged && !it.Positive && len(r.FalsePositives) < maxExamples:
			r.FalsePositives = append(r.FalsePositives, it.ID)
		case !flagged && it.Positive && len(r.FalseNegatives) < maxExamples:
			r.FalseNegatives = append(r.FalseNegatives, it.ID)
		}
	}
	curve := PRCurve(scored)
	r.PRAUC = AveragePrecision(curve)
	best, f1 := BestF1(curve)
	r.BestF1, r.BestF1At, r.BestF1Prec, r.BestF1Recall = f1, best.Threshold, best.Precision, best.Recall
	r.Curve = thinCurve(curve, 400)
	for _, t := range tableThresholds {
		c := ConfusionAt(scored, t)
		r.Thresholds = append(r.Thresholds, ThresholdRow{Threshold: t, Flagged: c.TP + c.FP, Precision: c.Precision(), Recall: c.Recall(), F1: c.F1()})
	}
	for _, field := range by {
		groups := map[string]*GroupRow{}
		for _, it := range items {
			v := it.Tags[field]
			if v == "" {
				v = "(none)"
			}
			g := groups[v]
			if g == nil {
				g = &GroupRow{Value: v}
				groups[v] = g
			}
			g.N++
			if it.Positive {
				g.Positives++
			}
			g.Confusion.Add(it.Decision == wildwarden.Block || it.Decision == wildwarden.Review, it.Positive)
		}
		rows := make([]GroupRow, 0, len(groups))
		for _, g := range groups {
			g.Precision, g.Recall, g.F1 = g.Confusion.Precision(), g.Confusion.Recall(), g.Confusion.F1()
			rows = append(rows, *g)
		}
		sort.Slice(rows, func(i, j int) bool {
			if rows[i].N != rows[j].N {
				return rows[i].N > rows[j].N
			}
			return rows[i].Value < rows[j].Value
		})
		r.Breakdowns[field] = rows
	}
	return r
}

// thinCurve keeps at most n points of a curve, always the first and last.
func thinCurve(c []PRPoint, n int) []PRPoint {
	if len(c) <= n {
		return c
	}
	out := make([]PRPoint, 0, n)
	for i := range n {
		out = append(out, c[i*(len(c)-1)/(n-1)])
	}
	return out
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown writes the report as Markdown tables, ready to paste into
// docs/QUALITY.md.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s — model %s\n\n", r.Data, r.Model)
	fmt.Fprintf(&b, "%d listings, %d positive. Knowledge base %s.\n\n", r.N, r.Positives, r.KBVersion)
	b.WriteString("| measure | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| precision (block or review) | %.3f |\n", r.Flagged.Precision())
	fmt.Fprintf(&b, "| recall (block or review) | %.3f |\n", r.Flagged.Recall())
	fmt.Fprintf(&b, "| F1 (block or review) | %.3f |\n", r.Flagged.F1())
	fmt.Fprintf(&b, "| precision / recall (block only) | %.3f / %.3f |\n", r.Blocked.Precision(), r.Blocked.Recall())
	fmt.Fprintf(&b, "| PR-AUC | %.3f |\n", r.PRAUC)
	fmt.Fprintf(&b, "| best F1 over thresholds | %.3f at %.3f (P %.3f, R %.3f) |\n\n", r.BestF1, r.BestF1At, r.BestF1Prec, r.BestF1Recall)
	b.WriteString("Confusion (block or review = flagged):\n\n| | labelled positive | labelled negative |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| flagged | %d | %d |\n| allowed | %d | %d |\n\n", r.Flagged.TP, r.Flagged.FP, r.Flagged.FN, r.Flagged.TN)
	b.WriteString("| score ≥ | flagged | precision | recall | F1 |\n|---|---|---|---|---|\n")
	for _, t := range r.Thresholds {
		fmt.Fprintf(&b, "| %.2f | %d | %.3f | %.3f | %.3f |\n", t.Threshold, t.Flagged, t.Precision, t.Recall, t.F1)
	}
	for _, field := range sortedKeys(r.Breakdowns) {
		fmt.Fprintf(&b, "\nBy %s (decision level):\n\n| %s | n | positive | precision | recall | F1 |\n|---|---|---|---|---|---|\n", field, field)
		for _, g := range r.Breakdowns[field] {
			fmt.Fprintf(&b, "| %s | %d | %d | %.3f | %.3f | %.3f |\n", g.Value, g.N, g.Positives, g.Precision, g.Recall, g.F1)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// WriteSVG draws the precision–recall curve as a standalone SVG image.
func (r *Report) WriteSVG(w io.Writer) error {
	const (
		width, height = 480, 400
		left, top     = 60, 30
		plotW, plotH  = 380, 300
	)
	x := func(recall float64) float64 { return left + recall*plotW }
	y := func(precision float64) float64 { return top + (1-precision)*plotH }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="13">%s</text>`+"\n", left, html.EscapeString(fmt.Sprintf("Precision–recall: %s (PR-AUC %.3f)", r.Model, r.PRAUC)))
	for i := 0; i <= 10; i++ {
		v := float64(i) / 10
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>`+"\n", x(v), top, x(v), top+plotH)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>`+"\n", left, y(v), left+plotW, y(v))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%.1f</text>`+"\n", x(v), top+plotH+16, v)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%.1f</text>`+"\n", left-6, y(v)+4, v)
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", left, top, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">recall</text>`+"\n", x(0.5), top+plotH+34)
	fmt.Fprintf(&b, `<text x="16" y="%.1f" text-anchor="middle" transform="rotate(-90 16 %.1f)">precision</text>`+"\n", y(0.5), y(0.5))
	if len(r.Curve) > 0 {
		b.WriteString(`<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="`)
		// Start at recall 0 with the first point's precision.
		fmt.Fprintf(&b, "%.1f,%.1f", x(0), y(r.Curve[0].Precision))
		for _, p := range r.Curve {
			fmt.Fprintf(&b, " %.1f,%.1f", x(p.Recall), y(p.Precision))
		}
		b.WriteString("\"/>\n")
	}
	// The decision-level operating point.
	fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="5" fill="#d1242f"/>`+"\n", x(r.Flagged.Recall()), y(r.Flagged.Precision()))
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#d1242f">policy decision</text>`+"\n", x(r.Flagged.Recall())-8, y(r.Flagged.Precision())+18)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
