package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/wildwarden/wildwarden"
)

const auditColumns = `seq, tenant_id, actor, action, subject, data, at, prev_hash, hash`

func scanAudit(r pgx.Row) (wildwarden.AuditEntry, error) {
	var e wildwarden.AuditEntry
	err := r.Scan(&e.Seq, &e.TenantID, &e.Actor, &e.Action, &e.Subject, &e.Data, &e.At, &e.PrevHash, &e.Hash)
	e.At = utc(e.At)
	return e, err
}

// AuditLog lists a tenant's audit entries after a sequence number.
func (s *Store) AuditLog(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]wildwarden.AuditEntry, error) {
	return s.auditEntries(ctx, "audit log", `SELECT `+auditColumns+` FROM audit WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, tenantID, afterSeq, limit)
}

// auditEntries runs a query of auditColumns and collects the entries;
// what names the read in its errors.
func (s *Store) auditEntries(ctx context.Context, what, query string, args ...any) ([]wildwarden.AuditEntry, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wildwarden.AuditEntry, error) { return scanAudit(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return out, nil
}

// VerifyAudit walks the chain from the first entry. Sequence numbers must
// be consecutive from 1 (a deleted row leaves a gap), each entry must name
// its predecessor's hash and its own hash must match its content. It
// reads one snapshot, so entries committed meanwhile do not confuse it.
func (s *Store) VerifyAudit(ctx context.Context) (int64, string, error) {
	var n int64
	head := ""
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+auditColumns+` FROM audit ORDER BY seq`)
		if err != nil {
			return fmt.Errorf("postgres: audit verify: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanAudit(rows)
			if err != nil {
				return fmt.Errorf("postgres: audit verify: %w", err)
			}
			switch {
			case e.Seq != n+1:
				return fmt.Errorf("audit: entry %d is missing (next entry is %d): rows were deleted", n+1, e.Seq)
			case e.PrevHash != head:
				return fmt.Errorf("audit: entry %d does not follow entry %d: the chain was altered", e.Seq, n)
			case e.ComputeHash() != e.Hash:
				return fmt.Errorf("audit: entry %d was edited: its hash does not match its content", e.Seq)
			}
			n, head = e.Seq, e.Hash
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: audit verify: %w", err)
		}
		return nil
	})
	return n, head, err
}

// The queries of SyncLog and SyncHead. Their condition is the one of the
// partial index audit_sync (migration 005), so the planner can prove that
// the index covers them.
const (
	syncWhere     = `action IN ('kb.add', 'bank.create', 'bank.delete', 'bank.add', 'bank.remove')`
	syncLogQuery  = `SELECT ` + auditColumns + ` FROM audit WHERE ` + syncWhere + ` AND seq > $1 ORDER BY seq LIMIT $2`
	syncHeadQuery = `SELECT seq FROM audit WHERE ` + syncWhere + ` ORDER BY seq DESC LIMIT 1`
)

// SyncLog lists the audit entries of all tenants after a sequence number
// that change what a running service keeps in memory.
func (s *Store) SyncLog(ctx context.Context, afterSeq int64, limit int) ([]wildwarden.AuditEntry, error) {
	return s.auditEntries(ctx, "sync log", syncLogQuery, afterSeq, limit)
}

// SyncHead returns the sequence number of the newest entry SyncLog lists.
func (s *Store) SyncHead(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.pool.QueryRow(ctx, syncHeadQuery).Scan(&seq); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("postgres: sync head: %w", err)
	}
	return seq, nil
}
