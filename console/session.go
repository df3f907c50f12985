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

// lockoutKey folds the tenant and user name as typed, so that "Alice"
// and "alice" share their failures.
func lockoutKey(tenant, user string) (string, string) {
	return strings.ToLower(tenant), strings.ToLower(user)
}

// lockedUntil returns when sign-in opens again for a tenant and user
// name, or the zero time: after maxLoginFailures failures within
// lockoutWindow, sign-in is refused (also for the right password) until
// the oldest of them is older than the window.
func (c *Console) lockedUntil(ctx context.Context, tenant, user string) (time.Time, error) {
	tenant, user = lockoutKey(tenant, user)
	failures, err := c.cfg.Store.SignInFailures(ctx, tenant, user, c.now().Add(-lockoutWindow), maxLoginFailures)
	if err != nil || len(failures) < maxLoginFailures {
		return time.Time{}, err
	}
	return failures[maxLoginFailures-1].Add(lockoutWindow), nil
}

// signInFailed counts a failed sign-in toward the lockout.
func (c *Console) signInFailed(ctx context.Context, tenant, user string) error {
	tenant, user = lockoutKey(tenant, user)
	return c.cfg.Store.AddSignInFailure(ctx, tenant, user, c.now())
}

// signInSucceeded forgets the failures before a successful sign-in.
func (c *Console) signInSucceeded(ctx context.Context, tenant, user string) error {
	tenant, user = lockoutKey(tenant, user)
	return c.cfg.Store.ClearSignInFailures(ctx, tenant, user)
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
