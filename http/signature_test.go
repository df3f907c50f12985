package http_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	wwhttp "github.com/wildwarden/wildwarden/http"
)

// TestSignKnownVector pins the scheme to the value openssl computes, as a
// receiver following docs/API.md would:
// printf '%s' '1700000000.{"id":"E-1","type":"block"}' | openssl dgst -sha256 -hmac whsec_test
func TestSignKnownVector(t *testing.T) {
	got := wwhttp.Sign("whsec_test", []byte(`{"id":"E-1","type":"block"}`), time.Unix(1700000000, 0))
	want := "t=1700000000,v1=5169a181877c089dd44e2cbabaa810b7463a5338838db3de809bbc8587560a2e"
	if got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestVerifySignature(t *testing.T) {
	const secret = "whsec_test"
	body := []byte(`{"id":"E-1","type":"block","listing_id":"L-1"}`)
	now := time.Unix(1700000000, 0)
	good := wwhttp.Sign(secret, body, now)
	ts, v1, _ := strings.Cut(strings.TrimPrefix(good, "t="), ",")
	other := wwhttp.Sign("another secret", body, now)
	_, otherV1, _ := strings.Cut(other, ",")
	at := func(d time.Duration) string { return wwhttp.Sign(secret, body, now.Add(d)) }
	tests := []struct {
		name      string
		secret    string
		body      []byte
		header    string
		tolerance time.Duration
		want      error // nil: accepted
	}{
		{"good", secret, body, good, 0, nil},
		{"good with spaces", secret, body, "t=" + ts + ", " + v1, 0, nil},
		{"one of several v1 matches", secret, body, "t=" + ts + "," + otherV1 + "," + v1, 0, nil},
		{"unknown items ignored", secret, body, good + ",v0=abc", 0, nil},
		{"signed 4 minutes ago", secret, body, at(-4 * time.Minute), 0, nil},
		{"signed 4 minutes ahead", secret, body, at(4 * time.Minute), 0, nil},
		{"body changed", secret, []byte(`{"id":"E-1","type":"restore","listing_id":"L-1"}`), good, 0, wwhttp.ErrSignatureMismatch},
		{"timestamp changed", secret, body, "t=" + strconv.FormatInt(now.Unix()+1, 10) + "," + v1, 0, wwhttp.ErrSignatureMismatch},
		{"wrong secret", "whsec_other", body, good, 0, wwhttp.ErrSignatureMismatch},
		{"only another secret's v1", secret, body, other, 0, wwhttp.ErrSignatureMismatch},
		{"signed 6 minutes ago", secret, body, at(-6 * time.Minute), 0, wwhttp.ErrSignatureExpired},
		{"signed 6 minutes ahead", secret, body, at(6 * time.Minute), 0, wwhttp.ErrSignatureExpired},
		{"outside a tighter tolerance", secret, body, at(-time.Minute), 30 * time.Second, wwhttp.ErrSignatureExpired},
		{"empty", secret, body, "", 0, wwhttp.ErrSignatureMalformed},
		{"old body-only scheme", secret, body, "sha256=" + strings.TrimPrefix(v1, "v1="), 0, wwhttp.ErrSignatureMalformed},
		{"no t", secret, body, v1, 0, wwhttp.ErrSignatureMalformed},
		{"no v1", secret, body, "t=" + ts, 0, wwhttp.ErrSignatureMalformed},
		{"t twice", secret, body, "t=" + ts + ",t=" + ts + "," + v1, 0, wwhttp.ErrSignatureMalformed},
		{"t not a number", secret, body, "t=yesterday," + v1, 0, wwhttp.ErrSignatureMalformed},
		{"t with a sign", secret, body, "t=+" + ts + "," + v1, 0, wwhttp.ErrSignatureMalformed},
		{"t with a leading zero", secret, body, "t=0" + ts + "," + v1, 0, wwhttp.ErrSignatureMalformed},
		{"v1 not hex", secret, body, "t=" + ts + ",v1=" + strings.Repeat("zz", 32), 0, wwhttp.ErrSignatureMalformed},
		{"v1 too short", secret, body, good[:len(good)-2], 0, wwhttp.ErrSignatureMalformed},
		{"item without =", secret, body, good + ",v1", 0, wwhttp.ErrSignatureMalformed},
		{"empty item", secret, body, good + ",", 0, wwhttp.ErrSignatureMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := wwhttp.VerifySignature(tt.secret, tt.body, tt.header, now, tt.tolerance)
			if tt.want == nil && err != nil {
				t.Fatalf("VerifySignature(%q) = %v, want accepted", tt.header, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("VerifySignature(%q) = %v, want %v", tt.header, err, tt.want)
			}
		})
	}
}
