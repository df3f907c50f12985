package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wildwarden/wildwarden"
)

// CreateSession stores a console session of one of the tenant's users.
func (s *Store) CreateSession(ctx context.Context, cs *wildwarden.ConsoleSession) error {
	if err := cs.Valid(); err != nil {
		return err
	}
	return s.write(ctx, func(w *wtx) error {
		cs.CreatedAt = w.now
		// Selecting from users checks that the user is the tenant's.
		res, err := w.exec(`INSERT INTO console_sessions (token_hash, tenant_id, user_id, role, csrf, created_at, expires_at)
			SELECT ?, tenant_id, id, ?, ?, ?, ? FROM users WHERE tenant_id = ? AND id = ?`,
			cs.TokenHash, cs.Role, cs.CSRF, formatTime(cs.CreatedAt), formatTime(cs.ExpiresAt), cs.TenantID, cs.UserID)
		if err != nil {
			if isUniqueViolation(err) {
				return wildwarden.Errorf(wildwarden.ECONFLICT, "token_hash", "a session has this token")
			}
			return fmt.Errorf("sqlite: create session: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("user", cs.UserID)
		}
		return nil
	})
}

// Session returns an unexpired session with its tenant's and user's names.
func (s *Store) Session(ctx context.Context, tokenHash []byte, now time.Time) (*wildwarden.ConsoleSession, error) {
	cs := &wildwarden.ConsoleSession{TokenHash: tokenHash}
	var created, expires string
	err := s.queryRow(ctx, `SELECT s.tenant_id, t.name, s.user_id, u.name, s.role, s.csrf, s.created_at, s.expires_at
		FROM console_sessions s JOIN tenants t ON t.id = s.tenant_id JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND s.expires_at > ?`, tokenHash, formatTime(now)).
		Scan(&cs.TenantID, &cs.TenantName, &cs.UserID, &cs.UserName, &cs.Role, &cs.CSRF, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wildwarden.Errorf(wildwarden.ENOTFOUND, "", "no such session")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: session: %w", err)
	}
	cs.CreatedAt, cs.ExpiresAt = parseTime(created), parseTime(expires)
	return cs, nil
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	return s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`DELETE FROM console_sessions WHERE token_hash = ?`, tokenHash); err != nil {
			return fmt.Errorf("sqlite: delete session: %w", err)
		}
		return nil
	})
}

// AddSignInFailure records a failed sign-in and returns its seq.
func (s *Store) AddSignInFailure(ctx context.Context, tenant, user string, at time.Time) (int64, error) {
	var seq int64
	err := s.write(ctx, func(w *wtx) error {
		res, err := w.exec(`INSERT INTO signin_failures (tenant, user_name, at) VALUES (?, ?, ?)`, tenant, user, formatTime(at))
		if err != nil {
			return fmt.Errorf("sqlite: add sign-in failure: %w", err)
		}
		seq, err = res.LastInsertId()
		return err
	})
	return seq, err
}

// SignInFailures returns the latest failed sign-ins after since, newest
// first.
func (s *Store) SignInFailures(ctx context.Context, tenant, user string, since time.Time, limit int) ([]time.Time, error) {
	var out []time.Time
	err := s.scanRows(ctx, func(r *sql.Rows) error {
		var at string
		if err := r.Scan(&at); err != nil {
			return err
		}
		out = append(out, parseTime(at))
		return nil
	}, `SELECT at FROM signin_failures WHERE tenant = ? AND user_name = ? AND at > ? ORDER BY at DESC LIMIT ?`,
		tenant, user, formatTime(since), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: sign-in failures: %w", err)
	}
	return out, nil
}

// ClearSignInFailures forgets a tenant and user name's failures up to
// seq through.
func (s *Store) ClearSignInFailures(ctx context.Context, tenant, user string, through int64) error {
	return s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`DELETE FROM signin_failures WHERE tenant = ? AND user_name = ? AND seq <= ?`, tenant, user, through); err != nil {
			return fmt.Errorf("sqlite: clear sign-in failures: %w", err)
		}
		return nil
	})
}

// PruneSignIns deletes expired sessions and old failed sign-ins.
func (s *Store) PruneSignIns(ctx context.Context, now, failuresBefore time.Time) error {
	return s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`DELETE FROM console_sessions WHERE expires_at <= ?`, formatTime(now)); err != nil {
			return fmt.Errorf("sqlite: prune sessions: %w", err)
		}
		if _, err := w.exec(`DELETE FROM signin_failures WHERE at <= ?`, formatTime(failuresBefore)); err != nil {
			return fmt.Errorf("sqlite: prune sign-in failures: %w", err)
		}
		return nil
	})
}
