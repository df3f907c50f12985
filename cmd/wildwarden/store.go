package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/postgres"
	"github.com/wildwarden/wildwarden/sqlite"
)

// dbFlagHelp is the help text of every command's --db flag.
const dbFlagHelp = "SQLite file or postgres:// URL"

// isPostgresURL reports whether a --db value names a PostgreSQL database
// rather than a SQLite file.
func isPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// openStore opens the store a --db value names: PostgreSQL for postgres://
// and postgresql:// URLs (migrations applied), else a SQLite file (created
// if missing). Every command that touches the store opens it here, so all
// of them accept both.
func openStore(ctx context.Context, dsn string) (wildwarden.Store, error) {
	if isPostgresURL(dsn) {
		s, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", redactDSN(dsn), err)
		}
		return s, nil
	}
	s, err := sqlite.Open(dsn, sqlite.Options{})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dsn, err)
	}
	return s, nil
}

// redactDSN hides the password of a database URL, for logs and for the
// hints commands print; a SQLite path is returned as it is.
func redactDSN(dsn string) string {
	if !isPostgresURL(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://…" // unparsable: print nothing that could be a secret
	}
	return u.Redacted()
}
