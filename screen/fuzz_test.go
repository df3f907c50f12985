package screen

import (
	"testing"
	"unicode/utf8"

	"github.com/wildwarden/wildwarden"
)

// FuzzScreen screens arbitrary text: no panic, every span inside its field
// and quoting it, every non-allow verdict with evidence.
func FuzzScreen(f *testing.F) {
	for _, s := range []string{"老白塑料手镯 出 加V", "і.v.о.r.у bangle $200", "🐘🦷 dm", "象芽", "1v0ry", "\xff\xfe", "", "ｉｖｏｒｙ", "虎·の·牙"} {
		f.Add(s, "desc")
	}
	e := testEngine(f)
	f.Fuzz(func(t *testing.T, title, desc string) {
		l := &wildwarden.Listing{ID: "f", Title: title, Description: desc}
		v := e.ScreenListing(l)
		withSpan := 0
		for _, s := range v.Signals {
			if s.Span == nil {
				continue
			}
			field := fieldText(l, s.Field)
			n := len([]rune(field)) // spans count each invalid byte as one character
			if s.Span[0] < 0 || s.Span[0] > s.Span[1] || s.Span[1] > n {
				t.Fatalf("signal %s span %v outside %s of %d characters", s.Name, *s.Span, s.Field, n)
			}
			if utf8.ValidString(field) && string([]rune(field)[s.Span[0]:s.Span[1]]) != s.Text {
				t.Fatalf("signal %s span %v does not quote %q", s.Name, *s.Span, s.Text)
			}
			withSpan++
		}
		if v.Decision != wildwarden.Allow && withSpan == 0 {
			t.Fatalf("%s verdict without evidence: %+v", v.Decision, v)
		}
	})
}
