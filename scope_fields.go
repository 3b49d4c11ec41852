package githubapp

import (
	"github.com/hashicorp/vault/sdk/framework"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/scope"
)

const (
	fieldRepositories  string = scope.FieldRepositories
	fieldRepositoryIDs string = scope.FieldRepositoryIDs
	fieldPermissions   string = scope.FieldPermissions
)

// scopeFieldsFor says whose scope fields a path takes: a role's, which set
// its scope, or a token request's, which narrow it.
type scopeFieldsFor int

const (
	requestScopeFields scopeFieldsFor = iota
	roleScopeFields
)

// oneSpelling is the rule every scope field keeps, said in its help: each
// value is read exactly as Vault's ACL compared it (see the scope package).
const oneSpelling = " A string names one item; send several as a list (repeat the field on the CLI, or a JSON array of strings). " +
	"Values are used exactly as written: no commas inside an item, no white space around it, no case folding; an empty value is refused."

// scopeFields are the request fields of a scope. Their OpenAPI type is a
// list of strings, the form Vault's ACL compares element by element; the
// scope package parses them from the raw request.
func scopeFields(forWhom scopeFieldsFor) map[string]*framework.FieldSchema {
	purpose := "to narrow this one token to; each must stay inside the role's scope."
	repositories := "Repository names (without the owner), as GitHub spells them, " + purpose
	permissions := "Permissions " + purpose
	if forWhom == roleScopeFields {
		purpose = "the role's tokens may reach. Left out on a new role: every one of the installation."
		repositories = "Repository names (without the owner), as GitHub spells them, " + purpose +
			" * alone: every repository. An entry may be a glob pattern (team-a-*, *-service; * and ?), matched case-sensitively against the installation's repositories when a token is minted, " +
			"or a Vault identity template such as {{identity.entity.aliases.<accessor>.metadata.repository}}, resolved for each caller; " +
			"a template may yield owner/name when the owner is the role's. An empty value clears the list if repository_ids still names repositories."
		permissions = "Permissions " + purpose + " * alone: every permission granted to the installation."
	}
	return map[string]*framework.FieldSchema{
		fieldRepositories: {
			Type:        framework.TypeStringSlice,
			Description: repositories + " Together with repository_ids at most 500." + oneSpelling,
		},
		fieldRepositoryIDs: {
			Type:        framework.TypeStringSlice,
			Description: `Numeric repository IDs, each as a string of digits ("123"), ` + purpose + oneSpelling,
		},
		fieldPermissions: {
			Type: framework.TypeStringSlice,
			Description: permissions + " Each is a name=level pair (level read, write or admin), e.g. permissions=contents=read permissions=pull_requests=write, " +
				`or ["contents=read", "pull_requests=write"] in JSON.` + oneSpelling,
		},
	}
}
