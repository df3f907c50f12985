package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wildwarden/wildwarden"
)

// binary is the wildwarden command built once for the tests that run it
// as a process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wildwarden-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "wildwarden")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building wildwarden:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run runs the binary and returns its standard output, standard error and
// exit status.
func run(t *testing.T, stdin []byte, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		status = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errb.String(), status
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func verdicts(t *testing.T, out string) []wildwarden.Verdict {
	t.Helper()
	var vs []wildwarden.Verdict
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var v wildwarden.Verdict
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("output line is not a verdict: %v: %q", err, sc.Text())
		}
		vs = append(vs, v)
	}
	return vs
}

// TestScanKeepsOrderAndSkipsBadLines screens a file with malformed lines in
// it on two workers: every good line gets a verdict in input order, every
// bad line is reported with its number, and the exit status says so.
func TestScanKeepsOrderAndSkipsBadLines(t *testing.T) {
	var in bytes.Buffer
	var want []string
	for i := 0; i < 2000; i++ {
		switch {
		case i == 7:
			in.WriteString("{not json\n")
		case i == 500:
			in.WriteString("{\"title\":\"no id\"}\n")
		case i == 1200:
			in.WriteString("{\"id\":\"bad-utf8\",\"title\":\"\xff\xfe\"}\n")
		default:
			id := fmt.Sprintf("L-%d", i)
			want = append(want, id)
			fmt.Fprintf(&in, "{\"id\":%q,\"title\":\"carved bangle number %d\"}\n", id, i)
		}
	}
	path := writeFile(t, "in.jsonl", in.Bytes())
	out, stderr, status := run(t, nil, "scan", "--workers", "2", "--model", "keyword", path)
	if status != exitSkipped {
		t.Errorf("exit status %d, want %d; stderr:\n%s", status, exitSkipped, stderr)
	}
	vs := verdicts(t, out)
	if len(vs) != len(want) {
		t.Fatalf("%d verdicts, want %d", len(vs), len(want))
	}
	for i := range want {
		if vs[i].ID != want[i] {
			t.Fatalf("verdict %d has id %s, want %s: order not kept", i, vs[i].ID, want[i])
		}
	}
	for _, line := range []string{":8:", ":501:", ":1201:"} {
		if !strings.Contains(stderr, filepath.Base(path)+line) {
			t.Errorf("stderr does not report line %s:\n%s", line, stderr)
		}
	}
	if !strings.Contains(stderr, "skipped") {
		t.Errorf("summary does not count skipped lines:\n%s", stderr)
	}
}

func TestScanInputs(t *testing.T) {
	jsonl := []byte(`{"id":"a","title":"老白塑料手镯 出 加V"}` + "\n" + `{"id":"b","title":"iPhone case"}` + "\n")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(jsonl)
	zw.Close()
	csvIn := []byte("id,title,seller.id,label\na,老白塑料手镯 出 加V,S-1,positive\nb,iPhone case,S-2,negative\n")
	tests := []struct {
		name  string
		file  string
		data  []byte
		stdin bool
	}{
		{"jsonl", "in.jsonl", jsonl, false},
		{"gzip", "in.jsonl.gz", gz.Bytes(), false},
		{"csv", "in.csv", csvIn, false},
		{"stdin", "-", jsonl, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out string
			var status int
			if tt.stdin {
				out, _, status = run(t, tt.data, "scan", "-q", "--model", "keyword", "-")
			} else {
				out, _, status = run(t, nil, "scan", "-q", "--model", "keyword", writeFile(t, tt.file, tt.data))
			}
			if status != 0 {
				t.Fatalf("exit status %d", status)
			}
			vs := verdicts(t, out)
			if len(vs) != 2 || vs[0].ID != "a" || vs[1].ID != "b" {
				t.Fatalf("verdicts %+v", vs)
			}
			if vs[0].Decision == wildwarden.Allow || vs[1].Decision != wildwarden.Allow {
				t.Errorf("decisions %s, %s: want a flagged, b allowed", vs[0].Decision, vs[1].Decision)
			}
		})
	}
}

func TestScanCSVOutput(t *testing.T) {
	path := writeFile(t, "in.jsonl", []byte(`{"id":"a","title":"老白塑料手镯 出 加V"}`+"\n"))
	outPath := filepath.Join(t.TempDir(), "out.csv")
	if _, stderr, status := run(t, nil, "scan", "-q", "--model", "keyword", "-o", outPath, path); status != 0 {
		t.Fatalf("exit status %d: %s", status, stderr)
	}
	f, err := os.Open(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0][0] != "id" || rows[1][0] != "a" || rows[1][1] == "allow" || !strings.Contains(rows[1][7], "白塑料") {
		t.Errorf("CSV output %q", rows)
	}
}

// TestScanSignals checks which verdicts list their signals: flagged ones
// always, allow verdicts only with --signals all.
func TestScanSignals(t *testing.T) {
	path := writeFile(t, "in.jsonl", []byte(`{"id":"sale","title":"Oferta: silla de madera, precio 20 euros"}`+"\n"+
		`{"id":"flagged","title":"老白塑料手镯 出 加V"}`+"\n"))
	signalsOf := func(args ...string) map[string][]wildwarden.Signal {
		t.Helper()
		out, stderr, status := run(t, nil, append([]string{"scan", "-q", "--model", "keyword"}, append(args, path)...)...)
		if status != 0 {
			t.Fatalf("scan %v: exit status %d: %s", args, status, stderr)
		}
		got := map[string][]wildwarden.Signal{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var v wildwarden.Verdict
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Fatalf("verdict %q: %v", line, err)
			}
			if v.ID == "sale" && v.Decision != wildwarden.Allow {
				t.Fatalf("the plain sale listing was not allowed: %s", line)
			}
			got[v.ID] = v.Signals
		}
		return got
	}
	flagged := signalsOf()
	if len(flagged["sale"]) != 0 {
		t.Errorf("default: the allow verdict lists signals %+v", flagged["sale"])
	}
	if len(flagged["flagged"]) == 0 {
		t.Error("default: the flagged verdict lists no signals")
	}
	all := signalsOf("--signals", "all")
	if !slices.ContainsFunc(all["sale"], func(s wildwarden.Signal) bool { return s.Name == "context.sale_intent" }) {
		t.Errorf("--signals all: the allow verdict lists %+v, want its sale intent", all["sale"])
	}
	if len(all["flagged"]) != len(flagged["flagged"]) {
		t.Errorf("--signals all changed the flagged verdict's signals: %d, not %d", len(all["flagged"]), len(flagged["flagged"]))
	}
	if _, stderr, status := run(t, nil, "scan", "--signals", "some", path); status != 1 || !strings.Contains(stderr, "--signals") {
		t.Errorf("bad --signals: status %d, stderr %q", status, stderr)
	}
}

func TestScanEdgeCases(t *testing.T) {
	empty := writeFile(t, "empty.jsonl", nil)
	out, stderr, status := run(t, nil, "scan", "--model", "keyword", empty)
	if status != 0 || out != "" || !strings.Contains(stderr, "scanned 0 listings") {
		t.Errorf("empty file: status %d, out %q, stderr %q", status, out, stderr)
	}
	if _, stderr, status := run(t, nil, "scan", "missing.jsonl"); status != 1 || !strings.Contains(stderr, "missing.jsonl") {
		t.Errorf("missing file: status %d, stderr %q", status, stderr)
	}
	if _, stderr, status := run(t, nil, "scan", "--format", "xml", empty); status != 1 || !strings.Contains(stderr, "--format") {
		t.Errorf("bad format: status %d, stderr %q", status, stderr)
	}
	// A line over --max-line is reported and skipped; the next is screened.
	long := `{"id":"long","title":"` + strings.Repeat("a", 5000) + `"}` + "\n" + `{"id":"next","title":"t"}` + "\n"
	out, stderr, status = run(t, nil, "scan", "--model", "keyword", "--max-line", "1000", writeFile(t, "long.jsonl", []byte(long)))
	if vs := verdicts(t, out); status != exitSkipped || len(vs) != 1 || vs[0].ID != "next" || !strings.Contains(stderr, "long.jsonl:1:") {
		t.Errorf("long line: status %d, verdicts %+v, stderr %q", status, vs, stderr)
	}
}

func TestExplain(t *testing.T) {
	out, _, status := run(t, nil, "explain", "--model", "keyword", "老白塑料手镯 出 加V")
	if status != 0 || !strings.Contains(out, "[白塑料]") && !strings.Contains(out, "[老白塑料]") || !strings.Contains(out, "decision:") {
		t.Errorf("explain: status %d:\n%s", status, out)
	}
	out, _, status = run(t, nil, "version", "--model", "keyword")
	if status != 0 || !strings.Contains(out, "knowledge base kb-") {
		t.Errorf("version: status %d:\n%s", status, out)
	}
}
