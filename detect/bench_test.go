package detect

import (
	"testing"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/kb"
)

// benchListings are a few listings of the kinds a platform sees: ordinary
// Latin-script text, Chinese with a code word, and an evasion.
var benchListings = []wildwarden.Listing{
	{ID: "en", Title: "Vintage carved bangle, excellent condition", Description: "Ships worldwide. Message me for price and more photos. Size 6 cm, weight 40 g."},
	{ID: "zh", Title: "老白塑料手镯 包浆自然", Description: "老料，懂的来，私聊价格，加V看实物，支持验货，量大从优。"},
	{ID: "evasion", Title: "Carved і.v.о.r.у bangle, old stock", Description: "Heavy piece, DM for price. 1v0ry, not resin."},
}

// defaultDetector is built on the embedded knowledge base.
func defaultDetector(tb testing.TB) *Detector {
	tb.Helper()
	k, err := kb.LoadDefault()
	if err != nil {
		tb.Fatal(err)
	}
	d, err := New(k)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func BenchmarkDetect(b *testing.B) {
	d := defaultDetector(b)
	for _, l := range benchListings {
		b.Run(l.ID, func(b *testing.B) {
			var sc Scratch
			b.SetBytes(int64(len(l.Title) + len(l.Description)))
			for b.Loop() {
				d.Detect(&l, &sc)
			}
		})
	}
}
