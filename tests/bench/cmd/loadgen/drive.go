package main

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// operation is one kind of request.
type operation interface {
	// request makes the timed request number seq (from 1). It returns the
	// lease to revoke, if revoking was asked for.
	request(ctx context.Context, seq int64) (leaseID string, err error)
	// revoke releases a lease; it runs untimed, right after the request.
	revoke(ctx context.Context, leaseID string) error
}

// result is what one phase of load produced.
type result struct {
	elapsed               time.Duration
	count, errors         int
	firstErr              string
	latencies             []time.Duration
	revoked, revokeErrors int
}

// merge folds a worker's result into r.
func (r *result) merge(w result) {
	r.count += w.count
	r.errors += w.errors
	if r.firstErr == "" {
		r.firstErr = w.firstErr
	}
	r.latencies = append(r.latencies, w.latencies...)
	r.revoked += w.revoked
	r.revokeErrors += w.revokeErrors
}

// drive runs clients workers until dur has passed or total requests have
// started, whichever comes first (a zero limit does not apply). Requests in
// flight at the deadline are completed, not cancelled: a cancelled token
// read makes the plugin revoke the undelivered token, a GitHub call that
// would then be charged to the measurement.
func drive(ctx context.Context, op operation, clients int, dur time.Duration, total int) result {
	start := time.Now()
	deadline := time.Time{}
	if dur > 0 {
		deadline = start.Add(dur)
	}
	var seq atomic.Int64
	// claim hands out the next sequence number, or false when it is time
	// to stop.
	claim := func() (int64, bool) {
		if ctx.Err() != nil || (!deadline.IsZero() && time.Now().After(deadline)) {
			return 0, false
		}
		n := seq.Add(1)
		return n, total <= 0 || n <= int64(total)
	}

	var (
		mu  sync.Mutex
		all result
		wg  sync.WaitGroup
	)
	for range clients {
		wg.Go(func() {
			w := worker(ctx, op, claim)
			mu.Lock()
			all.merge(w)
			mu.Unlock()
		})
	}
	wg.Wait()
	all.elapsed = time.Since(start)
	return all
}

// worker makes requests one after the other until claim says stop.
func worker(ctx context.Context, op operation, claim func() (int64, bool)) result {
	var r result
	for {
		n, ok := claim()
		if !ok {
			return r
		}
		t0 := time.Now()
		lease, err := op.request(ctx, n)
		if err != nil {
			r.errors++
			if r.firstErr == "" {
				r.firstErr = err.Error()
			}
			continue
		}
		r.count++
		r.latencies = append(r.latencies, time.Since(t0))
		if lease == "" {
			continue
		}
		if err := op.revoke(ctx, lease); err != nil {
			r.revokeErrors++
			if r.firstErr == "" {
				r.firstErr = "revoke: " + err.Error()
			}
			continue
		}
		r.revoked++
	}
}

// latency summarises a phase's latencies, in milliseconds.
type latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func percentiles(lats []time.Duration) latency {
	if len(lats) == 0 {
		return latency{}
	}
	slices.Sort(lats)
	at := func(q float64) float64 {
		i := min(int(q*float64(len(lats))), len(lats)-1)
		return float64(lats[i].Microseconds()) / 1000
	}
	return latency{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: at(1)}
}
