package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wildwarden/wildwarden/classify"
	"github.com/wildwarden/wildwarden/detect"
	"github.com/wildwarden/wildwarden/kb"
	"github.com/wildwarden/wildwarden/listings"
)

type discoverOptions struct {
	data      []string
	decisions []string
	fromStore string
	tenant    string
	kbDir     string
	output    string
	minCount  int
	top       int
	maxLine   int
}

func init() {
	var o discoverOptions
	cmd := &cobra.Command{
		Use:   "discover --data decided.jsonl [--min-count N] [--top K] -o candidates.tsv",
		Short: "Propose new code words from confirmed violations",
		Long: `Rank the words, word pairs and CJK character n-grams that are over-represented
in confirmed violations (label positive, or reviewer action remove) against
lawful listings (label negative, or reviewer action allow), leaving out
everything the knowledge base already knows (its terms and cues, compared in
folded form). Reviewer decisions come from an export (--from-decisions) or
straight from the service's store (--from-store with --tenant).

Each candidate comes with its counts, a score (z-score of the log-odds
ratio) and example listing ids. The candidates are written in the format of
kb/data/terms.tsv (kind code, category guessed from the knowledge-base
evidence beside it), so an analyst can check them and paste the rows they
accept.`,
		Example: `  wildwarden discover --data decided.jsonl -o candidates.tsv
  wildwarden discover --from-decisions export.jsonl --min-count 5 --top 100 -o candidates.tsv
  wildwarden discover --from-store ./wildwarden.db --tenant shop-a -o candidates.tsv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runDiscover(cmd, &o) },
	}
	cmd.Flags().StringSliceVar(&o.data, "data", nil, "labelled listings (label positive = confirmed violation; a directory stands for its data files)")
	cmd.Flags().StringSliceVar(&o.decisions, "from-decisions", nil, "reviewer decisions exported from the service as JSON Lines")
	cmd.Flags().StringVar(&o.fromStore, "from-store", "", "read reviewer decisions straight from the service's store: "+dbFlagHelp)
	cmd.Flags().StringVar(&o.tenant, "tenant", firstTenant, "with --from-store: the tenant (name or ID) whose decisions to read")
	cmd.Flags().StringVar(&o.kbDir, "kb", "", "knowledge-base directory (default: the embedded one)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "-", "write candidates (terms.tsv format) here; - is standard output")
	cmd.Flags().IntVar(&o.minCount, "min-count", 3, "least number of confirmed violations a candidate must appear in")
	cmd.Flags().IntVar(&o.top, "top", 50, "how many candidates to write")
	cmd.Flags().IntVar(&o.maxLine, "max-line", listings.DefaultMaxLine, "longest input line in bytes")
	rootCmd.AddCommand(cmd)
}

func runDiscover(cmd *cobra.Command, o *discoverOptions) error {
	stderr := cmd.ErrOrStderr()
	if len(o.data) == 0 && len(o.decisions) == 0 && o.fromStore == "" {
		return errors.New("no data: give --data decided.jsonl, --from-decisions export.jsonl or --from-store DB --tenant NAME")
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
	examples, err := in.readAll(cmd.Context(), o.data, o.decisions, o.fromStore, o.tenant)
	if err != nil {
		return err
	}
	sources := append(append([]string(nil), o.data...), o.decisions...)
	if o.fromStore != "" {
		sources = append(sources, fmt.Sprintf("store %s, tenant %s", redactDSN(o.fromStore), o.tenant))
	}
	in.done()
	skipped := in.skipped
	cands, err := classify.Discover(d, k, examples, classify.DiscoverOptions{MinCount: o.minCount, Top: o.top})
	if err != nil {
		return fmt.Errorf("discover: %w", err)
	}
	source := strings.Join(sources, ", ")
	w := cmd.OutOrStdout()
	if o.output != "-" {
		f, err := os.Create(o.output)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if err := classify.WriteCandidatesTSV(w, cands, source); err != nil {
		return err
	}
	if o.output != "-" {
		// A readable summary beside the file.
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "rank\tterm\tpositive\tnegative\tz\tcategory\texamples")
		for i, c := range cands {
			term := c.Original
			if term == "" {
				term = c.Term
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%.1f\t%s\t%s\n", i+1, term, c.Positives, c.Negatives, c.Score, c.Category, strings.Join(c.Examples, ", "))
		}
		tw.Flush()
		fmt.Fprintf(cmd.OutOrStdout(), "%d candidates from %d listings (%d lines skipped) written to %s\n", len(cands), len(examples), skipped, o.output)
	}
	return nil
}
