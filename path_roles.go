package githubapp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/quote"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/scope"
)

const (
	fieldName           = "name"
	fieldInstallationID = "installation_id"
	fieldOwner          = "owner"
	fieldEnterprise     = "enterprise"
	fieldTTL            = "ttl"
)

// pathRoleList lists the roles.
func pathRoleList(b *backend) *framework.Path {
	return &framework.Path{
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
	}
}

// pathRole manages one role.
func pathRole(b *backend) *framework.Path {
	roleFields := map[string]*framework.FieldSchema{
		fieldName: {
			Type:        framework.TypeString,
			Description: "Name of the role: letters, digits, '-', '_' and '.'.",
			Required:    true,
		},
		fieldInstallationID: {
			Type:        framework.TypeString,
			Description: `ID of the App installation the role mints tokens for, as a string of digits ("12345"). Exactly one of installation_id, owner or enterprise is required; setting one on update replaces the others.`,
		},
		fieldOwner: {
			Type:        framework.TypeString,
			Description: "Login of the organization or user the App is installed on, spelled as GitHub spells it; resolved to the installation through GitHub. May be a Vault identity template, such as {{identity.entity.aliases.<accessor>.metadata.repository_owner}}, resolved for each caller. Exactly one of installation_id, owner or enterprise is required.",
		},
		fieldEnterprise: {
			Type:        framework.TypeString,
			Description: "Slug of the enterprise the App is installed on (GitHub Enterprise Cloud), spelled as GitHub spells it; resolved to the installation through GitHub. Such an installation has enterprise permissions only (enterprise_*) and no repositories. Exclusive with installation_id and owner.",
		},
		fieldTTL: {
			Type:        framework.TypeDurationSecond,
			Description: "Lease TTL of the role's tokens, at most 1h. Defaults to the token's remaining life (about 1h); the lease never outlives the token.",
		},
	}
	maps.Copy(roleFields, scopeFields(roleScopeFields))

	return &framework.Path{
		Pattern: "roles/(?P<name>.+)",
		DisplayAttrs: &framework.DisplayAttributes{
			OperationPrefix: operationPrefix,
			OperationSuffix: "role",
		},
		Fields:         roleFields,
		ExistenceCheck: b.pathRoleExists,
		// Writes go to the active server; a standby's storage is
		// read-only (system_view.go).
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.CreateOperation: &framework.PathOperation{Callback: b.pathRoleWrite, ForwardPerformanceStandby: true},
			logical.UpdateOperation: &framework.PathOperation{Callback: b.pathRoleWrite, ForwardPerformanceStandby: true},
			logical.ReadOperation:   &framework.PathOperation{Callback: b.pathRoleRead},
			logical.DeleteOperation: &framework.PathOperation{Callback: b.pathRoleDelete, ForwardPerformanceStandby: true},
		},
		HelpSynopsis:    "Manage a role: an installation and the scope of the tokens minted for it.",
		HelpDescription: pathRoleHelp,
	}
}

// roleWriteParser checks a role write's scope and installation fields as
// Vault's ACL compared them, before the SDK converts anything.
var roleWriteParser = rawParser{
	fields: append([]string{fieldInstallationID, fieldOwner, fieldEnterprise}, scope.Fields...),
	check: func(_ logical.Operation, data map[string]any) error {
		d := &framework.FieldData{Raw: data}
		if err := mergeInstallation(&role{InstallationID: 1}, d); err != nil {
			return err
		}
		_, err := scope.ParseRoleUpdate(data)
		return err
	},
}

const pathRoleHelp = `
A role names one installation of the App, by installation_id, by owner (the
organization or user account it is installed on) or by enterprise (the slug
of an enterprise it is installed on), and limits the tokens minted for it to
some repositories and permissions. Reading token/<name> mints a token with
exactly that scope; a Vault policy on token/<name> decides who may.

Writes are partial: fields left out keep their values. A list is sent by
repeating the field (repositories=api repositories=web) or as a JSON array;
a string names one item. repositories=* gives the role every repository of
the installation and permissions=* every permission granted to it: widening
a role is a value a Vault policy can allow or deny, never an empty one.

Example:
  vault write github/roles/ci owner=acme repositories=api repositories=web \
      permissions=contents=read permissions=pull_requests=write ttl=30m
  vault write github/roles/enterprise-admin enterprise=octo-business \
      permissions=enterprise_organization_installations=write
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
	switch {
	case r.Enterprise != "":
		data[fieldEnterprise] = r.Enterprise
	case r.Owner != "":
		data[fieldOwner] = r.Owner
	default:
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
	// Permissions the products at base_url do not accept (permission_products.go).
	productWarnings, err := rolePermissionWarnings(ctx, req.Storage, r)
	if err != nil {
		return nil, err
	}
	warnings = append(warnings, productWarnings...)
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
	update, err := scope.ParseRoleUpdate(d.Raw)
	if err != nil {
		return nil, nil, err
	}
	merged, err := update.Apply(r.scope())
	if err != nil {
		return nil, nil, err
	}
	r.setScope(merged)
	if raw, ok := d.GetOk(fieldTTL); ok {
		ttl := time.Duration(raw.(int)) * time.Second
		if ttl <= 0 || ttl > maxTokenTTL {
			return nil, nil, fmt.Errorf("ttl must be more than 0 and at most 1h (GitHub tokens expire after an hour); got %s. Leave it out to use the token's own life", ttl)
		}
		r.TTL = ttl
	}
	return r, update.Warnings(), nil
}

// mergeInstallation sets the role's installation from installation_id,
// owner or enterprise, of which a role has exactly one. Each is used as
// written, as a Vault policy on roles/<name> compared it.
func mergeInstallation(r *role, d *framework.FieldData) error {
	rawID, hasID := d.Raw[fieldInstallationID]
	rawOwner, hasOwner := d.Raw[fieldOwner]
	rawEnterprise, hasEnterprise := d.Raw[fieldEnterprise]
	switch {
	case hasID && hasOwner:
		return errors.New("set exactly one of installation_id or owner, not both")
	case hasEnterprise && (hasID || hasOwner):
		return errors.New("enterprise names the installation by itself: set exactly one of installation_id, owner or enterprise")
	case hasID:
		id, err := parseInstallationID(rawID)
		if err != nil {
			return err
		}
		r.InstallationID, r.Owner, r.Enterprise = id, "", ""
	case hasOwner:
		owner, ok := rawOwner.(string)
		if !ok {
			return notAString(fieldOwner, rawOwner)
		}
		if err := scope.CheckOwner(owner); err != nil {
			return err
		}
		r.Owner, r.InstallationID, r.Enterprise = owner, 0, ""
	case hasEnterprise:
		enterprise, ok := rawEnterprise.(string)
		if !ok {
			return notAString(fieldEnterprise, rawEnterprise)
		}
		if !scope.IsLogin(enterprise) {
			return fmt.Errorf("enterprise must be the slug of a GitHub enterprise (letters, digits, '-' and '_', as in https://github.com/enterprises/<slug>); got %s", quote.Input(enterprise))
		}
		r.Enterprise, r.InstallationID, r.Owner = enterprise, 0, ""
	}
	if r.InstallationID == 0 && r.Owner == "" && r.Enterprise == "" {
		return errors.New("one of installation_id or owner (or enterprise) is required: it names the installation the role mints tokens for")
	}
	return nil
}

// notAString refuses a value that is not one string, which Vault's
// policy checks compare otherwise (a list element by element, a number
// with nothing).
func notAString(field string, value any) error {
	return fmt.Errorf("%s must be a string; got %s", field, describeValue(value, false))
}

// parseInstallationID reads an installation ID written as Vault's ACL
// compares it: a string of decimal digits. A JSON number is never compared
// with a policy's values, so denied_parameters would not see it; "007"
// would pass a policy denying "7".
func parseInstallationID(raw any) (int64, error) {
	s, ok := raw.(string)
	id, err := strconv.ParseInt(s, 10, 64)
	if !ok || err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, errors.New(`installation_id must be a positive integer written as a string of decimal digits with no sign or leading zero, e.g. "12345" ` +
			"(Vault's policy checks compare strings); list the App's installations with: vault list <mount>/installations")
	}
	return id, nil
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
