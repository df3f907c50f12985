package inspect

import (
	"context"
	"image"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/image/bank"
	"github.com/wildwarden/wildwarden/image/fetch"
	"github.com/wildwarden/wildwarden/image/ocr"
	"github.com/wildwarden/wildwarden/image/pdq"
	"github.com/wildwarden/wildwarden/internal/shareddata"
	"github.com/wildwarden/wildwarden/screen"
	"github.com/wildwarden/wildwarden/sqlite"
)

var (
	engineOnce sync.Once
	engine     *screen.Engine
	engineErr  error
)

// testEngine builds the screening engine on the embedded knowledge base
// once for all tests.
func testEngine(t *testing.T) *screen.Engine {
	t.Helper()
	engineOnce.Do(func() { engine, engineErr = screen.New(screen.Options{}) })
	if engineErr != nil {
		t.Fatal(engineErr)
	}
	return engine
}

// newScreener returns a screener whose fetcher refuses local files, as the
// service's does; ocrEngine may be nil.
func newScreener(t *testing.T, ocrEngine *ocr.Engine) *Screener {
	t.Helper()
	in, err := New(Config{Fetcher: fetch.New(fetch.Config{Timeout: 5 * time.Second}), OCR: ocrEngine})
	if err != nil {
		t.Fatal(err)
	}
	return &Screener{Engine: testEngine(t), Inspector: in}
}

// bankWith returns a set with one deny bank holding the given photos as
// entries "E-0", "E-1", ….
func bankWith(t *testing.T, name string, kind bank.Kind, photos ...image.Image) *bank.Set {
	t.Helper()
	set := bank.NewSet()
	addBank(t, set, name, kind, photos...)
	return set
}

func addBank(t *testing.T, set *bank.Set, name string, kind bank.Kind, photos ...image.Image) {
	t.Helper()
	b, err := set.Create(bank.Info{Name: name, Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range photos {
		h := pdq.HashImage(p)
		e := bank.Entry{ID: "E-" + string(rune('0'+i)), Hash: h.Hash, Quality: h.Quality, Category: "pangolin", Species: "Manis javanica", Source: "L-seized"}
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
}

// twoShops opens a SQLite store at path, closed when the test ends, with
// the tenants shop-a and shop-b, and returns it with their IDs.
func twoShops(t *testing.T, path string) (store *sqlite.Store, a, b string) {
	t.Helper()
	store, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var ids []string
	for _, name := range []string{"shop-a", "shop-b"} {
		tn := &wildwarden.Tenant{Name: name}
		if err := store.CreateTenant(wildwarden.WithActor(context.Background(), "test"), tn); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tn.ID)
	}
	return store, ids[0], ids[1]
}

func signalsNamed(v *wildwarden.Verdict, name string) []wildwarden.Signal {
	var out []wildwarden.Signal
	for _, s := range v.Signals {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// TestScreenFlagsTextInPhoto is the acceptance test: a listing
// whose only text is inside its photo (a code word for ivory and a WeChat
// id) is flagged through OCR, and the evidence says which photo.
func TestScreenFlagsTextInPhoto(t *testing.T) {
	ocrEngine := ocr.New(ocr.Config{})
	if !ocrEngine.Available() {
		shareddata.SkipOrFail(t, "%s", ocrEngine.Status())
	}
	caption := captionPhoto(t, "老白塑料手镯", "加V: ivory888")
	plain := encodeJPEG(t, scenePhoto(1, 320, 240), 85)
	l := &wildwarden.Listing{ID: "L-ocr", Title: "手镯", Images: []string{dataURI("image/jpeg", plain), dataURI("image/png", caption)}}

	v, report, err := newScreener(t, ocrEngine).Screen(context.Background(), l, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.Decision == wildwarden.Allow {
		t.Fatalf("decision %s (score %v, %s); want the text in the photo to flag it", v.Decision, v.Score, v.Reason)
	}
	if !strings.Contains(l.ImageText, "ivory888") {
		t.Errorf("listing ImageText = %q; want the WeChat id read from the photo", l.ImageText)
	}
	tests := []struct {
		signal, text string
	}{
		{"lexicon.code_word", "白塑料"},
		{"context.contact", "ivory888"},
	}
	for _, tt := range tests {
		found := false
		for _, s := range signalsNamed(v, tt.signal) {
			if s.Field != wildwarden.FieldImageText || !strings.Contains(s.Text, tt.text) {
				continue
			}
			found = true
			if !strings.Contains(s.Note, "image 1 (data:image/png;base64,…)") {
				t.Errorf("%s signal note %q does not name image 1", tt.signal, s.Note)
			}
		}
		if !found {
			t.Errorf("no %s signal quoting %q in image_text; signals %+v (image text %q)", tt.signal, tt.text, v.Signals, l.ImageText)
		}
	}
	if report.Images[1].TextSpan == nil || report.Images[0].Err != "" || report.Images[1].Err != "" {
		t.Errorf("report images %+v", report.Images)
	}
}

// TestScreenMatchesBank screens listings whose photo is a copy of a bank
// entry changed the way re-posts are (resized, recompressed, rotated), and
// photos that must not match.
func TestScreenMatchesBank(t *testing.T) {
	original := scenePhoto(7, 640, 480)
	set := bankWith(t, "trafficking-confirmed", bank.Deny, original)
	tests := []struct {
		name      string
		photo     []byte
		wantMatch bool
	}{
		{"resized and recompressed", encodeJPEG(t, resized(original, 400, 300), 55), true},
		{"rotated a quarter turn", encodeJPEG(t, rotated90(original), 80), true},
		{"a different photo", encodeJPEG(t, scenePhoto(8, 640, 480), 80), false},
		{"a flat photo (quality too low)", encodeJPEG(t, image.NewRGBA(image.Rect(0, 0, 200, 200)), 80), false},
	}
	screener := newScreener(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &wildwarden.Listing{ID: "L-1", Title: "old bracelet", Images: []string{dataURI("image/jpeg", tt.photo)}}
			v, report, err := screener.Screen(context.Background(), l, set)
			if err != nil {
				t.Fatal(err)
			}
			matches := signalsNamed(v, SigBankMatch)
			if !tt.wantMatch {
				if len(matches) > 0 {
					t.Fatalf("unexpected bank match %+v", matches)
				}
				return
			}
			if len(matches) != 1 {
				t.Fatalf("%d bank-match signals, want 1 (report %+v)", len(matches), report.Images)
			}
			m := matches[0]
			distance := report.Images[0].Banks.Matches[0].Distance
			if m.Field != FieldImages || m.Term != "E-0" || m.Category != "pangolin" || m.Species != "Manis javanica" || m.Weight <= 0 ||
				!strings.Contains(m.Note, "bank trafficking-confirmed entry E-0 at distance") || !strings.Contains(m.Note, "image 0") {
				t.Errorf("bank signal %+v lacks its evidence", m)
			}
			if distance > bank.DefaultRadius {
				t.Errorf("distance %d beyond the radius", distance)
			}
			if v.Decision == wildwarden.Allow {
				t.Errorf("decision %s (score %v); a confirmed photo must reach review", v.Decision, v.Score)
			}
		})
	}
}

// TestAllowBankSuppressesMatch: a stock photo in an allow bank never
// matches a deny bank, and the verdict says why.
func TestAllowBankSuppressesMatch(t *testing.T) {
	stock := scenePhoto(11, 640, 480)
	set := bankWith(t, "trafficking-confirmed", bank.Deny, stock)
	screener := newScreener(t, nil)
	l := &wildwarden.Listing{ID: "L-2", Title: "bracelet", Images: []string{dataURI("image/jpeg", encodeJPEG(t, stock, 70))}}
	v, _, err := screener.Screen(context.Background(), l, set)
	if err != nil {
		t.Fatal(err)
	}
	if len(signalsNamed(v, SigBankMatch)) != 1 {
		t.Fatalf("before the allow bank: signals %+v, want a bank match", v.Signals)
	}
	addBank(t, set, "stock-photos", bank.Allow, stock)
	v, report, err := screener.Screen(context.Background(), l, set)
	if err != nil {
		t.Fatal(err)
	}
	if got := signalsNamed(v, SigBankMatch); len(got) != 0 {
		t.Errorf("allow bank did not suppress %+v", got)
	}
	allowed := signalsNamed(v, SigBankAllow)
	if len(allowed) != 1 || !strings.Contains(allowed[0].Note, "allow bank stock-photos") || !strings.Contains(allowed[0].Note, "1 deny match(es) suppressed") {
		t.Errorf("allow signals %+v, want one naming the bank and the suppressed match", allowed)
	}
	if report.Images[0].Banks.Suppressed != 1 {
		t.Errorf("Suppressed = %d, want 1", report.Images[0].Banks.Suppressed)
	}
}

// TestUnreadableImagesKeepScreening: an image that cannot be fetched is
// reported, and the listing is still screened on its text.
func TestUnreadableImagesKeepScreening(t *testing.T) {
	screener := newScreener(t, nil)
	l := &wildwarden.Listing{ID: "L-3", Title: "ivory bangle for sale", Images: []string{
		"http://127.0.0.1:1/photo.jpg", // a loopback address: refused
		"/etc/passwd",                  // a local file: refused by the service
		"data:image/png;base64,bm90IGFuIGltYWdl",
	}}
	v, report, err := screener.Screen(context.Background(), l, bank.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	for i, im := range report.Images {
		if im.Err == "" || im.Index != i {
			t.Errorf("image %d: %+v, want an error", i, im)
		}
	}
	if v.Decision == wildwarden.Allow {
		t.Errorf("text verdict lost: %s %v", v.Decision, v.Score)
	}
}

func TestJoinAndImageAt(t *testing.T) {
	r := &Report{Images: []Image{{Index: 0, Text: "象牙"}, {Index: 1}, {Index: 2, Text: " wx: abc123 \n"}}}
	r.join()
	if r.Text != "象牙\n\nwx: abc123" {
		t.Fatalf("joined text %q", r.Text)
	}
	tests := []struct {
		pos  int
		want int // image index, -1 for none
	}{
		{0, 0}, {1, 0}, {2, -1}, {3, -1}, {4, 2}, {13, 2}, {14, -1},
	}
	for _, tt := range tests {
		got := -1
		if im := r.ImageAt(tt.pos); im != nil {
			got = im.Index
		}
		if got != tt.want {
			t.Errorf("ImageAt(%d) = image %d, want %d", tt.pos, got, tt.want)
		}
	}
}

func TestShortRef(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("象", 100)
	tests := []struct{ in, want string }{
		{"https://example.com/a.jpg", "https://example.com/a.jpg"},
		{"data:image/png;base64,AAAA", "data:image/png;base64,…"},
		{"DATA:image/jpeg;base64,AAAA", "DATA:image/jpeg;base64,…"},
		{long, long[:200] + "…"},                                                                          // 20 ASCII bytes, then 3-byte runes: byte 200 starts a rune
		{"https://ex.com/" + strings.Repeat("象", 100), "https://ex.com/" + strings.Repeat("象", 61) + "…"}, // byte 200 is inside a rune: cut before it
	}
	for _, tt := range tests {
		if got := ShortRef(tt.in); got != tt.want {
			t.Errorf("ShortRef(%.40q) = %.60q, want %.60q", tt.in, got, tt.want)
		}
	}
}

// TestBanksPersistPerTenant stores banks through Banks on SQLite, checks
// that one tenant's entries never match another tenant's photos, and
// that a fresh Banks loads what was stored.
func TestBanksPersistPerTenant(t *testing.T) {
	store, a, b := twoShops(t, filepath.Join(t.TempDir(), "ww.db"))
	ctx := wildwarden.WithActor(context.Background(), "test")
	photo := scenePhoto(21, 320, 240)
	h := pdq.HashDihedral(photo)

	banks := NewBanks(store)
	pa, err := banks.Tenant(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pa.CreateBank(ctx, bank.Info{Name: "confirmed", Kind: bank.Deny}, "test"); err != nil {
		t.Fatal(err)
	}
	if err := pa.AddEntry(ctx, "confirmed", bank.Entry{ID: "E-1", Hash: h.Hashes[pdq.Original], Quality: h.Quality, Category: "ivory"}, "test"); err != nil {
		t.Fatal(err)
	}

	matched := func(banks *Banks, tenant string) int {
		set, err := banks.Set(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		return len(MatchDihedral(set, h, bank.DefaultRadius).Matches)
	}
	tests := []struct {
		name   string
		banks  *Banks
		tenant string
		want   int
	}{
		{"owner, in memory", banks, a, 1},
		{"other tenant, in memory", banks, b, 0},
		{"owner, reloaded", NewBanks(store), a, 1},
		{"other tenant, reloaded", NewBanks(store), b, 0},
	}
	for _, tt := range tests {
		if got := matched(tt.banks, tt.tenant); got != tt.want {
			t.Errorf("%s: %d matches, want %d", tt.name, got, tt.want)
		}
	}
	n, entries, err := NewBanks(store).LoadAll(ctx, []string{a, b})
	if err != nil || n != 1 || entries != 1 {
		t.Errorf("LoadAll = %d banks, %d entries, %v; want 1, 1", n, entries, err)
	}
}

// TestBanksApply replays changes another process stored, by their audit
// entries: an entry whose ID holds "/" lands in the right bank, only the
// changed tenant is touched, a tenant not loaded yet stays unloaded (it is
// read whole on first use), and a malformed subject is refused as invalid.
func TestBanksApply(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ww.db")
	store, a, b := twoShops(t, path)
	ctx := wildwarden.WithActor(context.Background(), "test")
	banks := NewBanks(store)
	if _, err := banks.Tenant(ctx, a); err != nil {
		t.Fatal(err)
	}
	after, err := store.SyncHead(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Another process on the same file changes both tenants' banks.
	other, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for _, tenant := range []string{a, b} {
		cli := &bank.Persistent{Set: bank.NewSet(), Store: TenantStore(other, tenant)}
		if _, err := cli.CreateBank(ctx, bank.Info{Name: "confirmed", Kind: bank.Deny}, "cli"); err != nil {
			t.Fatal(err)
		}
		if err := cli.AddEntry(ctx, "confirmed", bank.Entry{ID: "case-17/photo#1", Hash: pdq.Hash{1}, Quality: 90}, "cli"); err != nil {
			t.Fatal(err)
		}
	}
	changes, err := store.SyncLog(ctx, after, 100)
	if err != nil || len(changes) != 4 {
		t.Fatalf("SyncLog = %d changes, %v; want 4", len(changes), err)
	}
	var applied []string
	for _, c := range changes {
		changed, err := banks.Apply(ctx, c)
		if err != nil {
			t.Fatalf("Apply(%s %s): %v", c.Action, c.Subject, err)
		}
		if changed {
			applied = append(applied, c.TenantID+" "+c.Action+" "+c.Subject)
		}
	}
	if want := []string{a + " bank.create confirmed", a + " bank.add confirmed/case-17/photo#1"}; strings.Join(applied, "|") != strings.Join(want, "|") {
		t.Errorf("changes applied:\n got %q\nwant %q (tenant b is not loaded)", applied, want)
	}
	set, err := banks.Set(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if m := set.Match(pdq.Result{Hash: pdq.Hash{1}, Quality: 90}, 0).Matches; len(m) != 1 || m[0].Entry.ID != "case-17/photo#1" {
		t.Errorf("tenant a matches %+v, want the entry the other process added", m)
	}
	if setB, err := banks.Set(ctx, b); err != nil || len(setB.Banks()) != 1 {
		t.Errorf("tenant b, loaded on first use, has %v banks (%v); want the one stored", setB.Banks(), err)
	}

	_, err = banks.Apply(ctx, wildwarden.AuditEntry{Seq: 99, TenantID: a, Action: wildwarden.AuditBankAdd, Subject: "no-slash"})
	if wildwarden.ErrorCode(err) != wildwarden.EINVALID {
		t.Errorf("Apply of a malformed subject = %v, want invalid", err)
	}
}

// countingBankStore counts the loads of a tenant's bank list.
type countingBankStore struct {
	BankStore
	loads int
}

func (c *countingBankStore) ImageBanks(ctx context.Context, tenantID string) ([]wildwarden.ImageBank, error) {
	c.loads++
	return c.BankStore.ImageBanks(ctx, tenantID)
}

// TestTenantScreenerMatchesTheTenantsBanks: a listing's photo matches the
// banks of the tenant it is screened for and no other tenant's, and a
// listing without images leaves the banks unloaded.
func TestTenantScreenerMatchesTheTenantsBanks(t *testing.T) {
	store, a, b := twoShops(t, filepath.Join(t.TempDir(), "ww.db"))
	ctx := wildwarden.WithActor(context.Background(), "test")
	photo := scenePhoto(31, 640, 480)
	h := pdq.HashImage(photo)
	owner := &bank.Persistent{Set: bank.NewSet(), Store: TenantStore(store, a)}
	if _, err := owner.CreateBank(ctx, bank.Info{Name: "confirmed", Kind: bank.Deny}, "test"); err != nil {
		t.Fatal(err)
	}
	if err := owner.AddEntry(ctx, "confirmed", bank.Entry{ID: "E-1", Hash: h.Hash, Quality: h.Quality, Category: "ivory"}, "test"); err != nil {
		t.Fatal(err)
	}

	counting := &countingBankStore{BankStore: store}
	ts := &TenantScreener{Screener: newScreener(t, nil), Banks: NewBanks(counting)}
	textOnly := &wildwarden.Listing{ID: "L-text", Title: "old bracelet"}
	if _, err := ts.ScreenFor(ctx, a, textOnly); err != nil {
		t.Fatal(err)
	}
	if counting.loads != 0 {
		t.Errorf("a listing without images loaded the banks %d times", counting.loads)
	}
	tests := []struct {
		name   string
		screen func(l *wildwarden.Listing) (*wildwarden.Verdict, error)
		want   int
	}{
		{"the owner", func(l *wildwarden.Listing) (*wildwarden.Verdict, error) { return ts.ScreenFor(ctx, a, l) }, 1},
		{"another tenant", func(l *wildwarden.Listing) (*wildwarden.Verdict, error) { return ts.ScreenFor(ctx, b, l) }, 0},
		{"no tenant", func(l *wildwarden.Listing) (*wildwarden.Verdict, error) { return ts.Screen(ctx, l) }, 0},
	}
	for _, tt := range tests {
		l := &wildwarden.Listing{ID: "L-photo", Title: "old bracelet", Images: []string{dataURI("image/jpeg", encodeJPEG(t, photo, 85))}}
		v, err := tt.screen(l)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := signalsNamed(v, SigBankMatch); len(got) != tt.want {
			t.Errorf("%s: %d bank-match signals, want %d", tt.name, len(got), tt.want)
		}
	}
}
