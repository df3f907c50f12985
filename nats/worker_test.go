package nats_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wildwarden/wildwarden"
	wwnats "github.com/wildwarden/wildwarden/nats"
	"github.com/wildwarden/wildwarden/nats/natstest"
	"github.com/wildwarden/wildwarden/postgres"
	"github.com/wildwarden/wildwarden/postgres/pgtest"
	"github.com/wildwarden/wildwarden/screen"
)

func TestMain(m *testing.M) {
	if os.Getenv(childNATS) != "" {
		os.Exit(workerProcess()) // a child of TestWorkerKilledMidBatch
	}
	os.Exit(pgtest.Main(m))
}

func connect(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, js, err := wwnats.Connect(url, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return js
}

var (
	engineOnce sync.Once
	engine     *screen.Engine
	engineErr  error
)

// realEngine is the production screening engine, built once per binary.
func realEngine(t *testing.T) *screen.Engine {
	t.Helper()
	engineOnce.Do(func() { engine, engineErr = screen.New(screen.Options{}) })
	if engineErr != nil {
		t.Fatalf("screen.New: %v", engineErr)
	}
	return engine
}

// fixture is a store with one tenant.
type fixture struct {
	dsn    string
	store  *postgres.Store
	tenant wildwarden.Tenant
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dsn: pgtest.Database(t), tenant: wildwarden.Tenant{Name: "shop-a"}}
	var err error
	if f.store, err = postgres.Open(context.Background(), f.dsn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.store.Close() })
	if err := f.store.CreateTenant(context.Background(), &f.tenant); err != nil {
		t.Fatal(err)
	}
	return f
}

// count runs a COUNT query on the fixture's database.
func (f *fixture) count(t *testing.T, query string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// exampleListings returns n listings made from examples/listings.jsonl
// (allowed, reviewed and blocked ones), each with its own ID.
func exampleListings(t *testing.T, n int) [][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "examples", "listings.jsonl"))
	if err != nil {
		t.Fatalf("examples: %v", err)
	}
	var base []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("examples: %v", err)
		}
		base = append(base, m)
	}
	out := make([][]byte, n)
	for i := range out {
		m := base[i%len(base)]
		m["id"] = fmt.Sprintf("L-%05d", i)
		out[i], _ = json.Marshal(m)
	}
	return out
}

func publish(t *testing.T, js jetstream.JetStream, tenant string, lines [][]byte) {
	t.Helper()
	p := &wwnats.Publisher{JS: js, Tenant: tenant}
	st, err := p.PublishLines(context.Background(), bytes.NewReader(bytes.Join(lines, []byte("\n"))), "test", nil)
	if err != nil || st.Published != len(lines) {
		t.Fatalf("publish: %+v, %v", st, err)
	}
}

// streamMsgs returns how many messages a stream holds.
func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	return info.State.Msgs
}

// runWorker runs w until cond holds (checked every 50ms) or the timeout
// passes, then stops it.
func runWorker(t *testing.T, w *wwnats.Worker, timeout time.Duration, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("worker did not finish in %v; stats %+v", timeout, w.Stats())
		}
		select {
		case err := <-done:
			t.Fatalf("worker stopped early: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("worker: %v", err)
	}
}

func TestWorkerScreensStoresAndPublishes(t *testing.T) {
	f := newFixture(t)
	js := connect(t, natstest.Start(t).ClientURL())
	ctx := context.Background()
	if err := wwnats.EnsureStreams(ctx, js, wwnats.Topology{}); err != nil {
		t.Fatal(err)
	}
	lines := exampleListings(t, 60)
	publish(t, js, f.tenant.Name, lines)
	publish(t, js, f.tenant.Name, lines[:20]) // published again: de-duplicated by the stream
	if n := streamMsgs(t, js, "WILDWARDEN_LISTINGS"); n != 60 {
		t.Fatalf("listing stream holds %d messages after a repeated publish, want 60", n)
	}
	w := &wwnats.Worker{JS: js, Store: f.store, Screener: realEngine(t), Batch: 16, Concurrency: 2}
	runWorker(t, w, 30*time.Second, func() bool { return streamMsgs(t, js, "WILDWARDEN_VERDICTS") == 60 })

	if n := f.count(t, `SELECT COUNT(*) FROM screenings`); n != 60 {
		t.Errorf("screenings = %d, want 60", n)
	}
	if n := streamMsgs(t, js, "WILDWARDEN_LISTINGS"); n != 0 {
		t.Errorf("listing stream still holds %d messages (work queue: acked messages go away)", n)
	}
	stats, err := f.store.Stats(ctx, f.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats.Verdicts) < 2 {
		t.Errorf("verdicts by decision = %v; the examples hold allowed and flagged listings", stats.Verdicts)
	}
	if stats.OpenItems == 0 && stats.Verdicts["review"] > 0 {
		t.Errorf("review verdicts %d but no review item", stats.Verdicts["review"])
	}
	if st := w.Stats(); st.Screened != 60 || st.DeadLettered != 0 {
		t.Errorf("worker stats = %+v, want 60 screened", st)
	}
	// The published verdicts name the tenant and the stored sequence.
	cons, err := js.OrderedConsumer(ctx, "WILDWARDEN_VERDICTS", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var v wwnats.Verdict
	if err := json.Unmarshal(m.Data(), &v); err != nil || v.TenantID != f.tenant.ID || v.Seq == 0 || v.Verdict == nil || v.Verdict.ID != v.ListingID {
		t.Fatalf("verdict message = %s (%v)", m.Data(), err)
	}
}

// panicScreener panics on one listing, as a screening bug would.
type panicScreener struct {
	wildwarden.Screener
	poison string
}

func (p panicScreener) Screen(ctx context.Context, l *wildwarden.Listing) (*wildwarden.Verdict, error) {
	if l.ID == p.poison {
		panic("screening bug")
	}
	return p.Screener.Screen(ctx, l)
}

func TestPoisonMessagesGoToDeadLetters(t *testing.T) {
	f := newFixture(t)
	js := connect(t, natstest.Start(t).ClientURL())
	ctx := context.Background()
	if err := wwnats.EnsureStreams(ctx, js, wwnats.Topology{}); err != nil {
		t.Fatal(err)
	}
	good := exampleListings(t, 5)
	publish(t, js, f.tenant.ID, good)
	poison := []struct {
		name   string
		data   string
		tenant string
		reason string
	}{
		{"invalid JSON", `{"id": "L-bad", "title": `, f.tenant.ID, "invalid listing"},
		{"no id", `{"title": "carved bangle"}`, f.tenant.ID, "invalid listing"},
		{"unknown tenant", `{"id": "L-x", "title": "carved bangle"}`, "no-such-shop", "unknown tenant"},
		{"screener panics", `{"id": "L-panic", "title": "carved bangle"}`, f.tenant.ID, "screening failed: panic"},
	}
	for _, p := range poison {
		msg := natsgo.NewMsg("wildwarden.listings")
		msg.Data = []byte(p.data)
		msg.Header.Set(wwnats.HeaderTenant, p.tenant)
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	w := &wwnats.Worker{JS: js, Store: f.store, Screener: panicScreener{realEngine(t), "L-panic"}, Batch: 4, Concurrency: 1}
	runWorker(t, w, 30*time.Second, func() bool { return streamMsgs(t, js, "WILDWARDEN_LISTINGS") == 0 })

	if n := f.count(t, `SELECT COUNT(*) FROM screenings`); n != len(good) {
		t.Errorf("screenings = %d, want %d (the good listings)", n, len(good))
	}
	cons, err := js.OrderedConsumer(ctx, "WILDWARDEN_DEAD", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for range poison {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("dead letters: %v", err)
		}
		reasons[string(m.Data())] = m.Headers().Get(wwnats.HeaderError)
	}
	for _, p := range poison {
		got, ok := reasons[p.data]
		if !ok || !bytes.Contains([]byte(got), []byte(p.reason)) {
			t.Errorf("%s: dead letter reason %q (present %v), want it to contain %q", p.name, got, ok, p.reason)
		}
	}
}

// slowStore makes SaveScreenings fail a few times, then answer slowly:
// delay before the write, after once it is committed.
type slowStore struct {
	wildwarden.Store
	failures     atomic.Int32
	delay, after time.Duration
	calls        atomic.Int32
}

func (s *slowStore) SaveScreenings(ctx context.Context, tenantID string, scs []*wildwarden.Screening) ([]error, error) {
	s.calls.Add(1)
	if s.failures.Add(-1) >= 0 {
		return nil, errors.New("connection refused (simulated outage)")
	}
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	errs, err := s.Store.SaveScreenings(ctx, tenantID, scs)
	time.Sleep(s.after)
	return errs, err
}

// TestSlowStoreLosesNothing: the store fails, then takes longer than the
// ack wait for every write. Nothing may be dead-lettered, redelivered to
// another worker or lost.
func TestSlowStoreLosesNothing(t *testing.T) {
	f := newFixture(t)
	js := connect(t, natstest.Start(t).ClientURL())
	store := &slowStore{Store: f.store, delay: 1500 * time.Millisecond}
	store.failures.Store(3)
	publish(t, js, f.tenant.ID, exampleListings(t, 40))
	w := &wwnats.Worker{JS: js, Store: store, Screener: realEngine(t), Batch: 20, Concurrency: 1, AckWait: time.Second, Attempts: 2}
	runWorker(t, w, 60*time.Second, func() bool { return streamMsgs(t, js, "WILDWARDEN_LISTINGS") == 0 })
	if n := f.count(t, `SELECT COUNT(*) FROM screenings`); n != 40 {
		t.Errorf("screenings = %d, want 40", n)
	}
	st := w.Stats()
	if st.DeadLettered != 0 || st.Redelivered != 0 || st.Screened != 40 {
		t.Errorf("worker stats = %+v; want 40 screened, none redelivered or dead-lettered", st)
	}
	if store.calls.Load() < 5 {
		t.Errorf("store was called %d times; the outage was not exercised", store.calls.Load())
	}
}

// Environment of the worker child process of TestWorkerKilledMidBatch.
const (
	childNATS   = "WW_TEST_WORKER_NATS"
	childDSN    = "WW_TEST_WORKER_DSN"
	childTenant = "WW_TEST_WORKER_TENANT"
)

// workerProcess is the worker TestWorkerKilledMidBatch kills, run in a
// child process.
func workerProcess() int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "worker process:", err)
		return 1
	}
	eng, err := screen.New(screen.Options{})
	if err != nil {
		return fail(err)
	}
	store, err := postgres.Open(context.Background(), os.Getenv(childDSN))
	if err != nil {
		return fail(err)
	}
	defer store.Close()
	nc, js, err := wwnats.Connect(os.Getenv(childNATS), "killed-worker")
	if err != nil {
		return fail(err)
	}
	defer nc.Close()
	// Slow writes, slowest after the commit, keep batches in flight when
	// the kill comes, some of them stored but not yet acknowledged.
	slow := &slowStore{Store: store, delay: 20 * time.Millisecond, after: 200 * time.Millisecond}
	w := &wwnats.Worker{JS: js, Store: slow, Screener: eng, DefaultTenant: os.Getenv(childTenant), Batch: 16, Concurrency: 2, AckWait: 2 * time.Second}
	if err := w.Run(context.Background()); err != nil {
		return fail(err)
	}
	return 0
}

// TestWorkerKilledMidBatch kills a worker process (SIGKILL) while it has
// batches in flight, lets a second worker finish the stream, and checks
// that every listing is screened exactly once in the store.
func TestWorkerKilledMidBatch(t *testing.T) {
	f := newFixture(t)
	url := natstest.Start(t).ClientURL()
	js := connect(t, url)
	const total = 400
	publish(t, js, "", exampleListings(t, total))

	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childNATS+"="+url, childDSN+"="+f.dsn, childTenant+"="+f.tenant.Name)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for f.count(t, `SELECT COUNT(*) FROM screenings`) < total/4 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the first worker stored too little before the kill:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	before := f.count(t, `SELECT COUNT(*) FROM screenings`)
	if before >= total {
		t.Fatalf("the first worker finished (%d listings) before the kill; nothing was in flight", before)
	}

	w := &wwnats.Worker{JS: js, Store: f.store, Screener: realEngine(t), DefaultTenant: f.tenant.Name, Batch: 16, Concurrency: 2, AckWait: 2 * time.Second}
	runWorker(t, w, 90*time.Second, func() bool { return streamMsgs(t, js, "WILDWARDEN_LISTINGS") == 0 })

	if n := f.count(t, `SELECT COUNT(*) FROM screenings`); n != total {
		t.Errorf("screenings = %d, want %d: every listing exactly once", n, total)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM (SELECT listing_id FROM screenings GROUP BY listing_id HAVING COUNT(*) > 1) x`); n != 0 {
		t.Errorf("%d listings were screened more than once", n)
	}
	st := w.Stats()
	if st.Redelivered == 0 {
		t.Errorf("the second worker saw no redelivered message (stats %+v): the kill interrupted nothing", st)
	}
	if st.Duplicates == 0 {
		t.Errorf("no redelivered listing was already stored (stats %+v): the kill never fell between commit and ack", st)
	}
	if st.DeadLettered != 0 {
		t.Errorf("dead letters after a crash: %+v", st)
	}
	if _, _, err := f.store.VerifyAudit(context.Background()); err != nil {
		t.Errorf("audit chain after the crash: %v", err)
	}
	t.Logf("killed after %d of %d stored; the second worker stored %d, saw %d redelivered (%d already stored)", before, total, st.Screened, st.Redelivered, st.Duplicates)
}

// tenantScreener records the tenant of each listing it screens.
type tenantScreener struct {
	*screen.Engine
	mu      sync.Mutex
	screens map[string][]string // listing ID → tenants screened for
}

func (s *tenantScreener) ScreenFor(ctx context.Context, tenantID string, l *wildwarden.Listing) (*wildwarden.Verdict, error) {
	s.mu.Lock()
	s.screens[l.ID] = append(s.screens[l.ID], tenantID)
	s.mu.Unlock()
	return s.Engine.Screen(ctx, l)
}

func (s *tenantScreener) screened(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.screens[id]
}

// TestWorkerScreensForTheTenant: a screener that depends on the tenant
// (image banks) is given each listing's tenant ID, whether the message
// named the tenant or the default applied; and a listing with images whose
// content is stored already is not screened again when it comes back
// (published anew after the de-duplication window), while text alone is.
func TestWorkerScreensForTheTenant(t *testing.T) {
	f := newFixture(t)
	js := connect(t, natstest.Start(t).ClientURL())
	ctx := context.Background()
	if err := wwnats.EnsureStreams(ctx, js, wwnats.Topology{}); err != nil {
		t.Fatal(err)
	}
	withImage := `{"id": "L-photo", "title": "old bangle", "images": ["https://img.example/1.jpg"]}`
	textOnly := `{"id": "L-text", "title": "old bangle"}`
	// No message ID: the stream keeps each copy, as it would after its
	// de-duplication window.
	send := func(data, tenant string) {
		t.Helper()
		msg := natsgo.NewMsg("wildwarden.listings")
		msg.Data = []byte(data)
		if tenant != "" {
			msg.Header.Set(wwnats.HeaderTenant, tenant)
		}
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	screener := &tenantScreener{Engine: realEngine(t), screens: map[string][]string{}}
	w := &wwnats.Worker{JS: js, Store: f.store, Screener: screener, DefaultTenant: f.tenant.Name, Batch: 4, Concurrency: 1}
	send(withImage, f.tenant.Name)
	send(textOnly, "")
	// Verdicts of one listing version are published once; the work queue
	// empties as listings are acknowledged.
	done := func(n int64) func() bool {
		return func() bool {
			st := w.Stats()
			return st.Screened+st.Duplicates == n && streamMsgs(t, js, "WILDWARDEN_LISTINGS") == 0
		}
	}
	runWorker(t, w, 30*time.Second, done(2))
	send(withImage, f.tenant.ID)
	send(textOnly, f.tenant.Name)
	runWorker(t, w, 30*time.Second, done(4))

	if got := screener.screened("L-photo"); !slices.Equal(got, []string{f.tenant.ID}) {
		t.Errorf("the listing with images was screened for %v, want once for %s", got, f.tenant.ID)
	}
	if got := screener.screened("L-text"); !slices.Equal(got, []string{f.tenant.ID, f.tenant.ID}) {
		t.Errorf("the text-only listing was screened for %v, want twice for %s", got, f.tenant.ID)
	}
	if st := w.Stats(); st.Screened != 2 || st.Duplicates != 2 || st.DeadLettered != 0 {
		t.Errorf("worker stats = %+v, want 2 screened and 2 duplicates", st)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM screenings`); n != 2 {
		t.Errorf("screenings = %d, want 2", n)
	}
}
