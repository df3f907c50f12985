// Package e2e drives the real wildwarden binary: admin commands, the
// service over HTTP, signals, kill -9 and the audit check. The main flow
// runs on both stores: a SQLite file and a PostgreSQL database (a private
// cluster from the Debian binaries; skipped without them unless
// WW_REQUIRE_ALL=1).
//
// The binary is built once into a temporary directory. These tests use the
// real screening engine, so assertions about a specific decision depend on
// the engine's knowledge base; they are marked "engine:" in failure
// messages.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wildwarden/wildwarden"
	wwhttp "github.com/wildwarden/wildwarden/http"
	"github.com/wildwarden/wildwarden/postgres/pgtest"
	_ "modernc.org/sqlite"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wildwarden-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "wildwarden")
	build := exec.Command("go", "build", "-o", binary, "github.com/wildwarden/wildwarden/cmd/wildwarden")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build wildwarden:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := pgtest.Main(m) // stops the PostgreSQL cluster if a test started one
	os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs a wildwarden command and returns its standard output, trimmed.
func cli(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("wildwarden %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// service is a running `wildwarden serve`.
type service struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
	done chan error
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listeningRE = regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)

// serve starts the service on a free loopback port and waits until ready.
func serve(t *testing.T, db string, extra ...string) *service {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, extra...)
	cmd := exec.Command(binary, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &service{t: t, cmd: cmd, logs: &syncBuffer{}, done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start serve: %v", err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(s.logs, line)
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.done
		}
	})
	select {
	case s.url = <-found:
	case err := <-s.done:
		t.Fatalf("serve exited: %v\n%s", err, s.logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start\n%s", s.logs.String())
	}
	for i := 0; i < 100; i++ {
		if resp, err := http.Get(s.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("serve not ready\n%s", s.logs.String())
	return nil
}

// stop sends a signal and waits for the process to exit.
func (s *service) stop(sig os.Signal) error {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal: %v", err)
	}
	select {
	case err := <-s.done:
		return err
	case <-time.After(40 * time.Second):
		s.t.Fatalf("serve did not exit after %v\n%s", sig, s.logs.String())
		return nil
	}
}

var client = &http.Client{Timeout: 30 * time.Second}

// call sends a JSON request and decodes a JSON answer into out (if any).
func (s *service) call(method, path, key string, body, out any) int {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
	if resp.StatusCode >= 300 {
		s.t.Logf("%s %s = %d %s", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode
}

func (s *service) must(want int, method, path, key string, body, out any) {
	s.t.Helper()
	if got := s.call(method, path, key, body, out); got != want {
		s.t.Fatalf("%s %s = %d, want %d", method, path, got, want)
	}
}

// hookSink records signed webhook deliveries.
type hookSink struct {
	mu     sync.Mutex
	secret string
	events []string
	bad    int
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if wwhttp.VerifySignature(h.secret, body, r.Header.Get(wwhttp.HeaderSignature), time.Now(), 0) != nil {
		h.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev wildwarden.Event
	_ = json.Unmarshal(body, &ev)
	h.events = append(h.events, ev.Type+":"+ev.ListingID)
}

func (h *hookSink) has(event string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.events {
		if e == event {
			return true
		}
	}
	return false
}

// ivoryListing is written the way ivory sellers write: a code word, sale
// intent and an off-platform contact. The real engine blocks it.
var ivoryListing = wildwarden.Listing{
	ID: "E2E-1", Kind: "listing", Lang: "zh", Title: "老白塑料手镯 包邮",
	Description: "私聊价格，支持验货，量大从优。加V详聊", Seller: wildwarden.Seller{ID: "S-9"},
}

// storeBackend is a store the service can run on: how to get a fresh
// --db value, and how to edit an audit row behind the service's back.
type storeBackend struct {
	name string
	db   func(t *testing.T) string
	// tamper overwrites the data of one audit entry in the middle of the
	// chain, leaving its hash as it was.
	tamper func(t *testing.T, db string)
}

// tamperQuery edits an audit entry in the middle of the chain; both stores
// share the audit table's layout.
const tamperQuery = `UPDATE audit SET data = 'nothing to see' WHERE seq = (SELECT MAX(seq) / 2 FROM audit)`

var backends = []storeBackend{
	{
		name: "sqlite",
		db:   func(t *testing.T) string { return filepath.Join(t.TempDir(), "ww.db") },
		tamper: func(t *testing.T, db string) {
			raw, err := sql.Open("sqlite", "file:"+db)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.Exec(tamperQuery); err != nil {
				t.Fatalf("tamper with the SQLite audit log: %v", err)
			}
		},
	},
	{
		name: "postgres",
		db:   func(t *testing.T) string { return pgtest.Database(t) },
		tamper: func(t *testing.T, db string) {
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			if tag, err := conn.Exec(ctx, tamperQuery); err != nil || tag.RowsAffected() != 1 {
				t.Fatalf("tamper with the PostgreSQL audit log: %v (%d rows)", err, tag.RowsAffected())
			}
		},
	},
}

// TestServiceEndToEnd: create tenant and reviewers with the CLI, screen,
// report, claim, remove, appeal, restore by another reviewer, read the
// statement, get the webhooks, stop with SIGTERM and verify the audit log;
// on each store.
func TestServiceEndToEnd(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { serviceEndToEnd(t, b) })
	}
}

func serviceEndToEnd(t *testing.T, backend storeBackend) {
	db := backend.db(t)
	tenantID := cli(t, "admin", "tenant", "create", "--db", db, "shop-e2e")
	if !strings.HasPrefix(tenantID, "tnt_") {
		t.Fatalf("tenant create printed %q", tenantID)
	}
	platform := cli(t, "admin", "key", "create", "--db", db, "--tenant", "shop-e2e", "--role", "platform")
	admin := cli(t, "admin", "key", "create", "--db", db, "--tenant", tenantID, "--role", "admin")
	alice := cli(t, "admin", "reviewer", "create", "--db", db, "--tenant", "shop-e2e", "alice")
	bob := cli(t, "admin", "reviewer", "create", "--db", db, "--tenant", "shop-e2e", "bob")
	if !strings.Contains(cli(t, "admin", "tenant", "list", "--db", db), "shop-e2e") {
		t.Fatal("tenant list lacks shop-e2e")
	}
	s := serve(t, db)

	sink := &hookSink{}
	hookServer := httptest.NewServer(sink)
	defer hookServer.Close()
	var hook struct{ Secret string }
	s.must(201, "POST", "/v1/webhooks", admin, map[string]any{"url": hookServer.URL}, &hook)
	sink.mu.Lock()
	sink.secret = hook.Secret
	sink.mu.Unlock()

	var v wildwarden.Verdict
	s.must(200, "POST", "/v1/screen", platform, ivoryListing, &v)
	if v.Decision != wildwarden.Block {
		t.Errorf("engine: the ivory code-word listing got %q, want block (reason %q)", v.Decision, v.Reason)
	}
	var again wildwarden.Verdict
	s.must(200, "POST", "/v1/screen", platform, ivoryListing, &again)
	var st wildwarden.ListingState
	s.must(200, "GET", "/v1/listings/"+ivoryListing.ID, platform, nil, &st)
	if len(st.History) != 1 {
		t.Fatalf("re-sent listing stored %d versions, want 1", len(st.History))
	}

	s.must(202, "POST", "/v1/reports", platform, map[string]string{"listing_id": ivoryListing.ID, "reason": "ivory", "reporter_id": "user-7"}, nil)

	// alice decides every item of the listing (the report item, and a
	// verdict item if the engine asked for review): remove.
	var statementID string
	for i := 0; ; i++ {
		var claim struct{ Item wildwarden.QueueItem }
		code := s.call("POST", "/v1/queue/claim", alice, nil, &claim)
		if code == 404 {
			break
		}
		if code != 200 || i > 5 {
			t.Fatalf("claim = %d", code)
		}
		var decided struct {
			StatementID string `json:"statement_id"`
		}
		s.must(200, "POST", "/v1/queue/"+claim.Item.ID+"/decision", alice, map[string]any{"action": "remove", "reasons": []string{"ivory-code-word"}, "note": "白塑料 is ivory"}, &decided)
		if decided.StatementID != "" {
			statementID = decided.StatementID
		}
	}
	if statementID == "" {
		t.Fatal("removal gave no statement of reasons")
	}
	var stmt wildwarden.Statement
	s.must(200, "GET", "/v1/statements/"+statementID, platform, nil, &stmt)
	if stmt.Category != "STATEMENT_CATEGORY_ANIMAL_WELFARE" || stmt.DecisionGround != "DECISION_GROUND_ILLEGAL_CONTENT" ||
		len(stmt.CategorySpecification) == 0 || stmt.CategorySpecification[0] != "KEYWORD_UNLAWFUL_SALE_ANIMALS" ||
		stmt.AutomatedDecision != "AUTOMATED_DECISION_NOT_AUTOMATED" || stmt.SourceType != "SOURCE_ARTICLE_16" || stmt.PUID == "" {
		t.Fatalf("statement = %+v", stmt)
	}

	var appeal struct{ Appeal wildwarden.Appeal }
	s.must(202, "POST", "/v1/appeals", platform, map[string]string{"listing_id": ivoryListing.ID, "appellant_id": "S-9", "note": "it is plastic"}, &appeal)
	s.must(404, "POST", "/v1/queue/claim", alice, nil, nil) // alice removed it; another reviewer decides
	var claim struct{ Item wildwarden.QueueItem }
	s.must(200, "POST", "/v1/queue/claim", bob, nil, &claim)
	if claim.Item.Kind != wildwarden.ItemAppeal {
		t.Fatalf("bob claimed %+v, want the appeal", claim.Item)
	}
	s.must(200, "POST", "/v1/queue/"+claim.Item.ID+"/decision", bob, map[string]any{"action": "allow", "reasons": []string{"appeal-upheld"}}, nil)
	s.must(200, "GET", "/v1/listings/"+ivoryListing.ID, platform, nil, &st)
	if st.Status != wildwarden.StatusRestored {
		t.Fatalf("status after the appeal = %q, want restored", st.Status)
	}

	var lines []wildwarden.Statement
	req, _ := http.NewRequest("GET", s.url+"/v1/statements", nil)
	req.Header.Set("Authorization", "Bearer "+platform)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var x wildwarden.Statement
		if err := json.Unmarshal(sc.Bytes(), &x); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		lines = append(lines, x)
	}
	resp.Body.Close()
	if len(lines) < 1 {
		t.Fatal("statement export is empty")
	}

	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && !(sink.has("remove:E2E-1") && sink.has("restore:E2E-1")) {
		time.Sleep(100 * time.Millisecond)
	}
	if !sink.has("remove:E2E-1") || !sink.has("restore:E2E-1") {
		t.Fatalf("webhooks received %v, want remove and restore", sink.events)
	}
	if !sink.has("block:E2E-1") {
		t.Errorf("engine: no block webhook for the ivory listing (received %v)", sink.events)
	}
	if sink.bad != 0 {
		t.Fatalf("%d webhook deliveries had bad signatures", sink.bad)
	}

	if err := s.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("serve exited with %v after SIGTERM\n%s", err, s.logs.String())
	}
	if out := cli(t, "audit", "verify", "--db", db); !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("audit verify = %q", out)
	}

	// Edit one audit row behind the service's back: verify must fail.
	backend.tamper(t, db)
	cmd := exec.Command(binary, "audit", "verify", "--db", db)
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 4 || !strings.Contains(string(out), "was edited") {
		t.Fatalf("audit verify after tampering: %v %s; want exit 4 naming the edited entry", err, out)
	}
}

// TestKillNineLosesNoAnsweredRequest kills the service with SIGKILL under
// load, restarts it and checks that every listing answered 2xx is stored.
func TestKillNineLosesNoAnsweredRequest(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ww.db")
	cli(t, "admin", "tenant", "create", "--db", db, "shop-k")
	key := cli(t, "admin", "key", "create", "--db", db, "--tenant", "shop-k", "--role", "platform")
	s := serve(t, db)

	var mu sync.Mutex
	var answered []string
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				id := fmt.Sprintf("K-%d-%d", w, n)
				body, _ := json.Marshal(wildwarden.Listing{ID: id, Title: "carved bangle " + id, Description: "message me"})
				req, _ := http.NewRequest("POST", s.url+"/v1/screen", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := client.Do(req)
				if err != nil {
					return // the process is gone
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					answered = append(answered, id)
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := s.cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	<-s.done
	cancel()
	wg.Wait()
	if len(answered) < 100 {
		t.Fatalf("only %d requests answered before the kill", len(answered))
	}

	s2 := serve(t, db)
	missing := 0
	for _, id := range answered {
		if code := s2.call("GET", "/v1/listings/"+id, key, nil, nil); code != 200 {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d answered requests are missing after kill -9", missing, len(answered))
	}
	t.Logf("%d answered requests, all stored after kill -9", len(answered))
	if out := cli(t, "audit", "verify", "--db", db); !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("audit verify after kill -9 = %q", out)
	}
}

// TestGracefulShutdownDrains sends SIGTERM while a large batch is being
// screened: the batch is answered and the process exits cleanly.
func TestGracefulShutdownDrains(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ww.db")
	cli(t, "admin", "tenant", "create", "--db", db, "shop-g")
	key := cli(t, "admin", "key", "create", "--db", db, "--tenant", "shop-g", "--role", "platform")
	s := serve(t, db, "--max-body", "67108864")

	listings := make([]wildwarden.Listing, wwhttp.MaxBatch)
	for i := range listings {
		listings[i] = wildwarden.Listing{ID: fmt.Sprintf("G-%d", i), Title: fmt.Sprintf("item %d", i), Description: strings.Repeat("vintage carved bangle, message me for price. ", 400)}
	}
	body, _ := json.Marshal(map[string]any{"listings": listings})
	type result struct {
		code int
		err  error
	}
	got := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("POST", s.url+"/v1/screen/batch", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			got <- result{err: err}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got <- result{code: resp.StatusCode}
	}()
	// About 18 MB of text takes the engine a second or more: the batch is in
	// flight when the signal comes.
	time.Sleep(300 * time.Millisecond)
	if err := s.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("serve exited with %v after SIGTERM\n%s", err, s.logs.String())
	}
	r := <-got
	if r.err != nil || r.code != 200 {
		t.Fatalf("in-flight batch: %d %v; want 200 (drained)", r.code, r.err)
	}
	if !strings.Contains(s.logs.String(), "draining") {
		t.Fatalf("no drain in the logs:\n%s", s.logs.String())
	}
	s2 := serve(t, db)
	var stats wildwarden.Stats
	s2.must(200, "GET", "/v1/stats", key, nil, &stats)
	total := int64(0)
	for _, n := range stats.Verdicts {
		total += n
	}
	if total != wwhttp.MaxBatch {
		t.Fatalf("stored %d verdicts of the drained batch, want %d", total, wwhttp.MaxBatch)
	}
}

// TestFirstStartPrintsAdminKey checks the no-flags promise: a fresh
// database gets a default tenant and an admin key printed once.
func TestFirstStartPrintsAdminKey(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ww.db")
	s := serve(t, db)
	m := regexp.MustCompile(`\n\s+(ww_[A-Za-z0-9_-]{43})\n`).FindStringSubmatch(s.logs.String())
	if m == nil {
		t.Fatalf("no admin key printed:\n%s", s.logs.String())
	}
	var hooks struct{ Webhooks []wildwarden.Webhook }
	s.must(200, "GET", "/v1/webhooks", m[1], nil, &hooks)
	if err := s.stop(os.Interrupt); err != nil {
		t.Fatalf("exit after SIGINT: %v", err)
	}
	s2 := serve(t, db)
	if strings.Contains(s2.logs.String(), "ww_") {
		t.Fatalf("second start printed a key again:\n%s", s2.logs.String())
	}
}
