package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/wildwarden/wildwarden"
)

// exportDecisionsCommand is `admin export-decisions`: a tenant's decided
// listings as JSON Lines, the input of train and discover
// --from-decisions. db points at the admin command's --db value.
func exportDecisionsCommand(db *string) *cobra.Command {
	var tenantRef, since, output string
	cmd := &cobra.Command{
		Use:   "export-decisions",
		Short: "Export reviewers' decisions as JSON Lines, for train and discover --from-decisions",
		Long: `Write one JSON line for each of a tenant's listings that a reviewer decided:
the listing as it was screened before the decision, the latest decision on it
(action, reasons, reviewer, time, kind of queue item) and the engine's verdict
on it. Reviewers' free-text notes are left out.

	{"listing": {…}, "action": "remove", "reasons": ["ivory"], "reviewer_id": "…",
	 "decided_at": "…", "decision_id": "…", "item_kind": "verdict",
	 "verdict": {"decision": "review", "score": 0.71, "seq": 12, "screened_at": "…"}}

Lines come oldest decision first. With --since, only listings whose latest
decision was made at or after that time are written, for incremental exports.
'wildwarden train --from-decisions FILE' and 'discover --from-decisions FILE'
read this format (remove: positive, allow: negative, escalate: left out);
'train --from-store' reads the same rows straight from the store.`,
		Example: `  wildwarden admin export-decisions --tenant shop-a -o decisions.jsonl
  wildwarden admin export-decisions --db postgres://ww@db/ww --tenant shop-a --since 2026-11-01T00:00:00Z -o november.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var from time.Time
			if since != "" {
				t, err := time.Parse(time.RFC3339, since)
				if err != nil {
					return fmt.Errorf("--since %q: want an RFC 3339 time such as 2026-11-01T00:00:00Z: %w", since, err)
				}
				from = t
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			s, err := openStoreToRead(ctx, *db)
			if err != nil {
				return fmt.Errorf("admin: %w", err)
			}
			defer s.Close()
			t, err := resolveTenant(ctx, s, tenantRef)
			if err != nil {
				return err
			}
			counts := map[string]int{}
			write := func(w io.Writer) error {
				return exportDecisions(ctx, s, t.ID, from, w, func(dl *wildwarden.DecidedListing) { counts[dl.Action]++ })
			}
			where := "standard output"
			if output == "-" {
				err = write(cmd.OutOrStdout())
			} else {
				where = output
				err = writeFileAtomically(output, write)
			}
			if err != nil {
				return fmt.Errorf("admin export-decisions: %w", err)
			}
			total := counts[wildwarden.ActionRemove] + counts[wildwarden.ActionAllow] + counts[wildwarden.ActionEscalate]
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %d decided listings of tenant %q (%d remove, %d allow, %d escalate) to %s\n",
				total, t.Name, counts[wildwarden.ActionRemove], counts[wildwarden.ActionAllow], counts[wildwarden.ActionEscalate], where)
			return nil
		},
	}
	cmd.Flags().StringVar(&tenantRef, "tenant", firstTenant, "tenant name or ID")
	cmd.Flags().StringVar(&since, "since", "", "only listings whose latest decision was made at or after this RFC 3339 time")
	cmd.Flags().StringVarP(&output, "output", "o", "-", "write the JSON lines here; - is standard output")
	return cmd
}

// openStoreToRead opens the store a --db or --from-store value names, like
// openStore, but refuses a SQLite file that does not exist: a command
// that only reads must not leave an empty database behind a typo.
func openStoreToRead(ctx context.Context, dsn string) (wildwarden.Store, error) {
	if !isPostgresURL(dsn) {
		if _, err := os.Stat(dsn); err != nil {
			return nil, fmt.Errorf("open %s: %w", dsn, err)
		}
	}
	return openStore(ctx, dsn)
}

// exportDecisions writes a tenant's decided listings to w as JSON Lines,
// calling each (when not nil) for every line written.
func exportDecisions(ctx context.Context, s wildwarden.Store, tenantID string, since time.Time, w io.Writer, each func(*wildwarden.DecidedListing)) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	err := s.ExportDecisions(ctx, tenantID, since, func(dl *wildwarden.DecidedListing) error {
		if err := enc.Encode(dl); err != nil {
			return fmt.Errorf("write decision %s: %w", dl.DecisionID, err)
		}
		if each != nil {
			each(dl)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// writeFileAtomically writes a file through a temporary file beside it,
// renamed into place only when write succeeds, so a failed export never
// leaves a truncated file that looks complete.
func writeFileAtomically(name string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
