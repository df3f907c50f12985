package postgres_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/postgres"
	"github.com/wildwarden/wildwarden/postgres/pgtest"
	"github.com/wildwarden/wildwarden/storetest"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(replicaEnv); spec != "" {
		os.Exit(replicaProcess(spec)) // a child of TestTwoProcesses
	}
	os.Exit(pgtest.Main(m))
}

// open returns a store on a fresh database, closed when the test ends.
func open(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) wildwarden.Store {
		return open(t, pgtest.Database(t))
	})
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	dsn := pgtest.Database(t)
	ctx := context.Background()
	s := open(t, dsn)
	if err := s.CreateTenant(ctx, &wildwarden.Tenant{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := open(t, dsn)
	ts, err := s2.Tenants(ctx)
	if err != nil || len(ts) != 1 {
		t.Fatalf("Tenants after reopen = %v, %v", ts, err)
	}
}

// TestVerifyAuditDetectsTampering edits and deletes audit rows directly in
// the database, as an attacker with database access would.
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
			dsn := pgtest.Database(t)
			s := open(t, dsn)
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
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(ctx, tt.tamper); err != nil {
				t.Fatalf("tamper: %v", err)
			}
			conn.Close(ctx)
			_, _, err = s.VerifyAudit(ctx)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("VerifyAudit after %s = %v, want %q", tt.name, err, tt.want)
			}
		})
	}
}

// TestSaveScreeningsBatch checks what the pipelined batch write must keep
// from the one-at-a-time write: a failing screening fails alone, and a
// listing repeated within a batch is stored once.
func TestSaveScreeningsBatch(t *testing.T) {
	s := open(t, pgtest.Database(t))
	ctx := context.Background()
	tn := &wildwarden.Tenant{Name: "a"}
	if err := s.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	screening := func(id, title string) *wildwarden.Screening {
		return &wildwarden.Screening{
			Listing: &wildwarden.Listing{ID: id, Title: title},
			Verdict: &wildwarden.Verdict{ID: id, Decision: wildwarden.Review, Score: 0.6},
			Enqueue: &wildwarden.QueueItem{ListingID: id, Kind: wildwarden.ItemVerdict, Score: 0.6},
		}
	}
	tests := []struct {
		name      string
		batch     []*wildwarden.Screening
		wantErr   []bool // per screening
		wantDup   []bool
		wantItems int // open review items after the batch
	}{
		{
			name:    "database refuses one (NUL in the ID)",
			batch:   []*wildwarden.Screening{screening("A-1", "x"), screening("A-\x00", "x"), screening("A-2", "x")},
			wantErr: []bool{false, true, false}, wantDup: []bool{false, false, false}, wantItems: 2,
		},
		{
			name:    "invalid screening (no verdict)",
			batch:   []*wildwarden.Screening{{Listing: &wildwarden.Listing{ID: "B-1", Title: "x"}}, screening("B-2", "x")},
			wantErr: []bool{true, false}, wantDup: []bool{false, false}, wantItems: 3,
		},
		{
			name:    "listing repeated in the batch",
			batch:   []*wildwarden.Screening{screening("C-1", "x"), screening("C-1", "x"), screening("C-1", "changed")},
			wantErr: []bool{false, false, false}, wantDup: []bool{false, true, false}, wantItems: 4,
		},
		{
			name:    "stored listings again (same and changed content) with a new one",
			batch:   []*wildwarden.Screening{screening("A-1", "x"), screening("D-1", "x"), screening("A-2", "changed")},
			wantErr: []bool{false, false, false}, wantDup: []bool{true, false, false}, wantItems: 5, // A-2's item folds
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs, err := s.SaveScreenings(ctx, tn.ID, tt.batch)
			if err != nil {
				t.Fatalf("SaveScreenings: %v", err)
			}
			for i, sc := range tt.batch {
				if (errs[i] != nil) != tt.wantErr[i] {
					t.Errorf("screening %d: error %v, want error %v", i, errs[i], tt.wantErr[i])
				}
				if sc.Duplicate != tt.wantDup[i] {
					t.Errorf("screening %d: duplicate %v, want %v", i, sc.Duplicate, tt.wantDup[i])
				}
				if errs[i] == nil && sc.Seq == 0 {
					t.Errorf("screening %d: stored without a sequence number", i)
				}
			}
			q, err := s.Queue(ctx, tn.ID, 100)
			if err != nil || len(q) != tt.wantItems {
				t.Errorf("queue = %d items (%v), want %d", len(q), err, tt.wantItems)
			}
			if _, _, err := s.VerifyAudit(ctx); err != nil {
				t.Errorf("VerifyAudit: %v", err)
			}
		})
	}
}

// TestDocumentsCompressedWithLZ4 checks that migration 003 moved the
// stored documents to LZ4 where the server supports it.
func TestDocumentsCompressedWithLZ4(t *testing.T) {
	dsn := pgtest.Database(t)
	open(t, dsn)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SET default_toast_compression = lz4`); err != nil {
		t.Skipf("this PostgreSQL has no LZ4: %v", err)
	}
	tests := []struct{ table, column string }{
		{"screenings", "listing_json"},
		{"screenings", "verdict_json"},
		{"statements", "body"},
	}
	for _, tt := range tests {
		var method string
		err := conn.QueryRow(ctx, `SELECT attcompression::text FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2`, tt.table, tt.column).Scan(&method)
		if err != nil {
			t.Fatalf("%s.%s: %v", tt.table, tt.column, err)
		}
		if method != "l" {
			t.Errorf("%s.%s compression = %q, want \"l\" (lz4)", tt.table, tt.column, method)
		}
	}
}
