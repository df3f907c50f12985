package console

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"sync"
	"time"
)

// session is a signed-in person. Sessions live in the process's memory:
// a restart signs everyone out, and behind a load balancer a browser must
// stick to one node.
type session struct {
	TenantID   string
	TenantName string
	UserID     string
	UserName   string
	Role       string
	CSRF       string // the token every form of this session carries
	Expires    time.Time
}

// sessionStore holds sessions by the SHA-256 of their cookie value, so a
// memory dump does not hand out working cookies.
type sessionStore struct {
	mu       sync.Mutex
	sessions map[string]*session
	ttl      time.Duration
	now      func() time.Time
}

func newSessionStore(ttl time.Duration, now func() time.Time) *sessionStore {
	return &sessionStore{sessions: map[string]*session{}, ttl: ttl, now: now}
}

// randomToken returns 32 random bytes in base64url.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func tokenKey(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// create starts a session and returns its cookie value.
func (s *sessionStore) create(sess *session) string {
	token := randomToken()
	sess.CSRF = randomToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	sess.Expires = now.Add(s.ttl)
	for k, old := range s.sessions { // drop expired sessions as we go
		if now.After(old.Expires) {
			delete(s.sessions, k)
		}
	}
	s.sessions[tokenKey(token)] = sess
	return token
}

// get returns the live session of a cookie value, or nil.
func (s *sessionStore) get(token string) *session {
	if token == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[tokenKey(token)]
	if !ok {
		return nil
	}
	if s.now().After(sess.Expires) {
		delete(s.sessions, tokenKey(token))
		return nil
	}
	return sess
}

// end signs a session out.
func (s *sessionStore) end(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, tokenKey(token))
}

// lockout counts failed sign-ins per tenant and user name: after
// maxFailures failures within window, sign-in is refused until the oldest
// of them is older than window (also for the right password).
type lockout struct {
	mu          sync.Mutex
	failures    map[string][]time.Time
	maxFailures int
	window      time.Duration
	now         func() time.Time
}

func newLockout(maxFailures int, window time.Duration, now func() time.Time) *lockout {
	return &lockout{failures: map[string][]time.Time{}, maxFailures: maxFailures, window: window, now: now}
}

func lockoutKey(tenant, user string) string {
	return strings.ToLower(tenant) + "\x00" + strings.ToLower(user)
}

// recent returns the failures inside the window, dropping older ones.
func (l *lockout) recent(key string) []time.Time {
	cutoff := l.now().Add(-l.window)
	kept := l.failures[key][:0]
	for _, t := range l.failures[key] {
		if t.After(cutoff) {
			kept = append(kept, t)
		}
	}
	if len(kept) == 0 {
		delete(l.failures, key)
	} else {
		l.failures[key] = kept
	}
	return kept
}

// lockedUntil returns when sign-in opens again, or the zero time.
func (l *lockout) lockedUntil(tenant, user string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.recent(lockoutKey(tenant, user))
	if len(f) < l.maxFailures {
		return time.Time{}
	}
	return f[len(f)-l.maxFailures].Add(l.window)
}

func (l *lockout) fail(tenant, user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := lockoutKey(tenant, user)
	l.failures[key] = append(l.recent(key), l.now())
}

func (l *lockout) succeed(tenant, user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, lockoutKey(tenant, user))
}
