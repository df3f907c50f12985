package wildwarden

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// checkListingJSON holds AppendJSON to json.Marshal: the same bytes after a
// prefix it must keep, or an error exactly when json.Marshal fails.
func checkListingJSON(t testing.TB, l *Listing) {
	t.Helper()
	prefix := []byte("prefix:")
	got, gotErr := l.AppendJSON(bytes.Clone(prefix))
	want, wantErr := json.Marshal(l)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("AppendJSON error %v, json.Marshal error %v", gotErr, wantErr)
	}
	if wantErr != nil {
		if !bytes.Equal(got, prefix) {
			t.Fatalf("AppendJSON failed but changed the buffer to %q", got)
		}
		return
	}
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("AppendJSON lost the prefix: %q", got)
	}
	if got = got[len(prefix):]; !bytes.Equal(got, want) {
		t.Fatalf("AppendJSON:\n got %s\nwant %s", got, want)
	}
}

func pricePtr(p float64) *float64 { return &p }

func TestListingAppendJSONMatchesEncodingJSON(t *testing.T) {
	east := time.FixedZone("east", 5*3600+30*60)
	west := time.FixedZone("west", -(7*3600 + 15))
	tests := []struct {
		name    string
		listing *Listing
	}{
		{"nil listing", nil},
		{"all fields empty", &Listing{}},
		{"every field", &Listing{ID: "L-1", Kind: KindListing, Platform: "shop", Lang: "zh",
			Title: "白塑料 carving", Description: "old piece", Price: pricePtr(1200.5), Currency: "CNY",
			Seller: Seller{ID: "S-1", Name: "Ann", Description: "collector"}, Images: []string{"a.jpg", "b.jpg"},
			URL: "https://shop.example/l/1?a=1&b=2", CreatedAt: time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC),
			ImageText: "never written"}},
		{"HTML characters", &Listing{ID: "<id>&", Title: "<b>ivory</b> & horn", Images: []string{"<&>"},
			Seller: Seller{Name: "a&b"}, URL: "https://x.example/?a=1&b=<2>"}},
		{"invalid UTF-8", &Listing{ID: "\xff", Title: "a\xc3\x28b", Description: "\xed\xa0\x80", Seller: Seller{Name: "\xe2\x80"}}},
		{"U+2028 and U+2029", &Listing{ID: "x", Title: "line\u2028para\u2029end"}},
		{"control characters", &Listing{ID: "x", Title: "\x00\x01\x1f\b\f\n\r\t\"\\\x7f", Images: []string{"\t"}}},
		{"zero price", &Listing{ID: "x", Price: pricePtr(0)}},
		{"negative zero price", &Listing{ID: "x", Price: pricePtr(math.Copysign(0, -1))}},
		{"price 1e21", &Listing{ID: "x", Price: pricePtr(1e21)}},
		{"price just below 1e21", &Listing{ID: "x", Price: pricePtr(999999999999999900000)}},
		{"price 1e-7", &Listing{ID: "x", Price: pricePtr(1e-7)}},
		{"price 1e-6", &Listing{ID: "x", Price: pricePtr(1e-6)}},
		{"price with binary fraction", &Listing{ID: "x", Price: pricePtr(123456789.125)}},
		{"negative price", &Listing{ID: "x", Price: pricePtr(-42.75)}},
		{"tiny negative price", &Listing{ID: "x", Price: pricePtr(-5e-324)}},
		{"largest price", &Listing{ID: "x", Price: pricePtr(math.MaxFloat64)}},
		{"NaN price", &Listing{ID: "x", Price: pricePtr(math.NaN())}},
		{"infinite price", &Listing{ID: "x", Price: pricePtr(math.Inf(-1))}},
		{"time in a zone east", &Listing{ID: "x", CreatedAt: time.Date(2025, 12, 31, 23, 59, 59, 123456000, east)}},
		{"time in a zone with seconds", &Listing{ID: "x", CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, west)}},
		{"zero time in a zone", &Listing{ID: "x", CreatedAt: time.Time{}.In(east)}},
		{"time at the epoch", &Listing{ID: "x", CreatedAt: time.Unix(0, 0)}},
		{"time with a monotonic reading", &Listing{ID: "x", CreatedAt: time.Now()}},
		{"year 10000", &Listing{ID: "x", CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"negative year", &Listing{ID: "x", CreatedAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"zone offset of 24 hours", &Listing{ID: "x", CreatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("far", 24*3600))}},
		{"empty but non-nil images", &Listing{ID: "x", Images: []string{}}},
		{"empty image name", &Listing{ID: "x", Images: []string{""}}},
		{"seller with one field", &Listing{ID: "x", Seller: Seller{Description: "d"}}},
		{"empty Extra", &Listing{ID: "x", Extra: map[string]json.RawMessage{}}},
		{"Extra with whitespace and nesting", &Listing{ID: "x", Title: "t", Extra: map[string]json.RawMessage{
			"label":  json.RawMessage(` "ivory" `),
			"tags":   json.RawMessage("[ 1 ,\n\t{ \"a\" : [ true , null ] } ]"),
			"nested": json.RawMessage(`{"b": {"c": " spaced \" string "}}`),
			"Zed":    json.RawMessage(`-1.50e+3`),
		}}},
		{"Extra with HTML characters", &Listing{ID: "x", Extra: map[string]json.RawMessage{
			"<k&>":  json.RawMessage(`"<b>&amp;</b>"`),
			"u2028": json.RawMessage("\"a\u2028b\u2029c\""),
		}}},
		{"Extra with escapes and invalid UTF-8", &Listing{ID: "x", Extra: map[string]json.RawMessage{
			"esc":  json.RawMessage(`"quote \" slash \\ unicode \u00e9 \\"`),
			"bad":  json.RawMessage("\"\xff\xfe\""),
			"\xff": json.RawMessage(`1`),
		}}},
		{"Extra with a nil value", &Listing{ID: "x", Extra: map[string]json.RawMessage{"nil": nil}}},
		{"Extra with an empty value", &Listing{ID: "x", Extra: map[string]json.RawMessage{"empty": {}}}},
		{"Extra with invalid JSON", &Listing{ID: "x", Extra: map[string]json.RawMessage{"bad": json.RawMessage(`{"a":}`)}}},
		{"Extra naming a known field", &Listing{ID: "x", Extra: map[string]json.RawMessage{"id": json.RawMessage(`"y"`)}}},
		{"Extra with many keys", &Listing{ID: "x", Extra: map[string]json.RawMessage{
			"k1": json.RawMessage(`1`), "k2": json.RawMessage(`2`), "k3": json.RawMessage(`3`),
			"k4": json.RawMessage(`4`), "k5": json.RawMessage(`5`), "k6": json.RawMessage(`6`),
			"k7": json.RawMessage(`7`), "k8": json.RawMessage(`8`), "k9": json.RawMessage(`9`),
			"k10": json.RawMessage(`10`),
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkListingJSON(t, tt.listing)
		})
	}
}

// TestContentHashMatchesEncodingJSON pins ContentHash to the hash it had
// when it hashed json.Marshal: stored hashes must not change on upgrade.
func TestContentHashMatchesEncodingJSON(t *testing.T) {
	listings := []*Listing{
		{ID: "L-1", Title: "<ivory> & horn", Price: pricePtr(12.5), Seller: Seller{Name: "n"},
			CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
			Extra:     map[string]json.RawMessage{"label": json.RawMessage(` "x" `)}},
		{ID: "NaN", Price: pricePtr(math.NaN())},
		{ID: "bad extra", Extra: map[string]json.RawMessage{"x": json.RawMessage(`nope`)}},
	}
	for _, l := range listings {
		c := *l
		c.CreatedAt = time.Time{}
		data, _ := json.Marshal(c)
		sum := sha256.Sum256(data)
		if got, want := ContentHash(l), hex.EncodeToString(sum[:]); got != want {
			t.Errorf("ContentHash(%q) = %s, want %s", l.ID, got, want)
		}
	}
}

func FuzzListingAppendJSON(f *testing.F) {
	f.Add("L-1", "<b>白塑料</b>\u2028", "seller\xff", "a.jpg", 1200.5, true, int64(1767225600), int64(123), 19800, "label", []byte(` { "a" : [1, "<&>"] } `))
	f.Add("", "", "", "", 0.0, false, int64(0), int64(0), 0, "", []byte(nil))
	f.Add("x", "\x00\t\"\\", "", "", 1e21, true, int64(-62135596800), int64(0), -25215, "\xff", []byte(`"\u00e9\""`))
	f.Add("x", "t", "", "", math.NaN(), true, int64(253402300800), int64(0), 0, "bad", []byte(`{`))
	f.Fuzz(func(t *testing.T, id, title, sellerName, image string, price float64, hasPrice bool,
		unixSec, unixNsec int64, zoneOffset int, extraKey string, extraValue []byte) {
		l := &Listing{ID: id, Title: title, Description: title + image, Seller: Seller{Name: sellerName}, URL: image}
		if hasPrice {
			l.Price = &price
		}
		if image != "" {
			l.Images = []string{image, title}
		}
		if unixSec != 0 || unixNsec != 0 {
			l.CreatedAt = time.Unix(unixSec, unixNsec).In(time.FixedZone("fuzz", zoneOffset))
		}
		if extraKey != "" || extraValue != nil {
			l.Extra = map[string]json.RawMessage{extraKey: extraValue, "zz" + extraKey: json.RawMessage("[ " + string(AppendJSONString(nil, title)) + " ]")}
		}
		checkListingJSON(t, l)
	})
}

// BenchmarkListingAppendJSON compares the hand-written encoder with
// json.Marshal, its baseline, on a typical listing without Extra.
func BenchmarkListingAppendJSON(b *testing.B) {
	l := &Listing{ID: "L-20260304-000123", Kind: KindListing, Platform: "shop", Lang: "en",
		Title:       "Antique carved white bangle, old material, 62mm",
		Description: "Hand carved bangle from an estate sale. Creamy colour with fine grain lines, heavy. Ships worldwide, PM for more photos & details.",
		Price:       pricePtr(850), Currency: "USD",
		Seller: Seller{ID: "S-991", Name: "estate_finds_88"},
		Images: []string{"https://img.example/l/123/1.jpg", "https://img.example/l/123/2.jpg"},
		URL:    "https://shop.example/l/123", CreatedAt: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			var err error
			if buf, err = l.AppendJSON(buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(l); err != nil {
				b.Fatal(err)
			}
		}
	})
}
