// Package http serves the wildwarden JSON API under /v1: screening, the
// review queue, user reports, appeals, search warnings, statements of
// reasons and webhooks, plus /metrics, /healthz and /readyz.
//
// Handlers are thin: they decode and check the request, call the Screener
// and the Store, and write JSON. Every error becomes an RFC 9457 problem
// document in one place (writeError).
package http

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/image/inspect"
)

// Defaults of a Server.
const (
	DefaultMaxBody   = 1 << 20
	DefaultLease     = 10 * time.Minute
	MaxBatch         = 1000
	keyCacheTTL      = 5 * time.Second
	defaultPageLimit = 100
	maxPageLimit     = 1000
)

// Config wires a Server.
type Config struct {
	Store    wildwarden.Store
	Screener wildwarden.Screener
	Logger   *slog.Logger
	// MaxBody bounds request bodies in bytes (DefaultMaxBody when 0).
	MaxBody int64
	// Lease is how long a claimed queue item stays with its reviewer.
	Lease time.Duration
	// Registry receives the metrics (a new one when nil).
	Registry *prometheus.Registry
	// Console, when set, builds the handler of every path outside the API
	// (the review console, package console), given this server to decide
	// queue items with.
	Console func(*Server) (http.Handler, error)
	// Images, when set, reads listings' photos while screening (OCR text,
	// bank matches; see bank.go); nil screens text alone.
	Images *inspect.Inspector
	// Banks holds the tenants' image banks (loaded from Store when nil).
	Banks *inspect.Banks
}

// Server is the HTTP API.
type Server struct {
	store    wildwarden.Store
	screener wildwarden.Screener
	log      *slog.Logger
	maxBody  int64
	lease    time.Duration
	metrics  *metrics
	registry *prometheus.Registry
	mux      *http.ServeMux
	console  http.Handler // serves paths outside the API when set
	cards    *cardSet
	sor      *statementRules
	images   *imageService // image banks and their routes (bank.go)
	// routeRoles maps each registered pattern to the roles that may call
	// it (nil for a public route), so a test can hold openapi.json to it.
	routeRoles map[string][]string

	keysMu sync.Mutex
	keys   map[string]cachedKey // by key hash
	// keysGen counts evictions: a lookup that began before one caches
	// nothing, so a key read just before its revocation is not put back.
	keysGen uint64
}

type cachedKey struct {
	key     *wildwarden.APIKey
	expires time.Time
}

// NewServer builds the API.
func NewServer(cfg Config) (*Server, error) {
	s := &Server{
		store: cfg.Store, screener: cfg.Screener, log: cfg.Logger,
		maxBody: cfg.MaxBody, lease: cfg.Lease, registry: cfg.Registry,
		keys: map[string]cachedKey{},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBody
	}
	if s.lease <= 0 {
		s.lease = DefaultLease
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	var err error
	if s.metrics, err = newMetrics(s.registry); err != nil {
		return nil, err
	}
	if s.cards, err = loadCards(); err != nil {
		return nil, err
	}
	if s.sor, err = loadStatementRules(); err != nil {
		return nil, err
	}
	s.setupImages(cfg)
	s.routes()
	if cfg.Console != nil {
		if s.console, err = cfg.Console(s); err != nil {
			return nil, fmt.Errorf("http: console: %w", err)
		}
	}
	return s, nil
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Registry returns the Prometheus registry the server counts in.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// roles lists who may call a route.
var (
	anyRole       = []string{wildwarden.RolePlatform, wildwarden.RoleReviewer, wildwarden.RoleAdmin}
	platformRoles = []string{wildwarden.RolePlatform, wildwarden.RoleAdmin}
	reviewerRoles = []string{wildwarden.RoleReviewer, wildwarden.RoleAdmin}
	adminRoles    = []string{wildwarden.RoleAdmin}
)

func (s *Server) routes() {
	m := http.NewServeMux()
	s.mux = m
	s.routeRoles = map[string][]string{}
	register := func(pattern string, roles []string, h http.Handler) {
		s.routeRoles[pattern] = roles
		m.Handle(pattern, h)
	}
	handle := func(pattern string, roles []string, h func(w http.ResponseWriter, r *http.Request, p *principal) error) {
		register(pattern, roles, s.instrument(pattern, s.authenticated(roles, h)))
	}
	public := func(pattern string, h http.HandlerFunc) {
		register(pattern, nil, s.instrument(pattern, h))
	}
	public("GET /healthz", handleHealth)
	public("GET /readyz", readiness(s.store.Ready))
	public("GET /v1/openapi.json", handleOpenAPI)
	register("GET /metrics", nil, s.metricsHandler())

	handle("POST /v1/screen", platformRoles, s.handleScreen)
	handle("POST /v1/screen/batch", platformRoles, s.handleScreenBatch)
	handle("GET /v1/listings/{id}", anyRole, s.handleListing)

	handle("GET /v1/queue", reviewerRoles, s.handleQueue)
	handle("POST /v1/queue/claim", reviewerRoles, s.handleClaim)
	handle("POST /v1/queue/{id}/decision", reviewerRoles, s.handleDecide)
	handle("POST /v1/queue/audit-sample", adminRoles, s.handleAuditSample)

	handle("POST /v1/reports", platformRoles, s.handleReport)
	handle("POST /v1/appeals", platformRoles, s.handleAppeal)

	handle("POST /v1/search-check", platformRoles, s.handleSearchCheck)
	handle("POST /v1/search-check/events", platformRoles, s.handleSearchEvent)

	handle("GET /v1/statements/{id}", anyRole, s.handleStatement)
	handle("GET /v1/statements", anyRole, s.handleStatements)
	handle("GET /v1/decisions/export", adminRoles, s.handleDecisionExport)

	handle("POST /v1/webhooks", adminRoles, s.handleCreateWebhook)
	handle("GET /v1/webhooks", adminRoles, s.handleWebhooks)
	handle("GET /v1/webhooks/deliveries", adminRoles, s.handleDeliveries)

	handle("GET /v1/keys", adminRoles, s.handleKeys)
	handle("POST /v1/keys", adminRoles, s.handleCreateKey)
	handle("DELETE /v1/keys/{id}", adminRoles, s.handleRevokeKey)

	handle("GET /v1/stats", platformRoles, s.handleStats)
	handle("GET /v1/audit", adminRoles, s.handleAuditLog)
	s.bankRoutes(handle)

	public("/", func(w http.ResponseWriter, r *http.Request) {
		if s.console != nil && !strings.HasPrefix(r.URL.Path, "/v1/") {
			s.console.ServeHTTP(w, r)
			return
		}
		writeError(w, r, wildwarden.Errorf(wildwarden.ENOTFOUND, "", "no route %s %s", r.Method, r.URL.Path))
	})
}

// DecideItem records a reviewer's decision on a queue item with the same
// checks and effects (statement of reasons, webhook events, metrics) as
// POST /v1/queue/{id}/decision; the review console decides through it.
func (s *Server) DecideItem(ctx context.Context, tenantID, reviewerID, itemID, action string, reasons []string, note string) (*wildwarden.ReviewDecision, error) {
	body, err := json.Marshal(decisionRequest{Action: action, Reasons: reasons, Note: note})
	if err != nil {
		return nil, fmt.Errorf("http: decide: %w", err)
	}
	if _, err := decodeDecision(body); err != nil {
		return nil, err
	}
	item, err := s.store.QueueItem(ctx, tenantID, itemID)
	if err != nil {
		return nil, err
	}
	d := &wildwarden.ReviewDecision{TenantID: tenantID, ItemID: item.ID, ReviewerID: reviewerID, Action: action, Reasons: reasons, Note: note}
	// effectsOf reads only the request's context.
	fx, err := s.effectsOf((&http.Request{}).WithContext(ctx), tenantID, item, d)
	if err != nil {
		return nil, err
	}
	if err := s.store.Decide(ctx, d, fx); err != nil {
		return nil, err
	}
	s.metrics.decisions.WithLabelValues(d.Action, item.Kind).Inc()
	return d, nil
}

// principal is who calls: a key of a tenant with a role.
type principal struct {
	TenantID string
	KeyID    string
	UserID   string
	Role     string
}

// reviewerID names the person deciding: the key's user, or the key itself.
func (p *principal) reviewerID() string {
	if p.UserID != "" {
		return p.UserID
	}
	return "key:" + p.KeyID
}

// authenticated checks the bearer key and the role, then calls h with the
// principal; the context names the actor for the audit log.
func (s *Server) authenticated(roles []string, h func(w http.ResponseWriter, r *http.Request, p *principal) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || secret == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="wildwarden"`)
			writeError(w, r, wildwarden.Errorf(wildwarden.EUNAUTHORIZED, "Authorization", "send an API key as 'Authorization: Bearer <key>'"))
			return
		}
		key, err := s.lookupKey(r.Context(), strings.TrimSpace(secret))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="wildwarden", error="invalid_token"`)
			writeError(w, r, err)
			return
		}
		allowed := false
		for _, role := range roles {
			allowed = allowed || key.Role == role
		}
		if !allowed {
			writeError(w, r, wildwarden.Errorf(wildwarden.EFORBIDDEN, "", "a %s key may not call this route (allowed: %s)", key.Role, strings.Join(roles, ", ")))
			return
		}
		p := &principal{TenantID: key.TenantID, KeyID: key.ID, UserID: key.UserID, Role: key.Role}
		actor := "key:" + key.ID
		if key.UserID != "" {
			actor = "user:" + key.UserID
		}
		r = r.WithContext(withTenant(wildwarden.WithActor(r.Context(), actor), key.TenantID))
		if err := h(w, r, p); err != nil {
			writeError(w, r, err)
		}
	})
}

// lookupKey finds a key by its secret's hash, caching answers for a few
// seconds: a key revoked through this server stops working here at once
// (RevokeKey), one revoked elsewhere within keyCacheTTL.
func (s *Server) lookupKey(ctx context.Context, secret string) (*wildwarden.APIKey, error) {
	hash := wildwarden.HashKey(secret)
	cacheKey := string(hash)
	now := time.Now()
	s.keysMu.Lock()
	c, ok := s.keys[cacheKey]
	gen := s.keysGen
	s.keysMu.Unlock()
	if ok && now.Before(c.expires) {
		return c.key, nil
	}
	key, err := s.store.KeyByHash(ctx, hash)
	if wildwarden.ErrorCode(err) == wildwarden.ENOTFOUND {
		return nil, wildwarden.Errorf(wildwarden.EUNAUTHORIZED, "Authorization", "unknown or revoked API key")
	}
	if err != nil {
		return nil, err
	}
	// The lookup is by hash of a 32-byte random secret, which leaks nothing
	// useful through timing; the constant-time check guards a store whose
	// lookup would match loosely.
	if subtle.ConstantTimeCompare(key.Hash, hash) != 1 {
		return nil, wildwarden.Errorf(wildwarden.EUNAUTHORIZED, "Authorization", "unknown or revoked API key")
	}
	s.keysMu.Lock()
	if len(s.keys) > 10000 {
		s.keys = map[string]cachedKey{}
	}
	if s.keysGen == gen {
		s.keys[cacheKey] = cachedKey{key: key, expires: now.Add(keyCacheTTL)}
	}
	s.keysMu.Unlock()
	return key, nil
}

// RevokeKey revokes one of a tenant's keys and drops it from this server's
// key cache, so it stops working here with the next request. Other servers
// on the same store keep their cached copy up to keyCacheTTL.
func (s *Server) RevokeKey(ctx context.Context, tenantID, keyID string) error {
	if err := s.store.RevokeKey(ctx, tenantID, keyID); err != nil {
		return err
	}
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	s.keysGen++
	for hash, c := range s.keys {
		if c.key.TenantID == tenantID && c.key.ID == keyID {
			delete(s.keys, hash)
		}
	}
	return nil
}

// handleRevokeKey revokes a key of the caller's tenant (the caller's own
// key included).
func (s *Server) handleRevokeKey(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := s.RevokeKey(r.Context(), p.TenantID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// NewKeySecret returns a new API key secret: "ww_" and 32 random bytes in
// base64url. The prefix makes leaked keys easy to find by secret scanners.
func NewKeySecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "ww_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// KeyPrefix is the part of a secret shown in key listings.
func KeyPrefix(secret string) string {
	if len(secret) > 10 {
		return secret[:10]
	}
	return secret
}

// IssueKey creates a key for a tenant and returns its secret, which is
// shown once and never stored.
func IssueKey(ctx context.Context, store wildwarden.Store, tenantID, role, userID, name string) (string, *wildwarden.APIKey, error) {
	secret := NewKeySecret()
	key := &wildwarden.APIKey{TenantID: tenantID, Role: role, UserID: userID, Name: name, Prefix: KeyPrefix(secret), Hash: wildwarden.HashKey(secret)}
	if err := store.CreateKey(ctx, key); err != nil {
		return "", nil, err
	}
	return secret, key, nil
}
