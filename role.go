package githubapp

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/quote"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/scope"
)

const (
	roleStoragePrefix = "roles/"

	// maxTokenTTL is the life of a GitHub installation token; a lease
	// cannot usefully outlive it.
	maxTokenTTL = time.Hour
)

var roleNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// role maps a name to one installation (by ID, or by the account or
// enterprise it is installed on) and the scope of the tokens minted for it. Its JSON form
// is how roles are stored: the field names are a storage format.
type role struct {
	InstallationID int64  `json:"installation_id,omitempty"`
	Owner          string `json:"owner,omitempty"`
	// Enterprise is the slug of an enterprise the App is installed on.
	Enterprise    string            `json:"enterprise,omitempty"`
	Repositories  []string          `json:"repositories,omitempty"`
	RepositoryIDs []int64           `json:"repository_ids,omitempty"`
	Permissions   map[string]string `json:"permissions,omitempty"`
	TTL           time.Duration     `json:"ttl,omitempty"`
}

func (r *role) scope() scope.Scope {
	return scope.Scope{Repositories: r.Repositories, RepositoryIDs: r.RepositoryIDs, Permissions: r.Permissions}
}

func (r *role) setScope(s scope.Scope) {
	r.Repositories, r.RepositoryIDs, r.Permissions = s.Repositories, s.RepositoryIDs, s.Permissions
}

// target is a role resolved for one caller: its templates filled in.
type target struct {
	installationID int64
	owner          string
	enterprise     string
	scope          scope.Scope // repositories: names and glob patterns
}

// resolve fills the role's templates in for the caller whose entity is
// entityID. A template that cannot be resolved is a *scopeError (a 400).
func (r *role) resolve(sys logical.SystemView, entityID string) (target, error) {
	t := target{installationID: r.InstallationID, owner: r.Owner, enterprise: r.Enterprise, scope: r.scope()}
	if !scope.HasTemplates(r.Owner, t.scope) {
		return t, nil
	}
	id, err := callerIdentity(sys, entityID)
	if err != nil {
		return t, err
	}
	if t.owner, t.scope, err = scope.ResolveTemplates(r.Owner, t.scope, id); err != nil {
		return t, &scopeError{err}
	}
	return t, nil
}

// callerIdentity fetches the request's entity and its groups, which only a
// role with templates needs.
func callerIdentity(sys logical.SystemView, entityID string) (*scope.Identity, error) {
	if entityID == "" {
		return &scope.Identity{}, nil
	}
	entity, err := sys.EntityInfo(entityID)
	if err != nil {
		return nil, fmt.Errorf("looking up the caller's entity: %w", err)
	}
	groups, err := sys.GroupsForEntity(entityID)
	if err != nil {
		return nil, fmt.Errorf("looking up the caller's groups: %w", err)
	}
	return &scope.Identity{EntityID: entityID, Entity: entity, Groups: groups}, nil
}

func validateRoleName(name string) error {
	if !roleNamePattern.MatchString(name) || name == "." || name == ".." {
		return fmt.Errorf("role name %s is invalid: use 1 to 128 letters, digits, '-', '_' and '.' (not '.' or '..' alone)", quote.Input(name))
	}
	return nil
}

// getRole returns the named role from the cache or storage; nil when it
// does not exist.
func (b *backend) getRole(ctx context.Context, s logical.Storage, name string) (*role, error) {
	b.lock.RLock()
	r, ok := b.roles[name]
	b.lock.RUnlock()
	if ok {
		return r, nil
	}
	b.lock.Lock()
	defer b.lock.Unlock()
	return b.loadRole(ctx, s, name)
}

// loadRole reads a role through the cache; b.lock must be held for writing.
func (b *backend) loadRole(ctx context.Context, s logical.Storage, name string) (*role, error) {
	if r, ok := b.roles[name]; ok {
		return r, nil
	}
	entry, err := s.Get(ctx, roleStoragePrefix+name)
	if err != nil || entry == nil {
		return nil, err
	}
	r := new(role)
	if err := entry.DecodeJSON(r); err != nil {
		return nil, fmt.Errorf("decoding role %q: %w", name, err)
	}
	b.roles[name] = r
	return r, nil
}

// rolesWhere returns the names of the stored roles for which match is
// true; b.lock must be held for writing.
func (b *backend) rolesWhere(ctx context.Context, s logical.Storage, match func(*role) bool) ([]string, error) {
	names, err := s.List(ctx, roleStoragePrefix)
	if err != nil {
		return nil, err
	}
	var matched []string
	for _, name := range names {
		r, err := b.loadRole(ctx, s, name)
		if err != nil {
			return nil, err
		}
		if r != nil && match(r) {
			matched = append(matched, name)
		}
	}
	return matched, nil
}

func (b *backend) forgetRole(name string) {
	b.lock.Lock()
	delete(b.roles, name)
	b.lock.Unlock()
}
