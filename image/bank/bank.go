package bank

import (
	"cmp"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/image/pdq"
)

const (
	// DefaultRadius is the match threshold recommended by the PDQ reference:
	// hashes within 31 bits are the same picture.
	DefaultRadius = 31
	// MinQuality is the lowest PDQ quality trusted; the reference discards
	// hashes of quality 49 and below.
	MinQuality = 50
)

// Kind says what a match against a bank means.
type Kind string

const (
	// Deny banks hold photos of known illegal offers; a match is evidence.
	Deny Kind = "deny"
	// Allow banks hold photos that must never cause a match (stock photos,
	// museum pictures); a match suppresses deny matches for the photo.
	Allow Kind = "allow"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == Deny || k == Allow }

// Entry is one photo hash in a bank, with where it came from.
type Entry struct {
	ID       string   `json:"id"`
	Hash     pdq.Hash `json:"hash"`
	Quality  int      `json:"quality"`
	Species  string   `json:"species,omitempty"`
	Category string   `json:"category,omitempty"`
	// Source says where the photo was seen: a listing id, a URL, a case.
	Source  string    `json:"source,omitempty"`
	AddedBy string    `json:"added_by,omitempty"`
	AddedAt time.Time `json:"added_at"`
	Note    string    `json:"note,omitempty"`
}

// Match is an entry found near a query hash.
type Match struct {
	Bank     string `json:"bank"`
	Kind     Kind   `json:"kind"`
	Distance int    `json:"distance"`
	Entry    Entry  `json:"entry"`
}

// Info describes a bank without its entries.
type Info struct {
	Name        string    `json:"name"`
	Kind        Kind      `json:"kind"`
	Description string    `json:"description,omitempty"`
	CreatedBy   string    `json:"created_by,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// bankName is the form of bank names: short, lower-case, URL- and
// file-name-safe, e.g. "trafficking-confirmed".
var bankName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidateInfo checks a bank's name and kind.
func ValidateInfo(info Info) error {
	if !bankName.MatchString(info.Name) {
		return wildwarden.Errorf(wildwarden.EINVALID, "name", "bank name %q must be 1–64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit", info.Name)
	}
	if !info.Kind.Valid() {
		return wildwarden.Errorf(wildwarden.EINVALID, "kind", "bank kind %q must be %q or %q", info.Kind, Deny, Allow)
	}
	return nil
}

// ValidateEntry checks an entry before it is stored: it needs an id and a
// hash of at least MinQuality.
func ValidateEntry(e Entry) error {
	switch {
	case e.ID == "":
		return wildwarden.Errorf(wildwarden.EINVALID, "id", "entry id is required")
	case len(e.ID) > 256:
		return wildwarden.Errorf(wildwarden.EINVALID, "id", "entry id is %d bytes; at most 256 are allowed", len(e.ID))
	case e.Quality < MinQuality || e.Quality > 100:
		return wildwarden.Errorf(wildwarden.EINVALID, "quality", "hash quality %d is outside %d…100: the photo is too flat to match reliably", e.Quality, MinQuality)
	}
	return nil
}

// Bank is a named set of entries with a Hamming index over their hashes. It
// is safe for concurrent use: matches share a read lock, changes take the
// write lock.
type Bank struct {
	mu      sync.RWMutex
	info    Info
	entries map[string]Entry
	index   *Index
}

// New returns an empty bank.
func New(info Info) (*Bank, error) {
	if err := ValidateInfo(info); err != nil {
		return nil, err
	}
	return &Bank{info: info, entries: make(map[string]Entry), index: NewIndex()}, nil
}

// Info returns the bank's description.
func (b *Bank) Info() Info { return b.info }

// Name returns the bank's name.
func (b *Bank) Name() string { return b.info.Name }

// Len returns the number of entries.
func (b *Bank) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.entries)
}

// Add stores an entry. It fails with EINVALID for an invalid entry and with
// ECONFLICT when the id is taken.
func (b *Bank) Add(e Entry) error {
	if err := ValidateEntry(e); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, taken := b.entries[e.ID]; taken {
		return wildwarden.Errorf(wildwarden.ECONFLICT, "id", "bank %s already has an entry %q", b.info.Name, e.ID)
	}
	b.entries[e.ID] = e
	b.index.Add(e.ID, e.Hash)
	return nil
}

// Remove deletes the entry with the given id and returns it; it fails with
// ENOTFOUND when there is none.
func (b *Bank) Remove(id string) (Entry, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[id]
	if !ok {
		return Entry{}, wildwarden.Errorf(wildwarden.ENOTFOUND, "id", "bank %s has no entry %q", b.info.Name, id)
	}
	delete(b.entries, id)
	b.index.Remove(id)
	return e, nil
}

// Get returns the entry with the given id.
func (b *Bank) Get(id string) (Entry, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	e, ok := b.entries[id]
	return e, ok
}

// Entries returns all entries, oldest first (then by id).
func (b *Bank) Entries() []Entry {
	b.mu.RLock()
	list := make([]Entry, 0, len(b.entries))
	for _, e := range b.entries {
		list = append(list, e)
	}
	b.mu.RUnlock()
	slices.SortFunc(list, func(x, y Entry) int {
		return cmp.Or(x.AddedAt.Compare(y.AddedAt), cmp.Compare(x.ID, y.ID))
	})
	return list
}

// Match returns the entries whose hash is within radius of query, nearest
// first (then by id). It does not look at quality; Set.Match does.
func (b *Bank) Match(query pdq.Hash, radius int) []Match {
	b.mu.RLock()
	var matches []Match
	b.index.Search(query, radius, func(id string, distance int) {
		matches = append(matches, Match{Bank: b.info.Name, Kind: b.info.Kind, Distance: distance, Entry: b.entries[id]})
	})
	b.mu.RUnlock()
	sortMatches(matches)
	return matches
}

func sortMatches(matches []Match) {
	slices.SortFunc(matches, func(x, y Match) int {
		return cmp.Or(cmp.Compare(x.Distance, y.Distance), cmp.Compare(x.Bank, y.Bank), cmp.Compare(x.Entry.ID, y.Entry.ID))
	})
}
