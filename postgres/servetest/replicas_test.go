// Package servetest runs the HTTP service (package http) as two replicas
// on one PostgreSQL database, as `wildwarden serve --store postgres://…`
// would on two machines. It is its own package so that the store's tests
// do not depend on the service compiling.
package servetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wildwarden/wildwarden"
	wwhttp "github.com/wildwarden/wildwarden/http"
	"github.com/wildwarden/wildwarden/postgres"
	"github.com/wildwarden/wildwarden/postgres/pgtest"
	"github.com/wildwarden/wildwarden/screen"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// replica is one service instance with its own store (connection pool).
type replica struct {
	url   string
	store *postgres.Store
}

// eventSink counts webhook deliveries by event ID.
type eventSink struct {
	mu     sync.Mutex
	counts map[string]int
}

func (s *eventSink) ServeHTTP(w nethttp.ResponseWriter, r *nethttp.Request) {
	var ev wildwarden.Event
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" {
		nethttp.Error(w, "bad event", nethttp.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.counts[ev.ID]++
	s.mu.Unlock()
}

func (s *eventSink) snapshot() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

func call(t *testing.T, method, url, key string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := nethttp.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := nethttp.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, url, err)
		return 0
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Errorf("%s %s: decode %s: %v", method, url, data, err)
		}
	}
	return resp.StatusCode
}

// TestTwoServiceReplicas screens the same listings through two replicas at
// once, lets reviewers on both replicas work the queue, and runs a webhook
// dispatcher on each: every listing is stored once, no item is decided
// twice, every webhook event is delivered once, and the audit chain holds.
func TestTwoServiceReplicas(t *testing.T) {
	dsn := pgtest.Database(t)
	ctx := context.Background()
	engine, err := screen.New(screen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sink := &eventSink{counts: map[string]int{}}
	sinkServer := httptest.NewServer(sink)
	defer sinkServer.Close()

	var replicas []replica
	dispatchCtx, stopDispatch := context.WithCancel(ctx)
	var dispatchers sync.WaitGroup
	for i := 0; i < 2; i++ {
		store, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		srv, err := wwhttp.NewServer(wwhttp.Config{Store: store, Screener: engine, Lease: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		defer hs.Close()
		d := srv.NewDispatcher()
		d.Poll = 20 * time.Millisecond
		dispatchers.Add(1)
		go func() { defer dispatchers.Done(); d.Run(dispatchCtx) }()
		replicas = append(replicas, replica{url: hs.URL, store: store})
	}
	defer func() { stopDispatch(); dispatchers.Wait() }()

	setup := replicas[0].store
	tn := &wildwarden.Tenant{Name: "shop"}
	if err := setup.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	platformKey, _, err := wwhttp.IssueKey(ctx, setup, tn.ID, wildwarden.RolePlatform, "", "platform")
	if err != nil {
		t.Fatal(err)
	}
	var reviewerKeys []string
	for _, name := range []string{"alice", "bob", "carol", "dan"} {
		u := &wildwarden.User{TenantID: tn.ID, Name: name, Role: wildwarden.RoleReviewer}
		if err := setup.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		key, _, err := wwhttp.IssueKey(ctx, setup, tn.ID, wildwarden.RoleReviewer, u.ID, name)
		if err != nil {
			t.Fatal(err)
		}
		reviewerKeys = append(reviewerKeys, key)
	}
	if err := setup.CreateWebhook(ctx, &wildwarden.Webhook{TenantID: tn.ID, URL: sinkServer.URL, Secret: "s"}); err != nil {
		t.Fatal(err)
	}

	listings := exampleListings(t)
	var wg sync.WaitGroup
	for _, r := range replicas { // both replicas screen every listing at once
		for _, l := range listings {
			wg.Add(1)
			go func(url string, l json.RawMessage) {
				defer wg.Done()
				var v wildwarden.Verdict
				if code := call(t, "POST", url+"/v1/screen", platformKey, l, &v); code != nethttp.StatusOK {
					t.Errorf("screen: HTTP %d", code)
				}
			}(r.url, l)
		}
	}
	wg.Wait()

	for i, key := range reviewerKeys { // reviewers spread over the replicas
		wg.Add(1)
		go func(url, key string) {
			defer wg.Done()
			for {
				var claim struct{ Item *wildwarden.QueueItem }
				code := call(t, "POST", url+"/v1/queue/claim", key, nil, &claim)
				if code == nethttp.StatusNotFound {
					return
				}
				if code != nethttp.StatusOK || claim.Item == nil {
					t.Errorf("claim: HTTP %d", code)
					return
				}
				decision := map[string]any{"action": "remove", "reasons": []string{"ivory"}}
				if code := call(t, "POST", fmt.Sprintf("%s/v1/queue/%s/decision", url, claim.Item.ID), key, decision, nil); code >= 300 {
					t.Errorf("decide %s: HTTP %d", claim.Item.ID, code)
					return
				}
			}
		}(replicas[i%2].url, key)
	}
	wg.Wait()

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	count := func(query string) int {
		var n int
		if err := conn.QueryRow(ctx, query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	if n := count(`SELECT COUNT(*) FROM screenings`); n != len(listings) {
		t.Errorf("screenings = %d, want %d (each listing once)", n, len(listings))
	}
	if n := count(`SELECT COUNT(*) FROM decisions`); n == 0 {
		t.Error("no decision was made: the examples should need review")
	}
	if n := count(`SELECT COUNT(*) FROM (SELECT item_id FROM decisions GROUP BY item_id HAVING COUNT(*) > 1) x`); n != 0 {
		t.Errorf("%d items were decided twice", n)
	}
	if n := count(`SELECT COUNT(*) FROM queue_items WHERE open`); n != 0 {
		t.Errorf("%d items left open", n)
	}
	wantEvents := count(`SELECT COUNT(*) FROM deliveries`)
	deadline := time.Now().Add(20 * time.Second)
	for len(sink.snapshot()) < wantEvents && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	got := sink.snapshot()
	if len(got) != wantEvents || wantEvents == 0 {
		t.Errorf("webhook events received = %d, want %d (and more than none)", len(got), wantEvents)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("event %s delivered %d times by the two dispatchers", id, n)
		}
	}
	if _, _, err := setup.VerifyAudit(ctx); err != nil {
		t.Errorf("audit chain: %v", err)
	}
}

// exampleListings reads examples/listings.jsonl.
func exampleListings(t *testing.T) []json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "listings.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			out = append(out, append(json.RawMessage(nil), line...))
		}
	}
	return out
}
