package inspect

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/image/bank"
	"github.com/wildwarden/wildwarden/image/fetch"
	"github.com/wildwarden/wildwarden/image/pdq"
)

// BenchmarkInspect measures the image side of screening one listing with
// one 1024×768 JPEG sent as a data: URI: decode, PDQ in 8 orientations,
// and a match against a deny bank of 100,000 random hashes (no OCR, no
// cache).
func BenchmarkInspect(b *testing.B) {
	set := bank.NewSet()
	bk, err := set.Create(bank.Info{Name: "confirmed", Kind: bank.Deny})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 100_000 {
		h := pdq.Hash{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()}
		if err := bk.Add(bank.Entry{ID: strconv.Itoa(i), Hash: h, Quality: 100}); err != nil {
			b.Fatal(err)
		}
	}
	in, err := New(Config{Fetcher: fetch.New(fetch.Config{CacheEntries: -1})})
	if err != nil {
		b.Fatal(err)
	}
	l := &wildwarden.Listing{ID: "L-1", Images: []string{dataURI("image/jpeg", encodeJPEG(b, scenePhoto(3, 1024, 768), 85))}}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if r := in.Inspect(ctx, l, set); r.Images[0].Err != "" {
			b.Fatal(r.Images[0].Err)
		}
	}
}
