package replica_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/image/bank"
	"github.com/wildwarden/wildwarden/image/inspect"
	"github.com/wildwarden/wildwarden/image/pdq"
	"github.com/wildwarden/wildwarden/replica"
	"github.com/wildwarden/wildwarden/screen"
	"github.com/wildwarden/wildwarden/sqlite"
)

var ctx = wildwarden.WithActor(context.Background(), "replica-test")

// logBuffer collects a logger's lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// node is one process on the shared SQLite file: its own store handle,
// and, for the replica under test, what it holds in memory.
type node struct {
	store  *sqlite.Store
	engine *screen.Reloadable
	banks  *inspect.Banks
	syncer *replica.Syncer
	reg    *prometheus.Registry
	logs   *logBuffer
}

// openStore opens another handle on the SQLite file, as another process.
func openStore(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newShop makes a fresh SQLite file with one tenant, shop-a, and returns
// its path, a handle on it and the tenant.
func newShop(t testing.TB) (string, *sqlite.Store, *wildwarden.Tenant) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ww.db")
	s := openStore(t, path)
	tn := &wildwarden.Tenant{Name: "shop-a"}
	if err := s.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	return path, s, tn
}

// loadEngine reads the sync head, then builds the engine with the stored
// knowledge-base additions, in the order serve and worker do, so that an
// addition stored in between is applied at the first poll.
func loadEngine(t testing.TB, s *sqlite.Store) (after int64, engine *screen.Reloadable) {
	t.Helper()
	after, err := s.SyncHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	engine, err = screen.NewReloadable(screen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	adds, err := s.KBAdditions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := engine.Apply(adds); err != nil {
		t.Fatal(err)
	}
	return after, engine
}

// startReplica loads the engine and the banks as serve does (the sync
// head first) and returns it with its syncer.
func startReplica(t testing.TB, store replica.Store, s *sqlite.Store) *node {
	t.Helper()
	after, engine := loadEngine(t, s)
	tenants, err := s.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	banks := inspect.NewBanks(s)
	for _, tn := range tenants {
		if _, err := banks.Tenant(ctx, tn.ID); err != nil {
			t.Fatal(err)
		}
	}
	n := &node{store: s, engine: engine, banks: banks, reg: prometheus.NewRegistry(), logs: &logBuffer{}}
	n.syncer, err = replica.New(replica.Config{Store: store, Engine: engine, Banks: banks, After: after,
		Logger: slog.New(slog.NewTextHandler(n.logs, nil)), Registerer: n.reg})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// confirmedBank creates a tenant's deny bank "confirmed" in banks, as
// actor, and returns the tenant's banks.
func confirmedBank(t testing.TB, banks *inspect.Banks, tenantID, actor string) *bank.Persistent {
	t.Helper()
	p, err := banks.Tenant(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.CreateBank(ctx, bank.Info{Name: "confirmed", Kind: bank.Deny}, actor); err != nil {
		t.Fatal(err)
	}
	return p
}

func (n *node) poll(t testing.TB) {
	t.Helper()
	if err := n.syncer.Poll(ctx); err != nil {
		t.Fatalf("Poll: %v", err)
	}
}

// metric reads a counter of the node's registry by name and label value.
func (n *node) metric(t testing.TB, name, label string) float64 {
	t.Helper()
	families, err := n.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() == label {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// matches returns the IDs of the deny entries the replica's banks of a
// tenant match a hash with exactly.
func (n *node) matches(t testing.TB, tenantID string, h pdq.Hash) []string {
	t.Helper()
	set, err := n.banks.Set(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range set.Match(pdq.Result{Hash: h, Quality: 100}, 0).Matches {
		ids = append(ids, m.Entry.ID)
	}
	return ids
}

// codeWord is a made-up code word in the knowledge base's first category,
// and a listing that uses it.
func codeWord(t testing.TB, engine *screen.Reloadable, tenantID, text string) (*wildwarden.KBAddition, *wildwarden.Listing) {
	t.Helper()
	var categories []string
	for c := range engine.Base().Categories {
		categories = append(categories, c)
	}
	slices.Sort(categories)
	add := &wildwarden.KBAddition{TenantID: tenantID, Kind: wildwarden.KBAddTerm, Text: text, Lang: "en", Category: categories[0], Note: "seen in a test", CreatedBy: "u-1"}
	return add, &wildwarden.Listing{ID: "L-" + text, Title: text + " bangle for sale, DM me"}
}

func hasTerm(v *wildwarden.Verdict, term string) bool {
	for _, s := range v.Signals {
		if s.Term == term {
			return true
		}
	}
	return false
}

// TestSyncerAppliesAnotherProcessesChanges: a knowledge-base addition and
// image-bank changes made through another handle on the SQLite file (as
// another replica or the CLI) reach the replica's engine and banks at its
// next poll, and a poll that finds nothing changes nothing.
func TestSyncerAppliesAnotherProcessesChanges(t *testing.T) {
	path, other, tn := newShop(t)
	s := openStore(t, path)
	r := startReplica(t, s, s)

	// The other process: a code word in the console, a bank and two
	// photos with the CLI's code path.
	add, listing := codeWord(t, r.engine, tn.ID, "zorbleflax")
	if err := other.AddKBAddition(ctx, add); err != nil {
		t.Fatal(err)
	}
	cli := confirmedBank(t, inspect.NewBanks(other), tn.ID, "cli:bank")
	for i, h := range []pdq.Hash{{1}, {2}} {
		e := bank.Entry{ID: fmt.Sprintf("E-%d", i+1), Hash: h, Quality: 90, Category: "ivory"}
		if err := cli.AddEntry(ctx, "confirmed", e, "cli:bank"); err != nil {
			t.Fatal(err)
		}
	}
	if hasTerm(r.engine.ScreenListing(listing), "zorbleflax") || len(r.matches(t, tn.ID, pdq.Hash{1})) != 0 {
		t.Fatal("the replica holds the other process's changes before polling")
	}

	r.poll(t)
	if v := r.engine.ScreenListing(listing); !hasTerm(v, "zorbleflax") {
		t.Errorf("after a poll the engine does not know the added code word: %+v", v.Signals)
	}
	if got := r.matches(t, tn.ID, pdq.Hash{2}); !slices.Equal(got, []string{"E-2"}) {
		t.Errorf("after a poll a banked photo matches %v, want [E-2]", got)
	}
	if got := r.metric(t, "wildwarden_sync_applied_total", "bank_change"); got != 3 {
		t.Errorf("bank changes applied = %v, want 3 (create and two adds)", got)
	}
	if got := r.metric(t, "wildwarden_sync_applied_total", "engine_rebuild"); got != 1 {
		t.Errorf("engine rebuilds = %v, want 1", got)
	}
	logs := r.logs.String()
	for _, want := range []string{"image-bank changes picked up", "applied=3", "knowledge-base additions picked up", "additions=1"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}

	// Nothing new: nothing is rebuilt or counted.
	engine := r.engine.Current()
	r.poll(t)
	if r.engine.Current() != engine || r.metric(t, "wildwarden_sync_applied_total", "bank_change") != 3 {
		t.Error("a poll that found nothing changed the engine or the counts")
	}

	// The other process removes an entry, deletes the bank and creates it
	// again with another photo.
	if _, err := cli.RemoveEntry(ctx, "confirmed", "E-1", "cli:bank"); err != nil {
		t.Fatal(err)
	}
	if err := cli.DeleteBank(ctx, "confirmed", "cli:bank"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.CreateBank(ctx, bank.Info{Name: "confirmed", Kind: bank.Deny}, "cli:bank"); err != nil {
		t.Fatal(err)
	}
	if err := cli.AddEntry(ctx, "confirmed", bank.Entry{ID: "E-3", Hash: pdq.Hash{3}, Quality: 90}, "cli:bank"); err != nil {
		t.Fatal(err)
	}
	r.poll(t)
	for _, h := range []pdq.Hash{{1}, {2}} {
		if got := r.matches(t, tn.ID, h); len(got) != 0 {
			t.Errorf("after the bank was deleted, %v still matches %v", h, got)
		}
	}
	if got := r.matches(t, tn.ID, pdq.Hash{3}); !slices.Equal(got, []string{"E-3"}) {
		t.Errorf("the recreated bank matches %v, want [E-3]", got)
	}
}

// TestSyncerFollowsItsOwnChangesCheaply: changes the replica made itself
// are replayed without effect: no second engine build, no bank change
// counted, and no conflict.
func TestSyncerFollowsItsOwnChangesCheaply(t *testing.T) {
	_, s, tn := newShop(t)
	r := startReplica(t, s, s)
	add, _ := codeWord(t, r.engine, tn.ID, "zorbleflax")
	if err := s.AddKBAddition(ctx, add); err != nil {
		t.Fatal(err)
	}
	// As the console does: store, then apply all additions at once.
	adds, err := s.KBAdditions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.engine.Apply(adds); err != nil {
		t.Fatal(err)
	}
	own := confirmedBank(t, r.banks, tn.ID, "api")
	if err := own.AddEntry(ctx, "confirmed", bank.Entry{ID: "E-1", Hash: pdq.Hash{1}, Quality: 90}, "api"); err != nil {
		t.Fatal(err)
	}
	engine := r.engine.Current()
	r.poll(t)
	if r.engine.Current() != engine {
		t.Error("the engine was built again for the replica's own addition")
	}
	if got := r.metric(t, "wildwarden_sync_applied_total", "bank_change"); got != 0 {
		t.Errorf("bank changes applied = %v, want 0 (all were made here)", got)
	}
	if got := r.metric(t, "wildwarden_sync_failures_total", ""); got != 0 {
		t.Errorf("failures = %v, want 0:\n%s", got, r.logs.String())
	}
	if got := r.matches(t, tn.ID, pdq.Hash{1}); !slices.Equal(got, []string{"E-1"}) {
		t.Errorf("the replica's own entry matches %v, want [E-1]", got)
	}
}

// unknownCategory is an addition of a category no knowledge base of the
// tests has, as one stored by a replica whose --kb has more.
func unknownCategory(tenantID string) *wildwarden.KBAddition {
	return &wildwarden.KBAddition{TenantID: tenantID, Kind: wildwarden.KBAddTerm, Text: "quibbleplunk", Lang: "en", Category: "unicorn-horn", Note: "n", CreatedBy: "u-1"}
}

// skippedOnce checks that the log reports the addition skipped once, with
// its ID and why, and that it is counted once and not as a failure.
func (n *node) skippedOnce(t testing.TB, id string) {
	t.Helper()
	logs := n.logs.String()
	if c := strings.Count(logs, "knowledge-base addition skipped"); c != 1 || !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "id="+id) || !strings.Contains(logs, "unicorn-horn") {
		t.Errorf("the log reports the skipped addition %d times, want once with its ID %s and the category:\n%s", c, id, logs)
	}
	if got := n.metric(t, "wildwarden_sync_skipped_total", "kb_addition"); got != 1 {
		t.Errorf("skipped additions = %v, want 1", got)
	}
	if got := n.metric(t, "wildwarden_sync_failures_total", ""); got != 0 {
		t.Errorf("failures = %v, want 0 (a skipped addition is none)", got)
	}
}

// TestSyncerSkipsRefusedAdditionAtStart: of the stored additions A, B and
// C, where this replica's knowledge base refuses B (a category it does
// not have, as from a replica with another --kb), a replica that starts
// applies A and C and reports B, once, with why.
func TestSyncerSkipsRefusedAdditionAtStart(t *testing.T) {
	_, s, tn := newShop(t)
	engine, err := screen.NewReloadable(screen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, listingA := codeWord(t, engine, tn.ID, "zorbleflax")
	b := unknownCategory(tn.ID)
	c, listingC := codeWord(t, engine, tn.ID, "snorkelwump")
	for _, add := range []*wildwarden.KBAddition{a, b, c} {
		if err := s.AddKBAddition(ctx, add); err != nil {
			t.Fatal(err)
		}
	}
	r := startReplica(t, s, s)
	if !hasTerm(r.engine.ScreenListing(listingA), "zorbleflax") || !hasTerm(r.engine.ScreenListing(listingC), "snorkelwump") {
		t.Error("the engine lacks A or C, stored around the refused B")
	}
	applied, skipped := r.engine.Additions()
	if !slices.Equal(applied, []string{a.ID, c.ID}) || len(skipped) != 1 || skipped[0].ID != b.ID {
		t.Errorf("Additions() = %v, %v; want A and C applied, B skipped", applied, skipped)
	}
	r.poll(t)
	r.skippedOnce(t, b.ID)
}

// TestSyncerSkipsRefusedAdditionWhenSyncing: a replica that receives B,
// which its knowledge base refuses, then C applies C, reports B once
// with why, and keeps passing B over as more additions come.
func TestSyncerSkipsRefusedAdditionWhenSyncing(t *testing.T) {
	path, s, tn := newShop(t)
	r := startReplica(t, s, s)
	other := openStore(t, path)
	b := unknownCategory(tn.ID)
	c, listingC := codeWord(t, r.engine, tn.ID, "snorkelwump")
	for _, add := range []*wildwarden.KBAddition{b, c} {
		if err := other.AddKBAddition(ctx, add); err != nil {
			t.Fatal(err)
		}
	}
	r.poll(t)
	if !hasTerm(r.engine.ScreenListing(listingC), "snorkelwump") {
		t.Error("the addition after the refused one was not applied")
	}
	d, listingD := codeWord(t, r.engine, tn.ID, "wibblequark")
	if err := other.AddKBAddition(ctx, d); err != nil {
		t.Fatal(err)
	}
	r.poll(t)
	r.poll(t)
	if !hasTerm(r.engine.ScreenListing(listingD), "wibblequark") {
		t.Error("a later addition was not applied")
	}
	if applied, _ := r.engine.Additions(); !slices.Equal(applied, []string{c.ID, d.ID}) {
		t.Errorf("applied = %v, want C and D", applied)
	}
	if got := r.metric(t, "wildwarden_sync_applied_total", "engine_rebuild"); got != 2 {
		t.Errorf("engine rebuilds = %v, want 2 (C, then D)", got)
	}
	r.skippedOnce(t, b.ID)
}

// TestSyncerKeepsEngineWhenRebuildFails: a rebuild that fails for no
// addition's sake (the policy file broke since the start) leaves the
// engine as it was, says so in the log and the failure count, and is not
// retried at every poll.
func TestSyncerKeepsEngineWhenRebuildFails(t *testing.T) {
	path, s, tn := newShop(t)
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	data, err := os.ReadFile(filepath.Join("..", "policy", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(policy, data, 0o600); err != nil {
		t.Fatal(err)
	}
	engine, err := screen.NewReloadable(screen.Options{PolicyPath: policy})
	if err != nil {
		t.Fatal(err)
	}
	r := &node{engine: engine, reg: prometheus.NewRegistry(), logs: &logBuffer{}}
	r.syncer, err = replica.New(replica.Config{Store: s, Engine: engine, Logger: slog.New(slog.NewTextHandler(r.logs, nil)), Registerer: r.reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(policy, []byte("thresholds: [not, a, map]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	add, _ := codeWord(t, engine, tn.ID, "zorbleflax")
	if err := openStore(t, path).AddKBAddition(ctx, add); err != nil {
		t.Fatal(err)
	}
	before := engine.Current()
	r.poll(t)
	r.poll(t)
	if engine.Current() != before {
		t.Fatal("a failed rebuild replaced the engine")
	}
	if got := r.metric(t, "wildwarden_sync_failures_total", ""); got != 1 {
		t.Errorf("failures = %v, want 1 (the rebuild, once)", got)
	}
	if logs := r.logs.String(); !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "policy") || !strings.Contains(logs, "engine keeps its knowledge base") {
		t.Errorf("the log does not report the failed rebuild:\n%s", logs)
	}
}

// TestSyncerWithoutBanks: a process that holds no image banks (a worker
// that reads no images) follows knowledge-base additions and passes bank
// changes over, before and after an addition, without a failure.
func TestSyncerWithoutBanks(t *testing.T) {
	path, s, tn := newShop(t)
	after, engine := loadEngine(t, s)
	reg := prometheus.NewRegistry()
	syncer, err := replica.New(replica.Config{Store: s, Engine: engine, After: after, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	other := openStore(t, path)
	cli := confirmedBank(t, inspect.NewBanks(other), tn.ID, "cli:bank")
	add, listing := codeWord(t, engine, tn.ID, "zorbleflax")
	if err := other.AddKBAddition(ctx, add); err != nil {
		t.Fatal(err)
	}
	if err := cli.AddEntry(ctx, "confirmed", bank.Entry{ID: "E-1", Hash: pdq.Hash{1}, Quality: 90}, "cli:bank"); err != nil {
		t.Fatal(err)
	}
	if err := syncer.Poll(ctx); err != nil {
		t.Fatalf("Poll without banks: %v", err)
	}
	if !hasTerm(engine.ScreenListing(listing), "zorbleflax") {
		t.Error("the engine does not know the addition stored between two bank changes")
	}
	n := &node{reg: reg}
	if got := n.metric(t, "wildwarden_sync_failures_total", ""); got != 0 {
		t.Errorf("failures = %v, want 0", got)
	}
	if got := n.metric(t, "wildwarden_sync_applied_total", "bank_change"); got != 0 {
		t.Errorf("bank changes applied = %v, want 0 (no banks held)", got)
	}
}

// flakyStore fails the reads it is told to, once each.
type flakyStore struct {
	replica.Store
	failLog, failAdditions bool
}

var errFlaky = errors.New("connection reset")

func (f *flakyStore) SyncLog(ctx context.Context, afterSeq int64, limit int) ([]wildwarden.AuditEntry, error) {
	if f.failLog {
		f.failLog = false
		return nil, errFlaky
	}
	return f.Store.SyncLog(ctx, afterSeq, limit)
}

func (f *flakyStore) KBAdditions(ctx context.Context) ([]wildwarden.KBAddition, error) {
	if f.failAdditions {
		f.failAdditions = false
		return nil, errFlaky
	}
	return f.Store.KBAdditions(ctx)
}

// TestSyncerRetriesAfterStoreFailures: a poll that cannot read the log,
// or the additions, fails and leaves the changes for the next poll.
func TestSyncerRetriesAfterStoreFailures(t *testing.T) {
	path, s, tn := newShop(t)
	flaky := &flakyStore{Store: s}
	r := startReplica(t, flaky, s)
	add, listing := codeWord(t, r.engine, tn.ID, "zorbleflax")
	if err := openStore(t, path).AddKBAddition(ctx, add); err != nil {
		t.Fatal(err)
	}
	for _, fail := range []*bool{&flaky.failLog, &flaky.failAdditions} {
		*fail = true
		if err := r.syncer.Poll(ctx); !errors.Is(err, errFlaky) {
			t.Fatalf("Poll with a failing store = %v, want the store's error", err)
		}
		if hasTerm(r.engine.ScreenListing(listing), "zorbleflax") {
			t.Fatal("the engine changed in a failed poll")
		}
	}
	r.poll(t)
	if !hasTerm(r.engine.ScreenListing(listing), "zorbleflax") {
		t.Error("the poll after the failures did not apply the addition")
	}
	if got := r.metric(t, "wildwarden_sync_failures_total", ""); got != 2 {
		t.Errorf("failures = %v, want 2", got)
	}
}

// BenchmarkPollNoChange measures a poll that finds nothing new on SQLite,
// with an audit log of many screenings (which the poll must not read)
// and some bank changes before the replica's start.
func BenchmarkPollNoChange(b *testing.B) {
	for _, screenings := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("audit=%d", screenings), func(b *testing.B) {
			_, s, tn := newShop(b)
			banks := confirmedBank(b, inspect.NewBanks(s), tn.ID, "b")
			for i := range 100 {
				if err := banks.AddEntry(ctx, "confirmed", bank.Entry{ID: fmt.Sprint(i), Hash: pdq.Hash{uint64(i)}, Quality: 90}, "b"); err != nil {
					b.Fatal(err)
				}
			}
			for start := 0; start < screenings; start += 1000 {
				batch := make([]*wildwarden.Screening, 1000)
				for i := range batch {
					id := fmt.Sprintf("L-%d", start+i)
					batch[i] = &wildwarden.Screening{Listing: &wildwarden.Listing{ID: id, Title: "bangle"}, Verdict: &wildwarden.Verdict{ID: id, Decision: wildwarden.Allow}}
				}
				if _, err := s.SaveScreenings(ctx, tn.ID, batch); err != nil {
					b.Fatal(err)
				}
			}
			after, engine := loadEngine(b, s)
			syncer, err := replica.New(replica.Config{Store: s, Engine: engine, Banks: inspect.NewBanks(s), After: after})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := syncer.Poll(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
