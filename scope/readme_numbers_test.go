package scope

import (
	"strconv"
	"testing"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/readme"
)

// TestREADMENumbers holds the README's "Limits and timings" table to this
// package's constants, and every numeric constant here to a row.
func TestREADMENumbers(t *testing.T) {
	readme.Require(t, "../README.md", ".", []readme.Row{
		{Key: "token.max_repositories", Source: "MaxRepositories", Value: strconv.Itoa(MaxRepositories)},
		{Key: "input.max_permissions", Source: "maxPermissionEntries", Value: strconv.Itoa(maxPermissionEntries)},
		{Key: "input.max_template_bytes", Source: "maxTemplateBytes", Value: readme.Bytes(maxTemplateBytes)},
	})
}
