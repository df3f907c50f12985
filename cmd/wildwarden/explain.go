package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/wildwarden/wildwarden"
)

func init() {
	var ef engineFlags
	var lang, kind string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "explain [flags] TEXT…",
		Short: "Screen one text and show the verdict with its evidence highlighted",
		Example: `  wildwarden explain "老白塑料手镯 出 加V"
  wildwarden explain --json "carved і.v.о.r.у bangle, DM for price"`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			engine, err := ef.engine()
			if err != nil {
				return err
			}
			l := &wildwarden.Listing{ID: "explain", Title: strings.Join(args, " "), Lang: lang, Kind: kind}
			v := engine.ScreenListing(l)
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetEscapeHTML(false)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			color := false
			if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == "" {
				color = true
			}
			printExplanation(out, l.Title, v, color)
			return nil
		},
	}
	ef.register(cmd)
	cmd.Flags().StringVar(&lang, "lang", "", "language of the text (informational)")
	cmd.Flags().StringVar(&kind, "kind", wildwarden.KindListing, "kind of item: listing, ad, post, comment or query")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the verdict as JSON")
	rootCmd.AddCommand(cmd)
}

// printExplanation writes a verdict for a person: the decision, the text
// with the evidence marked, and each signal with what it added.
func printExplanation(w io.Writer, title string, v *wildwarden.Verdict, color bool) {
	mark := func(s string) string {
		if color {
			return "\x1b[1;31m" + s + "\x1b[0m"
		}
		return "[" + s + "]"
	}
	fmt.Fprintf(w, "decision: %s (score %.3f)\n", v.Decision, v.Score)
	fmt.Fprintf(w, "reason:   %s\n", v.Reason)
	fmt.Fprintf(w, "text:     %s\n", highlight(title, v.Signals, mark))
	if len(v.Categories) > 0 {
		fmt.Fprintf(w, "category: %s\n", strings.Join(v.Categories, ", "))
	}
	for _, s := range v.Species {
		fmt.Fprintf(w, "species:  %s (%s), CITES Appendix %s\n", s.Name, s.Common, s.CITES)
	}
	if len(v.Signals) > 0 {
		fmt.Fprintln(w, "signals:")
	}
	for _, s := range v.Signals {
		where := s.Field
		if s.Span != nil {
			where = fmt.Sprintf("%s[%d:%d] %s view", s.Field, s.Span[0], s.Span[1], s.View)
		}
		fmt.Fprintf(w, "  %+6.2f  %-22s %q", s.Weight, s.Name, s.Text)
		if s.Term != "" && s.Term != s.Text {
			fmt.Fprintf(w, " = %q", s.Term)
		}
		fmt.Fprintf(w, "  (%s)\n", where)
	}
	if len(v.Shadow) > 0 {
		fmt.Fprintf(w, "shadow:   %s\n", strings.Join(v.Shadow, "; "))
	}
	fmt.Fprintf(w, "versions: %s, %s\n", v.KBVersion, v.ModelVersion)
}

// highlight marks the title's evidence spans.
func highlight(s string, signals []wildwarden.Signal, mark func(string) string) string {
	runes := []rune(s)
	var spans [][2]int
	for _, sig := range signals {
		if sig.Field == wildwarden.FieldTitle && sig.Span != nil && sig.Span[1] <= len(runes) {
			spans = append(spans, *sig.Span)
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	var b strings.Builder
	pos := 0
	for _, sp := range spans {
		if sp[0] < pos {
			sp[0] = pos // overlapping spans: mark the rest
		}
		if sp[0] >= sp[1] {
			continue
		}
		b.WriteString(string(runes[pos:sp[0]]))
		b.WriteString(mark(string(runes[sp[0]:sp[1]])))
		pos = sp[1]
	}
	b.WriteString(string(runes[pos:]))
	return b.String()
}
