package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

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
	rows, err := s.query(ctx, `SELECT name, kind, description, created_by, created_at FROM image_banks WHERE tenant_id = ? ORDER BY name`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: image banks: %w", err)
	}
	defer rows.Close()
	out := []wildwarden.ImageBank{}
	for rows.Next() {
		b := wildwarden.ImageBank{TenantID: tenantID}
		var at string
		if err := rows.Scan(&b.Name, &b.Kind, &b.Description, &b.CreatedBy, &at); err != nil {
			return nil, fmt.Errorf("sqlite: image banks: %w", err)
		}
		b.CreatedAt = parseTime(at)
		out = append(out, b)
	}
	return out, rows.Err()
}

// ImageBankEntries lists a bank's entries, oldest first.
func (s *Store) ImageBankEntries(ctx context.Context, tenantID, bank string) ([]wildwarden.ImageBankEntry, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM image_banks WHERE tenant_id = ? AND name = ?`, tenantID, bank).Scan(&n); err != nil {
		return nil, fmt.Errorf("sqlite: image bank %s: %w", bank, err)
	}
	if n == 0 {
		return nil, notFound("image bank", bank)
	}
	rows, err := s.query(ctx, `SELECT id, hash, quality, species, category, source, added_by, note, added_at FROM image_bank_entries WHERE tenant_id = ? AND bank = ? ORDER BY added_at, id`, tenantID, bank)
	if err != nil {
		return nil, fmt.Errorf("sqlite: image bank %s entries: %w", bank, err)
	}
	defer rows.Close()
	out := []wildwarden.ImageBankEntry{}
	for rows.Next() {
		e := wildwarden.ImageBankEntry{Bank: bank}
		var at string
		if err := rows.Scan(&e.ID, &e.Hash, &e.Quality, &e.Species, &e.Category, &e.Source, &e.AddedBy, &e.Note, &at); err != nil {
			return nil, fmt.Errorf("sqlite: image bank %s entries: %w", bank, err)
		}
		e.AddedAt = parseTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ImageBankEntry returns one entry of a bank.
func (s *Store) ImageBankEntry(ctx context.Context, tenantID, bank, id string) (*wildwarden.ImageBankEntry, error) {
	e := wildwarden.ImageBankEntry{Bank: bank, ID: id}
	var at string
	err := s.queryRow(ctx, `SELECT hash, quality, species, category, source, added_by, note, added_at FROM image_bank_entries WHERE tenant_id = ? AND bank = ? AND id = ?`,
		tenantID, bank, id).Scan(&e.Hash, &e.Quality, &e.Species, &e.Category, &e.Source, &e.AddedBy, &e.Note, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("image bank entry", bank+"/"+id)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: image bank entry %s/%s: %w", bank, id, err)
	}
	e.AddedAt = parseTime(at)
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
	return s.write(ctx, func(w *wtx) error {
		if err := w.tenantExists(b.TenantID); err != nil {
			return err
		}
		b.CreatedAt = w.now
		if _, err := w.exec(`INSERT INTO image_banks (tenant_id, name, kind, description, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			b.TenantID, b.Name, b.Kind, b.Description, b.CreatedBy, formatTime(b.CreatedAt)); err != nil {
			if isUniqueViolation(err) {
				return wildwarden.Errorf(wildwarden.ECONFLICT, "name", "image bank %q exists", b.Name)
			}
			return fmt.Errorf("sqlite: create image bank: %w", err)
		}
		return w.audit(b.TenantID, wildwarden.AuditBankCreate, b.Name, b.Kind+" "+b.Description)
	})
}

// DeleteImageBank deletes a bank and, by cascade, its entries.
func (s *Store) DeleteImageBank(ctx context.Context, tenantID, bank string) error {
	return s.write(ctx, func(w *wtx) error {
		var entries int
		if err := w.queryRow(`SELECT COUNT(*) FROM image_bank_entries WHERE tenant_id = ? AND bank = ?`, tenantID, bank).Scan(&entries); err != nil {
			return fmt.Errorf("sqlite: delete image bank: %w", err)
		}
		res, err := w.exec(`DELETE FROM image_banks WHERE tenant_id = ? AND name = ?`, tenantID, bank)
		if err != nil {
			return fmt.Errorf("sqlite: delete image bank: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("image bank", bank)
		}
		return w.audit(tenantID, wildwarden.AuditBankDelete, bank, fmt.Sprintf("%d entries", entries))
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
	return s.write(ctx, func(w *wtx) error {
		var n int
		if err := w.queryRow(`SELECT COUNT(*) FROM image_banks WHERE tenant_id = ? AND name = ?`, tenantID, e.Bank).Scan(&n); err != nil {
			return fmt.Errorf("sqlite: add image bank entry: %w", err)
		}
		if n == 0 {
			return notFound("image bank", e.Bank)
		}
		e.AddedAt = w.now
		if _, err := w.exec(`INSERT INTO image_bank_entries (tenant_id, bank, id, hash, quality, species, category, source, added_by, note, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			tenantID, e.Bank, e.ID, e.Hash, e.Quality, e.Species, e.Category, e.Source, e.AddedBy, e.Note, formatTime(e.AddedAt)); err != nil {
			if isUniqueViolation(err) {
				return wildwarden.Errorf(wildwarden.ECONFLICT, "id", "image bank %s already has an entry %q", e.Bank, e.ID)
			}
			return fmt.Errorf("sqlite: add image bank entry: %w", err)
		}
		return w.audit(tenantID, wildwarden.AuditBankAdd, e.Bank+"/"+e.ID, fmt.Sprintf("%s q%d %s %s", e.Hash, e.Quality, e.Category, e.Source))
	})
}

// RemoveImageBankEntry deletes an entry.
func (s *Store) RemoveImageBankEntry(ctx context.Context, tenantID, bank, id string) error {
	return s.write(ctx, func(w *wtx) error {
		var hash string
		if err := w.queryRow(`SELECT hash FROM image_bank_entries WHERE tenant_id = ? AND bank = ? AND id = ?`, tenantID, bank, id).Scan(&hash); errors.Is(err, sql.ErrNoRows) {
			return notFound("image bank entry", bank+"/"+id)
		} else if err != nil {
			return fmt.Errorf("sqlite: remove image bank entry: %w", err)
		}
		if _, err := w.exec(`DELETE FROM image_bank_entries WHERE tenant_id = ? AND bank = ? AND id = ?`, tenantID, bank, id); err != nil {
			return fmt.Errorf("sqlite: remove image bank entry: %w", err)
		}
		return w.audit(tenantID, wildwarden.AuditBankRemove, bank+"/"+id, hash)
	})
}
