package postgres

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/wildwarden/wildwarden"
)

// checkBankHash checks that a hash is a PDQ hash written as 64 hex digits.
func checkBankHash(hash string) error {
	if b, err := hex.DecodeString(hash); err != nil || len(b) != 32 {
		return wildwarden.Errorf(wildwarden.EINVALID, "hash", "must be a PDQ hash of 64 hex digits")
	}
	return nil
}

// ImageBanks lists a tenant's banks by name.
func (s *Store) ImageBanks(ctx context.Context, tenantID string) ([]wildwarden.ImageBank, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, kind, description, created_by, created_at FROM image_banks WHERE tenant_id = $1 ORDER BY name`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("postgres: image banks: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wildwarden.ImageBank, error) {
		b := wildwarden.ImageBank{TenantID: tenantID}
		err := r.Scan(&b.Name, &b.Kind, &b.Description, &b.CreatedBy, &b.CreatedAt)
		b.CreatedAt = utc(b.CreatedAt)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: image banks: %w", err)
	}
	return out, nil
}

// bankExists checks that the tenant has the bank.
func bankExists(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, tenantID, bank string) error {
	var n int
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM image_banks WHERE tenant_id = $1 AND name = $2`, tenantID, bank).Scan(&n); err != nil {
		return fmt.Errorf("postgres: image bank %s: %w", bank, err)
	}
	if n == 0 {
		return notFound("image bank", bank)
	}
	return nil
}

// ImageBankEntries lists a bank's entries, oldest first.
func (s *Store) ImageBankEntries(ctx context.Context, tenantID, bank string) ([]wildwarden.ImageBankEntry, error) {
	if err := bankExists(ctx, s.pool, tenantID, bank); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, hash, quality, species, category, source, added_by, note, added_at FROM image_bank_entries
		WHERE tenant_id = $1 AND bank = $2 ORDER BY added_at, id`, tenantID, bank)
	if err != nil {
		return nil, fmt.Errorf("postgres: image bank %s entries: %w", bank, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wildwarden.ImageBankEntry, error) {
		e := wildwarden.ImageBankEntry{Bank: bank}
		err := r.Scan(&e.ID, &e.Hash, &e.Quality, &e.Species, &e.Category, &e.Source, &e.AddedBy, &e.Note, &e.AddedAt)
		e.AddedAt = utc(e.AddedAt)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: image bank %s entries: %w", bank, err)
	}
	return out, nil
}

// ImageBankEntry returns one entry of a bank.
func (s *Store) ImageBankEntry(ctx context.Context, tenantID, bank, id string) (*wildwarden.ImageBankEntry, error) {
	e := wildwarden.ImageBankEntry{Bank: bank, ID: id}
	err := s.pool.QueryRow(ctx, `SELECT hash, quality, species, category, source, added_by, note, added_at FROM image_bank_entries
		WHERE tenant_id = $1 AND bank = $2 AND id = $3`, tenantID, bank, id).Scan(&e.Hash, &e.Quality, &e.Species, &e.Category, &e.Source, &e.AddedBy, &e.Note, &e.AddedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("image bank entry", bank+"/"+id)
	} else if err != nil {
		return nil, fmt.Errorf("postgres: image bank entry %s/%s: %w", bank, id, err)
	}
	e.AddedAt = utc(e.AddedAt)
	return &e, nil
}

// CreateImageBank stores a new bank; CreatedAt is set to the store's clock
// and CreatedBy to the context's actor when empty.
func (s *Store) CreateImageBank(ctx context.Context, b *wildwarden.ImageBank) error {
	switch {
	case b.Name == "":
		return wildwarden.Errorf(wildwarden.EINVALID, "name", "is required")
	case b.Kind != "deny" && b.Kind != "allow":
		return wildwarden.Errorf(wildwarden.EINVALID, "kind", "must be deny or allow")
	}
	if b.CreatedBy == "" {
		b.CreatedBy = wildwarden.Actor(ctx)
	}
	return s.write(ctx, func(w *tx) error {
		if err := w.tenantExists(b.TenantID); err != nil {
			return err
		}
		b.CreatedAt = w.now
		if _, err := w.exec(`INSERT INTO image_banks (tenant_id, name, kind, description, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			b.TenantID, b.Name, b.Kind, b.Description, b.CreatedBy, b.CreatedAt); err != nil {
			if isUniqueViolation(err) {
				return wildwarden.Errorf(wildwarden.ECONFLICT, "name", "image bank %q exists", b.Name)
			}
			return fmt.Errorf("postgres: create image bank: %w", err)
		}
		w.audit(b.TenantID, wildwarden.AuditBankCreate, b.Name, b.Kind+" "+b.Description)
		return nil
	})
}

// DeleteImageBank deletes a bank and, by cascade, its entries.
func (s *Store) DeleteImageBank(ctx context.Context, tenantID, bank string) error {
	return s.write(ctx, func(w *tx) error {
		var entries int
		if err := w.queryRow(`SELECT COUNT(*) FROM image_bank_entries WHERE tenant_id = $1 AND bank = $2`, tenantID, bank).Scan(&entries); err != nil {
			return fmt.Errorf("postgres: delete image bank: %w", err)
		}
		tag, err := w.exec(`DELETE FROM image_banks WHERE tenant_id = $1 AND name = $2`, tenantID, bank)
		if err != nil {
			return fmt.Errorf("postgres: delete image bank: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return notFound("image bank", bank)
		}
		w.audit(tenantID, wildwarden.AuditBankDelete, bank, fmt.Sprintf("%d entries", entries))
		return nil
	})
}

// AddImageBankEntry stores an entry; AddedAt is set to the store's clock
// and AddedBy to the context's actor when empty.
func (s *Store) AddImageBankEntry(ctx context.Context, tenantID string, e *wildwarden.ImageBankEntry) error {
	switch {
	case e.ID == "":
		return wildwarden.Errorf(wildwarden.EINVALID, "id", "is required")
	case e.Bank == "":
		return wildwarden.Errorf(wildwarden.EINVALID, "bank", "is required")
	}
	if err := checkBankHash(e.Hash); err != nil {
		return err
	}
	if e.AddedBy == "" {
		e.AddedBy = wildwarden.Actor(ctx)
	}
	return s.write(ctx, func(w *tx) error {
		if err := bankExists(w.ctx, w, tenantID, e.Bank); err != nil {
			return err
		}
		e.AddedAt = w.now
		if _, err := w.exec(`INSERT INTO image_bank_entries (tenant_id, bank, id, hash, quality, species, category, source, added_by, note, added_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			tenantID, e.Bank, e.ID, e.Hash, e.Quality, e.Species, e.Category, e.Source, e.AddedBy, e.Note, e.AddedAt); err != nil {
			if isUniqueViolation(err) {
				return wildwarden.Errorf(wildwarden.ECONFLICT, "id", "image bank %s already has an entry %q", e.Bank, e.ID)
			}
			return fmt.Errorf("postgres: add image bank entry: %w", err)
		}
		w.audit(tenantID, wildwarden.AuditBankAdd, e.Bank+"/"+e.ID, fmt.Sprintf("%s q%d %s %s", e.Hash, e.Quality, e.Category, e.Source))
		return nil
	})
}

// RemoveImageBankEntry deletes an entry.
func (s *Store) RemoveImageBankEntry(ctx context.Context, tenantID, bank, id string) error {
	return s.write(ctx, func(w *tx) error {
		var hash string
		err := w.queryRow(`DELETE FROM image_bank_entries WHERE tenant_id = $1 AND bank = $2 AND id = $3 RETURNING hash`, tenantID, bank, id).Scan(&hash)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("image bank entry", bank+"/"+id)
		}
		if err != nil {
			return fmt.Errorf("postgres: remove image bank entry: %w", err)
		}
		w.audit(tenantID, wildwarden.AuditBankRemove, bank+"/"+id, hash)
		return nil
	})
}
