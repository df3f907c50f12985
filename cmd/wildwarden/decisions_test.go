package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/classify"
)

// decidedStore fills the store at db with the listings of
// labelledLines(n, "zorblax") in tenant "shop-a", each screened for review
// and decided by a reviewer as its label says (positive: remove, negative:
// allow), plus one escalated listing and, in tenant "shop-b", one removed
// listing. It returns how many of shop-a's listings were removed and
// allowed.
func decidedStore(t *testing.T, db string, n int) (removed, allowed int) {
	t.Helper()
	ctx := wildwarden.WithActor(context.Background(), "test")
	s, err := openStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tenant := func(name string) string {
		tn := &wildwarden.Tenant{Name: name}
		if err := s.CreateTenant(ctx, tn); err != nil {
			t.Fatalf("CreateTenant(%s): %v", name, err)
		}
		return tn.ID
	}
	a, b := tenant("shop-a"), tenant("shop-b")
	screen := func(tenantID string, l *wildwarden.Listing) {
		t.Helper()
		sc := &wildwarden.Screening{
			Listing: l,
			Verdict: &wildwarden.Verdict{ID: l.ID, Decision: wildwarden.Review, Score: 0.5},
			Source:  wildwarden.SourceAPI,
			Enqueue: &wildwarden.QueueItem{ListingID: l.ID, Kind: wildwarden.ItemVerdict, Score: 0.5},
		}
		errs, err := s.SaveScreenings(ctx, tenantID, []*wildwarden.Screening{sc})
		if err == nil {
			err = errs[0]
		}
		if err != nil {
			t.Fatalf("SaveScreenings(%s): %v", l.ID, err)
		}
	}
	decide := func(tenantID, listingID, action string) {
		t.Helper()
		item, err := s.Claim(ctx, tenantID, "reviewer-1", time.Minute)
		if err != nil || item.ListingID != listingID {
			t.Fatalf("Claim = %+v, %v; want the item of %s", item, err, listingID)
		}
		d := &wildwarden.ReviewDecision{TenantID: tenantID, ItemID: item.ID, ReviewerID: "reviewer-1", Action: action, Reasons: []string{"test"}}
		if err := s.Decide(ctx, d, nil); err != nil {
			t.Fatalf("Decide(%s %s): %v", action, listingID, err)
		}
	}
	for _, line := range labelledLines(n, "zorblax") {
		l := new(wildwarden.Listing)
		if err := json.Unmarshal([]byte(line), l); err != nil {
			t.Fatal(err)
		}
		positive, err := classify.ParseLabel(l)
		if err != nil {
			t.Fatal(err)
		}
		delete(l.Extra, "label") // the store keeps what a platform sends: no label
		delete(l.Extra, "group")
		screen(a, l)
		action := wildwarden.ActionAllow
		if positive {
			action = wildwarden.ActionRemove
			removed++
		} else {
			allowed++
		}
		decide(a, l.ID, action)
	}
	screen(a, &wildwarden.Listing{ID: "escalated", Title: "carved horn cup"})
	decide(a, "escalated", wildwarden.ActionEscalate)
	screen(b, &wildwarden.Listing{ID: "other-tenant", Title: "zorblax bangle from shop-b"})
	decide(b, "other-tenant", wildwarden.ActionRemove)
	return removed, allowed
}

// TestTrainFromStoreAndExportRoundTrip runs the loop on both stores:
// decisions recorded in the store are exported by admin export-decisions,
// and train --from-store writes the same model as train --from-decisions
// on that export.
func TestTrainFromStoreAndExportRoundTrip(t *testing.T) {
	for _, b := range storeBackends {
		t.Run(b.name, func(t *testing.T) {
			db := b.db(t)
			removed, allowed := decidedStore(t, db, 60)
			dir := t.TempDir()

			export := filepath.Join(dir, "decisions.jsonl")
			_, stderr, err := runCLI(t, "admin", "export-decisions", "--db", db, "--tenant", "shop-a", "-o", export)
			if err != nil {
				t.Fatalf("admin export-decisions: %v\n%s", err, stderr)
			}
			if strings.Contains(stderr, "do-not-print") {
				t.Errorf("stderr shows the database password:\n%s", stderr)
			}
			lines := readExport(t, export)
			if len(lines) != removed+allowed+1 {
				t.Fatalf("exported %d lines, want %d decided listings and 1 escalated", len(lines), removed+allowed+1)
			}
			counts := map[string]int{}
			for _, dl := range lines {
				counts[dl.Action]++
				if dl.Listing.ID == "other-tenant" {
					t.Errorf("shop-a's export holds shop-b's listing")
				}
				if _, ok := dl.Listing.Extra["label"]; ok || dl.ReviewerID != "reviewer-1" || dl.Verdict.Decision != wildwarden.Review {
					t.Errorf("exported line %+v: want the stored listing, its reviewer and verdict", dl)
				}
			}
			if counts[wildwarden.ActionRemove] != removed || counts[wildwarden.ActionAllow] != allowed || counts[wildwarden.ActionEscalate] != 1 {
				t.Errorf("exported actions %v, want %d remove, %d allow, 1 escalate", counts, removed, allowed)
			}

			fromFile := filepath.Join(dir, "from-file.ww")
			stdout, stderr, err := runCLI(t, "train", "--from-decisions", export, "--bits", "12", "--seed", "3", "-o", fromFile)
			if err != nil {
				t.Fatalf("train --from-decisions: %v\n%s", err, stderr)
			}
			fromStore := filepath.Join(dir, "from-store.ww")
			stdout2, stderr, err := runCLI(t, "train", "--from-store", db, "--tenant", "shop-a", "--bits", "12", "--seed", "3", "-o", fromStore)
			if err != nil {
				t.Fatalf("train --from-store: %v\n%s", err, stderr)
			}
			want := "trained on 60 listings (30 positive, 30 negative), 0 lines skipped"
			for _, out := range []string{stdout, stdout2} {
				if !strings.Contains(out, want) {
					t.Errorf("train output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(stdout2+stderr, "do-not-print") {
				t.Errorf("train --from-store shows the database password:\n%s%s", stdout2, stderr)
			}
			a, errA := os.ReadFile(fromFile)
			c, errC := os.ReadFile(fromStore)
			if errA != nil || errC != nil {
				t.Fatalf("read models: %v, %v", errA, errC)
			}
			if !bytes.Equal(a, c) {
				t.Errorf("train --from-store and train --from-decisions on its export wrote different models")
			}
			if _, err := classify.Load(fromStore); err != nil {
				t.Fatalf("the model trained from the store does not load: %v", err)
			}
			// The export is also evaluation data: 60 decided listings.
			stdout, stderr, err = runCLI(t, "eval", "--from-decisions", export, "--model", fromStore, "--workers", "1")
			if err != nil {
				t.Fatalf("eval --from-decisions: %v\n%s", err, stderr)
			}
			if !strings.Contains(stdout, "60 listings") {
				t.Errorf("eval --from-decisions did not evaluate the 60 decided listings:\n%s", stdout)
			}

			stdout, stderr, err = runCLI(t, "discover", "--from-store", db, "--tenant", "shop-a", "--min-count", "3", "-o", filepath.Join(dir, "candidates.tsv"))
			if err != nil {
				t.Fatalf("discover --from-store: %v\n%s", err, stderr)
			}
			if !strings.Contains(stdout, "zorblax") {
				t.Errorf("discover --from-store did not find the planted word:\n%s", stdout)
			}
		})
	}
}

// TestExportDecisionsFlags checks --since, the tenant and the errors of
// admin export-decisions and train --from-store.
func TestExportDecisionsFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ww.db")
	removed, allowed := decidedStore(t, db, 10)
	missing := filepath.Join(t.TempDir(), "typo.db")
	tests := []struct {
		name    string
		args    []string
		lines   int
		wantErr string
	}{
		{"all of shop-a to stdout", []string{"admin", "export-decisions", "--db", db, "--tenant", "shop-a"}, removed + allowed + 1, ""},
		{"since long ago", []string{"admin", "export-decisions", "--db", db, "--tenant", "shop-a", "--since", "2000-01-01T00:00:00Z"}, removed + allowed + 1, ""},
		{"since in the future", []string{"admin", "export-decisions", "--db", db, "--tenant", "shop-a", "--since", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, 0, ""},
		{"other tenant", []string{"admin", "export-decisions", "--db", db, "--tenant", "shop-b"}, 1, ""},
		{"bad since", []string{"admin", "export-decisions", "--db", db, "--tenant", "shop-a", "--since", "yesterday"}, 0, "RFC 3339"},
		{"unknown tenant", []string{"admin", "export-decisions", "--db", db, "--tenant", "shop-z"}, 0, `no tenant named "shop-z"`},
		{"train from an unknown tenant", []string{"train", "--from-store", db, "--tenant", "shop-z", "-o", filepath.Join(t.TempDir(), "m.ww")}, 0, `no tenant named "shop-z"`},
		{"export from a missing file", []string{"admin", "export-decisions", "--db", missing, "--tenant", "shop-a"}, 0, "no such file"},
		{"train from a missing file", []string{"train", "--from-store", missing, "-o", filepath.Join(t.TempDir(), "m.ww")}, 0, "no such file"},
		{"train on one class", []string{"train", "--from-store", db, "--tenant", "shop-b", "-o", filepath.Join(t.TempDir(), "m.ww")}, 0, "refusing to train"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := runCLI(t, tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				if _, err := os.Stat(missing); err == nil {
					t.Fatalf("a failed command created %s", missing)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if got := strings.Count(stdout, "\n"); got != tt.lines {
				t.Errorf("wrote %d lines, want %d:\n%s", got, tt.lines, stdout)
			}
			if !strings.Contains(stderr, "exported ") {
				t.Errorf("stderr lacks the summary:\n%s", stderr)
			}
		})
	}
}

// readExport decodes an export file.
func readExport(t *testing.T, name string) []*wildwarden.DecidedListing {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*wildwarden.DecidedListing
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		dl := new(wildwarden.DecidedListing)
		if err := json.Unmarshal(sc.Bytes(), dl); err != nil {
			t.Fatalf("export line %d: %v", len(out)+1, err)
		}
		out = append(out, dl)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
