package githubapp

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
)

func errNotConfigured() *logical.Response {
	return logical.ErrorResponse("the engine is not configured: write the App's app_id (or client_id) and private_key to <mount>/config first")
}

// githubFailure turns a failed GitHub call into what the Vault user sees.
// GitHub's refusals become 400s carrying GitHub's own message (which names
// the refused repository or permission); rate limits become 429s; anything
// else is an internal error for Vault to log.
func githubFailure(cfg *appConfig, action string, err error) (*logical.Response, error) {
	var limited *ghclient.RateLimitError
	if errors.As(err, &limited) {
		return nil, logical.CodedError(http.StatusTooManyRequests, action+": "+limited.Error())
	}
	if ghclient.IsInvalidReply(err) {
		return nil, logical.CodedError(http.StatusBadGateway, fmt.Sprintf(
			"%s: %s; nothing was handed out, and any token the reply carried was revoked", action, err))
	}
	var apiErr *ghclient.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode >= 500 {
		return nil, fmt.Errorf("%s: %w", action, err)
	}
	if apiErr.StatusCode/100 == 3 {
		// GitHub never redirects these endpoints: something in between is
		// misconfigured or hostile, which is no fault of the caller's.
		return nil, logical.CodedError(http.StatusBadGateway, fmt.Sprintf("%s: %s", action, err))
	}
	switch {
	case ghclient.IsKeyMismatch(err):
		return logical.ErrorResponse("%s: GitHub refused the App's JWT: the private key does not belong to app %s (GitHub: %q). Check app_id/client_id and private_key in <mount>/config",
			action, cfg.issuer(), apiErr.Message), nil
	case ghclient.IsUnknownApp(err):
		return logical.ErrorResponse("%s: GitHub knows no App %s (GitHub: %q). Check app_id/client_id in <mount>/config", action, cfg.issuer(), apiErr.Message), nil
	default:
		return logical.ErrorResponse("%s: GitHub answered %d: %s", action, apiErr.StatusCode, apiErr.Message), nil
	}
}

// githubStatus is the HTTP status of GitHub's answer, or 0 when err is not
// one.
func githubStatus(err error) int {
	var apiErr *ghclient.APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}

// installationGone reports whether GitHub's answer means the installation
// an owner resolved to no longer serves tokens, so the lookup is redone.
func installationGone(err error) bool {
	status := githubStatus(err)
	return status == http.StatusNotFound || status == http.StatusForbidden
}

// repositoryRefused reports GitHub's 422 for a repository that does not
// exist or the installation cannot reach, as opposed to one for
// permissions.
func repositoryRefused(err error) bool {
	var apiErr *ghclient.APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnprocessableEntity &&
		strings.Contains(strings.ToLower(apiErr.Message), "repositor")
}
