package bank

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/wildwarden/wildwarden/image/pdq"
)

const benchBankSize = 1_000_000

var (
	millionOnce   sync.Once
	millionBank   *Bank
	millionHashes []pdq.Hash
)

// millionEntryBank builds, once per test binary, a bank of 1,000,000 random
// hashes with entry metadata like a real bank's.
func millionEntryBank() (*Bank, []pdq.Hash) {
	millionOnce.Do(func() {
		rng := rand.New(rand.NewPCG(42, 42))
		millionBank, _ = New(Info{Name: "bench", Kind: Deny})
		millionHashes = make([]pdq.Hash, benchBankSize)
		for i := range millionHashes {
			millionHashes[i] = randomHash(rng)
			e := Entry{ID: fmt.Sprintf("entry-%07d", i), Hash: millionHashes[i], Quality: 100,
				Category: "ivory", Source: "bench", AddedBy: "bench", AddedAt: day}
			if err := millionBank.Add(e); err != nil {
				panic(err)
			}
		}
	})
	return millionBank, millionHashes
}

// BenchmarkMatch1M measures lookups per second at radius 31 on a bank of a
// million random hashes. Half the queries are a stored hash with 20 bits
// flipped (one match), half are random (no match).
func BenchmarkMatch1M(b *testing.B) {
	bank, stored := millionEntryBank()
	rng := rand.New(rand.NewPCG(7, 7))
	queries := make([]pdq.Hash, 1024)
	for i := range queries {
		if i%2 == 0 {
			queries[i] = nearHash(rng, stored[rng.IntN(len(stored))], 20)
		} else {
			queries[i] = randomHash(rng)
		}
	}
	matched := 0
	b.ResetTimer()
	i := 0
	for b.Loop() {
		matched += len(bank.Match(queries[i%len(queries)], DefaultRadius))
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	b.ReportMetric(float64(matched)/float64(b.N), "matches/lookup")
	var candidates int
	for _, q := range queries {
		candidates += bank.index.search(q, DefaultRadius, func(string, int) {})
	}
	b.ReportMetric(float64(candidates)/float64(len(queries)), "candidates/lookup")
}

// BenchmarkMatch1MParallel is BenchmarkMatch1M from all cores at once, to
// show that readers share the lock.
func BenchmarkMatch1MParallel(b *testing.B) {
	bank, _ := millionEntryBank()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
		for pb.Next() {
			bank.Match(randomHash(rng), DefaultRadius)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkAdd measures adds per second into a bank that already holds a
// million entries (the tables are built), each add followed by nothing else.
func BenchmarkAdd(b *testing.B) {
	bank, _ := millionEntryBank()
	rng := rand.New(rand.NewPCG(8, 8))
	entries := make([]Entry, b.N)
	for i := range entries {
		entries[i] = Entry{ID: fmt.Sprintf("added-%d", i), Hash: randomHash(rng), Quality: 100, AddedAt: day}
	}
	b.ResetTimer()
	for i := range b.N {
		if err := bank.Add(entries[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "adds/s")
	for i := range b.N { // leave the shared bank as it was
		if _, err := bank.Remove(entries[i].ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemory1M reports the heap held by a bank of a million entries
// (hashes, metadata and index) in MB. It builds its own bank so the figure
// is not mixed with the other benchmarks' data.
func BenchmarkMemory1M(b *testing.B) {
	for b.Loop() {
		rng := rand.New(rand.NewPCG(5, 5))
		hashes := make([]pdq.Hash, benchBankSize)
		ids := make([]string, benchBankSize)
		for i := range hashes {
			hashes[i] = randomHash(rng)
			ids[i] = fmt.Sprintf("entry-%07d", i)
		}
		before := heapInUse()
		bank, _ := New(Info{Name: "memory", Kind: Deny})
		addedAt := time.Now()
		for i, h := range hashes {
			_ = bank.Add(Entry{ID: ids[i], Hash: h, Quality: 100, Category: "ivory", Source: "bench", AddedBy: "bench", AddedAt: addedAt})
		}
		bankBytes := heapInUse() - before
		runtime.KeepAlive(bank)
		b.ReportMetric(float64(bankBytes)/1e6, "MB/1M-entries")
	}
}

func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}
