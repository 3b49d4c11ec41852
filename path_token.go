package githubapp

import (
	"context"
	"maps"
	"net/http"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/quote"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/scope"
)

func pathToken(b *backend) *framework.Path {
	fields := map[string]*framework.FieldSchema{
		fieldName: {
			Type:        framework.TypeString,
			Description: "Name of the role to mint a token for.",
			Required:    true,
		},
	}
	maps.Copy(fields, scopeFields(requestScopeFields))
	tokenResponses := map[int][]framework.Response{
		http.StatusOK: {{Description: "OK", Fields: tokenResponseFields()}},
	}

	return &framework.Path{
		Pattern: "token/(?P<name>.+)",
		DisplayAttrs: &framework.DisplayAttributes{
			OperationPrefix: operationPrefix,
			OperationVerb:   "generate",
		},
		Fields: fields,
		Operations: map[logical.Operation]framework.OperationHandler{
			// A standby could mint but not store the lease: the SDK refuses
			// there before minting, and the server forwards the request to
			// the active one (system_view.go).
			logical.ReadOperation: &framework.PathOperation{
				Callback:                  b.pathTokenMint,
				ForwardPerformanceStandby: true,
				DisplayAttrs:              &framework.DisplayAttributes{OperationSuffix: "token"},
				Summary:                   "Mint an installation token with the role's scope, or narrowed by query parameters.",
				Responses:                 tokenResponses,
			},
			logical.UpdateOperation: &framework.PathOperation{
				Callback:                  b.pathTokenMint,
				ForwardPerformanceStandby: true,
				DisplayAttrs:              &framework.DisplayAttributes{OperationSuffix: "narrowed-token"},
				Summary:                   "Mint an installation token narrowed to some of the role's repositories and permissions.",
				Responses:                 tokenResponses,
			},
		},
		HelpSynopsis:    "Mint a GitHub App installation token for a role, as a Vault lease.",
		HelpDescription: pathTokenHelp,
	}
}

const pathTokenHelp = `
Reading token/<role> mints a GitHub App installation access token with the
role's repositories and permissions. Writing to it, or reading it with
parameters, mints one narrowed further: repositories, repository_ids and
permissions must each stay inside the role's scope.

The token comes as a lease whose TTL is the role's ttl, capped at the
token's life as GitHub's clock measures it (an hour).
Leases cannot be renewed: read the path again for a fresh token. Revoking
the lease revokes the token at GitHub.

Response fields: token, expires_at (RFC 3339), installation_id, permissions,
repository_selection (all or selected), repositories (names), hashed_token
(how GitHub's audit log names the token: hashed_token:"<value>").

Examples:
  vault read github/token/ci
  vault write github/token/ci repositories=api permissions=contents=read
  vault read github/token/ci repositories=api
`

// pathTokenMint serves reads and writes alike: a read with scope parameters
// (vault read github/token/ci repositories=api) narrows just as a write does,
// rather than silently minting the role's full scope.
// Every request for an existing role counts as a token minted or a
// failure; one naming no role adds no metric label.
func (b *backend) pathTokenMint(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.Get(fieldName).(string)
	r, err := b.getRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return logical.ErrorResponse("role %s does not exist; create it with: vault write <mount>/roles/<name> ...", quote.Input(name)), nil
	}
	resp, err := b.mintForRequest(ctx, req, name, r, d)
	b.metrics.countMint(name, err == nil && resp != nil && resp.Secret != nil)
	return resp, err
}

func (b *backend) mintForRequest(ctx context.Context, req *logical.Request, name string, r *role, d *framework.FieldData) (*logical.Response, error) {
	narrowing, warnings, err := scope.ParseRequest(d.Raw, sourceOf(req.Operation))
	if err != nil {
		return logical.ErrorResponse(err.Error()), nil
	}
	return b.mintToken(ctx, req, name, r, narrowing, warnings)
}

// narrowingParser checks a token request's scope fields as Vault's ACL
// compared them, before the SDK converts anything.
var narrowingParser = rawParser{
	fields: scope.Fields,
	check: func(op logical.Operation, data map[string]any) error {
		_, _, err := scope.ParseRequest(data, sourceOf(op))
		return err
	},
}

// sourceOf says where an operation's values came from: a read's from the
// query string, a write's from its body.
func sourceOf(op logical.Operation) scope.Source {
	if op == logical.ReadOperation {
		return scope.Query
	}
	return scope.Body
}
