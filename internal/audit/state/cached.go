package state

import (
	"context"
	"sync"
	"time"
)

// Cached keeps, in the process, what a store said of its long-lived entries (baselines,
// learning starts, the trails' known buckets), so that a warm Lambda does not pay a
// DynamoDB write per event to learn again what it learnt a minute ago. It answers:
//
//   - Refresh of an entry it knows is live, without a request, while more than half the
//     asked lifetime is left; then it refreshes for real. Other writers only ever push an
//     entry's expiry later, so the entry lives at least as long as the cache believes;
//   - Remember of an entry it knows is live, when that entry lives longer than minCached
//     (a secret's learning start): dedup windows, which Forget may release from another
//     process, always go to the store. A key is always asked for with the same lifetime,
//     so an entry found live expires its lifetime after it was first stored.
//
// Everything else goes to the store. Forget through it drops the cached entry.
type Cached struct {
	Inner store
	mu    sync.Mutex
	known map[string]cachedEntry
}

type cachedEntry struct {
	first, expires time.Time
}

// minCached is the shortest lifetime of an entry Remember may answer from the cache: far
// beyond any dedup window.
const minCached = 365 * 24 * time.Hour

// maxCachedKeys bounds the cache; it starts over when full.
const maxCachedKeys = 1 << 16

// NewCached answers what it can of s's long-lived entries from the process.
func NewCached(s store) *Cached { return &Cached{Inner: s, known: map[string]cachedEntry{}} }

func (c *Cached) lookup(key string) (cachedEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.known[key]
	return e, ok
}

func (c *Cached) keep(key string, e cachedEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.known) >= maxCachedKeys {
		clear(c.known)
	}
	c.known[key] = e
}

// Remember implements the store.
func (c *Cached) Remember(ctx context.Context, key string, now, expires time.Time) (bool, time.Time, error) {
	long := expires.Sub(now) >= minCached
	if e, ok := c.lookup(key); ok && long && e.expires.After(now) {
		return false, e.first, nil
	}
	fresh, first, err := c.Inner.Remember(ctx, key, now, expires)
	if err == nil && long {
		c.keep(key, cachedEntry{first: first, expires: first.Add(expires.Sub(now))})
	}
	return fresh, first, err
}

// Refresh implements the store.
func (c *Cached) Refresh(ctx context.Context, key string, now, expires time.Time) (bool, time.Time, error) {
	if e, ok := c.lookup(key); ok && e.expires.Sub(now) > expires.Sub(now)/2 {
		return false, e.first, nil
	}
	fresh, first, err := c.Inner.Refresh(ctx, key, now, expires)
	if err == nil {
		c.keep(key, cachedEntry{first: first, expires: expires})
	}
	return fresh, first, err
}

// Count implements the store.
func (c *Cached) Count(ctx context.Context, key, member string, now, since, expires time.Time) (int, error) {
	return c.Inner.Count(ctx, key, member, now, since, expires)
}

// Swap implements the store.
func (c *Cached) Swap(ctx context.Context, key, value string, now, expires time.Time) (string, bool, error) {
	return c.Inner.Swap(ctx, key, value, now, expires)
}

// Get implements the store.
func (c *Cached) Get(ctx context.Context, key string, now time.Time) (string, bool, error) {
	return c.Inner.Get(ctx, key, now)
}

// Forget implements the store.
func (c *Cached) Forget(ctx context.Context, key string) error {
	c.mu.Lock()
	delete(c.known, key)
	c.mu.Unlock()
	return c.Inner.Forget(ctx, key)
}
