package scope

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/quote"
)

// The fields of a scope, as requests name them.
const (
	FieldRepositories  = "repositories"
	FieldRepositoryIDs = "repository_ids"
	FieldPermissions   = "permissions"
)

// Fields are the request fields this package reads.
var Fields = []string{FieldRepositories, FieldRepositoryIDs, FieldPermissions}

// Source says where a request's values came from, which decides what
// Vault's ACL compared before the plugin saw them.
type Source int

const (
	// Body is a write's JSON body (the CLI sends one too): a field is a
	// string or an array, as the caller wrote it.
	Body Source = iota
	// Query is a read's query string: a field is a string, or a list when
	// the parameter is repeated, which Vault's ACL never compares.
	Query
)

// Every is the value that gives a role every repository or every
// permission of its installation: widening a role is a value a Vault
// policy on roles/<name> can allow or deny, never an empty one.
const Every = "*"

// errNamesNothing marks a field present with no items: "" or [].
var errNamesNothing = errors.New("names nothing")

// items returns a field's items exactly as Vault's ACL compared them, or an
// error saying how to write the value so that it can be.
//
// Vault's ACL checks a string against a policy's allowed values whole
// first, and splits it at commas only if that fails: "team-a-x,secret"
// passes allowed_parameters "team-a-*" whole. So a string names one item,
// and a comma in it is refused; a list's elements are each compared, so a
// list is the way to name several. A number, object or boolean is never
// compared with a policy's (string) values at all, so denied_parameters
// would not see it. Nothing is trimmed, split or case-folded here: the item
// the plugin acts on is the item Vault compared.
func items(field string, raw any, src Source, example string) ([]string, error) {
	switch v := raw.(type) {
	case string:
		if v == "" {
			return nil, errNamesNothing
		}
		if strings.Contains(v, ",") {
			return nil, fmt.Errorf("%s: %s is one string with commas, which Vault's policy check may compare whole; send a list instead: %s",
				field, quote.Input(v), listHint(field, example, src))
		}
		return []string{v}, checkItem(field, v)
	case []string:
		return listItems(field, stringsToAny(v), src, example)
	case []any:
		return listItems(field, v, src, example)
	}
	return nil, fmt.Errorf("%s must be a string or a list of strings; got %s. Vault's policy checks compare strings only: write each item as a string, e.g. %s",
		field, kindOf(raw), listHint(field, example, Body))
}

func listItems(field string, list []any, src Source, example string) ([]string, error) {
	if src == Query {
		return nil, fmt.Errorf("%s is repeated in the query string; Vault's policy check does not compare repeated query parameters, so a read takes each field once. "+
			"To name several, write instead: %s", field, listHint(field, example, Query))
	}
	if len(list) == 0 {
		return nil, errNamesNothing
	}
	out := make([]string, len(list))
	for i, element := range list {
		s, ok := element.(string)
		switch {
		case !ok:
			return nil, fmt.Errorf("%s: element %d is %s; each element must be a string, e.g. %s", field, i+1, kindOf(element), listHint(field, example, Body))
		case s == "":
			return nil, fmt.Errorf("%s: element %d is empty; each element names one item", field, i+1)
		case strings.Contains(s, ","):
			return nil, fmt.Errorf("%s: element %d, %s, holds a comma; each element names one item: %s", field, i+1, quote.Input(s), listHint(field, example, Body))
		}
		if err := checkItem(field, s); err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// checkItem refuses white space around an item: Vault's ACL compares the
// value as sent, so " api" is not "api" to a policy.
func checkItem(field, item string) error {
	if strings.TrimSpace(item) != item {
		return fmt.Errorf("%s: %s has white space around it; write it without", field, quote.Input(item))
	}
	return nil
}

// listHint shows how to send several items of a field: on the CLI by
// repeating it, in JSON as an array.
func listHint(field, example string, src Source) string {
	a, b, _ := strings.Cut(example, " ")
	cli := fmt.Sprintf("%s=%s %s=%s", field, a, field, b)
	if src == Query {
		return "vault write <mount>/token/<role> " + cli
	}
	return fmt.Sprintf(`%s on the CLI, or {"%s": ["%s", "%s"]} in JSON`, cli, field, a, b)
}

func stringsToAny(v []string) []any {
	out := make([]any, len(v))
	for i, s := range v {
		out[i] = s
	}
	return out
}

// kindOf names a JSON value's kind, never its content.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any, map[string]string:
		return "a JSON object"
	case []any, []string:
		return "a list"
	case json.Number, float64, float32, int, int64, int32, uint, uint64:
		return "a number"
	}
	return "a value of another kind"
}

// ErrNamesNothing is the error ParseList returns for a field present with
// no items ("" or []): what that means is the caller's to decide.
var ErrNamesNothing = errNamesNothing

// ParseList reads a list field outside the scope (a config's, say) by the
// same rules as the scope's own fields, from a write's body; example is
// two items separated by a space, for the errors.
func ParseList(field string, raw any, example string) ([]string, error) {
	return items(field, raw, Body, example)
}

// ParsePermissions reads name=level items, as a scope's permissions are.
func ParsePermissions(list []string) (map[string]string, []string, error) {
	return parsePermissions(list)
}
