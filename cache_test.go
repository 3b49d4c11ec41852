package githubapp

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// counter is a lookup that counts its calls and answers key*10.
type counter struct{ calls atomic.Int32 }

func (c *counter) find(_ context.Context, key int) (int, error) {
	c.calls.Add(1)
	return key * 10, nil
}

func TestTTLCache_ExpiresAfterItsTTL(t *testing.T) {
	c := newTTLCache[int](fixedLife[int](time.Minute), 0, time.Minute)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	var lookups counter
	ctx := context.Background()

	for _, step := range []struct {
		advance time.Duration
		fresh   bool
	}{{0, true}, {59 * time.Second, false}, {time.Second, true}, {30 * time.Second, false}} {
		now = now.Add(step.advance)
		v, fresh, err := c.lookup(ctx, 7, lookups.find)
		if err != nil || v != 70 || fresh != step.fresh {
			t.Fatalf("after %v: %d, fresh %t, %v; want 70, fresh %t", step.advance, v, fresh, err, step.fresh)
		}
	}
	if n := lookups.calls.Load(); n != 2 {
		t.Fatalf("%d lookups, want 2", n)
	}
	c.forget(7)
	if _, fresh, _ := c.lookup(ctx, 7, lookups.find); !fresh {
		t.Fatal("a forgotten key was still cached")
	}
}

func TestTTLCache_BoundedByEvictingExpiredFirst(t *testing.T) {
	c := newTTLCache[int](fixedLife[int](time.Minute), 0, time.Minute)
	now := time.Now()
	c.now = func() time.Time { return now }
	for i := range cacheSize {
		c.put(i, cached[int]{value: i}, time.Minute)
		if i == cacheSize/2 {
			now = now.Add(2 * time.Minute) // the first half has expired
		}
	}
	c.put(-1, cached[int]{value: -1}, time.Minute)
	if n := len(c.entries); n > cacheSize {
		t.Fatalf("%d entries, bound %d", n, cacheSize)
	}
	if _, ok := c.get(cacheSize - 1); !ok {
		t.Fatal("a live entry was evicted while expired ones remained")
	}
	if _, ok := c.get(-1); !ok {
		t.Fatal("the new entry is missing")
	}
}

// Concurrent misses share one lookup; an error is not cached; a caller that
// gives up does not fail the others.
func TestTTLCache_SharesLookupsAndDoesNotCacheErrors(t *testing.T) {
	c := newTTLCache[int](fixedLife[int](time.Minute), 0, time.Minute)
	release := make(chan struct{})
	var calls atomic.Int32
	slow := func(context.Context, int) (int, error) {
		calls.Add(1)
		<-release
		return 1, nil
	}
	impatient, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for i := range 5 {
		ctx := context.Background()
		if i == 0 {
			ctx = impatient
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := c.lookup(ctx, 1, slow)
			errs <- err
		}()
	}
	time.Sleep(50 * time.Millisecond)
	cancel()
	close(release)
	wg.Wait()
	close(errs)
	var cancelled int
	for err := range errs {
		if errors.Is(err, context.Canceled) {
			cancelled++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 1 || cancelled > 1 {
		t.Fatalf("%d lookups and %d cancelled callers; want 1 shared lookup and only the impatient caller cancelled", n, cancelled)
	}

	failing := func(context.Context, int) (int, error) { return 0, errors.New("GitHub is down") }
	if _, _, err := c.lookup(context.Background(), 2, failing); err == nil {
		t.Fatal("the failing lookup succeeded")
	}
	var lookups counter
	if v, fresh, err := c.lookup(context.Background(), 2, lookups.find); err != nil || v != 20 || !fresh {
		t.Fatalf("after a failed lookup: %d, %t, %v; without errTTL the error must not be cached", v, fresh, err)
	}
}

// With errTTL, a failed lookup is remembered that long: an expensive
// failure costs once, not once per request.
func TestTTLCache_ErrorsKeptForErrTTL(t *testing.T) {
	c := newTTLCache[int](fixedLife[int](time.Minute), 10*time.Second, time.Minute)
	now := time.Now()
	c.now = func() time.Time { return now }
	var calls atomic.Int32
	failing := func(context.Context, int) (int, error) {
		calls.Add(1)
		return 0, errors.New("more than 500 pages")
	}
	for range 3 {
		if _, _, err := c.lookup(context.Background(), 1, failing); err == nil {
			t.Fatal("no error")
		}
	}
	now = now.Add(11 * time.Second)
	if _, _, err := c.lookup(context.Background(), 1, failing); err == nil {
		t.Fatal("no error after errTTL")
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d lookups: want one per errTTL", n)
	}
}

// A value may set its own life, and a lookup runs on the cache's budget,
// whatever the deadline of the request that started it.
func TestTTLCache_LifePerValueAndLookupBudget(t *testing.T) {
	c := newTTLCache[int](func(v int) time.Duration { return time.Duration(v) * time.Minute }, 0, time.Hour)
	now := time.Now()
	c.now = func() time.Time { return now }
	var budget time.Duration
	find := func(ctx context.Context, key int) (int, error) {
		deadline, _ := ctx.Deadline()
		budget = time.Until(deadline)
		return key, nil
	}
	short, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, _, err := c.lookup(short, 3, find); err != nil {
		t.Fatal(err)
	}
	if budget < 59*time.Minute {
		t.Errorf("the lookup had %v; want the cache's hour, not its first caller's minute", budget)
	}
	if age, life, ok := c.age(3); !ok || age != 0 || life != 3*time.Minute {
		t.Fatalf("age %v, life %v, %t; want a new entry kept 3 minutes", age, life, ok)
	}
	now = now.Add(3 * time.Minute)
	if _, ok := c.get(3); ok {
		t.Error("a value was kept past its own life")
	}
}
