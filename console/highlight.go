package console

import (
	"sort"

	"github.com/wildwarden/wildwarden"
)

// segment is a run of a field's original text, marked when it is
// evidence.
type segment struct {
	Text  string
	Mark  bool
	Label string // the signals that point here, for the tooltip
}

// highlight cuts text into segments, marking the spans of the signals on
// field. Spans are [start, end) in Unicode code points of the original
// text (see wildwarden.Signal); overlapping spans merge into one mark, and
// spans outside the text are clipped.
func highlight(text, field string, signals []wildwarden.Signal) []segment {
	runes := []rune(text)
	type span struct {
		start, end int
		label      string
	}
	var spans []span
	for _, s := range signals {
		if s.Field != field || s.Span == nil {
			continue
		}
		start, end := max(s.Span[0], 0), min(s.Span[1], len(runes))
		if start >= end {
			continue
		}
		spans = append(spans, span{start, end, s.Name})
	}
	if len(spans) == 0 {
		if text == "" {
			return nil
		}
		return []segment{{Text: text}}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	merged := []span{spans[0]}
	for _, s := range spans[1:] {
		last := &merged[len(merged)-1]
		if s.start <= last.end {
			last.end = max(last.end, s.end)
			if !containsLabel(last.label, s.label) {
				last.label += ", " + s.label
			}
			continue
		}
		merged = append(merged, s)
	}
	var out []segment
	pos := 0
	for _, s := range merged {
		if s.start > pos {
			out = append(out, segment{Text: string(runes[pos:s.start])})
		}
		out = append(out, segment{Text: string(runes[s.start:s.end]), Mark: true, Label: s.label})
		pos = s.end
	}
	if pos < len(runes) {
		out = append(out, segment{Text: string(runes[pos:])})
	}
	return out
}

func containsLabel(labels, label string) bool {
	for start := 0; start <= len(labels)-len(label); start++ {
		if labels[start:start+len(label)] == label &&
			(start == 0 || labels[start-1] == ' ') &&
			(start+len(label) == len(labels) || labels[start+len(label)] == ',') {
			return true
		}
	}
	return false
}
