package ghclient

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
	policy := DefaultRetryPolicy()
	for key, want := range map[string]string{
		"retry.attempts":            strconv.Itoa(policy.MaxAttempts),
		"retry.base_delay":          readme.Duration(policy.BaseDelay),
		"retry.max_delay":           readme.Duration(policy.MaxDelay),
		"rate_limit.max_wait":       readme.Duration(policy.MaxRateLimitWait),
		"rate_limit.clamp":          readme.Duration(maxRateLimitWait),
		"jwt.lifetime":              readme.Duration(jwtLifetime),
		"jwt.refresh_margin":        readme.Duration(jwtRefreshMargin),
		"clock.max_skew_ahead":      readme.Duration(maxSkewAhead),
		"clock.max_skew_behind":     readme.Duration(maxSkewBehind),
		"mint.sent_attempt_timeout": readme.Duration(sentAttemptTimeout),
		"mint.discard_timeout":      readme.Duration(discardTimeout),
		"token.max_revocable_bytes": readme.Bytes(maxRevocableTokenBytes),
		"reply.max_mint_bytes":      readme.Bytes(maxMintReplyBytes),
		"reply.max_bytes":           readme.Bytes(maxReplyBytes),
		"reply.max_error_bytes":     readme.Bytes(maxErrorBodyBytes),
		"reply.max_message_bytes":   readme.Bytes(maxMessageBytes),
		"token.max_repositories":    strconv.Itoa(MaxTokenRepositories),
	} {
		if got, ok := numbers[key]; !ok || got != want {
			t.Errorf("README says %s = %q; the code uses %q", key, got, want)
		}
	}
}
