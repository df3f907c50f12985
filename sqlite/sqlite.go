// Package sqlite implements wildwarden.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go) in WAL mode.
//
// Writes go through one writer goroutine that batches the writes of
// concurrent requests into one transaction (group commit): each caller waits
// until its batch is committed, so an answered request is durable against a
// crash of the process. Reads use a separate pool of connections, which WAL
// lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wildwarden/wildwarden"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migration/*.sql
var migrations embed.FS

// timeLayout is a fixed-width UTC layout, so stored times sort as text.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(timeLayout, s)
	return t
}

// maxBatch bounds how many writes share one transaction.
const maxBatch = 512

// Store is the SQLite implementation of wildwarden.Store.
type Store struct {
	path    string
	writeDB *sql.DB // one connection, used only by the writer goroutine
	readDB  *sql.DB // a pool for reads

	// conn is the writer's connection; it runs BEGIN/COMMIT itself so its
	// prepared statements live as long as the store (database/sql would
	// prepare them again in every transaction).
	conn      *sql.Conn
	connStmts map[string]*sql.Stmt

	ops      chan *op
	stopped  chan struct{}
	closeMu  sync.RWMutex
	closed   bool
	stmtsMu  sync.Mutex
	stmts    map[string]*sql.Stmt // prepared on readDB or writeDB, keyed by db+query
	now      func() time.Time
	closeErr error
}

// Options tune a store; the zero value is the production setting.
type Options struct {
	// Now replaces the clock (tests).
	Now func() time.Time
}

// Open opens (creating if needed) the database at path, applies pending
// migrations and starts the writer.
func Open(path string, opts Options) (*Store, error) {
	dsn := func(readOnly bool) string {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		// With WAL, synchronous=NORMAL keeps every committed transaction
		// when the process dies (the WAL is in the OS page cache); only a
		// power loss or OS crash may lose the last transactions.
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", "foreign_keys(1)")
		if readOnly {
			q.Add("_pragma", "query_only(1)")
		} else {
			q.Add("_txlock", "immediate")
		}
		return "file:" + path + "?" + q.Encode()
	}
	writeDB, err := sql.Open("sqlite", dsn(false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writeDB.SetMaxOpenConns(1)
	writeDB.SetMaxIdleConns(1)
	writeDB.SetConnMaxLifetime(0)
	if err := migrate(writeDB); err != nil {
		writeDB.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	readDB, err := sql.Open("sqlite", dsn(true))
	if err != nil {
		writeDB.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	readDB.SetMaxOpenConns(4)
	readDB.SetMaxIdleConns(4)
	conn, err := writeDB.Conn(context.Background())
	if err != nil {
		writeDB.Close()
		readDB.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s := &Store{
		path: path, writeDB: writeDB, readDB: readDB, conn: conn, connStmts: map[string]*sql.Stmt{},
		ops: make(chan *op, 4096), stopped: make(chan struct{}),
		stmts: map[string]*sql.Stmt{}, now: opts.Now,
	}
	if s.now == nil {
		s.now = time.Now
	}
	go s.writer()
	return s, nil
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, each in its own transaction.
func migrate(db *sql.DB) error {
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migration/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("%s: %w", name, err)
		}
		if _, err := tx.Exec(`INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, formatTime(time.Now())); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// Close stops the writer after the queued writes and closes the database.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return s.closeErr
	}
	s.closed = true
	close(s.ops)
	s.closeMu.Unlock()
	<-s.stopped
	for _, st := range s.connStmts {
		st.Close()
	}
	err := errors.Join(s.conn.Close(), s.readDB.Close(), s.writeDB.Close())
	s.closeErr = err
	return err
}

// Ready checks that the database answers.
func (s *Store) Ready(ctx context.Context) error {
	var one int
	if err := s.readDB.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("sqlite: not ready: %w", err)
	}
	return nil
}

// stmt returns a prepared statement for query on the read pool, preparing
// it once.
func (s *Store) stmt(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	key := query
	s.stmtsMu.Lock()
	defer s.stmtsMu.Unlock()
	if st, ok := s.stmts[key]; ok {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	s.stmts[key] = st
	return st, nil
}

// query runs a read on the read pool.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, s.readDB, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.stmt(ctx, s.readDB, query)
	if err != nil {
		// A failed prepare surfaces through the row's Scan.
		return s.readDB.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// op is one write waiting for the writer.
type op struct {
	ctx  context.Context
	fn   func(w *wtx) error
	done chan error
}

// wtx is what a write sees: the writer's connection inside the batch
// transaction, and the audit chain head.
type wtx struct {
	s      *Store
	ctx    context.Context
	now    time.Time
	auditN int64
	auditH string
	actor  string
}

// prepared returns a statement prepared once on the writer's connection.
func (w *wtx) prepared(query string) (*sql.Stmt, error) { return w.s.connStmt(w.ctx, query) }

// connStmt prepares a statement on the writer's connection, once. Only the
// writer goroutine calls it.
func (s *Store) connStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.connStmts[query]; ok {
		return st, nil
	}
	st, err := s.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	s.connStmts[query] = st
	return st, nil
}

// execConn runs a prepared statement without arguments on the writer's
// connection (transaction control).
func (s *Store) execConn(ctx context.Context, query string) error {
	st, err := s.connStmt(ctx, query)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx)
	return err
}

func (w *wtx) exec(query string, args ...any) (sql.Result, error) {
	st, err := w.prepared(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(w.ctx, args...)
}

func (w *wtx) queryRow(query string, args ...any) *sql.Row {
	st, err := w.prepared(query)
	if err != nil {
		return w.s.conn.QueryRowContext(w.ctx, query, args...)
	}
	return st.QueryRowContext(w.ctx, args...)
}

func (w *wtx) queryRows(query string, args ...any) (*sql.Rows, error) {
	st, err := w.prepared(query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(w.ctx, args...)
}

// audit appends an entry to the hash chain.
func (w *wtx) audit(tenantID, action, subject, data string) error {
	e := wildwarden.AuditEntry{
		Seq: w.auditN + 1, TenantID: tenantID, Actor: w.actor, Action: action,
		Subject: subject, Data: data, At: w.now, PrevHash: w.auditH,
	}
	e.Hash = e.ComputeHash()
	if _, err := w.exec(`INSERT INTO audit (seq, tenant_id, actor, action, subject, data, at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.TenantID, e.Actor, e.Action, e.Subject, e.Data, formatTime(e.At), e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	w.auditN, w.auditH = e.Seq, e.Hash
	return nil
}

// write runs fn in the writer's next batch and waits for the commit.
func (s *Store) write(ctx context.Context, fn func(w *wtx) error) error {
	o := &op{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return errors.New("sqlite: store is closed")
	}
	s.ops <- o
	s.closeMu.RUnlock()
	// Wait for the commit even when ctx ends: the write may already be in
	// a batch, and the caller must not report failure for a committed write.
	return <-o.done
}

// writer commits queued writes in batches until Close.
func (s *Store) writer() {
	defer close(s.stopped)
	batch := make([]*op, 0, maxBatch)
	for first := range s.ops {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < maxBatch {
			select {
			case o, ok := <-s.ops:
				if !ok {
					break drain
				}
				batch = append(batch, o)
			default:
				break drain
			}
		}
		s.commit(batch)
	}
}

// commit runs a batch in one transaction; each op runs inside a savepoint so
// a failing op is rolled back alone.
func (s *Store) commit(batch []*op) {
	results := make([]error, len(batch))
	err := func() error {
		ctx := context.Background()
		if err := s.execConn(ctx, `BEGIN IMMEDIATE`); err != nil {
			return fmt.Errorf("sqlite: begin: %w", err)
		}
		rollback := func(err error) error {
			if rerr := s.execConn(ctx, `ROLLBACK`); rerr != nil {
				return errors.Join(err, fmt.Errorf("sqlite: rollback: %w", rerr))
			}
			return err
		}
		w := &wtx{s: s, ctx: ctx, now: s.now().UTC()}
		if err := w.queryRow(`SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&w.auditN, &w.auditH); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return rollback(fmt.Errorf("sqlite: audit head: %w", err))
		}
		if len(batch) == 1 {
			// One write needs no savepoint: its failure rolls back all.
			w.actor = wildwarden.Actor(batch[0].ctx)
			if results[0] = batch[0].fn(w); results[0] != nil {
				return rollback(nil)
			}
			if err := s.execConn(ctx, `COMMIT`); err != nil {
				return rollback(fmt.Errorf("sqlite: commit: %w", err))
			}
			return nil
		}
		for i, o := range batch {
			if err := s.execConn(ctx, `SAVEPOINT op`); err != nil {
				return rollback(fmt.Errorf("sqlite: savepoint: %w", err))
			}
			n, h := w.auditN, w.auditH
			w.actor = wildwarden.Actor(o.ctx)
			w.now = s.now().UTC()
			results[i] = o.fn(w)
			if results[i] != nil {
				w.auditN, w.auditH = n, h
				if err := s.execConn(ctx, `ROLLBACK TO op`); err != nil {
					return rollback(fmt.Errorf("sqlite: rollback to savepoint: %w", err))
				}
			}
			if err := s.execConn(ctx, `RELEASE op`); err != nil {
				return rollback(fmt.Errorf("sqlite: release savepoint: %w", err))
			}
		}
		if err := s.execConn(ctx, `COMMIT`); err != nil {
			return rollback(fmt.Errorf("sqlite: commit: %w", err))
		}
		return nil
	}()
	for i, o := range batch {
		if err != nil {
			o.done <- err
		} else {
			o.done <- results[i]
		}
	}
}

// notFound reports a missing row as a domain error.
func notFound(what, id string) error {
	return wildwarden.Errorf(wildwarden.ENOTFOUND, "", "%s %q not found", what, id)
}

// isUniqueViolation reports whether err is a UNIQUE constraint failure.
func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
