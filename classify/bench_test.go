package classify

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/detect"
	"github.com/wildwarden/wildwarden/kb"
	"github.com/wildwarden/wildwarden/listings"
	"github.com/wildwarden/wildwarden/policy"
	"github.com/wildwarden/wildwarden/screen"
)

// benchData reads the project's own training set: listings in every
// language, with offers, colour uses, news and ordinary traffic.
func benchData(b *testing.B) []Example {
	b.Helper()
	f, err := os.Open("traindata/train.jsonl")
	if err != nil {
		b.Skipf("training set: %v", err)
	}
	defer f.Close()
	var out []Example
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := new(wildwarden.Listing)
		if err := listings.DecodeJSON(sc.Bytes(), l); err != nil {
			b.Fatalf("training set: %v", err)
		}
		p, err := ParseLabel(l)
		if err != nil {
			b.Fatalf("training set: %v", err)
		}
		out = append(out, Example{Listing: l, Positive: p, Group: l.ExtraString("group")})
	}
	return out
}

// benchEngine loads the shipped knowledge base and default model.
func benchEngine(b *testing.B) (*detect.Detector, *Model) {
	b.Helper()
	k, err := kb.LoadDefault()
	if err != nil {
		b.Skipf("shipped knowledge base: %v", err)
	}
	d, err := detect.New(k)
	if err != nil {
		b.Fatal(err)
	}
	m, err := Default()
	if err != nil || m == nil {
		b.Skipf("default model: %v", err)
	}
	m.BindKB(k)
	return d, m
}

func bytesOf(ex []Example) int64 {
	var n int64
	for _, e := range ex {
		n += int64(len(e.Listing.Title) + len(e.Listing.Description) + len(e.Listing.Seller.Description))
	}
	return n
}

// BenchmarkDetectKeyword is the baseline: what screening costs with the
// keyword model (detector, keyword features and score).
func BenchmarkDetectKeyword(b *testing.B) {
	d, _ := benchEngine(b)
	k, _ := kb.LoadDefault()
	kw := policy.NewKeywordModel(k)
	data := benchData(b)
	b.SetBytes(bytesOf(data) / int64(len(data)))
	var ds detect.Scratch
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l := data[i%len(data)].Listing
		kw.Score(l, d.Detect(l, &ds))
	}
}

// BenchmarkDetectModel is the same with the learned default model.
func BenchmarkDetectModel(b *testing.B) {
	d, m := benchEngine(b)
	data := benchData(b)
	b.SetBytes(bytesOf(data) / int64(len(data)))
	ds := detect.Scratch{KeepViews: true} // as the engine has it for a model that reads the text
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l := data[i%len(data)].Listing
		m.Score(l, d.Detect(l, &ds))
	}
}

// BenchmarkExtract is feature extraction alone, on precomputed findings.
func BenchmarkExtract(b *testing.B) {
	d, m := benchEngine(b)
	data := benchData(b)
	findings := make([]*detect.Findings, len(data))
	for i, e := range data {
		findings[i] = d.Detect(e.Listing, new(detect.Scratch)) // findings live in their scratch
	}
	b.SetBytes(bytesOf(data) / int64(len(data)))
	var sc Scratch
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(data)
		m.ext.Extract(data[j].Listing, findings[j], &sc)
	}
}

// BenchmarkTrain100k trains on 100,000 listings (the training set repeated
// with distinct ids), the budget being 60 s on 2 cores. Run it
// alone: go test -run '^$' -bench Train100k -benchtime 1x ./classify
func BenchmarkTrain100k(b *testing.B) {
	d, _ := benchEngine(b)
	base := benchData(b)
	data := make([]Example, 0, 100000)
	for len(data) < 100000 {
		for _, e := range base {
			if len(data) == 100000 {
				break
			}
			l := *e.Listing
			l.ID = l.ID + "-" + string(rune('a'+len(data)/len(base)))
			data = append(data, Example{Listing: &l, Positive: e.Positive, Group: e.Group})
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := Train(d, data, nil, TrainOptions{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScore is what the model adds to screening: extraction, the dot
// product and the contributions, on precomputed findings that keep the
// views, as the engine has the detector do for the model.
func BenchmarkScore(b *testing.B) {
	d, m := benchEngine(b)
	data := benchData(b)
	findings := make([]*detect.Findings, len(data))
	for i, e := range data {
		findings[i] = d.Detect(e.Listing, &detect.Scratch{KeepViews: true}) // findings live in their scratch
	}
	b.SetBytes(bytesOf(data) / int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(data)
		m.Score(data[j].Listing, findings[j])
	}
}

// BenchmarkDetect is the detector alone on the same listings, the
// reference for BenchmarkScore.
func BenchmarkDetect(b *testing.B) {
	d, _ := benchEngine(b)
	data := benchData(b)
	b.SetBytes(bytesOf(data) / int64(len(data)))
	var ds detect.Scratch
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Detect(data[i%len(data)].Listing, &ds)
	}
}

// BenchmarkScreen screens listings with the whole engine (detector,
// scorer, policy), with the keyword model and with the default model, the
// measure of what the model costs `wildwarden scan` (which adds JSON
// decoding and encoding on top of both).
func BenchmarkScreen(b *testing.B) {
	k, err := kb.LoadDefault()
	if err != nil {
		b.Skipf("shipped knowledge base: %v", err)
	}
	_, m := benchEngine(b)
	data := benchData(b)
	for _, tc := range []struct {
		name   string
		scorer policy.Scorer
	}{{"keyword", nil}, {"model", m}} {
		e, err := screen.NewFromKB(k, screen.Options{Scorer: tc.scorer})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(bytesOf(data) / int64(len(data)))
			for i := 0; i < b.N; i++ {
				e.ScreenListing(data[i%len(data)].Listing)
			}
		})
	}
}

// BenchmarkScanLine is what `wildwarden scan` does per line, without the
// file reading: decode the JSON line, screen it, encode the verdict; with
// the keyword model and with the default model.
func BenchmarkScanLine(b *testing.B) {
	k, err := kb.LoadDefault()
	if err != nil {
		b.Skipf("shipped knowledge base: %v", err)
	}
	_, m := benchEngine(b)
	data := benchData(b)
	lines := make([][]byte, len(data))
	for i, e := range data {
		lines[i], _ = json.Marshal(e.Listing)
	}
	for _, tc := range []struct {
		name   string
		scorer policy.Scorer
	}{{"keyword", nil}, {"model", m}} {
		e, err := screen.NewFromKB(k, screen.Options{Scorer: tc.scorer})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(bytesOf(data) / int64(len(data)))
			var l wildwarden.Listing
			for i := 0; i < b.N; i++ {
				if err := listings.DecodeJSON(lines[i%len(lines)], &l); err != nil {
					b.Fatal(err)
				}
				if _, err := json.Marshal(e.ScreenListing(&l)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
