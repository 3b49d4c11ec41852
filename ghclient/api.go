package ghclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// CreateInstallationToken mints an installation access token. The token is
// checked against req: a reply that is malformed, already expired by
// GitHub's clock, or wider than req is an InvalidReplyError, and its token
// is revoked. Once sent, the request completes even if ctx ends meanwhile,
// and the token is returned: the caller, who knows whether anyone will
// receive it, revokes it if not.
//
// The call is retried on 5xx answers and connection failures even though it
// is a POST: if GitHub did mint a token before failing, that token is never
// seen by anyone, grants nothing beyond what was asked for, and expires
// within the hour, whereas failing the caller's request outright is worse.
func (c *Client) CreateInstallationToken(ctx context.Context, installationID int64, req TokenRequest) (*InstallationToken, error) {
	if installationID <= 0 {
		return nil, fmt.Errorf("invalid installation ID %d", installationID)
	}
	r, err := c.newRequest(http.MethodPost, fmt.Sprintf("/app/installations/%d/access_tokens", installationID), req)
	if err != nil {
		return nil, err
	}
	r.completeOnceSent = true
	r.maxBody = maxMintReplyBytes
	r.header = c.mintHeader
	var reply mintReply
	header, err := c.do(ctx, r, &reply)
	if err != nil {
		for _, token := range reply.tokens {
			c.Discard(token, installationID, "a token GitHub sent in a reply that could not be read or decoded")
		}
		if reply.moreTokens {
			c.logger.Warn(fmt.Sprintf("a reply that could not be decoded named more than %d tokens; only those were revoked (GitHub sends one)", maxSalvagedTokens),
				"installation_id", installationID)
		}
		return nil, err
	}
	tok := reply.InstallationToken
	tok.ServerDate = c.serverTime(header)
	if reason := tok.check(req); reason != "" {
		c.Discard(tok.Token, installationID, "a token GitHub sent in a refused reply ("+reason+")")
		return nil, &InvalidReplyError{Method: r.method, Path: r.path, Reason: reason}
	}
	return &tok, nil
}

// RevokeInstallationToken revokes an installation token, authenticating with
// the token itself. A token that GitHub no longer knows (401, or 404) has
// already been revoked or has expired, so that counts as success.
func (c *Client) RevokeInstallationToken(ctx context.Context, token string) error {
	return c.revoke(ctx, token, false)
}

// TryRevokeInstallationToken is RevokeInstallationToken in a single
// attempt, never retried nor waiting out a rate limit: for a caller that
// tries again on its own schedule, and must not spend it on one token.
func (c *Client) TryRevokeInstallationToken(ctx context.Context, token string) error {
	return c.revoke(ctx, token, true)
}

func (c *Client) revoke(ctx context.Context, token string, once bool) error {
	if token == "" {
		return errors.New("no installation token to revoke")
	}
	r, err := c.newRequest(http.MethodDelete, "/installation/token", nil)
	if err != nil {
		return err
	}
	r.token, r.once = token, once
	_, err = c.do(ctx, r, nil)
	if IsUnauthorized(err) || IsNotFound(err) {
		return nil
	}
	return err
}

// FindInstallationByOwner returns the App's installation on a user or
// organization account.
func (c *Client) FindInstallationByOwner(ctx context.Context, owner string) (*Installation, error) {
	if owner == "" {
		return nil, errors.New("owner is required")
	}
	owner = url.PathEscape(owner)
	inst, err := c.getInstallation(ctx, "/orgs/"+owner+"/installation")
	if IsNotFound(err) {
		// Not an organization, or the App is not installed there; the users
		// endpoint covers user accounts.
		return c.getInstallation(ctx, "/users/"+owner+"/installation")
	}
	return inst, err
}

// FindInstallationByEnterprise returns the App's installation on an
// enterprise, by the enterprise's slug (GitHub Enterprise Cloud).
func (c *Client) FindInstallationByEnterprise(ctx context.Context, enterprise string) (*Installation, error) {
	if enterprise == "" {
		return nil, errors.New("enterprise is required")
	}
	return c.getInstallation(ctx, "/enterprises/"+url.PathEscape(enterprise)+"/installation")
}

// getInstallation reads one installation (Installation.decodeBody refuses
// one without an ID).
func (c *Client) getInstallation(ctx context.Context, path string) (*Installation, error) {
	return call[Installation](ctx, c, http.MethodGet, path, nil)
}

// ListInstallations returns all of the App's installations, following
// GitHub's Link headers page by page.
func (c *Client) ListInstallations(ctx context.Context) ([]Installation, error) {
	r, err := c.newRequest(http.MethodGet, "/app/installations?per_page=100", nil)
	if err != nil {
		return nil, err
	}
	return collectPages(ctx, c, r, maxInstallationPages, 1, "installations",
		func(page *installationPage) []Installation { return *page })
}

// ListInstallationRepositories returns every repository the installation
// token can reach, following GitHub's Link headers, several pages at a
// time (see collectPages): an installation may have tens of thousands.
func (c *Client) ListInstallationRepositories(ctx context.Context, token string) ([]Repository, error) {
	if token == "" {
		return nil, errors.New("an installation token is required to list its repositories")
	}
	r, err := c.newRequest(http.MethodGet, "/installation/repositories?per_page=100", nil)
	if err != nil {
		return nil, err
	}
	r.token = token
	return collectPages(ctx, c, r, maxRepositoryPages, pageFetchers, "repositories",
		func(page *repositoryPage) []Repository { return page.Repositories })
}

// call sends a request without pagination and decodes its reply into a T.
func call[T any](ctx context.Context, c *Client, method, path string, body any) (*T, error) {
	r, err := c.newRequest(method, path, body)
	if err != nil {
		return nil, err
	}
	var out T
	if _, err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
