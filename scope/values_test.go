package scope

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// Each request value has one spelling, the one Vault's ACL compares: every
// other way of writing it is refused with a message that says how to
// write it.
func TestParseRequest_OneSpelling(t *testing.T) {
	for _, tc := range []struct {
		name  string
		field string
		value any
		src   Source
		want  Scope  // when err is ""
		err   string // part of the error
	}{
		{name: "one name", field: FieldRepositories, value: "api", want: Scope{Repositories: []string{"api"}}},
		{name: "a list of names", field: FieldRepositories, value: []any{"api", "Web"}, want: Scope{Repositories: []string{"api", "Web"}}},
		{name: "a CLI's []string", field: FieldRepositories, value: []string{"api"}, want: Scope{Repositories: []string{"api"}}},
		{name: "one name in a query", field: FieldRepositories, value: "api", src: Query, want: Scope{Repositories: []string{"api"}}},
		{name: "an ID as a string", field: FieldRepositoryIDs, value: []any{"7", "123456789012"}, want: Scope{RepositoryIDs: []int64{7, 123456789012}}},
		{name: "a permission", field: FieldPermissions, value: "contents=read", want: Scope{Permissions: map[string]string{"contents": "read"}}},
		{name: "permissions as a list", field: FieldPermissions, value: []any{"contents=read", "issues=write"},
			want: Scope{Permissions: map[string]string{"contents": "read", "issues": "write"}}},

		// Present but naming nothing: Vault allows every element of an empty list.
		{name: "an empty list", field: FieldRepositories, value: []any{}, err: "repositories names nothing"},
		{name: "an empty string", field: FieldRepositories, value: "", err: "repositories names nothing"},
		{name: "empty permissions", field: FieldPermissions, value: []any{}, err: "permissions names nothing"},
		{name: "an empty element", field: FieldRepositories, value: []any{"api", ""}, err: "element 2 is empty"},

		// Commas: Vault compares a string whole first, a list's elements each.
		{name: "a comma in a string", field: FieldRepositories, value: "team-a-x,secret", err: "one string with commas"},
		{name: "a comma in a permissions string", field: FieldPermissions, value: "issues=write,contents=read", err: "one string with commas"},
		{name: "a comma inside a list element", field: FieldPermissions, value: []any{"issues=write,contents=read"}, err: "holds a comma"},
		{name: "a comma in an ID string", field: FieldRepositoryIDs, value: "1,2", err: "one string with commas"},

		// Repeated query parameters reach the ACL as a []string it never compares.
		{name: "a repeated query parameter", field: FieldRepositories, value: []any{"api", "web"}, src: Query, err: "repeated in the query string"},

		// Kinds the ACL compares with no policy value.
		{name: "a JSON object of permissions", field: FieldPermissions, value: map[string]any{"contents": "read"}, err: "a JSON object"},
		{name: "a number for an ID", field: FieldRepositoryIDs, value: json.Number("7"), err: "a number"},
		{name: "numbers in an ID list", field: FieldRepositoryIDs, value: []any{json.Number("7")}, err: "element 1 is a number"},
		{name: "a boolean", field: FieldRepositories, value: true, err: "a boolean"},
		{name: "a nested list", field: FieldRepositories, value: []any{[]any{"api"}}, err: "element 1 is a list"},

		// Other spellings of the same value.
		{name: "white space around a name", field: FieldRepositories, value: " api", err: "white space"},
		{name: "white space around a permission", field: FieldPermissions, value: []any{"contents=read "}, err: "white space"},
		{name: "white space inside a permission", field: FieldPermissions, value: "contents = read", err: "not a permission name"},
		{name: "an upper-case level", field: FieldPermissions, value: "contents=READ", err: "not one of read, write or admin"},
		{name: "an upper-case name", field: FieldPermissions, value: "Contents=read", err: "not a permission name"},
		{name: "a leading zero", field: FieldRepositoryIDs, value: "007", err: "no sign or leading zero"},
		{name: "a sign", field: FieldRepositoryIDs, value: "+7", err: "no sign or leading zero"},
		{name: "a name twice in two cases", field: FieldRepositories, value: []any{"api", "API"}, err: "twice"},
		{name: "a permission twice", field: FieldPermissions, value: []any{"contents=read", "contents=write"}, err: "twice"},
		{name: "an ID twice", field: FieldRepositoryIDs, value: []any{"7", "7"}, err: "twice"},
		{name: "a pattern in a request", field: FieldRepositories, value: "team-*", err: "patterns and templates belong in a role"},
		{name: "Every in a request", field: FieldRepositories, value: Every, err: "not a repository name"},
		{name: "owner/name", field: FieldRepositories, value: "acme/api", err: `use "api"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := ParseRequest(map[string]any{tc.field: tc.value, "name": "ci"}, tc.src)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v; want one mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseRequest = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// The refusals say how to write the value: as a list, in the form a
// caller can paste.
func TestParseRequest_ErrorsSayHowToWriteIt(t *testing.T) {
	_, _, err := ParseRequest(map[string]any{FieldRepositories: "api,web"}, Body)
	if err == nil || !strings.Contains(err.Error(), `repositories=api repositories=web on the CLI, or {"repositories": ["api", "web"]} in JSON`) {
		t.Fatalf("err = %v", err)
	}
	_, _, err = ParseRequest(map[string]any{FieldPermissions: []any{"contents=read", "issues=read"}}, Query)
	if err == nil || !strings.Contains(err.Error(), "vault write <mount>/token/<role> permissions=contents=read permissions=issues=write") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseRequest_UnknownPermissionWarns(t *testing.T) {
	got, warnings, err := ParseRequest(map[string]any{FieldPermissions: "future_thing=read"}, Body)
	if err != nil || got.Permissions["future_thing"] != "read" || len(warnings) != 1 || !strings.Contains(warnings[0], "future_thing") {
		t.Fatalf("got %+v, %v, %v", got, warnings, err)
	}
}

// Widening a role is a value a policy can see (Every), never an empty one.
func TestRoleUpdate_WideningIsExplicit(t *testing.T) {
	stored := Scope{Repositories: []string{"api"}, RepositoryIDs: []int64{7}, Permissions: map[string]string{"contents": "read"}}
	for _, tc := range []struct {
		name string
		data map[string]any
		want Scope
		err  string
	}{
		{name: "nothing changes nothing", data: map[string]any{}, want: stored},
		{name: "a new list", data: map[string]any{FieldRepositories: []any{"web", "team-*"}},
			want: Scope{Repositories: []string{"web", "team-*"}, RepositoryIDs: []int64{7}, Permissions: stored.Permissions}},
		{name: "every repository", data: map[string]any{FieldRepositories: Every}, want: Scope{Permissions: stored.Permissions}},
		{name: "every permission", data: map[string]any{FieldPermissions: []any{Every}},
			want: Scope{Repositories: stored.Repositories, RepositoryIDs: stored.RepositoryIDs}},
		{name: "clearing names while IDs remain", data: map[string]any{FieldRepositories: ""},
			want: Scope{RepositoryIDs: []int64{7}, Permissions: stored.Permissions}},
		{name: "clearing both lists", data: map[string]any{FieldRepositories: "", FieldRepositoryIDs: []any{}}, err: "write repositories=*"},
		{name: "clearing permissions", data: map[string]any{FieldPermissions: []any{}}, err: "write permissions=*"},
		{name: "Every with other names", data: map[string]any{FieldRepositories: []any{Every, "api"}}, err: "stands alone"},
		{name: "Every with IDs", data: map[string]any{FieldRepositories: Every, FieldRepositoryIDs: "8"}, err: "cannot go with repository_ids"},
		{name: "Every as an ID", data: map[string]any{FieldRepositoryIDs: Every}, err: "repository_ids takes IDs"},
		// A pattern of wildcards alone reaches every repository (or every
		// one of some lengths) while a policy denying Every sees another
		// value, and require_explicit_scope sees a pattern.
		{name: "Every in disguise", data: map[string]any{FieldRepositories: "**"}, err: "write repositories=*"},
		{name: "Every in disguise, in a list", data: map[string]any{FieldRepositories: []any{"api", "*?"}}, err: "wildcards only"},
		{name: "wildcards of some lengths", data: map[string]any{FieldRepositories: "??*"}, err: "wildcards only"},
		{name: "a comma in a role write", data: map[string]any{FieldRepositories: "team-a-*,secret"}, err: "one string with commas"},
		{name: "an object of permissions", data: map[string]any{FieldPermissions: map[string]any{"contents": "write"}}, err: "a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := ParseRoleUpdate(tc.data)
			var got Scope
			if err == nil {
				got, err = u.Apply(stored)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v; want one mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}

	// A new role with an empty list would have every repository: refused
	// too, though nothing was narrower before.
	u, err := ParseRoleUpdate(map[string]any{FieldRepositories: []any{}})
	if err == nil {
		_, err = u.Apply(Scope{})
	}
	if err == nil || !strings.Contains(err.Error(), "write repositories=*") {
		t.Fatalf("an empty list on a new role: %v", err)
	}
}
