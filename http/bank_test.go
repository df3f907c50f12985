package http_test

import (
	"bytes"
	"encoding/base64"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wildwarden/wildwarden/image/imagetest"

	"github.com/wildwarden/wildwarden"
	wwhttp "github.com/wildwarden/wildwarden/http"
	"github.com/wildwarden/wildwarden/image/fetch"
	"github.com/wildwarden/wildwarden/image/inspect"
	"github.com/wildwarden/wildwarden/screen"
	"github.com/wildwarden/wildwarden/sqlite"
)

var (
	engineOnce sync.Once
	engine     *screen.Engine
	engineErr  error
)

// newImageEnv is a server with the real screening engine reading images
// (no OCR: the image package's tests cover it), on a fresh store.
func newImageEnv(t *testing.T) *env {
	t.Helper()
	return newImageEnvAt(t, filepath.Join(t.TempDir(), "ww.db"))
}

// newImageEnvAt is newImageEnv on the database at path.
func newImageEnvAt(t *testing.T, path string) *env {
	t.Helper()
	engineOnce.Do(func() { engine, engineErr = screen.New(screen.Options{}) })
	if engineErr != nil {
		t.Fatal(engineErr)
	}
	store, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	inspector, err := inspect.New(inspect.Config{Fetcher: fetch.New(fetch.Config{Timeout: 5 * time.Second})})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: store}
	e.server, err = wwhttp.NewServer(wwhttp.Config{Store: store, Screener: engine, Images: inspector, MaxBody: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	e.http = serveValidated(t, e.server)
	t.Cleanup(func() { e.http.Close(); store.Close() })
	e.tenant, e.platform, e.admin, e.rev1, e.rev2 = e.newTenant("shop-a")
	return e
}

// photo draws a deterministic product photo (different seeds give
// unrelated pictures) at width×height and returns it as a JPEG.
func photo(t *testing.T, seed uint64, width, height, quality int) []byte {
	return imagetest.Photo(t, seed, width, height, quality)
}

func jpegURI(data []byte) string {
	return "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(data)
}

// upload sends one photo as multipart/form-data with extra form fields.
func (e *env) upload(path, key string, data []byte, fields map[string]string) response {
	e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			e.t.Fatal(err)
		}
	}
	part, err := mw.CreateFormFile("image", "photo.jpg")
	if err != nil {
		e.t.Fatal(err)
	}
	part.Write(data)
	mw.Close()
	return e.do("POST", path, key, body.Bytes(), "Content-Type", mw.FormDataContentType())
}

func signalsNamed(v wildwarden.Verdict, name string) []wildwarden.Signal {
	var out []wildwarden.Signal
	for _, s := range v.Signals {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// TestBankAPIFlagsRepost adds a photo to a bank through the API, then
// screens a listing whose photo is a resized, recompressed copy: the
// verdict carries the bank match with its evidence. Another tenant's
// listings and requests never see the bank; an allow bank suppresses the
// match; every change is audited.
func TestBankAPIFlagsRepost(t *testing.T) {
	e := newImageEnv(t)
	_, platformB, adminB, _, _ := e.newTenant("shop-b")
	seized := photo(t, 1, 640, 480, 90)
	repost := photo(t, 1, 480, 360, 45)

	e.must(403, "POST", "/v1/banks", e.platform, map[string]string{"name": "confirmed"})
	e.must(403, "POST", "/v1/banks", e.rev1, map[string]string{"name": "confirmed"})
	e.must(400, "POST", "/v1/banks", e.admin, map[string]string{"name": "Not A Name"})
	e.must(400, "POST", "/v1/banks", e.admin, map[string]string{"name": "odd", "kind": "maybe"})
	e.must(201, "POST", "/v1/banks", e.admin, map[string]string{"name": "confirmed", "description": "seized items"})
	e.must(409, "POST", "/v1/banks", e.admin, map[string]string{"name": "confirmed"})

	r := e.upload("/v1/banks/confirmed/entries", e.admin, seized, map[string]string{"id": "E-1", "category": "pangolin", "species": "Manis javanica", "source": "case-17"})
	if r.status != 201 {
		t.Fatalf("upload = %d %s", r.status, r.body)
	}
	var entry struct {
		ID      string `json:"id"`
		Quality int    `json:"quality"`
		AddedBy string `json:"added_by"`
	}
	r.json(t, &entry)
	if entry.ID != "E-1" || entry.Quality < 50 || !strings.HasPrefix(entry.AddedBy, "key:") {
		t.Fatalf("added entry = %+v", entry)
	}
	if r := e.upload("/v1/banks/confirmed/entries", e.admin, []byte("not an image"), nil); r.status != 400 {
		t.Errorf("garbage upload = %d %s, want 400", r.status, r.body)
	}
	if r := e.upload("/v1/banks/confirmed/entries", e.platform, seized, nil); r.status != 403 {
		t.Errorf("platform upload = %d, want 403", r.status)
	}
	e.must(403, "POST", "/v1/banks/confirmed/entries", e.admin, map[string]string{"image": "http://127.0.0.1/x.jpg"}) // the service never fetches from private addresses

	listing := wildwarden.Listing{ID: "L-repost", Title: "old bracelet", Images: []string{jpegURI(repost)}}
	v := e.screen(e.platform, listing)
	matches := signalsNamed(v, inspect.SigBankMatch)
	if len(matches) != 1 {
		t.Fatalf("verdict signals %+v, want one bank match", v.Signals)
	}
	if m := matches[0]; m.Term != "E-1" || m.Category != "pangolin" || !strings.Contains(m.Note, "bank confirmed entry E-1 at distance") || m.Weight <= 0 {
		t.Errorf("bank match signal %+v lacks bank, entry or distance", m)
	}
	if v.Decision == wildwarden.Allow {
		t.Errorf("decision %s for a confirmed photo", v.Decision)
	}

	var match struct {
		Quality int `json:"quality"`
		Outcome struct {
			Matches []struct {
				Bank     string `json:"bank"`
				Distance int    `json:"distance"`
				Entry    struct{ ID string }
			} `json:"matches"`
		} `json:"outcome"`
	}
	e.must(200, "POST", "/v1/images/match", e.platform, map[string]string{"image": jpegURI(repost)}).json(t, &match)
	if len(match.Outcome.Matches) != 1 || match.Outcome.Matches[0].Entry.ID != "E-1" || match.Outcome.Matches[0].Distance > 31 {
		t.Errorf("match = %+v", match)
	}

	// Tenant isolation.
	vb := e.screen(platformB, wildwarden.Listing{ID: "L-repost", Title: "old bracelet", Images: []string{jpegURI(repost)}})
	if got := signalsNamed(vb, inspect.SigBankMatch); len(got) != 0 {
		t.Errorf("tenant b's listing matched tenant a's bank: %+v", got)
	}
	var banksB struct{ Banks []any }
	e.must(200, "GET", "/v1/banks", adminB, nil).json(t, &banksB)
	if len(banksB.Banks) != 0 {
		t.Errorf("tenant b lists banks %+v", banksB.Banks)
	}
	e.must(404, "GET", "/v1/banks/confirmed/entries", adminB, nil)
	e.must(404, "DELETE", "/v1/banks/confirmed/entries/E-1", adminB, nil)
	e.must(404, "DELETE", "/v1/banks/confirmed", adminB, nil)
	var matchB struct{ Outcome struct{ Matches []any } }
	e.must(200, "POST", "/v1/images/match", platformB, map[string]string{"image": jpegURI(repost)}).json(t, &matchB)
	if len(matchB.Outcome.Matches) != 0 {
		t.Errorf("tenant b matched %+v", matchB.Outcome.Matches)
	}

	// An allow bank holding the same photo suppresses the match.
	e.must(201, "POST", "/v1/banks", e.admin, map[string]string{"name": "stock", "kind": "allow"})
	e.must(201, "POST", "/v1/banks/stock/entries", e.admin, map[string]string{"image": jpegURI(seized), "id": "S-1"})
	v = e.screen(e.platform, wildwarden.Listing{ID: "L-stock", Title: "old bracelet", Images: []string{jpegURI(repost)}})
	if got := signalsNamed(v, inspect.SigBankMatch); len(got) != 0 {
		t.Errorf("allow bank did not suppress %+v", got)
	}
	if got := signalsNamed(v, inspect.SigBankAllow); len(got) != 1 || !strings.Contains(got[0].Note, "allow bank stock") {
		t.Errorf("allow signals %+v", got)
	}

	var list struct {
		Banks []struct {
			Name    string
			Kind    string
			Entries int
		}
	}
	e.must(200, "GET", "/v1/banks", e.rev1, nil).json(t, &list)
	if len(list.Banks) != 2 || list.Banks[0].Name != "confirmed" || list.Banks[0].Entries != 1 || list.Banks[1].Kind != "allow" {
		t.Errorf("banks = %+v", list.Banks)
	}
	e.must(204, "DELETE", "/v1/banks/confirmed/entries/E-1", e.admin, nil)
	e.must(404, "DELETE", "/v1/banks/confirmed/entries/E-1", e.admin, nil)
	e.must(204, "DELETE", "/v1/banks/stock", e.admin, nil)

	var audit struct{ Entries []wildwarden.AuditEntry }
	e.must(200, "GET", "/v1/audit", e.admin, nil).json(t, &audit)
	var changes []string
	for _, a := range audit.Entries {
		if strings.HasPrefix(a.Action, "bank.") {
			changes = append(changes, a.Action+" "+a.Subject)
		}
	}
	want := "bank.create confirmed|bank.add confirmed/E-1|bank.create stock|bank.add stock/S-1|bank.remove confirmed/E-1|bank.delete stock"
	if got := strings.Join(changes, "|"); got != want {
		t.Errorf("audited bank changes:\n got %s\nwant %s", got, want)
	}
}

// TestBankRemovedListingImages: after a reviewer removes a listing, its
// photos go into a bank, and a later re-post of the photo with no text at
// all is flagged.
func TestBankRemovedListingImages(t *testing.T) {
	e := newImageEnv(t)
	e.must(201, "POST", "/v1/banks", e.admin, map[string]string{"name": "confirmed"})
	original := wildwarden.Listing{ID: "L-1", Title: "ivory", Images: []string{jpegURI(photo(t, 5, 640, 480, 90))}}
	if v := e.screen(e.platform, original); v.Decision != wildwarden.Review {
		t.Fatalf("first listing decision %s (score %v), want review so a reviewer decides", v.Decision, v.Score)
	}
	e.must(409, "POST", "/v1/listings/L-1/images:bank", e.rev1, map[string]string{"bank": "confirmed"})

	var claim struct{ Item wildwarden.QueueItem }
	e.must(200, "POST", "/v1/queue/claim", e.rev1, nil).json(t, &claim)
	e.must(200, "POST", "/v1/queue/"+claim.Item.ID+"/decision", e.rev1, map[string]any{"action": "remove", "reasons": []string{"ivory"}})

	e.must(403, "POST", "/v1/listings/L-1/images:bank", e.platform, map[string]string{"bank": "confirmed"})
	e.must(404, "POST", "/v1/listings/L-1/images:bank", e.rev1, map[string]string{"bank": "nope"})
	var banked struct {
		Added  int
		Images []struct {
			Entry *struct {
				ID       string
				Category string
				Source   string
			}
			Error string
		}
	}
	e.must(201, "POST", "/v1/listings/L-1/images:bank", e.rev1, map[string]string{"bank": "confirmed"}).json(t, &banked)
	if banked.Added != 1 || banked.Images[0].Entry == nil || banked.Images[0].Entry.ID != "L-1#0" ||
		banked.Images[0].Entry.Category != "ivory" || !strings.Contains(banked.Images[0].Entry.Source, "listing L-1 removed") {
		t.Fatalf("banked = %+v", banked)
	}
	// Banking twice adds nothing: the entries exist.
	e.must(200, "POST", "/v1/listings/L-1/images:bank", e.rev1, map[string]string{"bank": "confirmed"})

	repost := wildwarden.Listing{ID: "L-2", Images: []string{jpegURI(photo(t, 5, 320, 240, 50))}}
	v := e.screen(e.platform, repost)
	if got := signalsNamed(v, inspect.SigBankMatch); len(got) != 1 || got[0].Term != "L-1#0" || got[0].Category != "ivory" {
		t.Fatalf("re-post signals %+v, want a match of L-1#0", v.Signals)
	}
	if v.Decision != wildwarden.Review {
		t.Errorf("re-post with no text: decision %s (score %v), want review", v.Decision, v.Score)
	}
}

// TestBankTimesAreTheStored checks that a bank's created_at and an entry's
// added_at are the times the store keeps, whichever way they are read: in
// the answer that made them (POST /v1/banks, POST entries, a removed
// listing's photos), in the lists, and in the lists after a restart.
func TestBankTimesAreTheStored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ww.db")
	e := newImageEnvAt(t, path)
	type stamped struct {
		Name      string
		ID        string
		CreatedAt time.Time `json:"created_at"`
		AddedAt   time.Time `json:"added_at"`
	}
	var created stamped
	e.must(201, "POST", "/v1/banks", e.admin, map[string]string{"name": "confirmed"}).json(t, &created)
	var added stamped
	e.must(201, "POST", "/v1/banks/confirmed/entries", e.admin, map[string]string{"image": jpegURI(photo(t, 7, 640, 480, 90)), "id": "E-1"}).json(t, &added)

	e.screen(e.platform, wildwarden.Listing{ID: "L-1", Title: "ivory", Images: []string{jpegURI(photo(t, 8, 640, 480, 90))}})
	e.decideNext(e.rev1, "L-1", wildwarden.ActionRemove)
	var banked struct{ Images []struct{ Entry *stamped } }
	e.must(201, "POST", "/v1/listings/L-1/images:bank", e.rev1, map[string]string{"bank": "confirmed"}).json(t, &banked)
	if len(banked.Images) != 1 || banked.Images[0].Entry == nil {
		t.Fatalf("banked %+v, want the listing's photo", banked)
	}
	fromListing := *banked.Images[0].Entry

	want := map[string]time.Time{"bank confirmed": created.CreatedAt, "entry E-1": added.AddedAt, "entry L-1#0": fromListing.AddedAt}
	for what, at := range want {
		if at.IsZero() {
			t.Errorf("the answer that made %s has no time", what)
		}
	}
	// lists reads the banks and entries as a server answers them.
	lists := func(e *env) map[string]time.Time {
		var banks struct{ Banks []stamped }
		e.must(200, "GET", "/v1/banks", e.admin, nil).json(t, &banks)
		var entries struct{ Entries []stamped }
		e.must(200, "GET", "/v1/banks/confirmed/entries", e.admin, nil).json(t, &entries)
		got := map[string]time.Time{}
		for _, b := range banks.Banks {
			got["bank "+b.Name] = b.CreatedAt
		}
		for _, en := range entries.Entries {
			got["entry "+en.ID] = en.AddedAt
		}
		return got
	}
	check := func(when string, got map[string]time.Time) {
		t.Helper()
		for what, at := range want {
			if !got[what].Equal(at) {
				t.Errorf("%s: %s at %v, the answer that made it said %v", when, what, got[what], at)
			}
		}
	}
	check("listed", lists(e))
	e.http.Close()
	e.store.Close()
	restarted := reopen(t, path)
	restarted.admin = e.admin
	check("listed after a restart", lists(restarted))
}

// TestBankListingImagesFieldLimits checks that the text fields of a
// removed listing's photos are held to the limit of every text field.
func TestBankListingImagesFieldLimits(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("x", 4097)
	for _, field := range []string{"species", "category", "note"} {
		r := e.do("POST", "/v1/listings/L-1/images:bank", e.rev1, map[string]string{"bank": "confirmed", field: long})
		var p wwhttp.Problem
		r.json(t, &p)
		if r.status != http.StatusRequestEntityTooLarge || p.Field != field {
			t.Errorf("%s of 4,097 bytes: %d, field %q (%s); want 413 naming %s", field, r.status, p.Field, p.Detail, field)
		}
	}
}

// TestMatchImageBadRequests checks the refusals of the photo endpoint.
func TestMatchImageBadRequests(t *testing.T) {
	e := newImageEnv(t)
	tests := []struct {
		name   string
		body   any
		ctype  string
		status int
	}{
		{"no image", map[string]string{}, "", 400},
		{"loopback URL", map[string]string{"image": "http://127.0.0.1:9/x.jpg"}, "", 403},
		{"local file", map[string]string{"image": "/etc/hosts"}, "", 403},
		{"not an image", map[string]string{"image": "data:image/png;base64,aGVsbG8="}, "", 400},
		{"wrong content type", `{"image":"x"}`, "text/plain", 415},
		{"too large", `{"image":"data:image/jpeg;base64,` + strings.Repeat("A", 15<<20) + `"}`, "", 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.ctype != "" {
				headers = []string{"Content-Type", tt.ctype}
			}
			r := e.do("POST", "/v1/images/match", e.platform, tt.body, headers...)
			if r.status != tt.status {
				t.Errorf("status %d %s, want %d", r.status, r.body, tt.status)
			}
		})
	}
	if r := e.do("POST", "/v1/images/match", "", map[string]string{}); r.status != http.StatusUnauthorized {
		t.Errorf("no key: %d", r.status)
	}
	// The refusal of a request without a photo names what the fetcher
	// takes: http URLs too, as the loopback case shows (refused for its
	// address, not its scheme).
	var p wwhttp.Problem
	e.do("POST", "/v1/images/match", e.platform, map[string]string{}).json(t, &p)
	if p.Field != "image" || !strings.Contains(p.Detail, "a data: URI or an http(s) URL") {
		t.Errorf("no image: field %q, detail %q; want image, naming data: URIs and http(s) URLs", p.Field, p.Detail)
	}
}
