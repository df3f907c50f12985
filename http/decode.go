package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wildwarden/wildwarden"
)

// readBody reads a JSON request body within the size limit and checks its
// content type and UTF-8 encoding. A body without a content type is taken
// as JSON.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, wildwarden.Errorf(eUnsupportedMedia, "Content-Type", "send application/json, not %q", ct)
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, wildwarden.Errorf(wildwarden.ETOOLARGE, "", "the request body is larger than %d bytes", mb.Limit)
		}
		return nil, wildwarden.Errorf(wildwarden.EINVALID, "", "reading the body: %v", err)
	}
	return body, nil
}

// decodeJSON decodes a request body into v. Invalid UTF-8 is refused and
// the problem names the field that holds it (the standard decoder would
// silently replace it).
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return wildwarden.Errorf(wildwarden.EINVALID, "", "the request body is empty; send a JSON object")
	}
	if !utf8.Valid(body) {
		return wildwarden.Errorf(wildwarden.EINVALID, invalidUTF8Field(body), "is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return wildwarden.Errorf(wildwarden.EINVALID, typeErr.Field, "must be a JSON %s, not %s", typeErr.Type.Kind(), typeErr.Value)
		}
		return wildwarden.Errorf(wildwarden.EINVALID, "", "invalid JSON: %v", err)
	}
	if dec.More() {
		return wildwarden.Errorf(wildwarden.EINVALID, "", "invalid JSON: data after the first value")
	}
	return nil
}

// invalidUTF8Field returns the dotted path (such as "seller.name" or
// "listings[2].title") of the first JSON token holding invalid UTF-8, or
// "body" when it cannot tell.
func invalidUTF8Field(body []byte) string {
	type frame struct {
		object  bool
		key     string
		index   int
		wantKey bool
	}
	var stack []frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			if f.object {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			} else {
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
			}
		}
		if b.Len() == 0 {
			return "body"
		}
		return b.String()
	}
	valueDone := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].wantKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var prev int64
	for {
		tok, err := dec.Token()
		if err != nil {
			return "body"
		}
		off := dec.InputOffset()
		bad := !utf8.Valid(body[prev:off])
		prev = off
		n := len(stack)
		if key, isString := tok.(string); isString && n > 0 && stack[n-1].object && stack[n-1].wantKey {
			stack[n-1].key, stack[n-1].wantKey = key, false
			if bad {
				return path()
			}
			continue
		}
		if bad {
			return path()
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:n-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// queryInt reads an integer query parameter within [1, max].
func queryInt(r *http.Request, name string, def, max int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, wildwarden.Errorf(wildwarden.EINVALID, name, "must be an integer from 1 to %d", max)
	}
	return n, nil
}

// requireText checks a required text field.
func requireText(field, value string, maxBytes int) error {
	if strings.TrimSpace(value) == "" {
		return wildwarden.Errorf(wildwarden.EINVALID, field, "is required")
	}
	return textWithin(maxBytes, field, value)
}

// textWithin checks optional text fields, given as field, value pairs in
// the order they are reported: the first longer than maxBytes is refused.
func textWithin(maxBytes int, fieldValues ...string) error {
	for i := 0; i+1 < len(fieldValues); i += 2 {
		if len(fieldValues[i+1]) > maxBytes {
			return wildwarden.Errorf(wildwarden.ETOOLARGE, fieldValues[i], "is longer than %d bytes", maxBytes)
		}
	}
	return nil
}
