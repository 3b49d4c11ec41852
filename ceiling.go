package githubapp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/quote"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/scope"
)

// A mount's ceiling is the most any of its roles may reach, set in the
// config by whoever may write it (a platform team) and enforced on every
// role write and every mint, whoever wrote the role: so a team allowed to
// write its own roles cannot give them administration=write or another
// organization's installation.

const (
	fieldMaxPermissions         = "max_permissions"
	fieldAllowedOwners          = "allowed_owners"
	fieldAllowedInstallationIDs = "allowed_installation_ids"
	fieldRequireExplicitScope   = "require_explicit_scope"
)

// ceiling is the config's limit on roles. The zero value limits nothing,
// which is what a mount configured before ceilings existed has.
type ceiling struct {
	// MaxPermissions is the highest level of each permission a token may
	// carry; a permission it does not name is never granted. Empty: no
	// limit.
	MaxPermissions map[string]string `json:"max_permissions,omitempty"`
	// AllowedOwners and AllowedInstallationIDs are the installations roles
	// may target: a role by owner must name one of AllowedOwners (compared
	// case-insensitively, as GitHub compares logins), a role by
	// installation_id or by enterprise (once resolved) one of
	// AllowedInstallationIDs. Both empty: any.
	AllowedOwners          []string `json:"allowed_owners,omitempty"`
	AllowedInstallationIDs []int64  `json:"allowed_installation_ids,omitempty"`
	// RequireExplicitScope refuses a role that names no repositories or no
	// permissions, which would otherwise reach every one the installation
	// has.
	RequireExplicitScope bool `json:"require_explicit_scope,omitempty"`
}

// reach is what a role, or one token about to be minted, would reach, in
// plain values: repositories as the role holds them (names, patterns,
// templates), the owner as a login, a template (in a role only) or "" for
// a role by installation_id or enterprise. An enterprise role's
// InstallationID is 0 until GitHub has resolved its slug.
type reach struct {
	Permissions    map[string]string
	Repositories   []string
	RepositoryIDs  []int64
	Owner          string
	Enterprise     string
	InstallationID int64
}

// checkRole reports the first way a role is beyond the ceiling. An owner
// template is checked once it is resolved, at mint (clampOrRefuse), unless
// the ceiling allows no owner at all.
func (c ceiling) checkRole(r reach) error {
	if !scope.IsTemplate(r.Owner) || len(c.AllowedOwners) == 0 {
		if err := c.checkTarget(r); err != nil {
			return err
		}
	}
	if err := c.checkExplicit(r); err != nil {
		return err
	}
	return c.checkPermissions(r.Permissions)
}

// clampOrRefuse checks what a token is about to be minted with, its
// templates resolved and its narrowing applied, and returns the
// permissions to ask GitHub for. Permissions left empty would get every
// permission of the installation; under max_permissions they become the
// ceiling's own, which GitHub then grants exactly.
func (c ceiling) clampOrRefuse(r reach) (map[string]string, error) {
	if err := c.checkTarget(r); err != nil {
		return nil, err
	}
	if err := c.checkExplicit(r); err != nil {
		return nil, err
	}
	if err := c.checkPermissions(r.Permissions); err != nil {
		return nil, err
	}
	if len(r.Permissions) == 0 && len(c.MaxPermissions) > 0 {
		return maps.Clone(c.MaxPermissions), nil
	}
	return r.Permissions, nil
}

// limitsTargets reports whether the ceiling names the installations roles
// may target.
func (c ceiling) limitsTargets() bool {
	return len(c.AllowedOwners) > 0 || len(c.AllowedInstallationIDs) > 0
}

func (c ceiling) checkTarget(r reach) error {
	switch {
	case !c.limitsTargets():
		return nil
	case r.Enterprise != "":
		return c.checkEnterprise(r.Enterprise, r.InstallationID)
	case r.Owner != "":
		if slices.ContainsFunc(c.AllowedOwners, func(allowed string) bool { return strings.EqualFold(allowed, r.Owner) }) {
			return nil
		}
		return fmt.Errorf("owner %s is beyond the mount's ceiling: %s; %s", quote.Input(r.Owner), c.describeOwners(), c.describeInstallationIDs())
	case slices.Contains(c.AllowedInstallationIDs, r.InstallationID):
		return nil
	}
	return fmt.Errorf("installation_id %d is beyond the mount's ceiling: %s; %s", r.InstallationID, c.describeInstallationIDs(), c.describeOwners())
}

// checkEnterprise checks an enterprise role, which names its installation
// by the enterprise's slug: the ceiling allows it by the installation's
// ID, known once GitHub has resolved the slug (0 before, when only a
// ceiling that names no installation ID can refuse it).
func (c ceiling) checkEnterprise(slug string, installationID int64) error {
	if len(c.AllowedInstallationIDs) > 0 && (installationID == 0 || slices.Contains(c.AllowedInstallationIDs, installationID)) {
		return nil
	}
	what := "enterprise " + quote.Input(slug)
	if installationID != 0 {
		what += fmt.Sprintf(" (installation %d)", installationID)
	}
	allowed := fieldAllowedInstallationIDs + " names none"
	if len(c.AllowedInstallationIDs) > 0 {
		allowed = fieldAllowedInstallationIDs + " is " + quote.List(c.AllowedInstallationIDs)
	}
	return fmt.Errorf("%s is beyond the mount's ceiling: an enterprise's installation is allowed by its ID, and %s: add the ID there (vault list <mount>/installations shows it)",
		what, allowed)
}

func (c ceiling) describeOwners() string {
	if len(c.AllowedOwners) == 0 {
		return fieldAllowedOwners + " names none, so no role may name its installation by owner"
	}
	return fieldAllowedOwners + " is " + quote.List(c.AllowedOwners)
}

func (c ceiling) describeInstallationIDs() string {
	if len(c.AllowedInstallationIDs) == 0 {
		return fieldAllowedInstallationIDs + " names none, so no role may name its installation by installation_id"
	}
	return fieldAllowedInstallationIDs + " is " + quote.List(c.AllowedInstallationIDs)
}

func (c ceiling) checkExplicit(r reach) error {
	switch {
	case !c.RequireExplicitScope:
		return nil
	case len(r.Permissions) == 0:
		return fmt.Errorf("no permissions are named, which would mean every permission of the installation, and the mount's ceiling has %s=true: name them, e.g. permissions=contents=read",
			fieldRequireExplicitScope)
	case len(r.Repositories) == 0 && len(r.RepositoryIDs) == 0 && r.Enterprise == "":
		// An enterprise's installation has no repositories to name.
		return fmt.Errorf("no repositories are named, which would mean every repository of the installation, and the mount's ceiling has %s=true: name them or a pattern, e.g. repositories=api or repositories=team-a-*",
			fieldRequireExplicitScope)
	}
	return nil
}

func (c ceiling) checkPermissions(perms map[string]string) error {
	if len(c.MaxPermissions) == 0 {
		return nil
	}
	name, named := scope.FirstBeyond(c.MaxPermissions, perms)
	switch {
	case name == "":
		return nil
	case !named:
		return fmt.Errorf("permissions: %s=%s is beyond the mount's ceiling: %s (%s) does not name %q",
			name, perms[name], fieldMaxPermissions, scope.DescribePermissions(c.MaxPermissions), name)
	}
	return fmt.Errorf("permissions: %s=%s is beyond the mount's ceiling: %s allows %s=%s",
		name, perms[name], fieldMaxPermissions, name, c.MaxPermissions[name])
}

// ceilingFields are the config's fields that set the ceiling. Lists take
// the scope fields' forms (a list, or a string naming one item); * alone
// clears one (everyClears).
func ceilingFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		fieldMaxPermissions: {
			Type: framework.TypeStringSlice,
			Description: "Ceiling: the highest level each permission may ever be granted, as name=level items (max_permissions=contents=write max_permissions=issues=write). " +
				"A role asking for a permission not named, or a higher level, is refused; a role naming no permissions gets exactly these. * alone: no limit (the default).",
		},
		fieldAllowedOwners: {
			Type: framework.TypeStringSlice,
			Description: "Ceiling: the GitHub owners (organization or user logins) roles may target by owner; an owner template is checked for each caller once resolved. " +
				"With this or allowed_installation_ids set, a role must target one of them. * alone: none (the default); any installation only when allowed_installation_ids names none either.",
		},
		fieldAllowedInstallationIDs: {
			Type:        framework.TypeStringSlice,
			Description: `Ceiling: the installation IDs (strings of digits, "12345") roles may target by installation_id, or by enterprise (checked once the slug is resolved). With this or allowed_owners set, a role must target one of them. * alone: none (the default); any installation only when allowed_owners names none either.`,
		},
		fieldRequireExplicitScope: {
			Type:        framework.TypeBool,
			Description: "Ceiling: refuse roles that name no repositories or no permissions (which would reach every one of the installation); an enterprise role, whose installation has no repositories, must name its permissions. Default false.",
		},
	}
}

// everyClears says what * does to each list of the ceiling. The two lists
// of installations are one limit: clearing one leaves roles the other.
var everyClears = map[string]string{
	fieldMaxPermissions:         "lifts the limit",
	fieldAllowedOwners:          "clears the list; roles may target any installation once " + fieldAllowedInstallationIDs + " names none either",
	fieldAllowedInstallationIDs: "clears the list; roles may target any installation once " + fieldAllowedOwners + " names none either",
}

// ceilingList reads one list field of the ceiling: nil, false when the
// write leaves it out; nil, true for * (the list cleared).
func ceilingList(d *framework.FieldData, field, example string) (items []string, present bool, err error) {
	raw, ok := d.Raw[field]
	if !ok {
		return nil, false, nil
	}
	items, err = scope.ParseList(field, raw, example)
	switch {
	case errors.Is(err, scope.ErrNamesNothing):
		return nil, true, fmt.Errorf("%s names nothing: write %s=%s, which %s", field, field, scope.Every, everyClears[field])
	case err != nil:
		return nil, true, err
	case slices.Contains(items, scope.Every) && len(items) > 1:
		return nil, true, fmt.Errorf("%s: %s stands alone: it %s", field, scope.Every, everyClears[field])
	case slices.Contains(items, scope.Every):
		return nil, true, nil
	}
	return items, true, nil
}

// mergeCeiling applies the ceiling fields of a config write to c; fields
// left out keep their values. It returns warnings for permission names
// this plugin does not know.
func mergeCeiling(c *ceiling, d *framework.FieldData) ([]string, error) {
	var warnings []string
	if list, ok, err := ceilingList(d, fieldMaxPermissions, "contents=write issues=write"); err != nil {
		return nil, err
	} else if ok {
		if c.MaxPermissions, warnings, err = parseMaxPermissions(list); err != nil {
			return nil, fmt.Errorf("%s: %w", fieldMaxPermissions, err)
		}
	}
	if list, ok, err := ceilingList(d, fieldAllowedOwners, "acme acme-labs"); err != nil {
		return nil, err
	} else if ok {
		if c.AllowedOwners, err = parseAllowedOwners(list); err != nil {
			return nil, err
		}
	}
	if list, ok, err := ceilingList(d, fieldAllowedInstallationIDs, "12345 67890"); err != nil {
		return nil, err
	} else if ok {
		if c.AllowedInstallationIDs, err = parseAllowedInstallationIDs(list); err != nil {
			return nil, err
		}
	}
	if raw, ok := d.GetOk(fieldRequireExplicitScope); ok {
		c.RequireExplicitScope = raw.(bool)
	}
	return warnings, nil
}

// parseMaxPermissions reads max_permissions the way a role's permissions
// are read, so that both take the same forms; nil for none (no limit).
func parseMaxPermissions(list []string) (map[string]string, []string, error) {
	if list == nil {
		return nil, nil, nil
	}
	return scope.ParsePermissions(list)
}

func parseAllowedOwners(list []string) ([]string, error) {
	owners := make([]string, 0, len(list))
	for _, owner := range list {
		if !scope.IsLogin(owner) {
			return nil, fmt.Errorf("%s: %s is not a GitHub organization or user login (letters, digits, '-' and '_')", fieldAllowedOwners, quote.Input(owner))
		}
		if slices.ContainsFunc(owners, func(o string) bool { return strings.EqualFold(o, owner) }) {
			return nil, fmt.Errorf("%s lists %s twice (logins are case-insensitive)", fieldAllowedOwners, quote.Input(owner))
		}
		owners = append(owners, owner)
	}
	return owners, nil
}

func parseAllowedInstallationIDs(list []string) ([]int64, error) {
	ids := make([]int64, 0, len(list))
	for _, item := range list {
		id, err := parseInstallationID(item)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%s: %w", fieldAllowedInstallationIDs, err)
		case slices.Contains(ids, id):
			return nil, fmt.Errorf("%s lists %d twice", fieldAllowedInstallationIDs, id)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// responseData is the ceiling as a config read shows it: every field, so
// that an operator sees there is none as plainly as there is one.
func (c ceiling) responseData() map[string]any {
	perms := c.MaxPermissions
	if perms == nil {
		perms = map[string]string{}
	}
	return map[string]any{
		fieldMaxPermissions:         perms,
		fieldAllowedOwners:          nonNil(c.AllowedOwners),
		fieldAllowedInstallationIDs: nonNil(c.AllowedInstallationIDs),
		fieldRequireExplicitScope:   c.RequireExplicitScope,
	}
}

// reach is what the stored role would reach, templates unresolved.
func (r *role) reach() reach {
	return reach{Permissions: r.Permissions, Repositories: r.Repositories, RepositoryIDs: r.RepositoryIDs,
		Owner: r.Owner, Enterprise: r.Enterprise, InstallationID: r.InstallationID}
}

// mintScope is the scope a token for role name is minted with, for a
// caller whose templates and narrowing made sc of it: refused when the
// role itself is beyond the ceiling (a role stored before the ceiling was
// set mints nothing until it is changed, even narrowed), or when sc is;
// its permissions clamped to the ceiling when it names none.
func (c ceiling) mintScope(name string, r *role, t target, sc scope.Scope) (scope.Scope, error) {
	if err := c.checkRole(r.reach()); err != nil {
		return scope.Scope{}, fmt.Errorf("role %q mints nothing until it is changed: %w. "+
			"Rewrite the role inside the ceiling (vault write <mount>/roles/%s ...), or raise the ceiling at <mount>/config", name, err, name)
	}
	perms, err := c.clampOrRefuse(reach{Permissions: sc.Permissions, Repositories: sc.Repositories, RepositoryIDs: sc.RepositoryIDs,
		Owner: t.owner, Enterprise: t.enterprise, InstallationID: t.installationID})
	if err != nil {
		return scope.Scope{}, fmt.Errorf("role %q: %w", name, err)
	}
	sc.Permissions = perms
	return sc, nil
}

// ceilingHolds checks a token just minted with sc, as mintScope made it
// under the ceiling of minted's config, against the ceiling in force now:
// a config write may have set another while GitHub minted, and it returned
// before the token existed. A token beyond it is a *scopeError.
func (b *backend) ceilingHolds(ctx context.Context, s logical.Storage, minted *appClient, name string, r *role, t target, sc scope.Scope) error {
	now, err := b.getClient(ctx, s)
	if err != nil || now == nil || now == minted {
		return err
	}
	again, err := now.config.Ceiling.mintScope(name, r, t, sc)
	switch {
	case err != nil:
		return &scopeError{err}
	case len(sc.Permissions) == 0 && len(again.Permissions) > 0:
		// Asked for none, the token has every permission of the
		// installation: more than the ceiling set meanwhile.
		return &scopeError{fmt.Errorf("role %q: the mount's ceiling changed while the token was minted, and the token, which had every permission of the installation, is beyond its %s (%s): read the token again",
			name, fieldMaxPermissions, scope.DescribePermissions(again.Permissions))}
	}
	return nil
}

// readCeiling reads the ceiling from the stored config, without parsing
// its key: a role write needs nothing else of it.
func readCeiling(ctx context.Context, s logical.Storage) (ceiling, error) {
	entry, err := s.Get(ctx, configStoragePath)
	if err != nil || entry == nil {
		return ceiling{}, err
	}
	var stored struct {
		Ceiling ceiling `json:"ceiling"`
	}
	if err := entry.DecodeJSON(&stored); err != nil {
		return ceiling{}, fmt.Errorf("decoding stored config: %w", err)
	}
	return stored.Ceiling, nil
}

// warnRolesBeyond adds to warnings the stored roles beyond a ceiling that
// a config write changes, so that the operator learns which roles now
// mint nothing; b.lock must be held for writing.
func (b *backend) warnRolesBeyond(ctx context.Context, s logical.Storage, stored *appConfig, c ceiling, warnings []string) ([]string, error) {
	if stored != nil && reflect.DeepEqual(stored.Ceiling, c) {
		return warnings, nil
	}
	beyond, err := b.rolesWhere(ctx, s, func(r *role) bool { return c.checkRole(r.reach()) != nil })
	if err != nil || len(beyond) == 0 {
		return warnings, err
	}
	return append(warnings, fmt.Sprintf("roles beyond the ceiling mint nothing until they are changed: %s (vault read <mount>/roles/<name> shows each)",
		quote.List(beyond))), nil
}
