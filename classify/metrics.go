package classify

import (
	"math"
	"sort"
)

// Scored is one labelled example's calibrated score.
type Scored struct {
	Score    float64
	Positive bool
}

// Confusion counts outcomes of a binary decision.
type Confusion struct {
	TP int `json:"tp"`
	FP int `json:"fp"`
	TN int `json:"tn"`
	FN int `json:"fn"`
}

// Add counts one outcome.
func (c *Confusion) Add(flagged, positive bool) {
	switch {
	case flagged && positive:
		c.TP++
	case flagged:
		c.FP++
	case positive:
		c.FN++
	default:
		c.TN++
	}
}

// Precision is TP / (TP + FP), 0 when nothing was flagged.
func (c Confusion) Precision() float64 { return ratio(c.TP, c.TP+c.FP) }

// Recall is TP / (TP + FN), 0 when there are no positives.
func (c Confusion) Recall() float64 { return ratio(c.TP, c.TP+c.FN) }

// F1 is the harmonic mean of precision and recall.
func (c Confusion) F1() float64 {
	p, r := c.Precision(), c.Recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// ConfusionAt counts the decision score >= threshold.
func ConfusionAt(s []Scored, threshold float64) Confusion {
	var c Confusion
	for _, x := range s {
		c.Add(x.Score >= threshold, x.Positive)
	}
	return c
}

// PRPoint is one point of a precision–recall curve: flagging every score
// at or above Threshold.
type PRPoint struct {
	Threshold float64 `json:"threshold"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
}

// byScore returns a copy of s, highest score first (ties in their order),
// and how many of them are positive.
func byScore(s []Scored) (sorted []Scored, positives int) {
	sorted = append([]Scored(nil), s...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Score > sorted[j].Score })
	for _, x := range sorted {
		if x.Positive {
			positives++
		}
	}
	return sorted, positives
}

// PRCurve returns the precision–recall curve, highest threshold first, one
// point per distinct score.
func PRCurve(s []Scored) []PRPoint {
	sorted, totalPos := byScore(s)
	var out []PRPoint
	tp, fp := 0, 0
	for k, x := range sorted {
		if x.Positive {
			tp++
		} else {
			fp++
		}
		if k+1 < len(sorted) && sorted[k+1].Score == x.Score {
			continue
		}
		out = append(out, PRPoint{Threshold: x.Score, Precision: ratio(tp, tp+fp), Recall: ratio(tp, totalPos)})
	}
	return out
}

// AveragePrecision is the area under the precision–recall curve as the
// step-wise sum of precision times recall gained (PR-AUC).
func AveragePrecision(curve []PRPoint) float64 {
	ap, lastR := 0.0, 0.0
	for _, p := range curve {
		ap += p.Precision * (p.Recall - lastR)
		lastR = p.Recall
	}
	return ap
}

// BestF1 returns the curve point with the highest F1.
func BestF1(curve []PRPoint) (PRPoint, float64) {
	var best PRPoint
	bestF := -1.0
	for _, p := range curve {
		f := 0.0
		if p.Precision+p.Recall > 0 {
			f = 2 * p.Precision * p.Recall / (p.Precision + p.Recall)
		}
		if f > bestF {
			best, bestF = p, f
		}
	}
	return best, math.Max(bestF, 0)
}

// Summary is how a scorer does at chosen thresholds.
type Summary struct {
	N         int       `json:"n"`
	Positives int       `json:"positives"`
	PRAUC     float64   `json:"pr_auc"`
	Flagged   Confusion `json:"flagged"` // score >= review
	Blocked   Confusion `json:"blocked"` // score >= block
}

// Summarize scores at the thresholds.
func Summarize(s []Scored, t Thresholds) Summary {
	out := Summary{N: len(s), PRAUC: AveragePrecision(PRCurve(s))}
	for _, x := range s {
		if x.Positive {
			out.Positives++
		}
		out.Flagged.Add(x.Score >= t.Review, x.Positive)
		out.Blocked.Add(x.Score >= t.Block, x.Positive)
	}
	return out
}
