package servetest

import (
	"context"
	"io"
	"log/slog"
	nethttp "net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/console"
	wwhttp "github.com/wildwarden/wildwarden/http"
	"github.com/wildwarden/wildwarden/postgres"
	"github.com/wildwarden/wildwarden/postgres/pgtest"
	"github.com/wildwarden/wildwarden/screen"
)

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// consoleClient is a browser: it keeps cookies (which go to every port of
// a host, so to both replicas) and does not follow redirects.
type consoleClient struct {
	t      *testing.T
	client *nethttp.Client
}

func newConsoleClient(t *testing.T) *consoleClient {
	jar, _ := cookiejar.New(nil)
	return &consoleClient{t: t, client: &nethttp.Client{Jar: jar, CheckRedirect: func(*nethttp.Request, []*nethttp.Request) error { return nethttp.ErrUseLastResponse }}}
}

// do sends a request and returns the status, the redirect target and the
// body.
func (c *consoleClient) do(method, u string, form url.Values) (int, string, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := nethttp.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(data)
}

func (c *consoleClient) csrf(page string) string {
	c.t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		c.t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

// signIn posts the sign-in form of the console at base.
func (c *consoleClient) signIn(base, user, password string) int {
	c.t.Helper()
	_, _, login := c.do("GET", base+"/login", nil)
	status, _, _ := c.do("POST", base+"/login", url.Values{"csrf": {c.csrf(login)}, "tenant": {"shop"}, "user": {user}, "password": {password}})
	return status
}

// TestConsoleOnTwoReplicas runs the review console on two replicas, each
// with its own pool on one database and no sticky sessions: a session
// started on one works on the other, a sign-out on the other ends it on
// the first at once, and failed sign-ins on both count toward one lockout.
func TestConsoleOnTwoReplicas(t *testing.T) {
	dsn := pgtest.Database(t)
	ctx := wildwarden.WithActor(context.Background(), "test")
	engine, err := screen.NewReloadable(screen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var urls []string
	var setup *postgres.Store
	for range 2 {
		store, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		setup = store
		srv, err := wwhttp.NewServer(wwhttp.Config{Store: store, Screener: engine, Logger: quiet, Console: func(api *wwhttp.Server) (nethttp.Handler, error) {
			return console.New(console.Config{Store: store, Decider: api, Engine: engine, Logger: quiet, Lease: time.Minute})
		}})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		defer hs.Close()
		urls = append(urls, hs.URL)
	}
	first, second := urls[0], urls[1]

	tn := &wildwarden.Tenant{Name: "shop"}
	if err := setup.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	const password = "correct horse battery staple"
	hash, err := console.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "bob"} {
		u := &wildwarden.User{TenantID: tn.ID, Name: name, Role: wildwarden.RoleReviewer}
		if err := setup.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := setup.SetPassword(ctx, tn.ID, u.ID, hash); err != nil {
			t.Fatal(err)
		}
	}

	b := newConsoleClient(t)
	if status := b.signIn(first, "alice", password); status != nethttp.StatusSeeOther {
		t.Fatalf("sign in on the first replica = %d", status)
	}
	status, _, page := b.do("GET", second+"/queue", nil)
	if status != nethttp.StatusOK || !strings.Contains(page, "alice") {
		t.Fatalf("queue on the second replica = %d, want alice's queue", status)
	}
	// Sign out on the second; keep the cookie, which the jar would drop.
	ck := b.client.Jar.Cookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(first, "http://")})
	if status, _, _ := b.do("POST", second+"/logout", url.Values{"csrf": {b.csrf(page)}}); status != nethttp.StatusSeeOther {
		t.Fatalf("sign out on the second replica = %d", status)
	}
	req, _ := nethttp.NewRequest("GET", first+"/queue", nil)
	for _, c := range ck {
		req.AddCookie(c)
	}
	resp, err := newConsoleClient(t).client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != nethttp.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("queue on the first replica after signing out on the second = %d, want a redirect to sign in", resp.StatusCode)
	}

	attacker := newConsoleClient(t)
	for i, base := range []string{first, second, first, second, first} {
		if status := attacker.signIn(base, "bob", "not the password"); status != nethttp.StatusUnauthorized {
			t.Fatalf("failure %d = %d", i+1, status)
		}
	}
	for _, base := range urls {
		if status := attacker.signIn(base, "bob", password); status != nethttp.StatusTooManyRequests {
			t.Fatalf("right password at %s after 5 failures on both replicas = %d, want 429 (locked)", base, status)
		}
	}
}
