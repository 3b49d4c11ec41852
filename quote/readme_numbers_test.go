package quote

import (
	"strconv"
	"testing"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/readme"
)

// TestREADMENumbers holds the README's "Limits and timings" table to this
// package's constants, and every numeric constant here to a row.
func TestREADMENumbers(t *testing.T) {
	readme.Require(t, "../README.md", ".", []readme.Row{
		{Key: "input.max_quoted_bytes", Source: "MaxBytes", Value: readme.Bytes(MaxBytes)},
		{Key: "input.max_listed", Source: "maxListed", Value: strconv.Itoa(maxListed)},
	})
}
