package classify

import (
	"math"
	"strings"
	"testing"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/detect"
	"github.com/wildwarden/wildwarden/kb"
)

// shippedModel returns the embedded default model bound to the shipped
// knowledge base, and the detector of that knowledge base.
func shippedModel(t *testing.T) (*Model, *detect.Detector) {
	t.Helper()
	k, err := kb.LoadDefault()
	if err != nil {
		t.Fatalf("shipped knowledge base: %v", err)
	}
	d, err := detect.New(k)
	if err != nil {
		t.Fatalf("detector: %v", err)
	}
	m, err := Default()
	if err != nil || m == nil {
		t.Fatalf("default model: %v", err)
	}
	m.BindKB(k)
	return m, d
}

// scoringListings cover every tokenizer path: Latin words, runs of Han,
// kana and Thai, emoji, pinyin, seller text, digits and punctuation, and a
// description long enough to grow the scratch buffers.
var scoringListings = []*wildwarden.Listing{
	{ID: "en", Title: "Carved ivory bangle, antique, $900", Description: "DM for price. Pre-ban ivory with papers."},
	{ID: "zh", Title: "老白塑料手镯 出 加V", Description: "私聊价格，象芽 手串，犀角杯", Lang: "zh"},
	{ID: "ja", Title: "象牙の置物 アンティーク 送料無料", Lang: "ja"},
	{ID: "th", Title: "ขายงาช้างแท้ ราคาถูก ส่งฟรี", Lang: "th"},
	{ID: "emoji", Title: "🐘🦷 for sale, whatsapp me", Seller: wildwarden.Seller{Name: "Old Curios", Description: "antiques dealer, WhatsApp in bio"}},
	{ID: "mixed", Title: "ivory象牙 x2 1v0ry", Description: strings.Repeat("vintage bracelet 手镯 pulsera antigua ", 80), Kind: wildwarden.KindQuery},
	{ID: "plain", Title: "oak table"},
	{ID: "empty", Title: "!!!"},
}

// TestScoreMatchesExtract checks that scoring features as they are found
// (Model.Score, Model.Margin) gives the margin and the named text features
// that the recorded features (Extract, which training uses) give.
func TestScoreMatchesExtract(t *testing.T) {
	m, d := shippedModel(t)
	a := m.Header.Calibration.A
	for _, l := range scoringListings {
		t.Run(l.ID, func(t *testing.T) {
			f := d.Detect(l, &detect.Scratch{KeepViews: true})
			var sc Scratch
			feats := m.ext.Extract(l, f, &sc)
			want := float64(m.bias)
			// The few non-signal features that weigh most, earliest
			// first among equals, as Score ranks them.
			type named struct {
				name string
				w    float64
			}
			var top []named
			for i := range feats {
				w := float64(m.weights[feats[i].index] * feats[i].value)
				want += w
				if w == 0 || feats[i].ns&^nsSellerOf == nsSignal {
					continue
				}
				k := 0
				for k < len(top) && math.Abs(top[k].w) >= math.Abs(w) {
					k++
				}
				if k < topFeatures {
					top = append(top[:k], append([]named{{sc.featureName(&feats[i]), w}}, top[k:]...)...)
					top = top[:min(len(top), topFeatures)]
				}
			}
			if got := m.Margin(l, f); math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
				t.Errorf("Margin %.6f, recorded features give %.6f", got, want)
			}
			p, contrib := m.Score(l, f)
			if wantP := m.Probability(want); math.Abs(p-wantP) > 1e-4 {
				t.Errorf("Score %.6f, recorded features give %.6f", p, wantP)
			}
			// Features of the same text (a word in the title and in the
			// description) add up under their name.
			wantContrib := map[string]float64{}
			for _, n := range top {
				wantContrib[n.name] += a * n.w
			}
			for name, w := range wantContrib {
				if got, ok := contrib[name]; !ok || math.Abs(got-w) > 1e-9 {
					t.Errorf("contribution of %q: %v (present %v), want %v; contributions %v", name, got, ok, w, contrib)
				}
			}
		})
	}
}

// TestTextFeaturesDependOnTheirTextOnly checks that a word, a bigram, a
// character n-gram or a pair of syllables lands in the same bucket
// wherever it stands, and that the text features of a title, all of
// different text, land in different buckets: the rolling keys of the
// tokenizers must carry nothing over from their neighbours and lose
// nothing of their own text.
func TestTextFeaturesDependOnTheirTextOnly(t *testing.T) {
	m, d := shippedModel(t)
	tests := []struct {
		a, b   string
		shared []string // feature names both must have
	}{
		{"carved ivory bangle", "old ivory bangle for sale", []string{"word:ivory", "word:bangle", "bigram:ivory bangle"}},
		{"老白塑料手镯", "白塑料", []string{"chars:白塑", "chars:白塑料", "chars:塑料"}},
		{"老白塑料 新白塑料", "新白塑料", []string{"chars:新白塑", "chars:白塑料", "word:新白塑料"}},
		{"象牙手镯 出售", "老 象牙", []string{"chars:象牙", "pinyin:xiang ya"}},
		{"ขายงาช้างแท้", "งาช้าง", []string{"chars:งาช"}},
		{"ivory 🐘 tusk", "🐘 tusk", []string{"word:elephant", "bigram:elephant tusk"}}, // emoji are named
	}
	indexes := func(title string) map[string]uint32 {
		l := &wildwarden.Listing{ID: "x", Title: title, Lang: "zh"}
		f := d.Detect(l, &detect.Scratch{KeepViews: true})
		var sc Scratch
		out := map[string]uint32{}
		for _, ft := range m.ext.Extract(l, f, &sc) {
			out[sc.featureName(&ft)] = ft.index
		}
		return out
	}
	for _, tc := range tests {
		t.Run(tc.a+"|"+tc.b, func(t *testing.T) {
			a, b := indexes(tc.a), indexes(tc.b)
			byIndex := map[uint32]string{}
			for name, i := range a {
				if strings.HasPrefix(name, "signal:") {
					continue
				}
				if other, ok := byIndex[i]; ok {
					t.Errorf("%s and %s share bucket %d", name, other, i)
				}
				byIndex[i] = name
			}
			for _, name := range tc.shared {
				ia, okA := a[name]
				ib, okB := b[name]
				if !okA || !okB {
					t.Errorf("%s: in %q %v, in %q %v; features %v and %v", name, tc.a, okA, tc.b, okB, a, b)
					continue
				}
				if ia != ib {
					t.Errorf("%s: bucket %d in %q, %d in %q", name, ia, tc.a, ib, tc.b)
				}
			}
		})
	}
}

// TestSparseWeightsMatchDense checks the compact weights against the
// dense ones, bucket by bucket.
func TestSparseWeightsMatchDense(t *testing.T) {
	const size = 1 << 10
	every := func(f func(i int) float32) []float32 {
		w := make([]float32, size)
		for i := range w {
			w[i] = f(i)
		}
		return w
	}
	tests := []struct {
		name  string
		dense []float32
	}{
		{"all zero", every(func(int) float32 { return 0 })},
		{"none zero", every(func(i int) float32 { return float32(i) - 511.5 })},
		{"sparse", every(func(i int) float32 {
			if i%7 == 3 || i%64 == 0 {
				return float32(i%13) - 6.5
			}
			return 0
		})},
		{"last bucket only", every(func(i int) float32 {
			if i == size-1 {
				return -2
			}
			return 0
		})},
		{"negative zero", every(func(i int) float32 { return float32(math.Copysign(0, -1)) })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSparseWeights(tc.dense)
			for i, w := range tc.dense {
				if got := s.at(uint32(i)); got != w {
					t.Fatalf("bucket %d: %v, want %v", i, got, w)
				}
			}
		})
	}
}
