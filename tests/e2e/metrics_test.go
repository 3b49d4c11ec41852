package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricsPolicy is what the README gives Prometheus: read on the metrics
// path and nothing else.
const metricsPolicy = `path "github/metrics" {
  capabilities = ["read"]
}
`

// TestMetricsScrape scrapes the engine as Prometheus does, through Vault's
// HTTP API with "Authorization: Bearer <token>", after real mints and a
// revocation, and checks that Vault's ACL guards the path.
func TestMetricsScrape(t *testing.T) {
	t.Parallel()
	v, emu := setup(t)
	ci := v.CIToken(t)
	m := v.Mint(t, ci, "read", "github/token/ci")
	v.Mint(t, ci, "read", "github/token/ci")
	v.MustCLI(t, "lease", "revoke", "-sync", m.LeaseID)
	emu.RequireRevoked(t, m.Token)

	v.MustCLI(t, "policy", "write", "metrics", v.writeFile(t, "metrics-policy.hcl", metricsPolicy))
	scraper := v.MustCLI(t, "token", "create", "-policy=metrics", "-field=token")

	status, contentType, body := v.scrapeMetrics(t, scraper)
	if status != http.StatusOK {
		t.Fatalf("scrape with the metrics policy: HTTP %d: %.300s", status, body)
	}
	if contentType != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q, want Prometheus's text format", contentType)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the scrape does not parse as the Prometheus text format: %v", err)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"github_app_tokens_minted_total", map[string]string{"role": "ci"}, 2},
		{"github_app_token_revocations_total", nil, 1},
		{"github_app_owner_cache_misses_total", nil, 1},
		{"github_app_owner_cache_hits_total", nil, 1},
		{"github_app_github_requests_total", map[string]string{
			"endpoint": "POST /app/installations/{installation_id}/access_tokens", "status": "201"}, 2},
		{"github_app_github_requests_total", map[string]string{"endpoint": "DELETE /installation/token", "status": "204"}, 1},
	} {
		if got := sample(families[c.name], c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	// Without the grant, and without any token, Vault refuses before the
	// plugin sees the request.
	for name, token := range map[string]string{"a token without the grant": ci, "an anonymous request": ""} {
		status, _, body := v.scrapeMetrics(t, token)
		if status != http.StatusForbidden {
			t.Errorf("%s: HTTP %d, want 403", name, status)
		}
		if strings.Contains(body, "github_app_") {
			t.Errorf("%s: the refusal carries metrics", name)
		}
	}
}

// scrapeMetrics GETs /v1/github/metrics as Prometheus does: a bearer
// token ("" for none) in the Authorization header.
func (v *Vault) scrapeMetrics(t *testing.T, token string) (status int, contentType, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, v.Addr+"/v1/github/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: commandTimeout}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// sample returns the value of the counter of a family whose labels
// include the given ones; 0 when there is none.
func sample(mf *dto.MetricFamily, labels map[string]string) float64 {
	for _, m := range mf.GetMetric() {
		if hasAll(m, labels) {
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func hasAll(m *dto.Metric, labels map[string]string) bool {
	matched := 0
	for _, l := range m.GetLabel() {
		if want, ok := labels[l.GetName()]; ok && want == l.GetValue() {
			matched++
		}
	}
	return matched == len(labels)
}
