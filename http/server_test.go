package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wildwarden/wildwarden"
	wwhttp "github.com/wildwarden/wildwarden/http"
	"github.com/wildwarden/wildwarden/sqlite"
)

// Markers the fake screener reacts to.
const (
	blockMarker  = "BLOCKME"
	reviewMarker = "REVIEWME"
)

// fakeScreener blocks titles with blockMarker, asks review for
// reviewMarker, allows the rest, and counts its calls.
type fakeScreener struct{ calls atomic.Int64 }

func (f *fakeScreener) Screen(ctx context.Context, l *wildwarden.Listing) (*wildwarden.Verdict, error) {
	f.calls.Add(1)
	v := &wildwarden.Verdict{ID: l.ID, Decision: wildwarden.Allow, Score: 0.01, Categories: []string{}, Species: []wildwarden.Species{}, Signals: []wildwarden.Signal{}, KBVersion: "kb-test", ModelVersion: "model-test"}
	text := l.Title + " " + l.Description
	switch {
	case strings.Contains(text, blockMarker):
		v.Decision, v.Score, v.Reason = wildwarden.Block, 0.97, "test marker with sale intent"
		v.Categories = []string{"ivory"}
		v.Species = []wildwarden.Species{{Name: "Loxodonta africana", Common: "African elephant", CITES: "I"}}
		v.Signals = []wildwarden.Signal{{Name: "lexicon.test", Weight: 2, Field: "title", Text: blockMarker}}
	case strings.Contains(text, reviewMarker):
		v.Decision, v.Score, v.Reason = wildwarden.Review, 0.6, "test marker without sale intent"
		v.Species = []wildwarden.Species{{Name: "Manis pentadactyla", Common: "Chinese pangolin", CITES: "I"}}
	}
	return v, nil
}

func (f *fakeScreener) Versions() (string, string) { return "kb-test", "model-test" }

// env is a server on a fresh store with one tenant and keys of each role.
type env struct {
	t        *testing.T
	store    *sqlite.Store
	server   *wwhttp.Server
	http     *httptest.Server
	screener *fakeScreener
	tenant   string
	platform string
	admin    string
	rev1     string
	rev2     string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvAt(t, filepath.Join(t.TempDir(), "ww.db"))
}

func newEnvAt(t *testing.T, path string) *env {
	t.Helper()
	store, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	e := &env{t: t, store: store, screener: &fakeScreener{}}
	e.server, err = wwhttp.NewServer(wwhttp.Config{Store: store, Screener: e.screener, MaxBody: 64 << 10})
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	e.http = serveValidated(t, e.server)
	t.Cleanup(func() { e.http.Close(); store.Close() })
	e.tenant, e.platform, e.admin, e.rev1, e.rev2 = e.newTenant("shop-a")
	return e
}

// newTenant creates a tenant with a platform key, an admin key and two
// reviewers.
func (e *env) newTenant(name string) (id, platform, admin, rev1, rev2 string) {
	e.t.Helper()
	ctx := context.Background()
	tn := &wildwarden.Tenant{Name: name}
	if err := e.store.CreateTenant(ctx, tn); err != nil {
		e.t.Fatalf("CreateTenant: %v", err)
	}
	key := func(role, user string) string {
		secret, _, err := wwhttp.IssueKey(ctx, e.store, tn.ID, role, user, "")
		if err != nil {
			e.t.Fatalf("IssueKey: %v", err)
		}
		return secret
	}
	reviewer := func(n string) string {
		u := &wildwarden.User{TenantID: tn.ID, Name: n, Role: wildwarden.RoleReviewer}
		if err := e.store.CreateUser(ctx, u); err != nil {
			e.t.Fatalf("CreateUser: %v", err)
		}
		return key(wildwarden.RoleReviewer, u.ID)
	}
	return tn.ID, key(wildwarden.RolePlatform, ""), key(wildwarden.RoleAdmin, ""), reviewer("alice"), reviewer("bob")
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request with a key and a JSON body (a string or a value).
func (e *env) do(method, path, key string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// must sends a request and fails unless the status is want.
func (e *env) must(want int, method, path, key string, body any) response {
	e.t.Helper()
	r := e.do(method, path, key, body)
	if r.status != want {
		e.t.Fatalf("%s %s = %d %s; want %d", method, path, r.status, r.body, want)
	}
	return r
}

func (e *env) screen(key string, l wildwarden.Listing) wildwarden.Verdict {
	e.t.Helper()
	var v wildwarden.Verdict
	e.must(200, "POST", "/v1/screen", key, l).json(e.t, &v)
	return v
}

func openStore(path string) (*sqlite.Store, error) { return sqlite.Open(path, sqlite.Options{}) }
