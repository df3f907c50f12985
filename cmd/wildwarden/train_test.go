package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/wildwarden/wildwarden/classify"
	"github.com/wildwarden/wildwarden/internal/shareddata"
)

// runCLI runs the command line with args and returns its output. Flags are
// reset afterwards, since cobra keeps them between runs.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	rootCmd.SetArgs(args)
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&errOut)
	err = rootCmd.Execute()
	cmd, _, _ := rootCmd.Find(args)
	if cmd != nil {
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				_ = sv.Replace(nil)
			} else {
				_ = f.Value.Set(f.DefValue)
			}
			f.Changed = false
		})
	}
	return out.String(), errOut.String(), err
}

// labelledLines writes offers and honest listings as JSON lines.
func labelledLines(n int, code string) []string {
	offers := []string{"carved ivory figure for sale, $%d", "rhino horn cup, whatsapp me, $%d", "老象牙手镯 出售 %d元", "pangolin scales %d kg bulk", "%s bangle, very old, %d grams"}
	honest := []string{"ivory wedding dress size %d", "customs seized %d kg of ivory", "oak dining table seats %d", "米白色 连衣裙 %d码", "resin elephant figure %d cm"}
	var lines []string
	for i := range n {
		label, tpl := "negative", honest[i%len(honest)]
		if i%2 == 0 {
			label, tpl = "positive", offers[(i/2)%len(offers)]
		}
		var title string
		if strings.HasPrefix(tpl, "%s") {
			title = fmt.Sprintf(tpl, code, 10+i)
		} else {
			title = fmt.Sprintf(tpl, 10+i)
		}
		lines = append(lines, fmt.Sprintf(`{"id":"t-%d","title":%q,"label":%q,"group":"g%d"}`, i, title, label, i%7))
	}
	return lines
}

func writeLines(t *testing.T, name string, lines []string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTrainReportsBadLinesAndWritesAModel(t *testing.T) {
	lines := labelledLines(120, "zorblax")
	// Lines 3 to 7 are malformed in different ways.
	bad := []string{`{"id":"x1","title":"ivory","label":"maybe"}`, `{"id":"x2","title":"ivory"}`, `{not json`, `{"title":"no id","label":"positive"}`, `{"id":"x3","title":"ivory","label":7}`}
	lines = append(lines[:2], append(bad, lines[2:]...)...)
	data := writeLines(t, "data.jsonl", lines)
	model := filepath.Join(t.TempDir(), "m.ww")
	stdout, stderr, err := runCLI(t, "train", "--data", data, "--bits", "14", "-o", model)
	if err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	for line, want := range map[int]string{3: "not positive or negative", 4: `missing "label"`, 5: "invalid JSON", 6: "id", 7: "not positive or negative"} {
		if !strings.Contains(stderr, fmt.Sprintf("data.jsonl:%d: ", line)) || !strings.Contains(stderr, want) {
			t.Errorf("stderr does not report line %d (%s):\n%s", line, want, stderr)
		}
	}
	for _, want := range []string{"5 lines skipped", "thresholds: block", "why: block at", "out-of-fold", "PR-AUC"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := classify.Load(model); err != nil {
		t.Fatalf("the written model does not load: %v", err)
	}
}

func TestTrainIsReproducibleAcrossRuns(t *testing.T) {
	data := writeLines(t, "data.jsonl", labelledLines(80, "zorblax"))
	dir := t.TempDir()
	var files [2][]byte
	for i := range files {
		out := filepath.Join(dir, fmt.Sprintf("m%d.ww", i))
		if _, stderr, err := runCLI(t, "train", "--data", data, "--bits", "12", "--seed", "5", "-o", out); err != nil {
			t.Fatalf("train: %v\n%s", err, stderr)
		}
		var err error
		if files[i], err = os.ReadFile(out); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Fatalf("two runs with the same seed wrote different model files")
	}
}

func TestTrainRefusesDegenerateData(t *testing.T) {
	all := labelledLines(20, "zorblax")
	var positives []string
	for _, l := range all {
		if strings.Contains(l, `"positive"`) {
			positives = append(positives, l)
		}
	}
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"empty file", nil, "training set is empty"},
		{"only bad lines", []string{`{oops`, `{"id":"a","title":"x"}`}, "training set is empty"},
		{"one class", positives, "both positive and negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := writeLines(t, "data.jsonl", tc.lines)
			_, _, err := runCLI(t, "train", "--data", data, "-o", filepath.Join(t.TempDir(), "m.ww"))
			if err == nil || !strings.Contains(err.Error(), "refusing to train") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a refusal mentioning %q", err, tc.want)
			}
		})
	}
}

func TestEvalWritesReport(t *testing.T) {
	data := writeLines(t, "data.jsonl", labelledLines(60, "zorblax"))
	model := filepath.Join(t.TempDir(), "m.ww")
	if _, stderr, err := runCLI(t, "train", "--data", data, "--bits", "12", "-o", model); err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	tests := []struct{ name, model string }{{"model file", model}, {"keyword", "keyword"}, {"default", ""}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			stdout, stderr, err := runCLI(t, "eval", "--data", data, "--model", tc.model, "--report", dir, "--by", "lang,group")
			if err != nil {
				t.Fatalf("eval: %v\n%s", err, stderr)
			}
			for _, want := range []string{"| PR-AUC |", "| F1 (block or review) |", "By group", "| score ≥ |"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, stdout)
				}
			}
			for _, f := range []string{"report.md", "report.json", "pr.svg"} {
				if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
					t.Errorf("%s: %v", f, err)
				}
			}
		})
	}
}

func TestDiscoverWritesCandidates(t *testing.T) {
	data := writeLines(t, "decided.jsonl", labelledLines(200, "zorblax"))
	out := filepath.Join(t.TempDir(), "candidates.tsv")
	stdout, stderr, err := runCLI(t, "discover", "--data", data, "--top", "10", "-o", out)
	if err != nil {
		t.Fatalf("discover: %v\n%s", err, stderr)
	}
	tsv, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(tsv), "term\tlang\tkind\tcategory\ttaxon\tflags\tnote\n") || !strings.Contains(string(tsv), "\nzorblax") {
		t.Errorf("candidates lack the header or the planted word:\n%s", tsv)
	}
	if !strings.Contains(stdout, "zorblax") {
		t.Errorf("summary lacks the planted word:\n%s", stdout)
	}
}

func TestLoadScorer(t *testing.T) {
	corrupt := filepath.Join(t.TempDir(), "bad.ww")
	if err := os.WriteFile(corrupt, []byte("WWCLF\nnot gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path  string
		wantNil     bool
		wantVersion string
		wantErr     error
		wantErrText string
	}{
		{name: "keyword", path: "keyword", wantNil: true},
		{name: "unset", path: "", wantNil: true},
		{name: "default", path: "default", wantVersion: "clf-"},
		{name: "missing file", path: filepath.Join(t.TempDir(), "none.ww"), wantErr: os.ErrNotExist},
		{name: "corrupt file", path: corrupt, wantErr: classify.ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := loadScorer(tc.path, "")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("loadScorer: %v", err)
			}
			if tc.wantNil != (s == nil) {
				t.Fatalf("scorer %v, want nil = %v", s, tc.wantNil)
			}
			if s != nil && !strings.HasPrefix(s.Version(), tc.wantVersion) {
				t.Errorf("version %q, want prefix %q", s.Version(), tc.wantVersion)
			}
		})
	}
}

func TestTrainFromDecisions(t *testing.T) {
	var lines []string
	for i, l := range labelledLines(60, "zorblax") {
		action := "allow"
		if strings.Contains(l, `"positive"`) {
			action = "remove"
		}
		lines = append(lines, fmt.Sprintf(`{"listing":%s,"action":%q}`, l, action))
		if i == 3 {
			lines = append(lines, `{"listing":{"id":"e","title":"ivory"},"action":"escalate"}`, `{"listing":{"id":"b","title":"ivory"},"action":"delete"}`, `{"action":"remove"}`)
		}
	}
	data := writeLines(t, "decisions.jsonl", lines)
	stdout, stderr, err := runCLI(t, "train", "--from-decisions", data, "--bits", "12", "-o", filepath.Join(t.TempDir(), "m.ww"))
	if err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	for _, want := range []string{`decisions.jsonl:6: action "delete"`, `decisions.jsonl:7: no "listing" object`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "trained on 60 listings (30 positive, 30 negative), 2 lines skipped") {
		t.Errorf("escalated decisions must be left out and bad lines counted:\n%s", stdout)
	}
}

// TestDefaultModelIsCurrent retrains the embedded model as `go generate
// ./classify` does and checks that the embedded bytes are what it writes:
// a change to folding, detection or features must come with a new model.
func TestDefaultModelIsCurrent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "default.ww")
	if _, stderr, err := runCLI(t, "train", "--data", "../../classify/traindata/train.jsonl", "--seed", "1", "-o", out); err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := os.ReadFile("../../classify/model/default.ww")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, embedded) {
		t.Fatal("classify/model/default.ww is stale: run go generate ./classify")
	}
}

// TestTrainReadsADirectory checks that a directory given to --data stands
// for its data files: the model is the one the same files named one by one
// give, other files in it are ignored, and a directory with no data file
// is refused.
func TestTrainReadsADirectory(t *testing.T) {
	lines := labelledLines(80, "zorblax")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	for name, part := range map[string][]string{a: lines[:50], b: lines[50:], filepath.Join(dir, "README.md"): {"# not data"}} {
		if err := os.WriteFile(name, []byte(strings.Join(part, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	var models [2][]byte
	for i, data := range []string{dir, a + "," + b} {
		m := filepath.Join(out, fmt.Sprintf("m%d.ww", i))
		if _, stderr, err := runCLI(t, "train", "--data", data, "--bits", "12", "-o", m); err != nil {
			t.Fatalf("train --data %s: %v\n%s", data, err, stderr)
		}
		var err error
		if models[i], err = os.ReadFile(m); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(models[0], models[1]) {
		t.Fatal("--data DIR and --data with its files wrote different models")
	}
	empty := t.TempDir()
	_, _, err := runCLI(t, "train", "--data", empty, "-o", filepath.Join(out, "m.ww"))
	if err == nil || !strings.Contains(err.Error(), "no data file") {
		t.Fatalf("err = %v, want a refusal of a directory with no data file", err)
	}
}

// TestResearchSets holds the embedded model to the learned classifier's
// promise on the research sets of ../shared/data/dev, which it was never
// trained on: better F1 than keyword scoring on both. The figures are
// logged (go test -v); docs/QUALITY.md records them.
func TestResearchSets(t *testing.T) {
	dev := shareddata.Dir(t, "data/dev")
	for _, name := range []string{"wlt_dev.jsonl", "vida_leather.jsonl"} {
		t.Run(name, func(t *testing.T) {
			f1 := map[string]float64{}
			for _, model := range []string{"keyword", "default"} {
				report := filepath.Join(t.TempDir(), model)
				if _, stderr, err := runCLI(t, "eval", "--data", filepath.Join(dev, name), "--model", model, "--report", report); err != nil {
					t.Fatalf("eval --model %s: %v\n%s", model, err, stderr)
				}
				raw, err := os.ReadFile(filepath.Join(report, "report.json"))
				if err != nil {
					t.Fatal(err)
				}
				var r classify.Report
				if err := json.Unmarshal(raw, &r); err != nil {
					t.Fatal(err)
				}
				f1[model] = r.Flagged.F1()
				t.Logf("%s, %s model: n %d, precision %.3f, recall %.3f, F1 %.3f, PR-AUC %.3f",
					name, model, r.N, r.Flagged.Precision(), r.Flagged.Recall(), f1[model], r.PRAUC)
			}
			if f1["default"] <= f1["keyword"] {
				t.Errorf("the default model's F1 %.3f is not better than keyword scoring's %.3f", f1["default"], f1["keyword"])
			}
		})
	}
}
