package githubapp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

const (
	roleStoragePrefix = "roles/"

	fieldName           = "name"
	fieldInstallationID = "installation_id"
	fieldOwner          = "owner"
	fieldTTL            = "ttl"

	// maxTokenTTL is the life of a GitHub installation token; a lease
	// cannot usefully outlive it.
	maxTokenTTL = time.Hour
)

var (
	roleNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
	// GitHub logins are letters, digits and '-'; Enterprise Managed Users
	// add '_' and a short code.
	ownerPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$`)
)

// role maps a name to one installation (by ID or by the account it is
// installed on) and the scope of the tokens minted for it.
type role struct {
	InstallationID int64  `json:"installation_id,omitempty"`
	Owner          string `json:"owner,omitempty"`
	scope
	TTL time.Duration `json:"ttl,omitempty"`
}

func pathRoles(b *backend) []*framework.Path {
	roleFields := map[string]*framework.FieldSchema{
		fieldName: {
			Type:        framework.TypeString,
			Description: "Name of the role: letters, digits, '-', '_' and '.'.",
			Required:    true,
		},
		fieldInstallationID: {
			Type:        framework.TypeInt64,
			Description: "ID of the App installation the role mints tokens for. Exactly one of installation_id or owner is required; setting one on update replaces the other.",
		},
		fieldOwner: {
			Type:        framework.TypeString,
			Description: "Login of the organization or user the App is installed on; resolved to the installation through GitHub (case-insensitive). May be a Vault identity template, such as {{identity.entity.aliases.<accessor>.metadata.repository_owner}}, resolved for each caller. Exactly one of installation_id or owner is required.",
		},
		fieldTTL: {
			Type:        framework.TypeDurationSecond,
			Description: "Lease TTL of the role's tokens, at most 1h. Defaults to the token's remaining life (about 1h); the lease never outlives the token.",
		},
	}
	maps.Copy(roleFields, scopeFields(roleScope, "the role's tokens may reach; none means every repository of the installation (permissions: every permission granted to it)"))

	return []*framework.Path{
		{
			Pattern: "roles/?$",
			DisplayAttrs: &framework.DisplayAttributes{
				OperationPrefix: operationPrefix,
				OperationSuffix: "roles",
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ListOperation: &framework.PathOperation{
					Callback: b.pathRolesList,
				},
			},
			HelpSynopsis:    "List the configured roles.",
			HelpDescription: "Lists the names of all roles. Read roles/<name> for a role's installation and scope.",
		},
		{
			Pattern: "roles/(?P<name>.+)",
			DisplayAttrs: &framework.DisplayAttributes{
				OperationPrefix: operationPrefix,
				OperationSuffix: "role",
			},
			Fields:         roleFields,
			ExistenceCheck: b.pathRoleExists,
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.CreateOperation: &framework.PathOperation{Callback: b.pathRoleWrite},
				logical.UpdateOperation: &framework.PathOperation{Callback: b.pathRoleWrite},
				logical.ReadOperation:   &framework.PathOperation{Callback: b.pathRoleRead},
				logical.DeleteOperation: &framework.PathOperation{Callback: b.pathRoleDelete},
			},
			HelpSynopsis:    "Manage a role: an installation and the scope of the tokens minted for it.",
			HelpDescription: pathRoleHelp,
		},
	}
}

const pathRoleHelp = `
A role names one installation of the App, either by installation_id or by
owner (the organization or user account it is installed on), and limits the
tokens minted for it to some repositories and permissions. Reading
token/<name> mints a token with exactly that scope; a Vault policy on
token/<name> decides who may.

Writes are partial: fields left out keep their values. Send an empty value
(repositories="") to clear a list.

Example:
  vault write github/roles/ci owner=acme repositories=api,web \
      permissions=contents=read permissions=pull_requests=write ttl=30m
`

func (b *backend) pathRolesList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	names, err := req.Storage.List(ctx, roleStoragePrefix)
	if err != nil {
		return nil, err
	}
	return logical.ListResponse(names), nil
}

func (b *backend) pathRoleExists(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
	r, err := b.getRole(ctx, req.Storage, d.Get(fieldName).(string))
	return r != nil, err
}

func (b *backend) pathRoleRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.Get(fieldName).(string)
	r, err := b.getRole(ctx, req.Storage, name)
	if err != nil || r == nil {
		return nil, err
	}
	return &logical.Response{Data: r.toResponseData()}, nil
}

func (r *role) toResponseData() map[string]any {
	data := map[string]any{
		fieldRepositories:  nonNil(r.Repositories),
		fieldRepositoryIDs: nonNil(r.RepositoryIDs),
		fieldPermissions:   r.Permissions,
		fieldTTL:           int64(r.TTL.Seconds()),
	}
	if r.Permissions == nil {
		data[fieldPermissions] = map[string]string{}
	}
	if r.Owner != "" {
		data[fieldOwner] = r.Owner
	} else {
		data[fieldInstallationID] = r.InstallationID
	}
	return data
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (b *backend) pathRoleWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.Get(fieldName).(string)

	// Serialise read-modify-write so that concurrent partial updates of one
	// role cannot lose fields, and the cache never holds an older version
	// than storage.
	b.lock.Lock()
	defer b.lock.Unlock()

	stored, err := b.loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	r, warnings, err := mergeRole(stored, d)
	if err != nil {
		return logical.ErrorResponse(err.Error()), nil
	}
	c, err := readCeiling(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if err := c.checkRole(r.reach()); err != nil {
		return logical.ErrorResponse("%s; the ceiling is the mount's config (vault read <mount>/config shows it)", err), nil
	}
	entry, err := logical.StorageEntryJSON(roleStoragePrefix+name, r)
	if err != nil {
		return nil, err
	}
	if err := req.Storage.Put(ctx, entry); err != nil {
		return nil, err
	}
	b.roles[name] = r

	if len(warnings) == 0 {
		return nil, nil
	}
	return &logical.Response{Warnings: warnings}, nil
}

// mergeRole applies a partial update to the stored role (nil for a new one)
// and validates the result; the stored role is left untouched.
func mergeRole(stored *role, d *framework.FieldData) (*role, []string, error) {
	r := &role{}
	if stored != nil {
		copied := *stored
		r = &copied
	}

	if err := mergeInstallation(r, d); err != nil {
		return nil, nil, err
	}
	in, warnings, err := readScope(d, roleScope)
	if err != nil {
		return nil, nil, err
	}
	if in.hasRepositories {
		r.Repositories = in.Repositories
	}
	if in.hasRepositoryIDs {
		r.RepositoryIDs = in.RepositoryIDs
	}
	if err := checkRepositoryCount(r.scope); err != nil {
		return nil, nil, fmt.Errorf("after this update, %w", err)
	}
	if in.hasPermissions {
		r.Permissions = in.Permissions
	}
	if raw, ok := d.GetOk(fieldTTL); ok {
		ttl := time.Duration(raw.(int)) * time.Second
		if ttl <= 0 || ttl > maxTokenTTL {
			return nil, nil, fmt.Errorf("ttl must be more than 0 and at most 1h (GitHub tokens expire after an hour); got %s. Leave it out to use the token's own life", ttl)
		}
		r.TTL = ttl
	}
	return r, warnings, nil
}

// mergeInstallation sets the role's installation from installation_id or
// owner, of which a role has exactly one.
func mergeInstallation(r *role, d *framework.FieldData) error {
	rawID, hasID := d.GetOk(fieldInstallationID)
	rawOwner, hasOwner := d.GetOk(fieldOwner)
	switch {
	case hasID && hasOwner:
		return errors.New("set exactly one of installation_id or owner, not both")
	case hasID:
		id := rawID.(int64)
		if id <= 0 {
			return fmt.Errorf("installation_id must be a positive integer; got %d (list the App's installations with: vault list <mount>/installations)", id)
		}
		r.InstallationID, r.Owner = id, ""
	case hasOwner:
		owner := strings.TrimSpace(rawOwner.(string))
		if err := checkOwner(owner); err != nil {
			return err
		}
		r.Owner, r.InstallationID = owner, 0
	}
	if r.InstallationID == 0 && r.Owner == "" {
		return errors.New("one of installation_id or owner is required: it names the installation the role mints tokens for")
	}
	return nil
}

func (b *backend) pathRoleDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.Get(fieldName).(string)
	b.lock.Lock()
	defer b.lock.Unlock()
	if err := req.Storage.Delete(ctx, roleStoragePrefix+name); err != nil {
		return nil, err
	}
	delete(b.roles, name)
	return nil, nil
}

// checkOwner accepts a GitHub login or an identity template that yields one
// at mint time.
func checkOwner(owner string) error {
	if isTemplate(owner) {
		return validateTemplate(fieldOwner, owner)
	}
	if !ownerPattern.MatchString(owner) {
		return fmt.Errorf("owner must be a GitHub organization or user login (letters, digits, '-' and '_'), or an identity template; got %s", quoteInput(owner))
	}
	return nil
}

func validateRoleName(name string) error {
	if !roleNamePattern.MatchString(name) || name == "." || name == ".." {
		return fmt.Errorf("role name %s is invalid: use 1 to 128 letters, digits, '-', '_' and '.' (not '.' or '..' alone)", quoteInput(name))
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

func (b *backend) forgetRole(name string) {
	b.lock.Lock()
	delete(b.roles, name)
	b.lock.Unlock()
}
