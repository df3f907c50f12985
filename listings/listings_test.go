package listings

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/wildwarden/wildwarden"
)

func TestLineReader(t *testing.T) {
	in := "{\"id\":\"a\"}\n\n  \n{\"id\":\"b\"}\r\n" + strings.Repeat("x", 100) + "\n{\"id\":\"c\"}"
	lr := NewLineReader(strings.NewReader(in), "in.jsonl", 50)
	type got struct {
		line int
		data string
		long bool
	}
	var all []got
	for {
		line, data, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, ErrLineTooLong) {
			t.Fatal(err)
		}
		all = append(all, got{line, string(data), err != nil})
	}
	want := []got{{1, `{"id":"a"}`, false}, {4, `{"id":"b"}`, false}, {5, "", true}, {6, `{"id":"c"}`, false}}
	if len(all) != len(want) {
		t.Fatalf("got %v, want %v", all, want)
	}
	for i := range want {
		if all[i] != want[i] {
			t.Errorf("item %d: got %+v, want %+v", i, all[i], want[i])
		}
	}
	if lr.BytesRead() != int64(len(in)) {
		t.Errorf("BytesRead = %d, want %d", lr.BytesRead(), len(in))
	}
}

// TestLineReaderHugeLine reads a 100 MB line without holding it: the line
// is reported and the next one is read.
func TestLineReaderHugeLine(t *testing.T) {
	huge := io.MultiReader(strings.NewReader(`{"id":"x","title":"`), &repeatReader{b: 'a', n: 100 << 20}, strings.NewReader("\"}\n{\"id\":\"next\",\"title\":\"t\"}\n"))
	lr := NewLineReader(huge, "huge.jsonl", 1<<20)
	_, _, err := lr.Next()
	var le *LineError
	if !errors.As(err, &le) || le.Line != 1 || !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("first line: got %v, want a line-too-long error on line 1", err)
	}
	line, data, err := lr.Next()
	if err != nil || line != 2 || !bytes.Contains(data, []byte("next")) {
		t.Fatalf("second line: got %d %q %v", line, data, err)
	}
}

type repeatReader struct {
	b byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n)
	for i := range p[:n] {
		p[i] = r.b
	}
	r.n -= n
	return n, nil
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"ok", `{"id":"L-1","title":"t","label":"positive"}`, ""},
		{"missing id", `{"title":"t"}`, "id: is required"},
		{"nothing to judge", `{"id":"x"}`, "one of title, description or images is required"},
		{"bad JSON", `{"id":`, "invalid JSON"},
		{"wrong type", `{"id":"x","title":5}`, `field "title"`},
		{"invalid UTF-8", "{\"id\":\"x\",\"title\":\"\xff\"}", "invalid UTF-8"},
		{"price as string", `{"id":"x","title":"t","price":"12"}`, `field "price"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l wildwarden.Listing
			err := DecodeJSON([]byte(tt.in), &l)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if l.ExtraString("label") != "positive" {
					t.Errorf("label not kept in Extra: %v", l.Extra)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestCSVReader(t *testing.T) {
	in := "id,title,price,seller.id,images,label\n" +
		"a,ivory bangle,12.5,S-1,https://x/1.jpg|https://x/2.jpg,positive\n" +
		"b,\"unterminated\n" +
		"c,ok,notanumber,,,\n" +
		"d,fine,,,,negative\n"
	r, err := NewCSVReader(strings.NewReader(in), "in.csv")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	var errs []string
	for {
		var l wildwarden.Listing
		_, err := r.Next(&l)
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, err.Error())
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("fatal error %v", err)
			}
			continue
		}
		ids = append(ids, l.ID)
		if l.ID == "a" && (l.Price == nil || *l.Price != 12.5 || l.Seller.ID != "S-1" || len(l.Images) != 2 || l.ExtraString("label") != "positive") {
			t.Errorf("listing a decoded wrongly: %+v", l)
		}
	}
	if len(ids) == 0 || ids[0] != "a" {
		t.Errorf("ids %v, want a first", ids)
	}
	if len(errs) == 0 {
		t.Errorf("no errors reported for the bad records")
	}
	for _, e := range errs {
		if !strings.HasPrefix(e, "in.csv:") {
			t.Errorf("error %q does not name the file and line", e)
		}
	}
}

func TestCSVReaderNeedsHeader(t *testing.T) {
	if _, err := NewCSVReader(strings.NewReader(""), "empty.csv"); err == nil {
		t.Error("empty CSV accepted")
	}
	if _, err := NewCSVReader(strings.NewReader("title\nx\n"), "noid.csv"); err == nil {
		t.Error("CSV without an id column accepted")
	}
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"id":"L-1","title":"老白塑料","seller":{"id":"S"},"price":3,"images":["a"]}`))
	f.Add([]byte(`{"id":1}`))
	f.Add([]byte("\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var l wildwarden.Listing
		if err := DecodeJSON(data, &l); err == nil && l.ID == "" {
			t.Fatalf("accepted a listing without id: %q", data)
		}
	})
}

func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\nb\n\nc"), 4)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		max = int(uint(max)%64) + 1
		lr := NewLineReader(bytes.NewReader(data), "f", max)
		for i := 0; i < len(data)+2; i++ {
			_, line, err := lr.Next()
			if err == io.EOF {
				return
			}
			if err == nil && len(line) > max {
				t.Fatalf("line of %d bytes over limit %d", len(line), max)
			}
		}
		t.Fatalf("reader did not reach EOF")
	})
}

func FuzzCSVReader(f *testing.F) {
	f.Add("id,title\na,b\n\"c,d\n")
	f.Fuzz(func(t *testing.T, in string) {
		r, err := NewCSVReader(strings.NewReader(in), "f.csv")
		if err != nil {
			return
		}
		for i := 0; i < len(in)+2; i++ {
			var l wildwarden.Listing
			_, err := r.Next(&l)
			if err == io.EOF {
				return
			}
			var le *LineError
			if err != nil && !errors.As(err, &le) {
				return // a read error ends the file
			}
		}
		t.Fatalf("reader did not reach EOF")
	})
}
