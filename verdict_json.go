package wildwarden

import (
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the verdict as one line of JSON, the same document
// encoding/json writes for it (HTML characters not escaped), without
// reflection: scans write millions of them.
func (v *Verdict) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = AppendJSONString(b, v.ID)
	b = append(b, `,"decision":`...)
	b = AppendJSONString(b, string(v.Decision))
	b = append(b, `,"score":`...)
	b = appendJSONFloat(b, v.Score)
	b = append(b, `,"categories":`...)
	b = AppendJSONStrings(b, v.Categories)
	b = append(b, `,"species":`...)
	if v.Species == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range v.Species {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = AppendJSONString(b, s.Name)
			if s.Common != "" {
				b = append(b, `,"common":`...)
				b = AppendJSONString(b, s.Common)
			}
			if s.CITES != "" {
				b = append(b, `,"cites":`...)
				b = AppendJSONString(b, s.CITES)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"reason":`...)
	b = AppendJSONString(b, v.Reason)
	b = append(b, `,"signals":`...)
	if v.Signals == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range v.Signals {
			if i > 0 {
				b = append(b, ',')
			}
			b = v.Signals[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	if len(v.Shadow) > 0 {
		b = append(b, `,"shadow":`...)
		b = AppendJSONStrings(b, v.Shadow)
	}
	b = append(b, `,"kb_version":`...)
	b = AppendJSONString(b, v.KBVersion)
	b = append(b, `,"model_version":`...)
	b = AppendJSONString(b, v.ModelVersion)
	return append(b, '}')
}

func (s *Signal) appendJSON(b []byte) []byte {
	b = append(b, `{"name":`...)
	b = AppendJSONString(b, s.Name)
	b = append(b, `,"weight":`...)
	b = appendJSONFloat(b, s.Weight)
	field := func(name, value string) {
		if value != "" {
			b = append(b, ',', '"')
			b = append(b, name...)
			b = append(b, '"', ':')
			b = AppendJSONString(b, value)
		}
	}
	field("field", s.Field)
	field("view", s.View)
	if s.Span != nil {
		b = append(b, `,"span":[`...)
		b = strconv.AppendInt(b, int64(s.Span[0]), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(s.Span[1]), 10)
		b = append(b, ']')
	}
	field("text", s.Text)
	field("term", s.Term)
	field("category", s.Category)
	field("species", s.Species)
	field("cites", s.CITES)
	field("note", s.Note)
	return append(b, '}')
}

func AppendJSONStrings(b []byte, list []string) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSONFloat writes a number as encoding/json does.
func appendJSONFloat(b []byte, f float64) []byte {
	abs := f
	if abs < 0 {
		abs = -abs
	}
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string as encoding/json writes it
// without HTML escaping: invalid UTF-8 becomes U+FFFD, U+2028 and U+2029
// are escaped. For hand-written encoders of messages around a verdict.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
