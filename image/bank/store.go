package bank

import (
	"context"
	"fmt"
	"sync"
)

// Store persists banks. The storage packages implement it; every change
// method records an audit event naming the actor.
type Store interface {
	ListBanks(ctx context.Context) ([]Info, error)
	ListEntries(ctx context.Context, bank string) ([]Entry, error)
	CreateBank(ctx context.Context, info Info, actor string) error
	DeleteBank(ctx context.Context, name, actor string) error
	AddEntry(ctx context.Context, bank string, e Entry, actor string) error
	RemoveEntry(ctx context.Context, bank, id, actor string) error
}

// Load reads every bank and its entries from the store into a new Set, as
// the service does at start.
func Load(ctx context.Context, store Store) (*Set, error) {
	infos, err := store.ListBanks(ctx)
	if err != nil {
		return nil, fmt.Errorf("bank: load: list banks: %w", err)
	}
	set := NewSet()
	for _, info := range infos {
		b, err := set.Create(info)
		if err != nil {
			return nil, fmt.Errorf("bank: load %s: %w", info.Name, err)
		}
		entries, err := store.ListEntries(ctx, info.Name)
		if err != nil {
			return nil, fmt.Errorf("bank: load %s: list entries: %w", info.Name, err)
		}
		for _, e := range entries {
			if err := b.Add(e); err != nil {
				return nil, fmt.Errorf("bank: load %s: entry %s: %w", info.Name, e.ID, err)
			}
		}
	}
	return set, nil
}

// Persistent applies changes to a Set and its Store together: each change
// is checked against memory, written to the store (which audits it), then
// applied in memory, so memory never holds what the store refused. Changes
// are serialised, so two writers cannot both pass the checks for one id.
type Persistent struct {
	Set   *Set
	Store Store
	mu    sync.Mutex
}

// CreateBank creates a bank in the store and the set.
func (p *Persistent) CreateBank(ctx context.Context, info Info, actor string) (*Bank, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := ValidateInfo(info); err != nil {
		return nil, err
	}
	if _, err := p.Set.Bank(info.Name); err == nil {
		// Let Create report the conflict without touching the store.
		return p.Set.Create(info)
	}
	if err := p.Store.CreateBank(ctx, info, actor); err != nil {
		return nil, fmt.Errorf("bank: create %s: %w", info.Name, err)
	}
	return p.Set.Create(info)
}

// DeleteBank deletes a bank from the store and the set.
func (p *Persistent) DeleteBank(ctx context.Context, name, actor string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.Set.Bank(name); err != nil {
		return err
	}
	if err := p.Store.DeleteBank(ctx, name, actor); err != nil {
		return fmt.Errorf("bank: delete %s: %w", name, err)
	}
	return p.Set.Delete(name)
}

// AddEntry adds an entry to a bank in the store and the set.
func (p *Persistent) AddEntry(ctx context.Context, bankName string, e Entry, actor string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, err := p.Set.Bank(bankName)
	if err != nil {
		return err
	}
	if err := ValidateEntry(e); err != nil {
		return err
	}
	if _, taken := b.Get(e.ID); taken {
		return b.Add(e) // reports the conflict
	}
	if err := p.Store.AddEntry(ctx, bankName, e, actor); err != nil {
		return fmt.Errorf("bank: add %s to %s: %w", e.ID, bankName, err)
	}
	return b.Add(e)
}

// RemoveEntry removes an entry from a bank in the store and the set.
func (p *Persistent) RemoveEntry(ctx context.Context, bankName, id, actor string) (Entry, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, err := p.Set.Bank(bankName)
	if err != nil {
		return Entry{}, err
	}
	if _, ok := b.Get(id); !ok {
		return b.Remove(id) // reports ENOTFOUND
	}
	if err := p.Store.RemoveEntry(ctx, bankName, id, actor); err != nil {
		return Entry{}, fmt.Errorf("bank: remove %s from %s: %w", id, bankName, err)
	}
	return b.Remove(id)
}
