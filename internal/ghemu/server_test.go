package ghemu

import (
	"net/http"
	"testing"
	"time"
)

func TestLatency(t *testing.T) {
	f := newFixture(t)
	const d = 150 * time.Millisecond
	f.SetLatency(d)
	start := time.Now()
	if r := f.do(t, http.MethodGet, "/app", "Bearer "+f.appJWT(t), nil); r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	if took := time.Since(start); took < d {
		t.Errorf("reply took %v, want at least %v", took, d)
	}
	f.SetLatency(0)
	start = time.Now()
	f.do(t, http.MethodGet, "/app", "Bearer "+f.appJWT(t), nil)
	if took := time.Since(start); took >= d {
		t.Errorf("after SetLatency(0) reply took %v", took)
	}
}

// A latency set for a path prefix delays only the requests under it, on
// top of the latency of every reply: a slow page of a listing, say.
func TestLatencyForAPath(t *testing.T) {
	f := newFixture(t)
	const d = 150 * time.Millisecond
	f.SetLatencyFor("/app/installations", d)
	timed := func(path string) time.Duration {
		start := time.Now()
		if r := f.do(t, http.MethodGet, path, "Bearer "+f.appJWT(t), nil); r.status != http.StatusOK {
			t.Fatalf("%s: status %d", path, r.status)
		}
		return time.Since(start)
	}
	if took := timed("/app/installations?page=2"); took < d {
		t.Errorf("a page under the prefix took %v, want at least %v", took, d)
	}
	if took := timed("/app"); took >= d {
		t.Errorf("a request outside the prefix took %v", took)
	}
	f.SetLatencyFor("/app/installations", 0)
	if took := timed("/app/installations"); took >= d {
		t.Errorf("after SetLatencyFor(…, 0) a page took %v", took)
	}
	if r := f.admin(t, http.MethodPost, "/_emulator/latency", `{"ms":150,"path_prefix":"/app/installations"}`); r.status != http.StatusNoContent {
		t.Fatalf("latency for a path over the admin API: status %d", r.status)
	}
	if took := timed("/app/installations"); took < d {
		t.Errorf("a path latency set over the admin API not applied: %v", took)
	}
}

func TestConnectionsAreCounted(t *testing.T) {
	f := newFixture(t)
	before := f.Stats().Connections
	for range 3 {
		f.do(t, http.MethodGet, "/app", "Bearer "+f.appJWT(t), nil)
	}
	if got := f.Stats().Connections - before; got < 1 || got > 3 {
		t.Fatalf("%d connections for 3 requests", got)
	}
}
