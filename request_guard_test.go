package githubapp

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// maxErrorLength bounds error messages, whatever the input's size.
const maxErrorLength = 2048

// badInput is one write that must be refused with a 400 naming field.
type badInput struct {
	name  string
	op    logical.Operation
	path  string
	data  map[string]any
	field string
}

// wrongTypeValues returns values that cannot be converted to a field of
// type t.
func wrongTypeValues(t framework.FieldType) []any {
	nested := map[string]any{"nested": map[string]any{"deep": []any{1}}}
	switch t {
	case framework.TypeInt64, framework.TypeInt:
		return []any{"twelve", nested, "1.5"}
	case framework.TypeString:
		return []any{nested}
	case framework.TypeCommaStringSlice:
		return []any{nested}
	case framework.TypeCommaIntSlice:
		return []any{"a,b", nested, []any{"x"}}
	case framework.TypeKVPairs:
		return []any{42, []any{"no-equals-sign"}, "=read"}
	case framework.TypeDurationSecond:
		return []any{"soon", nested, "-1h"}
	case framework.TypeBool:
		return []any{"maybe", nested, []any{true, false}}
	}
	return nil
}

// writablePaths are the paths that take writes, with a minimal valid body
// each, so that a case changes exactly one field.
func writablePaths(e *testEnv) []struct {
	path  string
	op    logical.Operation
	valid map[string]any
} {
	return []struct {
		path  string
		op    logical.Operation
		valid map[string]any
	}{
		{"config", logical.UpdateOperation, map[string]any{fieldAppID: testAppID, fieldPrivateKey: pkcs1PEM(e.key), fieldBaseURL: e.emulator.URL()}},
		{"roles/ci", logical.UpdateOperation, map[string]any{fieldOwner: "acme"}},
		{"token/ci", logical.UpdateOperation, map[string]any{}},
	}
}

// schemaOf returns the fields of the path that serves path.
func schemaOf(b *backend, path string) map[string]*framework.FieldSchema {
	for _, p := range b.Paths {
		if regexp.MustCompile(p.Pattern).MatchString(path) {
			return p.Fields
		}
	}
	return nil
}

func badInputs(e *testEnv) []badInput {
	var cases []badInput
	for _, wp := range writablePaths(e) {
		for field, schema := range schemaOf(e.b, wp.path) {
			if field == fieldName {
				continue
			}
			for i, v := range wrongTypeValues(schema.Type) {
				data := copyMap(wp.valid)
				data[field] = v
				cases = append(cases, badInput{fmt.Sprintf("%s %s wrong type %d", wp.path, field, i), wp.op, wp.path, data, field})
			}
		}
	}

	huge := strings.Repeat("x", 1<<20)
	many := make([]string, 10_000)
	manyIDs := make([]any, 10_000)
	for i := range many {
		many[i] = fmt.Sprintf("repo-%d", i)
		manyIDs[i] = i + 1
	}
	manyPerms := make(map[string]any, 10_000)
	for i := range 10_000 {
		manyPerms[fmt.Sprintf("perm_%d", i)] = "sideways"
	}
	role := func(field string, v any) map[string]any { return map[string]any{fieldOwner: "acme", field: v} }
	extra := []badInput{
		{"huge owner", logical.UpdateOperation, "roles/ci", map[string]any{fieldOwner: huge}, fieldOwner},
		{"empty owner", logical.UpdateOperation, "roles/ci", map[string]any{fieldOwner: ""}, fieldOwner},
		{"huge repository name", logical.UpdateOperation, "roles/ci", role(fieldRepositories, huge), fieldRepositories},
		{"10,000 repositories", logical.UpdateOperation, "roles/ci", role(fieldRepositories, many), fieldRepositories},
		{"10,000 repository ids", logical.UpdateOperation, "roles/ci", role(fieldRepositoryIDs, manyIDs), fieldRepositoryIDs},
		{"10,000 bad permissions", logical.UpdateOperation, "roles/ci", role(fieldPermissions, manyPerms), fieldPermissions},
		{"huge permission level", logical.UpdateOperation, "roles/ci", role(fieldPermissions, map[string]any{"contents": huge}), fieldPermissions},
		{"huge private key", logical.UpdateOperation, "config", map[string]any{fieldPrivateKey: huge}, fieldPrivateKey},
		{"empty private key", logical.UpdateOperation, "config", map[string]any{fieldPrivateKey: ""}, fieldPrivateKey},
		{"huge base_url", logical.UpdateOperation, "config", map[string]any{fieldBaseURL: "https://" + huge, fieldPrivateKey: pkcs1PEM(e.key)}, fieldBaseURL},
		{"empty base_url", logical.UpdateOperation, "config", map[string]any{fieldBaseURL: "", fieldPrivateKey: pkcs1PEM(e.key)}, fieldBaseURL},
		{"huge client_id", logical.UpdateOperation, "config", map[string]any{fieldClientID: huge}, fieldClientID},
		{"10,000 narrowing repositories", logical.UpdateOperation, "token/ci", map[string]any{fieldRepositories: many}, fieldRepositories},
		{"huge role name", logical.UpdateOperation, "roles/" + huge, map[string]any{fieldOwner: "acme"}, "role name"},
		{"huge token role name", logical.ReadOperation, "token/" + huge, nil, "role name"},
		{"unknown fields", logical.UpdateOperation, "roles/ci", role(strings.Repeat("y", 5000), 1), "unknown field"},
		{"null repositories", logical.UpdateOperation, "roles/ci", role(fieldRepositories, nil), fieldRepositories},
		{"null insecure_allow_http", logical.UpdateOperation, "config", map[string]any{fieldInsecureAllowHTTP: nil}, fieldInsecureAllowHTTP},
		{"cleartext base_url", logical.UpdateOperation, "config", map[string]any{fieldBaseURL: "http://ghe.example.com", fieldPrivateKey: pkcs1PEM(e.key)}, fieldInsecureAllowHTTP},
		{"unbalanced template", logical.UpdateOperation, "roles/ci", role(fieldRepositories, "{{identity.entity.name"), fieldRepositories},
		{"time template", logical.UpdateOperation, "roles/ci", role(fieldRepositories, "x-{{time.now}}"), fieldRepositories},
		{"huge template", logical.UpdateOperation, "roles/ci", role(fieldRepositories, "{{identity.entity.metadata."+huge+"}}"), fieldRepositories},
		{"owner template unbalanced", logical.UpdateOperation, "roles/ci", map[string]any{fieldOwner: "{{identity.entity.name}"}, fieldOwner},
		{"pattern with a slash", logical.UpdateOperation, "roles/ci", role(fieldRepositories, "acme/*"), fieldRepositories},
		{"pattern with brackets", logical.UpdateOperation, "roles/ci", role(fieldRepositories, "[ab]*"), fieldRepositories},
		{"pattern in a request", logical.UpdateOperation, "token/ci", map[string]any{fieldRepositories: "api*"}, fieldRepositories},
		{"template in a request", logical.UpdateOperation, "token/ci", map[string]any{fieldRepositories: "{{identity.entity.name}}"}, fieldRepositories},
		{"read of a role with parameters", logical.ReadOperation, "roles/ci", map[string]any{fieldRepositories: "api"}, "takes no parameters"},
	}
	return append(cases, extra...)
}

func copyMap(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// TestInputMatrix_EveryBadInputIsA400 sends each bad input to a configured
// engine with a role, and checks the outcome: a user error naming the
// field, never a panic or internal error, a short message, and storage
// exactly as before.
func TestInputMatrix_EveryBadInputIsA400(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/ci", map[string]any{fieldOwner: "acme", fieldRepositories: []any{"api", "web"}, fieldPermissions: "contents=read"})
	cases := badInputs(e)
	if len(cases) < 40 {
		t.Fatalf("only %d cases: the schema walk found too few fields", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := storageSnapshot(t, e.storage)
			resp, err := e.do(tc.op, tc.path, tc.data)
			requireUserError(t, resp, err, tc.field)
			if msg := resp.Error().Error(); len(msg) > maxErrorLength {
				t.Errorf("error of %d bytes: it repeats the input", len(msg))
			}
			requireSameStorage(t, before, storageSnapshot(t, e.storage))
			if n := e.emulator.Count("POST", mintPath); n != 0 {
				t.Fatalf("a refused request reached GitHub (%d mints)", n)
			}
		})
	}
}

// An operation a path does not serve is Vault's "unsupported operation"
// (405), whatever fields come with it: vault patch on a role is told the
// path takes no patch, not that its fields are unknown.
func TestInput_UnservedOperationIsUnsupported(t *testing.T) {
	e := newRoleEnv(t, nil)
	before := storageSnapshot(t, e.storage)
	resp, err := e.do(logical.PatchOperation, "roles/ci", map[string]any{fieldRepositories: []any{"web"}})
	if !errors.Is(err, logical.ErrUnsupportedOperation) {
		t.Fatalf("patch of a role: %v, %v; want logical.ErrUnsupportedOperation", resp, err)
	}
	requireSameStorage(t, before, storageSnapshot(t, e.storage))
}
