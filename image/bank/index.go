package bank

import (
	"math/bits"

	"github.com/wildwarden/wildwarden/image/pdq"
)

// Multi-index hashing (Norouzi, Punjani and Fleet, "Fast Search in Hamming
// Space with Multi-Index Hashing", CVPR 2012): the 256 bits are cut into
// substringCount substrings of substringBits bits, each with its own table
// from substring value to the entries holding it. If two hashes are within
// distance r, then by the pigeonhole principle at least one of their
// substrings is within ⌊r/substringCount⌋; a search probes, in every table,
// all values that close to the query's substring, and checks the full
// distance of the entries found.
//
// 16 substrings of 16 bits suit PDQ's match radius of 31: each substring is
// searched at radius 1 (17 probes per table, 272 in all) in directly indexed
// tables, and a bank of a million random hashes holds about 15 entries per
// bucket, so a query meets about 4,000 candidates instead of a million.
//
// Fetching 4,000 candidates' hashes from random places in memory would cost
// a cache miss each, so each posting carries a 96-bit fingerprint: six
// other substrings of its hash. A candidate whose fingerprint alone is
// farther than the radius from the query's cannot match; for random hashes
// that rejects all but about 1 in 2,500 without leaving the bucket, which is
// read sequentially. Postings are 16 bytes, so the tables cost 256 bytes per
// hash (plus slack): memory traded for speed (BenchmarkMatch1M went from
// about 3,900 to 9,900 lookups/s on one core when fingerprints came in).
const (
	substringCount = 16
	substringBits  = pdq.Bits / substringCount
	bucketCount    = 1 << substringBits
	// defaultTablesFrom is the size at which an index builds its tables;
	// smaller indexes are scanned, which is as fast for them and keeps a bank
	// of a few photos from costing 25 MB of empty buckets.
	defaultTablesFrom = 2048
	// maxSubstringRadius is the largest per-substring radius probed through
	// the tables; beyond it probing visits more candidates than a scan.
	maxSubstringRadius = 4
)

// Index finds the hashes within a Hamming radius of a query. It takes adds
// and removes at any time without a rebuild. It is not safe for concurrent
// use; Bank guards it with a lock.
type Index struct {
	hashes []pdq.Hash        // dense: slot → hash
	ids    []string          // slot → entry id
	slotOf map[string]uint32 // entry id → slot
	// tables[t][v] lists the postings of the hashes whose substring t has
	// value v; nil until the index reaches tablesFrom entries.
	tables *[substringCount][bucketCount][]posting
	// tablesFrom is the size at which the tables are built.
	tablesFrom int
}

// posting is one hash in one table: its slot and a fingerprint of six more
// of its substrings, to reject most candidates without fetching the hash.
type posting struct {
	slot   uint32
	fpLow  uint32 // substrings t+5 and t+6
	fpHigh uint64 // substrings t+1 … t+4
}

// fingerprint returns the fingerprint of h for table t.
func fingerprint(h pdq.Hash, t int) (low uint32, high uint64) {
	for k := 4; k >= 1; k-- {
		high = high<<substringBits | uint64(substring(h, (t+k)%substringCount))
	}
	low = uint32(substring(h, (t+5)%substringCount)) | uint32(substring(h, (t+6)%substringCount))<<substringBits
	return low, high
}

// NewIndex returns an empty index.
func NewIndex() *Index { return newIndex(defaultTablesFrom) }

func newIndex(tablesFrom int) *Index {
	return &Index{slotOf: make(map[string]uint32), tablesFrom: tablesFrom}
}

// Len returns the number of hashes in the index.
func (ix *Index) Len() int { return len(ix.hashes) }

// substring returns substring t (16 bits) of h.
func substring(h pdq.Hash, t int) uint16 {
	return uint16(h[t/4] >> (16 * (t % 4)))
}

// Add stores hash under id, replacing any hash stored under id before.
func (ix *Index) Add(id string, hash pdq.Hash) {
	if slot, ok := ix.slotOf[id]; ok {
		ix.unlink(slot)
		ix.hashes[slot] = hash
		ix.link(slot)
		return
	}
	slot := uint32(len(ix.hashes))
	ix.hashes = append(ix.hashes, hash)
	ix.ids = append(ix.ids, id)
	ix.slotOf[id] = slot
	if ix.tables == nil && len(ix.hashes) >= ix.tablesFrom {
		ix.buildTables()
		return
	}
	ix.link(slot)
}

// Remove deletes the hash stored under id and reports whether there was one.
// The last slot moves into the freed one, so storage stays dense.
func (ix *Index) Remove(id string) bool {
	slot, ok := ix.slotOf[id]
	if !ok {
		return false
	}
	last := uint32(len(ix.hashes) - 1)
	ix.unlink(slot)
	if slot != last {
		ix.unlink(last)
		ix.hashes[slot] = ix.hashes[last]
		ix.ids[slot] = ix.ids[last]
		ix.slotOf[ix.ids[slot]] = slot
		ix.link(slot)
	}
	ix.hashes = ix.hashes[:last]
	ix.ids = ix.ids[:last]
	delete(ix.slotOf, id)
	return true
}

func (ix *Index) buildTables() {
	ix.tables = new([substringCount][bucketCount][]posting)
	for slot := range ix.hashes {
		ix.link(uint32(slot))
	}
}

// link adds slot to the bucket of each of its substrings.
func (ix *Index) link(slot uint32) {
	if ix.tables == nil {
		return
	}
	h := ix.hashes[slot]
	for t := range substringCount {
		bucket := &ix.tables[t][substring(h, t)]
		low, high := fingerprint(h, t)
		*bucket = append(*bucket, posting{slot: slot, fpLow: low, fpHigh: high})
	}
}

// unlink removes slot from the bucket of each of its substrings.
func (ix *Index) unlink(slot uint32) {
	if ix.tables == nil {
		return
	}
	h := ix.hashes[slot]
	for t := range substringCount {
		bucket := &ix.tables[t][substring(h, t)]
		list := *bucket
		for i, p := range list {
			if p.slot == slot {
				list[i] = list[len(list)-1]
				*bucket = list[:len(list)-1]
				break
			}
		}
	}
}

// Search calls found for every stored hash within radius of query, once
// each, in no particular order.
func (ix *Index) Search(query pdq.Hash, radius int, found func(id string, distance int)) {
	ix.search(query, radius, found)
}

// search is Search that also returns the number of candidates whose full
// distance it computed, for benchmarks.
func (ix *Index) search(query pdq.Hash, radius int, found func(id string, distance int)) (candidates int) {
	if radius < 0 {
		return 0
	}
	subRadius := radius / substringCount
	if ix.tables == nil || subRadius > maxSubstringRadius {
		for slot, h := range ix.hashes {
			if d := query.Distance(h); d <= radius {
				found(ix.ids[slot], d)
			}
		}
		return len(ix.hashes)
	}
	var querySubs [substringCount]uint16
	for t := range substringCount {
		querySubs[t] = substring(query, t)
	}
	probes := make([]uint16, 0, 1+substringBits+substringBits*(substringBits-1)/2)
	hashes := ix.hashes
	for t := range substringCount {
		probes = appendWithin(probes[:0], querySubs[t], subRadius)
		queryLow, queryHigh := fingerprint(query, t)
		table := &ix.tables[t]
		for _, value := range probes {
			bucket := table[value]
			candidates += len(bucket)
			for _, p := range bucket {
				if bits.OnesCount64(p.fpHigh^queryHigh)+bits.OnesCount32(p.fpLow^queryLow) > radius {
					continue
				}
				h := &hashes[p.slot]
				d := bits.OnesCount64(h[0]^query[0]) + bits.OnesCount64(h[1]^query[1]) +
					bits.OnesCount64(h[2]^query[2]) + bits.OnesCount64(h[3]^query[3])
				if d <= radius && firstTableWithin(*h, &querySubs, t, subRadius) {
					found(ix.ids[p.slot], d)
				}
			}
		}
	}
	return candidates
}

// firstTableWithin reports whether t is the first table in which h's
// substring is within subRadius of the query's: the table where the search
// reports h, so that h is reported once although several tables find it.
func firstTableWithin(h pdq.Hash, querySubs *[substringCount]uint16, t, subRadius int) bool {
	for earlier := range t {
		if bits.OnesCount16(substring(h, earlier)^querySubs[earlier]) <= subRadius {
			return false
		}
	}
	return true
}

// appendWithin appends every 16-bit value within Hamming distance radius
// of center (center first) to values.
func appendWithin(values []uint16, center uint16, radius int) []uint16 {
	values = append(values, center)
	var flip func(value uint16, from, left int)
	flip = func(value uint16, from, left int) {
		for bit := from; bit < substringBits; bit++ {
			flipped := value ^ 1<<bit
			values = append(values, flipped)
			if left > 1 {
				flip(flipped, bit+1, left-1)
			}
		}
	}
	if radius > 0 {
		flip(center, 0, radius)
	}
	return values
}
