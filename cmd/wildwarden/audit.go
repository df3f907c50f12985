package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// exitAuditBroken is the exit status of `audit verify` on a broken chain.
const exitAuditBroken = 4

func init() {
	var db string
	audit := &cobra.Command{Use: "audit", Short: "Check the hash-chained audit log"}
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Verify that no audit entry was edited or deleted",
		Long: `Walk the audit log from its first entry and check that each entry names its
predecessor's hash and that its own hash matches its content. An edited or
deleted entry breaks the chain. Prints the number of entries and the head
hash; keep the head hash elsewhere to detect a truncated tail later.

Exit status: 0 when the chain is intact, 4 when it is broken, 1 on other
errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !isPostgresURL(db) {
				// Opening a SQLite file creates it: a mistyped path would
				// verify an empty chain.
				if _, err := os.Stat(db); err != nil {
					return fmt.Errorf("audit verify: %w", err)
				}
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			s, err := openStore(ctx, db)
			if err != nil {
				return fmt.Errorf("audit verify: %w", err)
			}
			defer s.Close()
			n, head, err := s.VerifyAudit(ctx)
			if err != nil {
				return &exitError{code: exitAuditBroken, err: fmt.Errorf("audit verify: %w (the first %d entries are intact)", err, n)}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %d entries, head %s\n", n, head)
			return nil
		},
	}
	verify.Flags().StringVar(&db, "db", defaultDB, dbFlagHelp)
	audit.AddCommand(verify)
	rootCmd.AddCommand(audit)
}
