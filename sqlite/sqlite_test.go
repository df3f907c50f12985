package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/sqlite"
	"github.com/wildwarden/wildwarden/storetest"
)

func open(t testing.TB) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ww.db")
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s, path
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) wildwarden.Store {
		s, _ := open(t)
		return s
	})
}

func TestReopenKeepsData(t *testing.T) {
	s, path := open(t)
	ctx := context.Background()
	if err := s.CreateTenant(ctx, &wildwarden.Tenant{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	ts, err := s2.Tenants(ctx)
	if err != nil || len(ts) != 1 {
		t.Fatalf("Tenants after reopen = %v, %v", ts, err)
	}
}

// TestVerifyAuditDetectsTampering edits and deletes audit rows directly in
// the database file, as an attacker with file access would.
func TestVerifyAuditDetectsTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper string
		want   string
	}{
		{"edited data", `UPDATE audit SET data = 'nothing happened' WHERE seq = 2`, "entry 2 was edited"},
		{"edited action", `UPDATE audit SET action = 'screen.allow' WHERE seq = 3`, "entry 3 was edited"},
		{"deleted row", `DELETE FROM audit WHERE seq = 2`, "entry 2 is missing"},
		{"rehashed row", `UPDATE audit SET hash = 'abc' WHERE seq = 2`, "entry 2 was edited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, path := open(t)
			ctx := context.Background()
			tn := &wildwarden.Tenant{Name: "a"}
			if err := s.CreateTenant(ctx, tn); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"L-1", "L-2", "L-3"} {
				sc := &wildwarden.Screening{Listing: &wildwarden.Listing{ID: id, Title: "t"}, Verdict: &wildwarden.Verdict{ID: id, Decision: wildwarden.Block, Score: 0.9}}
				if errs, err := s.SaveScreenings(ctx, tn.ID, []*wildwarden.Screening{sc}); err != nil || errs[0] != nil {
					t.Fatalf("save: %v %v", err, errs)
				}
			}
			if _, _, err := s.VerifyAudit(ctx); err != nil {
				t.Fatalf("untampered chain: %v", err)
			}
			db, err := sql.Open("sqlite", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(tt.tamper); err != nil {
				t.Fatalf("tamper: %v", err)
			}
			db.Close()
			_, _, err = s.VerifyAudit(ctx)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("VerifyAudit after %s = %v, want %q", tt.name, err, tt.want)
			}
			s.Close()
		})
	}
}
