package console_test

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wildwarden/wildwarden"
)

// sessionCookie returns the session cookie a response set, or fails.
func sessionCookie(t testing.TB, r response) *http.Cookie {
	t.Helper()
	for _, c := range r.cookies {
		if c.Name == "ww_session" && c.Value != "" {
			return c
		}
	}
	t.Fatalf("no session cookie in the response (status %d)", r.status)
	return nil
}

// withCookie fetches a page of srv with only this session cookie, as a
// browser that kept it after signing out (or an attacker who copied it)
// would send it.
func withCookie(h *harness, srv *httptest.Server, path string, ck *http.Cookie) response {
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	return h.browser().do(req)
}

// TestTwoReplicasShareSessions runs two consoles on one store, as two
// `wildwarden serve` behind a load balancer without sticky sessions: a
// session started on one works on the other with the same CSRF token, a
// sign-out on the other ends it on the first at once, and a console
// started afresh (a restart) accepts a session it never saw.
func TestTwoReplicasShareSessions(t *testing.T) {
	h := newHarness(t, "shop-a")
	h.user("shop-a", "alice", wildwarden.RoleReviewer)
	first, second := h.srv, h.replica()
	b := h.browser()

	signIn := b.signIn("shop-a", "alice", testPassword)
	ck := sessionCookie(t, signIn)
	token := csrf(t, b.get("/queue").body)
	other := b.via(second)
	q := other.get("/queue")
	if q.status != http.StatusOK || !strings.Contains(q.body, "alice") {
		t.Fatalf("queue on the other replica = %d, want alice's queue", q.status)
	}
	if got := csrf(t, q.body); got != token {
		t.Fatalf("CSRF token on the other replica = %q, want the session's %q", got, token)
	}

	restarted := h.replica()
	if r := withCookie(h, restarted, "/queue", ck); r.status != http.StatusOK {
		t.Fatalf("queue on a console started after the sign-in = %d, want 200", r.status)
	}

	if r := other.post("/logout", url.Values{"csrf": {token}}); r.status != http.StatusSeeOther || r.location != "/login" {
		t.Fatalf("sign out on the other replica = %d to %q", r.status, r.location)
	}
	for name, srv := range map[string]*httptest.Server{"first": first, "second": second, "restarted": restarted} {
		if r := withCookie(h, srv, "/queue", ck); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
			t.Fatalf("queue on the %s replica after signing out = %d to %q, want a redirect to sign in", name, r.status, r.location)
		}
	}
}

// TestTwoReplicasShareLockout: failed sign-ins on either replica count
// toward one lockout, and a sign-in on either clears them.
func TestTwoReplicasShareLockout(t *testing.T) {
	h := newHarness(t, "shop-a")
	h.user("shop-a", "alice", wildwarden.RoleReviewer)
	h.user("shop-a", "carol", wildwarden.RoleReviewer)
	one := h.browser()
	two := h.browser().via(h.replica())

	for i, b := range []*browser{one, two, one, two, one} {
		if r := b.signIn("shop-a", "alice", "not the password"); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d", i+1, r.status)
		}
	}
	for name, b := range map[string]*browser{"first": one, "second": two} {
		if r := b.signIn("shop-a", "alice", testPassword); r.status != http.StatusTooManyRequests {
			t.Fatalf("right password on the %s replica after 5 failures on both = %d, want 429 (locked)", name, r.status)
		}
	}

	// Four failures, a sign-in on the other replica, four more: never five
	// since the last sign-in, so the account stays open.
	for round := range 2 {
		for i := range 4 {
			if r := one.signIn("shop-a", "carol", "not the password"); r.status != http.StatusUnauthorized {
				t.Fatalf("round %d, failure %d = %d", round+1, i+1, r.status)
			}
		}
		if r := two.signIn("shop-a", "carol", testPassword); r.status != http.StatusSeeOther {
			t.Fatalf("round %d: sign-in after 4 failures = %d, want a sign-in (a sign-in on the other replica cleared the earlier failures)", round+1, r.status)
		}
	}
}

// TestPasswordChangeSignsOut: a new password ends the user's sessions.
func TestPasswordChangeSignsOut(t *testing.T) {
	h := newHarness(t, "shop-a")
	alice := h.user("shop-a", "alice", wildwarden.RoleReviewer)
	b := h.browser()
	b.mustSignIn("shop-a", "alice")
	ctx := wildwarden.WithActor(context.Background(), "test")
	if err := h.store.SetPassword(ctx, alice.TenantID, alice.ID, "$argon2id$stand-in"); err != nil {
		t.Fatal(err)
	}
	if r := b.get("/queue"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
		t.Fatalf("queue after a password change = %d to %q, want a redirect to sign in", r.status, r.location)
	}
}

// TestExpiredSessionsPruned: a sign-in attempt now and then deletes the
// rows of expired sessions from the store.
func TestExpiredSessionsPruned(t *testing.T) {
	h := newHarness(t, "shop-a")
	h.user("shop-a", "alice", wildwarden.RoleReviewer)
	b := h.browser()
	ck := sessionCookie(t, b.signIn("shop-a", "alice", testPassword))
	hash := sha256.Sum256([]byte(ck.Value))
	signedInAt := h.now()
	stored := func() bool {
		_, err := h.store.Session(context.Background(), hash[:], signedInAt) // the row, expired or not
		if err != nil && wildwarden.ErrorCode(err) != wildwarden.ENOTFOUND {
			t.Fatal(err)
		}
		return err == nil
	}

	h.advance(13 * time.Hour) // past the 12-hour session
	if r := b.get("/queue"); r.status != http.StatusSeeOther {
		t.Fatalf("queue with an expired session = %d, want a redirect to sign in", r.status)
	}
	if !stored() {
		t.Fatal("the expired session's row went before any sign-in pruned it")
	}
	h.browser().signIn("shop-a", "nobody", "not the password")
	if stored() {
		t.Fatal("a sign-in attempt 13 hours after the last prune left the expired session's row")
	}
}

// BenchmarkSessionCheck measures what reading the session from the store
// on every request costs: a signed-in GET / (the session is read, then a
// redirect to the queue) against a signed-out one (no cookie, no read,
// a redirect to sign in), served by the handler without a network.
func BenchmarkSessionCheck(b *testing.B) {
	h := newHarness(b, "shop-a")
	h.user("shop-a", "alice", wildwarden.RoleReviewer)
	ck := sessionCookie(b, h.browser().signIn("shop-a", "alice", testPassword))
	for _, bb := range []struct {
		name   string
		cookie *http.Cookie
		want   string
	}{
		{"signed-out", nil, "/login?next=%2F"},
		{"signed-in", ck, "/queue"},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				if bb.cookie != nil {
					req.AddCookie(bb.cookie)
				}
				rec := httptest.NewRecorder()
				h.srv.Config.Handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != bb.want {
					b.Fatalf("GET / = %d to %q, want a redirect to %s", rec.Code, rec.Header().Get("Location"), bb.want)
				}
			}
		})
	}
}
