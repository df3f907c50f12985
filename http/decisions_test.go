package http_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/wildwarden/wildwarden"
	wwhttp "github.com/wildwarden/wildwarden/http"
)

// decideNext claims the next queue item as reviewer key and decides it.
func (e *env) decideNext(key, listingID, action string) {
	e.t.Helper()
	var claim struct{ Item wildwarden.QueueItem }
	e.must(200, "POST", "/v1/queue/claim", key, nil).json(e.t, &claim)
	if claim.Item.ListingID != listingID {
		e.t.Fatalf("claimed the item of %s, want %s", claim.Item.ListingID, listingID)
	}
	e.must(200, "POST", "/v1/queue/"+claim.Item.ID+"/decision", key, map[string]any{"action": action, "reasons": []string{"test-" + action}, "note": "private note"})
}

// decodeLines decodes an NDJSON body.
func decodeLines(t *testing.T, body []byte) []wildwarden.DecidedListing {
	t.Helper()
	var out []wildwarden.DecidedListing
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		var dl wildwarden.DecidedListing
		if err := json.Unmarshal(sc.Bytes(), &dl); err != nil {
			t.Fatalf("line %d %q: %v", len(out)+1, sc.Text(), err)
		}
		out = append(out, dl)
	}
	return out
}

func TestDecisionExport(t *testing.T) {
	e := newEnv(t)
	e.screen(e.platform, wildwarden.Listing{ID: "L-1", Title: "REVIEWME carved tusk"})
	e.decideNext(e.rev1, "L-1", wildwarden.ActionRemove)
	e.screen(e.platform, wildwarden.Listing{ID: "L-2", Title: "REVIEWME resin bangle"})
	e.decideNext(e.rev2, "L-2", wildwarden.ActionAllow)
	e.screen(e.platform, wildwarden.Listing{ID: "L-3", Title: "REVIEWME undecided"})
	_, platformB, adminB, revB, _ := e.newTenant("shop-b")
	e.screen(platformB, wildwarden.Listing{ID: "L-B", Title: "REVIEWME of shop-b"})
	e.decideNext(revB, "L-B", wildwarden.ActionRemove)

	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name   string
		key    string
		query  string
		status int
		want   []string // listing IDs and actions
	}{
		{"admin exports its tenant", e.admin, "", 200, []string{"L-1 remove", "L-2 allow"}},
		{"since long ago", e.admin, "?since=2000-01-01T00:00:00Z", 200, []string{"L-1 remove", "L-2 allow"}},
		{"since in the future", e.admin, "?since=" + future, 200, nil},
		{"other tenant's admin", adminB, "", 200, []string{"L-B remove"}},
		{"bad since", e.admin, "?since=yesterday", 400, nil},
		{"platform key", e.platform, "", 403, nil},
		{"reviewer key", e.rev1, "", 403, nil},
		{"no key", "", "", 401, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.must(tt.status, "GET", "/v1/decisions/export"+tt.query, tt.key, nil)
			if tt.status != 200 {
				if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("error Content-Type = %q, want a problem document", ct)
				}
				return
			}
			if ct := r.header.Get("Content-Type"); ct != "application/x-ndjson" {
				t.Errorf("Content-Type = %q, want application/x-ndjson", ct)
			}
			var got []string
			for _, dl := range decodeLines(t, r.body) {
				got = append(got, dl.Listing.ID+" "+dl.Action)
				if dl.Verdict.Decision != wildwarden.Review || dl.Verdict.Score != 0.6 || len(dl.Reasons) != 1 || dl.Reasons[0] != "test-"+dl.Action || dl.ReviewerID == "" || dl.DecidedAt.IsZero() {
					t.Errorf("line of %s = %+v; want the stored verdict, reasons, reviewer and time", dl.Listing.ID, dl)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("exported %v, want %v", got, tt.want)
			}
			if bytes.Contains(r.body, []byte("private note")) {
				t.Errorf("the export holds a reviewer's note")
			}
		})
	}
}

// failingExport is a store whose export fails after its first row.
type failingExport struct{ wildwarden.Store }

func (f failingExport) ExportDecisions(ctx context.Context, tenantID string, since time.Time, fn func(*wildwarden.DecidedListing) error) error {
	first := true
	errBroken := errors.New("disk on fire")
	err := f.Store.ExportDecisions(ctx, tenantID, since, func(dl *wildwarden.DecidedListing) error {
		if !first {
			return errBroken
		}
		first = false
		return fn(dl)
	})
	if first && err == nil {
		return errBroken // failed before any row
	}
	return err
}

// TestDecisionExportFailure checks that a store error before the first
// line is a problem response, and that one after it aborts the transfer
// instead of ending it like a complete export.
func TestDecisionExportFailure(t *testing.T) {
	e := newEnv(t)
	srv, err := wwhttp.NewServer(wwhttp.Config{Store: failingExport{e.store}, Screener: e.screener})
	if err != nil {
		t.Fatal(err)
	}
	ts := serveValidated(t, srv)
	defer ts.Close()
	get := func() (*http.Response, []byte, error) {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+"/v1/decisions/export", nil)
		req.Header.Set("Authorization", "Bearer "+e.admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp, body, err
	}

	resp, body, err := get()
	if err != nil {
		t.Fatalf("failure before the first line: %v; want a 500 problem", err)
	}
	if resp.StatusCode != 500 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("failure before the first line = %d %s %q; want a 500 problem", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	for _, id := range []string{"L-1", "L-2"} {
		e.screen(e.platform, wildwarden.Listing{ID: id, Title: "REVIEWME " + id})
		e.decideNext(e.rev1, id, wildwarden.ActionRemove)
	}
	// The first line may still sit in the server's buffer (the client
	// then sees no response at all) or be sent with a 200 (the body then
	// breaks off): either way the client gets an error, never a short
	// export that looks complete.
	resp, body, err = get()
	if err == nil {
		t.Fatalf("failure after the first line = %d, body %q and no error; want a broken transfer", resp.StatusCode, body)
	}
}
