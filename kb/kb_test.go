package kb

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadDefault(t *testing.T) {
	k, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Terms) < 1000 || len(k.Cues) < 400 || len(k.Taxa) < 50 || !strings.HasPrefix(k.Version, "kb-") {
		t.Errorf("embedded knowledge base looks empty: %d terms, %d cues, %d taxa, version %q", len(k.Terms), len(k.Cues), len(k.Taxa), k.Version)
	}
	for _, c := range []string{"ivory", "rhino_horn", "pangolin"} {
		if len(k.TaxaOf(c)) == 0 {
			t.Errorf("no taxa for category %s", c)
		}
	}
}

// minimal is a valid knowledge base; each test case breaks one file.
func minimal() fstest.MapFS {
	return fstest.MapFS{
		"categories.tsv": {Data: []byte("id\tlabel\tnote\nivory\tIvory\tt\n")},
		"taxa.tsv":       {Data: []byte("key\tscientific\trank\tcommon\tcites\tcategories\tnote\nx\tX y\tSPECIES\tX\tI\tivory\tt\n")},
		"terms.tsv":      {Data: []byte("term\tlang\tkind\tcategory\ttaxon\tflags\tnote\nivory\ten\tproduct\tivory\tx\tcolour\tt\n")},
		"cues.tsv":       {Data: []byte("cue\tmatch\tpattern\tlang\tnote\nprice\tregex\t\\$\\d\tund\tt\n")},
		"emoji.tsv":      {Data: []byte("emoji\tname\tnote\n🐘\telephant\tt\n")},
		"weights.tsv":    {Data: []byte("feature\tweight\tnote\nbias\t-4\tt\n")},
	}
}

func TestLoadReportsFileAndLine(t *testing.T) {
	if _, err := Load(minimal()); err != nil {
		t.Fatalf("minimal knowledge base: %v", err)
	}
	tests := []struct {
		name, file, data, want string
	}{
		{"missing note", "terms.tsv", "term\tlang\tkind\tcategory\ttaxon\tflags\tnote\nivory\ten\tproduct\tivory\t-\t-\t\n", `terms.tsv:2: column "note" is empty`},
		{"unknown category", "terms.tsv", "term\tlang\tkind\tcategory\ttaxon\tflags\tnote\nivory\ten\tproduct\tjade\t-\t-\tt\n", `terms.tsv:2: category "jade"`},
		{"unknown taxon", "terms.tsv", "term\tlang\tkind\tcategory\ttaxon\tflags\tnote\n# c\nivory\ten\tproduct\tivory\tzz\t-\tt\n", `terms.tsv:3: taxon "zz"`},
		{"unknown kind", "terms.tsv", "term\tlang\tkind\tcategory\ttaxon\tflags\tnote\nivory\ten\tthing\tivory\t-\t-\tt\n", `kind "thing"`},
		{"unknown flag", "terms.tsv", "term\tlang\tkind\tcategory\ttaxon\tflags\tnote\nivory\ten\tproduct\tivory\t-\tshiny\tt\n", `flag "shiny"`},
		{"wrong column count", "cues.tsv", "cue\tmatch\tpattern\tlang\tnote\nprice\tregex\tx\n", "cues.tsv:2: has 3 columns"},
		{"bad regex", "cues.tsv", "cue\tmatch\tpattern\tlang\tnote\nprice\tregex\t(\tund\tt\n", "cues.tsv:2: pattern"},
		{"unknown cue", "cues.tsv", "cue\tmatch\tpattern\tlang\tnote\nvibes\tterm\tx\tund\tt\n", `cue "vibes"`},
		{"bad header", "weights.tsv", "feature\tw\tnote\n", "weights.tsv:1: header"},
		{"bad weight", "weights.tsv", "feature\tweight\tnote\nbias\tlots\tt\n", `weights.tsv:2: weight "lots"`},
		{"duplicate category", "categories.tsv", "id\tlabel\tnote\nivory\tIvory\tt\nivory\tIvory\tt\n", "defined twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := minimal()
			fsys[tt.file] = &fstest.MapFile{Data: []byte(tt.data)}
			_, err := Load(fsys)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	fsys := minimal()
	delete(fsys, "emoji.tsv")
	if _, err := Load(fsys); err == nil {
		t.Error("a missing file was accepted")
	}
}
