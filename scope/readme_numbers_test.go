package scope

import (
	"strconv"
	"testing"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/readme"
)

// TestREADMENumbers holds the README's "Limits and timings" table to this
// package's constants.
func TestREADMENumbers(t *testing.T) {
	numbers, err := readme.Numbers("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"token.max_repositories":   strconv.Itoa(MaxRepositories),
		"input.max_permissions":    strconv.Itoa(maxPermissionEntries),
		"input.max_template_bytes": readme.Bytes(maxTemplateBytes),
	} {
		if got, ok := numbers[key]; !ok || got != want {
			t.Errorf("README says %s = %q; the code uses %q", key, got, want)
		}
	}
}
