package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"

	"github.com/wildwarden/wildwarden"
)

// session is a signed-in person. Sessions and failed sign-ins live in the
// store, not in this process: a restart signs no one out, and replicas
// behind a load balancer need no sticky sessions. Nothing is cached, so a
// sign-out on one replica ends the session on all of them at once; the
// price is one indexed read per request (docs/BENCHMARKS.md).
type session = wildwarden.ConsoleSession

// pruneEvery is how often a console deletes expired sessions and old
// failed sign-ins. They no longer count, so this only keeps tables small.
const pruneEvery = 15 * time.Minute

// randomToken returns 32 random bytes in base64url.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// tokenHash is what the store keeps of a cookie value, so that a copy of
// the database hands out no working cookie.
func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// startSession stores a new session for sess's person and returns its
// cookie value.
func (c *Console) startSession(ctx context.Context, sess *session) (string, error) {
	token := randomToken()
	sess.TokenHash = tokenHash(token)
	sess.CSRF = randomToken()
	sess.ExpiresAt = c.now().Add(c.cfg.SessionTTL)
	if err := c.cfg.Store.CreateSession(ctx, sess); err != nil {
		return "", err
	}
	return token, nil
}

// sessionOf returns the live session of a cookie value, or nil.
func (c *Console) sessionOf(ctx context.Context, token string) (*session, error) {
	if token == "" {
		return nil, nil
	}
	sess, err := c.cfg.Store.Session(ctx, tokenHash(token), c.now())
	if wildwarden.ErrorCode(err) == wildwarden.ENOTFOUND {
		return nil, nil
	}
	return sess, err
}

// endSession signs a session out.
func (c *Console) endSession(ctx context.Context, token string) error {
	return c.cfg.Store.DeleteSession(ctx, tokenHash(token))
}

// signInKey is what the lockout counts failed sign-ins by: a tenant and a
// user name, folded, so that "Alice" and "alice" share their failures.
type signInKey struct{ tenant, user string }

// signInKeyOf returns the lockout's key of a sign-in. Sign-in takes a
// tenant's name or its ID, so a tenant that exists is counted by its name
// however it was named, and a sign-in by ID gets no tries of its own; one
// that does not exist is counted by the text typed. Both are folded alike,
// so any spelling of a name is counted where it would be if the tenant
// did not exist: the lockout's answers tell no one which tenants exist.
func signInKeyOf(tenant *wildwarden.Tenant, tenantRef, user string) signInKey {
	if tenant != nil {
		tenantRef = tenant.Name
	}
	return signInKey{tenant: strings.ToLower(tenantRef), user: strings.ToLower(user)}
}

// admit counts a sign-in attempt as a failure before its password is
// checked, and returns the failure's seq and when sign-in opens again if
// the attempt is refused (the zero time if its password may be checked).
// A successful sign-in then clears its attempt with the earlier failures.
//
// Counting first is what holds the lockout against attempts sent at once:
// the password check takes tens of milliseconds, and attempts that counted
// only after it all passed the lockout before any had failed. Each attempt
// counts the failures stored once its own is, and the store makes a
// failure visible to every read that starts after it is stored, so the
// k-th attempt stored sees at least k: at most maxLoginFailures of any
// burst reach the check, on any number of replicas, without a lock.
func (c *Console) admit(ctx context.Context, key signInKey) (attempt int64, until time.Time, err error) {
	// A locked-out attempt is refused before it is counted, so that trying
	// again while locked does not move the end of the lockout.
	if until, err := c.lockedUntil(ctx, key, 0); err != nil || !until.IsZero() {
		return 0, until, err
	}
	if attempt, err = c.cfg.Store.AddSignInFailure(ctx, key.tenant, key.user, c.now()); err != nil {
		return 0, time.Time{}, err
	}
	// One refused here stays counted: it passed the check above together
	// with the failure that locked, so it moves the lockout's end by no more
	// than the moments between them.
	until, err = c.lockedUntil(ctx, key, 1)
	return attempt, until, err
}

// lockedUntil returns when sign-in opens again for key, or the zero time:
// after maxLoginFailures failures within lockoutWindow, sign-in is refused
// (also for the right password) until the oldest of them is older than
// the window. own is how many of the stored failures are the attempt's own
// (0 before admit counts it, 1 after).
func (c *Console) lockedUntil(ctx context.Context, key signInKey, own int) (time.Time, error) {
	failures, err := c.cfg.Store.SignInFailures(ctx, key.tenant, key.user, c.now().Add(-lockoutWindow), maxLoginFailures+own)
	if err != nil || len(failures) < maxLoginFailures+own {
		return time.Time{}, err
	}
	return failures[maxLoginFailures-1].Add(lockoutWindow), nil
}

// signInSucceeded forgets the failures before a successful sign-in, and
// its own attempt with them. Those stored after its attempt stay: they
// are other attempts still in flight (an attacker's burst around a real
// sign-in), and clearing them would let that burst try more than
// maxLoginFailures passwords.
func (c *Console) signInSucceeded(ctx context.Context, key signInKey, attempt int64) error {
	return c.cfg.Store.ClearSignInFailures(ctx, key.tenant, key.user, attempt)
}

// pruneNowAndThen deletes expired sessions and old failed sign-ins at
// most once every pruneEvery in this process. Sign-in attempts call it:
// they are rare enough, and the console has no goroutine of its own.
func (c *Console) pruneNowAndThen(ctx context.Context) {
	now := c.now()
	c.pruneMu.Lock()
	due := !now.Before(c.nextPrune)
	if due {
		c.nextPrune = now.Add(pruneEvery)
	}
	c.pruneMu.Unlock()
	if !due {
		return
	}
	if err := c.cfg.Store.PruneSignIns(ctx, now, now.Add(-lockoutWindow)); err != nil {
		c.log.Warn("console: prune expired sessions and sign-in failures", "err", err)
	}
}
