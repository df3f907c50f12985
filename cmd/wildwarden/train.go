package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/classify"
	"github.com/wildwarden/wildwarden/detect"
	"github.com/wildwarden/wildwarden/kb"
	"github.com/wildwarden/wildwarden/listings"
	"github.com/wildwarden/wildwarden/policy"
)

type trainOptions struct {
	data            []string
	valid           []string
	decisions       []string
	fromStore       string
	tenant          string
	kbDir           string
	output          string
	seed            int64
	epochs          int
	bits            uint
	targetPrecision float64
	reviewRecall    float64
	prior           float64
	maxLine         int
}

func init() {
	var o trainOptions
	cmd := &cobra.Command{
		Use:   "train --data labelled.jsonl [--valid valid.jsonl] -o model.ww",
		Short: "Train a classifier model from labelled listings",
		Long: `Train a logistic-regression classifier on labelled listings (JSON Lines or
CSV, the listing contract plus a "label" field: positive or negative), or on
reviewers' decisions: exported from the service as JSON Lines
(--from-decisions, written by 'wildwarden admin export-decisions') or read
straight from its store (--from-store with --tenant). A decision to remove
is a positive, to allow a negative; an escalated listing (no outcome yet)
is left out. Each decided listing is taken as it was screened before the
decision, with the latest decision on it.

Training is reproducible: the same data, knowledge base and --seed give the
same model file byte for byte. Probabilities are calibrated (Platt scaling)
on --valid when given, else on out-of-fold scores of the training data, and
the thresholds are chosen there: block at the lowest score whose precision
reaches --target-precision, review at the highest score that still sends
--review-recall of the positives to a person.

A model learns the balance of its training data: trained on half offers and
half not, it says 0.5 where offers are in fact rare. --prior sets the share
of offers expected in the traffic the model will score (e.g. 0.1: one in
ten of the listings and posts it sees); the calibration is shifted from the
held-out data's share to it, and the precision behind the thresholds is
estimated for it. The ranking, and so PR-AUC, does not change.

Malformed lines and missing or invalid labels are reported with their file
and line number and skipped. An empty or one-class training set is refused.`,
		Example: `  wildwarden train --data labelled.jsonl -o model.ww
  wildwarden train --data train.jsonl --valid valid.jsonl --seed 7 --target-precision 0.98 -o model.ww
  wildwarden train --from-decisions decisions.jsonl -o platform.ww
  wildwarden train --from-store ./wildwarden.db --tenant shop-a -o platform.ww`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runTrain(cmd, &o) },
	}
	cmd.Flags().StringSliceVar(&o.data, "data", nil, "labelled listings (JSONL or CSV, optionally gzipped; repeat or comma-separate for several files; a directory stands for its data files)")
	cmd.Flags().StringSliceVar(&o.valid, "valid", nil, "labelled listings to calibrate and choose thresholds on (default: out-of-fold scores of --data)")
	cmd.Flags().StringSliceVar(&o.decisions, "from-decisions", nil, "reviewer decisions exported from the service as JSON Lines: {\"listing\": {…}, \"action\": \"remove\"|\"allow\"|\"escalate\"}")
	cmd.Flags().StringVar(&o.fromStore, "from-store", "", "read reviewer decisions straight from the service's store: "+dbFlagHelp)
	cmd.Flags().StringVar(&o.tenant, "tenant", firstTenant, "with --from-store: the tenant (name or ID) whose decisions to learn from")
	cmd.Flags().StringVar(&o.kbDir, "kb", "", "knowledge-base directory (default: the embedded one)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write the model file here (required)")
	cmd.Flags().Int64Var(&o.seed, "seed", 1, "random seed: shuffles, folds and the feature hash")
	cmd.Flags().IntVar(&o.epochs, "epochs", 6, "passes over the training data")
	cmd.Flags().UintVar(&o.bits, "bits", 18, "feature hash buckets as a power of two")
	cmd.Flags().Float64Var(&o.targetPrecision, "target-precision", 0.95, "precision the block threshold must reach on held-out data")
	cmd.Flags().Float64Var(&o.reviewRecall, "review-recall", 0.95, "share of held-out positives the review threshold must keep")
	cmd.Flags().Float64Var(&o.prior, "prior", 0, "share of positives expected in the traffic to score, in (0, 1): calibrate for it (default: the held-out data's share)")
	cmd.Flags().IntVar(&o.maxLine, "max-line", listings.DefaultMaxLine, "longest input line in bytes")
	rootCmd.AddCommand(cmd)
}

func runTrain(cmd *cobra.Command, o *trainOptions) error {
	start := time.Now()
	out, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if o.output == "" {
		return errors.New("-o/--output is required: where to write the model file")
	}
	if len(o.data) == 0 && len(o.decisions) == 0 && o.fromStore == "" {
		return errors.New("no training data: give --data labelled.jsonl, --from-decisions decisions.jsonl or --from-store DB --tenant NAME")
	}
	if !(0 < o.targetPrecision && o.targetPrecision <= 1) || !(0 < o.reviewRecall && o.reviewRecall <= 1) {
		return fmt.Errorf("--target-precision and --review-recall must be in (0, 1]")
	}
	if cmd.Flags().Changed("prior") && !(0 < o.prior && o.prior < 1) {
		return fmt.Errorf("--prior %g: %w", o.prior, classify.ErrPrior)
	}
	k, err := kb.LoadDir(o.kbDir)
	if err != nil {
		return err
	}
	d, err := detect.New(k)
	if err != nil {
		return err
	}
	in := labelledInput{stderr: stderr, maxLine: o.maxLine}
	train, err := in.readAll(cmd.Context(), o.data, o.decisions, o.fromStore, o.tenant)
	if err != nil {
		return err
	}
	valid, err := in.read(o.valid, nil)
	if err != nil {
		return err
	}
	in.done()
	skipped := in.skipped
	m, rep, err := classify.Train(d, train, valid, classify.TrainOptions{
		Seed: o.seed, Epochs: o.epochs, Bits: o.bits, TargetPrecision: o.targetPrecision,
		ReviewRecall: o.reviewRecall, Prior: o.prior, KBVersion: k.Version, Keyword: policy.NewKeywordModel(k),
	})
	if err != nil {
		if errors.Is(err, classify.ErrOneClass) || len(train) == 0 {
			return fmt.Errorf("refusing to train: %w", err)
		}
		return err
	}
	data, err := m.Encode()
	if err != nil {
		return err
	}
	if err := os.WriteFile(o.output, data, 0o644); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	m, err = classify.Decode(data)
	if err != nil {
		return err
	}
	h := m.Header
	fmt.Fprintf(out, "model %s written to %s (%d bytes, %d non-zero weights of %d buckets)\n", m.Version(), o.output, len(data), rep.NonZero, 1<<h.Bits)
	fmt.Fprintf(out, "trained on %d listings (%d positive, %d negative), %d lines skipped; seed %d, %d epochs, knowledge base %s\n",
		h.Training.Examples, h.Training.Positives, h.Training.Negatives, skipped, h.Training.Seed, h.Training.Epochs, k.Version)
	fmt.Fprintf(out, "calibration: Platt on %s, p = σ(%.4f·z %+.4f)", rep.HeldName, h.Calibration.A, h.Calibration.B)
	if h.Training.Prior > 0 {
		fmt.Fprintf(out, ", shifted to a prior of %.1f%% positives (the precision and F1 in the table below are at the data's own balance)", 100*h.Training.Prior)
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "thresholds: block %.4f, review %.4f\n  why: %s\n", h.Thresholds.Block, h.Thresholds.Review, h.Thresholds.Why)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "data\tn\tpositive\tPR-AUC\tP(review)\tR(review)\tF1(review)\tP(block)\tR(block)\tF1(block)")
	for _, row := range []struct {
		name string
		s    classify.Summary
	}{{"training (optimistic)", rep.Training}, {rep.HeldName, rep.Held}} {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\n", row.name, row.s.N, row.s.Positives, row.s.PRAUC,
			row.s.Flagged.Precision(), row.s.Flagged.Recall(), row.s.Flagged.F1(),
			row.s.Blocked.Precision(), row.s.Blocked.Recall(), row.s.Blocked.F1())
	}
	tw.Flush()
	fmt.Fprintf(out, "to enforce these thresholds, set them in the policy file:\n  thresholds:\n    review: %.3f\n    block: %.3f\n", h.Thresholds.Review, h.Thresholds.Block)
	fmt.Fprintf(out, "done in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// openData opens a data file, decompressing .gz.
func openData(name string) (io.Reader, func() error, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	if !strings.HasSuffix(name, ".gz") {
		return f, f.Close, nil
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return zr, f.Close, nil
}

// readListings reads every listing of a JSONL or CSV file, reporting bad
// lines through skip and going on.
func readListings(name string, maxLine int, skip func(string), each func(line int, l *wildwarden.Listing)) error {
	r, closeFn, err := openData(name)
	if err != nil {
		return err
	}
	defer closeFn()
	if listings.FormatOf(name) == listings.CSV {
		cr, err := listings.NewCSVReader(r, name)
		if err != nil {
			return err
		}
		for {
			l := new(wildwarden.Listing)
			line, err := cr.Next(l)
			if err == io.EOF {
				return nil
			}
			var le *listings.LineError
			if errors.As(err, &le) {
				skip(le.Error())
				continue
			}
			if err != nil {
				return err
			}
			each(line, l)
		}
	}
	lr := listings.NewLineReader(r, name, maxLine)
	for {
		line, raw, err := lr.Next()
		if err == io.EOF {
			return nil
		}
		var le *listings.LineError
		if errors.As(err, &le) {
			skip(le.Error())
			continue
		}
		if err != nil {
			return err
		}
		l := new(wildwarden.Listing)
		if err := listings.DecodeJSON(raw, l); err != nil {
			skip(fmt.Sprintf("%s:%d: %v", name, line, err))
			continue
		}
		each(line, l)
	}
}

// labelledInput reads labelled listings and exported decisions for train,
// eval and discover, reporting the first skipped lines on standard error.
type labelledInput struct {
	stderr  io.Writer
	maxLine int
	skipped int
}

const maxSkipReports = 50

func (in *labelledInput) skip(msg string) {
	in.skipped++
	if in.skipped <= maxSkipReports {
		fmt.Fprintln(in.stderr, "skipped:", msg)
	}
}

// read reads labelled files, then decision exports. A directory among
// the labelled files stands for the data files directly in it.
func (in *labelledInput) read(labelled, decisions []string) ([]classify.Example, error) {
	labelled, err := expandDataDirs(labelled)
	if err != nil {
		return nil, err
	}
	var out []classify.Example
	for _, name := range labelled {
		ex, err := readLabelled(name, in.maxLine, in.skip)
		if err != nil {
			return nil, err
		}
		out = append(out, ex...)
	}
	for _, name := range decisions {
		ex, err := readDecisions(name, in.maxLine, in.skip)
		if err != nil {
			return nil, err
		}
		out = append(out, ex...)
	}
	return out, nil
}

// readAll reads labelled files, decision exports and, when dsn is set, the
// decisions in a tenant's store.
func (in *labelledInput) readAll(ctx context.Context, labelled, decisions []string, dsn, tenant string) ([]classify.Example, error) {
	out, err := in.read(labelled, decisions)
	if err != nil || dsn == "" {
		return out, err
	}
	decided, err := in.readStore(ctx, dsn, tenant)
	if err != nil {
		return nil, err
	}
	return append(out, decided...), nil
}

// done says how many skipped lines were not reported one by one.
func (in *labelledInput) done() {
	if in.skipped > maxSkipReports {
		fmt.Fprintf(in.stderr, "skipped: … and %d more lines\n", in.skipped-maxSkipReports)
	}
}

// dataExts are the file names a directory of labelled data is read for.
var dataExts = []string{".jsonl", ".jsonl.gz", ".csv", ".csv.gz"}

// expandDataDirs replaces each directory among names with the data files
// directly in it (by dataExts, in name order, not descending), so that a
// training set kept as several files is named once. A directory with no
// data file is an error: it is more likely a wrong path than an intent.
func expandDataDirs(names []string) ([]string, error) {
	var out []string
	for _, name := range names {
		st, err := os.Stat(name)
		if err != nil || !st.IsDir() {
			out = append(out, name) // opening it reports the error
			continue
		}
		entries, err := os.ReadDir(name)
		if err != nil {
			return nil, err
		}
		n := len(out)
		for _, e := range entries {
			if e.Type().IsRegular() && slices.ContainsFunc(dataExts, func(ext string) bool { return strings.HasSuffix(e.Name(), ext) }) {
				out = append(out, filepath.Join(name, e.Name()))
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("%s: a directory with no data file (%s)", name, strings.Join(dataExts, ", "))
		}
	}
	return out, nil
}

// readLabelled reads labelled listings: the `label` field must be
// positive or negative.
func readLabelled(name string, maxLine int, skip func(string)) ([]classify.Example, error) {
	var out []classify.Example
	err := readListings(name, maxLine, skip, func(line int, l *wildwarden.Listing) {
		positive, err := classify.ParseLabel(l)
		if err != nil {
			skip(fmt.Sprintf("%s:%d: %v", name, line, err))
			return
		}
		out = append(out, classify.Example{Listing: l, Positive: positive, Group: l.ExtraString("group")})
	})
	return out, err
}

// readDecisions reads decisions exported as JSON Lines, one
// wildwarden.DecidedListing a line (only "listing" and "action" are
// needed), labelled by decidedExample.
func readDecisions(name string, maxLine int, skip func(string)) ([]classify.Example, error) {
	r, closeFn, err := openData(name)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	var out []classify.Example
	lr := listings.NewLineReader(r, name, maxLine)
	for {
		line, raw, err := lr.Next()
		if err == io.EOF {
			return out, nil
		}
		var le *listings.LineError
		if errors.As(err, &le) {
			skip(le.Error())
			continue
		}
		if err != nil {
			return nil, err
		}
		// Only the two fields training needs are decoded, so that a line
		// from another exporter with other extra fields still reads.
		var dl struct {
			Listing *wildwarden.Listing `json:"listing"`
			Action  string              `json:"action"`
		}
		if err := json.Unmarshal(raw, &dl); err != nil {
			skip(fmt.Sprintf("%s:%d: invalid JSON: %v", name, line, err))
			continue
		}
		ex, labelled, err := decidedExample(&wildwarden.DecidedListing{Listing: dl.Listing, Action: dl.Action})
		if err != nil {
			skip(fmt.Sprintf("%s:%d: %v", name, line, err))
			continue
		}
		if labelled {
			out = append(out, ex)
		}
	}
}

// decidedExample turns a reviewer's decision into a training example, the
// one mapping from actions to labels: remove is a positive, allow a
// negative, escalate (no outcome yet) gives no example (labelled false).
// A decision without a valid listing or with another action is an error.
func decidedExample(dl *wildwarden.DecidedListing) (ex classify.Example, labelled bool, err error) {
	if dl.Listing == nil {
		return ex, false, errors.New(`no "listing" object`)
	}
	if err := dl.Listing.Validate(); err != nil {
		return ex, false, fmt.Errorf("listing: %w", err)
	}
	switch dl.Action {
	case wildwarden.ActionRemove:
		return classify.Example{Listing: dl.Listing, Positive: true}, true, nil
	case wildwarden.ActionAllow:
		return classify.Example{Listing: dl.Listing, Positive: false}, true, nil
	case wildwarden.ActionEscalate:
		return ex, false, nil
	default:
		return ex, false, fmt.Errorf("action %q is not remove, allow or escalate", dl.Action)
	}
}

// readStore reads a tenant's decided listings straight from the store at
// dsn (see Store.ExportDecisions), labelled by decidedExample; a bad row
// is reported and skipped like a bad line.
func (in *labelledInput) readStore(ctx context.Context, dsn, tenantRef string) ([]classify.Example, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	s, err := openStoreToRead(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("--from-store: %w", err)
	}
	defer s.Close()
	t, err := resolveTenant(ctx, s, tenantRef)
	if err != nil {
		return nil, fmt.Errorf("--from-store %s: %w", redactDSN(dsn), err)
	}
	var out []classify.Example
	err = s.ExportDecisions(ctx, t.ID, time.Time{}, func(dl *wildwarden.DecidedListing) error {
		ex, labelled, err := decidedExample(dl)
		if err != nil {
			in.skip(fmt.Sprintf("%s: decision %s: %v", redactDSN(dsn), dl.DecisionID, err))
			return nil
		}
		if labelled {
			out = append(out, ex)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("--from-store %s: %w", redactDSN(dsn), err)
	}
	return out, nil
}
