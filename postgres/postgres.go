// Package postgres implements wildwarden.Store on PostgreSQL (pgx v5), for
// several replicas of the service sharing one database.
//
// Replicas coordinate through the database alone:
//   - screening is idempotent per listing: the latest screening of each
//     listing has a row in listing_heads, which concurrent saves of the
//     same listing lock and compare their content hash against;
//   - a review item is claimed with SELECT … FOR UPDATE SKIP LOCKED, so two
//     reviewers on two replicas never lease the same item;
//   - webhook deliveries are claimed by one replica (claimed_by,
//     claim_until) before its dispatcher posts them;
//   - the audit chain has a single head row: each transaction appends its
//     entries just before commit while holding that row's lock, so the
//     chain never forks and its sequence numbers have no gaps.
//   - review console sessions and failed sign-ins are rows, read on every
//     console request and every sign-in, so a sign-out or a lockout holds
//     on all replicas at once.
//
// Writes that hit a deadlock or serialization failure are retried.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wildwarden/wildwarden"
)

//go:embed migration/*.sql
var migrations embed.FS

// migrationLock is the advisory lock key that serializes migrations when
// several replicas start at once.
const migrationLock = 0x77775f6d6967 // "ww_mig"

// maxRetries bounds how often a write is retried after a deadlock or a
// serialization failure.
const maxRetries = 5

// DefaultDeliveryClaim is how long a replica holds the webhook deliveries
// DueDeliveries gave it before another replica may take them over.
const DefaultDeliveryClaim = 5 * time.Minute

// Store is the PostgreSQL implementation of wildwarden.Store.
type Store struct {
	pool          *pgxpool.Pool
	now           func() time.Time
	replica       string
	deliveryClaim time.Duration
}

var _ wildwarden.Store = (*Store)(nil)

// Options tune a store; the zero value is the production setting.
type Options struct {
	// Now replaces the clock (tests). Replicas compare leases written by
	// each other, so their clocks must agree (NTP).
	Now func() time.Time
	// Replica names this process in webhook delivery claims; by default
	// the host name, process ID and a random suffix.
	Replica string
	// DeliveryClaim overrides DefaultDeliveryClaim.
	DeliveryClaim time.Duration
}

// Open connects to the database at dsn (a postgres:// URL or key=value
// string; pool_max_conns and the other pgxpool parameters apply), applies
// pending migrations and returns the store.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return OpenWith(ctx, dsn, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	s := &Store{pool: pool, now: opts.Now, replica: opts.Replica, deliveryClaim: opts.DeliveryClaim}
	if s.now == nil {
		s.now = time.Now
	}
	if s.replica == "" {
		host, _ := os.Hostname()
		s.replica = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), wildwarden.NewID("r")[2:10])
	}
	if s.deliveryClaim <= 0 {
		s.deliveryClaim = DefaultDeliveryClaim
	}
	return s, nil
}

// Replica returns the name this store claims webhook deliveries under.
func (s *Store) Replica() string { return s.replica }

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, all under an advisory lock.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, migrationLock) //nolint:errcheck // released with the session anyway
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migration/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		var n int
		if err := conn.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = $1`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ($1, now())`, name)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ready checks that the database answers.
func (s *Store) Ready(ctx context.Context) error {
	var one int
	if err := s.pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("postgres: not ready: %w", err)
	}
	return nil
}

// clock returns the store's time at the precision PostgreSQL keeps, so a
// time read back equals the time written (audit hashes depend on it).
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// tx is what a write sees: the transaction, its time and actor, and the
// audit entries it will append when it commits.
type tx struct {
	pgx.Tx
	ctx    context.Context
	now    time.Time
	actor  string
	audits []wildwarden.AuditEntry
	hooks  map[string][]wildwarden.Webhook // webhooks by tenant, read once
}

// audit queues an entry for the chain; it gets its place in the chain when
// the transaction commits.
func (t *tx) audit(tenantID, action, subject, data string) {
	t.audits = append(t.audits, wildwarden.AuditEntry{TenantID: tenantID, Actor: t.actor, Action: action, Subject: subject, Data: data, At: t.now})
}

// exec runs a statement in the transaction.
func (t *tx) exec(query string, args ...any) (pgconn.CommandTag, error) {
	return t.Exec(t.ctx, query, args...)
}

func (t *tx) queryRow(query string, args ...any) pgx.Row { return t.QueryRow(t.ctx, query, args...) }

// savepoint runs fn so that its failure undoes only its own writes and
// audit entries, leaving the rest of the transaction intact.
func (t *tx) savepoint(fn func() error) error {
	if _, err := t.exec(`SAVEPOINT op`); err != nil {
		return fmt.Errorf("postgres: savepoint: %w", err)
	}
	n := len(t.audits)
	if err := fn(); err != nil {
		t.audits = t.audits[:n]
		if _, rerr := t.exec(`ROLLBACK TO SAVEPOINT op`); rerr != nil {
			return errors.Join(err, fmt.Errorf("postgres: rollback to savepoint: %w", rerr))
		}
		return err
	}
	if _, err := t.exec(`RELEASE SAVEPOINT op`); err != nil {
		return fmt.Errorf("postgres: release savepoint: %w", err)
	}
	return nil
}

// appendAudit writes the queued audit entries after the chain head, which
// it locks until the transaction ends.
func (t *tx) appendAudit() error {
	if len(t.audits) == 0 {
		return nil
	}
	var seq int64
	var hash string
	if err := t.queryRow(`SELECT seq, hash FROM audit_head FOR UPDATE`).Scan(&seq, &hash); err != nil {
		return fmt.Errorf("postgres: audit head: %w", err)
	}
	rows := make([][]any, len(t.audits))
	for i := range t.audits {
		e := &t.audits[i]
		seq++
		e.Seq, e.PrevHash = seq, hash
		e.Hash = e.ComputeHash()
		hash = e.Hash
		rows[i] = []any{e.Seq, e.TenantID, e.Actor, e.Action, e.Subject, e.Data, e.At, e.PrevHash, e.Hash}
	}
	b := &pgx.Batch{}
	if len(rows) < 8 {
		for _, r := range rows {
			b.Queue(`INSERT INTO audit (seq, tenant_id, actor, action, subject, data, at, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, r...)
		}
	} else {
		if _, err := t.CopyFrom(t.ctx, pgx.Identifier{"audit"}, []string{"seq", "tenant_id", "actor", "action", "subject", "data", "at", "prev_hash", "hash"}, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("postgres: append audit: %w", err)
		}
	}
	b.Queue(`UPDATE audit_head SET seq = $1, hash = $2`, seq, hash)
	if err := t.SendBatch(t.ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: append audit: %w", err)
	}
	return nil
}

// write runs fn in a transaction, appends its audit entries and commits,
// retrying the whole transaction after a deadlock or serialization
// failure. fn must be safe to run again: it starts from its inputs.
func (s *Store) write(ctx context.Context, fn func(t *tx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.writeOnce(ctx, fn)
		if err == nil || !retryable(err) || attempt == maxRetries || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
}

func (s *Store) writeOnce(ctx context.Context, fn func(t *tx) error) error {
	ptx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	t := &tx{Tx: ptx, ctx: ctx, now: s.clock(), actor: wildwarden.Actor(ctx)}
	if err := fn(t); err != nil {
		_ = ptx.Rollback(context.Background()) // the error that matters is fn's
		return err
	}
	if err := t.appendAudit(); err != nil {
		_ = ptx.Rollback(context.Background())
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// retryable reports a failure that running the transaction again may
// avoid (deadlock detected, serialization failure).
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// isUniqueViolation reports a unique constraint failure.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// notFound reports a missing row as a domain error.
func notFound(what, id string) error {
	return wildwarden.Errorf(wildwarden.ENOTFOUND, "", "%s %q not found", what, id)
}

// utc returns t in UTC (pgx reads timestamps in the local zone).
func utc(t time.Time) time.Time { return t.UTC() }

// utcPtr returns *t in UTC, or nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
