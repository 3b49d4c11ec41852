package githubapp

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

const (
	// cacheSize bounds each cache's memory when roles name many owners or
	// installations.
	cacheSize = 4096
	// cacheLookupTimeout bounds a lookup shared by several waiting requests,
	// which no longer belongs to any one of them.
	cacheLookupTimeout = 30 * time.Second
)

// ttlCache remembers what GitHub said for a while, so that a token costs
// one GitHub call rather than one per lookup. Concurrent misses for one key
// share a single lookup. It is part of the state built from one config, so
// a config change drops it.
type ttlCache[K comparable, V any] struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[K]cached[V]
	group   singleflight.Group
}

type cached[V any] struct {
	value   V
	expires time.Time
}

func newTTLCache[K comparable, V any](ttl time.Duration) *ttlCache[K, V] {
	return &ttlCache[K, V]{ttl: ttl, now: time.Now, entries: make(map[K]cached[V])}
}

// lookup returns the value for key, calling find on a miss. fresh reports
// whether find ran for this call (or a call it joined), rather than the
// answer coming from the cache.
func (c *ttlCache[K, V]) lookup(ctx context.Context, key K, find func(context.Context, K) (V, error)) (value V, fresh bool, err error) {
	if v, ok := c.get(key); ok {
		return v, false, nil
	}
	ch := c.group.DoChan(fmt.Sprint(key), func() (any, error) {
		// Detached from the first caller: its cancellation must not fail
		// the others waiting on the same lookup.
		lookupCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cacheLookupTimeout)
		defer cancel()
		v, err := find(lookupCtx, key)
		if err == nil {
			c.put(key, v)
		}
		return v, err
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return value, true, res.Err
		}
		return res.Val.(V), true, nil
	case <-ctx.Done():
		return value, false, ctx.Err()
	}
}

// forget drops a key whose answer GitHub no longer gives.
func (c *ttlCache[K, V]) forget(key K) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}

func (c *ttlCache[K, V]) get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !c.now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.value, true
}

func (c *ttlCache[K, V]) put(key K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.entries) >= cacheSize {
		c.evict(now)
	}
	c.entries[key] = cached[V]{value: v, expires: now.Add(c.ttl)}
}

// evict makes room: expired entries first, else an arbitrary one, which at
// worst costs that key one more lookup.
func (c *ttlCache[K, V]) evict(now time.Time) {
	for key, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, key)
		}
	}
	for key := range c.entries {
		if len(c.entries) < cacheSize {
			return
		}
		delete(c.entries, key)
	}
}
