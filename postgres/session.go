package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wildwarden/wildwarden"
)

// Console sessions and failed sign-ins are not audited, so each of their
// writes is one statement on the pool rather than a write transaction.

// CreateSession stores a console session of one of the tenant's users.
func (s *Store) CreateSession(ctx context.Context, cs *wildwarden.ConsoleSession) error {
	if err := cs.Valid(); err != nil {
		return err
	}
	cs.CreatedAt = s.clock()
	// Selecting from users checks that the user is the tenant's.
	tag, err := s.pool.Exec(ctx, `INSERT INTO console_sessions (token_hash, tenant_id, user_id, role, csrf, created_at, expires_at)
		SELECT $1, tenant_id, id, $2, $3, $4, $5 FROM users WHERE tenant_id = $6 AND id = $7`,
		cs.TokenHash, cs.Role, cs.CSRF, cs.CreatedAt, cs.ExpiresAt, cs.TenantID, cs.UserID)
	if isUniqueViolation(err) {
		return wildwarden.Errorf(wildwarden.ECONFLICT, "token_hash", "a session has this token")
	}
	if err != nil {
		return fmt.Errorf("postgres: create session: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("user", cs.UserID)
	}
	return nil
}

// Session returns an unexpired session with its tenant's and user's names.
func (s *Store) Session(ctx context.Context, tokenHash []byte, now time.Time) (*wildwarden.ConsoleSession, error) {
	cs := &wildwarden.ConsoleSession{TokenHash: tokenHash}
	err := s.pool.QueryRow(ctx, `SELECT s.tenant_id, t.name, s.user_id, u.name, s.role, s.csrf, s.created_at, s.expires_at
		FROM console_sessions s JOIN tenants t ON t.id = s.tenant_id JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.expires_at > $2`, tokenHash, now).
		Scan(&cs.TenantID, &cs.TenantName, &cs.UserID, &cs.UserName, &cs.Role, &cs.CSRF, &cs.CreatedAt, &cs.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, wildwarden.Errorf(wildwarden.ENOTFOUND, "", "no such session")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: session: %w", err)
	}
	cs.CreatedAt, cs.ExpiresAt = utc(cs.CreatedAt), utc(cs.ExpiresAt)
	return cs, nil
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE token_hash = $1`, tokenHash); err != nil {
		return fmt.Errorf("postgres: delete session: %w", err)
	}
	return nil
}

// AddSignInFailure records a failed sign-in and returns its seq.
func (s *Store) AddSignInFailure(ctx context.Context, tenant, user string, at time.Time) (int64, error) {
	var seq int64
	if err := s.pool.QueryRow(ctx, `INSERT INTO signin_failures (tenant, user_name, at) VALUES ($1, $2, $3) RETURNING seq`, tenant, user, at).Scan(&seq); err != nil {
		return 0, fmt.Errorf("postgres: add sign-in failure: %w", err)
	}
	return seq, nil
}

// SignInFailures returns the latest failed sign-ins after since, newest
// first.
func (s *Store) SignInFailures(ctx context.Context, tenant, user string, since time.Time, limit int) ([]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT at FROM signin_failures WHERE tenant = $1 AND user_name = $2 AND at > $3 ORDER BY at DESC LIMIT $4`,
		tenant, user, since, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: sign-in failures: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (time.Time, error) {
		var at time.Time
		err := r.Scan(&at)
		return utc(at), err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: sign-in failures: %w", err)
	}
	return out, nil
}

// ClearSignInFailures forgets a tenant and user name's failures up to
// seq through.
func (s *Store) ClearSignInFailures(ctx context.Context, tenant, user string, through int64) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM signin_failures WHERE tenant = $1 AND user_name = $2 AND seq <= $3`, tenant, user, through); err != nil {
		return fmt.Errorf("postgres: clear sign-in failures: %w", err)
	}
	return nil
}

// PruneSignIns deletes expired sessions and old failed sign-ins.
func (s *Store) PruneSignIns(ctx context.Context, now, failuresBefore time.Time) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM console_sessions WHERE expires_at <= $1`, now)
	b.Queue(`DELETE FROM signin_failures WHERE at <= $1`, failuresBefore)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: prune sign-ins: %w", err)
	}
	return nil
}
