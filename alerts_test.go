package githubapp

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
)

const alertRules = "docs/prometheus/alerts.yml"

// TestPrometheusAlertRules checks the alert examples with Prometheus's own
// promtool: that they load, and that they fire as alerts-test.yml expects.
func TestPrometheusAlertRules(t *testing.T) {
	promtool := findPromtool(t)
	for _, args := range [][]string{
		{"check", "rules", filepath.Base(alertRules)},
		{"test", "rules", "alerts-test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = filepath.Dir(alertRules)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}

// findPromtool returns the promtool scripts/tools.sh provided (make test
// runs it), or one on PATH; without either the test skips, saying how to
// get one.
func findPromtool(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs promtool; skipped with -short")
	}
	if p, err := filepath.Abs(filepath.Join(".tools", "bin", "promtool")); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	t.Skip("no promtool: run scripts/tools.sh (make test does) to take it from Debian's prometheus package")
	return ""
}

// TestPrometheusAlertRulesNameRealMetrics holds the alert examples to the
// metrics the plugin exports: a renamed metric would leave an alert that
// never fires, which promtool cannot see.
func TestPrometheusAlertRulesNameRealMetrics(t *testing.T) {
	rules, err := os.ReadFile(alertRules)
	if err != nil {
		t.Fatal(err)
	}
	e := newRoleEnv(t, nil)
	e.emulator.FailNext(1, ghemu.Fault{
		Status:     http.StatusTooManyRequests,
		Header:     http.Header{"Retry-After": {"1"}},
		PathPrefix: "/app/installations/",
	})
	e.mint("ci") // one rate-limit wait, so that every metric family exists
	exported := e.scrape().families

	names := regexp.MustCompile(`\bgithub_app_[a-z_]+`).FindAllString(string(rules), -1)
	if len(names) == 0 {
		t.Fatalf("%s names no metric of the plugin", alertRules)
	}
	for _, name := range names {
		if _, ok := exported[name]; !ok {
			t.Errorf("%s uses %s, which the plugin does not export", alertRules, name)
		}
	}
}
