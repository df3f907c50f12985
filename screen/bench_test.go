package screen

import (
	"bufio"
	"os"
	"testing"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/listings"
)

// BenchmarkScreen measures decoding and screening listings from a JSON
// Lines file named by WW_BENCH_CORPUS (bench/scan.sh writes one), or a few
// built-in listings.
func BenchmarkScreen(b *testing.B) {
	lines := [][]byte{
		[]byte(`{"id":"1","title":"Vintage carved bangle, excellent condition","description":"Ships worldwide. Message me for price and more photos.","price":120}`),
		[]byte(`{"id":"2","title":"老白塑料手镯 包邮","description":"私聊价格，支持验货，量大从优。加V详聊","price":1200,"currency":"CNY"}`),
	}
	if path := os.Getenv("WW_BENCH_CORPUS"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		lines = nil
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() && len(lines) < 20000 {
			lines = append(lines, append([]byte(nil), sc.Bytes()...))
		}
	}
	var size int64
	for _, l := range lines {
		size += int64(len(l))
	}
	e := testEngine(b)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		for _, line := range lines {
			var l wildwarden.Listing
			if err := listings.DecodeJSON(line, &l); err != nil {
				b.Fatal(err)
			}
			e.ScreenListing(&l)
		}
	}
}
