package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wildwarden/wildwarden/postgres/pgtest"
)

func TestRedactDSN(t *testing.T) {
	tests := []struct {
		dsn      string
		postgres bool
		want     string
	}{
		{"./wildwarden.db", false, "./wildwarden.db"},
		{"/var/lib/ww/postgres.db", false, "/var/lib/ww/postgres.db"},
		{"postgres://ww@db/ww", true, "postgres://ww@db/ww"},
		{"postgres://ww:s3cret@db:5432/ww?sslmode=disable", true, "postgres://ww:xxxxx@db:5432/ww?sslmode=disable"},
		{"postgresql://ww:s3cret@db/ww", true, "postgresql://ww:xxxxx@db/ww"},
		{"postgres://ww:s3cret@db/ww%zz", true, "postgres://…"}, // unparsable: nothing of it printed
	}
	for _, tt := range tests {
		t.Run(tt.dsn, func(t *testing.T) {
			if got := isPostgresURL(tt.dsn); got != tt.postgres {
				t.Errorf("isPostgresURL(%q) = %v, want %v", tt.dsn, got, tt.postgres)
			}
			if got := redactDSN(tt.dsn); got != tt.want {
				t.Errorf("redactDSN(%q) = %q, want %q", tt.dsn, got, tt.want)
			}
		})
	}
}

// startPostgres starts a private PostgreSQL cluster for one test and
// returns the URL of a fresh database in it, with a password that the
// cluster (trust authentication) ignores and that no output may show.
func startPostgres(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cluster, err := pgtest.Start(ctx)
	if err != nil {
		if os.Getenv(pgtest.RequireAllEnv) == "1" {
			t.Fatalf("PostgreSQL is required (%s=1): %v", pgtest.RequireAllEnv, err)
		}
		t.Skipf("skipping: no PostgreSQL to test against: %v", err)
	}
	t.Cleanup(func() {
		if err := cluster.Stop(); err != nil {
			t.Error(err)
		}
	})
	dsn, err := cluster.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(dsn, "postgres://ww@", "postgres://ww:do-not-print@", 1)
}

// storeBackends make a store for a test: a SQLite file, or a PostgreSQL
// database (skipped without PostgreSQL unless WW_REQUIRE_ALL=1).
var storeBackends = []struct {
	name string
	db   func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "ww.db") }},
	{"postgres", startPostgres},
}

// TestStoreCommandsOnBothStores runs the commands that open the store
// (admin, bank, audit verify) on a SQLite file and on a PostgreSQL URL.
func TestStoreCommandsOnBothStores(t *testing.T) {
	for _, b := range storeBackends {
		t.Run(b.name, func(t *testing.T) {
			db := b.db(t)
			steps := []struct {
				name    string
				args    []string
				wantOut string // in standard output
			}{
				{"create tenant", []string{"admin", "tenant", "create", "--db", db, "shop-s"}, "tnt_"},
				{"create key", []string{"admin", "key", "create", "--db", db, "--tenant", "shop-s", "--role", "platform"}, "ww_"},
				{"create reviewer", []string{"admin", "reviewer", "create", "--db", db, "--tenant", "shop-s", "alice"}, "ww_"},
				{"list tenants", []string{"admin", "tenant", "list", "--db", db}, "shop-s"},
				{"list keys", []string{"admin", "key", "list", "--db", db, "--tenant", "shop-s"}, "platform"},
				{"create bank", []string{"bank", "create", "--db", db, "--tenant", "shop-s", "seized"}, ""},
				{"list banks", []string{"bank", "list", "--db", db, "--tenant", "shop-s"}, "seized"},
				{"verify audit", []string{"audit", "verify", "--db", db}, "ok: "},
			}
			for _, step := range steps {
				stdout, stderr, status := run(t, nil, step.args...)
				if status != 0 {
					t.Fatalf("%s: status %d\nstdout: %s\nstderr: %s", step.name, status, stdout, stderr)
				}
				if !strings.Contains(stdout, step.wantOut) {
					t.Errorf("%s: stdout %q lacks %q", step.name, stdout, step.wantOut)
				}
				if strings.Contains(stdout+stderr, "do-not-print") {
					t.Errorf("%s: the database password is in the output:\n%s%s", step.name, stdout, stderr)
				}
			}
		})
	}
}

// TestAuditVerifyMissingFile: verifying a SQLite file that does not exist
// fails and does not create it (an empty chain would verify).
func TestAuditVerifyMissingFile(t *testing.T) {
	db := filepath.Join(t.TempDir(), "missing.db")
	if _, stderr, status := run(t, nil, "audit", "verify", "--db", db); status == 0 || !strings.Contains(stderr, "missing.db") {
		t.Fatalf("audit verify of a missing file: status %d, stderr %q; want a failure naming the file", status, stderr)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Fatalf("audit verify created %s (stat: %v)", db, err)
	}
}
