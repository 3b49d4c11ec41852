package githubapp

import (
	"strconv"
	"testing"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/readme"
)

// TestREADMENumbers holds the README's "Limits and timings" table to the
// constants of this package, and every numeric constant of the package to
// a row of the table (ghclient, scope and quote check their own).
func TestREADMENumbers(t *testing.T) {
	readme.Require(t, "README.md", ".", []readme.Row{
		{Key: "lease.max_ttl", Source: "maxTokenTTL", Value: readme.Duration(maxTokenTTL)},
		{Key: "revoke.expired_margin", Source: "expiredMargin", Value: readme.Duration(expiredMargin)},
		{Key: "revoke.max_clients", Source: "maxRevokers", Value: strconv.Itoa(maxRevokers)},
		{Key: "cache.owner_ttl", Source: "ownerCacheTTL", Value: readme.Duration(ownerCacheTTL)},
		{Key: "cache.repository_list_ttl", Source: "repositoryListTTL", Value: readme.Duration(repositoryListTTL)},
		{Key: "cache.listing_pages_per_minute", Source: "listingPagesPerMinute", Value: strconv.Itoa(listingPagesPerMinute)},
		{Key: "cache.listing_timeout", Source: "repositoryListingTimeout", Value: readme.Duration(repositoryListingTimeout)},
		{Key: "cache.failed_listing_ttl", Source: "failedListingTTL", Value: readme.Duration(failedListingTTL)},
		{Key: "cache.entries", Source: "cacheSize", Value: strconv.Itoa(cacheSize)},
		{Key: "cache.lookup_timeout", Source: "cacheLookupTimeout", Value: readme.Duration(cacheLookupTimeout)},
		{Key: "cache.replication_state_ttl", Source: "replicationStateTTL", Value: readme.Duration(replicationStateTTL)},
		{Key: "config.min_key_bits", Source: "minKeyBits", Value: strconv.Itoa(minKeyBits)},
		{Key: "wal.retry_min_age", Source: "walRollbackMinAge", Value: readme.Duration(walRollbackMinAge)},
		{Key: "wal.write_timeout", Source: "walWriteTimeout", Value: readme.Duration(walWriteTimeout)},
		{Key: "wal.attempt_timeout", Source: "walAttemptTimeout", Value: readme.Duration(walAttemptTimeout)},
		{Key: "wal.revokers", Source: "walRevokers", Value: strconv.Itoa(walRevokers)},
		{Key: "wal.max_entries", Source: "walMaxEntries", Value: strconv.Itoa(walMaxEntries)},
	})
}
