package githubapp

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
)

const (
	mintRoute   = "POST /app/installations/{installation_id}/access_tokens"
	revokeRoute = "DELETE /installation/token"
)

// scraped is one parsed read of the metrics path.
type scraped struct {
	t        testing.TB
	body     string
	families map[string]*dto.MetricFamily
}

// scrape reads the metrics path as Prometheus would and parses the body
// with Prometheus's own text parser.
func (e *testEnv) scrape() scraped {
	e.t.Helper()
	resp := e.mustRead("metrics")
	if resp.Secret != nil || resp.Auth != nil {
		e.t.Fatal("the metrics response carries a secret or auth, which Vault refuses in a raw response")
	}
	if got := resp.Data[logical.HTTPContentType]; got != "text/plain; version=0.0.4; charset=utf-8" {
		e.t.Fatalf("content type %v", got)
	}
	if got := resp.Data[logical.HTTPStatusCode]; got != http.StatusOK {
		e.t.Fatalf("status %v", got)
	}
	body, ok := resp.Data[logical.HTTPRawBody].([]byte)
	if !ok {
		e.t.Fatalf("raw body is a %T, want []byte", resp.Data[logical.HTTPRawBody])
	}
	return parseMetrics(e.t, body)
}

func parseMetrics(t testing.TB, body []byte) scraped {
	t.Helper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, body)
	}
	return scraped{t: t, body: string(body), families: families}
}

// sum adds the values of every series of a metric whose labels include
// the given name/value pairs (a histogram counts its observations).
func (s scraped) sum(name string, labelPairs ...string) float64 {
	s.t.Helper()
	total := 0.0
	for _, m := range s.series(name) {
		if hasLabels(m, labelPairs) {
			total += value(m)
		}
	}
	return total
}

func (s scraped) series(name string) []*dto.Metric {
	if mf, ok := s.families[name]; ok {
		return mf.GetMetric()
	}
	return nil
}

// byLabels maps the values of two labels of a metric's series to values.
func (s scraped) byLabels(name, a, b string) map[[2]string]float64 {
	out := map[[2]string]float64{}
	for _, m := range s.series(name) {
		out[[2]string{label(m, a), label(m, b)}] += value(m)
	}
	return out
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		if label(m, pairs[i]) != pairs[i+1] {
			return false
		}
	}
	return true
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

func (s scraped) require(name string, want float64, labelPairs ...string) {
	s.t.Helper()
	if got := s.sum(name, labelPairs...); got != want {
		s.t.Errorf("%s%v = %v, want %v", name, labelPairs, got, want)
	}
}

// TestMetrics_MintsFailuresAndGitHubRequests mints three tokens and has
// GitHub refuse a fourth, then checks the counts against what the emulator
// itself recorded.
func TestMetrics_MintsFailuresAndGitHubRequests(t *testing.T) {
	e := newRoleEnv(t, nil)
	for range 3 {
		e.mint("ci")
	}
	e.emulator.FailNext(1, ghemu.Fault{Status: http.StatusUnprocessableEntity, PathPrefix: "/app/installations/"})
	resp, err := e.do(logical.ReadOperation, "token/ci", nil)
	requireUserError(t, resp, err, "422")

	m := e.scrape()
	m.require("github_app_tokens_minted_total", 3, "role", "ci")
	m.require("github_app_token_mint_failures_total", 1, "role", "ci")

	// Every request GitHub received, by endpoint template and status.
	want := map[[2]string]float64{}
	for _, r := range e.emulator.Requests() {
		route := r.Route
		if route == "" {
			// The emulator injects a fault before routing; the only one
			// here is the mint's.
			route = mintRoute
		}
		want[[2]string{route, strconv.Itoa(r.Status)}]++
	}
	if got := m.byLabels("github_app_github_requests_total", "endpoint", "status"); !maps.Equal(got, want) {
		t.Errorf("GitHub requests by endpoint and status:\n got %v\nwant %v (the emulator's record)", got, want)
	}
	stats := e.emulator.Stats()
	if got := m.sum("github_app_github_requests_total", "endpoint", mintRoute); got != float64(stats.Endpoints[mintRoute]+stats.FaultsInjected) {
		t.Errorf("%v mint requests counted; the emulator routed %d and faulted %d", got, stats.Endpoints[mintRoute], stats.FaultsInjected)
	}
	m.require("github_app_github_request_duration_seconds", 4, "endpoint", mintRoute)

	// One JWT, reused for every mint.
	m.require("github_app_jwt_signatures_total", 1)

	// The emulator spends one unit of its 5000 per request; every request
	// here carried the App's JWT.
	m.require("github_app_github_rate_limit_remaining", float64(5000-stats.Requests), "credential", "app")
	// No installation token was used: no budget is known, and a 0 would
	// read as exhausted.
	for _, s := range m.series("github_app_github_rate_limit_remaining") {
		if label(s, "credential") != "app" {
			t.Errorf("a rate-limit budget for credential %q, which no request used", label(s, "credential"))
		}
	}
}

// The observer runs on every GitHub request: once a label set has been
// seen, it must not allocate.
func TestMetrics_ObserveAttemptDoesNotAllocate(t *testing.T) {
	m := newMetrics()
	a := ghclient.Attempt{Route: mintRoute, Status: http.StatusCreated, Duration: time.Millisecond, AsApp: true,
		Header: http.Header{"X-Ratelimit-Remaining": {"4999"}}}
	m.ObserveAttempt(a)
	m.roles.get("ci")
	allocs := testing.AllocsPerRun(100, func() {
		m.ObserveAttempt(a)
		m.roles.get("ci").minted.Inc()
	})
	if allocs != 0 {
		t.Fatalf("%.0f allocations per observed attempt and mint", allocs)
	}
}

// A request for a role that does not exist adds no label: a caller can
// name any role in the path, and labels must stay bounded.
func TestMetrics_UnknownRolesAddNoLabel(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldRepositories: "api"})
	for _, name := range []string{"nope", "no-such-role", "../etc"} {
		resp, err := e.do(logical.ReadOperation, "token/"+name, nil)
		if err == nil && !resp.IsError() {
			t.Fatalf("token/%s minted", name)
		}
	}
	// Narrowing outside an existing role is that role's failure.
	resp, err := e.do(logical.ReadOperation, "token/ci", map[string]any{fieldRepositories: "web"})
	requireUserError(t, resp, err, "web")

	m := e.scrape()
	for _, family := range []string{"github_app_tokens_minted_total", "github_app_token_mint_failures_total"} {
		for _, s := range m.series(family) {
			if role := label(s, "role"); role != "ci" {
				t.Errorf("%s has a series for role %q", family, role)
			}
		}
	}
	m.require("github_app_token_mint_failures_total", 1, "role", "ci")
}

func TestMetrics_RevocationsAndRetries(t *testing.T) {
	e := newRoleEnv(t, nil)
	first, second := e.mint("ci"), e.mint("ci")
	resp, err := e.revoke(first.Secret)
	requireOK(t, resp, err)

	// GitHub fails every attempt of the second revocation: Vault keeps the
	// lease and retries later.
	e.emulator.FailNext(4, ghemu.Fault{Status: http.StatusBadGateway, PathPrefix: "/installation/token"})
	if _, err := e.revoke(second.Secret); err == nil {
		t.Fatal("a revocation GitHub failed four times succeeded")
	}

	m := e.scrape()
	m.require("github_app_token_revocations_total", 1)
	m.require("github_app_token_revocation_failures_total", 1)
	m.require("github_app_github_requests_total", 1, "endpoint", revokeRoute, "status", "204")
	m.require("github_app_github_requests_total", 4, "endpoint", revokeRoute, "status", "502")
	m.require("github_app_github_retries_total", 3, "endpoint", revokeRoute, "reason", "server_error")
	// A revocation authenticates with the token, so it reports the
	// installation's budget, not the App's.
	if m.sum("github_app_github_rate_limit_remaining", "credential", "installation") <= 0 {
		t.Error("no installation rate-limit budget recorded after revocations")
	}
}

func TestMetrics_RateLimitWaits(t *testing.T) {
	e := newRoleEnv(t, nil)
	e.emulator.FailNext(1, ghemu.Fault{
		Status:     http.StatusTooManyRequests,
		Header:     http.Header{"Retry-After": {"1"}},
		PathPrefix: "/app/installations/",
	})
	e.mint("ci")

	m := e.scrape()
	m.require("github_app_github_rate_limit_waits_total", 1, "endpoint", mintRoute)
	m.require("github_app_github_rate_limit_wait_seconds_total", 1, "endpoint", mintRoute)
	m.require("github_app_github_retries_total", 0)
	m.require("github_app_github_requests_total", 1, "endpoint", mintRoute, "status", "429")
	m.require("github_app_tokens_minted_total", 1, "role", "ci")
}

func TestMetrics_OwnerCache(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/ci", map[string]any{fieldOwner: "acme"})
	for range 3 {
		e.mint("ci")
	}
	m := e.scrape()
	m.require("github_app_owner_cache_misses_total", 1)
	m.require("github_app_owner_cache_hits_total", 2)
	m.require("github_app_github_requests_total", 1, "endpoint", "GET /orgs/{org}/installation", "status", "200")
}

// Labels hold templates and role names, never an ID, an owner's name or a
// token: scan the whole exposition for them.
func TestMetrics_NoIDsNamesOrTokensInLabels(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/ci", map[string]any{fieldOwner: "octocat"}) // an org 404, then the user
	resp := e.mint("ci")
	revoked, err := e.revoke(resp.Secret)
	requireOK(t, revoked, err)

	m := e.scrape()
	token := resp.Data[fieldToken].(string)
	for _, secret := range []string{"octocat", token, "ghs_"} {
		if strings.Contains(m.body, secret) {
			t.Errorf("the exposition contains %q", secret)
		}
	}
	// An ID's digits can turn up inside any sample's value (4.621002e+06),
	// so it is looked for in the labels only.
	if id := strconv.FormatInt(e.sample.UserInstallationID, 10); strings.Contains(labelSets(m.body), id) {
		t.Errorf("a label holds the installation ID %s", id)
	}
	m.require("github_app_github_requests_total", 1, "endpoint", "GET /orgs/{org}/installation", "status", "404")
	m.require("github_app_github_requests_total", 1, "endpoint", "GET /users/{username}/installation", "status", "200")
}

// Each mount counts its own: a process serves several mounts.
func TestMetrics_RegistryPerMount(t *testing.T) {
	a, b := newRoleEnv(t, nil), newRoleEnv(t, nil)
	a.mint("ci")
	a.mint("ci")
	b.mint("ci")
	a.scrape().require("github_app_tokens_minted_total", 2, "role", "ci")
	b.scrape().require("github_app_tokens_minted_total", 1, "role", "ci")
}

func TestMetrics_ProcessAndBuildInfo(t *testing.T) {
	m := newUnconfiguredEnv(t).scrape()
	m.require("github_app_build_info", 1, "version", Version)
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if len(m.series(name)) == 0 {
			t.Errorf("no %s", name)
		}
	}
}

// The metrics read takes no parameters; like every read here, it refuses
// them rather than dropping them.
func TestMetrics_RefusesParameters(t *testing.T) {
	e := newUnconfiguredEnv(t)
	resp, err := e.do(logical.ReadOperation, "metrics", map[string]any{"format": "json"})
	requireUserError(t, resp, err, "format")
}

func TestMetrics_OpenAPI(t *testing.T) {
	e := newUnconfiguredEnv(t)
	resp, err := e.b.HandleRequest(context.Background(), &logical.Request{Operation: logical.HelpOperation, Storage: e.storage})
	requireOK(t, resp, err)
	doc := resp.Data["openapi"].(*framework.OASDocument)
	item, ok := doc.Paths["/metrics"]
	if !ok || item.Get == nil {
		t.Fatalf("no GET /metrics in the OpenAPI document; paths: %v", slices.Collect(maps.Keys(doc.Paths)))
	}
	if item.Get.OperationID != "github-app-read-metrics" {
		t.Errorf("operation ID %q, want github-app-read-metrics", item.Get.OperationID)
	}
	ok200 := item.Get.Responses[http.StatusOK]
	if ok200 == nil || ok200.Content[metricsContentType] == nil {
		t.Errorf("the 200 response does not declare %q content", metricsContentType)
	}
}

// labelSets is the {…} part of every sample line of an exposition.
func labelSets(exposition string) string {
	var labels strings.Builder
	for _, line := range strings.Split(exposition, "\n") {
		if open, end := strings.IndexByte(line, '{'), strings.LastIndexByte(line, '}'); !strings.HasPrefix(line, "#") && open >= 0 && end > open {
			labels.WriteString(line[open:end+1] + "\n")
		}
	}
	return labels.String()
}
