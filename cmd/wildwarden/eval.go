package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/classify"
	"github.com/wildwarden/wildwarden/listings"
)

type evalOptions struct {
	engineFlags
	data      []string
	decisions []string
	report    string
	by        []string
	maxLine   int
	workers   int
}

func init() {
	var o evalOptions
	cmd := &cobra.Command{
		Use:   "eval --data labelled.jsonl [--model keyword|default|FILE] [--report DIR]",
		Short: "Measure a model on labelled listings: precision, recall, F1, PR-AUC",
		Long: `Screen labelled listings (the "label" field: positive or negative) with the
engine and a model (the knowledge base's keyword model by default,
--model default for the embedded learned classifier, --model FILE), and
measure:

  - decision level: block or review counts as flagged, allow as not;
    precision, recall, F1 and the confusion matrix (and block alone);
  - score level: PR-AUC, the best F1 over thresholds, a threshold table;
  - breakdowns by language and by any tag field of the data (--by).

The report is printed as Markdown tables (paste into docs/QUALITY.md); with
--report DIR it is also written as DIR/report.md, DIR/report.json and the
precision–recall curve DIR/pr.svg. Malformed lines and missing labels are
reported with their line number and skipped.`,
		Example: `  wildwarden eval --data testdata/corpus/corpus.jsonl --by lang,category,evasion
  wildwarden eval --data ../shared/data/dev/wlt_dev.jsonl --model default --report out/learned`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runEval(cmd, &o) },
	}
	o.engineFlags.register(cmd)
	cmd.Flags().StringSliceVar(&o.data, "data", nil, "labelled listings (JSONL or CSV, optionally gzipped; repeat or comma-separate for several files; a directory stands for its data files)")
	cmd.Flags().StringSliceVar(&o.decisions, "from-decisions", nil, "reviewer decisions exported by 'wildwarden admin export-decisions' (remove is a positive, allow a negative)")
	cmd.Flags().StringVar(&o.report, "report", "", "write report.md, report.json and pr.svg into this directory")
	cmd.Flags().StringSliceVar(&o.by, "by", []string{"lang", "category", "evasion"}, "fields to break results down by (listing fields or tags in the data)")
	cmd.Flags().IntVar(&o.maxLine, "max-line", listings.DefaultMaxLine, "longest input line in bytes")
	cmd.Flags().IntVar(&o.workers, "workers", runtime.NumCPU(), "parallel workers")
	rootCmd.AddCommand(cmd)
}

// tagOf returns the value of a breakdown field: a listing field by its
// JSON name, else a tag kept in Extra.
func tagOf(l *wildwarden.Listing, field string) string {
	switch field {
	case "lang":
		if l.Lang != "" {
			return l.Lang
		}
	case "kind":
		return l.Kind
	case "platform":
		return l.Platform
	case "currency":
		return l.Currency
	}
	return l.ExtraString(field)
}

func runEval(cmd *cobra.Command, o *evalOptions) error {
	out, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if len(o.data) == 0 && len(o.decisions) == 0 {
		return errors.New("--data is required: labelled listings to evaluate on (or --from-decisions, exported reviewer decisions)")
	}
	if o.workers < 1 {
		return fmt.Errorf("--workers must be at least 1, not %d", o.workers)
	}
	engine, err := o.engine()
	if err != nil {
		return err
	}
	in := labelledInput{stderr: stderr, maxLine: o.maxLine}
	examples, err := in.read(o.data, o.decisions)
	if err != nil {
		return err
	}
	in.done()
	skipped := in.skipped
	if len(examples) == 0 {
		return errors.New("no labelled listings to evaluate")
	}
	items := make([]classify.EvalItem, len(examples))
	next := make(chan int, 256)
	var wg sync.WaitGroup
	for range o.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				e := examples[i]
				v := engine.ScreenListing(e.Listing)
				tags := make(map[string]string, len(o.by))
				for _, f := range o.by {
					tags[f] = tagOf(e.Listing, f)
				}
				items[i] = classify.EvalItem{ID: e.Listing.ID, Positive: e.Positive, Score: v.Score, Decision: v.Decision, Tags: tags}
			}
		}()
	}
	for i := range examples {
		next <- i
	}
	close(next)
	wg.Wait()

	r := classify.NewReport(items, o.by)
	kbVersion, modelVersion := engine.Versions()
	r.Data, r.Model, r.KBVersion = strings.Join(append(append([]string(nil), o.data...), o.decisions...), ", "), modelVersion, kbVersion
	if err := r.WriteMarkdown(out); err != nil {
		return err
	}
	if skipped > 0 {
		fmt.Fprintf(out, "\n%d lines skipped (see standard error).\n", skipped)
	}
	if o.report == "" {
		return nil
	}
	if err := os.MkdirAll(o.report, 0o755); err != nil {
		return fmt.Errorf("--report: %w", err)
	}
	for _, f := range []struct {
		name  string
		write func(*os.File) error
	}{
		{"report.md", func(w *os.File) error { return r.WriteMarkdown(w) }},
		{"report.json", func(w *os.File) error { return r.WriteJSON(w) }},
		{"pr.svg", func(w *os.File) error { return r.WriteSVG(w) }},
	} {
		path := filepath.Join(o.report, f.name)
		w, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("--report: %w", err)
		}
		if err := f.write(w); err != nil {
			w.Close()
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	fmt.Fprintf(out, "\nreport written to %s (report.md, report.json, pr.svg)\n", o.report)
	return nil
}
