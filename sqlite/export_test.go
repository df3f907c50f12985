package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExportDecisionsPlan guards the two properties that keep the export
// streaming in constant memory and linear time: the rows come in index
// order (at most decisions of one instant are sorted, never the whole
// result), and the per-row screening lookup uses the listing's index
// rather than every earlier screening of the tenant.
func TestExportDecisionsPlan(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "ww.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.readDB.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+exportDecisionsQuery, "tenant", formatTime(time.Time{}))
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	tests := []struct {
		name, step string
		want       bool
	}{
		{"decisions read in time order", "SEARCH d USING INDEX decisions_day", true},
		{"screening found through its listing", "SEARCH x USING INDEX screenings_listing", true},
		{"no scan of the tenant's screenings", "screenings_day", false},
		{"no sort of the whole result", "USE TEMP B-TREE FOR ORDER BY", false},
	}
	for _, tt := range tests {
		if got := strings.Contains(text, tt.step); got != tt.want {
			t.Errorf("%s: plan contains %q = %v, want %v; plan:\n%s", tt.name, tt.step, got, tt.want, text)
		}
	}
}
