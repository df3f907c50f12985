package inspect

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/image/bank"
	"github.com/wildwarden/wildwarden/image/pdq"
)

// BankStore is the part of wildwarden.Store that keeps image banks.
type BankStore interface {
	ImageBanks(ctx context.Context, tenantID string) ([]wildwarden.ImageBank, error)
	ImageBankEntries(ctx context.Context, tenantID, bank string) ([]wildwarden.ImageBankEntry, error)
	ImageBankEntry(ctx context.Context, tenantID, bank, id string) (*wildwarden.ImageBankEntry, error)
	CreateImageBank(ctx context.Context, b *wildwarden.ImageBank) error
	DeleteImageBank(ctx context.Context, tenantID, bank string) error
	AddImageBankEntry(ctx context.Context, tenantID string, e *wildwarden.ImageBankEntry) error
	RemoveImageBankEntry(ctx context.Context, tenantID, bank, id string) error
}

// TenantStore returns a bank.Store over one tenant's banks in store: what
// bank.Load and bank.Persistent work on.
func TenantStore(store BankStore, tenantID string) bank.Store {
	return tenantStore{store: store, tenantID: tenantID}
}

type tenantStore struct {
	store    BankStore
	tenantID string
}

func (t tenantStore) ListBanks(ctx context.Context) ([]bank.Info, error) {
	stored, err := t.store.ImageBanks(ctx, t.tenantID)
	if err != nil {
		return nil, err
	}
	infos := make([]bank.Info, len(stored))
	for i, b := range stored {
		infos[i] = bank.Info{Name: b.Name, Kind: bank.Kind(b.Kind), Description: b.Description, CreatedBy: b.CreatedBy, CreatedAt: b.CreatedAt}
	}
	return infos, nil
}

func (t tenantStore) ListEntries(ctx context.Context, bankName string) ([]bank.Entry, error) {
	stored, err := t.store.ImageBankEntries(ctx, t.tenantID, bankName)
	if err != nil {
		return nil, err
	}
	entries := make([]bank.Entry, len(stored))
	for i, e := range stored {
		if entries[i], err = EntryFromStore(e); err != nil {
			return nil, err
		}
	}
	return entries, nil
}

func (t tenantStore) Entry(ctx context.Context, bankName, id string) (bank.Entry, error) {
	stored, err := t.store.ImageBankEntry(ctx, t.tenantID, bankName, id)
	if err != nil {
		return bank.Entry{}, err
	}
	return EntryFromStore(*stored)
}

func (t tenantStore) CreateBank(ctx context.Context, info bank.Info, actor string) error {
	return t.store.CreateImageBank(wildwarden.WithActor(ctx, actor), &wildwarden.ImageBank{
		TenantID: t.tenantID, Name: info.Name, Kind: string(info.Kind), Description: info.Description, CreatedBy: info.CreatedBy,
	})
}

func (t tenantStore) DeleteBank(ctx context.Context, name, actor string) error {
	return t.store.DeleteImageBank(wildwarden.WithActor(ctx, actor), t.tenantID, name)
}

func (t tenantStore) AddEntry(ctx context.Context, bankName string, e bank.Entry, actor string) error {
	stored := EntryToStore(bankName, e)
	return t.store.AddImageBankEntry(wildwarden.WithActor(ctx, actor), t.tenantID, &stored)
}

func (t tenantStore) RemoveEntry(ctx context.Context, bankName, id, actor string) error {
	return t.store.RemoveImageBankEntry(wildwarden.WithActor(ctx, actor), t.tenantID, bankName, id)
}

// EntryFromStore converts a stored entry to a bank entry.
func EntryFromStore(e wildwarden.ImageBankEntry) (bank.Entry, error) {
	hash, err := pdq.ParseHex(e.Hash)
	if err != nil {
		return bank.Entry{}, fmt.Errorf("inspect: bank %s entry %s: %w", e.Bank, e.ID, err)
	}
	return bank.Entry{ID: e.ID, Hash: hash, Quality: e.Quality, Species: e.Species, Category: e.Category,
		Source: e.Source, AddedBy: e.AddedBy, AddedAt: e.AddedAt, Note: e.Note}, nil
}

// EntryToStore converts a bank entry to its stored form.
func EntryToStore(bankName string, e bank.Entry) wildwarden.ImageBankEntry {
	return wildwarden.ImageBankEntry{Bank: bankName, ID: e.ID, Hash: e.Hash.String(), Quality: e.Quality, Species: e.Species,
		Category: e.Category, Source: e.Source, AddedBy: e.AddedBy, AddedAt: e.AddedAt, Note: e.Note}
}

// Banks holds every tenant's banks in memory and writes changes through
// to the store. A tenant's banks are loaded on first use, or all at once
// by LoadAll when the service starts. Banks changed in the store by
// another process (a replica, the CLI) are seen when their changes are
// replayed with Apply. It is safe for concurrent use.
type Banks struct {
	store   BankStore
	mu      sync.Mutex
	tenants map[string]*bank.Persistent
}

// NewBanks returns an empty cache over store.
func NewBanks(store BankStore) *Banks {
	return &Banks{store: store, tenants: map[string]*bank.Persistent{}}
}

// Tenant returns a tenant's banks, loading them on first use.
func (b *Banks) Tenant(ctx context.Context, tenantID string) (*bank.Persistent, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p, ok := b.tenants[tenantID]; ok {
		return p, nil
	}
	store := TenantStore(b.store, tenantID)
	set, err := bank.Load(ctx, store)
	if err != nil {
		return nil, fmt.Errorf("inspect: banks of tenant %s: %w", tenantID, err)
	}
	p := &bank.Persistent{Set: set, Store: store}
	b.tenants[tenantID] = p
	return p, nil
}

// Set returns a tenant's banks for matching.
func (b *Banks) Set(ctx context.Context, tenantID string) (*bank.Set, error) {
	p, err := b.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return p.Set, nil
}

// LoadAll loads the banks of the given tenants and returns how many banks
// and entries they hold, for the start-up log.
func (b *Banks) LoadAll(ctx context.Context, tenantIDs []string) (banks, entries int, err error) {
	for _, id := range tenantIDs {
		p, err := b.Tenant(ctx, id)
		if err != nil {
			return banks, entries, err
		}
		for _, bk := range p.Set.Banks() {
			banks++
			entries += bk.Len()
		}
	}
	return banks, entries, nil
}

// Apply replays one image-bank change that a process stored (an entry of
// wildwarden.Store.SyncLog) on the tenant's banks in memory, and reports
// whether memory changed. Replaying a change memory holds already (made
// here, or loaded after it) changes nothing. A tenant whose banks are not
// loaded is left alone: they are read whole on first use. Other actions
// are ignored.
func (b *Banks) Apply(ctx context.Context, change wildwarden.AuditEntry) (bool, error) {
	b.mu.Lock()
	p, loaded := b.tenants[change.TenantID]
	b.mu.Unlock()
	if !loaded {
		return false, nil
	}
	switch change.Action {
	case wildwarden.AuditBankCreate:
		return p.SyncCreate(ctx, change.Subject)
	case wildwarden.AuditBankDelete:
		return p.SyncDelete(change.Subject), nil
	case wildwarden.AuditBankAdd, wildwarden.AuditBankRemove:
		// Bank names hold no "/", entry IDs may.
		bankName, id, ok := strings.Cut(change.Subject, "/")
		if !ok {
			return false, wildwarden.Errorf(wildwarden.EINVALID, "subject", "audit entry %d: %s subject %q is not BANK/ENTRY", change.Seq, change.Action, change.Subject)
		}
		if change.Action == wildwarden.AuditBankAdd {
			return p.SyncAdd(ctx, bankName, id)
		}
		return p.SyncRemove(bankName, id), nil
	}
	return false, nil
}
