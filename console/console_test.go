package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wildwarden/wildwarden"
)

func TestSignInAndSignOut(t *testing.T) {
	h := newHarness(t, "shop-a")
	h.user("shop-a", "alice", wildwarden.RoleReviewer)
	h.user("shop-a", "pat", wildwarden.RolePlatform)
	b := h.browser()

	if r := b.get("/queue"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
		t.Fatalf("queue signed out = %d to %q, want a redirect to /login", r.status, r.location)
	}
	for _, tt := range []struct{ tenant, user, password string }{
		{"shop-a", "alice", "wrong password!!"},
		{"shop-a", "nobody", testPassword},
		{"shop-b", "alice", testPassword},
		{"shop-a", "pat", testPassword}, // a platform user may not sign in
	} {
		if r := b.signIn(tt.tenant, tt.user, tt.password); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Wrong tenant, user name or password") {
			t.Fatalf("sign in %s/%s = %d, want 401 with the same message for every cause", tt.tenant, tt.user, r.status)
		}
	}
	r := b.signIn("shop-a", "alice", testPassword)
	if r.status != http.StatusSeeOther || r.location != "/queue" {
		t.Fatalf("sign in = %d to %q", r.status, r.location)
	}
	var session *http.Cookie
	for _, c := range r.cookies {
		if c.Name == "ww_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Lax, not Secure on plain HTTP", session)
	}
	q := b.get("/queue")
	if q.status != http.StatusOK || !strings.Contains(q.body, "alice") {
		t.Fatalf("queue signed in = %d", q.status)
	}
	if r := b.post("/logout", url.Values{"csrf": {csrf(t, q.body)}}); r.status != http.StatusSeeOther || r.location != "/login" {
		t.Fatalf("sign out = %d to %q", r.status, r.location)
	}
	// The old cookie no longer works, even when sent again by hand.
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/queue", nil)
	req.AddCookie(&http.Cookie{Name: "ww_session", Value: session.Value})
	if r := h.browser().do(req); r.status != http.StatusSeeOther {
		t.Fatalf("queue with a signed-out cookie = %d, want a redirect to sign in", r.status)
	}
}

func TestLockout(t *testing.T) {
	h := newHarness(t, "shop-a")
	h.user("shop-a", "alice", wildwarden.RoleReviewer)
	b := h.browser()
	for i := 0; i < 5; i++ {
		if r := b.signIn("shop-a", "alice", "not the password"); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d", i+1, r.status)
		}
	}
	if r := b.signIn("shop-a", "alice", testPassword); r.status != http.StatusTooManyRequests {
		t.Fatalf("right password after 5 failures = %d, want 429 (locked)", r.status)
	}
	if r := h.browser().signIn("shop-a", "ALICE", testPassword); r.status != http.StatusTooManyRequests {
		t.Fatalf("lockout is per user name whatever the case: %d", r.status)
	}
	h.advance(16 * time.Minute)
	if r := b.signIn("shop-a", "alice", testPassword); r.status != http.StatusSeeOther {
		t.Fatalf("right password after the window = %d, want a sign-in", r.status)
	}
}

// TestLockoutHoldsForParallelAttempts: sign-ins sent at once cannot all
// pass the lockout before any of them counts. Of 20 wrong passwords sent
// together at most 5 reach the password check (401); the rest are refused
// unchecked (429), and so is the right password afterwards.
func TestLockoutHoldsForParallelAttempts(t *testing.T) {
	h := newHarness(t, "shop-a")
	h.user("shop-a", "alice", wildwarden.RoleReviewer)
	const n = 20
	browsers, forms := make([]*browser, n), make([]url.Values, n)
	for i := range n {
		browsers[i] = h.browser()
		token := csrf(t, browsers[i].get("/login").body)
		forms[i] = url.Values{"csrf": {token}, "tenant": {"shop-a"}, "user": {"alice"}, "password": {"not the password"}}
	}
	statuses, errs := make([]int, n), make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			resp, err := browsers[i].client.PostForm(browsers[i].base+"/login", forms[i])
			if err != nil {
				errs[i] = err
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	close(start)
	wg.Wait()
	checked := 0
	for i, status := range statuses {
		switch {
		case errs[i] != nil:
			t.Fatalf("sign-in %d: %v", i+1, errs[i])
		case status == http.StatusUnauthorized:
			checked++
		case status != http.StatusTooManyRequests:
			t.Fatalf("sign-in %d = %d, want 401 (checked) or 429 (refused unchecked)", i+1, status)
		}
	}
	if checked > 5 {
		t.Fatalf("%d of %d parallel sign-ins reached the password check, want at most 5", checked, n)
	}
	if r := h.browser().signIn("shop-a", "alice", testPassword); r.status != http.StatusTooManyRequests {
		t.Fatalf("right password after %d parallel failures = %d, want 429 (locked)", n, r.status)
	}
}

// burstStore is a store on which n more failed sign-ins of a user are
// stored just before a sign-in clears its failures, as an attacker's
// attempts sent during the sign-in's password check would be.
type burstStore struct {
	wildwarden.Store
	now func() time.Time
	n   int
}

func (s burstStore) ClearSignInFailures(ctx context.Context, tenant, user string, through int64) error {
	for range s.n {
		if _, err := s.Store.AddSignInFailure(ctx, tenant, user, s.now()); err != nil {
			return err
		}
	}
	return s.Store.ClearSignInFailures(ctx, tenant, user, through)
}

// TestSignInKeepsLaterFailures: a successful sign-in clears the failures up
// to its own attempt, not those of attempts counted while its password was
// checked, so a burst around a real sign-in still gets at most 5 tries.
func TestSignInKeepsLaterFailures(t *testing.T) {
	h := newHarness(t, "shop-a")
	h.user("shop-a", "alice", wildwarden.RoleReviewer)
	b := h.browser().via(h.replicaWith(burstStore{Store: h.store, now: h.now, n: 5}))
	if r := b.signIn("shop-a", "alice", testPassword); r.status != http.StatusSeeOther {
		t.Fatalf("sign-in = %d, want a sign-in", r.status)
	}
	if r := h.browser().signIn("shop-a", "alice", testPassword); r.status != http.StatusTooManyRequests {
		t.Fatalf("right password after 5 failures stored during a sign-in = %d, want 429 (the sign-in cleared only failures up to its own)", r.status)
	}
}

// TestLockoutCountsTenantNameAndID: sign-in takes a tenant's name or its
// ID, and failures with either add up to one lockout.
func TestLockoutCountsTenantNameAndID(t *testing.T) {
	h := newHarness(t, "shop-a")
	h.user("shop-a", "alice", wildwarden.RoleReviewer)
	id := h.tenants["shop-a"]
	b := h.browser()
	for i, tenant := range []string{"shop-a", id, "shop-a", id, "Shop-A"} {
		if r := b.signIn(tenant, "alice", "not the password"); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d (tenant %q) = %d", i+1, tenant, r.status)
		}
	}
	for _, tenant := range []string{"shop-a", id} {
		if r := b.signIn(tenant, "alice", testPassword); r.status != http.StatusTooManyRequests {
			t.Fatalf("right password with tenant %q after 5 failures by name and ID = %d, want 429 (locked)", tenant, r.status)
		}
	}
}

// TestLockoutHidesTenants: the lockout treats a tenant that does not
// exist as one that does, so its answers tell an attacker nothing: five
// failures lock the name in any case, and other spellings of it with it.
func TestLockoutHidesTenants(t *testing.T) {
	h := newHarness(t, "shop-a")
	h.user("shop-a", "alice", wildwarden.RoleReviewer)
	for _, tenant := range []string{"shop-a", "shop-z"} { // shop-z does not exist
		b := h.browser()
		for i := range 5 {
			if r := b.signIn(tenant, "alice", "not the password"); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Wrong tenant, user name or password") {
				t.Fatalf("%s: failure %d = %d, want 401 with the message of every failure", tenant, i+1, r.status)
			}
		}
		for _, spelling := range []string{tenant, strings.ToUpper(tenant)} {
			if r := b.signIn(spelling, "alice", testPassword); r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many failed sign-ins") {
				t.Fatalf("%s: sign-in as %q after 5 failures = %d, want 429 as for every tenant", tenant, spelling, r.status)
			}
		}
	}
}

func TestCSRFRequired(t *testing.T) {
	h := newHarness(t, "shop-a")
	h.user("shop-a", "alice", wildwarden.RoleReviewer)
	h.user("shop-a", "root", wildwarden.RoleAdmin)
	h.screen("shop-a", reviewListing("L-1", "S-1"))

	// The sign-in form itself: no token, or a token without its cookie.
	anon := h.browser()
	if r := anon.post("/login", url.Values{"tenant": {"shop-a"}, "user": {"alice"}, "password": {testPassword}}); r.status != http.StatusForbidden {
		t.Fatalf("sign-in without a CSRF token = %d, want 403", r.status)
	}

	b := h.browser()
	token := b.mustSignIn("shop-a", "alice")
	admin := h.browser()
	adminToken := admin.mustSignIn("shop-a", "root")
	tests := []struct {
		name string
		b    *browser
		path string
		form url.Values
	}{
		{"claim", b, "/queue/claim", url.Values{}},
		{"decision", b, "/items/x/decision", url.Values{"action": {"remove"}, "reason_remove": {"wildlife-sale"}}},
		{"sign out", b, "/logout", url.Values{}},
		{"kb addition", admin, "/kb", url.Values{"kind": {"term"}, "text": {"zorbleflax"}, "lang": {"en"}, "category": {"ivory"}, "note": {"n"}}},
	}
	for _, tt := range tests {
		for _, bad := range []string{"", "forged"} {
			form := url.Values{}
			for k, v := range tt.form {
				form[k] = v
			}
			if bad != "" {
				form.Set("csrf", bad)
			}
			if r := tt.b.post(tt.path, form); r.status != http.StatusForbidden {
				t.Fatalf("%s with CSRF token %q = %d, want 403", tt.name, bad, r.status)
			}
		}
	}
	// Nothing happened: the item is unclaimed, the KB unchanged, both
	// sessions alive; with the token the claim works.
	if adds, _ := h.store.KBAdditions(context.Background()); len(adds) != 0 {
		t.Fatalf("a refused form added to the knowledge base: %+v", adds)
	}
	if r := admin.get("/kb"); r.status != http.StatusOK || csrf(t, r.body) != adminToken {
		t.Fatalf("admin session after refused posts: %d", r.status)
	}
	if r := b.post("/queue/claim", url.Values{"csrf": {token}}); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/items/") {
		t.Fatalf("claim with the token = %d to %q", r.status, r.location)
	}
}

var itemLink = regexp.MustCompile(`href="/items/(item_[0-9a-f]+)"`)

func TestTenantIsolation(t *testing.T) {
	h := newHarness(t, "shop-a", "shop-b")
	h.user("shop-a", "alice", wildwarden.RoleReviewer)
	h.user("shop-b", "bob", wildwarden.RoleReviewer)
	h.screen("shop-a", reviewListing("L-A", "S-1"))

	a := h.browser()
	a.mustSignIn("shop-a", "alice")
	m := itemLink.FindStringSubmatch(a.get("/queue").body)
	if m == nil {
		t.Fatal("alice's queue lists no item")
	}
	itemA := m[1]
	if r := a.get("/items/" + itemA); r.status != http.StatusOK || !strings.Contains(r.body, "netsuke") {
		t.Fatalf("alice opens her tenant's item: %d", r.status)
	}

	b := h.browser()
	tokenB := b.mustSignIn("shop-b", "bob")
	if r := b.get("/queue"); strings.Contains(r.body, itemA) || strings.Contains(r.body, "netsuke") {
		t.Fatal("bob's queue shows shop-a's item")
	}
	r := b.get("/items/" + itemA)
	if r.status != http.StatusNotFound || strings.Contains(r.body, "netsuke") {
		t.Fatalf("bob opens shop-a's item: %d, want 404 without its content", r.status)
	}
	if r := b.post("/items/"+itemA+"/decision", url.Values{"csrf": {tokenB}, "action": {"remove"}, "reason_remove": {"wildlife-sale"}}); r.status != http.StatusNotFound {
		t.Fatalf("bob decides shop-a's item: %d, want 404", r.status)
	}
	if r := b.post("/queue/claim", url.Values{"csrf": {tokenB}}); r.location != "/queue?empty=1" {
		t.Fatalf("bob claims from an empty queue: to %q", r.location)
	}
	st, err := h.store.ListingState(context.Background(), h.tenants["shop-a"], "L-A")
	if err != nil || len(st.Decisions) != 0 {
		t.Fatalf("shop-a's listing after bob's attempts: %+v, %v", st, err)
	}
}

func TestClaimDecideAndDashboard(t *testing.T) {
	h := newHarness(t, "shop-a")
	h.user("shop-a", "alice", wildwarden.RoleReviewer)
	h.screen("shop-a", reviewListing("L-1", "S-1"), reviewListing("L-2", "S-1"))
	b := h.browser()
	token := b.mustSignIn("shop-a", "alice")

	dash := b.get("/dashboard")
	if dash.status != http.StatusOK || removedTotal(t, dash.body) != "0" {
		t.Fatalf("dashboard before = %d, removed %q", dash.status, removedTotal(t, dash.body))
	}
	r := b.post("/queue/claim", url.Values{"csrf": {token}})
	item := b.get(r.location)
	if item.status != http.StatusOK {
		t.Fatalf("item page = %d", item.status)
	}
	if !titleEvidence.MatchString(item.body) {
		t.Errorf("the title does not mark the evidence on ivory: %s", regexp.MustCompile(`<mark[^>]*>[^<]*</mark>`).FindAllString(item.body, -1))
	}
	for _, want := range []string{"Claimed by you", "Loxodonta africana", "CITES Appendix", "context.contact"} {
		if !strings.Contains(item.body, want) {
			t.Errorf("item page lacks %q", want)
		}
	}
	if strings.Contains(item.body, "None stored.") {
		t.Error("the seller's other listing (L-2 by S-1) is not shown")
	}
	id := strings.TrimPrefix(r.location, "/items/")
	if r := b.post("/items/"+id+"/decision", url.Values{"csrf": {token}, "action": {"remove"}, "reason_remove": {"not-a-code"}}); !strings.Contains(r.location, "error=") {
		t.Fatalf("a decision with an unknown reason = %d to %q, want back with an error", r.status, r.location)
	}
	r = b.post("/items/"+id+"/decision", url.Values{"csrf": {token}, "action": {"remove"}, "reason_remove": {"wildlife-sale"}, "note": {"netsuke of elephant ivory"}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/queue?done=remove") {
		t.Fatalf("remove = %d to %q", r.status, r.location)
	}
	if got := removedTotal(t, b.get("/dashboard").body); got != "1" {
		t.Fatalf("dashboard removed after a removal = %q, want 1", got)
	}
	// The API's effects ran: a statement of reasons exists.
	if st, _ := h.store.Stats(context.Background(), h.tenants["shop-a"]); st.Statements != 1 {
		t.Fatalf("statements after a removal = %d, want 1", st.Statements)
	}
	// Deciding again (the item is closed) is refused with a message.
	if r := b.post("/items/"+id+"/decision", url.Values{"csrf": {token}, "action": {"allow"}, "reason_allow": {"imitation"}}); !strings.Contains(r.location, "error=") {
		t.Fatalf("second decision = %d to %q, want an error", r.status, r.location)
	}
}

// titleEvidence finds a highlighted span holding "ivory" in the title.
var titleEvidence = regexp.MustCompile(`<h1 class="evidence" id="title">[^\n]*<mark title="[^"]+">[^<]*ivory[^<]*</mark>`)

var removedRE = regexp.MustCompile(`id="removed-total">(\d+)<`)

func removedTotal(t *testing.T, page string) string {
	t.Helper()
	m := removedRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no removed total on the dashboard")
	}
	return m[1]
}

func TestAppealHiddenFromDecider(t *testing.T) {
	h := newHarness(t, "shop-a")
	alice := h.user("shop-a", "alice", wildwarden.RoleReviewer)
	h.user("shop-a", "bob", wildwarden.RoleReviewer)
	h.screen("shop-a", reviewListing("L-1", "S-1"))
	a := h.browser()
	token := a.mustSignIn("shop-a", "alice")
	id := strings.TrimPrefix(a.post("/queue/claim", url.Values{"csrf": {token}}).location, "/items/")
	a.post("/items/"+id+"/decision", url.Values{"csrf": {token}, "action": {"remove"}, "reason_remove": {"wildlife-sale"}})
	appeal := &wildwarden.QueueItem{}
	if err := h.store.AddAppeal(context.Background(), &wildwarden.Appeal{TenantID: h.tenants["shop-a"], ListingID: "L-1"}, func() *wildwarden.QueueItem {
		appeal.ExcludeReviewer = alice.ID
		return appeal
	}()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(a.get("/appeals").body, appeal.ID) {
		t.Fatal("alice sees the appeal of her own removal")
	}
	if r := a.get("/items/" + appeal.ID); !strings.Contains(r.body, "another reviewer decides it") || strings.Contains(r.body, `id="do-allow"`) {
		t.Fatal("alice's page of her own appeal offers a decision")
	}
	b := h.browser()
	b.mustSignIn("shop-a", "bob")
	if !strings.Contains(b.get("/appeals").body, appeal.ID) {
		t.Fatal("bob does not see the appeal")
	}
}

func TestKnowledgeBaseAddition(t *testing.T) {
	h := newHarness(t, "shop-a")
	h.user("shop-a", "alice", wildwarden.RoleReviewer)
	h.user("shop-a", "root", wildwarden.RoleAdmin)
	listing := wildwarden.Listing{ID: "L-9", Lang: "en", Title: "zorbleflax bangle, DM me"}
	before := h.engine.ScreenListing(&listing)

	rev := h.browser()
	revToken := rev.mustSignIn("shop-a", "alice")
	if r := rev.get("/kb?q=Loxodonta"); r.status != http.StatusOK || !strings.Contains(r.body, "African elephant") || strings.Contains(r.body, `action="/kb" class="stack`) {
		t.Fatalf("reviewer's KB search: %d, want results and no add form", r.status)
	}
	form := url.Values{"kind": {"term"}, "text": {"zorbleflax"}, "lang": {"en"}, "category": {"ivory"}, "note": {"code word seen in a seized shop"}}
	form.Set("csrf", revToken)
	if r := rev.post("/kb", form); r.status != http.StatusForbidden {
		t.Fatalf("reviewer adds to the KB: %d, want 403", r.status)
	}

	admin := h.browser()
	form.Set("csrf", admin.mustSignIn("shop-a", "root"))
	bad := url.Values{"csrf": form["csrf"], "kind": {"term"}, "text": {"x"}, "lang": {"en"}, "category": {"unicorn"}, "note": {"n"}}
	if r := admin.post("/kb", bad); r.status != http.StatusBadRequest {
		t.Fatalf("addition with an unknown category = %d, want 400", r.status)
	}
	if r := admin.post("/kb", form); r.status != http.StatusSeeOther {
		t.Fatalf("admin adds a code word = %d", r.status)
	}
	after := h.engine.ScreenListing(&listing)
	if after.Score <= before.Score || len(after.Categories) == 0 {
		t.Fatalf("after the addition: score %.2f (before %.2f), categories %v", after.Score, before.Score, after.Categories)
	}
	log, err := h.store.AuditLog(context.Background(), h.tenants["shop-a"], 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	audited := false
	for _, e := range log {
		audited = audited || e.Action == "kb.add" && strings.HasPrefix(e.Actor, "user:") && strings.Contains(e.Data, "zorbleflax")
	}
	if !audited {
		t.Fatal("no kb.add audit entry naming the admin")
	}
	if r := admin.get("/kb?q=zorbleflax"); !strings.Contains(r.body, "seized shop") {
		t.Fatal("the addition is not listed on the KB page")
	}
	// Only this replica's engine took it at once: the page says when the
	// others and the workers do.
	if r := admin.get("/kb?added=1&q=zorbleflax"); !strings.Contains(r.body, "on this replica use it now; other replicas and the stream workers pick it up within their --sync-interval") {
		t.Errorf("the page after an addition does not say when other replicas and workers use it:\n%s", r.body)
	}
}

// additionRow returns the row of the KB page's additions table that shows
// text, or "".
func additionRow(page, text string) string {
	return regexp.MustCompile(`(?s)<tr><td>[a-z]+</td><td><code>` + regexp.QuoteMeta(text) + `</code>.*?</tr>`).FindString(page)
}

// TestKnowledgeBaseAdditionSkipped: of the stored additions A, B and C,
// where this replica's knowledge base refuses B (a category it lacks,
// stored by a replica with another --kb), A and C apply and the page
// shows B skipped with why; one stored since is shown as not yet picked
// up. An addition the engine refuses, even one only its detector refuses,
// is refused before it is stored, with the reason.
func TestKnowledgeBaseAdditionSkipped(t *testing.T) {
	h := newHarness(t, "shop-a")
	h.user("shop-a", "root", wildwarden.RoleAdmin)
	ctx := wildwarden.WithActor(context.Background(), "test")
	stored := func(a *wildwarden.KBAddition) {
		t.Helper()
		a.TenantID, a.Lang, a.Note, a.CreatedBy = h.tenants["shop-a"], "en", "seen elsewhere", "u-1"
		if err := h.store.AddKBAddition(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	stored(&wildwarden.KBAddition{Kind: wildwarden.KBAddTerm, Text: "zorbleflax", Category: "ivory"})
	stored(&wildwarden.KBAddition{Kind: wildwarden.KBAddTerm, Text: "quibbleplunk", Category: "unicorn-horn"})
	admin := h.browser()
	token := admin.mustSignIn("shop-a", "root")
	c := url.Values{"csrf": {token}, "kind": {"term"}, "text": {"snorkelwump"}, "lang": {"en"}, "category": {"ivory"}, "note": {"n"}}
	if r := admin.post("/kb", c); r.status != http.StatusSeeOther {
		t.Fatalf("admin adds C after the refused B = %d\n%s", r.status, r.body)
	}
	stored(&wildwarden.KBAddition{Kind: wildwarden.KBAddTerm, Text: "wibblequark", Category: "ivory"})

	page := admin.get("/kb").body
	for text, want := range map[string]string{
		"zorbleflax":   `<span class="tag d-allow">applied</span>`,
		"quibbleplunk": `<span class="tag warn">skipped</span> <small>category: &#34;unicorn-horn&#34; is not a category of the knowledge base</small>`,
		"snorkelwump":  `<span class="tag d-allow">applied</span>`,
		"wibblequark":  `<span class="tag">not yet picked up</span>`,
	} {
		if row := additionRow(page, text); !strings.Contains(row, want) {
			t.Errorf("the row of %s is %q, want it to hold %s", text, row, want)
		}
	}
	if !strings.Contains(page, "1 skipped on this replica") {
		t.Error("the additions' heading does not count the one skipped")
	}

	for _, tt := range []struct {
		form url.Values
		why  string
	}{
		{url.Values{"kind": {"term"}, "text": {"x"}, "lang": {"en"}, "category": {"unicorn-horn"}, "note": {"n"}}, "category: &#34;unicorn-horn&#34; is not a category"},
		{url.Values{"kind": {"cue"}, "text": {`(ivory`}, "regex": {"on"}, "lang": {"en"}, "cue": {"price"}, "note": {"n"}}, "text: not a valid regular expression"},
	} {
		tt.form.Set("csrf", token)
		if r := admin.post("/kb", tt.form); r.status != http.StatusBadRequest || !strings.Contains(r.body, tt.why) {
			t.Errorf("adding %s = %d, want 400 saying %q\n%s", tt.form.Get("text"), r.status, tt.why, r.body)
		}
	}
	if adds, err := h.store.KBAdditions(ctx); err != nil || len(adds) != 4 {
		t.Errorf("%d additions stored (%v), want the 4 before: refused ones are not stored", len(adds), err)
	}
}
