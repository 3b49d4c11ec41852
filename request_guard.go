package githubapp

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/quote"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/scope"
)

// HandleRequest checks a request's fields against its path's schema before
// the SDK parses them, then hands the request to the SDK. The SDK's own
// checks would echo a mistyped value whole (a private key sent as a JSON
// array lands in the 400 and in the audit log) and silently drop fields
// it does not know; these checks do neither.
func (b *backend) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	if resp := b.checkInput(req); resp != nil {
		return resp, nil
	}
	return b.Backend.HandleRequest(ctx, req)
}

// HandleExistenceCheck runs the SDK's existence check without the request's
// data: whether a config or role exists depends on the path alone, and the
// SDK's check would otherwise parse the data first and hand Vault an error
// that quotes it, which Vault logs at ERROR level. HandleRequest then
// refuses bad data properly.
func (b *backend) HandleExistenceCheck(ctx context.Context, req *logical.Request) (bool, bool, error) {
	if path := b.Route(req.Path); path != nil && b.input.badName(path, req.Path) != nil {
		// No existence to check; HandleRequest reports the bad name.
		return false, false, nil //nolint:nilerr // the error is HandleRequest's to report, as a 400
	}
	pathOnly := *req
	pathOnly.Data = nil
	return b.Backend.HandleExistenceCheck(ctx, &pathOnly)
}

// checkInput returns a 400 for the first problem with the request's role
// name or fields, or nil. Fields are checked in name order, so the answer
// is stable.
func (b *backend) checkInput(req *logical.Request) *logical.Response {
	if !userOperation(req.Operation) {
		return nil
	}
	path := b.Route(req.Path)
	if path == nil {
		return nil // the SDK answers with "unsupported path"
	}
	if _, served := path.Operations[req.Operation]; !served {
		return nil // the SDK answers with "unsupported operation", reading no field
	}
	if err := b.input.badName(path, req.Path); err != nil {
		return logical.ErrorResponse(err.Error())
	}
	if len(req.Data) == 0 {
		return nil
	}
	accepted := b.input.accepted(path, req.Operation)
	if resp := rejectUnknownFields(req.Data, accepted, req.Operation); resp != nil {
		return resp
	}
	raw := b.input[path].raw
	for _, name := range quote.SortedKeys(req.Data) {
		if slices.Contains(raw.fields, name) && req.Data[name] != nil {
			continue
		}
		if err := checkValue(name, req.Data[name], accepted[name]); err != nil {
			return logical.ErrorResponse(err.Error())
		}
	}
	if raw.check != nil {
		if err := raw.check(req.Operation, req.Data); err != nil {
			return logical.ErrorResponse(err.Error())
		}
	}
	return nil
}

// userOperation reports whether op carries fields a user sent.
func userOperation(op logical.Operation) bool {
	switch op {
	case logical.CreateOperation, logical.UpdateOperation, logical.ReadOperation,
		logical.DeleteOperation, logical.ListOperation, logical.PatchOperation:
		return true
	}
	return false
}

// inputRules are the fields each path's operations accept, worked out once:
// a path's schema minus what its URL captures, for writes, and for reads of
// the paths whose reads take parameters; nothing for other operations.
type inputRules map[*framework.Path]pathInput

type pathInput struct {
	write, read map[string]*framework.FieldSchema
	// namePrefix is what precedes a captured role name ("roles/", "token/"),
	// which is checked here for every operation, so no handler has to;
	// "" when the path captures none.
	namePrefix string
	raw        rawParser
}

// rawParser reads some of a path's fields from the raw request, exactly as
// Vault's ACL compared them, in place of the SDK's conversion (which
// splits, trims and converts, and so reads a value otherwise than the
// policy did). Its error is the 400.
type rawParser struct {
	fields []string
	check  func(op logical.Operation, data map[string]any) error
}

func newInputRules(paths []*framework.Path, readsTakeParameters []*framework.Path, raw map[*framework.Path]rawParser) inputRules {
	rules := make(inputRules, len(paths))
	for _, path := range paths {
		captured := regexp.MustCompile(path.Pattern).SubexpNames()
		fields := make(map[string]*framework.FieldSchema, len(path.Fields))
		for name, schema := range path.Fields {
			if !slices.Contains(captured, name) {
				fields[name] = schema
			}
		}
		in := pathInput{write: fields}
		if prefix, _, ok := strings.Cut(path.Pattern, "(?P<"+fieldName+">"); ok {
			in.namePrefix = strings.TrimPrefix(prefix, "^")
		}
		if slices.Contains(readsTakeParameters, path) {
			in.read = fields
		}
		in.raw = raw[path]
		rules[path] = in
	}
	return rules
}

// badName returns the error for a role name the path captures from
// requestPath, or nil.
func (r inputRules) badName(path *framework.Path, requestPath string) error {
	prefix := r[path].namePrefix
	if prefix == "" {
		return nil
	}
	return validateRoleName(strings.TrimPrefix(requestPath, prefix))
}

func (r inputRules) accepted(path *framework.Path, op logical.Operation) map[string]*framework.FieldSchema {
	switch op {
	case logical.CreateOperation, logical.UpdateOperation:
		return r[path].write
	case logical.ReadOperation:
		return r[path].read
	}
	return nil
}

// rejectUnknownFields refuses a request that carries fields the operation
// does not take. Vault's default is to ignore them with a warning, which
// turns a typo such as "repositores=api" into a token scoped wider than
// intended, or a read with parameters into one that silently drops them.
func rejectUnknownFields(data map[string]any, accepted map[string]*framework.FieldSchema, op logical.Operation) *logical.Response {
	var unknown []string
	for name := range data {
		if _, ok := accepted[name]; !ok {
			unknown = append(unknown, quote.Input(name))
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	if len(unknown) > 10 {
		unknown = append(unknown[:10], fmt.Sprintf("and %d more", len(unknown)-10))
	}
	if len(accepted) == 0 {
		return logical.ErrorResponse("unknown field(s) %s: a %s of this path takes no parameters",
			strings.Join(unknown, ", "), op)
	}
	return logical.ErrorResponse("unknown field(s) %s; this path accepts %s",
		strings.Join(unknown, ", "), strings.Join(quote.SortedKeys(accepted), ", "))
}

// checkValue converts a value the way the SDK will, and describes a failure
// without repeating the value beyond quote.MaxBytes, or at all for a
// sensitive field.
func checkValue(name string, value any, schema *framework.FieldSchema) error {
	if value == nil {
		return fmt.Errorf("%s is null: leave the field out to keep its value%s", name, clearHint(name))
	}
	fd := &framework.FieldData{Raw: map[string]any{name: value}, Schema: map[string]*framework.FieldSchema{name: schema}}
	if _, _, err := fd.GetOkErr(name); err != nil {
		return fmt.Errorf("%s must be %s; got %s", name, expectedForm(schema.Type), describeValue(value, isSensitive(schema)))
	}
	return nil
}

// clearHint says how to widen a role's scope field, for the error on a
// null: never by an empty value, which a policy cannot tell apart.
func clearHint(field string) string {
	if slices.Contains(scope.Fields, field) {
		return fmt.Sprintf("; on a role, %s=%s means every one of the installation", field, scope.Every)
	}
	return ""
}

func isSensitive(schema *framework.FieldSchema) bool {
	return schema.DisplayAttrs != nil && schema.DisplayAttrs.Sensitive
}

// expectedForm names what a field of type t accepts, for error messages.
func expectedForm(t framework.FieldType) string {
	switch t {
	case framework.TypeString:
		return "a string"
	case framework.TypeBool:
		return "true or false"
	case framework.TypeInt, framework.TypeInt64:
		return "an integer"
	case framework.TypeDurationSecond:
		return `a duration such as "30m" or a number of seconds`
	case framework.TypeCommaStringSlice:
		return `a list of names: a JSON array or a comma-separated string such as "api,web"`
	case framework.TypeCommaIntSlice:
		return `a list of integers: a JSON array or a comma-separated string such as "1,2"`
	case framework.TypeStringSlice:
		return `a list: a JSON array of strings, or a string naming one item`
	case framework.TypeKVPairs:
		return `name=level pairs such as "contents=read", or a JSON object`
	}
	return "a " + t.String()
}

// describeValue says what kind of JSON value was sent, quoting a scalar
// (cut to quote.MaxBytes) unless the field is sensitive.
func describeValue(value any, sensitive bool) string {
	var kind string
	switch value.(type) {
	case string:
		kind = "a string"
	case bool:
		kind = "a boolean"
	case json.Number, float64, float32, int, int64, int32, uint, uint64:
		kind = "a number"
	case []any, []string, []int, []int64:
		return "a JSON array"
	case map[string]any, map[string]string:
		return "a JSON object"
	default:
		return "a value of another kind"
	}
	if sensitive {
		return kind + " (not shown: the field is sensitive)"
	}
	return kind + " " + quote.Input(fmt.Sprint(value))
}
