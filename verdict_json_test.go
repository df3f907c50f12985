package wildwarden

import (
	"bytes"
	"encoding/json"
	"testing"
)

func stdVerdictJSON(t testing.TB, v *Verdict) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	span := [2]int{1, 4}
	verdicts := []*Verdict{
		{ID: "L-1", Decision: Block, Score: 0.97, Categories: []string{"ivory"},
			Species: []Species{{Name: "Loxodonta africana", Common: "African elephant", CITES: "I/II"}},
			Reason:  "code word for ivory (白塑料) with sale intent",
			Signals: []Signal{{Name: "lexicon.code_word", Weight: 2.1, Field: "title", View: "folded", Span: &span, Text: "白塑料", Term: "白塑料", Category: "ivory"},
				{Name: "context.price", Weight: 0.5, Field: "price"}},
			Shadow: []string{"rule: would block"}, KBVersion: "kb-1", ModelVersion: "m-1"},
		{ID: "q\"\\\n\t\x01<>&\u2028\xff", Decision: Allow, Score: 1e-7, Categories: []string{}, Species: []Species{}, Signals: []Signal{}},
		{ID: "n", Score: -0.5},
	}
	for _, v := range verdicts {
		got, want := v.AppendJSON(nil), stdVerdictJSON(t, v)
		if !bytes.Equal(got, want) {
			t.Errorf("AppendJSON:\n got %s\nwant %s", got, want)
		}
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("L-1", "reason <b>", 0.5, "白塑料\x00")
	f.Fuzz(func(t *testing.T, id, reason string, score float64, text string) {
		if score != score || score > 1e300 || score < -1e300 {
			return // NaN and infinities are not valid JSON numbers
		}
		span := [2]int{0, 1}
		v := &Verdict{ID: id, Decision: Review, Score: score, Reason: reason, Categories: []string{text},
			Signals: []Signal{{Name: "n", Text: text, Span: &span}}}
		if got, want := v.AppendJSON(nil), stdVerdictJSON(t, v); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON:\n got %s\nwant %s", got, want)
		}
	})
}
