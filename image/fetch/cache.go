package fetch

import (
	"container/list"
	"sync"
)

// Cache is a least-recently-used map from content hashes (SHA-256) to
// values, bounded by entry count and by a total cost (for decoded images,
// their pixel count). It is safe for concurrent use. The service can keep
// one for values derived from image bytes, such as PDQ hashes or OCR text.
type Cache[V any] struct {
	mu         sync.Mutex
	maxEntries int
	maxCost    int64
	cost       int64
	order      *list.List // front is most recently used
	items      map[[32]byte]*list.Element
}

type cacheItem[V any] struct {
	key   [32]byte
	value V
	cost  int64
}

// NewCache returns a cache of at most maxEntries values of at most maxCost
// total cost (0 means no cost bound). A maxEntries of 0 or less caches
// nothing.
func NewCache[V any](maxEntries int, maxCost int64) *Cache[V] {
	return &Cache[V]{maxEntries: maxEntries, maxCost: maxCost, order: list.New(), items: make(map[[32]byte]*list.Element)}
}

// Get returns the value for key and marks it recently used.
func (c *Cache[V]) Get(key [32]byte) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheItem[V]).value, true
}

// Put stores value under key, evicting the least recently used values
// until the bounds hold. A value costing more than the whole budget is not
// stored.
func (c *Cache[V]) Put(key [32]byte, value V, cost int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.maxEntries <= 0 || (c.maxCost > 0 && cost > c.maxCost) {
		return
	}
	if el, ok := c.items[key]; ok {
		c.removeElement(el)
	}
	c.items[key] = c.order.PushFront(&cacheItem[V]{key: key, value: value, cost: cost})
	c.cost += cost
	for c.order.Len() > c.maxEntries || (c.maxCost > 0 && c.cost > c.maxCost) {
		c.removeElement(c.order.Back())
	}
}

// Len returns the number of cached values.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

func (c *Cache[V]) removeElement(el *list.Element) {
	item := c.order.Remove(el).(*cacheItem[V])
	delete(c.items, item.key)
	c.cost -= item.cost
}
