package storetest

import (
	"crypto/sha256"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wildwarden/wildwarden"
)

// hashOf stands for the SHA-256 of a session cookie's token.
func hashOf(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func mustUser(t *testing.T, s wildwarden.Store, tenant, name, role string) *wildwarden.User {
	t.Helper()
	u := &wildwarden.User{TenantID: tenant, Name: name, Role: role}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	return u
}

func mustSession(t *testing.T, s wildwarden.Store, token string, u *wildwarden.User, expires time.Time) *wildwarden.ConsoleSession {
	t.Helper()
	cs := &wildwarden.ConsoleSession{TokenHash: hashOf(token), TenantID: u.TenantID, UserID: u.ID, Role: u.Role, CSRF: "csrf-" + token, ExpiresAt: expires}
	if err := s.CreateSession(ctx, cs); err != nil {
		t.Fatalf("CreateSession(%s): %v", token, err)
	}
	return cs
}

// liveSession returns the session of token if it is valid at now, else nil.
func liveSession(t *testing.T, s wildwarden.Store, token string, now time.Time) *wildwarden.ConsoleSession {
	t.Helper()
	cs, err := s.Session(ctx, hashOf(token), now)
	if wildwarden.ErrorCode(err) == wildwarden.ENOTFOUND {
		return nil
	}
	if err != nil {
		t.Fatalf("Session(%s): %v", token, err)
	}
	return cs
}

// testSessions: a session is found by its token hash with its tenant and
// user until it expires or is ended; a password change ends the user's
// sessions and no other's; pruning deletes expired ones only.
func testSessions(t *testing.T, s wildwarden.Store) {
	a, b := mustTenant(t, s, "shop-a"), mustTenant(t, s, "shop-b")
	alice := mustUser(t, s, a, "alice", wildwarden.RoleReviewer)
	root := mustUser(t, s, a, "root", wildwarden.RoleAdmin)
	bob := mustUser(t, s, b, "alice", wildwarden.RoleReviewer) // same name, other tenant
	now := time.Now().UTC().Truncate(time.Second)
	expires := now.Add(12 * time.Hour)

	mustSession(t, s, "alice-1", alice, expires)
	mustSession(t, s, "alice-2", alice, expires)
	mustSession(t, s, "root-1", root, expires)
	mustSession(t, s, "bob-1", bob, expires)
	mustSession(t, s, "short", alice, now.Add(time.Minute))

	got := liveSession(t, s, "alice-1", now)
	if got == nil || got.TenantID != a || got.TenantName != "shop-a" || got.UserID != alice.ID || got.UserName != "alice" ||
		got.Role != wildwarden.RoleReviewer || got.CSRF != "csrf-alice-1" || !got.ExpiresAt.Equal(expires) || got.CreatedAt.IsZero() {
		t.Fatalf("Session(alice-1) = %+v", got)
	}
	if got := liveSession(t, s, "bob-1", now); got == nil || got.TenantID != b || got.TenantName != "shop-b" || got.UserID != bob.ID {
		t.Fatalf("Session(bob-1) = %+v, want tenant b's user: the same user name in another tenant is another person", got)
	}
	if got := liveSession(t, s, "never issued", now); got != nil {
		t.Fatalf("Session of an unknown token = %+v", got)
	}

	// Expiry is decided by the caller's clock.
	if liveSession(t, s, "short", now.Add(59*time.Second)) == nil {
		t.Fatal("a session was refused before it expired")
	}
	if got := liveSession(t, s, "short", now.Add(time.Minute)); got != nil {
		t.Fatalf("a session at its expiry = %+v, want none", got)
	}

	// Bad sessions are refused.
	wantCode(t, "CreateSession of another tenant's user", s.CreateSession(ctx, &wildwarden.ConsoleSession{
		TokenHash: hashOf("x"), TenantID: b, UserID: alice.ID, Role: wildwarden.RoleReviewer, CSRF: "c", ExpiresAt: expires}), wildwarden.ENOTFOUND)
	wantCode(t, "CreateSession with a raw token", s.CreateSession(ctx, &wildwarden.ConsoleSession{
		TokenHash: []byte("a raw token"), TenantID: a, UserID: alice.ID, Role: wildwarden.RoleReviewer, CSRF: "c", ExpiresAt: expires}), wildwarden.EINVALID)
	wantCode(t, "CreateSession without a CSRF token", s.CreateSession(ctx, &wildwarden.ConsoleSession{
		TokenHash: hashOf("y"), TenantID: a, UserID: alice.ID, Role: wildwarden.RoleReviewer, ExpiresAt: expires}), wildwarden.EINVALID)
	wantCode(t, "CreateSession with a taken token", s.CreateSession(ctx, &wildwarden.ConsoleSession{
		TokenHash: hashOf("alice-1"), TenantID: a, UserID: alice.ID, Role: wildwarden.RoleReviewer, CSRF: "c", ExpiresAt: expires}), wildwarden.ECONFLICT)

	// Signing out ends that session only, and again is no error.
	for range 2 {
		if err := s.DeleteSession(ctx, hashOf("alice-1")); err != nil {
			t.Fatalf("DeleteSession: %v", err)
		}
	}
	if liveSession(t, s, "alice-1", now) != nil || liveSession(t, s, "alice-2", now) == nil {
		t.Fatal("DeleteSession(alice-1): want alice-1 ended and alice-2 alive")
	}

	// A new password ends all of the user's sessions, and only theirs.
	if err := s.SetPassword(ctx, a, alice.ID, "$argon2id$new"); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	if liveSession(t, s, "alice-2", now) != nil {
		t.Fatal("a session outlived its user's password change")
	}
	if liveSession(t, s, "root-1", now) == nil || liveSession(t, s, "bob-1", now) == nil {
		t.Fatal("a password change ended another user's session")
	}

	// Pruning deletes the rows of expired sessions: asked with an earlier
	// clock, the store no longer has them.
	mustSession(t, s, "stale", root, now.Add(-time.Minute))
	if liveSession(t, s, "stale", now.Add(-2*time.Minute)) == nil {
		t.Fatal("an expired session's row is missing before pruning")
	}
	if err := s.PruneSignIns(ctx, now, now.Add(-time.Hour)); err != nil {
		t.Fatalf("PruneSignIns: %v", err)
	}
	if liveSession(t, s, "stale", now.Add(-2*time.Minute)) != nil {
		t.Fatal("PruneSignIns kept an expired session")
	}
	if liveSession(t, s, "root-1", now) == nil {
		t.Fatal("PruneSignIns deleted a live session")
	}
}

// testSignInFailures: failures count per tenant and user name within the
// window the caller asks for, newest first, until cleared or pruned; a
// clear through one failure keeps those stored after it.
func testSignInFailures(t *testing.T, s wildwarden.Store) {
	now := time.Now().UTC().Truncate(time.Second)
	failures := func(tenant, user string, since time.Time, limit int) []time.Time {
		t.Helper()
		got, err := s.SignInFailures(ctx, tenant, user, since, limit)
		if err != nil {
			t.Fatalf("SignInFailures(%s, %s): %v", tenant, user, err)
		}
		return got
	}
	fail := func(tenant, user string, at time.Time) int64 {
		t.Helper()
		seq, err := s.AddSignInFailure(ctx, tenant, user, at)
		if err != nil {
			t.Fatalf("AddSignInFailure: %v", err)
		}
		return seq
	}
	for i := 20; i >= 0; i -= 5 { // 20, 15, 10, 5 and 0 minutes ago
		fail("shop-a", "alice", now.Add(-time.Duration(i)*time.Minute))
	}
	fail("shop-b", "alice", now)
	fail("shop-a", "bob", now)

	window := now.Add(-15 * time.Minute)
	got := failures("shop-a", "alice", window, 10)
	if len(got) != 3 || !got[0].Equal(now) || !got[2].Equal(now.Add(-10*time.Minute)) {
		t.Fatalf("failures within the window = %v, want the 3 after %v (not at it), newest first", got, window)
	}
	if got := failures("shop-a", "alice", time.Time{}, 2); len(got) != 2 || !got[1].Equal(now.Add(-5*time.Minute)) {
		t.Fatalf("failures with limit 2 = %v, want the 2 newest", got)
	}
	if got := failures("shop-b", "alice", window, 10); len(got) != 1 {
		t.Fatalf("another tenant's failures = %v, want its own 1", got)
	}

	own := fail("shop-a", "alice", now) // a successful sign-in's attempt
	fail("shop-a", "alice", now)        // another, stored while its password was checked
	if err := s.ClearSignInFailures(ctx, "shop-a", "alice", own); err != nil {
		t.Fatalf("ClearSignInFailures: %v", err)
	}
	if got := failures("shop-a", "alice", time.Time{}, 10); len(got) != 1 {
		t.Fatalf("failures after clearing through a sign-in's own = %v, want only the 1 stored after it", got)
	}
	if len(failures("shop-b", "alice", window, 10)) != 1 || len(failures("shop-a", "bob", window, 10)) != 1 {
		t.Fatal("clearing one user's failures cleared another's")
	}

	fail("shop-a", "alice", now.Add(-time.Hour))
	if err := s.PruneSignIns(ctx, now, now.Add(-15*time.Minute)); err != nil {
		t.Fatalf("PruneSignIns: %v", err)
	}
	if got := failures("shop-a", "alice", time.Time{}, 10); len(got) != 1 || !got[0].Equal(now) {
		t.Fatalf("failures after pruning = %v, want the old one gone and the recent one kept", got)
	}
	if len(failures("shop-a", "bob", window, 10)) != 1 {
		t.Fatal("pruning deleted a recent failure")
	}
}

// testSignInFailuresCountedAtOnce: a failure counts for every read that
// starts after it is stored. Attempts that each store a failure and then
// count them, all at once, see at least 1, 2, … n of them (the k-th
// stored sees the k stored by then): the console's lockout lets the
// attempts that see at most 5 check a password, so no more than 5 can.
func testSignInFailuresCountedAtOnce(t *testing.T, s wildwarden.Store) {
	const n = 20
	now := time.Now().UTC()
	counts, errs := make([]int, n), make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			if _, errs[i] = s.AddSignInFailure(ctx, "shop-a", "alice", now); errs[i] != nil {
				return
			}
			var got []time.Time
			got, errs[i] = s.SignInFailures(ctx, "shop-a", "alice", now.Add(-time.Minute), n)
			counts[i] = len(got)
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("add and count a failure at once: %v", err)
		}
	}
	slices.Sort(counts)
	for i, c := range counts {
		if c < i+1 {
			t.Fatalf("counts seen by %d attempts at once = %v: %d of them saw fewer than %d, so one missed a failure stored before it counted", n, counts, i+1, i+1)
		}
	}
}
