package listings

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wildwarden/wildwarden"
)

var decodeSeeds = []string{
	`{"id":"L-1","kind":"listing","platform":"shop-a","lang":"zh","title":"老白塑料手镯","description":"…","price":1200,"currency":"CNY","seller":{"id":"S-9","name":"n","description":"d","x":1},"images":["https://x/1.jpg","data:image/png;base64,AA=="],"url":"https://x","created_at":"2026-11-28T10:00:00Z","label":"positive","tags":{"a":[1,2,{"b":null}]}}`,
	`{"id":"e","title":"t\u00e9\ud83d\udc18\n\"q\"\\/","price":-1.5e3}`,
	`{"id":"x","title":"\ud800 lone"}`,
	`{"id":"x","images":[null,"a"],"seller":null,"price":null,"created_at":null}`,
	`{"id":"x","title":"a","title":"b","z":1,"z":2}`,
	`  {"id" : "x" , "title":"y"}  `,
	`{"id":"x","price":"12"}`,
	`{"id":"x","price":012}`,
	`{"id":"x","title":5}`,
	`{"id":"x","images":"a"}`,
	`{"id":"x"} trailing`,
	`{"id":"x","created_at":"yesterday"}`,
	`[]`, `null`, `{`, `{"id":"x",}`, `{"id":"x\u12"}`, `{"a":[1,2,]}`,
	`{"id":"x","e":1e}`, `{"id":"x","e":-}`, `{"id":"x","e":tru}`,
}

func TestDecodeListing(t *testing.T) {
	var l wildwarden.Listing
	if err := decodeListing([]byte(decodeSeeds[0]), &l); err != nil {
		t.Fatal(err)
	}
	if l.ID != "L-1" || l.Title != "老白塑料手镯" || *l.Price != 1200 || l.Seller.Description != "d" ||
		len(l.Images) != 2 || l.CreatedAt.Year() != 2026 || l.ExtraString("label") != "positive" ||
		string(l.Extra["tags"]) != `{"a":[1,2,{"b":null}]}` {
		t.Errorf("decoded wrongly: %+v", l)
	}
	for _, bad := range []string{`{"id":"x","price":"12"}`, `{"id":"x","title":5}`, `[]`, `{"id":"x"} trailing`} {
		if err := decodeListing([]byte(bad), &l); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	if err := decodeListing([]byte(`{"id":"x","title":5}`), &l); err == nil || !strings.Contains(err.Error(), `"title"`) {
		t.Errorf("type error does not name the field: %v", err)
	}
}

// FuzzDecodeAgreesWithStd holds the fast decoder to encoding/json's reading
// of the same bytes: the same error-or-not, the same listing.
func FuzzDecodeAgreesWithStd(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) {
			return // DecodeJSON refuses invalid UTF-8 before decoding
		}
		var std wildwarden.Listing
		stdErr := json.Unmarshal(data, &std)
		var fast, shared wildwarden.Listing
		fastErr := decodeListing(data, &fast)
		sharedErr := decodeListingWith(decoder{data: data, share: true}, &shared)
		if (fastErr == nil) != (sharedErr == nil) || fastErr == nil && !reflect.DeepEqual(fast, shared) {
			t.Fatalf("%q: copying and sharing decoders differ: %v / %v", data, fastErr, sharedErr)
		}
		if stdErr == nil && std.Extra == nil && !strings.HasPrefix(strings.TrimSpace(string(data)), "{") {
			return // null and the like: encoding/json accepts them as no-ops
		}
		if hasFoldedKey(data) {
			return // encoding/json matches keys case-insensitively; the contract is exact
		}
		if (stdErr == nil) != (fastErr == nil) {
			t.Fatalf("%q: encoding/json error %v, fast decoder error %v", data, stdErr, fastErr)
		}
		if stdErr == nil && !reflect.DeepEqual(normalize(std), normalize(fast)) {
			t.Fatalf("%q:\nencoding/json %+v\nfast decoder  %+v", data, std, fast)
		}
	})
}

// normalize makes equal listings compare equal: raw JSON in Extra compacted.
func normalize(l wildwarden.Listing) wildwarden.Listing {
	for k, v := range l.Extra {
		var b bytes.Buffer
		if err := json.Compact(&b, v); err == nil {
			l.Extra[k] = json.RawMessage(b.String())
		}
	}
	return l
}

// hasFoldedKey reports whether any object key in data case-folds to a known
// field name without being it.
func hasFoldedKey(data []byte) bool {
	known := []string{"id", "kind", "platform", "lang", "title", "description", "price", "currency", "seller", "images", "url", "created_at", "name"}
	s := strings.ToLower(string(data))
	for _, k := range known {
		if strings.Count(s, `"`+k+`"`) != strings.Count(string(data), `"`+k+`"`) || strings.Contains(s, `\u`) || strings.Contains(s, "\u017f") || strings.Contains(s, "\u212a") {
			return true
		}
	}
	return false
}

func BenchmarkDecode(b *testing.B) {
	data := []byte(decodeSeeds[0])
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var l wildwarden.Listing
			if err := decodeListing(data, &l); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var l wildwarden.Listing
			if err := json.Unmarshal(data, &l); err != nil {
				b.Fatal(err)
			}
		}
	})
}
