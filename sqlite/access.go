package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/wildwarden/wildwarden"
)

var _ wildwarden.Store = (*Store)(nil)

// CreateTenant stores a new tenant; a taken name is ECONFLICT.
func (s *Store) CreateTenant(ctx context.Context, t *wildwarden.Tenant) error {
	if t.Name == "" {
		return wildwarden.Errorf(wildwarden.EINVALID, "name", "is required")
	}
	if t.ID == "" {
		t.ID = wildwarden.NewID("tnt")
	}
	return s.write(ctx, func(w *wtx) error {
		t.CreatedAt = w.now
		if _, err := w.exec(`INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)`, t.ID, t.Name, formatTime(t.CreatedAt)); err != nil {
			if isUniqueViolation(err) {
				return wildwarden.Errorf(wildwarden.ECONFLICT, "name", "tenant %q exists", t.Name)
			}
			return fmt.Errorf("sqlite: create tenant: %w", err)
		}
		return w.audit(t.ID, "tenant.create", t.ID, t.Name)
	})
}

// Tenants lists all tenants (an operator's view, used by the CLI).
func (s *Store) Tenants(ctx context.Context) ([]wildwarden.Tenant, error) {
	rows, err := s.query(ctx, `SELECT id, name, created_at FROM tenants ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: tenants: %w", err)
	}
	defer rows.Close()
	var out []wildwarden.Tenant
	for rows.Next() {
		var t wildwarden.Tenant
		var at string
		if err := rows.Scan(&t.ID, &t.Name, &at); err != nil {
			return nil, fmt.Errorf("sqlite: tenants: %w", err)
		}
		t.CreatedAt = parseTime(at)
		out = append(out, t)
	}
	return out, rows.Err()
}

// tenantExists checks a tenant inside a write.
func (w *wtx) tenantExists(id string) error {
	var n int
	if err := w.queryRow(`SELECT COUNT(*) FROM tenants WHERE id = ?`, id).Scan(&n); err != nil {
		return fmt.Errorf("sqlite: tenant: %w", err)
	}
	if n == 0 {
		return notFound("tenant", id)
	}
	return nil
}

// CreateUser stores a user of a tenant.
func (s *Store) CreateUser(ctx context.Context, u *wildwarden.User) error {
	if u.Name == "" {
		return wildwarden.Errorf(wildwarden.EINVALID, "name", "is required")
	}
	if !wildwarden.ValidRole(u.Role) {
		return wildwarden.Errorf(wildwarden.EINVALID, "role", "must be platform, reviewer or admin")
	}
	if u.ID == "" {
		u.ID = wildwarden.NewID("usr")
	}
	return s.write(ctx, func(w *wtx) error {
		if err := w.tenantExists(u.TenantID); err != nil {
			return err
		}
		u.CreatedAt = w.now
		if _, err := w.exec(`INSERT INTO users (id, tenant_id, name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			u.ID, u.TenantID, u.Name, u.Role, u.PasswordHash, formatTime(u.CreatedAt)); err != nil {
			if isUniqueViolation(err) {
				return wildwarden.Errorf(wildwarden.ECONFLICT, "name", "user %q exists", u.Name)
			}
			return fmt.Errorf("sqlite: create user: %w", err)
		}
		return w.audit(u.TenantID, "user.create", u.ID, u.Role+" "+u.Name)
	})
}

// Users lists a tenant's users.
func (s *Store) Users(ctx context.Context, tenantID string) ([]wildwarden.User, error) {
	rows, err := s.query(ctx, `SELECT id, tenant_id, name, role, password_hash, created_at FROM users WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: users: %w", err)
	}
	defer rows.Close()
	var out []wildwarden.User
	for rows.Next() {
		var u wildwarden.User
		var at string
		if err := rows.Scan(&u.ID, &u.TenantID, &u.Name, &u.Role, &u.PasswordHash, &at); err != nil {
			return nil, fmt.Errorf("sqlite: users: %w", err)
		}
		u.CreatedAt = parseTime(at)
		out = append(out, u)
	}
	return out, rows.Err()
}

// CreateKey stores a key's hash.
func (s *Store) CreateKey(ctx context.Context, k *wildwarden.APIKey) error {
	if !wildwarden.ValidRole(k.Role) {
		return wildwarden.Errorf(wildwarden.EINVALID, "role", "must be platform, reviewer or admin")
	}
	if len(k.Hash) == 0 {
		return wildwarden.Errorf(wildwarden.EINVALID, "hash", "is required")
	}
	if k.ID == "" {
		k.ID = wildwarden.NewID("key")
	}
	return s.write(ctx, func(w *wtx) error {
		if err := w.tenantExists(k.TenantID); err != nil {
			return err
		}
		k.CreatedAt = w.now
		if _, err := w.exec(`INSERT INTO api_keys (id, tenant_id, user_id, role, name, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.TenantID, k.UserID, k.Role, k.Name, k.Prefix, k.Hash, formatTime(k.CreatedAt)); err != nil {
			return fmt.Errorf("sqlite: create key: %w", err)
		}
		return w.audit(k.TenantID, "key.create", k.ID, k.Role)
	})
}

const keyColumns = `id, tenant_id, user_id, role, name, prefix, hash, created_at, revoked_at`

func scanKey(sc interface{ Scan(...any) error }) (*wildwarden.APIKey, error) {
	var k wildwarden.APIKey
	var at string
	var revoked sql.NullString
	if err := sc.Scan(&k.ID, &k.TenantID, &k.UserID, &k.Role, &k.Name, &k.Prefix, &k.Hash, &at, &revoked); err != nil {
		return nil, err
	}
	k.CreatedAt = parseTime(at)
	if revoked.Valid {
		t := parseTime(revoked.String)
		k.RevokedAt = &t
	}
	return &k, nil
}

// KeyByHash finds an unrevoked key.
func (s *Store) KeyByHash(ctx context.Context, hash []byte) (*wildwarden.APIKey, error) {
	k, err := scanKey(s.queryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE hash = ? AND revoked_at IS NULL`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wildwarden.Errorf(wildwarden.ENOTFOUND, "", "no such key")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: key: %w", err)
	}
	return k, nil
}

// Keys lists a tenant's keys, revoked ones included.
func (s *Store) Keys(ctx context.Context, tenantID string) ([]wildwarden.APIKey, error) {
	rows, err := s.query(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: keys: %w", err)
	}
	defer rows.Close()
	var out []wildwarden.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: keys: %w", err)
		}
		out = append(out, *k)
	}
	return out, rows.Err()
}

// RevokeKey marks a key revoked; it is then never returned by KeyByHash.
func (s *Store) RevokeKey(ctx context.Context, tenantID, keyID string) error {
	return s.write(ctx, func(w *wtx) error {
		res, err := w.exec(`UPDATE api_keys SET revoked_at = ? WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL`, formatTime(w.now), tenantID, keyID)
		if err != nil {
			return fmt.Errorf("sqlite: revoke key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("key", keyID)
		}
		return w.audit(tenantID, "key.revoke", keyID, "")
	})
}
