package classify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/detect"
	"github.com/wildwarden/wildwarden/policy"
)

// Example is one labelled listing.
type Example struct {
	Listing  *wildwarden.Listing
	Positive bool
	// Group ties examples that must stay on the same side of a held-out
	// split, such as variants of one template or listings of one seller
	// (the `group` field of labelled data). Empty: the example alone.
	Group string
}

// Label values in the `label` field of labelled data.
const (
	LabelPositive = "positive"
	LabelNegative = "negative"
)

// ParseLabel reads a listing's `label` field: positive or negative.
func ParseLabel(l *wildwarden.Listing) (bool, error) {
	switch v := l.ExtraString("label"); v {
	case LabelPositive:
		return true, nil
	case LabelNegative:
		return false, nil
	case "":
		return false, errors.New(`missing "label" field: want positive or negative`)
	default:
		return false, fmt.Errorf("label %q is not positive or negative", v)
	}
}

// TrainOptions configure training. The zero value of a field means its
// default.
type TrainOptions struct {
	Seed            int64   // shuffles and fold assignment (default 1)
	Epochs          int     // passes over the data (default 6)
	L2              float64 // L2 penalty per update (default 1e-6)
	LearningRate    float64 // AdaGrad base rate (default 0.3)
	Bits            uint    // 2^Bits hash buckets (default 18)
	TargetPrecision float64 // precision the block threshold must reach (default 0.95)
	ReviewRecall    float64 // share of positives the review threshold keeps (default 0.95)
	Folds           int     // folds for out-of-fold calibration when there is no validation set (default 4)
	Workers         int     // feature extraction goroutines (default GOMAXPROCS)
	KBVersion       string  // recorded in the model file
	// Keyword, when set, is the keyword model whose log-odds becomes a
	// feature (policy.NewKeywordModel of the detector's knowledge base).
	Keyword *policy.LinearModel
	// Prior is the share of positives expected in the traffic the model
	// will score. Calibration and thresholds are shifted from the
	// held-out data's own share to it, so that a probability means what
	// it says there (0: the held-out data's share, no shift).
	Prior float64
}

func (o *TrainOptions) defaults() {
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Epochs <= 0 {
		o.Epochs = 6
	}
	if o.L2 <= 0 {
		o.L2 = 1e-5
	}
	if o.LearningRate <= 0 {
		o.LearningRate = 0.3
	}
	if o.Bits == 0 {
		o.Bits = 18
	}
	if o.TargetPrecision <= 0 {
		o.TargetPrecision = 0.95
	}
	if o.ReviewRecall <= 0 {
		o.ReviewRecall = 0.95
	}
	if o.Folds < 2 {
		o.Folds = 4
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
}

// ErrPrior is returned for a prior outside (0, 1).
var ErrPrior = errors.New("the prior must be a share of positives between 0 and 1, exclusive")

// TrainReport says what training chose and how well the model did.
type TrainReport struct {
	Thresholds Thresholds `json:"thresholds"`
	// Training is the model's fit on its own training data at the chosen
	// thresholds (optimistic); Held is on the data calibration was
	// fitted on (the validation set, or out-of-fold scores).
	Training Summary `json:"training"`
	Held     Summary `json:"held_out"`
	HeldName string  `json:"held_out_name"`
	NonZero  int     `json:"non_zero_weights"`
}

// ErrOneClass is returned when training data lacks positives or negatives.
var ErrOneClass = errors.New("training needs both positive and negative examples")

// vector is one example's hashed features.
type vector struct {
	idx []uint32
	val []float32
}

// Train fits a model on train, calibrates it and chooses its thresholds on
// valid, or on out-of-fold scores of train when valid is empty. The same
// examples, detector and options always give the same model bytes.
func Train(d *detect.Detector, train, valid []Example, opts TrainOptions) (*Model, *TrainReport, error) {
	opts.defaults()
	if len(train) == 0 {
		return nil, nil, errors.New("classify: no training examples: the training set is empty")
	}
	pos := 0
	for _, e := range train {
		if e.Positive {
			pos++
		}
	}
	if pos == 0 || pos == len(train) {
		return nil, nil, fmt.Errorf("classify: %w: got %d positive and %d negative", ErrOneClass, pos, len(train)-pos)
	}
	if opts.Prior < 0 || opts.Prior >= 1 {
		return nil, nil, fmt.Errorf("classify: %w: got %g", ErrPrior, opts.Prior)
	}
	if opts.Bits < MinBits || opts.Bits > MaxBits {
		return nil, nil, fmt.Errorf("classify: bits %d out of range [%d, %d]", opts.Bits, MinBits, MaxBits)
	}
	hashSeed := uint64(opts.Seed)*0x9e3779b97f4a7c15 + 1
	ext := NewExtractor(d.Normalizer(), opts.Keyword, opts.Bits, hashSeed)
	vecs := extractAll(d, ext, train, opts.Workers)
	labels := make([]bool, len(train))
	for i, e := range train {
		labels[i] = e.Positive
	}
	all := make([]int, len(train))
	for i := range all {
		all[i] = i
	}
	h := Header{
		Format: FormatVersion, FeatureSet: FeatureSet, Bits: opts.Bits, HashSeed: hashSeed, KeywordPrior: opts.Keyword != nil,
		Training: Training{
			Examples: len(train), Positives: pos, Negatives: len(train) - pos, Seed: opts.Seed,
			Epochs: opts.Epochs, L2: opts.L2, LearningRate: opts.LearningRate,
			KBVersion: opts.KBVersion, Data: dataDigest(train),
		},
	}
	weights, bias := fit(vecs, labels, all, opts)

	// Held-out raw margins for calibration and thresholds.
	var heldZ []float64
	var heldY []bool
	rep := &TrainReport{}
	if len(valid) > 0 {
		vv := extractAll(d, ext, valid, opts.Workers)
		for i, v := range vv {
			heldZ = append(heldZ, margin(weights, bias, v))
			heldY = append(heldY, valid[i].Positive)
		}
		h.Training.CalibratedOn, rep.HeldName = "valid", "validation set"
	} else {
		groups := make([]string, len(train))
		for i, e := range train {
			groups[i] = e.Group
		}
		heldZ, heldY = outOfFold(vecs, labels, groups, opts)
		h.Training.CalibratedOn, rep.HeldName = "out-of-fold", fmt.Sprintf("out-of-fold (%d folds)", opts.Folds)
	}
	if !hasBoth(heldY) {
		return nil, nil, fmt.Errorf("classify: the validation set needs both positive and negative examples to calibrate on")
	}
	h.Calibration = fitPlatt(heldZ, heldY)
	w := classWeights{pos: 1, neg: 1}
	if opts.Prior > 0 {
		share := heldShare(heldY)
		h.Calibration.B += logit(opts.Prior) - logit(share)
		h.Training.Prior = opts.Prior
		w = classWeights{pos: opts.Prior / share, neg: (1 - opts.Prior) / (1 - share)}
	}
	heldScores := make([]Scored, len(heldZ))
	for i, z := range heldZ {
		heldScores[i] = Scored{Score: policy.Sigmoid(h.Calibration.A*z + h.Calibration.B), Positive: heldY[i]}
	}
	h.Thresholds = chooseThresholds(heldScores, opts.TargetPrecision, opts.ReviewRecall, w)
	if opts.Prior > 0 {
		h.Thresholds.Why += fmt.Sprintf("; precision is estimated for traffic with %.1f%% positives (the prior), the held-out data has %.1f%%", 100*opts.Prior, 100*heldShare(heldY))
	}

	data, err := encode(h, weights, bias)
	if err != nil {
		return nil, nil, err
	}
	m, err := Decode(data)
	if err != nil {
		return nil, nil, fmt.Errorf("classify: the trained model does not read back: %w", err)
	}
	m.Bind(d.Normalizer(), opts.Keyword)

	trainScores := make([]Scored, len(vecs))
	for i, v := range vecs {
		trainScores[i] = Scored{Score: m.Probability(margin(weights, bias, v)), Positive: labels[i]}
	}
	rep.Thresholds = h.Thresholds
	rep.Training = Summarize(trainScores, h.Thresholds)
	rep.Held = Summarize(heldScores, h.Thresholds)
	rep.NonZero = m.NonZero()
	return m, rep, nil
}

// classWeights reweight held-out examples to the prior's balance when
// precision is estimated: positives by prior/share, negatives by
// (1-prior)/(1-share). Recall does not depend on the balance.
type classWeights struct{ pos, neg float64 }

func heldShare(y []bool) float64 {
	p := 0
	for _, v := range y {
		if v {
			p++
		}
	}
	return float64(p) / float64(len(y))
}

func logit(p float64) float64 { return math.Log(p / (1 - p)) }

func hasBoth(y []bool) bool {
	p := 0
	for _, v := range y {
		if v {
			p++
		}
	}
	return p > 0 && p < len(y)
}

// dataDigest fingerprints the training examples, recorded in the model.
func dataDigest(ex []Example) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, e := range ex {
		_ = enc.Encode(e.Listing)
		fmt.Fprintf(h, "%v\n", e.Positive)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// extractAll runs the detector and the extractor over the examples in
// parallel; the result does not depend on the number of workers.
func extractAll(d *detect.Detector, ext *Extractor, ex []Example, workers int) []vector {
	vecs := make([]vector, len(ex))
	var wg sync.WaitGroup
	next := make(chan int, 64)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ds detect.Scratch
			var sc Scratch
			for i := range next {
				l := ex[i].Listing
				f := d.Detect(l, &ds)
				feats := ext.Extract(l, f, &sc)
				v := vector{idx: make([]uint32, len(feats)), val: make([]float32, len(feats))}
				for k := range feats {
					v.idx[k], v.val[k] = feats[k].index, feats[k].value
				}
				vecs[i] = v
			}
		}()
	}
	for i := range ex {
		next <- i
	}
	close(next)
	wg.Wait()
	return vecs
}

func margin(w []float32, bias float32, v vector) float64 {
	z := float64(bias)
	for k, i := range v.idx {
		z += float64(w[i] * v.val[k])
	}
	return z
}

// fit trains logistic regression with AdaGrad and L2 on the examples in
// subset. Classes are weighted to count equally, so that the margin
// ranks well whatever the balance; calibration restores probabilities.
func fit(vecs []vector, labels []bool, subset []int, opts TrainOptions) ([]float32, float32) {
	size := 1 << opts.Bits
	w := make([]float32, size)
	g2 := make([]float32, size)
	pos := 0
	for _, i := range subset {
		if labels[i] {
			pos++
		}
	}
	neg := len(subset) - pos
	wPos, wNeg := 1.0, 1.0
	if pos > 0 && neg > 0 {
		wPos = float64(len(subset)) / (2 * float64(pos))
		wNeg = float64(len(subset)) / (2 * float64(neg))
	}
	order := append([]int(nil), subset...)
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x5eed))
	var bias, gBias float64
	lr := float32(opts.LearningRate)
	l2 := float32(opts.L2)
	for range opts.Epochs {
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, i := range order {
			v := vecs[i]
			z := margin(w, float32(bias), v)
			y, cw := 0.0, wNeg
			if labels[i] {
				y, cw = 1, wPos
			}
			g := (policy.Sigmoid(z) - y) * cw
			gf := float32(g)
			for k, j := range v.idx {
				grad := gf*v.val[k] + l2*w[j]
				g2[j] += grad * grad
				w[j] -= lr * grad / (float32(math.Sqrt(float64(g2[j]))) + 1e-6)
			}
			gBias += g * g
			bias -= float64(lr) * g / (math.Sqrt(gBias) + 1e-6)
		}
	}
	// Weights too small to matter only make the file larger.
	for j, x := range w {
		if x > -1e-5 && x < 1e-5 {
			w[j] = 0
		}
	}
	return w, float32(bias)
}

// outOfFold returns, for each example, the margin of a model trained on
// the other folds. Examples of one group share a fold, so the held-out
// scores measure how the model does on unseen groups, not on variants of
// what it was trained on.
func outOfFold(vecs []vector, labels []bool, groups []string, opts TrainOptions) ([]float64, []bool) {
	n := len(vecs)
	perm := rand.New(rand.NewPCG(uint64(opts.Seed), 0xf01d)).Perm(n)
	fold := make([]int, n)
	for k, i := range perm {
		fold[i] = k % opts.Folds
	}
	// Groups in a seeded random order, dealt round-robin to the folds.
	groupFold := map[string]int{}
	var names []string
	for _, g := range groups {
		if _, ok := groupFold[g]; g != "" && !ok {
			groupFold[g] = 0
			names = append(names, g)
		}
	}
	sort.Strings(names)
	rand.New(rand.NewPCG(uint64(opts.Seed), 0x960f)).Shuffle(len(names), func(a, b int) { names[a], names[b] = names[b], names[a] })
	for k, g := range names {
		groupFold[g] = k % opts.Folds
	}
	for i, g := range groups {
		if g != "" {
			fold[i] = groupFold[g]
		}
	}
	z := make([]float64, n)
	for f := range opts.Folds {
		var trainIdx, testIdx []int
		for i := range n {
			if fold[i] == f {
				testIdx = append(testIdx, i)
			} else {
				trainIdx = append(trainIdx, i)
			}
		}
		w, b := fit(vecs, labels, trainIdx, opts)
		for _, i := range testIdx {
			z[i] = margin(w, b, vecs[i])
		}
	}
	return z, labels
}

// fitPlatt fits σ(A·z + B) to the labels by Newton's method on the log
// loss, with Platt's smoothed targets so that separable data does not
// drive A to infinity.
func fitPlatt(z []float64, y []bool) Calibration {
	var nPos, nNeg float64
	for _, v := range y {
		if v {
			nPos++
		} else {
			nNeg++
		}
	}
	tPos, tNeg := (nPos+1)/(nPos+2), 1/(nNeg+2)
	t := make([]float64, len(y))
	for i, v := range y {
		if v {
			t[i] = tPos
		} else {
			t[i] = tNeg
		}
	}
	loss := func(a, b float64) float64 {
		s := 0.0
		for i := range z {
			f := a*z[i] + b
			// log(1+e^f) - t f, computed stably.
			if f > 0 {
				s += f + math.Log1p(math.Exp(-f)) - t[i]*f
			} else {
				s += math.Log1p(math.Exp(f)) - t[i]*f
			}
		}
		return s
	}
	a, b := 1.0, math.Log((nPos+1)/(nNeg+1))
	cur := loss(a, b)
	for range 100 {
		var ga, gb, haa, hab, hbb float64
		for i := range z {
			p := policy.Sigmoid(a*z[i] + b)
			d := p - t[i]
			ga += d * z[i]
			gb += d
			s := math.Max(p*(1-p), 1e-12)
			haa += s * z[i] * z[i]
			hab += s * z[i]
			hbb += s
		}
		haa += 1e-9
		hbb += 1e-9
		det := haa*hbb - hab*hab
		if math.Abs(ga) < 1e-9 && math.Abs(gb) < 1e-9 || det <= 0 {
			break
		}
		da := (hbb*ga - hab*gb) / det
		db := (haa*gb - hab*ga) / det
		step := 1.0
		for step > 1e-8 {
			na, nb := a-step*da, b-step*db
			if l := loss(na, nb); l < cur+1e-12 {
				a, b, cur = na, nb, l
				break
			}
			step /= 2
		}
		if step <= 1e-8 {
			break
		}
	}
	return Calibration{Method: "platt", A: a, B: b}
}

// chooseThresholds picks the block threshold as the lowest calibrated score
// whose precision on held-out data reaches the target (so recall is as high
// as that precision allows), and the review threshold as the highest score
// that still sends the wanted share of positives to a person.
func chooseThresholds(s []Scored, targetPrecision, reviewRecall float64, w classWeights) Thresholds {
	sorted, totalPos := byScore(s)
	t := Thresholds{TargetPrecision: targetPrecision, ReviewRecall: reviewRecall, Block: 1, Review: 1}
	tp, fp := 0, 0
	bestPrec, bestPrecAt := -1.0, 1.0
	blockFound, reviewFound := false, false
	var blockP, blockR, reviewP, reviewR float64
	for k := 0; k < len(sorted); k++ {
		if sorted[k].Positive {
			tp++
		} else {
			fp++
		}
		// Only cut between different scores.
		if k+1 < len(sorted) && sorted[k+1].Score == sorted[k].Score {
			continue
		}
		p := w.pos * float64(tp) / (w.pos*float64(tp) + w.neg*float64(fp))
		r := float64(tp) / float64(totalPos)
		if p >= targetPrecision {
			t.Block, blockFound, blockP, blockR = sorted[k].Score, true, p, r
		}
		if p >= bestPrec {
			bestPrec, bestPrecAt = p, sorted[k].Score
		}
		if !reviewFound && r >= reviewRecall {
			t.Review, reviewFound, reviewP, reviewR = sorted[k].Score, true, p, r
		}
	}
	if !blockFound {
		t.Block = bestPrecAt
		t.Why = fmt.Sprintf("no threshold reaches precision %.2f on held-out data; block set where precision is highest (%.3f)", targetPrecision, bestPrec)
	} else {
		t.Why = fmt.Sprintf("block at %.4f: the lowest score with held-out precision >= %.2f (precision %.3f, recall %.3f)", t.Block, targetPrecision, blockP, blockR)
	}
	if t.Review > t.Block {
		t.Review = t.Block
		t.Why += fmt.Sprintf("; review = block: the block threshold already keeps %.0f%% of positives", 100*blockR)
	} else {
		t.Why += fmt.Sprintf("; review at %.4f: the highest score that keeps >= %.0f%% of held-out positives (precision %.3f, recall %.3f)", t.Review, 100*reviewRecall, reviewP, reviewR)
	}
	return t
}
