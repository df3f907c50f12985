package detect

import (
	"bufio"
	"os"
	"testing"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/listings"
	"github.com/wildwarden/wildwarden/text"
)

// BenchmarkAutomata runs each automaton over the views of the project's
// corpus, as Detect does, without the work done for each match: the cost of
// the tables alone.
func BenchmarkAutomata(b *testing.B) {
	d := defaultDetector(b)
	// WW_BENCH_CORPUS names another JSONL file, e.g. bench/out/corpus.jsonl
	// (its first 5,000 lines are used).
	path := "../testdata/corpus/corpus.jsonl"
	if p := os.Getenv("WW_BENCH_CORPUS"); p != "" {
		path = p
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var folded, wide, pinyin [][]byte
	var buf text.Buffer
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for lines := 0; lines < 5000 && sc.Scan(); lines++ {
		var l wildwarden.Listing
		if err := listings.DecodeJSON(sc.Bytes(), &l); err != nil {
			b.Fatal(err)
		}
		for _, s := range []string{l.Title, l.Description} {
			for _, v := range d.norm.Views(s, &buf) {
				t := append([]byte(nil), v.Text...)
				switch v.Name {
				case text.ViewFolded, text.ViewLeet:
					folded = append(folded, t)
					if !isASCIIBytes(t) {
						wide = append(wide, t)
					}
				case text.ViewPinyin:
					pinyin = append(pinyin, t)
				}
			}
		}
	}
	for _, a := range []struct {
		name  string
		texts [][]byte
		find  func([]byte, func(int, int, int))
	}{{"narrow", folded, d.folded.Find}, {"wide", wide, d.wide.Find}, {"pinyin", pinyin, d.pinyin.Find}} {
		b.Run(a.name, func(b *testing.B) {
			n, size := 0, 0
			for _, t := range a.texts {
				size += len(t)
			}
			b.SetBytes(int64(size))
			defer func() { b.ReportMetric(float64(n)/float64(b.N)/float64(size), "matches/B") }()
			for b.Loop() {
				for _, t := range a.texts {
					a.find(t, func(int, int, int) { n++ })
				}
			}
		})
	}
}
