package storetest

import (
	"testing"
	"time"

	"github.com/wildwarden/wildwarden"
)

// testPasswords: a password hash is stored per user and tenant.
func testPasswords(t *testing.T, s wildwarden.Store) {
	a, b := mustTenant(t, s, "shop-a"), mustTenant(t, s, "shop-b")
	u := &wildwarden.User{TenantID: a, Name: "alice", Role: wildwarden.RoleReviewer}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := s.SetPassword(ctx, a, u.ID, "$argon2id$stand-in"); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	users, err := s.Users(ctx, a)
	if err != nil || len(users) != 1 || users[0].PasswordHash != "$argon2id$stand-in" {
		t.Fatalf("Users after SetPassword = %+v, %v", users, err)
	}
	wantCode(t, "SetPassword of another tenant's user", s.SetPassword(ctx, b, u.ID, "x"), wildwarden.ENOTFOUND)
	wantCode(t, "SetPassword of an unknown user", s.SetPassword(ctx, a, "usr_none", "x"), wildwarden.ENOTFOUND)
	wantCode(t, "SetPassword with an empty hash", s.SetPassword(ctx, a, u.ID, ""), wildwarden.EINVALID)
}

// testSellerListingsAndReports: the item page's context (the seller's
// other listings, the listing's reports) stays in its tenant.
func testSellerListingsAndReports(t *testing.T, s wildwarden.Store) {
	a, b := mustTenant(t, s, "shop-a"), mustTenant(t, s, "shop-b")
	bySeller := func(id, title, seller string) *wildwarden.Screening {
		sc := screening(id, title, wildwarden.Allow, 0.1)
		sc.Listing.Seller.ID, sc.SellerID = seller, seller
		return sc
	}
	save(t, s, a, bySeller("L-1", "first", "S-9"))
	save(t, s, a, bySeller("L-1", "first, edited", "S-9"))
	save(t, s, a, bySeller("L-2", "second", "S-9"))
	save(t, s, a, bySeller("L-3", "other seller", "S-1"))
	save(t, s, b, bySeller("L-4", "other tenant", "S-9"))
	got, err := s.SellerListings(ctx, a, "S-9", 10)
	if err != nil {
		t.Fatalf("SellerListings: %v", err)
	}
	var ids []string
	for _, sc := range got {
		ids = append(ids, sc.ListingID+"="+sc.Listing.Title)
	}
	if want := []string{"L-2=second", "L-1=first, edited"}; len(ids) != len(want) || ids[0] != want[0] || ids[1] != want[1] {
		t.Fatalf("SellerListings(S-9) = %v, want %v (latest version of each, newest first, this tenant only)", ids, want)
	}

	for i, reason := range []string{"ivory", "rhino horn"} {
		r := &wildwarden.Report{TenantID: a, ListingID: "L-1", Reason: reason, ReporterID: "u" + string(rune('1'+i)), Weight: 1}
		if err := s.AddReport(ctx, r, &wildwarden.QueueItem{Reports: 1, ReportWeight: 1}); err != nil {
			t.Fatalf("AddReport: %v", err)
		}
	}
	reps, err := s.ListingReports(ctx, a, "L-1", 10)
	if err != nil || len(reps) != 2 {
		t.Fatalf("ListingReports = %+v, %v; want 2", reps, err)
	}
	if reps, _ := s.ListingReports(ctx, b, "L-1", 10); len(reps) != 0 {
		t.Fatalf("ListingReports of another tenant = %+v, want none", reps)
	}
}

// testKBAdditions: additions are validated, kept in order and audited.
func testKBAdditions(t *testing.T, s wildwarden.Store) {
	a := mustTenant(t, s, "shop-a")
	tests := []struct {
		add  wildwarden.KBAddition
		code string
	}{
		{wildwarden.KBAddition{TenantID: a, Kind: wildwarden.KBAddTerm, Text: "white gold bar", Lang: "en", Category: "ivory", Note: "seen in a seized shop"}, ""},
		{wildwarden.KBAddition{TenantID: a, Kind: wildwarden.KBAddCue, Text: "dm for pics", Lang: "en", Cue: "sale_intent", Note: "reviewer note"}, ""},
		{wildwarden.KBAddition{TenantID: a, Kind: "rule", Text: "x", Note: "n"}, wildwarden.EINVALID},
		{wildwarden.KBAddition{TenantID: a, Kind: wildwarden.KBAddTerm, Text: "", Note: "n"}, wildwarden.EINVALID},
		{wildwarden.KBAddition{TenantID: a, Kind: wildwarden.KBAddTerm, Text: "x", Note: ""}, wildwarden.EINVALID},
	}
	for _, tt := range tests {
		add := tt.add
		err := s.AddKBAddition(ctx, &add)
		if tt.code != "" {
			wantCode(t, "AddKBAddition("+add.Text+")", err, tt.code)
			continue
		}
		if err != nil || add.ID == "" || add.CreatedAt.IsZero() {
			t.Fatalf("AddKBAddition(%s) = %v, id %q", add.Text, err, add.ID)
		}
	}
	got, err := s.KBAdditions(ctx)
	if err != nil || len(got) != 2 || got[0].Text != "white gold bar" || got[1].Cue != "sale_intent" || got[1].Kind != wildwarden.KBAddCue {
		t.Fatalf("KBAdditions = %+v, %v", got, err)
	}
	log, err := s.AuditLog(ctx, a, 0, 100)
	if err != nil {
		t.Fatalf("AuditLog: %v", err)
	}
	added := 0
	for _, e := range log {
		if e.Action == "kb.add" && e.Actor == "storetest" {
			added++
		}
	}
	if added != 2 {
		t.Fatalf("audit has %d kb.add entries, want 2", added)
	}
}

// testActivity: the dashboard's daily counts.
func testActivity(t *testing.T, s wildwarden.Store) {
	a, b := mustTenant(t, s, "shop-a"), mustTenant(t, s, "shop-b")
	withCat := func(id string, d wildwarden.Decision, cat string) *wildwarden.Screening {
		sc := screening(id, id, d, 0.5)
		sc.Verdict.Categories = []string{cat}
		if d == wildwarden.Review {
			sc.Enqueue = &wildwarden.QueueItem{ListingID: id, Kind: wildwarden.ItemVerdict, Score: 0.5}
		}
		return sc
	}
	save(t, s, a, withCat("L-1", wildwarden.Block, "ivory"), withCat("L-2", wildwarden.Review, "ivory"),
		withCat("L-3", wildwarden.Allow, "rhino_horn"), screening("L-4", "plain", wildwarden.Allow, 0.01))
	save(t, s, b, withCat("L-9", wildwarden.Block, "ivory"))
	item, err := s.Claim(ctx, a, "r1", time.Minute)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if err := s.Decide(ctx, &wildwarden.ReviewDecision{TenantID: a, ItemID: item.ID, ReviewerID: "r1", Action: wildwarden.ActionRemove, Reasons: []string{"ivory"}}, nil); err != nil {
		t.Fatalf("Decide: %v", err)
	}
	audit := &wildwarden.QueueItem{TenantID: a, ListingID: "L-4", Kind: wildwarden.ItemAudit}
	if err := s.Enqueue(ctx, audit); err != nil {
		t.Fatalf("Enqueue audit: %v", err)
	}
	if _, err := s.Claim(ctx, a, "r2", time.Minute); err != nil {
		t.Fatalf("Claim audit: %v", err)
	}
	if err := s.Decide(ctx, &wildwarden.ReviewDecision{TenantID: a, ItemID: audit.ID, ReviewerID: "r2", Action: wildwarden.ActionAllow, Reasons: []string{"ok"}}, nil); err != nil {
		t.Fatalf("Decide audit: %v", err)
	}
	if err := s.AddSearchEvent(ctx, &wildwarden.SearchEvent{TenantID: a, Type: wildwarden.SearchImpression}); err != nil {
		t.Fatalf("AddSearchEvent: %v", err)
	}

	act, err := s.Activity(ctx, a, time.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatalf("Activity: %v", err)
	}
	cats := map[string]wildwarden.CategoryDay{}
	for _, c := range act.ByCategory {
		cats[c.Category] = c
	}
	if iv := cats["ivory"]; iv.Screened != 2 || iv.Blocked != 1 || iv.Removed != 1 {
		t.Fatalf("ivory = %+v, want 2 screened, 1 blocked, 1 removed (tenant b not counted)", iv)
	}
	if rh, none := cats["rhino_horn"], cats[""]; rh.Screened != 1 || rh.Blocked != 0 || none.Screened != 1 {
		t.Fatalf("rhino_horn = %+v, no category = %+v", rh, none)
	}
	if len(act.Days) != 1 {
		t.Fatalf("Days = %+v, want one day", act.Days)
	}
	d := act.Days[0]
	if d.Automated != 3 || d.Human != 2 || d.Violating != 2 || d.SearchShown != 1 || d.SearchClicked != 0 {
		t.Fatalf("day = %+v, want 3 automated, 2 human, 2 violating, 1 search warning shown", d)
	}
	if len(act.DecisionTimes) != 2 || act.DecisionTimes[0] < 0 {
		t.Fatalf("DecisionTimes = %v, want 2 non-negative", act.DecisionTimes)
	}
	if act.Reviewers["r1"] != 1 || act.Reviewers["r2"] != 1 || act.AuditDecided != 1 || act.AuditViolating != 0 {
		t.Fatalf("reviewers %v, audits %d decided %d violating", act.Reviewers, act.AuditDecided, act.AuditViolating)
	}
	later, err := s.Activity(ctx, a, time.Now().Add(time.Hour))
	if err != nil || len(later.Days) != 0 || len(later.ByCategory) != 0 {
		t.Fatalf("Activity since the future = %+v, %v; want nothing", later, err)
	}
}
