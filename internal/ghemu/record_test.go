package ghemu

import (
	"net/http"
	"testing"
)

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
