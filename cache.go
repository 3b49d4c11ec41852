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
	// cacheLookupTimeout bounds an owner's installation lookup, shared by
	// several waiting requests, which no longer belongs to any one of them.
	cacheLookupTimeout = 30 * time.Second
)

// ttlCache remembers what GitHub said for a while, so that a token costs
// one GitHub call rather than one per lookup. Concurrent misses for one key
// share a single lookup, which runs detached from the requests waiting on
// it: each waits up to its own deadline, and the lookup goes on, for the
// next request, when they have all left. It is part of the state built
// from one config, so a config change drops it.
type ttlCache[K comparable, V any] struct {
	// life is how long a value is kept; it may depend on the value.
	life func(V) time.Duration
	// errTTL, when positive, keeps a failed lookup's error that long, so
	// that a lookup which fails expensively is not redone per request.
	errTTL time.Duration
	// lookupTimeout bounds a lookup.
	lookupTimeout time.Duration
	now           func() time.Time

	mu      sync.Mutex
	entries map[K]cached[V]
	group   singleflight.Group
}

type cached[V any] struct {
	value   V
	err     error
	stored  time.Time
	expires time.Time
}

func newTTLCache[K comparable, V any](life func(V) time.Duration, errTTL, lookupTimeout time.Duration) *ttlCache[K, V] {
	return &ttlCache[K, V]{life: life, errTTL: errTTL, lookupTimeout: lookupTimeout, now: time.Now, entries: make(map[K]cached[V])}
}

// fixedLife keeps every value for ttl.
func fixedLife[V any](ttl time.Duration) func(V) time.Duration {
	return func(V) time.Duration { return ttl }
}

// lookup returns the value for key, calling find on a miss. fresh reports
// whether find ran for this call (or a call it joined), rather than the
// answer coming from the cache.
func (c *ttlCache[K, V]) lookup(ctx context.Context, key K, find func(context.Context, K) (V, error)) (value V, fresh bool, err error) {
	if e, ok := c.get(key); ok {
		return e.value, false, e.err
	}
	ch := c.group.DoChan(fmt.Sprint(key), func() (any, error) {
		// Detached from the first caller: its cancellation must not fail
		// the others waiting on the same lookup.
		lookupCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.lookupTimeout)
		defer cancel()
		v, err := find(lookupCtx, key)
		switch {
		case err == nil:
			c.put(key, cached[V]{value: v}, c.life(v))
		case c.errTTL > 0:
			c.put(key, cached[V]{err: err}, c.errTTL)
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

func (c *ttlCache[K, V]) get(key K) (cached[V], bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !c.now().Before(e.expires) {
		return cached[V]{}, false
	}
	return e, true
}

// put stores an entry for ttl.
func (c *ttlCache[K, V]) put(key K, e cached[V], ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.entries) >= cacheSize {
		c.evict(now)
	}
	e.stored, e.expires = now, now.Add(ttl)
	c.entries[key] = e
}

// age reports how long ago the live entry for key was stored, and how
// long it is kept in all.
func (c *ttlCache[K, V]) age(key K) (age, life time.Duration, ok bool) {
	e, ok := c.get(key)
	if !ok {
		return 0, 0, false
	}
	return c.now().Sub(e.stored), e.expires.Sub(e.stored), true
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
