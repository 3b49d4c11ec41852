package githubapp

import (
	"context"
	"fmt"
	"time"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
)

// A pattern role needs its installation's repositories. An installation
// may have tens of thousands: the listing is shared by every request that
// needs it meanwhile, runs detached from them on its own budget (its
// pages several at a time, see ghclient), and its result is cached, so a
// request whose deadline comes first leaves it going for the next one.

const (
	// repositoryListTTL bounds how long a repository created since the
	// listing can be missed by a pattern, for an installation of up to
	// listingPagesPerMinute pages of repositories.
	repositoryListTTL = time.Minute
	// listingPagesPerMinute bounds what listing costs an installation's
	// rate limit (5,000 requests an hour at least, shared with every
	// token of the installation): a list of more pages is kept longer, so
	// that listing again spends at most this many requests a minute.
	listingPagesPerMinute = 10
	// failedListingTTL keeps a failed listing's error, so that a listing
	// which fails expensively (an installation beyond 50,000 repositories,
	// GitHub's pages that never end) costs once, not once per request.
	failedListingTTL = 10 * time.Second
	// repositoryListingTimeout bounds a listing: 50,000 repositories, 500
	// pages fetched 8 at a time, at up to four seconds a page.
	repositoryListingTimeout = 5 * time.Minute
)

// repositoryListLife is how long a list of repos is kept: a minute, or
// longer for a list of more than listingPagesPerMinute pages.
func repositoryListLife(repos []ghclient.Repository) time.Duration {
	pages := (len(repos) + 99) / 100
	return max(repositoryListTTL, time.Duration(pages)*time.Minute/listingPagesPerMinute)
}

// installationRepositories returns an installation's repositories, from
// the cache or a listing; fresh reports a listing made for this request
// (or one it joined).
func (b *backend) installationRepositories(ctx context.Context, app *appClient, installationID int64) (repos []ghclient.Repository, fresh bool, err error) {
	repos, fresh, err = app.repositories.lookup(ctx, installationID, func(ctx context.Context, id int64) ([]ghclient.Repository, error) {
		return b.listRepositories(ctx, app.api, id)
	})
	if err != nil && ctx.Err() != nil {
		return nil, false, fmt.Errorf("this request ended before the listing did; the listing goes on, and a request made once it ends uses its result: %w", err)
	}
	return repos, fresh, err
}

// listRepositories lists an installation's repositories with a token that
// can do nothing else (metadata:read), revoked as soon as the list is read.
func (b *backend) listRepositories(ctx context.Context, client *ghclient.Client, installationID int64) ([]ghclient.Repository, error) {
	tok, err := client.CreateInstallationToken(ctx, installationID, ghclient.TokenRequest{
		Permissions: map[string]string{"metadata": "read"},
	})
	if err != nil {
		return nil, err
	}
	defer client.Discard(tok.Token, installationID, "the metadata:read token that listed the installation's repositories")
	return client.ListInstallationRepositories(ctx, tok.Token)
}
