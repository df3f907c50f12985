package http

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wildwarden/wildwarden"
)

// Each decoder of untrusted request bodies gets a fuzz target. The seed
// corpus runs in every `go test`; `go test -fuzz FuzzX ./http` explores.
// Every decoder must return a value or a domain error with a 4xx code, and
// never panic.

var seeds = []string{
	``, `{}`, `null`, `[]`, `{"id":"L-1","title":"x"}`, `{"id":5}`, "{\"id\":\"a\",\"title\":\"\xff\"}",
	`{"listings":[{"id":"a","title":"x"},{"title":"y"}]}`, `{"listings":{}}`,
	`{"action":"remove","reasons":["a"],"note":"n"}`, `{"listing_id":"L","reason":"r"}`, `{"url":"http://x/"}`,
	`{"query":"q","lang":"zh-TW"}`, `{"type":"click"}`, `{"n":3}`, `{"a":[1,{"b":"\u00e9"}]} trailing`,
	"{\"seller\":{\"name\":[\"\xc3\x28\"]}}", `{"id":"x","title":"y","extra":{"deep":[[[[1]]]]}}`,
}

func checkDecodeErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	switch wildwarden.ErrorCode(err) {
	case wildwarden.EINVALID, wildwarden.ETOOLARGE:
	default:
		t.Fatalf("decoder returned %v (code %q), want an invalid or too-large error", err, wildwarden.ErrorCode(err))
	}
}

func fuzzDecoder[T any](f *testing.F, decode func([]byte) (T, error)) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := decode(body)
		checkDecodeErr(t, err)
		if err == nil && !utf8.Valid(body) {
			t.Fatalf("accepted invalid UTF-8: %q", body)
		}
	})
}

func FuzzDecodeListing(f *testing.F)     { fuzzDecoder(f, decodeListing) }
func FuzzDecodeBatch(f *testing.F)       { fuzzDecoder(f, decodeBatch) }
func FuzzDecodeDecision(f *testing.F)    { fuzzDecoder(f, decodeDecision) }
func FuzzDecodeReport(f *testing.F)      { fuzzDecoder(f, decodeReport) }
func FuzzDecodeAppeal(f *testing.F)      { fuzzDecoder(f, decodeAppeal) }
func FuzzDecodeSearchCheck(f *testing.F) { fuzzDecoder(f, decodeSearchCheck) }
func FuzzDecodeSearchEvent(f *testing.F) { fuzzDecoder(f, decodeSearchEvent) }
func FuzzDecodeWebhook(f *testing.F)     { fuzzDecoder(f, decodeWebhook) }
func FuzzDecodeAuditSample(f *testing.F) {
	fuzzDecoder(f, func(b []byte) (auditSampleRequest, error) {
		var req auditSampleRequest
		return req, decodeJSON(b, &req)
	})
}

// FuzzInvalidUTF8Field checks that the field finder never panics and names
// a field whenever the input holds invalid UTF-8.
func FuzzInvalidUTF8Field(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if got := invalidUTF8Field(body); got == "" {
			t.Fatalf("invalidUTF8Field(%q) = empty", body)
		}
	})
}

// FuzzVerifySignature checks that a webhook receiver's parser of the
// untrusted signature header never panics, rejects with one of its three
// reasons, and accepts only a header that holds the body's signature.
func FuzzVerifySignature(f *testing.F) {
	const secret = "whsec_fuzz"
	body := []byte(`{"id":"E-1"}`)
	now := time.Unix(1700000000, 0)
	good := Sign(secret, body, now)
	for _, s := range []string{good, good + "," + good, "", ",", "=", "t=", "v1=", "t=1,v1=", "t=-1," + good[13:],
		"sha256=00", "t=99999999999999999999,v1=00", good[:20], strings.ToUpper(good), " " + good + " "} {
		f.Add(s)
	}
	want := hex.EncodeToString(signatureMAC(secret, "1700000000", body))
	f.Fuzz(func(t *testing.T, header string) {
		err := VerifySignature(secret, body, header, now, 0)
		switch {
		case err == nil:
			if !strings.Contains(strings.ToLower(header), want) {
				t.Fatalf("accepted %q, which lacks the signature", header)
			}
		case !errors.Is(err, ErrSignatureMalformed) && !errors.Is(err, ErrSignatureMismatch) && !errors.Is(err, ErrSignatureExpired):
			t.Fatalf("VerifySignature(%q) = %v, not one of its reasons", header, err)
		}
	})
}

func TestInvalidUTF8Field(t *testing.T) {
	tests := []struct{ body, want string }{
		{"{\"title\":\"\xff\"}", "title"},
		{"{\"a\":1,\"seller\":{\"id\":\"x\",\"name\":\"\xff\"}}", "seller.name"},
		{"{\"listings\":[{\"id\":\"a\"},{\"id\":\"b\",\"images\":[\"ok\",\"\xff\"]}]}", "listings[1].images[1]"},
		{"\"\xff\"", "body"},
		{"{\"a\":[[1,2],[3,\"\xff\"]]}", "a[1][1]"},
	}
	for _, tt := range tests {
		if got := invalidUTF8Field([]byte(tt.body)); got != tt.want {
			t.Errorf("invalidUTF8Field(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}
