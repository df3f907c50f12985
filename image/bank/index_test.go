package bank

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wildwarden/wildwarden/image/pdq"
	"github.com/wildwarden/wildwarden/internal/shareddata"
)

func randomHash(rng *rand.Rand) pdq.Hash {
	return pdq.Hash{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()}
}

// nearHash flips exactly n distinct random bits of h.
func nearHash(rng *rand.Rand, h pdq.Hash, n int) pdq.Hash {
	for _, k := range rng.Perm(pdq.Bits)[:n] {
		h[k/64] ^= 1 << (k % 64)
	}
	return h
}

type hit struct {
	id       string
	distance int
}

func searchAll(ix *Index, q pdq.Hash, radius int) []hit {
	var hits []hit
	ix.Search(q, radius, func(id string, d int) { hits = append(hits, hit{id, d}) })
	slices.SortFunc(hits, func(a, b hit) int { return cmpHit(a, b) })
	return hits
}

func cmpHit(a, b hit) int {
	if a.id < b.id {
		return -1
	}
	if a.id > b.id {
		return 1
	}
	return 0
}

// bruteForce is the obviously correct search the index must agree with.
func bruteForce(stored map[string]pdq.Hash, q pdq.Hash, radius int) []hit {
	var hits []hit
	for id, h := range stored {
		if d := q.Distance(h); d <= radius {
			hits = append(hits, hit{id, d})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int { return cmpHit(a, b) })
	return hits
}

func TestIndexAgreesWithBruteForce(t *testing.T) {
	sizes := []int{10, defaultTablesFrom - 1, defaultTablesFrom + 500}
	radii := []int{0, 15, 31, 47, 70, 100}
	for _, size := range sizes {
		t.Run(fmt.Sprintf("size %d", size), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(size), 1))
			ix := NewIndex()
			stored := make(map[string]pdq.Hash)
			var ids []string
			for i := range size {
				id := fmt.Sprintf("e%d", i)
				h := randomHash(rng)
				ix.Add(id, h)
				stored[id] = h
				ids = append(ids, id)
			}
			// Remove a third, including the last slots, and re-add some.
			for i, id := range ids {
				if i%3 == 0 {
					if !ix.Remove(id) {
						t.Fatalf("Remove(%s) found nothing", id)
					}
					delete(stored, id)
				}
			}
			for i := 0; i < len(ids); i += 9 {
				h := randomHash(rng)
				ix.Add(ids[i], h) // re-add removed ids and replace kept ones
				stored[ids[i]] = h
			}
			if ix.Len() != len(stored) {
				t.Fatalf("Len = %d, want %d", ix.Len(), len(stored))
			}
			for q := range 40 {
				// Queries near stored hashes at growing distances, plus random ones.
				target := stored[ids[(q*7+1)%len(ids)]]
				query := randomHash(rng)
				if target != (pdq.Hash{}) {
					query = nearHash(rng, target, q*2)
				}
				for _, radius := range radii {
					got, want := searchAll(ix, query, radius), bruteForce(stored, query, radius)
					if !slices.Equal(got, want) {
						t.Fatalf("query %d radius %d: index found %v, brute force %v", q, radius, got, want)
					}
				}
			}
		})
	}
}

func TestIndexRemoveUnknown(t *testing.T) {
	ix := newIndex(0)
	ix.Add("a", pdq.Hash{1})
	if ix.Remove("b") {
		t.Errorf("Remove of an unknown id reported success")
	}
	if !ix.Remove("a") || ix.Len() != 0 {
		t.Errorf("Remove(a) failed or left %d hashes", ix.Len())
	}
	if hits := searchAll(ix, pdq.Hash{1}, 31); len(hits) != 0 {
		t.Errorf("removed hash still found: %v", hits)
	}
}

func TestForEachWithinVisitsEachValueOnce(t *testing.T) {
	tests := []struct{ radius, want int }{{0, 1}, {1, 17}, {2, 137}, {3, 697}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("radius %d", tt.radius), func(t *testing.T) {
			seen := make(map[uint16]bool)
			for _, v := range appendWithin(nil, 0xbeef, tt.radius) {
				if seen[v] {
					t.Errorf("value %04x visited twice", v)
				}
				seen[v] = true
				if d := popcount16(v ^ 0xbeef); d > tt.radius {
					t.Errorf("value %04x is %d bits away", v, d)
				}
			}
			if len(seen) != tt.want {
				t.Errorf("visited %d values, want %d", len(seen), tt.want)
			}
		})
	}
}

func popcount16(v uint16) int {
	n := 0
	for ; v != 0; v &= v - 1 {
		n++
	}
	return n
}

// TestIndexOnReferenceHashes searches real PDQ hashes (the reference's MIH
// test haystack) for the reference's needles and checks the index against
// brute force: real hashes are not uniformly random.
func TestIndexOnReferenceHashes(t *testing.T) {
	dir := filepath.Join(shareddata.Dir(t, "data/pdq"), "pdq/data/reg-test-input")
	haystack := readHashes(t, filepath.Join(dir, "haystack.txt"))
	needles := readHashes(t, filepath.Join(dir, "needles.txt"))
	ix := newIndex(0) // tables from the start: the haystack is small
	stored := make(map[string]pdq.Hash)
	for i, h := range haystack {
		id := fmt.Sprintf("h%d", i)
		ix.Add(id, h)
		stored[id] = h
	}
	found := 0
	for _, needle := range needles {
		got, want := searchAll(ix, needle, DefaultRadius), bruteForce(stored, needle, DefaultRadius)
		if !slices.Equal(got, want) {
			t.Fatalf("needle %s: index found %v, brute force %v", needle, got, want)
		}
		found += len(got)
	}
	if found == 0 {
		t.Errorf("no needle matched the haystack; the test data looks wrong")
	}
}

func readHashes(t *testing.T, path string) []pdq.Hash {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	var hashes []pdq.Hash
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := scanner.Text()
		if len(line) < 64 {
			continue
		}
		h, err := pdq.ParseHex(line[:64])
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		hashes = append(hashes, h)
	}
	if err := scanner.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return hashes
}
