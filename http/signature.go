package http

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultSignatureTolerance is how far a delivery's signed time may lie
// from the receiver's clock. It bounds how long a captured delivery can be
// replayed, and leaves room for clock skew and a slow network.
const DefaultSignatureTolerance = 5 * time.Minute

// Reasons VerifySignature rejects a delivery; its errors wrap one of them
// and add the detail.
var (
	ErrSignatureMalformed = errors.New("webhook signature: malformed header")
	ErrSignatureMismatch  = errors.New("webhook signature: no v1 matches the body")
	ErrSignatureExpired   = errors.New("webhook signature: timestamp outside the tolerance")
)

// Sign returns the X-Wildwarden-Signature value of a body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." and the body>". Signing
// the time with the body lets a receiver refuse a replayed delivery.
func Sign(secret string, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(signatureMAC(secret, ts, body))
}

func signatureMAC(secret, ts string, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

// VerifySignature checks a delivery's X-Wildwarden-Signature header: one of
// its v1 values must be the body's signature with the secret (compared in
// constant time), and its t must lie within tolerance of now, before or
// after (DefaultSignatureTolerance when tolerance is 0 or less). The header
// may carry several v1 values, any of which may match, and items of other
// names, which are ignored. The error wraps ErrSignatureMalformed,
// ErrSignatureMismatch or ErrSignatureExpired.
func VerifySignature(secret string, body []byte, header string, now time.Time, tolerance time.Duration) error {
	ts, sigs, err := parseSignature(header)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSignatureMalformed, err)
	}
	want := signatureMAC(secret, ts, body)
	matched := false
	for _, sig := range sigs {
		matched = hmac.Equal(sig, want) || matched
	}
	if !matched {
		return ErrSignatureMismatch
	}
	if tolerance <= 0 {
		tolerance = DefaultSignatureTolerance
	}
	unix, _ := strconv.ParseInt(ts, 10, 64) // parseSignature checked it
	signed := time.Unix(unix, 0)
	if d := now.Sub(signed); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %s, %s from now (tolerance %s)", ErrSignatureExpired, signed.UTC().Format(time.RFC3339), d.Round(time.Second), tolerance)
	}
	return nil
}

// parseSignature splits "t=…,v1=…[,v1=…]" into the timestamp as sent (the
// signed text) and the decoded v1 values.
func parseSignature(header string) (ts string, sigs [][]byte, err error) {
	if strings.TrimSpace(header) == "" {
		return "", nil, errors.New("the header is empty")
	}
	seenT := false
	for i, item := range strings.Split(header, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || name == "" {
			return "", nil, fmt.Errorf("item %d is not name=value", i+1)
		}
		switch name {
		case "t":
			if seenT {
				return "", nil, errors.New("t appears more than once")
			}
			if n, err := strconv.ParseInt(value, 10, 64); err != nil || n < 0 || strconv.FormatInt(n, 10) != value {
				return "", nil, errors.New("t is not Unix seconds")
			}
			ts, seenT = value, true
		case "v1":
			sig, err := hex.DecodeString(value)
			if err != nil || len(sig) != sha256.Size {
				return "", nil, fmt.Errorf("item %d: v1 is not %d hex digits", i+1, 2*sha256.Size)
			}
			sigs = append(sigs, sig)
		}
	}
	switch {
	case !seenT:
		return "", nil, errors.New("no t item")
	case len(sigs) == 0:
		return "", nil, errors.New("no v1 item")
	}
	return ts, sigs, nil
}
