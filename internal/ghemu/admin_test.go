package ghemu

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// admin calls the control API, which needs no User-Agent or credentials.
func (f *fixture) admin(t *testing.T, method, path, body string) reply {
	t.Helper()
	req, _ := http.NewRequest(method, f.URL()+path, bytes.NewBufferString(body))
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: buf.Bytes()}
}

func TestAdminAPI(t *testing.T) {
	f := newFixture(t)
	m := f.mint(t, f.sample.OrgInstallationID, map[string]any{"repositories": []string{"web"}})
	f.do(t, http.MethodGet, "/app", "Bearer "+f.appJWT(t), nil)

	var st Stats
	f.admin(t, http.MethodGet, "/_emulator/stats", "").json(t, &st)
	if st.Requests != 2 || st.TokensMinted != 1 || st.LiveTokens != 1 ||
		st.Endpoints["POST /app/installations/{installation_id}/access_tokens"] != 1 || st.Endpoints["GET /app"] != 1 {
		t.Errorf("stats = %+v", st)
	}

	var info TokenInfo
	r := f.admin(t, http.MethodGet, "/_emulator/tokens/"+m.Token, "")
	r.json(t, &info)
	if r.status != http.StatusOK || info.InstallationID != f.sample.OrgInstallationID || !slices.Equal(info.RepositoryNames, []string{"web"}) {
		t.Errorf("token info %d %+v", r.status, info)
	}
	if r := f.admin(t, http.MethodGet, "/_emulator/tokens/ghs_unknown", ""); r.status != http.StatusNotFound {
		t.Errorf("unknown token: status %d", r.status)
	}

	if r := f.admin(t, http.MethodPost, "/_emulator/latency", `{"ms":120}`); r.status != http.StatusNoContent {
		t.Fatalf("latency: status %d", r.status)
	}
	start := time.Now()
	f.do(t, http.MethodGet, "/app", "Bearer "+f.appJWT(t), nil)
	if took := time.Since(start); took < 120*time.Millisecond {
		t.Errorf("latency set over the admin API not applied: %v", took)
	}
	f.admin(t, http.MethodPost, "/_emulator/latency", `{"ms":0}`)

	fault := `{"n":2,"status":502,"header":{"retry-after":["1"]},"path_prefix":"/app"}`
	if r := f.admin(t, http.MethodPost, "/_emulator/fail", fault); r.status != http.StatusNoContent {
		t.Fatalf("fail: status %d", r.status)
	}
	for range 2 {
		if r := f.do(t, http.MethodGet, "/app", "Bearer "+f.appJWT(t), nil); r.status != http.StatusBadGateway || r.header.Get("Retry-After") != "1" {
			t.Errorf("fault set over the admin API: status %d headers %v", r.status, r.header)
		}
	}
	if r := f.do(t, http.MethodGet, "/app", "Bearer "+f.appJWT(t), nil); r.status != http.StatusOK {
		t.Errorf("after the faults: status %d", r.status)
	}

	if r := f.admin(t, http.MethodPost, "/_emulator/clock-skew", `{"seconds":3600}`); r.status != http.StatusNoContent {
		t.Fatalf("clock-skew: status %d", r.status)
	}
	if r := f.do(t, http.MethodGet, "/app", "Bearer "+sign(t, f.key, claims(time.Now())), nil); r.status != http.StatusUnauthorized {
		t.Errorf("clock skew set over the admin API not applied: status %d", r.status)
	}

	if r := f.admin(t, http.MethodPost, "/_emulator/fail", `{"n":`); r.status != http.StatusBadRequest {
		t.Errorf("bad admin JSON: status %d", r.status)
	}
	if r := f.admin(t, http.MethodPost, "/_emulator/reset-requests", ""); r.status != http.StatusNoContent || len(f.Requests()) != 0 {
		t.Errorf("reset-requests: status %d, %d requests left", r.status, len(f.Requests()))
	}
	// Admin calls are not GitHub traffic: they are never recorded.
	f.admin(t, http.MethodGet, "/_emulator/stats", "")
	if n := len(f.Requests()); n != 0 {
		t.Errorf("admin calls recorded: %d", n)
	}
}

func TestAdminLoopbackOnly(t *testing.T) {
	f := newFixture(t)
	req := httptest.NewRequest(http.MethodGet, "/_emulator/stats", nil)
	req.RemoteAddr = "192.0.2.10:4711"
	w := httptest.NewRecorder()
	f.ServeHTTP(w, req)
	var e map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || w.Code != http.StatusNotFound || e["message"] != "Not Found" {
		t.Errorf("remote admin call: %d %s", w.Code, w.Body)
	}
}
