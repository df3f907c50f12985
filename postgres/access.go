package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/wildwarden/wildwarden"
)

// CreateTenant stores a new tenant; a taken name is ECONFLICT.
func (s *Store) CreateTenant(ctx context.Context, t *wildwarden.Tenant) error {
	if t.Name == "" {
		return wildwarden.Errorf(wildwarden.EINVALID, "name", "is required")
	}
	if t.ID == "" {
		t.ID = wildwarden.NewID("tnt")
	}
	return s.write(ctx, func(w *tx) error {
		t.CreatedAt = w.now
		if _, err := w.exec(`INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)`, t.ID, t.Name, t.CreatedAt); err != nil {
			if isUniqueViolation(err) {
				return wildwarden.Errorf(wildwarden.ECONFLICT, "name", "tenant %q exists", t.Name)
			}
			return fmt.Errorf("postgres: create tenant: %w", err)
		}
		w.audit(t.ID, "tenant.create", t.ID, t.Name)
		return nil
	})
}

// Tenants lists all tenants (an operator's view, used by the CLI).
func (s *Store) Tenants(ctx context.Context) ([]wildwarden.Tenant, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, created_at FROM tenants ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: tenants: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wildwarden.Tenant, error) {
		var t wildwarden.Tenant
		err := r.Scan(&t.ID, &t.Name, &t.CreatedAt)
		t.CreatedAt = utc(t.CreatedAt)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: tenants: %w", err)
	}
	return out, nil
}

// tenantExists checks a tenant inside a write.
func (w *tx) tenantExists(id string) error {
	var n int
	if err := w.queryRow(`SELECT COUNT(*) FROM tenants WHERE id = $1`, id).Scan(&n); err != nil {
		return fmt.Errorf("postgres: tenant: %w", err)
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
	return s.write(ctx, func(w *tx) error {
		if err := w.tenantExists(u.TenantID); err != nil {
			return err
		}
		u.CreatedAt = w.now
		if _, err := w.exec(`INSERT INTO users (id, tenant_id, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			u.ID, u.TenantID, u.Name, u.Role, u.PasswordHash, u.CreatedAt); err != nil {
			if isUniqueViolation(err) {
				return wildwarden.Errorf(wildwarden.ECONFLICT, "name", "user %q exists", u.Name)
			}
			return fmt.Errorf("postgres: create user: %w", err)
		}
		w.audit(u.TenantID, "user.create", u.ID, u.Role+" "+u.Name)
		return nil
	})
}

// Users lists a tenant's users.
func (s *Store) Users(ctx context.Context, tenantID string) ([]wildwarden.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, tenant_id, name, role, password_hash, created_at FROM users WHERE tenant_id = $1 ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("postgres: users: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wildwarden.User, error) {
		var u wildwarden.User
		err := r.Scan(&u.ID, &u.TenantID, &u.Name, &u.Role, &u.PasswordHash, &u.CreatedAt)
		u.CreatedAt = utc(u.CreatedAt)
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: users: %w", err)
	}
	return out, nil
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
	return s.write(ctx, func(w *tx) error {
		if err := w.tenantExists(k.TenantID); err != nil {
			return err
		}
		k.CreatedAt = w.now
		if _, err := w.exec(`INSERT INTO api_keys (id, tenant_id, user_id, role, name, prefix, hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			k.ID, k.TenantID, k.UserID, k.Role, k.Name, k.Prefix, k.Hash, k.CreatedAt); err != nil {
			return fmt.Errorf("postgres: create key: %w", err)
		}
		w.audit(k.TenantID, "key.create", k.ID, k.Role)
		return nil
	})
}

const keyColumns = `id, tenant_id, user_id, role, name, prefix, hash, created_at, revoked_at`

func scanKey(r pgx.Row) (wildwarden.APIKey, error) {
	var k wildwarden.APIKey
	err := r.Scan(&k.ID, &k.TenantID, &k.UserID, &k.Role, &k.Name, &k.Prefix, &k.Hash, &k.CreatedAt, &k.RevokedAt)
	k.CreatedAt, k.RevokedAt = utc(k.CreatedAt), utcPtr(k.RevokedAt)
	return k, err
}

// KeyByHash finds an unrevoked key.
func (s *Store) KeyByHash(ctx context.Context, hash []byte) (*wildwarden.APIKey, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE hash = $1 AND revoked_at IS NULL`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, wildwarden.Errorf(wildwarden.ENOTFOUND, "", "no such key")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: key: %w", err)
	}
	return &k, nil
}

// Keys lists a tenant's keys, revoked ones included.
func (s *Store) Keys(ctx context.Context, tenantID string) ([]wildwarden.APIKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("postgres: keys: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wildwarden.APIKey, error) { return scanKey(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: keys: %w", err)
	}
	return out, nil
}

// RevokeKey marks a key revoked; it is then never returned by KeyByHash.
func (s *Store) RevokeKey(ctx context.Context, tenantID, keyID string) error {
	return s.write(ctx, func(w *tx) error {
		tag, err := w.exec(`UPDATE api_keys SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 AND revoked_at IS NULL`, w.now, tenantID, keyID)
		if err != nil {
			return fmt.Errorf("postgres: revoke key: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return notFound("key", keyID)
		}
		w.audit(tenantID, "key.revoke", keyID, "")
		return nil
	})
}
