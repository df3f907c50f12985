package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/console"
	wwhttp "github.com/wildwarden/wildwarden/http"
	"github.com/wildwarden/wildwarden/screen"
	"github.com/wildwarden/wildwarden/sqlite"
)

// testPassword is every test user's password.
const testPassword = "correct horse battery staple"

// harness is a running service (API and console) on a fresh database,
// with a clock the test can move.
type harness struct {
	t       testing.TB
	store   *sqlite.Store
	engine  *screen.Reloadable
	srv     *httptest.Server
	tenants map[string]string // name → ID
	keys    map[string]string // tenant name → platform key

	clockMu     sync.Mutex
	offset      time.Duration // of the console's clock
	storeOffset time.Duration // of the store's clock, to seed history
}

// storeNow is the store's clock.
func (h *harness) storeNow() time.Time {
	h.clockMu.Lock()
	defer h.clockMu.Unlock()
	return time.Now().Add(h.storeOffset)
}

// at runs fn with the store's clock set back by ago.
func (h *harness) at(ago time.Duration, fn func()) {
	h.clockMu.Lock()
	h.storeOffset = -ago
	h.clockMu.Unlock()
	defer func() {
		h.clockMu.Lock()
		h.storeOffset = 0
		h.clockMu.Unlock()
	}()
	fn()
}

func (h *harness) now() time.Time {
	h.clockMu.Lock()
	defer h.clockMu.Unlock()
	return time.Now().Add(h.offset)
}

// advance moves the console's clock forward.
func (h *harness) advance(d time.Duration) {
	h.clockMu.Lock()
	h.offset += d
	h.clockMu.Unlock()
}

func newHarness(t testing.TB, tenants ...string) *harness {
	t.Helper()
	h := &harness{t: t, tenants: map[string]string{}, keys: map[string]string{}}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "ww.db"), sqlite.Options{Now: h.storeNow})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	engine, err := screen.NewReloadable(screen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h.store, h.engine = store, engine
	h.srv = h.replica()
	ctx := wildwarden.WithActor(context.Background(), "test")
	for _, name := range tenants {
		tn := &wildwarden.Tenant{Name: name}
		if err := store.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
		h.tenants[name] = tn.ID
		secret, _, err := wwhttp.IssueKey(ctx, store, tn.ID, wildwarden.RolePlatform, "", "test platform")
		if err != nil {
			t.Fatal(err)
		}
		h.keys[name] = secret
	}
	return h
}

// replica starts another service (API and console) on the harness's store,
// as a second `wildwarden serve` on the same database would be.
func (h *harness) replica() *httptest.Server {
	h.t.Helper()
	return h.replicaWith(h.store)
}

// replicaWith starts another service whose console uses consoleStore (a
// stand-in over the harness's store).
func (h *harness) replicaWith(consoleStore wildwarden.Store) *httptest.Server {
	h.t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	api, err := wwhttp.NewServer(wwhttp.Config{Store: h.store, Screener: h.engine, Logger: quiet, Console: func(api *wwhttp.Server) (http.Handler, error) {
		return console.New(console.Config{Store: consoleStore, Decider: api, Engine: h.engine, Now: h.now, Lease: time.Minute, Logger: quiet})
	}})
	if err != nil {
		h.t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	h.t.Cleanup(srv.Close)
	return srv
}

// user creates a user with testPassword.
func (h *harness) user(tenant, name, role string) *wildwarden.User {
	h.t.Helper()
	ctx := wildwarden.WithActor(context.Background(), "test")
	u := &wildwarden.User{TenantID: h.tenants[tenant], Name: name, Role: role}
	if err := h.store.CreateUser(ctx, u); err != nil {
		h.t.Fatal(err)
	}
	hash, err := console.HashPassword(testPassword)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.store.SetPassword(ctx, u.TenantID, u.ID, hash); err != nil {
		h.t.Fatal(err)
	}
	return u
}

// screen sends listings through the API as the tenant's platform.
func (h *harness) screen(tenant string, listings ...wildwarden.Listing) []wildwarden.Verdict {
	h.t.Helper()
	body, _ := json.Marshal(map[string]any{"listings": listings})
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/v1/screen/batch", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+h.keys[tenant])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Verdicts []wildwarden.Verdict `json:"verdicts"`
	}
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("screen: %d %s", resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, &out); err != nil {
		h.t.Fatalf("screen: %v: %s", err, data)
	}
	return out.Verdicts
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	h      *harness
	client *http.Client
	base   string // the URL of the service it talks to
}

func (h *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{h: h, base: h.srv.URL, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// via returns the browser talking to another replica with the same
// cookies, as a load balancer without sticky sessions would send it
// (cookies are not bound to a port, so the jar sends them to both).
func (b *browser) via(srv *httptest.Server) *browser {
	return &browser{h: b.h, client: b.client, base: srv.URL}
}

// response is a fetched page.
type response struct {
	status   int
	body     string
	location string
	cookies  []*http.Cookie
}

func (b *browser) do(req *http.Request) response {
	b.h.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, body: string(data), location: resp.Header.Get("Location"), cookies: resp.Cookies()}
}

func (b *browser) get(path string) response {
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) response {
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of a page's forms.
func csrf(t testing.TB, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

// signIn signs in and returns the page's CSRF token of the session.
func (b *browser) signIn(tenant, user, password string) response {
	b.h.t.Helper()
	login := b.get("/login")
	return b.post("/login", url.Values{"csrf": {csrf(b.h.t, login.body)}, "tenant": {tenant}, "user": {user}, "password": {password}})
}

func (b *browser) mustSignIn(tenant, user string) string {
	b.h.t.Helper()
	if r := b.signIn(tenant, user, testPassword); r.status != http.StatusSeeOther {
		b.h.t.Fatalf("sign in as %s: status %d:\n%s", user, r.status, r.body)
	}
	q := b.get("/queue")
	if q.status != http.StatusOK {
		b.h.t.Fatalf("queue after sign-in: %d", q.status)
	}
	return csrf(b.h.t, q.body)
}

// reviewListing is a listing the embedded knowledge base sends to review
// (ivory with a papers claim: a person must look).
func reviewListing(id, seller string) wildwarden.Listing {
	return wildwarden.Listing{ID: id, Lang: "en", Title: "Antique ivory netsuke with papers",
		Description: "Old piece from grandma. Message me on WhatsApp.", Seller: wildwarden.Seller{ID: seller}}
}
