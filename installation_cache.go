package githubapp

import (
	"context"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

const (
	// installationCacheTTL bounds how long a moved or re-created
	// installation can be missed; owner roles otherwise cost two GitHub
	// calls per token.
	installationCacheTTL = 5 * time.Minute
	// installationCacheSize bounds memory when roles name many owners.
	installationCacheSize = 4096
	// installationLookupTimeout bounds a lookup shared by several waiting
	// requests, which no longer belongs to any one of them.
	installationLookupTimeout = 30 * time.Second
)

// installationCache remembers which installation an owner's roles use.
// Concurrent misses for one owner share a single GitHub lookup.
type installationCache struct {
	mu      sync.Mutex
	entries map[string]cachedInstallation
	group   singleflight.Group
	now     func() time.Time
	// counted is told whether each lookup found a fresh entry.
	counted func(hit bool)
}

type cachedInstallation struct {
	id      int64
	expires time.Time
}

func newInstallationCache(counted func(hit bool)) *installationCache {
	return &installationCache{entries: make(map[string]cachedInstallation), now: time.Now, counted: counted}
}

// lookup returns the owner's installation ID, calling find on a miss.
func (c *installationCache) lookup(ctx context.Context, owner string, find func(context.Context, string) (int64, error)) (int64, error) {
	key := strings.ToLower(owner)
	id, ok := c.get(key)
	c.counted(ok)
	if ok {
		return id, nil
	}
	ch := c.group.DoChan(key, func() (any, error) {
		// Detached from the first caller: its cancellation must not fail
		// the others waiting on the same lookup.
		lookupCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), installationLookupTimeout)
		defer cancel()
		id, err := find(lookupCtx, owner)
		if err == nil {
			c.put(key, id)
		}
		return id, err
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return 0, res.Err
		}
		return res.Val.(int64), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// forget drops an owner whose installation GitHub no longer knows.
func (c *installationCache) forget(owner string) {
	c.mu.Lock()
	delete(c.entries, strings.ToLower(owner))
	c.mu.Unlock()
}

func (c *installationCache) get(key string) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !c.now().Before(e.expires) {
		return 0, false
	}
	return e.id, true
}

func (c *installationCache) put(key string, id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.entries) >= installationCacheSize {
		c.evict(now)
	}
	c.entries[key] = cachedInstallation{id: id, expires: now.Add(installationCacheTTL)}
}

// evict makes room: expired entries first, else an arbitrary one, which at
// worst costs that owner one more lookup.
func (c *installationCache) evict(now time.Time) {
	for key, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, key)
		}
	}
	for key := range c.entries {
		if len(c.entries) < installationCacheSize {
			return
		}
		delete(c.entries, key)
	}
}
