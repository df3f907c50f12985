package bank

import (
	"cmp"
	"slices"
	"sync"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/image/pdq"
)

// Set holds every bank by name: what the service loads at start and
// matches photos against. It is safe for concurrent use.
type Set struct {
	mu    sync.RWMutex
	banks map[string]*Bank
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{banks: make(map[string]*Bank)} }

// Create adds an empty bank; it fails with ECONFLICT when the name is taken.
func (s *Set) Create(info Info) (*Bank, error) {
	b, err := New(info)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.banks[info.Name]; taken {
		return nil, wildwarden.Errorf(wildwarden.ECONFLICT, "name", "bank %s already exists", info.Name)
	}
	s.banks[info.Name] = b
	return b, nil
}

// Delete removes a bank and its entries; it fails with ENOTFOUND when there
// is none.
func (s *Set) Delete(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.banks[name]; !ok {
		return wildwarden.Errorf(wildwarden.ENOTFOUND, "name", "no bank %s", name)
	}
	delete(s.banks, name)
	return nil
}

// Bank returns the bank with the given name, or ENOTFOUND.
func (s *Set) Bank(name string) (*Bank, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.banks[name]
	if !ok {
		return nil, wildwarden.Errorf(wildwarden.ENOTFOUND, "bank", "no bank %s", name)
	}
	return b, nil
}

// Banks returns all banks sorted by name.
func (s *Set) Banks() []*Bank {
	s.mu.RLock()
	list := make([]*Bank, 0, len(s.banks))
	for _, b := range s.banks {
		list = append(list, b)
	}
	s.mu.RUnlock()
	slices.SortFunc(list, func(x, y *Bank) int { return cmp.Compare(x.Name(), y.Name()) })
	return list
}

// Outcome is the result of matching one photo against every bank.
type Outcome struct {
	// Matches are the deny-bank entries near the photo, nearest first. It is
	// empty when the photo matched an allow bank.
	Matches []Match `json:"matches,omitempty"`
	// Allowed are the allow-bank entries near the photo; any suppresses
	// Matches.
	Allowed []Match `json:"allowed,omitempty"`
	// Suppressed counts the deny matches dropped because of Allowed.
	Suppressed int `json:"suppressed,omitempty"`
	// LowQuality is set when the photo's hash quality is below MinQuality
	// and it was not matched at all.
	LowQuality bool `json:"low_quality,omitempty"`
}

// Match matches a photo's hash against every bank within radius (use
// DefaultRadius unless configured otherwise). Photos of low quality match
// nothing; a photo in an allow bank matches no deny bank.
func (s *Set) Match(photo pdq.Result, radius int) Outcome {
	if photo.Quality < MinQuality {
		return Outcome{LowQuality: true}
	}
	var out Outcome
	for _, b := range s.Banks() {
		found := b.Match(photo.Hash, radius)
		if b.Info().Kind == Allow {
			out.Allowed = append(out.Allowed, found...)
		} else {
			out.Matches = append(out.Matches, found...)
		}
	}
	if len(out.Allowed) > 0 {
		out.Suppressed = len(out.Matches)
		out.Matches = nil
	}
	sortMatches(out.Matches)
	sortMatches(out.Allowed)
	return out
}
