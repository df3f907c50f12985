// Package listings reads listings from files: JSON Lines and CSV with the
// same column names (nested fields dotted: seller.id). Readers stream with
// constant memory, report each bad line with its number and go on.
package listings

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wildwarden/wildwarden"
)

// Format is a file format for listings and verdicts.
type Format string

// Formats.
const (
	JSONL Format = "jsonl"
	CSV   Format = "csv"
)

// ParseFormat validates a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case JSONL, CSV:
		return f, nil
	case "json", "ndjson":
		return JSONL, nil
	}
	return "", fmt.Errorf("unknown format %q: use jsonl or csv", s)
}

// FormatOf guesses a file's format from its name: .csv (also .csv.gz) is
// CSV, anything else JSON Lines.
func FormatOf(name string) Format {
	name = strings.TrimSuffix(strings.ToLower(name), ".gz")
	if filepath.Ext(name) == ".csv" {
		return CSV
	}
	return JSONL
}

// DefaultMaxLine is the longest line a reader accepts; a longer one is
// reported and skipped without being held in memory.
const DefaultMaxLine = 16 << 20

// LineError is a problem with one line of input. The reader goes on after
// it.
type LineError struct {
	Name string // file name
	Line int
	Err  error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %v", e.Name, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// ErrLineTooLong reports a line over the reader's limit.
var ErrLineTooLong = errors.New("line too long")

// LineReader reads JSON Lines: one raw line at a time, so that parsing can
// happen in parallel.
type LineReader struct {
	name    string
	r       *bufio.Reader
	line    int
	maxLine int
	bytes   int64
	buf     []byte
}

// NewLineReader reads lines from r; name is used in errors.
func NewLineReader(r io.Reader, name string, maxLine int) *LineReader {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	return &LineReader{name: name, r: bufio.NewReaderSize(r, 256<<10), maxLine: maxLine}
}

// BytesRead returns how many bytes have been consumed.
func (lr *LineReader) BytesRead() int64 { return lr.bytes }

// Next returns the next non-blank line and its number. The slice is valid
// until the next call. A line over the limit returns a *LineError wrapping
// ErrLineTooLong, after the line has been skipped. At the end it returns
// io.EOF.
func (lr *LineReader) Next() (line int, data []byte, err error) {
	for {
		lr.line++
		lr.buf = lr.buf[:0]
		tooLong := false
		for {
			chunk, err := lr.r.ReadSlice('\n')
			lr.bytes += int64(len(chunk))
			if !tooLong {
				if len(lr.buf)+len(chunk) > lr.maxLine {
					tooLong, lr.buf = true, lr.buf[:0]
				} else {
					lr.buf = append(lr.buf, chunk...)
				}
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF {
				if len(lr.buf) == 0 && !tooLong {
					return lr.line, nil, io.EOF
				}
				break
			}
			if err != nil {
				return lr.line, nil, fmt.Errorf("%s:%d: %w", lr.name, lr.line, err)
			}
			break
		}
		if tooLong {
			return lr.line, nil, &LineError{lr.name, lr.line, fmt.Errorf("%w: over %d bytes", ErrLineTooLong, lr.maxLine)}
		}
		data = bytes.TrimSpace(lr.buf)
		if len(data) == 0 {
			continue
		}
		return lr.line, data, nil
	}
}

// DecodeJSONShared is DecodeJSON whose strings point into data instead of
// copying it: faster for a scan, which keeps each line until its verdict
// is written. data must not change while l is in use.
func DecodeJSONShared(data []byte, l *wildwarden.Listing) error {
	*l = wildwarden.Listing{}
	if !utf8.Valid(data) {
		return fmt.Errorf("invalid UTF-8")
	}
	if err := decodeListingWith(decoder{data: data, share: true}, l); err != nil {
		return err
	}
	return l.Validate()
}

// DecodeJSON decodes one JSON line into l and validates it. Errors name the
// field where possible.
func DecodeJSON(data []byte, l *wildwarden.Listing) error {
	*l = wildwarden.Listing{}
	if !utf8.Valid(data) {
		return fmt.Errorf("invalid UTF-8")
	}
	if err := decodeListing(data, l); err != nil {
		return err
	}
	return l.Validate()
}

// CSVReader reads listings from CSV with a header row. Known columns fill
// the listing's fields (seller.id, seller.name, seller.description are
// dotted; images are separated by white space or |); other columns are
// kept in Extra as strings.
type CSVReader struct {
	name   string
	r      *csv.Reader
	header []string
	counts *CountingReader
}

// CountingReader counts the bytes read through it, for progress reports.
type CountingReader struct {
	R io.Reader
	N int64
}

func (c *CountingReader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N += int64(n)
	return n, err
}

// NewCSVReader reads the header row of r.
func NewCSVReader(r io.Reader, name string) (*CSVReader, error) {
	cr := &CountingReader{R: r}
	c := &CSVReader{name: name, r: csv.NewReader(bufio.NewReaderSize(cr, 256<<10)), counts: cr}
	c.r.FieldsPerRecord = -1
	c.r.ReuseRecord = true
	header, err := c.r.Read()
	if err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%s: empty CSV file: a header row is required", name)
		}
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	for _, h := range header {
		c.header = append(c.header, strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
	}
	if !containsString(c.header, "id") {
		return nil, fmt.Errorf("%s:1: header has no id column", name)
	}
	return c, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// BytesRead returns how many bytes have been consumed.
func (c *CSVReader) BytesRead() int64 { return c.counts.N }

// Next returns the next listing and the line it starts on. A bad record is
// returned as a *LineError; the reader goes on with the next one.
func (c *CSVReader) Next(l *wildwarden.Listing) (line int, err error) {
	rec, err := c.r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return pe.StartLine, &LineError{c.name, pe.StartLine, pe.Err}
		}
		return 0, err
	}
	line, _ = c.r.FieldPos(0)
	*l = wildwarden.Listing{}
	for i, v := range rec {
		if i >= len(c.header) {
			return line, &LineError{c.name, line, fmt.Errorf("record has %d fields, header has %d", len(rec), len(c.header))}
		}
		if err := setField(l, c.header[i], v); err != nil {
			return line, &LineError{c.name, line, err}
		}
	}
	if err := l.Validate(); err != nil {
		return line, &LineError{c.name, line, err}
	}
	return line, nil
}

func setField(l *wildwarden.Listing, name, v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("field %q: invalid UTF-8", name)
	}
	switch name {
	case "id":
		l.ID = v
	case "kind":
		l.Kind = v
	case "platform":
		l.Platform = v
	case "lang":
		l.Lang = v
	case "title":
		l.Title = v
	case "description":
		l.Description = v
	case "currency":
		l.Currency = v
	case "url":
		l.URL = v
	case "seller.id":
		l.Seller.ID = v
	case "seller.name":
		l.Seller.Name = v
	case "seller.description":
		l.Seller.Description = v
	case "price":
		if v == "" {
			return nil
		}
		p, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return fmt.Errorf("field \"price\": %q is not a number", v)
		}
		l.Price = &p
	case "images":
		l.Images = strings.FieldsFunc(v, func(r rune) bool { return r == '|' || r == ' ' || r == '\n' || r == '\t' })
	case "created_at":
		if v == "" {
			return nil
		}
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("field \"created_at\": %q is not an RFC 3339 time", v)
		}
		l.CreatedAt = t
	default:
		if v == "" {
			return nil
		}
		raw, _ := json.Marshal(v)
		if l.Extra == nil {
			l.Extra = map[string]json.RawMessage{}
		}
		l.Extra[name] = raw
	}
	return nil
}
