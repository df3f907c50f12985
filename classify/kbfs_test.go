package classify

import (
	"os"
	"testing"
	"testing/fstest"
)

// kbFS returns the test knowledge base with terms.tsv replaced.
func kbFS(t *testing.T, terms []byte) fstest.MapFS {
	t.Helper()
	fs := fstest.MapFS{}
	for _, name := range []string{"categories.tsv", "taxa.tsv", "cues.tsv", "emoji.tsv", "weights.tsv"} {
		data, err := os.ReadFile("testdata/kb/" + name)
		if err != nil {
			t.Fatal(err)
		}
		fs[name] = &fstest.MapFile{Data: data}
	}
	fs["terms.tsv"] = &fstest.MapFile{Data: terms}
	return fs
}
