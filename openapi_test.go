package githubapp

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// TestOpenAPI_OperationIDsAndSensitiveFields checks the document Vault
// serves at sys/internal/specs/openapi for this mount.
func TestOpenAPI_OperationIDsAndSensitiveFields(t *testing.T) {
	e := newUnconfiguredEnv(t)
	resp, err := e.b.HandleRequest(context.Background(), &logical.Request{Operation: logical.HelpOperation, Storage: e.storage})
	requireOK(t, resp, err)
	doc, ok := resp.Data["openapi"].(*framework.OASDocument)
	if !ok {
		t.Fatalf("no OpenAPI document in %v", resp.Data)
	}

	var ids []string
	for path, item := range doc.Paths {
		for _, op := range []*framework.OASOperation{item.Get, item.Post, item.Delete} {
			if op == nil {
				continue
			}
			if !strings.HasPrefix(op.OperationID, "github-app-") {
				t.Errorf("%s: operation ID %q lacks the github-app- prefix", path, op.OperationID)
			}
			ids = append(ids, op.OperationID)
		}
	}
	for _, want := range []string{
		"github-app-configure", "github-app-read-configuration", "github-app-delete-configuration",
		"github-app-list-roles", "github-app-write-role", "github-app-read-role", "github-app-delete-role",
		"github-app-generate-token", "github-app-generate-narrowed-token",
		"github-app-list-installations", "github-app-read-installations",
	} {
		if !slices.Contains(ids, want) {
			t.Errorf("operation %q missing; have %v", want, ids)
		}
	}

	sensitive := map[string]bool{}
	for _, schema := range doc.Components.Schemas {
		for name, prop := range schema.Properties {
			if prop.DisplayAttrs != nil && prop.DisplayAttrs.Sensitive {
				sensitive[name] = true
			}
		}
	}
	for _, field := range []string{fieldPrivateKey, fieldToken} {
		if !sensitive[field] {
			t.Errorf("%s is not marked sensitive in the OpenAPI document", field)
		}
	}
}
