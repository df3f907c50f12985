package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/wildwarden/wildwarden/postgres/pgtest"
)

// TestSyncLogUsesItsIndex: with an audit log of many screenings, the
// planner reads the sync log from the partial index audit_sync instead
// of every entry after the last change, so a replica's poll stays one
// probe as the log grows.
func TestSyncLogUsesItsIndex(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Entries written directly, one bank change in a thousand: the chain
	// does not matter to the plan.
	if _, err := s.pool.Exec(ctx, `INSERT INTO audit (seq, tenant_id, actor, action, subject, data, at, prev_hash, hash)
		SELECT g, 't', 'a', CASE WHEN g % 1000 = 0 THEN 'bank.add' ELSE 'screen.allow' END, 'L-' || g, '', now(), '', ''
		FROM generate_series(1, 200000) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE audit`); err != nil {
		t.Fatal(err)
	}
	head, err := s.SyncHead(ctx)
	if err != nil || head != 200000 {
		t.Fatalf("SyncHead = %d, %v; want 200000", head, err)
	}
	for name, query := range map[string]string{"SyncLog": syncLogQuery, "SyncHead": syncHeadQuery} {
		args := []any{}
		if name == "SyncLog" {
			args = []any{head - 1000, 1000}
		}
		rows, err := s.pool.Query(ctx, "EXPLAIN "+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(plan, "\n"), "audit_sync") {
			t.Errorf("%s's plan does not use audit_sync:\n%s", name, strings.Join(plan, "\n"))
		}
	}
}
