package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	wwnats "github.com/wildwarden/wildwarden/nats"
)

type publishOptions struct {
	natsURL string
	tenant  string
}

func init() {
	var o publishOptions
	cmd := &cobra.Command{
		Use:   "publish FILE...",
		Short: "Feed listings (JSON Lines) into the NATS JetStream stream the workers consume",
		Long: `Publish each listing of the JSON Lines files ("-" reads stdin) to the
JetStream stream WILDWARDEN_LISTINGS, creating the streams if needed. The
stream drops a listing version it already holds (same tenant, ID and
content within its de-duplication window). Lines that are not valid
listings are reported and skipped; the exit status is then 3.`,
		Example: `  wildwarden publish --nats nats://127.0.0.1:4222 --tenant shop-a listings.jsonl`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPublish(cmd, args, o)
		},
	}
	cmd.Flags().StringVar(&o.natsURL, "nats", "nats://127.0.0.1:4222", "NATS server URL")
	cmd.Flags().StringVar(&o.tenant, "tenant", "", "tenant (name or ID) the listings belong to (default: the worker's --tenant)")
	rootCmd.AddCommand(cmd)
}

func runPublish(cmd *cobra.Command, files []string, o publishOptions) error {
	nc, js, err := wwnats.Connect(o.natsURL, "wildwarden-publish")
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	defer nc.Close()
	p := &wwnats.Publisher{JS: js, Tenant: o.tenant}
	var total wwnats.PublishStats
	for _, name := range files {
		var r io.Reader = cmd.InOrStdin()
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				return fmt.Errorf("publish: %w", err)
			}
			defer f.Close()
			r = f
		}
		st, err := p.PublishLines(cmd.Context(), r, name, func(err error) {
			fmt.Fprintln(cmd.ErrOrStderr(), "wildwarden: skipped", err)
		})
		total.Published += st.Published
		total.Invalid += st.Invalid
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "wildwarden: published %d listings, skipped %d invalid lines\n", total.Published, total.Invalid)
	if total.Invalid > 0 {
		return &exitError{code: exitSkipped, err: fmt.Errorf("publish: %d invalid lines skipped", total.Invalid)}
	}
	return nil
}
