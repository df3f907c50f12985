package bank

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/image/pdq"
)

var day = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

func entry(id string, h pdq.Hash) Entry {
	return Entry{ID: id, Hash: h, Quality: 100, Category: "ivory", Source: "listing L-" + id, AddedBy: "reviewer-1", AddedAt: day}
}

func mustBank(t *testing.T, set *Set, name string, kind Kind) *Bank {
	t.Helper()
	b, err := set.Create(Info{Name: name, Kind: kind})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return b
}

func TestBankAddValidates(t *testing.T) {
	b, err := New(Info{Name: "trafficking-confirmed", Kind: Deny})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Add(entry("one", pdq.Hash{1})); err != nil {
		t.Fatalf("first add: %v", err)
	}
	tests := []struct {
		name      string
		entry     Entry
		wantCode  string
		wantField string
	}{
		{"missing id", entry("", pdq.Hash{2}), wildwarden.EINVALID, "id"},
		{"low quality", func() Entry { e := entry("low", pdq.Hash{3}); e.Quality = MinQuality - 1; return e }(), wildwarden.EINVALID, "quality"},
		{"quality above 100", func() Entry { e := entry("high", pdq.Hash{3}); e.Quality = 101; return e }(), wildwarden.EINVALID, "quality"},
		{"duplicate id", entry("one", pdq.Hash{4}), wildwarden.ECONFLICT, "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b.Add(tt.entry)
			if code := wildwarden.ErrorCode(err); code != tt.wantCode {
				t.Errorf("Add error %v has code %q, want %q", err, code, tt.wantCode)
			}
			if field := wildwarden.ErrorField(err); field != tt.wantField {
				t.Errorf("Add error %v names field %q, want %q", err, field, tt.wantField)
			}
		})
	}
	if b.Len() != 1 {
		t.Errorf("Len = %d after failed adds, want 1", b.Len())
	}
}

func TestNewBankValidatesInfo(t *testing.T) {
	tests := []struct {
		info      Info
		wantField string
	}{
		{Info{Name: "stock-photos", Kind: Allow}, ""},
		{Info{Name: "Stock Photos", Kind: Allow}, "name"},
		{Info{Name: "", Kind: Deny}, "name"},
		{Info{Name: "x", Kind: "maybe"}, "kind"},
	}
	for _, tt := range tests {
		t.Run(tt.info.Name+"/"+string(tt.info.Kind), func(t *testing.T) {
			_, err := New(tt.info)
			if got := wildwarden.ErrorField(err); got != tt.wantField {
				t.Errorf("New(%+v) error %v, want field %q", tt.info, err, tt.wantField)
			}
		})
	}
}

func TestBankMatchSortedByDistance(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	set := NewSet()
	b := mustBank(t, set, "trafficking-confirmed", Deny)
	photo := randomHash(rng)
	distances := map[string]int{"far": 30, "near": 3, "exact": 0, "outside": 40, "mid": 12}
	for id, d := range distances {
		if err := b.Add(entry(id, nearHash(rng, photo, d))); err != nil {
			t.Fatal(err)
		}
	}
	got := b.Match(photo, DefaultRadius)
	want := []struct {
		id       string
		distance int
	}{{"exact", 0}, {"near", 3}, {"mid", 12}, {"far", 30}}
	if len(got) != len(want) {
		t.Fatalf("got %d matches %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		if got[i].Entry.ID != w.id || got[i].Distance != w.distance || got[i].Bank != "trafficking-confirmed" || got[i].Kind != Deny {
			t.Errorf("match %d = %s at %d in %s/%s, want %s at %d", i, got[i].Entry.ID, got[i].Distance, got[i].Bank, got[i].Kind, w.id, w.distance)
		}
	}
	if got[0].Entry.Source != "listing L-exact" || got[0].Entry.AddedBy != "reviewer-1" {
		t.Errorf("match does not carry the entry's provenance: %+v", got[0].Entry)
	}
}

func TestBankRemove(t *testing.T) {
	b, _ := New(Info{Name: "b", Kind: Deny})
	h := pdq.Hash{7, 7, 7, 7}
	if err := b.Add(entry("x", h)); err != nil {
		t.Fatal(err)
	}
	removed, err := b.Remove("x")
	if err != nil || removed.ID != "x" {
		t.Fatalf("Remove = %+v, %v", removed, err)
	}
	if m := b.Match(h, DefaultRadius); len(m) != 0 {
		t.Errorf("removed entry still matches: %+v", m)
	}
	if _, err := b.Remove("x"); wildwarden.ErrorCode(err) != wildwarden.ENOTFOUND {
		t.Errorf("second Remove error %v, want not_found", err)
	}
}

func TestBankEntriesOldestFirst(t *testing.T) {
	b, _ := New(Info{Name: "b", Kind: Deny})
	for i, id := range []string{"c", "a", "b"} {
		e := entry(id, pdq.Hash{uint64(i)})
		e.AddedAt = day.Add(time.Duration(-i) * time.Hour)
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	var order []string
	for _, e := range b.Entries() {
		order = append(order, e.ID)
	}
	if fmt.Sprint(order) != "[b a c]" {
		t.Errorf("Entries order %v, want [b a c] (oldest first)", order)
	}
}

func TestSetMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	stock := randomHash(rng)   // a stock photo, also reported as trafficking once
	seized := randomHash(rng)  // a confirmed trafficking photo
	unknown := randomHash(rng) // matches nothing

	set := NewSet()
	deny := mustBank(t, set, "trafficking-confirmed", Deny)
	other := mustBank(t, set, "partner-shared", Deny)
	allow := mustBank(t, set, "stock-photos", Allow)
	for _, step := range []error{
		deny.Add(entry("seized-1", seized)),
		other.Add(entry("seized-2", nearHash(rng, seized, 5))),
		deny.Add(entry("stock-misfiled", nearHash(rng, stock, 2))),
		allow.Add(entry("stock-1", stock)),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	tests := []struct {
		name           string
		photo          pdq.Result
		wantMatches    []string
		wantAllowed    []string
		wantSuppressed int
		wantLowQuality bool
	}{
		{"matches in two deny banks, nearest first", pdq.Result{Hash: nearHash(rng, seized, 1), Quality: 90}, []string{"seized-1", "seized-2"}, nil, 0, false},
		{"an allow bank suppresses deny matches", pdq.Result{Hash: nearHash(rng, stock, 1), Quality: 90}, nil, []string{"stock-1"}, 1, false},
		{"low quality matches nothing", pdq.Result{Hash: seized, Quality: MinQuality - 1}, nil, nil, 0, true},
		{"unrelated photo", pdq.Result{Hash: unknown, Quality: 100}, nil, nil, 0, false},
	}
	ids := func(ms []Match) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Entry.ID)
		}
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := set.Match(tt.photo, DefaultRadius)
			if fmt.Sprint(ids(got.Matches)) != fmt.Sprint(tt.wantMatches) {
				t.Errorf("matches %v, want %v", ids(got.Matches), tt.wantMatches)
			}
			if fmt.Sprint(ids(got.Allowed)) != fmt.Sprint(tt.wantAllowed) {
				t.Errorf("allowed %v, want %v", ids(got.Allowed), tt.wantAllowed)
			}
			if got.Suppressed != tt.wantSuppressed || got.LowQuality != tt.wantLowQuality {
				t.Errorf("suppressed %d low quality %v, want %d %v", got.Suppressed, got.LowQuality, tt.wantSuppressed, tt.wantLowQuality)
			}
		})
	}
}

func TestSetCreateDelete(t *testing.T) {
	set := NewSet()
	mustBank(t, set, "b", Deny)
	mustBank(t, set, "a", Allow)
	if _, err := set.Create(Info{Name: "a", Kind: Deny}); wildwarden.ErrorCode(err) != wildwarden.ECONFLICT {
		t.Errorf("duplicate Create error %v, want conflict", err)
	}
	var names []string
	for _, b := range set.Banks() {
		names = append(names, b.Name())
	}
	if fmt.Sprint(names) != "[a b]" {
		t.Errorf("Banks %v, want [a b]", names)
	}
	if err := set.Delete("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := set.Bank("a"); wildwarden.ErrorCode(err) != wildwarden.ENOTFOUND {
		t.Errorf("deleted bank still found (error %v)", err)
	}
	if err := set.Delete("a"); wildwarden.ErrorCode(err) != wildwarden.ENOTFOUND {
		t.Errorf("second Delete error %v, want not_found", err)
	}
}

func TestBankConcurrentUse(t *testing.T) {
	b, _ := New(Info{Name: "b", Kind: Deny})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for i := range 300 {
				id := fmt.Sprintf("w%d-%d", w, i)
				h := randomHash(rng)
				if err := b.Add(entry(id, h)); err != nil {
					t.Error(err)
					return
				}
				if m := b.Match(h, 0); len(m) != 1 || m[0].Entry.ID != id {
					t.Errorf("just-added %s not found exactly: %+v", id, m)
					return
				}
				if i%2 == 0 {
					if _, err := b.Remove(id); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if b.Len() != 4*150 {
		t.Errorf("Len = %d, want %d", b.Len(), 4*150)
	}
}

// memoryStore is a Store in memory that records the audit trail, stamps
// what it stores with its own clock (storeTime), and can be told to fail.
type memoryStore struct {
	banks   []Info
	entries map[string][]Entry
	audit   []string
	fail    error
}

// storeTime is memoryStore's clock: what it sets as a bank's CreatedAt and
// an entry's AddedAt, whatever the caller gave.
var storeTime = time.Date(2026, 12, 1, 9, 30, 0, 123456000, time.UTC)

func (s *memoryStore) ListBanks(context.Context) ([]Info, error) { return s.banks, s.fail }
func (s *memoryStore) ListEntries(_ context.Context, bank string) ([]Entry, error) {
	return s.entries[bank], s.fail
}
func (s *memoryStore) Entry(_ context.Context, bank, id string) (Entry, error) {
	for _, e := range s.entries[bank] {
		if e.ID == id {
			return e, s.fail
		}
	}
	if s.fail != nil {
		return Entry{}, s.fail
	}
	return Entry{}, wildwarden.Errorf(wildwarden.ENOTFOUND, "id", "no entry %s/%s", bank, id)
}
func (s *memoryStore) CreateBank(_ context.Context, info Info, actor string) error {
	if err := s.record(fmt.Sprintf("%s create %s", actor, info.Name)); err != nil {
		return err
	}
	info.CreatedAt = storeTime
	s.banks = append(s.banks, info)
	return nil
}
func (s *memoryStore) DeleteBank(_ context.Context, name, actor string) error {
	if err := s.record(fmt.Sprintf("%s delete %s", actor, name)); err != nil {
		return err
	}
	s.banks = slices.DeleteFunc(s.banks, func(info Info) bool { return info.Name == name })
	delete(s.entries, name)
	return nil
}
func (s *memoryStore) AddEntry(_ context.Context, bank string, e Entry, actor string) error {
	if err := s.record(fmt.Sprintf("%s add %s/%s", actor, bank, e.ID)); err != nil {
		return err
	}
	if s.entries == nil {
		s.entries = map[string][]Entry{}
	}
	e.AddedAt = storeTime
	s.entries[bank] = append(s.entries[bank], e)
	return nil
}
func (s *memoryStore) RemoveEntry(_ context.Context, bank, id, actor string) error {
	if err := s.record(fmt.Sprintf("%s remove %s/%s", actor, bank, id)); err != nil {
		return err
	}
	s.entries[bank] = slices.DeleteFunc(s.entries[bank], func(e Entry) bool { return e.ID == id })
	return nil
}
func (s *memoryStore) record(event string) error {
	if s.fail != nil {
		return s.fail
	}
	s.audit = append(s.audit, event)
	return nil
}

func TestLoad(t *testing.T) {
	store := &memoryStore{
		banks:   []Info{{Name: "trafficking-confirmed", Kind: Deny}, {Name: "stock-photos", Kind: Allow}},
		entries: map[string][]Entry{"trafficking-confirmed": {entry("a", pdq.Hash{1}), entry("b", pdq.Hash{2})}},
	}
	set, err := Load(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	b, err := set.Bank("trafficking-confirmed")
	if err != nil || b.Len() != 2 {
		t.Fatalf("loaded bank %v with error %v, want 2 entries", b, err)
	}
	store.fail = errors.New("disk on fire")
	if _, err := Load(context.Background(), store); !errors.Is(err, store.fail) {
		t.Errorf("Load error %v does not wrap the store's", err)
	}
}

func TestPersistentWritesStoreThenMemory(t *testing.T) {
	ctx := context.Background()
	store := &memoryStore{}
	p := Persistent{Set: NewSet(), Store: store}
	if _, err := p.CreateBank(ctx, Info{Name: "trafficking-confirmed", Kind: Deny}, "ana"); err != nil {
		t.Fatal(err)
	}
	if err := p.AddEntry(ctx, "trafficking-confirmed", entry("a", pdq.Hash{1}), "ana"); err != nil {
		t.Fatal(err)
	}
	if err := p.AddEntry(ctx, "trafficking-confirmed", entry("a", pdq.Hash{1}), "ana"); wildwarden.ErrorCode(err) != wildwarden.ECONFLICT {
		t.Errorf("duplicate add error %v, want conflict", err)
	}
	if _, err := p.RemoveEntry(ctx, "trafficking-confirmed", "a", "bo"); err != nil {
		t.Fatal(err)
	}
	store.fail = errors.New("store down")
	err := p.AddEntry(ctx, "trafficking-confirmed", entry("b", pdq.Hash{2}), "ana")
	if !errors.Is(err, store.fail) {
		t.Errorf("AddEntry error %v does not wrap the store failure", err)
	}
	b, _ := p.Set.Bank("trafficking-confirmed")
	if b.Len() != 0 {
		t.Errorf("memory holds %d entries after the store refused; want 0", b.Len())
	}
	store.fail = nil
	if err := p.DeleteBank(ctx, "trafficking-confirmed", "bo"); err != nil {
		t.Fatal(err)
	}
	want := "[ana create trafficking-confirmed ana add trafficking-confirmed/a bo remove trafficking-confirmed/a bo delete trafficking-confirmed]"
	if got := fmt.Sprint(store.audit); got != want {
		t.Errorf("audit trail %s, want %s", got, want)
	}
}

// TestPersistentHoldsWhatTheStoreStored checks that a bank and an entry
// made through Persistent carry, in memory, the times the store stamped
// them with, not the caller's (zero or otherwise), as they would after a
// Load; and that memory takes nothing when the store cannot read back what
// it stored.
func TestPersistentHoldsWhatTheStoreStored(t *testing.T) {
	ctx := context.Background()
	store := &memoryStore{}
	p := Persistent{Set: NewSet(), Store: store}
	b, err := p.CreateBank(ctx, Info{Name: "confirmed", Kind: Deny}, "ana")
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Info().CreatedAt; !got.Equal(storeTime) {
		t.Errorf("bank in memory created at %v, want the store's %v", got, storeTime)
	}
	if err := p.AddEntry(ctx, "confirmed", entry("a", pdq.Hash{1}), "ana"); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Get("a"); !got.AddedAt.Equal(storeTime) {
		t.Errorf("entry in memory added at %v, want the store's %v", got.AddedAt, storeTime)
	}
	loaded, err := Load(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	lb, _ := loaded.Bank("confirmed")
	if mem, _ := b.Get("a"); fmt.Sprint(lb.Info(), lb.Entries()) != fmt.Sprint(b.Info(), []Entry{mem}) {
		t.Errorf("memory holds %v %v, a fresh Load %v %v", b.Info(), mem, lb.Info(), lb.Entries())
	}

	// The store takes the entry and then cannot find it (another process
	// removed it at once): memory does not take it either.
	forgetful := &forgetfulStore{memoryStore: store}
	p.Store = forgetful
	if err := p.AddEntry(ctx, "confirmed", entry("b", pdq.Hash{2}), "ana"); wildwarden.ErrorCode(err) != wildwarden.ENOTFOUND {
		t.Errorf("AddEntry of an entry the store lost = %v, want not found", err)
	}
	if _, ok := b.Get("b"); ok {
		t.Error("memory holds an entry the store does not")
	}
}

// forgetfulStore loses every entry as soon as it is added.
type forgetfulStore struct{ *memoryStore }

func (s *forgetfulStore) AddEntry(ctx context.Context, bank string, e Entry, actor string) error {
	if err := s.memoryStore.AddEntry(ctx, bank, e, actor); err != nil {
		return err
	}
	return s.memoryStore.RemoveEntry(ctx, bank, e.ID, "other-process")
}

// TestPersistentSync replays changes another process made to the store:
// each brings memory to what the store holds, a change memory holds
// already does nothing, and nothing is written back to the store.
func TestPersistentSync(t *testing.T) {
	ctx := context.Background()
	store := &memoryStore{}
	p := Persistent{Set: NewSet(), Store: store}
	mustSync := func(what string, got bool, err error, want bool) {
		t.Helper()
		if err != nil || got != want {
			t.Fatalf("%s = %v, %v; want %v", what, got, err, want)
		}
	}
	matches := func(h pdq.Hash) []string {
		var ids []string
		for _, m := range p.Set.Match(pdq.Result{Hash: h, Quality: 100}, 0).Matches {
			ids = append(ids, m.Entry.ID)
		}
		return ids
	}

	// Another process creates a bank with an entry.
	store.banks = []Info{{Name: "confirmed", Kind: Deny}}
	store.entries = map[string][]Entry{"confirmed": {entry("a", pdq.Hash{1})}}
	got, err := p.SyncCreate(ctx, "confirmed")
	mustSync("SyncCreate", got, err, true)
	got, err = p.SyncCreate(ctx, "confirmed")
	mustSync("SyncCreate again", got, err, false)
	got, err = p.SyncAdd(ctx, "confirmed", "a")
	mustSync("SyncAdd", got, err, true)
	if ids := matches(pdq.Hash{1}); fmt.Sprint(ids) != "[a]" {
		t.Fatalf("matches after SyncAdd = %v, want [a]", ids)
	}
	got, err = p.SyncAdd(ctx, "confirmed", "a")
	mustSync("SyncAdd again", got, err, false)
	got, err = p.SyncAdd(ctx, "confirmed", "removed-since")
	mustSync("SyncAdd of an entry the store no longer has", got, err, false)
	got, err = p.SyncAdd(ctx, "deleted-since", "a")
	mustSync("SyncAdd to a bank memory does not have", got, err, false)
	got, err = p.SyncCreate(ctx, "deleted-since")
	mustSync("SyncCreate of a bank the store no longer has", got, err, false)

	// A change made here and then replayed does nothing.
	if err := p.AddEntry(ctx, "confirmed", entry("b", pdq.Hash{2}), "ana"); err != nil {
		t.Fatal(err)
	}
	got, err = p.SyncAdd(ctx, "confirmed", "b")
	mustSync("SyncAdd of an entry added here", got, err, false)

	// The other process removes a, deletes the bank and creates it again
	// as an allow bank with another entry.
	mustSync("SyncRemove", p.SyncRemove("confirmed", "a"), nil, true)
	mustSync("SyncRemove again", p.SyncRemove("confirmed", "a"), nil, false)
	store.banks = []Info{{Name: "confirmed", Kind: Allow}}
	store.entries = map[string][]Entry{"confirmed": {entry("c", pdq.Hash{3})}}
	mustSync("SyncDelete", p.SyncDelete("confirmed"), nil, true)
	got, err = p.SyncCreate(ctx, "confirmed")
	mustSync("SyncCreate after the deletion", got, err, true)
	got, err = p.SyncAdd(ctx, "confirmed", "c")
	mustSync("SyncAdd to the new bank", got, err, true)
	b, err := p.Set.Bank("confirmed")
	if err != nil || b.Info().Kind != Allow || b.Len() != 1 {
		t.Fatalf("bank after replaying = %+v (%d entries), %v; want the allow bank with c alone", b.Info(), b.Len(), err)
	}
	if _, ok := b.Get("c"); !ok {
		t.Fatal("entry c is missing")
	}

	store.fail = errors.New("store down")
	store.entries["confirmed"] = append(store.entries["confirmed"], entry("d", pdq.Hash{4}))
	if _, err := p.SyncAdd(ctx, "confirmed", "d"); !errors.Is(err, store.fail) {
		t.Errorf("SyncAdd error %v does not wrap the store failure", err)
	}
	if _, ok := b.Get("d"); ok {
		t.Error("memory holds an entry the store could not be read for")
	}
	if want := "[ana add confirmed/b]"; fmt.Sprint(store.audit) != want {
		t.Errorf("store writes %v, want %s alone: replaying writes nothing", store.audit, want)
	}
}
