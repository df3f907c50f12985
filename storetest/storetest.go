// Package storetest is the contract of wildwarden.Store as a test suite.
// Every implementation runs it:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) wildwarden.Store { return open(t) })
//	}
//
// The factory returns an empty store; the suite closes it.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wildwarden/wildwarden"
)

// Run runs the whole suite, each test on a fresh store.
func Run(t *testing.T, newStore func(t *testing.T) wildwarden.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s wildwarden.Store)
	}{
		{"TenantsAndKeys", testTenantsAndKeys},
		{"ScreeningIdempotent", testScreeningIdempotent},
		{"ScreeningEffects", testScreeningEffects},
		{"TenantIsolation", testTenantIsolation},
		{"QueueOrderAndFold", testQueueOrderAndFold},
		{"ClaimLeaseDecide", testClaimLeaseDecide},
		{"AppealOtherReviewer", testAppealOtherReviewer},
		{"Reputation", testReputation},
		{"Deliveries", testDeliveries},
		{"ConcurrentWrites", testConcurrentWrites},
		{"SampleAllowedAndStats", testSampleAllowedAndStats},
		{"AuditChain", testAuditChain},
		{"Passwords", testPasswords},
		{"Sessions", testSessions},
		{"SignInFailures", testSignInFailures},
		{"SignInFailuresCountedAtOnce", testSignInFailuresCountedAtOnce},
		{"SellerListingsAndReports", testSellerListingsAndReports},
		{"KBAdditions", testKBAdditions},
		{"Activity", testActivity},
		{"ImageBanks", testImageBanks},
		{"SyncLog", testSyncLog},
		{"ExportDecisions", testExportDecisions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}
}

// ctx is the context of every call, naming a test actor for the audit log.
var ctx = wildwarden.WithActor(context.Background(), "storetest")

func mustTenant(t *testing.T, s wildwarden.Store, name string) string {
	t.Helper()
	tn := &wildwarden.Tenant{Name: name}
	if err := s.CreateTenant(ctx, tn); err != nil {
		t.Fatalf("CreateTenant(%s): %v", name, err)
	}
	return tn.ID
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := wildwarden.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

// screening builds a screening of a listing with a decision.
func screening(id, title string, d wildwarden.Decision, score float64) *wildwarden.Screening {
	l := &wildwarden.Listing{ID: id, Title: title, Seller: wildwarden.Seller{ID: "seller-" + id}}
	return &wildwarden.Screening{
		Listing: l,
		Verdict: &wildwarden.Verdict{ID: id, Decision: d, Score: score, Categories: []string{}, Species: []wildwarden.Species{}, Signals: []wildwarden.Signal{}},
		Source:  "test",
	}
}

func save(t *testing.T, s wildwarden.Store, tenant string, scs ...*wildwarden.Screening) {
	t.Helper()
	errs, err := s.SaveScreenings(ctx, tenant, scs)
	if err != nil {
		t.Fatalf("SaveScreenings: %v", err)
	}
	for i, e := range errs {
		if e != nil {
			t.Fatalf("SaveScreenings[%d]: %v", i, e)
		}
	}
}

func testTenantsAndKeys(t *testing.T, s wildwarden.Store) {
	a := mustTenant(t, s, "shop-a")
	wantCode(t, "duplicate tenant", s.CreateTenant(ctx, &wildwarden.Tenant{Name: "shop-a"}), wildwarden.ECONFLICT)
	wantCode(t, "key of unknown tenant", s.CreateKey(ctx, &wildwarden.APIKey{TenantID: "nope", Role: wildwarden.RoleAdmin, Hash: wildwarden.HashKey("x")}), wildwarden.ENOTFOUND)
	wantCode(t, "bad role", s.CreateKey(ctx, &wildwarden.APIKey{TenantID: a, Role: "root", Hash: wildwarden.HashKey("x")}), wildwarden.EINVALID)

	rev := &wildwarden.User{TenantID: a, Name: "alice", Role: wildwarden.RoleReviewer}
	if err := s.CreateUser(ctx, rev); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	users, err := s.Users(ctx, a)
	if err != nil || len(users) != 1 || users[0].Name != "alice" {
		t.Fatalf("Users = %v, %v; want alice", users, err)
	}
	k := &wildwarden.APIKey{TenantID: a, UserID: rev.ID, Role: wildwarden.RoleReviewer, Prefix: "ww_abc", Hash: wildwarden.HashKey("secret-1")}
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	got, err := s.KeyByHash(ctx, wildwarden.HashKey("secret-1"))
	if err != nil || got.ID != k.ID || got.TenantID != a || got.UserID != rev.ID || got.Role != wildwarden.RoleReviewer {
		t.Fatalf("KeyByHash = %+v, %v; want %+v", got, err, k)
	}
	_, err = s.KeyByHash(ctx, wildwarden.HashKey("secret-2"))
	wantCode(t, "unknown key", err, wildwarden.ENOTFOUND)
	wantCode(t, "revoke in other tenant", s.RevokeKey(ctx, "other", k.ID), wildwarden.ENOTFOUND)
	if err := s.RevokeKey(ctx, a, k.ID); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	_, err = s.KeyByHash(ctx, wildwarden.HashKey("secret-1"))
	wantCode(t, "revoked key", err, wildwarden.ENOTFOUND)
	keys, err := s.Keys(ctx, a)
	if err != nil || len(keys) != 1 || keys[0].RevokedAt == nil {
		t.Fatalf("Keys = %+v, %v; want one revoked key", keys, err)
	}
	tenants, err := s.Tenants(ctx)
	if err != nil || len(tenants) != 1 || tenants[0].ID != a {
		t.Fatalf("Tenants = %+v, %v", tenants, err)
	}
}

func testScreeningIdempotent(t *testing.T, s wildwarden.Store) {
	a := mustTenant(t, s, "shop-a")
	first := screening("L-1", "carved bangle", wildwarden.Review, 0.6)
	first.Enqueue = &wildwarden.QueueItem{ListingID: "L-1", Kind: wildwarden.ItemVerdict, Score: 0.6}
	save(t, s, a, first)
	if first.Duplicate || first.Seq == 0 {
		t.Fatalf("first save: duplicate=%v seq=%d", first.Duplicate, first.Seq)
	}
	again := screening("L-1", "carved bangle", wildwarden.Review, 0.6)
	again.Enqueue = &wildwarden.QueueItem{ListingID: "L-1", Kind: wildwarden.ItemVerdict, Score: 0.6}
	save(t, s, a, again)
	if !again.Duplicate || again.Seq != first.Seq {
		t.Fatalf("same content: duplicate=%v seq=%d, want duplicate of seq %d", again.Duplicate, again.Seq, first.Seq)
	}
	queue, err := s.Queue(ctx, a, 10)
	if err != nil || len(queue) != 1 {
		t.Fatalf("Queue after duplicate = %d items, %v; want 1", len(queue), err)
	}
	if v, err := s.StoredVerdict(ctx, a, "L-1", first.ContentHash); err != nil || v.Decision != wildwarden.Review || v.Score != 0.6 {
		t.Fatalf("StoredVerdict(same content) = %+v, %v", v, err)
	}
	_, err = s.StoredVerdict(ctx, a, "L-1", "other-hash")
	wantCode(t, "StoredVerdict of other content", err, wildwarden.ENOTFOUND)
	_, err = s.StoredVerdict(ctx, "other-tenant", "L-1", first.ContentHash)
	wantCode(t, "StoredVerdict of another tenant", err, wildwarden.ENOTFOUND)
	changed := screening("L-1", "carved bangle, new photos", wildwarden.Allow, 0.1)
	save(t, s, a, changed)
	if changed.Duplicate || changed.Seq <= first.Seq {
		t.Fatalf("changed content: duplicate=%v seq=%d", changed.Duplicate, changed.Seq)
	}
	st, err := s.ListingState(ctx, a, "L-1")
	if err != nil {
		t.Fatalf("ListingState: %v", err)
	}
	if len(st.History) != 2 || st.Latest.Seq != changed.Seq || st.Latest.Verdict.Decision != wildwarden.Allow || st.Status != wildwarden.StatusAllowed {
		t.Fatalf("ListingState = history %d, latest %d %s, status %s", len(st.History), st.Latest.Seq, st.Latest.Verdict.Decision, st.Status)
	}
	if st.Latest.Listing.Title != "carved bangle, new photos" {
		t.Fatalf("latest listing title = %q", st.Latest.Listing.Title)
	}
	_, err = s.ListingState(ctx, a, "L-missing")
	wantCode(t, "missing listing", err, wildwarden.ENOTFOUND)
}

func testScreeningEffects(t *testing.T, s wildwarden.Store) {
	a := mustTenant(t, s, "shop-a")
	if err := s.CreateWebhook(ctx, &wildwarden.Webhook{TenantID: a, URL: "http://127.0.0.1:1/hook", Secret: "s", Events: []string{wildwarden.EventBlock}}); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	sc := screening("L-9", "blocked thing", wildwarden.Block, 0.99)
	sc.Statement = &wildwarden.Statement{ListingID: "L-9", Category: "STATEMENT_CATEGORY_ANIMAL_WELFARE", DecisionVisibility: []string{"DECISION_VISIBILITY_CONTENT_REMOVED"}}
	sc.Events = []wildwarden.Event{{Type: wildwarden.EventBlock, ListingID: "L-9"}}
	save(t, s, a, sc)
	st, err := s.Statement(ctx, a, sc.Statement.ID)
	if err != nil || st.ListingID != "L-9" || st.Category != "STATEMENT_CATEGORY_ANIMAL_WELFARE" || st.PUID == "" {
		t.Fatalf("Statement = %+v, %v", st, err)
	}
	list, err := s.Statements(ctx, a, time.Time{}, 10)
	if err != nil || len(list) != 1 || list[0].ID != st.ID {
		t.Fatalf("Statements = %+v, %v", list, err)
	}
	due, err := s.DueDeliveries(ctx, time.Now().Add(time.Second), 10)
	if err != nil || len(due) != 1 || due[0].EventType != wildwarden.EventBlock || due[0].TenantID != a || len(due[0].Body) == 0 {
		t.Fatalf("DueDeliveries = %+v, %v", due, err)
	}
	// A duplicate screening writes no second statement or delivery.
	dup := screening("L-9", "blocked thing", wildwarden.Block, 0.99)
	dup.Statement = &wildwarden.Statement{ListingID: "L-9"}
	dup.Events = []wildwarden.Event{{Type: wildwarden.EventBlock, ListingID: "L-9"}}
	save(t, s, a, dup)
	if list, _ := s.Statements(ctx, a, time.Time{}, 10); len(list) != 1 {
		t.Fatalf("statements after duplicate = %d, want 1", len(list))
	}
	if due, _ := s.DueDeliveries(ctx, time.Now().Add(time.Second), 10); len(due) != 1 {
		t.Fatalf("deliveries after duplicate = %d, want 1", len(due))
	}
}

// testTenantIsolation tries to read every kind of tenant A's data as B.
func testTenantIsolation(t *testing.T, s wildwarden.Store) {
	a := mustTenant(t, s, "shop-a")
	b := mustTenant(t, s, "shop-b")
	sc := screening("L-1", "secret of A", wildwarden.Block, 0.9)
	sc.Enqueue = &wildwarden.QueueItem{ListingID: "L-1", Kind: wildwarden.ItemVerdict, Score: 0.9}
	sc.Statement = &wildwarden.Statement{ListingID: "L-1"}
	save(t, s, a, sc)
	if err := s.AddReport(ctx, &wildwarden.Report{TenantID: a, ListingID: "L-1", Reason: "ivory", ReporterID: "u1"}, &wildwarden.QueueItem{Reports: 1, ReportWeight: 1}); err != nil {
		t.Fatalf("AddReport: %v", err)
	}
	if err := s.CreateWebhook(ctx, &wildwarden.Webhook{TenantID: a, URL: "http://127.0.0.1:1/", Secret: "s"}); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}

	_, err := s.LatestScreening(ctx, b, "L-1")
	wantCode(t, "B reads A's listing", err, wildwarden.ENOTFOUND)
	_, err = s.ListingState(ctx, b, "L-1")
	wantCode(t, "B reads A's listing state", err, wildwarden.ENOTFOUND)
	_, err = s.Statement(ctx, b, sc.Statement.ID)
	wantCode(t, "B reads A's statement", err, wildwarden.ENOTFOUND)
	_, err = s.QueueItem(ctx, b, sc.Enqueue.ID)
	wantCode(t, "B reads A's queue item", err, wildwarden.ENOTFOUND)
	_, err = s.Claim(ctx, b, "rev-b", time.Minute)
	wantCode(t, "B claims from A's queue", err, wildwarden.ENOTFOUND)
	wantCode(t, "B decides A's item", s.Decide(ctx, &wildwarden.ReviewDecision{TenantID: b, ItemID: sc.Enqueue.ID, ReviewerID: "rev-b", Action: wildwarden.ActionRemove}, nil), wildwarden.ENOTFOUND)

	if q, err := s.Queue(ctx, b, 10); err != nil || len(q) != 0 {
		t.Fatalf("B's queue = %d items, %v; want none", len(q), err)
	}
	if l, err := s.Statements(ctx, b, time.Time{}, 10); err != nil || len(l) != 0 {
		t.Fatalf("B's statements = %d, %v; want none", len(l), err)
	}
	if w, err := s.Webhooks(ctx, b); err != nil || len(w) != 0 {
		t.Fatalf("B's webhooks = %d, %v; want none", len(w), err)
	}
	if up, dec, err := s.Reputation(ctx, b, "u1"); err != nil || up+dec != 0 {
		t.Fatalf("B's reputation of A's reporter = %d/%d, %v", up, dec, err)
	}
	if ids, err := s.SampleAllowed(ctx, b, 10); err != nil || len(ids) != 0 {
		t.Fatalf("B's sample = %v, %v", ids, err)
	}
	stats, err := s.Stats(ctx, b)
	if err != nil {
		t.Fatalf("Stats(B): %v", err)
	}
	if len(stats.Verdicts) != 0 || stats.OpenItems != 0 || stats.Reports != 0 || stats.Statements != 0 {
		t.Fatalf("B's stats show A's data: %+v", stats)
	}
	if log, err := s.AuditLog(ctx, b, 0, 100); err != nil {
		t.Fatalf("AuditLog(B): %v", err)
	} else {
		for _, e := range log {
			if e.TenantID != b {
				t.Fatalf("B's audit log holds an entry of %s: %+v", e.TenantID, e)
			}
		}
	}
	// And A sees its own.
	statsA, err := s.Stats(ctx, a)
	if err != nil || statsA.Verdicts["block"] != 1 || statsA.Reports != 1 || statsA.OpenItems != 2 {
		t.Fatalf("A's stats = %+v, %v", statsA, err)
	}
}

func testQueueOrderAndFold(t *testing.T, s wildwarden.Store) {
	a := mustTenant(t, s, "shop-a")
	items := []*wildwarden.QueueItem{
		{TenantID: a, ListingID: "low", Kind: wildwarden.ItemVerdict, Score: 0.3},
		{TenantID: a, ListingID: "cites-1", Kind: wildwarden.ItemVerdict, Score: 0.5, CITES: "I"},
		{TenantID: a, ListingID: "mid", Kind: wildwarden.ItemVerdict, Score: 0.6},
	}
	for _, it := range items {
		if err := s.Enqueue(ctx, it); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
	}
	wantCode(t, "bad kind", s.Enqueue(ctx, &wildwarden.QueueItem{TenantID: a, ListingID: "x", Kind: "nope"}), wildwarden.EINVALID)
	for i := 0; i < 3; i++ {
		r := &wildwarden.Report{TenantID: a, ListingID: "low", Reason: "ivory", ReporterID: fmt.Sprintf("u%d", i)}
		if err := s.AddReport(ctx, r, &wildwarden.QueueItem{Reports: 1, ReportWeight: 1.5, Score: 0.3}); err != nil {
			t.Fatalf("AddReport: %v", err)
		}
	}
	q, err := s.Queue(ctx, a, 10)
	if err != nil {
		t.Fatalf("Queue: %v", err)
	}
	if len(q) != 4 {
		t.Fatalf("Queue = %d items, want 4 (three reports fold into one)", len(q))
	}
	var order []string
	for i, it := range q {
		order = append(order, it.Kind+":"+it.ListingID)
		if i > 0 && it.Priority > q[i-1].Priority {
			t.Fatalf("queue not ordered by priority: %v", q)
		}
	}
	want := wildwarden.QueuePriority(0.3, "", 4.5, 0)
	if q[0].Kind != wildwarden.ItemReport || q[0].Reports != 3 || q[0].Priority != want {
		t.Fatalf("queue order %v; first item %+v, want the report item with 3 reports and priority %v", order, q[0], want)
	}
	if q[1].ListingID != "cites-1" {
		t.Fatalf("queue order %v; want the CITES I item before the higher score without species", order)
	}
}

func testClaimLeaseDecide(t *testing.T, s wildwarden.Store) {
	a := mustTenant(t, s, "shop-a")
	sc := screening("L-1", "x", wildwarden.Review, 0.7)
	sc.Enqueue = &wildwarden.QueueItem{ListingID: "L-1", Kind: wildwarden.ItemVerdict, Score: 0.7}
	save(t, s, a, sc)
	item := sc.Enqueue.ID

	wantCode(t, "decide without claim", s.Decide(ctx, &wildwarden.ReviewDecision{TenantID: a, ItemID: item, ReviewerID: "r1", Action: wildwarden.ActionRemove}, nil), wildwarden.ECONFLICT)
	got, err := s.Claim(ctx, a, "r1", time.Millisecond)
	if err != nil || got.ID != item || got.ClaimedBy != "r1" {
		t.Fatalf("Claim(r1) = %+v, %v", got, err)
	}
	time.Sleep(20 * time.Millisecond) // the lease expires
	wantCode(t, "decide after lease expired", s.Decide(ctx, &wildwarden.ReviewDecision{TenantID: a, ItemID: item, ReviewerID: "r1", Action: wildwarden.ActionRemove}, nil), wildwarden.ECONFLICT)
	got, err = s.Claim(ctx, a, "r2", time.Minute)
	if err != nil || got.ID != item {
		t.Fatalf("Claim(r2) after expiry = %+v, %v", got, err)
	}
	_, err = s.Claim(ctx, a, "r1", time.Minute)
	wantCode(t, "claim of a leased item", err, wildwarden.ENOTFOUND)
	wantCode(t, "decide by non-holder", s.Decide(ctx, &wildwarden.ReviewDecision{TenantID: a, ItemID: item, ReviewerID: "r1", Action: wildwarden.ActionRemove}, nil), wildwarden.ECONFLICT)
	wantCode(t, "bad action", s.Decide(ctx, &wildwarden.ReviewDecision{TenantID: a, ItemID: item, ReviewerID: "r2", Action: "delete"}, nil), wildwarden.EINVALID)

	esc := &wildwarden.ReviewDecision{TenantID: a, ItemID: item, ReviewerID: "r2", Action: wildwarden.ActionEscalate, Reasons: []string{"unsure"}}
	if err := s.Decide(ctx, esc, nil); err != nil {
		t.Fatalf("escalate: %v", err)
	}
	q, _ := s.Queue(ctx, a, 10)
	if len(q) != 1 || !q[0].Escalated {
		t.Fatalf("after escalate queue = %+v, want the item open and escalated", q)
	}
	if _, err := s.Claim(ctx, a, "r3", time.Minute); err != nil {
		t.Fatalf("claim escalated: %v", err)
	}
	d := &wildwarden.ReviewDecision{TenantID: a, ItemID: item, ReviewerID: "r3", Action: wildwarden.ActionRemove, Reasons: []string{"ivory"}, Note: "code word"}
	fx := &wildwarden.Effects{Statement: &wildwarden.Statement{}, Events: []wildwarden.Event{{Type: wildwarden.EventRemove, ListingID: "L-1"}}}
	if err := s.Decide(ctx, d, fx); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if d.ListingID != "L-1" || d.ItemKind != wildwarden.ItemVerdict || fx.Statement.ID == "" {
		t.Fatalf("decision not filled: %+v, statement %q", d, fx.Statement.ID)
	}
	wantCode(t, "decide twice", s.Decide(ctx, &wildwarden.ReviewDecision{TenantID: a, ItemID: item, ReviewerID: "r3", Action: wildwarden.ActionAllow}, nil), wildwarden.ECONFLICT)
	st, err := s.ListingState(ctx, a, "L-1")
	if err != nil || st.Status != wildwarden.StatusRemoved || len(st.Decisions) != 2 {
		t.Fatalf("ListingState = status %q, %d decisions, %v; want removed with 2 decisions", st.Status, len(st.Decisions), err)
	}
	if q, _ := s.Queue(ctx, a, 10); len(q) != 0 {
		t.Fatalf("queue after remove = %d items", len(q))
	}
	rm, err := s.LastRemoval(ctx, a, "L-1")
	if err != nil || rm.ID != d.ID || rm.Note != "code word" || len(rm.Reasons) != 1 {
		t.Fatalf("LastRemoval = %+v, %v", rm, err)
	}
}

func testAppealOtherReviewer(t *testing.T, s wildwarden.Store) {
	a := mustTenant(t, s, "shop-a")
	sc := screening("L-1", "x", wildwarden.Review, 0.7)
	sc.Enqueue = &wildwarden.QueueItem{ListingID: "L-1", Kind: wildwarden.ItemVerdict, Score: 0.7}
	save(t, s, a, sc)
	if _, err := s.Claim(ctx, a, "r1", time.Minute); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	rm := &wildwarden.ReviewDecision{TenantID: a, ItemID: sc.Enqueue.ID, ReviewerID: "r1", Action: wildwarden.ActionRemove}
	if err := s.Decide(ctx, rm, nil); err != nil {
		t.Fatalf("remove: %v", err)
	}
	ap := &wildwarden.Appeal{TenantID: a, ListingID: "L-1", DecisionID: rm.ID, AppellantID: "seller-1", Note: "it is resin"}
	item := &wildwarden.QueueItem{ExcludeReviewer: "r1", Score: 0.7}
	if err := s.AddAppeal(ctx, ap, item); err != nil {
		t.Fatalf("AddAppeal: %v", err)
	}
	if ap.ItemID == "" || item.Kind != wildwarden.ItemAppeal {
		t.Fatalf("appeal item not set: %+v %+v", ap, item)
	}
	_, err := s.Claim(ctx, a, "r1", time.Minute)
	wantCode(t, "author claims the appeal", err, wildwarden.ENOTFOUND)
	got, err := s.Claim(ctx, a, "r2", time.Minute)
	if err != nil || got.ID != ap.ItemID {
		t.Fatalf("Claim(r2) = %+v, %v", got, err)
	}
	if err := s.Decide(ctx, &wildwarden.ReviewDecision{TenantID: a, ItemID: ap.ItemID, ReviewerID: "r2", Action: wildwarden.ActionAllow}, nil); err != nil {
		t.Fatalf("restore: %v", err)
	}
	st, err := s.ListingState(ctx, a, "L-1")
	if err != nil || st.Status != wildwarden.StatusRestored {
		t.Fatalf("status = %q, %v; want restored", st.Status, err)
	}
}

func testReputation(t *testing.T, s wildwarden.Store) {
	a := mustTenant(t, s, "shop-a")
	decide := func(listing, reporter, action string) {
		t.Helper()
		r := &wildwarden.Report{TenantID: a, ListingID: listing, Reason: "ivory", ReporterID: reporter}
		if err := s.AddReport(ctx, r, &wildwarden.QueueItem{Reports: 1, ReportWeight: 1}); err != nil {
			t.Fatalf("AddReport: %v", err)
		}
		if _, err := s.Claim(ctx, a, "r1", time.Minute); err != nil {
			t.Fatalf("Claim: %v", err)
		}
		if err := s.Decide(ctx, &wildwarden.ReviewDecision{TenantID: a, ItemID: r.ItemID, ReviewerID: "r1", Action: action}, nil); err != nil {
			t.Fatalf("Decide: %v", err)
		}
	}
	decide("L-1", "good", wildwarden.ActionRemove)
	decide("L-2", "good", wildwarden.ActionRemove)
	decide("L-3", "bad", wildwarden.ActionAllow)
	tests := []struct {
		reporter        string
		upheld, decided int
	}{{"good", 2, 2}, {"bad", 0, 1}, {"new", 0, 0}}
	for _, tt := range tests {
		up, dec, err := s.Reputation(ctx, a, tt.reporter)
		if err != nil || up != tt.upheld || dec != tt.decided {
			t.Errorf("Reputation(%s) = %d/%d, %v; want %d/%d", tt.reporter, up, dec, err, tt.upheld, tt.decided)
		}
	}
}

func testDeliveries(t *testing.T, s wildwarden.Store) {
	a := mustTenant(t, s, "shop-a")
	hook := &wildwarden.Webhook{TenantID: a, URL: "http://127.0.0.1:1/", Secret: "s", Events: []string{wildwarden.EventRemove}}
	if err := s.CreateWebhook(ctx, hook); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	sc := screening("L-1", "x", wildwarden.Block, 0.9)
	sc.Events = []wildwarden.Event{{Type: wildwarden.EventBlock, ListingID: "L-1"}} // not subscribed
	save(t, s, a, sc)
	if due, _ := s.DueDeliveries(ctx, time.Now().Add(time.Hour), 10); len(due) != 0 {
		t.Fatalf("unsubscribed event was queued: %+v", due)
	}
	sc2 := screening("L-2", "x", wildwarden.Review, 0.6)
	sc2.Events = []wildwarden.Event{{Type: wildwarden.EventRemove, ListingID: "L-2"}}
	save(t, s, a, sc2)
	due, err := s.DueDeliveries(ctx, time.Now().Add(time.Hour), 10)
	if err != nil || len(due) != 1 || due[0].URL != hook.URL || due[0].Secret != "s" {
		t.Fatalf("DueDeliveries = %+v, %v", due, err)
	}
	d := due[0]
	later := time.Now().Add(time.Hour)
	if err := s.RecordAttempt(ctx, &wildwarden.DeliveryAttempt{DeliveryID: d.ID, TenantID: a, Status: 500, Error: "boom", State: wildwarden.DeliveryPending, NextAt: later}); err != nil {
		t.Fatalf("RecordAttempt: %v", err)
	}
	if due, _ := s.DueDeliveries(ctx, time.Now(), 10); len(due) != 0 {
		t.Fatalf("retry is due before its time: %+v", due)
	}
	if err := s.RecordAttempt(ctx, &wildwarden.DeliveryAttempt{DeliveryID: d.ID, TenantID: a, Status: 500, Error: "boom", State: wildwarden.DeliveryDead, NextAt: later}); err != nil {
		t.Fatalf("RecordAttempt dead: %v", err)
	}
	wantCode(t, "attempt on a dead delivery", s.RecordAttempt(ctx, &wildwarden.DeliveryAttempt{DeliveryID: d.ID, TenantID: a, State: wildwarden.DeliveryDelivered}), wildwarden.ENOTFOUND)
	dead, err := s.Deliveries(ctx, a, wildwarden.DeliveryDead, 10)
	if err != nil || len(dead) != 1 || dead[0].Attempts != 2 || dead[0].LastStatus != 500 || dead[0].LastError != "boom" {
		t.Fatalf("dead letters = %+v, %v", dead, err)
	}
	if other, _ := s.Deliveries(ctx, "other-tenant", "", 10); len(other) != 0 {
		t.Fatalf("another tenant sees deliveries: %+v", other)
	}
}

func testConcurrentWrites(t *testing.T, s wildwarden.Store) {
	a := mustTenant(t, s, "shop-a")
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sc := screening(fmt.Sprintf("L-%d", i), "x", wildwarden.Allow, 0.01)
			res, err := s.SaveScreenings(ctx, a, []*wildwarden.Screening{sc})
			if err == nil {
				err = res[0]
			}
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent save: %v", err)
		}
	}
	for i := 0; i < n; i++ {
		if _, err := s.LatestScreening(ctx, a, fmt.Sprintf("L-%d", i)); err != nil {
			t.Fatalf("L-%d not stored: %v", i, err)
		}
	}
	if n, _, err := s.VerifyAudit(ctx); err != nil || n < 64 {
		t.Fatalf("VerifyAudit after concurrent writes = %d, %v", n, err)
	}
}

func testSampleAllowedAndStats(t *testing.T, s wildwarden.Store) {
	a := mustTenant(t, s, "shop-a")
	save(t, s, a,
		screening("ok-1", "a", wildwarden.Allow, 0.1),
		screening("ok-2", "b", wildwarden.Allow, 0.1),
		screening("bad", "c", wildwarden.Block, 0.9),
	)
	save(t, s, a, screening("ok-2", "b changed", wildwarden.Block, 0.9)) // no longer allowed
	ids, err := s.SampleAllowed(ctx, a, 10)
	if err != nil || len(ids) != 1 || ids[0] != "ok-1" {
		t.Fatalf("SampleAllowed = %v, %v; want [ok-1]", ids, err)
	}
	for _, typ := range []string{wildwarden.SearchImpression, wildwarden.SearchImpression, wildwarden.SearchClick} {
		if err := s.AddSearchEvent(ctx, &wildwarden.SearchEvent{TenantID: a, Type: typ, Lang: "en"}); err != nil {
			t.Fatalf("AddSearchEvent: %v", err)
		}
	}
	st, err := s.Stats(ctx, a)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Verdicts["allow"] != 2 || st.Verdicts["block"] != 2 || st.SearchEvents["impression"] != 2 || st.SearchEvents["click"] != 1 {
		t.Fatalf("Stats = %+v", st)
	}
}

func testAuditChain(t *testing.T, s wildwarden.Store) {
	a := mustTenant(t, s, "shop-a")
	save(t, s, a, screening("L-1", "x", wildwarden.Block, 0.9))
	n, head, err := s.VerifyAudit(ctx)
	if err != nil || n < 2 || head == "" {
		t.Fatalf("VerifyAudit = %d %q %v", n, head, err)
	}
	log, err := s.AuditLog(ctx, a, 0, 100)
	if err != nil || len(log) < 2 {
		t.Fatalf("AuditLog = %d entries, %v", len(log), err)
	}
	for i, e := range log {
		if e.Actor != "storetest" {
			t.Errorf("entry %d actor = %q, want storetest", e.Seq, e.Actor)
		}
		if i > 0 && e.PrevHash != log[i-1].Hash {
			t.Errorf("entry %d does not chain to %d", e.Seq, log[i-1].Seq)
		}
		if e.ComputeHash() != e.Hash {
			t.Errorf("entry %d hash mismatch", e.Seq)
		}
	}
}
