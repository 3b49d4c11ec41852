package scope

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/identitytpl"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/quote"
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

// IsTemplate reports whether a role value holds an identity template.
func IsTemplate(s string) bool { return strings.Contains(s, "{{") || strings.Contains(s, "}}") }

// ValidateTemplate checks a template's syntax with the SDK's parser, and
// that every directive is an identity one that yields one value: time
// templates would make a scope that changes by the clock.
func ValidateTemplate(field, tpl string) error {
	if len(tpl) > maxTemplateBytes {
		return fmt.Errorf("%s: a template of %d bytes is longer than the %d allowed", field, len(tpl), maxTemplateBytes)
	}
	if _, err := framework.ValidateIdentityTemplate(tpl); err != nil {
		// The SDK's message may quote the template, or a part of it, again.
		return fmt.Errorf("%s: %s is not a valid identity template: %s", field, quote.Input(tpl), quote.Cut(err.Error()))
	}
	for _, directive := range directives(tpl) {
		if !singleValueDirective.MatchString(directive) {
			return fmt.Errorf("%s: {{%s}} is not an identity template that yields one value; use "+
				"{{identity.entity.id|name}}, {{identity.entity.metadata.<key>}}, "+
				"{{identity.entity.aliases.<mount accessor>.id|name|metadata.<key>|custom_metadata.<key>}} or "+
				"{{identity.groups.ids|names.<group>.id|name|metadata.<key>}}", field, quote.Cut(directive))
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

// Identity is the entity making a request, as Vault describes it.
// EntityID without Entity means Vault found no such entity; neither means
// the request has none (a root token, or one issued outside any auth
// method).
type Identity struct {
	EntityID string
	Entity   *logical.Entity
	Groups   []*logical.Group
}

// resolve fills a template in from the caller's identity. The errors name
// the template and what was missing, for the 400 the caller sees: whole,
// because the template is the role's (at most maxTemplateBytes, set by an
// operator), not the caller's input, and a cut one would hide its fault.
func (id *Identity) resolve(field, tpl string) (string, error) {
	switch {
	case id.Entity == nil && id.EntityID != "":
		return "", fmt.Errorf("%s template %s needs the caller's identity, and Vault found no entity %q", field, tpl, id.EntityID)
	case id.Entity == nil:
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

func (id *Identity) populate(tpl string) (string, error) {
	_, out, err := identitytpl.PopulateString(identitytpl.PopulateStringInput{
		String: tpl,
		Entity: id.Entity,
		Groups: id.Groups,
		Mode:   identitytpl.ACLTemplating,
	})
	return out, err
}

// HasTemplates reports whether a role's owner or repositories need the
// caller's identity.
func HasTemplates(owner string, s Scope) bool {
	return IsTemplate(owner) || slices.ContainsFunc(s.Repositories, IsTemplate)
}

// ResolveTemplates fills a role's templates in for the caller. A template
// that cannot be resolved, or yields a value that is not a login or
// repository name, is an error: it never falls back to a wider scope.
func ResolveTemplates(owner string, s Scope, id *Identity) (string, Scope, error) {
	resolvedOwner := owner
	if IsTemplate(owner) {
		var err error
		if resolvedOwner, err = id.resolve("owner", owner); err != nil {
			return "", Scope{}, err
		}
		if !IsLogin(resolvedOwner) {
			return "", Scope{}, fmt.Errorf("owner template %s yields %s for the caller, which is not a GitHub login", owner, quote.Input(resolvedOwner))
		}
	}
	names := make([]string, 0, len(s.Repositories))
	seen := make(map[string]bool, len(s.Repositories))
	for _, entry := range s.Repositories {
		name := entry
		if IsTemplate(entry) {
			var err error
			if name, err = templatedRepository(id, entry, resolvedOwner); err != nil {
				return "", Scope{}, err
			}
		}
		if folded := strings.ToLower(name); !seen[folded] {
			seen[folded] = true
			names = append(names, name)
		}
	}
	out := s
	out.Repositories = names
	return resolvedOwner, out, nil
}

// writtenText is a template's text outside its directives; the
// template's balance has been checked by the SDK's parser.
func writtenText(tpl string) string {
	pieces := strings.Split(tpl, "{{")
	text := pieces[0]
	for _, piece := range pieces[1:] {
		_, after, _ := strings.Cut(piece, "}}")
		text += after
	}
	return text
}

// ownerFromFirstDirective reports whether an owner/name value's owner came
// whole from the template's first directive, with no text written before
// it. Written text is what a Vault policy on roles/<name> compared as part
// of a repository name: "a{{...}}" and "acme/{{...}}" pass an allowed "a*",
// and cutting that text off into the owner would leave a name no policy
// saw.
func ownerFromFirstDirective(id *Identity, tpl string) bool {
	if !strings.HasPrefix(tpl, "{{") {
		return false
	}
	first, err := id.populate("{{" + directives(tpl)[0] + "}}")
	return err == nil && strings.Contains(first, "/")
}

// templatedRepository resolves a repositories template to a repository
// name. A value of the form owner/name, as GitHub Actions' repository claim
// is, is accepted when its owner is the role's, spelled alike.
func templatedRepository(id *Identity, tpl, roleOwner string) (string, error) {
	value, err := id.resolve(FieldRepositories, tpl)
	if err != nil {
		return "", err
	}
	name := value
	if owner, repo, ok := strings.Cut(value, "/"); ok {
		switch {
		case roleOwner == "":
			return "", fmt.Errorf("repositories template %s yields %s, an owner/name, but the role names its installation by ID: set the role's owner so the owner can be checked",
				tpl, quote.Input(value))
		case !ownerFromFirstDirective(id, tpl):
			return "", fmt.Errorf("repositories template %s yields %s, an owner/name whose owner is not the value of the template's first directive: "+
				"an owner/name must come from the first directive, with nothing written before it", tpl, quote.Input(value))
		case owner != roleOwner:
			return "", fmt.Errorf("repositories template %s yields %s, whose owner is not the role's owner %q (spelled alike)", tpl, quote.Input(value), roleOwner)
		}
		name = repo
	}
	if !IsRepositoryName(name) {
		return "", fmt.Errorf("repositories template %s yields %s for the caller, which is not a repository name", tpl, quote.Input(value))
	}
	return name, nil
}
