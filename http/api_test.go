package http_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/wildwarden/wildwarden"
	wwhttp "github.com/wildwarden/wildwarden/http"
)

func TestScreenIdempotentAndHistory(t *testing.T) {
	e := newEnv(t)
	l := wildwarden.Listing{ID: "L-1", Title: "carved REVIEWME bangle", Seller: wildwarden.Seller{ID: "S-1"}}
	v := e.screen(e.platform, l)
	if v.Decision != wildwarden.Review || v.ID != "L-1" {
		t.Fatalf("verdict = %+v", v)
	}
	again := e.screen(e.platform, l)
	if again.Decision != v.Decision || again.Score != v.Score {
		t.Fatalf("repeat answered %+v, want the stored verdict %+v", again, v)
	}
	// A listing with images is answered from the store without screening.
	withImages := wildwarden.Listing{ID: "L-img", Title: "teapot", Images: []string{"https://example.org/1.jpg"}}
	e.screen(e.platform, withImages)
	calls := e.screener.calls.Load()
	e.screen(e.platform, withImages)
	if e.screener.calls.Load() != calls {
		t.Fatalf("a repeated listing with images was screened again")
	}
	var q struct{ Items []wildwarden.QueueItem }
	e.must(200, "GET", "/v1/queue", e.rev1, nil).json(t, &q)
	if len(q.Items) != 1 || q.Items[0].Kind != wildwarden.ItemVerdict || q.Items[0].CITES != "I" {
		t.Fatalf("queue = %+v, want one verdict item with CITES I", q.Items)
	}
	l.Title = "carved bangle, resin"
	if v := e.screen(e.platform, l); v.Decision != wildwarden.Allow {
		t.Fatalf("changed listing verdict = %s", v.Decision)
	}
	if e.screener.calls.Load() != calls+1 {
		t.Fatalf("changed content not screened again: calls = %d, want %d", e.screener.calls.Load(), calls+1)
	}
	var st wildwarden.ListingState
	e.must(200, "GET", "/v1/listings/L-1", e.platform, nil).json(t, &st)
	if len(st.History) != 2 || st.Status != wildwarden.StatusAllowed || st.Latest.Verdict.Decision != wildwarden.Allow {
		t.Fatalf("listing state = status %s, %d versions", st.Status, len(st.History))
	}

	var batch struct{ Verdicts []wildwarden.Verdict }
	e.must(200, "POST", "/v1/screen/batch", e.platform, map[string]any{"listings": []wildwarden.Listing{
		{ID: "B-1", Title: "BLOCKME tusk"}, {ID: "B-2", Title: "teapot"}, l,
	}}).json(t, &batch)
	got := []wildwarden.Decision{}
	for _, v := range batch.Verdicts {
		got = append(got, v.Decision)
	}
	if fmt.Sprint(got) != "[block allow allow]" || batch.Verdicts[0].ID != "B-1" {
		t.Fatalf("batch decisions = %v", got)
	}
}

// TestConcurrentDuplicates sends the same listing from many goroutines:
// one verdict row and one queue item result.
func TestConcurrentDuplicates(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.do("POST", "/v1/screen", e.platform, wildwarden.Listing{ID: "L-dup", Title: "REVIEWME"})
		}()
	}
	wg.Wait()
	var st wildwarden.ListingState
	e.must(200, "GET", "/v1/listings/L-dup", e.platform, nil).json(t, &st)
	var q struct{ Items []wildwarden.QueueItem }
	e.must(200, "GET", "/v1/queue", e.rev1, nil).json(t, &q)
	if len(st.History) != 1 || len(q.Items) != 1 {
		t.Fatalf("concurrent duplicates stored %d versions and %d queue items; want 1 and 1", len(st.History), len(q.Items))
	}
}

// TestBadInput checks that each kind of bad request gets its status and a
// problem document naming the field.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	big := `{"id":"L-1","title":"` + strings.Repeat("a", 70<<10) + `"}`
	manyListings := make([]wildwarden.Listing, wwhttp.MaxBatch+1)
	for i := range manyListings {
		manyListings[i] = wildwarden.Listing{ID: fmt.Sprint(i), Title: "x"}
	}
	tooMany, _ := json.Marshal(map[string]any{"listings": manyListings})
	tests := []struct {
		name        string
		method      string
		path        string
		key         string
		body        any
		contentType string
		status      int
		field       string
	}{
		{"body too large", "POST", "/v1/screen", "platform", big, "", 413, ""},
		{"invalid UTF-8 title", "POST", "/v1/screen", "platform", "{\"id\":\"L-1\",\"title\":\"bad \xff\xfe\"}", "", 400, "title"},
		{"invalid UTF-8 nested", "POST", "/v1/screen", "platform", "{\"id\":\"L-1\",\"title\":\"ok\",\"seller\":{\"name\":\"\xc3\x28\"}}", "", 400, "seller.name"},
		{"invalid UTF-8 in batch", "POST", "/v1/screen/batch", "platform", "{\"listings\":[{\"id\":\"a\",\"title\":\"x\"},{\"id\":\"b\",\"description\":\"\xff\"}]}", "", 400, "listings[1].description"},
		{"invalid UTF-8 key", "POST", "/v1/screen", "platform", "{\"id\":\"L-1\",\"ti\xfftle\":\"x\"}", "", 400, "ti\ufffdtle"},
		{"unknown content type", "POST", "/v1/screen", "platform", `{"id":"L-1","title":"x"}`, "text/plain", 415, "Content-Type"},
		{"form content type", "POST", "/v1/screen", "platform", `{"id":"L-1","title":"x"}`, "application/x-www-form-urlencoded", 415, "Content-Type"},
		{"missing id", "POST", "/v1/screen", "platform", `{"title":"x"}`, "", 400, "id"},
		{"nothing to judge", "POST", "/v1/screen", "platform", `{"id":"L-1"}`, "", 400, "title"},
		{"wrong type", "POST", "/v1/screen", "platform", `{"id":5,"title":"x"}`, "", 400, "id"},
		{"not JSON", "POST", "/v1/screen", "platform", `{"id":`, "", 400, ""},
		{"empty body", "POST", "/v1/screen", "platform", ``, "", 400, ""},
		{"batch over the limit", "POST", "/v1/screen/batch", "platform", tooMany, "", 413, "listings"},
		{"empty batch", "POST", "/v1/screen/batch", "platform", `{"listings":[]}`, "", 400, "listings"},
		{"batch item without id", "POST", "/v1/screen/batch", "platform", `{"listings":[{"id":"a","title":"x"},{"title":"y"}]}`, "", 400, "listings[1].id"},
		{"no key", "POST", "/v1/screen", "", `{"id":"L-1","title":"x"}`, "", 401, "Authorization"},
		{"unknown key", "POST", "/v1/screen", "ww_nope", `{"id":"L-1","title":"x"}`, "", 401, "Authorization"},
		{"reviewer may not screen", "POST", "/v1/screen", "rev1", `{"id":"L-1","title":"x"}`, "", 403, ""},
		{"platform may not review", "GET", "/v1/queue", "platform", nil, "", 403, ""},
		{"platform may not add webhooks", "POST", "/v1/webhooks", "platform", `{"url":"http://127.0.0.1/"}`, "", 403, ""},
		{"bad decision action", "POST", "/v1/queue/x/decision", "rev1", `{"action":"delete","reasons":["r"]}`, "", 400, "action"},
		{"decision without reasons", "POST", "/v1/queue/x/decision", "rev1", `{"action":"remove"}`, "", 400, "reasons"},
		{"report without listing", "POST", "/v1/reports", "platform", `{"reason":"ivory"}`, "", 400, "listing_id"},
		{"report without reason", "POST", "/v1/reports", "platform", `{"listing_id":"L-1"}`, "", 400, "reason"},
		{"appeal without listing", "POST", "/v1/appeals", "platform", `{"note":"x"}`, "", 400, "listing_id"},
		{"appeal of nothing", "POST", "/v1/appeals", "platform", `{"listing_id":"never"}`, "", 404, "listing_id"},
		{"search without query", "POST", "/v1/search-check", "platform", `{"lang":"en"}`, "", 400, "query"},
		{"bad search event", "POST", "/v1/search-check/events", "platform", `{"type":"hover"}`, "", 400, "type"},
		{"bad webhook url", "POST", "/v1/webhooks", "admin", `{"url":"ftp://x"}`, "", 400, "url"},
		{"bad webhook event", "POST", "/v1/webhooks", "admin", `{"url":"http://127.0.0.1/","events":["explode"]}`, "", 400, "events[0]"},
		{"bad since", "GET", "/v1/statements?since=yesterday", "platform", nil, "", 400, "since"},
		{"bad limit", "GET", "/v1/queue?limit=0", "rev1", nil, "", 400, "limit"},
		{"bad audit cursor", "GET", "/v1/audit?after=-1", "admin", nil, "", 400, "after"},
		{"unknown listing", "GET", "/v1/listings/none", "platform", nil, "", 404, ""},
		{"unknown route", "GET", "/v1/nothing", "platform", nil, "", 404, ""},
		{"audit sample too big", "POST", "/v1/queue/audit-sample", "admin", `{"n":100000}`, "", 400, "n"},
	}
	keys := map[string]string{"platform": e.platform, "admin": e.admin, "rev1": e.rev1, "": "", "ww_nope": "ww_nope"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.contentType != "" {
				headers = []string{"Content-Type", tt.contentType}
			}
			r := e.do(tt.method, tt.path, keys[tt.key], tt.body, headers...)
			if r.status != tt.status {
				t.Fatalf("status = %d %s; want %d", r.status, r.body, tt.status)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type = %q, want application/problem+json", ct)
			}
			var p wwhttp.Problem
			r.json(t, &p)
			if p.Status != tt.status || p.Type == "" || p.Title == "" || p.Detail == "" || p.Code == "" {
				t.Fatalf("problem = %+v", p)
			}
			if tt.field != "" && p.Field != tt.field {
				t.Fatalf("problem field = %q, want %q (%s)", p.Field, tt.field, p.Detail)
			}
		})
	}
}

// TestTenantIsolation has tenant B try to read and act on tenant A's
// listing, queue, reports, statements and counts.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	_, platformB, adminB, revB, _ := e.newTenant("shop-b")
	e.screen(e.platform, wildwarden.Listing{ID: "L-1", Title: "BLOCKME"})
	e.screen(e.platform, wildwarden.Listing{ID: "L-2", Title: "REVIEWME"})
	e.must(202, "POST", "/v1/reports", e.platform, map[string]string{"listing_id": "L-2", "reason": "pangolin", "reporter_id": "u1"})
	var q struct{ Items []wildwarden.QueueItem }
	e.must(200, "GET", "/v1/queue", e.rev1, nil).json(t, &q)
	if len(q.Items) != 2 {
		t.Fatalf("A's queue = %d items, want 2", len(q.Items))
	}
	var stmts []wildwarden.Statement
	for _, line := range strings.Split(strings.TrimSpace(string(e.must(200, "GET", "/v1/statements", e.platform, nil).body)), "\n") {
		var st wildwarden.Statement
		if err := json.Unmarshal([]byte(line), &st); err != nil {
			t.Fatalf("statement line %q: %v", line, err)
		}
		stmts = append(stmts, st)
	}
	if len(stmts) != 1 {
		t.Fatalf("A's statements = %d, want 1", len(stmts))
	}

	e.must(404, "GET", "/v1/listings/L-1", platformB, nil)
	e.must(404, "GET", "/v1/listings/L-2", revB, nil)
	e.must(404, "GET", "/v1/statements/"+stmts[0].ID, platformB, nil)
	e.must(404, "POST", "/v1/queue/"+q.Items[0].ID+"/decision", revB, map[string]any{"action": "remove", "reasons": []string{"x"}})
	e.must(404, "POST", "/v1/queue/claim", revB, nil)
	var qb struct{ Items []wildwarden.QueueItem }
	e.must(200, "GET", "/v1/queue", revB, nil).json(t, &qb)
	if len(qb.Items) != 0 {
		t.Fatalf("B's queue shows %d items of A", len(qb.Items))
	}
	if body := strings.TrimSpace(string(e.must(200, "GET", "/v1/statements", platformB, nil).body)); body != "" {
		t.Fatalf("B's statements export holds A's: %s", body)
	}
	var statsB wildwarden.Stats
	e.must(200, "GET", "/v1/stats", platformB, nil).json(t, &statsB)
	if len(statsB.Verdicts) != 0 || statsB.Reports != 0 || statsB.OpenItems != 0 || statsB.Statements != 0 {
		t.Fatalf("B's stats count A's data: %+v", statsB)
	}
	var auditB struct{ Entries []wildwarden.AuditEntry }
	e.must(200, "GET", "/v1/audit", adminB, nil).json(t, &auditB)
	for _, en := range auditB.Entries {
		if en.Subject == "L-1" || en.Subject == "L-2" {
			t.Fatalf("B's audit log shows A's entry %+v", en)
		}
	}
	// B reporting A's listing ID only creates B's own item.
	e.must(202, "POST", "/v1/reports", platformB, map[string]string{"listing_id": "L-2", "reason": "pangolin"})
	e.must(200, "GET", "/v1/queue", e.rev1, nil).json(t, &q)
	if len(q.Items) != 2 || q.Items[0].Reports+q.Items[1].Reports != 1 {
		t.Fatalf("B's report changed A's queue: %+v", q.Items)
	}
	var statsA wildwarden.Stats
	e.must(200, "GET", "/v1/stats", e.platform, nil).json(t, &statsA)
	if statsA.Reports != 1 || statsA.Verdicts["block"] != 1 {
		t.Fatalf("A's stats = %+v", statsA)
	}
}

// hookRecorder is a webhook endpoint that checks signatures.
type hookRecorder struct {
	mu     sync.Mutex
	secret string
	events []wildwarden.Event
	bad    int
	fail   bool
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if wwhttp.VerifySignature(h.secret, body, r.Header.Get(wwhttp.HeaderSignature), time.Now(), 0) != nil || r.Header.Get(wwhttp.HeaderTimestamp) == "" {
		h.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev wildwarden.Event
	_ = json.Unmarshal(body, &ev)
	h.events = append(h.events, ev)
}

func (h *hookRecorder) types() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, e := range h.events {
		out = append(out, e.Type+":"+e.ListingID)
	}
	return out
}

func (e *env) registerHook(h *hookRecorder) {
	e.t.Helper()
	srv := httptest.NewServer(h)
	e.t.Cleanup(srv.Close)
	var resp struct{ Secret string }
	e.must(201, "POST", "/v1/webhooks", e.admin, map[string]any{"url": srv.URL, "events": []string{"block", "remove", "restore"}}).json(e.t, &resp)
	h.secret = resp.Secret
}

// TestReviewWorkflow walks screen → claim → remove → statement → appeal →
// other reviewer restores, with webhooks delivered and signed.
func TestReviewWorkflow(t *testing.T) {
	e := newEnv(t)
	hook := &hookRecorder{}
	e.registerHook(hook)
	e.screen(e.platform, wildwarden.Listing{ID: "L-1", Title: "REVIEWME scales", Lang: "en", Images: []string{"https://example.org/1.jpg"}})

	var claim struct {
		Item    wildwarden.QueueItem
		Listing wildwarden.ListingState
	}
	e.must(200, "POST", "/v1/queue/claim", e.rev1, nil).json(t, &claim)
	if claim.Item.ListingID != "L-1" || claim.Listing.Latest == nil {
		t.Fatalf("claim = %+v", claim)
	}
	e.must(409, "POST", "/v1/queue/"+claim.Item.ID+"/decision", e.rev2, map[string]any{"action": "remove", "reasons": []string{"pangolin"}})
	var decided struct {
		Decision    wildwarden.ReviewDecision
		StatementID string `json:"statement_id"`
	}
	e.must(200, "POST", "/v1/queue/"+claim.Item.ID+"/decision", e.rev1, map[string]any{"action": "remove", "reasons": []string{"pangolin-scales"}, "note": "sale of scales"}).json(t, &decided)
	if decided.StatementID == "" {
		t.Fatalf("removal gave no statement: %+v", decided)
	}
	var st wildwarden.Statement
	e.must(200, "GET", "/v1/statements/"+decided.StatementID, e.platform, nil).json(t, &st)
	checks := map[string]bool{
		"category":            st.Category == "STATEMENT_CATEGORY_ANIMAL_WELFARE",
		"keyword":             len(st.CategorySpecification) == 1 && st.CategorySpecification[0] == "KEYWORD_UNLAWFUL_SALE_ANIMALS",
		"ground":              st.DecisionGround == "DECISION_GROUND_ILLEGAL_CONTENT",
		"visibility":          len(st.DecisionVisibility) == 1 && st.DecisionVisibility[0] == "DECISION_VISIBILITY_CONTENT_REMOVED",
		"automated decision":  st.AutomatedDecision == "AUTOMATED_DECISION_NOT_AUTOMATED",
		"automated detection": st.AutomatedDetection == "Yes",
		"source":              st.SourceType == "SOURCE_VOLUNTARY",
		"content type":        strings.Join(st.ContentType, ",") == "CONTENT_TYPE_PRODUCT,CONTENT_TYPE_IMAGE",
		"territorial scope":   len(st.TerritorialScope) == 30,
		"explanation":         strings.Contains(st.IllegalContentExplanation, "Chinese pangolin"),
		"facts":               strings.Contains(st.DecisionFacts, "pangolin-scales") && strings.Contains(st.DecisionFacts, "sale of scales"),
		"dates":               st.ApplicationDate == time.Now().UTC().Format("2006-01-02") && st.ContentDate != "",
		"language":            st.ContentLanguage == "EN",
		"puid":                st.PUID != "",
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("statement %s is wrong: %+v", name, st)
		}
	}

	var appeal struct{ Appeal wildwarden.Appeal }
	e.must(202, "POST", "/v1/appeals", e.platform, map[string]string{"listing_id": "L-1", "appellant_id": "S-1", "note": "it is resin"}).json(t, &appeal)
	if appeal.Appeal.DecisionID != decided.Decision.ID {
		t.Fatalf("appeal contests %q, want %q", appeal.Appeal.DecisionID, decided.Decision.ID)
	}
	e.must(404, "POST", "/v1/queue/claim", e.rev1, nil) // the remover may not decide the appeal
	e.must(200, "POST", "/v1/queue/claim", e.rev2, nil).json(t, &claim)
	if claim.Item.Kind != wildwarden.ItemAppeal {
		t.Fatalf("rev2 claimed %+v, want the appeal", claim.Item)
	}
	e.must(200, "POST", "/v1/queue/"+claim.Item.ID+"/decision", e.rev2, map[string]any{"action": "allow", "reasons": []string{"not-wildlife"}})
	var ls wildwarden.ListingState
	e.must(200, "GET", "/v1/listings/L-1", e.platform, nil).json(t, &ls)
	if ls.Status != wildwarden.StatusRestored || len(ls.Decisions) != 2 {
		t.Fatalf("listing status = %s with %d decisions; want restored with 2", ls.Status, len(ls.Decisions))
	}

	e.screen(e.platform, wildwarden.Listing{ID: "L-2", Title: "BLOCKME tusk"})
	if err := e.server.NewDispatcher().RunOnce(context.Background()); err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	got := strings.Join(hook.types(), " ")
	if got != "remove:L-1 restore:L-1 block:L-2" || hook.bad != 0 {
		t.Fatalf("webhook events = %q (bad signatures %d)", got, hook.bad)
	}
	var dl struct{ Deliveries []wildwarden.Delivery }
	e.must(200, "GET", "/v1/webhooks/deliveries?state=delivered", e.admin, nil).json(t, &dl)
	if len(dl.Deliveries) != 3 {
		t.Fatalf("delivered = %d, want 3", len(dl.Deliveries))
	}
}

// TestWebhookRetryDeadLetterAndRestart fails deliveries until they are
// dead, and checks that a pending delivery survives a restart.
func TestWebhookRetryDeadLetterAndRestart(t *testing.T) {
	path := t.TempDir() + "/ww.db"
	e := newEnvAt(t, path)
	hook := &hookRecorder{fail: true}
	e.registerHook(hook)
	e.screen(e.platform, wildwarden.Listing{ID: "L-1", Title: "BLOCKME"})
	d := e.server.NewDispatcher()
	d.BaseBackoff, d.MaxAttempts = time.Millisecond, 3
	ctx := context.Background()
	deadline := time.Now().Add(5 * time.Second)
	var dl struct{ Deliveries []wildwarden.Delivery }
	for time.Now().Before(deadline) {
		if err := d.RunOnce(ctx); err != nil {
			t.Fatalf("RunOnce: %v", err)
		}
		e.must(200, "GET", "/v1/webhooks/deliveries?state=dead", e.admin, nil).json(t, &dl)
		if len(dl.Deliveries) == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(dl.Deliveries) != 1 || dl.Deliveries[0].Attempts != 3 || dl.Deliveries[0].LastStatus != 500 {
		t.Fatalf("dead letters = %+v, want one after 3 attempts", dl.Deliveries)
	}

	// A new event is pending when the process stops; after a restart on the
	// same database it is delivered.
	e.screen(e.platform, wildwarden.Listing{ID: "L-2", Title: "BLOCKME"})
	e.http.Close()
	e.store.Close()
	hook.mu.Lock()
	hook.fail = false
	hook.mu.Unlock()
	e2 := reopen(t, path)
	if err := e2.server.NewDispatcher().RunOnce(ctx); err != nil {
		t.Fatalf("RunOnce after restart: %v", err)
	}
	if got := strings.Join(hook.types(), " "); got != "block:L-2" {
		t.Fatalf("after restart delivered %q, want block:L-2", got)
	}
}

// TestWebhookRetrySignsAfresh fails a delivery once: the retry is signed
// at its own send time, and each signature verifies at the time it was sent.
func TestWebhookRetrySignsAfresh(t *testing.T) {
	e := newEnv(t)
	type sent struct {
		signature, timestamp string
		body                 []byte
	}
	var (
		mu       sync.Mutex
		received []sent
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		received = append(received, sent{r.Header.Get(wwhttp.HeaderSignature), r.Header.Get(wwhttp.HeaderTimestamp), body})
		if len(received) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	var hook struct{ Secret string }
	e.must(201, "POST", "/v1/webhooks", e.admin, map[string]any{"url": srv.URL}).json(t, &hook)
	e.screen(e.platform, wildwarden.Listing{ID: "L-1", Title: "BLOCKME"})

	clock := time.Now()
	d := e.server.NewDispatcher()
	d.Now = func() time.Time { return clock }
	var times []time.Time
	for range 2 {
		times = append(times, clock)
		if err := d.RunOnce(context.Background()); err != nil {
			t.Fatalf("RunOnce: %v", err)
		}
		clock = clock.Add(time.Minute) // past the first retry's backoff
	}
	mu.Lock()
	defer mu.Unlock()
	if len(received) != 2 {
		t.Fatalf("received %d attempts, want a failed one and its retry", len(received))
	}
	for i, got := range received {
		if err := wwhttp.VerifySignature(hook.Secret, got.body, got.signature, times[i], 0); err != nil {
			t.Errorf("attempt %d: %v", i+1, err)
		}
		if want := strconv.FormatInt(times[i].Unix(), 10); got.timestamp != want || !strings.HasPrefix(got.signature, "t="+want+",") {
			t.Errorf("attempt %d: timestamp %q, signature %q; want both at %s", i+1, got.timestamp, got.signature, want)
		}
	}
	if received[0].signature == received[1].signature {
		t.Errorf("the retry reused the first attempt's signature %q", received[0].signature)
	}
	// A replay of the first attempt after the tolerance is refused.
	if err := wwhttp.VerifySignature(hook.Secret, received[0].body, received[0].signature, times[0].Add(6*time.Minute), 0); !errors.Is(err, wwhttp.ErrSignatureExpired) {
		t.Errorf("replay 6 minutes later: %v, want %v", err, wwhttp.ErrSignatureExpired)
	}
}

// TestRevokeKeyThroughAPI revokes keys this server has just cached: each
// stops working with the very next request.
func TestRevokeKeyThroughAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	issue := func(tenant, role string) (string, *wildwarden.APIKey) {
		t.Helper()
		secret, key, err := wwhttp.IssueKey(ctx, e.store, tenant, role, "", "temp")
		if err != nil {
			t.Fatal(err)
		}
		e.must(200, "GET", "/v1/stats", secret, nil) // now in the key cache
		return secret, key
	}
	secret, key := issue(e.tenant, wildwarden.RolePlatform)
	e.must(403, "DELETE", "/v1/keys/"+key.ID, e.platform, nil)
	e.must(204, "DELETE", "/v1/keys/"+key.ID, e.admin, nil)
	e.must(401, "GET", "/v1/stats", secret, nil)
	e.must(404, "DELETE", "/v1/keys/"+key.ID, e.admin, nil)

	// An admin may revoke its own key.
	adminSecret, adminKey := issue(e.tenant, wildwarden.RoleAdmin)
	e.must(204, "DELETE", "/v1/keys/"+adminKey.ID, adminSecret, nil)
	e.must(401, "GET", "/v1/stats", adminSecret, nil)

	// Another tenant's key is not found, and keeps working.
	otherTenant, _, _, _, _ := e.newTenant("shop-b")
	otherSecret, otherKey := issue(otherTenant, wildwarden.RolePlatform)
	e.must(404, "DELETE", "/v1/keys/"+otherKey.ID, e.admin, nil)
	e.must(200, "GET", "/v1/stats", otherSecret, nil)
}

// heldKeyStore holds the first lookup of one key hash after the store has
// answered, until released: a request in flight while its key is revoked.
type heldKeyStore struct {
	wildwarden.Store
	hash     []byte
	once     sync.Once
	answered chan struct{}
	release  chan struct{}
}

func (s *heldKeyStore) KeyByHash(ctx context.Context, hash []byte) (*wildwarden.APIKey, error) {
	k, err := s.Store.KeyByHash(ctx, hash)
	if string(hash) == string(s.hash) {
		s.once.Do(func() {
			close(s.answered)
			<-s.release
		})
	}
	return k, err
}

// TestRevokeKeyDuringLookup revokes a key between the store's answer to a
// request with it and the key cache: the stale answer is not cached.
func TestRevokeKeyDuringLookup(t *testing.T) {
	e := newEnv(t)
	secret, key, err := wwhttp.IssueKey(context.Background(), e.store, e.tenant, wildwarden.RolePlatform, "", "temp")
	if err != nil {
		t.Fatal(err)
	}
	held := &heldKeyStore{Store: e.store, hash: wildwarden.HashKey(secret), answered: make(chan struct{}), release: make(chan struct{})}
	srv, err := wwhttp.NewServer(wwhttp.Config{Store: held, Screener: e.screener})
	if err != nil {
		t.Fatal(err)
	}
	h := *e
	h.http = serveValidated(t, srv)
	t.Cleanup(h.http.Close)

	inFlight := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", h.http.URL+"/v1/stats", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		inFlight <- err
	}()
	<-held.answered
	h.must(204, "DELETE", "/v1/keys/"+key.ID, h.admin, nil)
	close(held.release)
	if err := <-inFlight; err != nil {
		t.Fatalf("request in flight: %v", err)
	}
	h.must(401, "GET", "/v1/stats", secret, nil)
}

// reopen serves an existing database (keys stay valid).
func reopen(t *testing.T, path string) *env {
	t.Helper()
	e := &env{t: t, screener: &fakeScreener{}}
	var err error
	e.store, err = openStore(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	e.server, err = wwhttp.NewServer(wwhttp.Config{Store: e.store, Screener: e.screener})
	if err != nil {
		t.Fatal(err)
	}
	e.http = serveValidated(t, e.server)
	t.Cleanup(func() { e.http.Close(); e.store.Close() })
	return e
}

func TestReportsFoldAndReputation(t *testing.T) {
	e := newEnv(t)
	e.screen(e.platform, wildwarden.Listing{ID: "L-1", Title: "old carving"})
	for _, reporter := range []string{"u1", "u2", "u2"} {
		e.must(202, "POST", "/v1/reports", e.platform, map[string]string{"listing_id": "L-1", "reason": "ivory", "reporter_id": reporter})
	}
	var q struct{ Items []wildwarden.QueueItem }
	e.must(200, "GET", "/v1/queue", e.rev1, nil).json(t, &q)
	if len(q.Items) != 1 || q.Items[0].Reports != 3 {
		t.Fatalf("queue = %+v, want one report item with 3 reports", q.Items)
	}
	var st wildwarden.ListingState
	e.must(200, "GET", "/v1/listings/L-1", e.platform, nil).json(t, &st)
	if st.Latest.Source != wildwarden.SourceReport || !hasSignal(st.Latest.Verdict, "report.user") {
		t.Fatalf("listing not re-screened with the report signal: %+v", st.Latest)
	}
	// Uphold u1's report: u1's next report weighs more than a new reporter's.
	var claim struct{ Item wildwarden.QueueItem }
	e.must(200, "POST", "/v1/queue/claim", e.rev1, nil).json(t, &claim)
	e.must(200, "POST", "/v1/queue/"+claim.Item.ID+"/decision", e.rev1, map[string]any{"action": "remove", "reasons": []string{"ivory"}})
	var good, fresh struct{ Report wildwarden.Report }
	e.must(202, "POST", "/v1/reports", e.platform, map[string]string{"listing_id": "L-2", "reason": "ivory", "reporter_id": "u1"}).json(t, &good)
	e.must(202, "POST", "/v1/reports", e.platform, map[string]string{"listing_id": "L-3", "reason": "ivory", "reporter_id": "u9"}).json(t, &fresh)
	if good.Report.Weight <= fresh.Report.Weight {
		t.Fatalf("upheld reporter weight %v <= new reporter weight %v", good.Report.Weight, fresh.Report.Weight)
	}
	e.must(200, "GET", "/v1/queue", e.rev1, nil).json(t, &q)
	if len(q.Items) != 2 || q.Items[0].ListingID != "L-2" {
		t.Fatalf("queue = %+v, want L-2 (reputable reporter) first", q.Items)
	}
}

func hasSignal(v *wildwarden.Verdict, name string) bool {
	for _, s := range v.Signals {
		if s.Name == name {
			return true
		}
	}
	return false
}

func TestAuditSample(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 5; i++ {
		e.screen(e.platform, wildwarden.Listing{ID: fmt.Sprintf("ok-%d", i), Title: "teapot"})
	}
	e.screen(e.platform, wildwarden.Listing{ID: "bad", Title: "BLOCKME"})
	var resp struct{ Items []wildwarden.QueueItem }
	e.must(200, "POST", "/v1/queue/audit-sample", e.admin, map[string]int{"n": 3}).json(t, &resp)
	if len(resp.Items) != 3 {
		t.Fatalf("sampled %d items, want 3", len(resp.Items))
	}
	for _, it := range resp.Items {
		if it.Kind != wildwarden.ItemAudit || !strings.HasPrefix(it.ListingID, "ok-") {
			t.Fatalf("sampled %+v, want audit items of allowed listings", it)
		}
	}
}

func TestSearchCheck(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		query, lang string
		warn        bool
		cardLang    string
	}{
		{"BLOCKME bracelet", "zh-TW", true, "zh-Hant"},
		{"BLOCKME bracelet", "zh-CN", true, "zh-Hans"},
		{"BLOCKME bracelet", "zh-Hant-HK", true, "zh-Hant"},
		{"BLOCKME bracelet", "ja", true, "ja"},
		{"BLOCKME bracelet", "pt-BR", true, "pt"},
		{"BLOCKME bracelet", "de_DE", true, "de"},
		{"REVIEWME", "th", true, "th"},
		{"BLOCKME", "xx", true, "en"},
		{"teapot", "en", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.query+"/"+tt.lang, func(t *testing.T) {
			var resp struct {
				Warn bool
				Card *struct{ Title, Body, Species, Law, Lang string }
			}
			e.must(200, "POST", "/v1/search-check", e.platform, map[string]string{"query": tt.query, "lang": tt.lang}).json(t, &resp)
			if resp.Warn != tt.warn {
				t.Fatalf("warn = %v, want %v", resp.Warn, tt.warn)
			}
			if !tt.warn {
				if resp.Card != nil {
					t.Fatalf("card shown without warning: %+v", resp.Card)
				}
				return
			}
			c := resp.Card
			if c == nil || c.Lang != tt.cardLang || c.Title == "" || c.Law == "" || c.Species == "" || !strings.Contains(c.Body, c.Species) {
				t.Fatalf("card = %+v, want a %s card naming the species", c, tt.cardLang)
			}
		})
	}
	for _, typ := range []string{"impression", "impression", "click", "dismiss"} {
		e.must(204, "POST", "/v1/search-check/events", e.platform, map[string]string{"type": typ, "lang": "en"})
	}
	var st wildwarden.Stats
	e.must(200, "GET", "/v1/stats", e.platform, nil).json(t, &st)
	if st.SearchEvents["impression"] != 2 || st.SearchEvents["click"] != 1 || st.SearchEvents["dismiss"] != 1 {
		t.Fatalf("search events = %v", st.SearchEvents)
	}
	metrics := string(e.must(200, "GET", "/metrics", "", nil).body)
	for _, want := range []string{`wildwarden_search_events_total{type="impression"} 2`, `wildwarden_search_checks_total{warn="true"} 8`, `wildwarden_search_checks_total{warn="false"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestEveryLanguageHasACard checks the languages the service promises.
func TestEveryLanguageHasACard(t *testing.T) {
	e := newEnv(t)
	for _, lang := range []string{"zh-Hans", "zh-Hant", "en", "ja", "vi", "th", "id", "fr", "es", "de", "pt"} {
		var resp struct {
			Card struct{ Lang, Title, Body string }
		}
		e.must(200, "POST", "/v1/search-check", e.platform, map[string]string{"query": "BLOCKME", "lang": lang}).json(t, &resp)
		if resp.Card.Lang != lang || resp.Card.Title == "" {
			t.Errorf("lang %s: card %+v", lang, resp.Card)
		}
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	e := newEnv(t)
	e.must(200, "GET", "/healthz", "", nil)
	e.must(200, "GET", "/readyz", "", nil)
	metrics := string(e.must(200, "GET", "/metrics", "", nil).body)
	if !strings.Contains(metrics, "wildwarden_http_requests_total") {
		t.Errorf("/metrics lacks request counts")
	}
}

// TestOpenAPIDescribesEveryRoute holds the served openapi.json to the
// routes the server registers: it is valid OpenAPI, describes each route
// with the roles that may call it (public ones with no security), and
// describes no other.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	e := newEnv(t)
	doc, err := openapi3.NewLoader().LoadFromData(e.must(200, "GET", "/v1/openapi.json", "", nil).body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not valid OpenAPI: %v", err)
	}
	described := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			described[method+" "+path] = op
		}
	}
	routes := e.server.RouteRoles()
	for pattern, roles := range routes {
		if pattern == "/" {
			continue // the catch-all: the console, or a 404 for an unknown route
		}
		op, ok := described[pattern]
		wantRoles := "Roles: " + strings.Join(roles, ", ") + "."
		switch {
		case !ok:
			t.Errorf("openapi.json does not describe %s", pattern)
		case roles == nil && (op.Security == nil || len(*op.Security) != 0):
			t.Errorf("openapi.json: %s is public, but its security is not []", pattern)
		case roles != nil && !strings.HasPrefix(op.Description, wantRoles):
			t.Errorf("openapi.json: %s: description %q does not begin with %q", pattern, op.Description, wantRoles)
		}
	}
	for route := range described {
		if _, ok := routes[route]; !ok {
			t.Errorf("openapi.json describes %s, which the server does not register", route)
		}
	}
}

func TestRevokedKeyStopsWorking(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	secret, key, err := wwhttp.IssueKey(ctx, e.store, e.tenant, wildwarden.RolePlatform, "", "temp")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.RevokeKey(ctx, e.tenant, key.ID); err != nil {
		t.Fatal(err)
	}
	e.must(401, "POST", "/v1/screen", secret, wildwarden.Listing{ID: "x", Title: "y"})
}
