package githubapp

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/quote"
)

// productWarnings names the permissions that some GitHub product base_url
// may point at does not accept, by GitHub's published REST API
// descriptions: a role asking for custom_properties_for_organizations
// cannot mint on GitHub Enterprise Server, which does not have it. They
// are warnings, not errors: the plugin does not know which release a
// server runs, and a later one may have added the permission. An
// enterprise's installation is never github.com's, which has no
// enterprises.
func productWarnings(baseURL string, enterprise bool, perms map[string]string) []string {
	at := ghclient.ProductsAt(baseURL)
	if enterprise {
		at = slices.DeleteFunc(at, func(p ghclient.Product) bool { return p == ghclient.GitHubCom })
	}
	if len(at) == 0 {
		return nil // the URL does not tell which product it is
	}
	var warnings []string
	for _, name := range quote.SortedKeys(perms) {
		support := ghclient.PermissionProducts(name)
		if support == nil {
			continue // unknown everywhere: readScope has warned
		}
		refusing := refusingProducts(at, support, perms[name])
		if len(refusing) == 0 {
			continue
		}
		var accepting []string
		for _, s := range support {
			if slices.Contains(s.Levels, perms[name]) {
				accepting = append(accepting, string(s.Product))
			}
		}
		warnings = append(warnings, fmt.Sprintf("permissions %s=%s: not accepted by %s, which base_url %s may be, by GitHub's REST API descriptions (%s); accepted by %s. GitHub refuses the role's tokens where it is not accepted",
			name, perms[name], strings.Join(refusing, ", "), baseURL, ghclient.DescriptionSource(), orNone(accepting)))
	}
	return warnings
}

// refusingProducts describes each product of at that does not accept
// name=level: it lacks the permission, or takes other levels.
func refusingProducts(at []ghclient.Product, support []ghclient.ProductLevels, level string) []string {
	var out []string
	for _, p := range at {
		i := slices.IndexFunc(support, func(s ghclient.ProductLevels) bool { return s.Product == p })
		switch {
		case i < 0:
			out = append(out, string(p)+" (no such permission)")
		case !slices.Contains(support[i].Levels, level):
			out = append(out, fmt.Sprintf("%s (only %s)", p, strings.Join(support[i].Levels, " or ")))
		}
	}
	return out
}

func orNone(items []string) string {
	if len(items) == 0 {
		return "no product"
	}
	return strings.Join(items, ", ")
}

// warnRolesUnaccepted adds to warnings the stored roles with permissions
// that the products at a config write's new base_url may not accept: they
// were written under another base_url, or none. b.lock must be held for
// writing.
func (b *backend) warnRolesUnaccepted(ctx context.Context, s logical.Storage, stored, cfg *appConfig, warnings []string) ([]string, error) {
	at := ghclient.ProductsAt(cfg.BaseURL)
	if at == nil || (stored != nil && stored.BaseURL == cfg.BaseURL) {
		return warnings, nil
	}
	names, err := b.rolesWhere(ctx, s, func(r *role) bool { return productWarnings(cfg.BaseURL, r.Enterprise != "", r.Permissions) != nil })
	if err != nil || len(names) == 0 {
		return warnings, err
	}
	return append(warnings, fmt.Sprintf("roles with permissions that base_url %s (%s) may not accept, by GitHub's REST API descriptions: %s (vault read <mount>/roles/<name> shows each role's permissions; writing them again names the products that accept each)",
		cfg.BaseURL, describeProducts(at), quote.List(names))), nil
}

// rolePermissionWarnings are the product warnings for a role written under
// the stored config's base_url; none before the engine is configured.
func rolePermissionWarnings(ctx context.Context, s logical.Storage, r *role) ([]string, error) {
	if len(r.Permissions) == 0 {
		return nil, nil
	}
	entry, err := s.Get(ctx, configStoragePath)
	if err != nil || entry == nil {
		return nil, err
	}
	var cfg struct {
		BaseURL string `json:"base_url"`
	}
	if err := entry.DecodeJSON(&cfg); err != nil {
		return nil, fmt.Errorf("decoding stored config: %w", err)
	}
	return productWarnings(cfg.BaseURL, r.Enterprise != "", r.Permissions), nil
}
