package ghclient

import (
	"strconv"
	"testing"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/readme"
)

// TestREADMENumbers holds the README's "Limits and timings" table to this
// package's constants, and every numeric constant of the package to a row
// of the table.
func TestREADMENumbers(t *testing.T) {
	policy := DefaultRetryPolicy()
	readme.Require(t, "../README.md", ".", []readme.Row{
		{Key: "retry.attempts", Source: "DefaultRetryPolicy().MaxAttempts", Value: strconv.Itoa(policy.MaxAttempts)},
		{Key: "retry.base_delay", Source: "DefaultRetryPolicy().BaseDelay", Value: readme.Duration(policy.BaseDelay)},
		{Key: "retry.max_delay", Source: "DefaultRetryPolicy().MaxDelay", Value: readme.Duration(policy.MaxDelay)},
		{Key: "rate_limit.max_wait", Source: "DefaultRetryPolicy().MaxRateLimitWait", Value: readme.Duration(policy.MaxRateLimitWait)},
		{Key: "rate_limit.default_wait", Source: "defaultRateLimitWait", Value: readme.Duration(defaultRateLimitWait)},
		{Key: "rate_limit.clamp", Source: "maxRateLimitWait", Value: readme.Duration(maxRateLimitWait)},
		{Key: "jwt.lifetime", Source: "jwtLifetime", Value: readme.Duration(jwtLifetime)},
		{Key: "jwt.backdate", Source: "jwtBackdate", Value: readme.Duration(jwtBackdate)},
		{Key: "jwt.refresh_margin", Source: "jwtRefreshMargin", Value: readme.Duration(jwtRefreshMargin)},
		{Key: "clock.max_skew_ahead", Source: "maxSkewAhead", Value: readme.Duration(maxSkewAhead)},
		{Key: "clock.max_skew_behind", Source: "maxSkewBehind", Value: readme.Duration(maxSkewBehind)},
		{Key: "mint.sent_attempt_timeout", Source: "sentAttemptTimeout", Value: readme.Duration(sentAttemptTimeout)},
		{Key: "mint.discard_timeout", Source: "discardTimeout", Value: readme.Duration(discardTimeout)},
		{Key: "http.timeout", Source: "httpTimeout", Value: readme.Duration(httpTimeout)},
		{Key: "http.dial_timeout", Source: "httpDialTimeout", Value: readme.Duration(httpDialTimeout)},
		{Key: "http.keep_alive", Source: "httpKeepAlive", Value: readme.Duration(httpKeepAlive)},
		{Key: "http.tls_handshake_timeout", Source: "httpTLSHandshakeTimeout", Value: readme.Duration(httpTLSHandshakeTimeout)},
		{Key: "http.response_header_timeout", Source: "httpResponseHeaderTimeout", Value: readme.Duration(httpResponseHeaderTimeout)},
		{Key: "http.expect_continue_timeout", Source: "httpExpectContinueTimeout", Value: readme.Duration(httpExpectContinueTimeout)},
		{Key: "http.idle_conn_timeout", Source: "httpIdleConnTimeout", Value: readme.Duration(httpIdleConnTimeout)},
		{Key: "http.max_idle_conns", Source: "httpMaxIdleConns", Value: strconv.Itoa(httpMaxIdleConns)},
		{Key: "http.max_idle_conns_per_host", Source: "httpMaxIdleConnsPerHost", Value: strconv.Itoa(httpMaxIdleConnsPerHost)},
		{Key: "base_url.max_bytes", Source: "maxBaseURLBytes", Value: readme.Bytes(maxBaseURLBytes)},
		{Key: "base_url.max_host_bytes", Source: "maxHostnameBytes", Value: readme.Bytes(maxHostnameBytes)},
		{Key: "token.max_bytes", Source: "maxTokenBytes", Value: readme.Bytes(maxTokenBytes)},
		{Key: "token.max_revocable_bytes", Source: "maxRevocableTokenBytes", Value: readme.Bytes(maxRevocableTokenBytes)},
		{Key: "token.max_repositories", Source: "MaxTokenRepositories", Value: strconv.Itoa(MaxTokenRepositories)},
		{Key: "reply.max_mint_bytes", Source: "maxMintReplyBytes", Value: readme.Bytes(maxMintReplyBytes)},
		{Key: "reply.max_bytes", Source: "maxReplyBytes", Value: readme.Bytes(maxReplyBytes)},
		{Key: "reply.max_error_bytes", Source: "maxErrorBodyBytes", Value: readme.Bytes(maxErrorBodyBytes)},
		{Key: "reply.max_message_bytes", Source: "maxMessageBytes", Value: readme.Bytes(maxMessageBytes)},
		{Key: "reply.max_nesting", Source: "maxNesting", Value: strconv.Itoa(maxNesting)},
		{Key: "reply.max_object_keys", Source: "maxObjectKeys", Value: strconv.Itoa(maxObjectKeys)},
		{Key: "reply.max_permissions", Source: "maxPermissions", Value: strconv.Itoa(maxPermissions)},
		{Key: "reply.max_salvaged_tokens", Source: "maxSalvagedTokens", Value: strconv.Itoa(maxSalvagedTokens)},
		{Key: "page.max_items", Source: "maxPageItems", Value: strconv.Itoa(maxPageItems)},
		{Key: "page.max_installation_pages", Source: "maxInstallationPages", Value: strconv.Itoa(maxInstallationPages)},
		{Key: "page.max_repository_pages", Source: "maxRepositoryPages", Value: strconv.Itoa(maxRepositoryPages)},
		{Key: "page.repository_fetchers", Source: "pageFetchers", Value: strconv.Itoa(pageFetchers)},
	})
}
