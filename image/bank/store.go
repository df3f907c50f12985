package bank

import (
	"context"
	"fmt"
	"sync"

	"github.com/wildwarden/wildwarden"
)

// Store persists banks. The storage packages implement it; every change
// method records an audit event naming the actor.
type Store interface {
	ListBanks(ctx context.Context) ([]Info, error)
	ListEntries(ctx context.Context, bank string) ([]Entry, error)
	// Entry returns one entry of a bank (ENOTFOUND when there is none).
	Entry(ctx context.Context, bank, id string) (Entry, error)
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
// applied in memory, so memory never holds what the store refused. A bank
// or entry is added to memory as the store reads it back, so memory holds
// what the store filled in (the creation time, on the store's clock) as a
// later Load would. Changes are serialised, so two writers cannot both
// pass the checks for one id.
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
	stored, err := p.storedInfo(ctx, info.Name)
	if err != nil {
		return nil, fmt.Errorf("bank: create %s: read back: %w", info.Name, err)
	}
	return p.Set.Create(stored)
}

// storedInfo reads a bank's description from the store: ENOTFOUND when
// the store has no such bank (another process deleted it).
func (p *Persistent) storedInfo(ctx context.Context, name string) (Info, error) {
	infos, err := p.Store.ListBanks(ctx)
	if err != nil {
		return Info{}, err
	}
	for _, info := range infos {
		if info.Name == name {
			return info, nil
		}
	}
	return Info{}, wildwarden.Errorf(wildwarden.ENOTFOUND, "name", "the store has no bank %s", name)
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
	stored, err := p.Store.Entry(ctx, bankName, e.ID)
	if err != nil {
		return fmt.Errorf("bank: add %s to %s: read back: %w", e.ID, bankName, err)
	}
	return b.Add(stored)
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

// Other processes (replicas of the service, the CLI) change banks in the
// store too. A replica follows their changes (wildwarden.Store.SyncLog) and
// replays each one here, in the order they were made, with the methods
// below. Each brings one bank or entry in memory to what the store holds
// after the change, under the lock the changes made here take, and does
// nothing when memory holds that already (this process made the change,
// or loaded the banks after it). Memory loaded at some point, with every
// change after that point replayed in order, equals the store: an entry
// that exists at the end was added after its bank was last created, so its
// addition is among the changes replayed.

// SyncCreate follows the creation of a bank: the bank is read from the
// store and added, empty (its entries follow as changes of their own),
// unless memory has it or the store no longer does. It reports whether
// memory changed.
func (p *Persistent) SyncCreate(ctx context.Context, name string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.Set.Bank(name); err == nil {
		return false, nil
	}
	info, err := p.storedInfo(ctx, name)
	if wildwarden.ErrorCode(err) == wildwarden.ENOTFOUND {
		return false, nil // deleted since; its deletion follows
	} else if err != nil {
		return false, fmt.Errorf("bank: sync create %s: %w", name, err)
	}
	if _, err := p.Set.Create(info); err != nil {
		return false, fmt.Errorf("bank: sync create %s: %w", name, err)
	}
	return true, nil
}

// SyncDelete follows the deletion of a bank: memory drops it, even when
// the store has a bank of that name again (that one's creation follows).
func (p *Persistent) SyncDelete(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Set.Delete(name) == nil
}

// SyncAdd follows the addition of an entry: the entry is read from the
// store and added unless memory has it, or memory has no such bank, or the
// store no longer has the entry (a later change removed it).
func (p *Persistent) SyncAdd(ctx context.Context, bankName, id string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, err := p.Set.Bank(bankName)
	if err != nil {
		return false, nil // deleted since
	}
	if _, ok := b.Get(id); ok {
		return false, nil
	}
	e, err := p.Store.Entry(ctx, bankName, id)
	if wildwarden.ErrorCode(err) == wildwarden.ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("bank: sync add %s to %s: %w", id, bankName, err)
	}
	if err := b.Add(e); err != nil {
		return false, fmt.Errorf("bank: sync add %s to %s: %w", id, bankName, err)
	}
	return true, nil
}

// SyncRemove follows the removal of an entry: memory drops it, even when
// the store has an entry of that ID again (that one's addition follows).
func (p *Persistent) SyncRemove(bankName, id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, err := p.Set.Bank(bankName)
	if err != nil {
		return false
	}
	_, err = b.Remove(id)
	return err == nil
}
