package githubapp

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/scope"
)

// FuzzRoleWrite sends role names and owners through the real request path:
// no panic, and an accepted role is stored under exactly its valid name.
func FuzzRoleWrite(f *testing.F) {
	for _, seed := range []string{"ci", "deploy.prod", "a/b", "..", "rôle", "a b", "x\x00y", strings.Repeat("n", 200)} {
		f.Add(seed, "acme")
	}
	f.Add("ci", "-acme")
	f.Add("ci", "{{identity.entity.aliases.auth_jwt_1234.metadata.repository_owner}}")
	f.Add("ci", "{{time.now}}")
	f.Add("ci", "{{identity.entity.name")
	conf := logical.TestBackendConfig()
	b, err := Factory(context.Background(), conf)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, owner string) {
		storage := &logical.InmemStorage{}
		resp, err := b.HandleRequest(context.Background(), &logical.Request{
			Operation: logical.CreateOperation, Path: "roles/" + name, Storage: storage,
			Data: map[string]any{fieldOwner: owner},
		})
		keys, _ := logical.CollectKeys(context.Background(), storage)
		if err != nil || resp.IsError() {
			if len(keys) != 0 {
				t.Fatalf("a refused write stored %v", keys)
			}
			return
		}
		if validateRoleName(name) != nil || scope.CheckOwner(owner) != nil {
			t.Fatalf("accepted role %q with owner %q", name, owner)
		}
		if len(keys) != 1 || keys[0] != roleStoragePrefix+name {
			t.Fatalf("role %q stored as %v", name, keys)
		}
	})
}
