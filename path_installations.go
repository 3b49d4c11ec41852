package githubapp

import (
	"cmp"
	"context"
	"strconv"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
)

func pathInstallations(b *backend) []*framework.Path {
	return []*framework.Path{{
		Pattern: "installations/?$",
		DisplayAttrs: &framework.DisplayAttributes{
			OperationPrefix: operationPrefix,
			OperationSuffix: "installations",
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ListOperation: &framework.PathOperation{
				Callback: b.pathInstallationsList,
				Summary:  "List the App's installation IDs, with each one's account in key_info.",
			},
			logical.ReadOperation: &framework.PathOperation{
				Callback: b.pathInstallationsRead,
				Summary:  "Describe every installation of the App.",
			},
		},
		HelpSynopsis: "The App's installations, as GitHub reports them.",
		HelpDescription: `
Lists the installations of the configured App (following GitHub's
pagination), so you can find the installation_id for a role. Each entry has
the id, the account's login (an enterprise's slug) and type (Organization,
User or Enterprise), whether the installation covers all or selected
repositories, and whether it is suspended.

Examples:
  vault list github/installations
  vault read github/installations
`,
	}}
}

func (b *backend) pathInstallationsList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	installations, resp, err := b.listInstallations(ctx, req)
	if installations == nil {
		return resp, err
	}
	keys := make([]string, len(installations))
	info := make(map[string]any, len(installations))
	for i, inst := range installations {
		keys[i] = strconv.FormatInt(inst.ID, 10)
		info[keys[i]] = describeInstallation(inst)
	}
	return logical.ListResponseWithInfo(keys, info), nil
}

func (b *backend) pathInstallationsRead(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	installations, resp, err := b.listInstallations(ctx, req)
	if installations == nil {
		return resp, err
	}
	described := make([]map[string]any, len(installations))
	for i, inst := range installations {
		described[i] = describeInstallation(inst)
	}
	return &logical.Response{Data: map[string]any{"installations": described}}, nil
}

// listInstallations fetches every installation; when it returns nil, the
// response and error are what the handler should return.
func (b *backend) listInstallations(ctx context.Context, req *logical.Request) ([]ghclient.Installation, *logical.Response, error) {
	app, err := b.getClient(ctx, req.Storage)
	if err != nil {
		return nil, nil, err
	}
	if app == nil {
		return nil, errNotConfigured(), nil
	}
	installations, err := app.api.ListInstallations(ctx)
	if err != nil {
		resp, err := githubFailure(app.config, "listing the App's installations", err)
		return nil, resp, err
	}
	return nonNil(installations), nil, nil
}

func describeInstallation(inst ghclient.Installation) map[string]any {
	return map[string]any{
		"id":                     inst.ID,
		"account":                cmp.Or(inst.Account.Login, inst.Account.Slug), // an enterprise has a slug
		"account_type":           cmp.Or(inst.Account.Type, inst.TargetType),
		fieldRepositorySelection: inst.RepositorySelection,
		"suspended":              inst.SuspendedAt != nil,
	}
}
