package acltest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/hashicorp/vault/helper/namespace"
	"github.com/hashicorp/vault/sdk/helper/jsonutil"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/vault"
)

// mount is where the tests pretend the plugin is mounted: policies name
// paths under it, the plugin sees paths without it.
const mount = "github/"

// httpRequest is a request as a caller sends it to Vault's HTTP API: a POST
// with a JSON body, or a GET with a query string. Its String form,
// "POST token/ci {...}" or "GET token/ci?...", is what failures print and
// the regression table holds.
type httpRequest struct {
	method string // "POST" or "GET"
	path   string // under the mount, such as "token/ci"
	body   string // the JSON object of a POST
	query  string // the query string of a GET, without the '?'
}

func (r httpRequest) String() string {
	if r.method == "GET" {
		return "GET " + r.path + "?" + r.query
	}
	return "POST " + r.path + " " + r.body
}

// parseHTTPRequest reads a request's String form.
func parseHTTPRequest(s string) (httpRequest, error) {
	method, rest, _ := strings.Cut(s, " ")
	switch method {
	case "POST":
		path, body, _ := strings.Cut(rest, " ")
		return httpRequest{method: method, path: path, body: body}, nil
	case "GET":
		path, query, _ := strings.Cut(rest, "?")
		return httpRequest{method: method, path: path, query: query}, nil
	}
	return httpRequest{}, fmt.Errorf("request %q: want POST <path> <json> or GET <path>?<query>", s)
}

// data is the request's data as Vault's HTTP layer hands it to the ACL
// and the backend (http/logical.go buildLogicalRequestNoAuth): a JSON body
// decoded with UseNumber (jsonutil.DecodeJSONFromReader), so numbers are
// json.Number; a query string through parseQuery.
func (r httpRequest) data() (map[string]any, error) {
	if r.method == "GET" {
		values, err := url.ParseQuery(r.query)
		if err != nil {
			return nil, err
		}
		return parseQuery(values), nil
	}
	var data map[string]any
	err := jsonutil.DecodeJSONFromReader(strings.NewReader(r.body), &data)
	if errors.Is(err, io.EOF) {
		return nil, nil // no body: no data
	}
	return data, err
}

// operation is the operation Vault's HTTP layer gives the request, before
// the existence check (vault/request_handling.go) turns an update of a
// path that does not exist yet into a create.
func (r httpRequest) operation() logical.Operation {
	if r.method == "GET" {
		return logical.ReadOperation
	}
	return logical.UpdateOperation
}

// parseQuery is Vault 1.21's http/handler.go parseQuery: a parameter given
// once is a string, one repeated is a []string (which no ACL value list
// matches, and no denied list refuses), and "help" is dropped.
func parseQuery(values url.Values) map[string]any {
	data := map[string]any{}
	for k, v := range values {
		if k == "help" {
			continue
		}
		switch {
		case len(v) == 0:
		case len(v) == 1:
			data[k] = v[0]
		default:
			data[k] = v
		}
	}
	if len(data) > 0 {
		return data
	}
	return nil
}

// policy is a Vault ACL policy with one path statement, parsed and
// evaluated by Vault's own code.
type policy struct {
	acl   *vault.ACL
	rules *vault.ACLPermissions // the path statement's, for the oracle
}

func parsePolicy(hcl string) (*policy, error) {
	parsed, err := vault.ParseACLPolicy(namespace.RootNamespace, hcl)
	if err != nil {
		return nil, err
	}
	if len(parsed.Paths) != 1 {
		return nil, errors.New("a test policy has exactly one path statement")
	}
	acl, err := vault.NewACL(namespace.RootContext(context.Background()), []*vault.Policy{parsed})
	if err != nil {
		return nil, err
	}
	return &policy{acl: acl, rules: parsed.Paths[0].Permissions}, nil
}

// allows reports whether Vault's ACL lets a request through: op on path
// (under the mount) with data as the HTTP layer decoded it.
func (p *policy) allows(op logical.Operation, path string, data map[string]any) bool {
	req := &logical.Request{Operation: op, Path: mount + path, Data: data}
	return p.acl.AllowOperation(namespace.RootContext(context.Background()), req, false).Allowed
}
