package githubapp

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/identitytpl"
	"github.com/hashicorp/vault/sdk/logical"
)

// A role's owner and repositories may hold Vault identity templates, in the
// syntax of Vault's ACL policies ({{identity.entity.aliases.<accessor>.
// metadata.<key>}}, {{identity.entity.name}}, {{identity.groups.names.
// <group>.id}}, ...). They are resolved at mint time against the entity
// making the request, so one role and one policy can give each CI job a
// token for its own repository only. A template that cannot be resolved is
// an error, never a wider scope.

// maxTemplateBytes bounds a template; real ones are under 100 bytes.
const maxTemplateBytes = 512

// isTemplate reports whether a role value holds an identity template.
func isTemplate(s string) bool { return strings.Contains(s, "{{") || strings.Contains(s, "}}") }

// validateTemplate checks a template's syntax with the SDK's parser, and
// that every directive is an identity one: time templates would make a
// scope that changes by the clock.
func validateTemplate(field, tpl string) error {
	if len(tpl) > maxTemplateBytes {
		return fmt.Errorf("%s: a template of %d bytes is longer than the %d allowed", field, len(tpl), maxTemplateBytes)
	}
	if _, err := framework.ValidateIdentityTemplate(tpl); err != nil {
		// The SDK's message may quote the template, or a part of it, again.
		return fmt.Errorf("%s: %s is not a valid identity template: %s", field, quoteInput(tpl), cutInput(err.Error()))
	}
	for _, directive := range directives(tpl) {
		if !singleValueDirective.MatchString(directive) {
			return fmt.Errorf("%s: {{%s}} is not an identity template that yields one value; use "+
				"{{identity.entity.id|name}}, {{identity.entity.metadata.<key>}}, "+
				"{{identity.entity.aliases.<mount accessor>.id|name|metadata.<key>|custom_metadata.<key>}} or "+
				"{{identity.groups.ids|names.<group>.id|name|metadata.<key>}}", field, cutInput(directive))
		}
	}
	return nil
}

// singleValueDirective is every directive Vault's ACL templating resolves to
// one string. Others (time templates, lists such as groups.names, whole
// metadata maps, misspellings) would fail at every mint, so a role write
// refuses them.
var singleValueDirective = regexp.MustCompile(`^identity\.(` +
	`entity\.(id|name|metadata\..+|aliases\.[^.]+\.(id|name|metadata\..+|custom_metadata\..+))|` +
	`groups\.(ids|names)\.[^.]+\.(id|name|metadata\..+))$`)

// directives returns the trimmed contents of a template's {{...}} pieces;
// the template's balance has been checked by the SDK's parser.
func directives(tpl string) []string {
	var out []string
	for _, piece := range strings.Split(tpl, "{{")[1:] {
		directive, _, _ := strings.Cut(piece, "}}")
		out = append(out, strings.TrimSpace(directive))
	}
	return out
}

// identity is the entity making a request, fetched from Vault only when a
// role holds a template.
type identity struct {
	entityID string
	entity   *logical.Entity
	groups   []*logical.Group
}

// callerIdentity fetches the request's entity and its groups. A request
// without one (a root token, or a token created outside any auth method)
// yields a nil entity, which resolving a template reports.
func callerIdentity(sys logical.SystemView, entityID string) (*identity, error) {
	if entityID == "" {
		return &identity{}, nil
	}
	entity, err := sys.EntityInfo(entityID)
	if err != nil {
		return nil, fmt.Errorf("looking up the caller's entity: %w", err)
	}
	groups, err := sys.GroupsForEntity(entityID)
	if err != nil {
		return nil, fmt.Errorf("looking up the caller's groups: %w", err)
	}
	return &identity{entityID: entityID, entity: entity, groups: groups}, nil
}

// resolve fills a template in from the caller's identity. The errors name
// the template and what was missing, for the 400 the caller sees: whole,
// because the template is the role's (at most maxTemplateBytes, set by an
// operator), not the caller's input, and a cut one would hide its fault.
func (id *identity) resolve(field, tpl string) (string, error) {
	switch {
	case id.entity == nil && id.entityID != "":
		return "", fmt.Errorf("%s template %s needs the caller's identity, and Vault found no entity %q", field, tpl, id.entityID)
	case id.entity == nil:
		return "", fmt.Errorf("%s template %s needs the caller's identity, and the request has no entity "+
			"(a root token, or a token not issued by an auth method, has none): log in through an auth method", field, tpl)
	}
	// Each directive on its own first: the SDK yields "" for a metadata key
	// that is present but empty, which text around it would hide
	// ("team-{{...}}" becoming "team-").
	for _, directive := range directives(tpl) {
		out, err := id.populate("{{" + directive + "}}")
		if err == nil && out == "" {
			return "", fmt.Errorf("%s template %s: {{%s}} resolved to an empty value for the caller", field, tpl, directive)
		}
	}
	out, err := id.populate(tpl)
	switch {
	case errors.Is(err, identitytpl.ErrTemplateValueNotFound):
		return "", fmt.Errorf("%s template %s found no value in the caller's identity: the entity, alias or group lacks that name or metadata key "+
			"(for a JWT login, check the auth role's claim_mappings)", field, tpl)
	case err != nil && err.Error() == "alias not found":
		return "", fmt.Errorf("%s template %s names an auth mount the caller did not log in through (no alias on that mount accessor)", field, tpl)
	case err != nil:
		return "", fmt.Errorf("%s template %s could not be resolved for the caller: %w", field, tpl, err)
	case strings.TrimSpace(out) == "":
		return "", fmt.Errorf("%s template %s resolved to an empty value for the caller", field, tpl)
	}
	return out, nil
}

func (id *identity) populate(tpl string) (string, error) {
	_, out, err := identitytpl.PopulateString(identitytpl.PopulateStringInput{
		String: tpl,
		Entity: id.entity,
		Groups: id.groups,
		Mode:   identitytpl.ACLTemplating,
	})
	return out, err
}

// target is a role resolved for one caller: its templates filled in.
type target struct {
	installationID int64
	owner          string
	enterprise     string
	scope          scope // repositories: names and glob patterns
}

// resolve fills the role's templates in for the caller whose entity is
// entityID. A template that cannot be resolved, or yields a value that is
// not a login or repository name, is a *scopeError (a 400): it never falls
// back to a wider scope.
func (r *role) resolve(sys logical.SystemView, entityID string) (target, error) {
	t := target{installationID: r.InstallationID, owner: r.Owner, enterprise: r.Enterprise, scope: r.scope}
	if !r.hasTemplates() {
		return t, nil
	}
	id, err := callerIdentity(sys, entityID)
	if err != nil {
		return t, err
	}
	if isTemplate(r.Owner) {
		if t.owner, err = id.resolve(fieldOwner, r.Owner); err != nil {
			return t, &scopeError{err}
		}
		if !ownerPattern.MatchString(t.owner) {
			return t, &scopeError{fmt.Errorf("owner template %s yields %s for the caller, which is not a GitHub login", r.Owner, quoteInput(t.owner))}
		}
	}
	names := make([]string, 0, len(r.Repositories))
	seen := make(map[string]bool, len(r.Repositories))
	for _, entry := range r.Repositories {
		name := entry
		if isTemplate(entry) {
			if name, err = t.templatedRepository(id, entry); err != nil {
				return t, &scopeError{err}
			}
		}
		if folded := strings.ToLower(name); !seen[folded] {
			seen[folded] = true
			names = append(names, name)
		}
	}
	t.scope.Repositories = names
	return t, nil
}

func (r *role) hasTemplates() bool {
	return isTemplate(r.Owner) || slices.ContainsFunc(r.Repositories, isTemplate)
}

// templatedRepository resolves a repositories template to a repository
// name. A value of the form owner/name, as GitHub Actions' repository claim
// is, is accepted when its owner is the role's.
func (t target) templatedRepository(id *identity, tpl string) (string, error) {
	value, err := id.resolve(fieldRepositories, tpl)
	if err != nil {
		return "", err
	}
	name := value
	if owner, repo, ok := strings.Cut(value, "/"); ok {
		switch {
		case t.owner == "":
			return "", fmt.Errorf("repositories template %s yields %s, an owner/name, but the role names its installation by ID: set the role's owner so the owner can be checked",
				tpl, quoteInput(value))
		case !ownerPattern.MatchString(owner) || !strings.EqualFold(owner, t.owner):
			return "", fmt.Errorf("repositories template %s yields %s, whose owner is not the role's owner %q", tpl, quoteInput(value), t.owner)
		}
		name = repo
	}
	if !isRepositoryName(name) {
		return "", fmt.Errorf("repositories template %s yields %s for the caller, which is not a repository name", tpl, quoteInput(value))
	}
	return name, nil
}
