package ghclient

import "time"

// MaxTokenRepositories is GitHub's limit on the repositories one token
// request may name (repositories and repository_ids together); a reply
// listing more was not asked for.
const MaxTokenRepositories = 500

// TokenRequest narrows an installation token. Empty fields mean "everything
// the installation has"; GitHub answers 422 when asked for more than that.
type TokenRequest struct {
	Repositories  []string          `json:"repositories,omitempty"`
	RepositoryIDs []int64           `json:"repository_ids,omitempty"`
	Permissions   map[string]string `json:"permissions,omitempty"`
}

// InstallationToken is a minted installation access token.
type InstallationToken struct {
	Token               string            `json:"token"`
	ExpiresAt           time.Time         `json:"expires_at"`
	Permissions         map[string]string `json:"permissions"`
	RepositorySelection string            `json:"repository_selection"`
	Repositories        []Repository      `json:"repositories"`

	// ServerDate is GitHub's clock when it answered (its Date header). The
	// token's life is ExpiresAt minus ServerDate: comparing ExpiresAt with
	// the local clock would stretch or cut it by the clocks' skew.
	ServerDate time.Time `json:"-"`
}

// Lifetime is how long the token lives, measured on GitHub's clock.
func (t *InstallationToken) Lifetime() time.Duration {
	return t.ExpiresAt.Sub(t.ServerDate)
}

// Repository holds only the identifying fields of a repository. GitHub sends
// about 6 KB per repository in a token reply; everything else is dropped
// while decoding so that it is never retained.
type Repository struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	FullName string `json:"full_name"`
}

// Installation is an installation of the App on an account.
type Installation struct {
	ID                  int64             `json:"id"`
	AppID               int64             `json:"app_id"`
	Account             Account           `json:"account"`
	TargetType          string            `json:"target_type"`
	RepositorySelection string            `json:"repository_selection"`
	Permissions         map[string]string `json:"permissions"`
	SuspendedAt         *time.Time        `json:"suspended_at"`
}

// Account is the user, organization or enterprise an installation belongs
// to. An enterprise has a slug where the others have a login and a type
// (the installation's TargetType says "Enterprise").
type Account struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
	Type  string `json:"type"`
	Slug  string `json:"slug"`
}
