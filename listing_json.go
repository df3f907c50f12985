package wildwarden

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
)

// AppendJSON appends the listing's JSON: byte for byte what json.Marshal(l)
// writes (known fields, then Extra's fields sorted by key, HTML characters
// and U+2028/U+2029 escaped, Extra values compacted), without reflection.
// Content hashes and stored listings depend on these exact bytes, so the
// fuzz test in listing_json_test.go holds it to encoding/json.
//
// A listing that json.Marshal rejects (a NaN or infinite price, a time
// outside RFC 3339, invalid JSON in Extra) is handed to json.Marshal itself,
// so the error is the same; b is then returned unchanged. A nil listing is
// written as null.
func (l *Listing) AppendJSON(b []byte) ([]byte, error) {
	if l == nil {
		return append(b, "null"...), nil
	}
	start := len(b)
	out, ok := l.appendJSON(b)
	if ok {
		return out, nil
	}
	// Rare: let encoding/json decide, so that neither the bytes nor the
	// error can differ from it.
	data, err := json.Marshal(l)
	if err != nil {
		return b[:start], fmt.Errorf("listing JSON: %w", err)
	}
	return append(out[:start], data...), nil
}

// appendJSON writes the listing and reports false when some value cannot be
// written as JSON; b then holds a partial document.
func (l *Listing) appendJSON(b []byte) ([]byte, bool) {
	b = append(b, `{"id":`...)
	b = appendJSONStringHTML(b, l.ID)
	b = appendStringField(b, `,"kind":`, l.Kind)
	b = appendStringField(b, `,"platform":`, l.Platform)
	b = appendStringField(b, `,"lang":`, l.Lang)
	b = appendStringField(b, `,"title":`, l.Title)
	b = appendStringField(b, `,"description":`, l.Description)
	if l.Price != nil {
		price := *l.Price
		if math.IsNaN(price) || math.IsInf(price, 0) {
			return b, false // NaN and infinities are not JSON numbers
		}
		b = append(b, `,"price":`...)
		b = appendJSONFloat(b, price)
	}
	b = appendStringField(b, `,"currency":`, l.Currency)
	if l.Seller != (Seller{}) {
		b = append(b, `,"seller":`...)
		b = l.Seller.appendJSON(b)
	}
	if len(l.Images) > 0 {
		b = append(b, `,"images":[`...)
		for i, image := range l.Images {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONStringHTML(b, image)
		}
		b = append(b, ']')
	}
	b = appendStringField(b, `,"url":`, l.URL)
	if !l.CreatedAt.IsZero() {
		b = append(b, `,"created_at":"`...)
		var err error
		// RFC 3339 text is digits, '-', ':', '.', 'T', 'Z' and '+': nothing
		// to escape.
		if b, err = l.CreatedAt.AppendText(b); err != nil {
			return b, false
		}
		b = append(b, '"')
	}
	if len(l.Extra) > 0 {
		var ok bool
		if b, ok = appendExtraFields(b, l.Extra); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

// appendJSON writes the seller's non-empty fields; the caller skips a zero
// seller (omitzero).
func (s *Seller) appendJSON(b []byte) []byte {
	b = append(b, '{')
	first := true
	for _, field := range [...]struct{ key, value string }{
		{`"id":`, s.ID},
		{`"name":`, s.Name},
		{`"description":`, s.Description},
	} {
		if field.value == "" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, field.key...)
		b = appendJSONStringHTML(b, field.value)
	}
	return append(b, '}')
}

// appendStringField writes `,"key":"value"` for a non-empty value
// (omitempty); key holds the comma, the quoted name and the colon.
func appendStringField(b []byte, key, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, key...)
	return appendJSONStringHTML(b, value)
}

// appendExtraFields writes the unknown fields as json.Marshal writes a
// map[string]json.RawMessage spliced after the known ones: keys sorted
// bytewise, a nil value as null, other values validated, compacted and
// HTML-escaped. It reports false when a value is not valid JSON.
func appendExtraFields(b []byte, extra map[string]json.RawMessage) ([]byte, bool) {
	var keysOnStack [8]string
	keys := keysOnStack[:0]
	for key := range extra {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	for _, key := range keys {
		b = append(b, ',')
		b = appendJSONStringHTML(b, key)
		b = append(b, ':')
		raw := extra[key]
		if raw == nil {
			b = append(b, "null"...)
			continue
		}
		if !json.Valid(raw) {
			return b, false
		}
		b = appendCompactHTML(b, raw)
	}
	return b, true
}

// appendCompactHTML appends valid JSON without whitespace outside strings,
// with <, >, & and U+2028/U+2029 escaped, as encoding/json compacts the
// output of a Marshaler. Valid JSON has those characters only in strings,
// so they are escaped wherever they occur.
func appendCompactHTML(b, raw []byte) []byte {
	inString, escaped := false, false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '<' || c == '>' || c == '&':
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			escaped = false
			continue
		case c == 0xE2 && i+2 < len(raw) && raw[i+1] == 0x80 && raw[i+2]&^1 == 0xA8:
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[raw[i+2]&0xF])
			i += 2
			escaped = false
			continue
		}
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			b = append(b, c)
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inString = true
		}
		b = append(b, c)
	}
	return b
}

// appendJSONStringHTML appends s as a JSON string as json.Marshal writes it
// by default: AppendJSONString's escaping plus <, > and & as \u003c, \u003e
// and \u0026. The HTML characters are expanded in place, from the end, so a
// string without them costs one scan.
func appendJSONStringHTML(b []byte, s string) []byte {
	start := len(b)
	b = AppendJSONString(b, s)
	html := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '<' || c == '>' || c == '&' {
			html++
		}
	}
	if html == 0 {
		return b
	}
	// AppendJSONString writes these characters as they are and never uses
	// them in its own escapes, so every one in b[start:] comes from s.
	end := len(b)
	b = slices.Grow(b, 5*html)[:end+5*html]
	w := len(b)
	for r := end - 1; r >= start; r-- {
		c := b[r]
		if c == '<' || c == '>' || c == '&' {
			w -= 6
			b[w], b[w+1], b[w+2], b[w+3], b[w+4], b[w+5] = '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF]
			continue
		}
		w--
		b[w] = c
	}
	return b
}
