package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/wildwarden/wildwarden"
)

// auditColumns are the columns scanAudit reads, in its order.
const auditColumns = `seq, tenant_id, actor, action, subject, data, at, prev_hash, hash`

// AuditLog lists a tenant's audit entries after a sequence number.
func (s *Store) AuditLog(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]wildwarden.AuditEntry, error) {
	return s.auditEntries(ctx, "audit log", `SELECT `+auditColumns+` FROM audit WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?`, tenantID, afterSeq, limit)
}

// auditEntries runs a read of auditColumns on the read pool and collects
// the entries; what names the read when the query fails.
func (s *Store) auditEntries(ctx context.Context, what, query string, args ...any) ([]wildwarden.AuditEntry, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	out := []wildwarden.AuditEntry{}
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

func scanAudit(sc interface{ Scan(...any) error }) (*wildwarden.AuditEntry, error) {
	var e wildwarden.AuditEntry
	var at string
	if err := sc.Scan(&e.Seq, &e.TenantID, &e.Actor, &e.Action, &e.Subject, &e.Data, &at, &e.PrevHash, &e.Hash); err != nil {
		return nil, fmt.Errorf("sqlite: audit: %w", err)
	}
	e.At = parseTime(at)
	return &e, nil
}

// VerifyAudit walks the chain from the first entry. Sequence numbers must
// be consecutive from 1 (a deleted row leaves a gap), each entry must name
// its predecessor's hash and its own hash must match its content.
func (s *Store) VerifyAudit(ctx context.Context) (int64, string, error) {
	rows, err := s.readDB.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit ORDER BY seq`)
	if err != nil {
		return 0, "", fmt.Errorf("sqlite: audit verify: %w", err)
	}
	defer rows.Close()
	var n int64
	head := ""
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return n, head, err
		}
		switch {
		case e.Seq != n+1:
			return n, head, fmt.Errorf("audit: entry %d is missing (next entry is %d): rows were deleted", n+1, e.Seq)
		case e.PrevHash != head:
			return n, head, fmt.Errorf("audit: entry %d does not follow entry %d: the chain was altered", e.Seq, n)
		case e.ComputeHash() != e.Hash:
			return n, head, fmt.Errorf("audit: entry %d was edited: its hash does not match its content", e.Seq)
		}
		n, head = e.Seq, e.Hash
	}
	if err := rows.Err(); err != nil {
		return n, head, fmt.Errorf("sqlite: audit verify: %w", err)
	}
	return n, head, nil
}

// syncWhere selects the audit entries of wildwarden.SyncActions; it is
// the condition of the partial index audit_sync (migration 005), word for
// word, or SQLite would not use the index.
const syncWhere = `action IN ('kb.add', 'bank.create', 'bank.delete', 'bank.add', 'bank.remove')`

// SyncLog lists the audit entries of all tenants after a sequence number
// that change what a running service keeps in memory.
func (s *Store) SyncLog(ctx context.Context, afterSeq int64, limit int) ([]wildwarden.AuditEntry, error) {
	return s.auditEntries(ctx, "sync log", `SELECT `+auditColumns+` FROM audit INDEXED BY audit_sync
		WHERE `+syncWhere+` AND seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
}

// SyncHead returns the sequence number of the newest entry SyncLog lists.
func (s *Store) SyncHead(ctx context.Context) (int64, error) {
	var seq int64
	err := s.queryRow(ctx, `SELECT seq FROM audit INDEXED BY audit_sync WHERE `+syncWhere+` ORDER BY seq DESC LIMIT 1`).Scan(&seq)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("sqlite: sync head: %w", err)
	}
	return seq, nil
}
