package ghclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Paging bounds (100 items a page), so that a misbehaving server cannot keep
// a listing going forever: 10,000 installations, 50,000 repositories.
const (
	maxInstallationPages = 100
	maxRepositoryPages   = 500
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
	if token == "" {
		return errors.New("no installation token to revoke")
	}
	r, err := c.newRequest(http.MethodDelete, "/installation/token", nil)
	if err != nil {
		return err
	}
	r.token = token
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
	return collectPages(ctx, c, r, maxInstallationPages, "installations",
		func(page *installationPage) []Installation { return *page })
}

// ListInstallationRepositories returns every repository the installation
// token can reach, following GitHub's Link headers page by page.
func (c *Client) ListInstallationRepositories(ctx context.Context, token string) ([]Repository, error) {
	if token == "" {
		return nil, errors.New("an installation token is required to list its repositories")
	}
	r, err := c.newRequest(http.MethodGet, "/installation/repositories?per_page=100", nil)
	if err != nil {
		return nil, err
	}
	r.token = token
	return collectPages(ctx, c, r, maxRepositoryPages, "repositories",
		func(page *repositoryPage) []Repository { return page.Repositories })
}

// collectPages sends r and follows each reply's rel="next" link, gathering
// the items of every page (at most maxPages).
func collectPages[P, T any](ctx context.Context, c *Client, r *request, maxPages int, what string, items func(*P) []T) ([]T, error) {
	var all []T
	for page := 1; ; page++ {
		var batch P
		header, err := c.do(ctx, r, &batch)
		if err != nil {
			return nil, err
		}
		all = append(all, items(&batch)...)

		next := nextLink(header.Values("Link"))
		if next == "" {
			return all, nil
		}
		if page == maxPages {
			return nil, fmt.Errorf("GitHub lists more than %d pages of %s", maxPages, what)
		}
		if r, err = c.followLink(r, next); err != nil {
			return nil, err
		}
	}
}

// followLink builds the request for a pagination link. The link must stay on
// the API host: the request carries the App's JWT, which must not be handed
// to whatever host a reply names.
func (c *Client) followLink(prev *request, link string) (*request, error) {
	if len(link) > maxBaseURLBytes {
		return nil, fmt.Errorf("refusing a GitHub pagination link of %d bytes", len(link))
	}
	u, err := url.Parse(prev.url)
	if err == nil {
		u, err = u.Parse(link)
	}
	if err != nil {
		return nil, fmt.Errorf("invalid GitHub pagination link: %w", err)
	}
	if u.Scheme != c.base.Scheme || !strings.EqualFold(u.Host, c.base.Host) {
		return nil, fmt.Errorf("refusing to follow GitHub pagination link to %s://%s: not the API host", u.Scheme, u.Host)
	}
	path := strings.TrimPrefix(u.Path, c.base.Path)
	return &request{
		method: prev.method,
		url:    u.String(),
		path:   path,
		route:  routeOf(prev.method, path),
		token:  prev.token,
	}, nil
}

// nextLink returns the rel="next" target of RFC 8288 Link header values, as
// GitHub writes them: <https://…?page=2>; rel="next", <…>; rel="last".
func nextLink(values []string) string {
	for _, v := range values {
		for _, link := range strings.Split(v, ",") {
			target, params, ok := strings.Cut(link, ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for _, param := range strings.Split(params, ";") {
				name, value, _ := strings.Cut(strings.TrimSpace(param), "=")
				if strings.EqualFold(name, "rel") && hasToken(strings.Trim(value, `"`), "next") {
					return target[1 : len(target)-1]
				}
			}
		}
	}
	return ""
}

// hasToken reports whether the space-separated list holds tok.
func hasToken(list, tok string) bool {
	for _, f := range strings.Fields(list) {
		if strings.EqualFold(f, tok) {
			return true
		}
	}
	return false
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
