package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/wildwarden/wildwarden"
)

// claimAndDecide claims the tenant's next queue item as reviewer and
// records action on it; the caller makes sure that item is the one meant.
func claimAndDecide(t *testing.T, s wildwarden.Store, tenant, listingID, reviewer, action string, reasons ...string) *wildwarden.ReviewDecision {
	t.Helper()
	item, err := s.Claim(ctx, tenant, reviewer, time.Minute)
	if err != nil {
		t.Fatalf("Claim(%s) for %s: %v", reviewer, listingID, err)
	}
	if item.ListingID != listingID {
		t.Fatalf("Claim(%s) = item of %s, want one of %s", reviewer, item.ListingID, listingID)
	}
	d := &wildwarden.ReviewDecision{TenantID: tenant, ItemID: item.ID, ReviewerID: reviewer, Action: action, Reasons: reasons}
	if err := s.Decide(ctx, d, nil); err != nil {
		t.Fatalf("Decide(%s %s): %v", action, listingID, err)
	}
	return d
}

// exported collects a tenant's export.
func exported(t *testing.T, s wildwarden.Store, tenant string, since time.Time) []*wildwarden.DecidedListing {
	t.Helper()
	var out []*wildwarden.DecidedListing
	if err := s.ExportDecisions(ctx, tenant, since, func(dl *wildwarden.DecidedListing) error {
		out = append(out, dl)
		return nil
	}); err != nil {
		t.Fatalf("ExportDecisions(since %v): %v", since, err)
	}
	return out
}

func listingIDs(list []*wildwarden.DecidedListing) []string {
	ids := []string{}
	for _, dl := range list {
		ids = append(ids, dl.Listing.ID)
	}
	return ids
}

// testExportDecisions checks ExportDecisions: each decided listing once,
// with its latest decision and the content the reviewer judged; undecided
// and never-screened listings and other tenants' listings left out;
// since filtering on the latest decision; fn's error stopping the export.
func testExportDecisions(t *testing.T, s wildwarden.Store) {
	a := mustTenant(t, s, "shop-a")
	b := mustTenant(t, s, "shop-b")
	queued := func(id, title string, d wildwarden.Decision, score float64) *wildwarden.Screening {
		sc := screening(id, title, d, score)
		sc.Enqueue = &wildwarden.QueueItem{ListingID: id, Kind: wildwarden.ItemVerdict, Score: score}
		return sc
	}
	report := func(tenant, listingID string) {
		t.Helper()
		if err := s.AddReport(ctx, &wildwarden.Report{TenantID: tenant, ListingID: listingID, Reason: "wildlife", ReporterID: "u1"}, &wildwarden.QueueItem{Reports: 1, ReportWeight: 1}); err != nil {
			t.Fatalf("AddReport(%s): %v", listingID, err)
		}
	}

	// Before the cut: two listings decided once, one decided again later.
	removed := queued("L-removed", "carved bangle", wildwarden.Review, 0.8)
	save(t, s, a, removed)
	dRemoved := claimAndDecide(t, s, a, "L-removed", "r1", wildwarden.ActionRemove, "ivory")
	allowed := queued("L-allowed", "resin bangle", wildwarden.Review, 0.6)
	save(t, s, a, allowed)
	dAllowed := claimAndDecide(t, s, a, "L-allowed", "r2", wildwarden.ActionAllow, "imitation")
	twice := queued("L-twice", "old netsuke", wildwarden.Review, 0.7)
	save(t, s, a, twice)
	claimAndDecide(t, s, a, "L-twice", "r1", wildwarden.ActionRemove, "ivory")
	// Another tenant decides a listing of the same ID.
	other := queued("L-removed", "tenant B's own listing", wildwarden.Review, 0.9)
	save(t, s, b, other)
	dOther := claimAndDecide(t, s, b, "L-removed", "rb", wildwarden.ActionRemove, "rhino_horn")

	time.Sleep(5 * time.Millisecond)
	cut := time.Now()
	time.Sleep(5 * time.Millisecond)

	// After the cut.
	edited := queued("L-edited", "tusk pendant", wildwarden.Review, 0.75)
	save(t, s, a, edited)
	dEdited := claimAndDecide(t, s, a, "L-edited", "r1", wildwarden.ActionRemove, "ivory")
	// The seller edits the listing after the removal: the export keeps
	// the content the reviewer judged.
	save(t, s, a, screening("L-edited", "glass pendant", wildwarden.Allow, 0.05))
	report(a, "L-twice")
	dTwice := claimAndDecide(t, s, a, "L-twice", "r2", wildwarden.ActionAllow, "antique_certified")
	// A listing reported by URL alone has no content to learn from.
	report(a, "L-url-only")
	claimAndDecide(t, s, a, "L-url-only", "r1", wildwarden.ActionRemove, "ivory")
	escalated := queued("L-escalated", "horn cup", wildwarden.Review, 0.65)
	save(t, s, a, escalated)
	dEscalated := claimAndDecide(t, s, a, "L-escalated", "r1", wildwarden.ActionEscalate, "unsure")
	// Never decided.
	save(t, s, a, queued("L-undecided", "bone carving", wildwarden.Review, 0.7))
	save(t, s, a, screening("L-screened-only", "teapot", wildwarden.Allow, 0.01))

	type want struct {
		decision  *wildwarden.ReviewDecision
		screening *wildwarden.Screening
		title     string
	}
	wants := map[string]want{
		"L-removed":   {dRemoved, removed, "carved bangle"},
		"L-allowed":   {dAllowed, allowed, "resin bangle"},
		"L-edited":    {dEdited, edited, "tusk pendant"},
		"L-twice":     {dTwice, twice, "old netsuke"},
		"L-escalated": {dEscalated, escalated, "horn cup"},
	}
	tests := []struct {
		name   string
		tenant string
		since  time.Time
		ids    []string
	}{
		{"all of A, oldest decision first", a, time.Time{}, []string{"L-removed", "L-allowed", "L-edited", "L-twice", "L-escalated"}},
		{"A since the cut", a, cut, []string{"L-edited", "L-twice", "L-escalated"}},
		{"A in the future", a, time.Now().Add(time.Hour), []string{}},
		{"B sees only its own", b, time.Time{}, []string{"L-removed"}},
		{"unknown tenant", "no-such-tenant", time.Time{}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := exported(t, s, tt.tenant, tt.since)
			if ids := listingIDs(got); !slices.Equal(ids, tt.ids) {
				t.Fatalf("exported %v, want %v", ids, tt.ids)
			}
			for _, dl := range got {
				w := wants[dl.Listing.ID]
				if tt.tenant == b {
					w = want{dOther, other, "tenant B's own listing"}
				}
				checkDecided(t, dl, w.decision, w.screening, w.title)
			}
		})
	}

	stop := errors.New("stop")
	calls := 0
	err := s.ExportDecisions(ctx, a, time.Time{}, func(*wildwarden.DecidedListing) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("ExportDecisions with a failing fn = %v after %d calls, want its error after 1", err, calls)
	}
}

// checkDecided compares one exported row with the decision and screening
// it should carry.
func checkDecided(t *testing.T, dl *wildwarden.DecidedListing, d *wildwarden.ReviewDecision, sc *wildwarden.Screening, title string) {
	t.Helper()
	id := dl.Listing.ID
	if dl.Listing.Title != title {
		t.Errorf("%s: listing title %q, want %q (the content the reviewer judged)", id, dl.Listing.Title, title)
	}
	if dl.Action != d.Action || dl.DecisionID != d.ID || dl.ReviewerID != d.ReviewerID || dl.ItemKind != d.ItemKind || !slices.Equal(dl.Reasons, d.Reasons) {
		t.Errorf("%s: decision %s %s by %s on a %s item, reasons %v; want %s %s by %s on a %s item, reasons %v",
			id, dl.DecisionID, dl.Action, dl.ReviewerID, dl.ItemKind, dl.Reasons, d.ID, d.Action, d.ReviewerID, d.ItemKind, d.Reasons)
	}
	// Stores may keep times at microsecond precision.
	if diff := dl.DecidedAt.Sub(d.CreatedAt).Abs(); diff > time.Millisecond {
		t.Errorf("%s: decided at %v, want %v", id, dl.DecidedAt, d.CreatedAt)
	}
	if dl.Verdict.Seq != sc.Seq || dl.Verdict.Decision != sc.Verdict.Decision || dl.Verdict.Score != sc.Verdict.Score {
		t.Errorf("%s: verdict %+v, want screening %d: %s %v", id, dl.Verdict, sc.Seq, sc.Verdict.Decision, sc.Verdict.Score)
	}
	if diff := dl.Verdict.ScreenedAt.Sub(sc.CreatedAt).Abs(); diff > time.Millisecond {
		t.Errorf("%s: screened at %v, want %v", id, dl.Verdict.ScreenedAt, sc.CreatedAt)
	}
}
