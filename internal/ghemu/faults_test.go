package ghemu

import (
	"bytes"
	"net/http"
	"testing"
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
