package classify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/detect"
	"github.com/wildwarden/wildwarden/kb"
	"github.com/wildwarden/wildwarden/policy"
)

// testKB is a small knowledge base under testdata, so these tests do not
// depend on the shipped one.
var testKB = sync.OnceValues(func() (*kb.KB, error) { return kb.LoadDir("testdata/kb") })

func testDetector(t testing.TB) (*detect.Detector, *kb.KB) {
	t.Helper()
	k, err := testKB()
	if err != nil {
		t.Fatalf("test knowledge base: %v", err)
	}
	d, err := detect.New(k)
	if err != nil {
		t.Fatalf("detector: %v", err)
	}
	return d, k
}

// synthetic builds a labelled set from templates: offers of products
// (some in code words) against colour uses, news and ordinary listings.
func synthetic(n int, seed uint64) []Example {
	rng := rand.New(rand.NewPCG(seed, 7))
	pos := []string{
		"carved ivory figure for sale %d", "antique ivory netsuke, estimate £%d", "rhino horn cup, whatsapp me, $%d",
		"老白塑料手镯 出售 %d元", "犀角 杯 出售 价格 %d", "genuine pangolin scales bulk %d kg", "tiger bone wine, $%d per bottle",
		"mammoth ivory carving of buddha, %d grams, buy now",
	}
	neg := []string{
		"ivory white wedding dress size %d", "police seized %d kg of ivory at the port", "resin elephant figurine, %d cm",
		"tiger balm ointment pack of %d", "oak dining table, seats %d", "vintage gold ring size %d", "米白色 连衣裙 %d码",
		"hand-painted ceramic vase number %d",
	}
	out := make([]Example, n)
	for i := range out {
		positive := rng.IntN(2) == 0
		tpl := neg[rng.IntN(len(neg))]
		if positive {
			tpl = pos[rng.IntN(len(pos))]
		}
		out[i] = Example{Listing: &wildwarden.Listing{ID: fmt.Sprintf("s-%d", i), Title: fmt.Sprintf(tpl, 10+rng.IntN(990))}, Positive: positive}
	}
	return out
}

func TestTrainRefusesDegenerateData(t *testing.T) {
	d, _ := testDetector(t)
	data := synthetic(40, 1)
	var onlyPos, onlyNeg []Example
	for _, e := range data {
		if e.Positive {
			onlyPos = append(onlyPos, e)
		} else {
			onlyNeg = append(onlyNeg, e)
		}
	}
	tests := []struct {
		name    string
		train   []Example
		wantErr string
	}{
		{"empty", nil, "training set is empty"},
		{"only positive", onlyPos, "both positive and negative"},
		{"only negative", onlyNeg, "both positive and negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Train(d, tc.train, nil, TrainOptions{Epochs: 1})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Train: err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestTrainIsReproducible(t *testing.T) {
	d, _ := testDetector(t)
	data := synthetic(300, 2)
	encode := func(seed int64, workers int) []byte {
		m, _, err := Train(d, data, nil, TrainOptions{Seed: seed, Workers: workers, Bits: 14})
		if err != nil {
			t.Fatalf("Train: %v", err)
		}
		b, err := m.Encode()
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		return b
	}
	a, b := encode(7, 1), encode(7, 4)
	if !bytes.Equal(a, b) {
		t.Fatalf("same seed, different worker counts: model bytes differ (%d vs %d bytes)", len(a), len(b))
	}
	if c := encode(8, 2); bytes.Equal(a, c) {
		t.Fatalf("different seeds gave identical models")
	}
}

func TestTrainLearnsAndCalibrates(t *testing.T) {
	d, _ := testDetector(t)
	train, test := synthetic(600, 3), synthetic(300, 4)
	tests := []struct {
		name  string
		valid []Example
		on    string
	}{
		{"out-of-fold calibration", nil, "out-of-fold"},
		{"validation set", synthetic(200, 5), "valid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, rep, err := Train(d, train, tc.valid, TrainOptions{Bits: 16, TargetPrecision: 0.9})
			if err != nil {
				t.Fatalf("Train: %v", err)
			}
			if m.Header.Training.CalibratedOn != tc.on {
				t.Errorf("calibrated on %q, want %q", m.Header.Training.CalibratedOn, tc.on)
			}
			if rep.Held.PRAUC < 0.95 {
				t.Errorf("held-out PR-AUC %.3f, want >= 0.95 on separable templates", rep.Held.PRAUC)
			}
			if th := m.Header.Thresholds; !(0 < th.Review && th.Review <= th.Block && th.Block <= 1) || th.Why == "" {
				t.Errorf("thresholds %+v: want 0 < review <= block <= 1 and a reason", th)
			}
			var ds detect.Scratch
			var c Confusion
			for _, e := range test {
				p, contrib := m.Score(e.Listing, d.Detect(e.Listing, &ds))
				if p < 0 || p > 1 {
					t.Fatalf("%s: score %v outside [0, 1]", e.Listing.Title, p)
				}
				if len(contrib) == 0 {
					t.Fatalf("%s: no contributions", e.Listing.Title)
				}
				c.Add(p >= 0.5, e.Positive)
			}
			if c.F1() < 0.95 {
				t.Errorf("test F1 %.3f (%+v), want >= 0.95", c.F1(), c)
			}
		})
	}
}

// TestTrainPrior checks that a prior shifts the calibration by the
// difference of log-odds between it and the held-out share, and nothing
// else: the weights and the ranking stay the same, scores fall at a rarer
// prior, and a prior outside (0, 1) is refused.
func TestTrainPrior(t *testing.T) {
	d, _ := testDetector(t)
	data := synthetic(400, 11)
	plain, _, err := Train(d, data, nil, TrainOptions{Bits: 14})
	if err != nil {
		t.Fatal(err)
	}
	rare, rep, err := Train(d, data, nil, TrainOptions{Bits: 14, Prior: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	share := float64(plain.Header.Training.Positives) / float64(plain.Header.Training.Examples)
	wantShift := logit(0.05) - logit(share)
	if got := rare.Header.Calibration.B - plain.Header.Calibration.B; abs(got-wantShift) > 1e-9 || rare.Header.Calibration.A != plain.Header.Calibration.A {
		t.Errorf("calibration %+v → %+v: intercept shift %.4f, want %.4f and the same slope", plain.Header.Calibration, rare.Header.Calibration, got, wantShift)
	}
	if rare.Header.Training.Prior != 0.05 || plain.Header.Training.Prior != 0 {
		t.Errorf("recorded priors %v and %v, want 0.05 and none", rare.Header.Training.Prior, plain.Header.Training.Prior)
	}
	if !strings.Contains(rep.Thresholds.Why, "5.0% positives") {
		t.Errorf("thresholds' reason does not name the prior: %s", rep.Thresholds.Why)
	}
	var ds detect.Scratch
	for _, e := range data[:50] {
		f := d.Detect(e.Listing, &ds)
		p0, _ := plain.Score(e.Listing, f)
		p1, _ := rare.Score(e.Listing, f)
		if p1 > p0 || (p0 > 0.01 && p0 < 0.99 && p1 >= p0) {
			t.Fatalf("%s: %.4f at the data's share, %.4f at a 5%% prior: want lower", e.Listing.Title, p0, p1)
		}
	}
	for _, prior := range []float64{-0.1, 1, 1.5} {
		if _, _, err := Train(d, data, nil, TrainOptions{Bits: 14, Prior: prior}); !errors.Is(err, ErrPrior) {
			t.Errorf("prior %v: err = %v, want ErrPrior", prior, err)
		}
	}
}

func TestScoreNamesSignalsAndText(t *testing.T) {
	d, _ := testDetector(t)
	m, _, err := Train(d, synthetic(400, 6), nil, TrainOptions{Bits: 16})
	if err != nil {
		t.Fatalf("Train: %v", err)
	}
	l := &wildwarden.Listing{ID: "x", Title: "antique ivory netsuke for sale, $900"}
	_, contrib := m.Score(l, d.Detect(l, new(detect.Scratch)))
	if _, ok := contrib["lexicon.product"]; !ok {
		t.Errorf("contributions %v lack the signal lexicon.product", contrib)
	}
	textual := 0
	for name := range contrib {
		if strings.HasPrefix(name, "word:") || strings.HasPrefix(name, "chars:") || strings.HasPrefix(name, "bigram:") {
			textual++
		}
	}
	if textual == 0 || textual > topFeatures {
		t.Errorf("contributions %v: want 1..%d text features", contrib, topFeatures)
	}
}

func trainedBytes(t testing.TB) []byte {
	t.Helper()
	d, _ := testDetector(t)
	m, _, err := Train(d, synthetic(200, 9), nil, TrainOptions{Bits: 12, Epochs: 2})
	if err != nil {
		t.Fatalf("Train: %v", err)
	}
	b, err := m.Encode()
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return b
}

func TestModelFileRoundTrip(t *testing.T) {
	d, _ := testDetector(t)
	data := trainedBytes(t)
	m, err := Decode(data)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	again, err := m.Encode()
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if !bytes.Equal(data, again) {
		t.Fatalf("decode then encode changed the file")
	}
	if !strings.HasPrefix(m.Version(), "clf-") || len(m.Version()) != len("clf-")+12 {
		t.Errorf("version %q, want clf- and 12 hex digits", m.Version())
	}
	path := t.TempDir() + "/m.ww"
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	m.Bind(d.Normalizer(), nil)
	loaded.Bind(d.Normalizer(), nil)
	l := &wildwarden.Listing{ID: "x", Title: "carved ivory figure for sale"}
	f := d.Detect(l, new(detect.Scratch))
	a, _ := m.Score(l, f)
	b, _ := loaded.Score(l, f)
	if a != b || loaded.Version() != m.Version() {
		t.Errorf("loaded model scores %v (%s), decoded %v (%s)", b, loaded.Version(), a, m.Version())
	}
}

func TestDecodeRejectsCorruptFiles(t *testing.T) {
	good := trainedBytes(t)
	m, _ := Decode(good)
	reencode := func(edit func(h *Header)) []byte {
		h := m.Header
		edit(&h)
		b, err := encode(h, m.weights, m.bias)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 0x55
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "bad magic"},
		{"not a model", []byte("{\"id\": 1}\n"), "bad magic"},
		{"magic only", good[:len(magic)], "gzip"},
		{"truncated header", good[:len(magic)+40], "truncated"},
		{"truncated weights", good[:len(good)*3/4], "truncated"},
		{"missing gzip trailer", good[:len(good)-4], ""},
		{"flipped byte", flipped, ""},
		{"trailing garbage", append(append([]byte(nil), good...), "junk"...), ""},
		{"future format", reencode(func(h *Header) { h.Format = FormatVersion + 1 }), "format version"},
		{"other feature set", reencode(func(h *Header) { h.FeatureSet = "other" }), "feature set"},
		{"bits out of range", reencode(func(h *Header) { h.Bits = 40 }), "hash bits"},
		{"bad thresholds", reencode(func(h *Header) { h.Thresholds.Review = 0.9; h.Thresholds.Block = 0.5 }), "thresholds"},
		{"no calibration", reencode(func(h *Header) { h.Calibration.Method = "" }), "calibration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.data)
			if err == nil {
				t.Fatalf("Decode accepted a corrupt file")
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %v does not wrap ErrCorrupt", err)
			}
			if tc.want != "" && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to mention %q", err, tc.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	good := trainedBytes(f)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("WWCLF\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		// A file that decodes must encode and score without panicking.
		if _, err := m.Encode(); err != nil {
			t.Fatalf("Encode after Decode: %v", err)
		}
		l := &wildwarden.Listing{ID: "x", Title: "ivory 象牙"}
		if p, _ := m.Score(l, &detect.Findings{}); p < 0 || p > 1 {
			t.Fatalf("score %v outside [0, 1]", p)
		}
	})
}

func TestChooseThresholds(t *testing.T) {
	tests := []struct {
		name               string
		scores             []Scored
		precision, recall  float64
		weights            classWeights
		wantBlock, wantRev float64
	}{
		{
			name:      "separable",
			scores:    []Scored{{0.9, true}, {0.8, true}, {0.3, false}, {0.2, false}},
			precision: 0.95, recall: 0.95,
			wantBlock: 0.8, wantRev: 0.8,
		},
		{
			name:      "one negative among the top",
			scores:    []Scored{{0.95, true}, {0.9, true}, {0.85, false}, {0.8, true}, {0.7, true}, {0.1, false}},
			precision: 0.95, recall: 0.95,
			wantBlock: 0.9, wantRev: 0.7,
		},
		{
			name:      "target out of reach",
			scores:    []Scored{{0.9, false}, {0.8, true}, {0.7, false}, {0.6, true}},
			precision: 0.99, recall: 0.5,
			wantBlock: 0.6, wantRev: 0.6,
		},
		{
			// At 0.6 precision is 3/4 as the data stands, but 0.5 when a
			// negative counts three times a positive (a rarer prior).
			name:      "as the data stands",
			scores:    []Scored{{0.9, true}, {0.8, true}, {0.7, false}, {0.6, true}, {0.5, false}},
			precision: 0.7, recall: 0.95,
			wantBlock: 0.6, wantRev: 0.6,
		},
		{
			name:      "reweighted to a rarer prior",
			scores:    []Scored{{0.9, true}, {0.8, true}, {0.7, false}, {0.6, true}, {0.5, false}},
			precision: 0.7, recall: 0.95, weights: classWeights{0.5, 1.5},
			wantBlock: 0.8, wantRev: 0.6,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.weights
			if w == (classWeights{}) {
				w = classWeights{1, 1}
			}
			got := chooseThresholds(tc.scores, tc.precision, tc.recall, w)
			if got.Block != tc.wantBlock || got.Review != tc.wantRev {
				t.Errorf("block %v review %v, want %v and %v (%s)", got.Block, got.Review, tc.wantBlock, tc.wantRev, got.Why)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	tests := []struct {
		name     string
		scores   []Scored
		wantAP   float64
		wantBest float64
	}{
		{"perfect", []Scored{{0.9, true}, {0.8, true}, {0.1, false}}, 1, 1},
		{"inverted", []Scored{{0.9, false}, {0.1, true}}, 0.5, 2.0 / 3},
		{"interleaved", []Scored{{0.9, true}, {0.8, false}, {0.7, true}, {0.6, false}}, 0.5 + 0.5*2.0/3, 0.8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			curve := PRCurve(tc.scores)
			if ap := AveragePrecision(curve); abs(ap-tc.wantAP) > 1e-9 {
				t.Errorf("average precision %v, want %v", ap, tc.wantAP)
			}
			if _, f1 := BestF1(curve); abs(f1-tc.wantBest) > 1e-9 {
				t.Errorf("best F1 %v, want %v", f1, tc.wantBest)
			}
		})
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestParseLabel(t *testing.T) {
	tests := []struct {
		extra   string
		want    bool
		wantErr string
	}{
		{`{"label":"positive"}`, true, ""},
		{`{"label":"negative"}`, false, ""},
		{`{}`, false, "missing"},
		{`{"label":"maybe"}`, false, "not positive or negative"},
		{`{"label":1}`, false, "not positive or negative"},
	}
	for _, tc := range tests {
		t.Run(tc.extra, func(t *testing.T) {
			var extra map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tc.extra), &extra); err != nil {
				t.Fatal(err)
			}
			got, err := ParseLabel(&wildwarden.Listing{ID: "x", Extra: extra})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestReportWritesEveryFormat(t *testing.T) {
	items := []EvalItem{
		{ID: "a", Positive: true, Score: 0.9, Decision: wildwarden.Block, Tags: map[string]string{"lang": "en"}},
		{ID: "b", Positive: true, Score: 0.4, Decision: wildwarden.Allow, Tags: map[string]string{"lang": "zh"}},
		{ID: "c", Positive: false, Score: 0.6, Decision: wildwarden.Review, Tags: map[string]string{"lang": "en"}},
		{ID: "d", Positive: false, Score: 0.1, Decision: wildwarden.Allow, Tags: map[string]string{}},
	}
	r := NewReport(items, []string{"lang"})
	if r.Flagged != (Confusion{TP: 1, FP: 1, TN: 1, FN: 1}) {
		t.Errorf("flagged confusion %+v", r.Flagged)
	}
	if got := len(r.Breakdowns["lang"]); got != 3 {
		t.Errorf("lang breakdown has %d rows, want 3 (en, zh, none)", got)
	}
	if len(r.FalsePositives) != 1 || r.FalsePositives[0] != "c" || len(r.FalseNegatives) != 1 || r.FalseNegatives[0] != "b" {
		t.Errorf("errors: false positives %v, false negatives %v", r.FalsePositives, r.FalseNegatives)
	}
	var md, svg, js bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil || !strings.Contains(md.String(), "| F1 (block or review) | 0.500 |") {
		t.Errorf("markdown (%v):\n%s", err, md.String())
	}
	if err := r.WriteSVG(&svg); err != nil || !strings.HasPrefix(svg.String(), "<svg") || !strings.Contains(svg.String(), "<polyline") {
		t.Errorf("svg (%v):\n%s", err, svg.String())
	}
	if err := r.WriteJSON(&js); err != nil || !json.Valid(js.Bytes()) {
		t.Errorf("json (%v)", err)
	}
}

func TestKeywordPriorMatchesKeywordModel(t *testing.T) {
	d, k := testDetector(t)
	kw := policy.NewKeywordModel(k)
	ext := NewExtractor(d.Normalizer(), kw, 12, 1)
	tests := []*wildwarden.Listing{
		{ID: "a", Title: "carved ivory figure for sale, $900"},
		{ID: "b", Title: "ivory white wedding dress"},
		{ID: "c", Title: "老白塑料手镯 出售", Kind: wildwarden.KindQuery},
		{ID: "d", Title: "oak table"},
	}
	var sc Scratch
	for _, l := range tests {
		t.Run(l.Title, func(t *testing.T) {
			f := d.Detect(l, new(detect.Scratch))
			p, _ := kw.Score(l, f)
			want := keywordScale * math.Log(p/(1-p))
			for _, ft := range ext.Extract(l, f, &sc) {
				if ft.name == FeatureKeyword {
					if math.Abs(float64(ft.value)-want) > 1e-4 {
						t.Errorf("keyword feature %v, want %v", ft.value, want)
					}
					return
				}
			}
			t.Errorf("no %s feature", FeatureKeyword)
		})
	}
}
