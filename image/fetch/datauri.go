package fetch

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
)

// parseDataURI decodes an RFC 2397 data: URI ("data:[<media type>][;base64],<data>")
// and returns its bytes and declared media type. It refuses payloads that
// would decode to more than maxBytes before decoding them.
func parseDataURI(uri string, maxBytes int64) (data []byte, mediaType string, err error) {
	rest, ok := cutPrefixFold(uri, "data:")
	if !ok {
		return nil, "", fmt.Errorf("missing data: prefix: %w", ErrInvalidDataURI)
	}
	header, payload, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, "", fmt.Errorf("no comma after the media type: %w", ErrInvalidDataURI)
	}
	isBase64 := false
	if h, found := cutSuffixFold(header, ";base64"); found {
		header, isBase64 = h, true
	}
	mediaType = header
	if isBase64 {
		// Whitespace is common in pasted base64; it carries no data.
		payload = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
				return -1
			}
			return r
		}, payload)
		if decoded := int64(base64.StdEncoding.DecodedLen(len(payload))); decoded > maxBytes+2 {
			return nil, "", fmt.Errorf("data: URI holds about %d bytes, more than %d: %w", decoded, maxBytes, ErrTooLarge)
		}
		data, err = base64.StdEncoding.DecodeString(payload)
		if err != nil {
			// Some writers leave out the padding.
			data, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(payload, "="))
		}
		if err != nil {
			return nil, "", fmt.Errorf("base64 payload: %v: %w", err, ErrInvalidDataURI)
		}
	} else {
		if int64(len(payload)) > 3*maxBytes { // percent-encoding triples at most
			return nil, "", fmt.Errorf("data: URI of %d characters is too long: %w", len(payload), ErrTooLarge)
		}
		text, err := url.PathUnescape(payload)
		if err != nil {
			return nil, "", fmt.Errorf("percent-encoded payload: %v: %w", err, ErrInvalidDataURI)
		}
		data = []byte(text)
	}
	if int64(len(data)) > maxBytes {
		return nil, "", fmt.Errorf("data: URI holds %d bytes, more than %d: %w", len(data), maxBytes, ErrTooLarge)
	}
	return data, mediaType, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func cutSuffixFold(s, suffix string) (string, bool) {
	if len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix) {
		return s[:len(s)-len(suffix)], true
	}
	return s, false
}
