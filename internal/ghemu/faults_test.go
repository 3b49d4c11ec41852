package ghemu

import (
	"bytes"
	"net/http"
	"testing"
	"time"
)

func TestFailNextStatusAndHeaders(t *testing.T) {
	f := newFixture(t)
	f.FailNext(2, Fault{
		Status:     http.StatusTooManyRequests,
		Header:     http.Header{"Retry-After": {"7"}, "X-Ratelimit-Remaining": {"0"}},
		PathPrefix: "/app/installations/",
	})
	// A request outside the prefix is untouched and does not use up a fault.
	if r := f.do(t, http.MethodGet, "/app", "Bearer "+f.appJWT(t), nil); r.status != http.StatusOK {
		t.Fatalf("GET /app: status %d", r.status)
	}
	for i := range 2 {
		r := f.do(t, http.MethodPost, mintPath(f.sample.OrgInstallationID), "Bearer "+f.appJWT(t), nil)
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "7" ||
			r.header.Values("X-RateLimit-Remaining")[0] != "0" || len(r.header.Values("X-RateLimit-Remaining")) != 1 {
			t.Fatalf("attempt %d: status %d, headers %v", i, r.status, r.header)
		}
		if msg := r.message(t); msg != "Too Many Requests" {
			t.Errorf("default fault body message %q", msg)
		}
	}
	f.mint(t, f.sample.OrgInstallationID, nil) // faults used up
	if f.LiveTokens() != 1 {
		t.Errorf("LiveTokens = %d, want 1: faulted requests must not mint", f.LiveTokens())
	}
	if st := f.Stats(); st.FaultsInjected != 2 {
		t.Errorf("FaultsInjected = %d", st.FaultsInjected)
	}

	// A custom body is sent verbatim; Status defaults to 500.
	body := `{"message":"You have exceeded a secondary rate limit."}`
	f.FailNext(1, Fault{Body: body})
	r := f.do(t, http.MethodGet, "/app", "Bearer "+f.appJWT(t), nil)
	if r.status != http.StatusInternalServerError || string(r.body) != body {
		t.Errorf("custom body fault: %d %s", r.status, r.body)
	}
}

func TestFailNextDrop(t *testing.T) {
	f := newFixture(t)
	f.FailNext(1, Fault{Drop: true, PathPrefix: "/app/installations/"})
	req, _ := http.NewRequest(http.MethodPost, f.URL()+mintPath(f.sample.OrgInstallationID), bytes.NewBufferString(`{}`))
	req.Header.Set("User-Agent", testUA)
	req.Header.Set("Authorization", "Bearer "+f.appJWT(t))
	if resp, err := f.client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("dropped request got a reply: %d", resp.StatusCode)
	}
	reqs := f.Requests()
	if len(reqs) != 1 || !reqs[0].Dropped || reqs[0].Status != 0 || string(reqs[0].Body) != `{}` {
		t.Errorf("recorded %+v", reqs)
	}
	if f.LiveTokens() != 0 {
		t.Error("a dropped request minted a token")
	}
	f.mint(t, f.sample.OrgInstallationID, nil) // the next one succeeds
}

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

func TestRequestRecording(t *testing.T) {
	f := newFixture(t)
	jwtStr := f.appJWT(t)
	body := `{"repositories":["api"]}`
	f.do(t, http.MethodPost, mintPath(f.sample.OrgInstallationID)+"?trace=1", "Bearer "+jwtStr, body)
	f.do(t, http.MethodGet, "/app/installations?per_page=2", "Bearer "+jwtStr, nil)
	f.do(t, http.MethodGet, "/app", "Bearer garbage", nil)

	reqs := f.Requests()
	if len(reqs) != 3 {
		t.Fatalf("recorded %d requests, want 3", len(reqs))
	}
	mint := reqs[0]
	if mint.Method != http.MethodPost || mint.Path != mintPath(f.sample.OrgInstallationID) || mint.RawQuery != "trace=1" ||
		string(mint.Body) != body || mint.Status != http.StatusCreated || mint.Header.Get("User-Agent") != testUA ||
		mint.Header.Get("Authorization") != "Bearer "+jwtStr || mint.Route != "POST /app/installations/{installation_id}/access_tokens" ||
		mint.JWT == nil || mint.JWT.AppID != testAppID || mint.Time.IsZero() {
		t.Errorf("mint recorded as %+v", mint)
	}
	if reqs[1].RawQuery != "per_page=2" || reqs[1].Status != http.StatusOK {
		t.Errorf("list recorded as %+v", reqs[1])
	}
	if reqs[2].Status != http.StatusUnauthorized || reqs[2].JWT != nil {
		t.Errorf("refused JWT recorded as %+v", reqs[2])
	}
	// Recorded headers are copies.
	reqs[0].Header.Set("User-Agent", "changed")
	if f.Requests()[0].Header.Get("User-Agent") != testUA {
		t.Error("Requests exposes the emulator's own header map")
	}

	for _, c := range []struct {
		method, prefix string
		want           int
	}{
		{http.MethodPost, "/app/installations/", 1},
		{http.MethodGet, "/app", 2},
		{"", "/app", 3},
		{http.MethodDelete, "/", 0},
	} {
		if got := f.Count(c.method, c.prefix); got != c.want {
			t.Errorf("Count(%q, %q) = %d, want %d", c.method, c.prefix, got, c.want)
		}
	}

	f.ResetRequests()
	if len(f.Requests()) != 0 || f.Count("", "/") != 0 {
		t.Error("ResetRequests left records behind")
	}
}

// An edited reply still mints for real: the token it names (or would have
// named) is live, so tests can check that a client revokes it.
func TestEditNextReplyMintsForReal(t *testing.T) {
	f := newFixture(t)
	f.EditNextReply(1, ReplyEdit{
		PathPrefix: "/app/installations/",
		Delete:     []string{"expires_at"},
		Set:        map[string]any{"repository_selection": "all"},
	})
	// A request outside the prefix does not use up the edit.
	if r := f.do(t, http.MethodGet, "/app", "Bearer "+f.appJWT(t), nil); r.status != http.StatusOK {
		t.Fatalf("GET /app: status %d", r.status)
	}
	r := f.do(t, http.MethodPost, mintPath(f.sample.OrgInstallationID), "Bearer "+f.appJWT(t), map[string]any{"repositories": []string{"api"}})
	var body map[string]any
	r.json(t, &body)
	if r.status != http.StatusCreated {
		t.Fatalf("status %d", r.status)
	}
	if _, ok := body["expires_at"]; ok || body["repository_selection"] != "all" {
		t.Fatalf("reply not edited: %v", body)
	}
	info, ok := f.Token(body["token"].(string))
	if !ok || info.Revoked || info.RepositorySelection != SelectionSelected {
		t.Fatalf("the edited reply's token: %+v (known %t); want live and scoped as asked", info, ok)
	}
	if got := f.mint(t, f.sample.OrgInstallationID, nil); got.ExpiresAt.IsZero() {
		t.Error("the edit applied twice")
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
