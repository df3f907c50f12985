package console

import (
	"testing"

	"github.com/wildwarden/wildwarden"
)

func TestHighlight(t *testing.T) {
	sig := func(name, field string, start, end int) wildwarden.Signal {
		return wildwarden.Signal{Name: name, Field: field, Span: &[2]int{start, end}}
	}
	tests := []struct {
		name    string
		text    string
		signals []wildwarden.Signal
		want    []segment
	}{
		{"no signals", "plain", nil, []segment{{Text: "plain"}}},
		{"code points, not bytes", "老白塑料手镯", []wildwarden.Signal{sig("lexicon.code_word", "title", 1, 4)},
			[]segment{{Text: "老"}, {Text: "白塑料", Mark: true, Label: "lexicon.code_word"}, {Text: "手镯"}}},
		{"other field ignored", "ivory", []wildwarden.Signal{sig("x", "description", 0, 5)}, []segment{{Text: "ivory"}}},
		{"overlaps merge", "abcdef", []wildwarden.Signal{sig("a", "title", 1, 3), sig("b", "title", 2, 5), sig("a", "title", 2, 3)},
			[]segment{{Text: "a"}, {Text: "bcde", Mark: true, Label: "a, b"}, {Text: "f"}}},
		{"clipped", "abc", []wildwarden.Signal{sig("a", "title", 2, 99), sig("z", "title", 5, 9)},
			[]segment{{Text: "ab"}, {Text: "c", Mark: true, Label: "a"}}},
		{"whole text", "ivory", []wildwarden.Signal{sig("p", "title", 0, 5)}, []segment{{Text: "ivory", Mark: true, Label: "p"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := highlight(tt.text, "title", tt.signals)
			if len(got) != len(tt.want) {
				t.Fatalf("highlight = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("segment %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}
