package listings

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/wildwarden/wildwarden"
)

// decodeListing parses one listing object. It is the scan's hot path: a
// decoder for this one shape, several times faster than encoding/json with
// reflection, and held to the same results by FuzzDecodeAgreesWithStd.
// Keys are matched exactly; unknown keys keep their raw value in Extra.
func decodeListing(data []byte, l *wildwarden.Listing) error {
	return decodeListingWith(decoder{data: data}, l)
}

func decodeListingWith(d decoder, l *wildwarden.Listing) error {
	d.ws()
	if err := d.object(func(key []byte) error { return d.listingField(key, l) }); err != nil {
		return err
	}
	d.ws()
	if d.pos != len(d.data) {
		return d.errorf("unexpected data after the listing object")
	}
	return nil
}

// maxDepth bounds the nesting of values kept in Extra, as encoding/json
// does.
const maxDepth = 10000

type decoder struct {
	data  []byte
	pos   int
	depth int
	// share lets strings without escapes point into data instead of
	// copying it: the caller promises not to change data while the listing
	// is in use.
	share bool
}

var errEnd = errors.New("invalid JSON: unexpected end of input")

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at byte %d: %s", d.pos, fmt.Sprintf(format, args...))
}

func (d *decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// object parses {"key": value, …}, calling field with each key positioned
// at its value; field must consume the value.
func (d *decoder) object(field func(key []byte) error) error {
	if d.pos >= len(d.data) {
		return errEnd
	}
	if d.data[d.pos] != '{' {
		return d.errorf("expected an object")
	}
	d.pos++
	d.ws()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return nil
	}
	var keyBuf []byte
	for {
		d.ws()
		key, err := d.stringBytes(keyBuf[:0])
		if err != nil {
			return err
		}
		keyBuf = key
		d.ws()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return d.errorf("expected ':' after an object key")
		}
		d.pos++
		d.ws()
		if err := field(key); err != nil {
			return err
		}
		d.ws()
		if d.pos >= len(d.data) {
			return errEnd
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return nil
		default:
			return d.errorf("expected ',' or '}' in an object")
		}
	}
}

func (d *decoder) isNull() bool {
	if len(d.data)-d.pos >= 4 && string(d.data[d.pos:d.pos+4]) == "null" {
		d.pos += 4
		return true
	}
	return false
}

// stringField reads a string value (null leaves it unchanged).
func (d *decoder) stringField(name string, dst *string) error {
	if d.isNull() {
		return nil
	}
	if d.pos < len(d.data) && d.data[d.pos] != '"' {
		return d.typeError(name, "string")
	}
	if d.share {
		// Fast path: no escapes, the string is the bytes of the line.
		start := d.pos + 1
		for i := start; i < len(d.data); i++ {
			c := d.data[i]
			if c == '"' {
				if i > start {
					*dst = unsafe.String(&d.data[start], i-start)
				} else {
					*dst = ""
				}
				d.pos = i + 1
				return nil
			}
			if c == '\\' || c < 0x20 {
				break
			}
		}
	}
	b, err := d.stringBytes(nil)
	if err != nil {
		return err
	}
	*dst = string(b)
	return nil
}

func (d *decoder) typeError(name, want string) error {
	start := d.pos
	if err := d.skip(); err != nil {
		return err
	}
	got := "value"
	switch d.data[start] {
	case '"':
		got = "string"
	case '{':
		got = "object"
	case '[':
		got = "array"
	case 't', 'f':
		got = "bool"
	default:
		got = "number"
	}
	return fmt.Errorf("field %q: expected %s, got %s", name, want, got)
}

func (d *decoder) listingField(key []byte, l *wildwarden.Listing) error {
	switch string(key) {
	case "id":
		return d.stringField("id", &l.ID)
	case "kind":
		return d.stringField("kind", &l.Kind)
	case "platform":
		return d.stringField("platform", &l.Platform)
	case "lang":
		return d.stringField("lang", &l.Lang)
	case "title":
		return d.stringField("title", &l.Title)
	case "description":
		return d.stringField("description", &l.Description)
	case "currency":
		return d.stringField("currency", &l.Currency)
	case "url":
		return d.stringField("url", &l.URL)
	case "price":
		if d.isNull() {
			l.Price = nil
			return nil
		}
		start := d.pos
		if err := d.number(); err != nil {
			if d.pos == start {
				return d.typeError("price", "number")
			}
			return err
		}
		p, err := strconv.ParseFloat(string(d.data[start:d.pos]), 64)
		if err != nil {
			return fmt.Errorf("field %q: %v", "price", err)
		}
		l.Price = &p
		return nil
	case "seller":
		if d.isNull() {
			return nil
		}
		if d.pos < len(d.data) && d.data[d.pos] != '{' {
			return d.typeError("seller", "object")
		}
		return d.object(func(k []byte) error {
			switch string(k) {
			case "id":
				return d.stringField("seller.id", &l.Seller.ID)
			case "name":
				return d.stringField("seller.name", &l.Seller.Name)
			case "description":
				return d.stringField("seller.description", &l.Seller.Description)
			}
			return d.skip()
		})
	case "images":
		if d.isNull() {
			l.Images = nil
			return nil
		}
		if d.pos < len(d.data) && d.data[d.pos] != '[' {
			return d.typeError("images", "array")
		}
		l.Images = l.Images[:0]
		if l.Images == nil {
			l.Images = []string{}
		}
		return d.array(func() error {
			var s string
			if err := d.stringField("images", &s); err != nil {
				return err
			}
			l.Images = append(l.Images, s)
			return nil
		})
	case "created_at":
		start := d.pos
		if err := d.skip(); err != nil {
			return err
		}
		var t time.Time
		if err := t.UnmarshalJSON(d.data[start:d.pos]); err != nil {
			return fmt.Errorf("field %q: %v", "created_at", err)
		}
		if string(d.data[start:d.pos]) != "null" {
			l.CreatedAt = t
		}
		return nil
	}
	start := d.pos
	if err := d.skip(); err != nil {
		return err
	}
	if l.Extra == nil {
		l.Extra = map[string]json.RawMessage{}
	}
	l.Extra[string(key)] = json.RawMessage(append([]byte(nil), d.data[start:d.pos]...))
	return nil
}

// stringBytes reads a JSON string at the cursor into buf, unescaped.
func (d *decoder) stringBytes(buf []byte) ([]byte, error) {
	if d.pos >= len(d.data) {
		return nil, errEnd
	}
	if d.data[d.pos] != '"' {
		return nil, d.errorf("expected a string")
	}
	d.pos++
	start := d.pos
	// Fast path: no escapes.
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if c == '"' {
			out := append(buf, d.data[start:d.pos]...)
			d.pos++
			return out, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return nil, d.errorf("control character in a string")
		}
		d.pos++
	}
	out := append(buf, d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return out, nil
		case c < 0x20:
			return nil, d.errorf("control character in a string")
		case c != '\\':
			out = append(out, c)
			d.pos++
			continue
		}
		if d.pos+1 >= len(d.data) {
			return nil, errEnd
		}
		e := d.data[d.pos+1]
		d.pos += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return nil, d.errorf("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				// A high surrogate needs its low half; otherwise U+FFFD.
				save := d.pos
				if d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
					d.pos += 2
					if r2, ok := d.hex4(); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							out = utf8.AppendRune(out, dec)
							continue
						}
					}
				}
				d.pos = save
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, d.errorf("invalid escape '\\%c'", e)
		}
	}
	return nil, errEnd
}

func (d *decoder) hex4() (rune, bool) {
	if d.pos+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	d.pos += 4
	return r, true
}

// number reads a JSON number.
func (d *decoder) number() error {
	p := d.pos
	if p < len(d.data) && d.data[p] == '-' {
		p++
	}
	digits := func() int {
		n := 0
		for p < len(d.data) && d.data[p] >= '0' && d.data[p] <= '9' {
			p++
			n++
		}
		return n
	}
	switch {
	case p < len(d.data) && d.data[p] == '0':
		p++
	case digits() == 0:
		return d.errorf("expected a number")
	}
	if p < len(d.data) && d.data[p] == '.' {
		p++
		if digits() == 0 {
			d.pos = p
			return d.errorf("expected digits after '.'")
		}
	}
	if p < len(d.data) && (d.data[p] == 'e' || d.data[p] == 'E') {
		p++
		if p < len(d.data) && (d.data[p] == '+' || d.data[p] == '-') {
			p++
		}
		if digits() == 0 {
			d.pos = p
			return d.errorf("expected digits in an exponent")
		}
	}
	d.pos = p
	return nil
}

// array parses [value, …] at the cursor, calling elem positioned at each
// value; elem must consume it.
func (d *decoder) array(elem func() error) error {
	d.pos++ // '['
	d.ws()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return nil
	}
	for {
		d.ws()
		if err := elem(); err != nil {
			return err
		}
		d.ws()
		if d.pos >= len(d.data) {
			return errEnd
		}
		if d.data[d.pos] == ']' {
			d.pos++
			return nil
		}
		if d.data[d.pos] != ',' {
			return d.errorf("expected ',' or ']' in an array")
		}
		d.pos++
	}
}

// skip validates and passes over any JSON value.
func (d *decoder) skip() error {
	if d.pos >= len(d.data) {
		return errEnd
	}
	switch c := d.data[d.pos]; {
	case c == '"':
		// Validate without keeping.
		for d.pos++; d.pos < len(d.data); d.pos++ {
			switch c := d.data[d.pos]; {
			case c == '"':
				d.pos++
				return nil
			case c < 0x20:
				return d.errorf("control character in a string")
			case c == '\\':
				if d.pos+1 >= len(d.data) {
					return errEnd
				}
				switch d.data[d.pos+1] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
					d.pos++
				case 'u':
					d.pos += 2
					if _, ok := d.hex4(); !ok {
						return d.errorf("invalid \\u escape")
					}
					d.pos--
				default:
					return d.errorf("invalid escape")
				}
			}
		}
		return errEnd
	case c == '{':
		if d.depth++; d.depth > maxDepth {
			return d.errorf("nested too deeply")
		}
		err := d.object(func([]byte) error { return d.skip() })
		d.depth--
		return err
	case c == '[':
		if d.depth++; d.depth > maxDepth {
			return d.errorf("nested too deeply")
		}
		err := d.array(d.skip)
		d.depth--
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	return d.errorf("unexpected character %q", d.data[d.pos])
}

func (d *decoder) literal(s string) error {
	if len(d.data)-d.pos < len(s) || string(d.data[d.pos:d.pos+len(s)]) != s {
		return d.errorf("invalid literal")
	}
	d.pos += len(s)
	return nil
}
