package nats_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/wildwarden/wildwarden"
	wwnats "github.com/wildwarden/wildwarden/nats"
)

// TestVerdictAppendJSON checks that the hand-written encoder writes the
// document encoding/json writes (HTML characters left as they are).
func TestVerdictAppendJSON(t *testing.T) {
	verdict := &wildwarden.Verdict{ID: "L-1", Decision: wildwarden.Block, Score: 0.97, Categories: []string{"ivory"},
		Reason: "code word with sale intent", KBVersion: "kb-1", ModelVersion: "m-1",
		Signals: []wildwarden.Signal{{Name: "lexicon.code_word", Weight: 2.1, Field: "title", Text: "白塑料"}}}
	tests := []struct {
		name string
		msg  wwnats.Verdict
	}{
		{"plain", wwnats.Verdict{TenantID: "t-1", ListingID: "L-1", ContentHash: "abc", Seq: 42, Verdict: verdict}},
		{"duplicate", wwnats.Verdict{TenantID: "t-1", ListingID: "L-1", ContentHash: "abc", Seq: 7, Duplicate: true, Verdict: verdict}},
		{"no verdict", wwnats.Verdict{TenantID: "t-1", ListingID: "L-2"}},
		{"quotes and backslashes", wwnats.Verdict{TenantID: `a"b`, ListingID: `c\d`, Seq: -1, Verdict: verdict}},
		{"control characters", wwnats.Verdict{ListingID: "a\nb\rc\td\x00e\x1ff\bg\fh", Verdict: verdict}},
		{"invalid UTF-8", wwnats.Verdict{ListingID: "a\xffb\xc3", Verdict: verdict}},
		{"line separators and HTML", wwnats.Verdict{ListingID: "a\u2028b\u2029c<d>&e", Verdict: verdict}},
		{"non-ASCII", wwnats.Verdict{ListingID: "象牙-🐘", Verdict: verdict}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(tt.msg); err != nil {
				t.Fatal(err)
			}
			got := tt.msg.AppendJSON(nil)
			if w := bytes.TrimSuffix(want.Bytes(), []byte("\n")); !bytes.Equal(got, w) {
				t.Errorf("AppendJSON:\n got %s\nwant %s", got, w)
			}
		})
	}
}
