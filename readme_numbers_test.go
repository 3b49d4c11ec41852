package githubapp

import (
	"strconv"
	"testing"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/readme"
)

// TestREADMENumbers holds the README's "Limits and timings" table to the
// constants of this package (ghclient checks its own rows).
func TestREADMENumbers(t *testing.T) {
	numbers, err := readme.Numbers("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"lease.max_ttl":             readme.Duration(maxTokenTTL),
		"revoke.expired_margin":     readme.Duration(expiredMargin),
		"cache.owner_ttl":           readme.Duration(ownerCacheTTL),
		"cache.repository_list_ttl": readme.Duration(repositoryListTTL),
		"cache.min_relist_age":      readme.Duration(minRelistAge),
		"cache.failed_listing_ttl":  readme.Duration(failedListingTTL),
		"cache.entries":             strconv.Itoa(cacheSize),
		"token.max_repositories":    strconv.Itoa(maxRepositories),
		"input.max_quoted_bytes":    readme.Bytes(maxQuotedInput),
		"input.max_permissions":     strconv.Itoa(maxPermissionEntries),
		"input.max_template_bytes":  readme.Bytes(maxTemplateBytes),
		"wal.retry_min_age":         readme.Duration(walRollbackMinAge),
		"wal.attempt_timeout":       readme.Duration(walAttemptTimeout),
		"wal.revokers":              strconv.Itoa(walRevokers),
		"wal.max_entries":           strconv.Itoa(walMaxEntries),
	} {
		if got, ok := numbers[key]; !ok || got != want {
			t.Errorf("README says %s = %q; the code uses %q", key, got, want)
		}
	}
}
