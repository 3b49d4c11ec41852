package githubapp

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// rejectUnknownFields refuses a write that carries fields the path does not
// know. Vault's default is to ignore them with a warning, which turns a typo
// such as "repositores=api" into a token scoped wider than intended.
func rejectUnknownFields(d *framework.FieldData) *logical.Response {
	var unknown []string
	for name := range d.Raw {
		if _, ok := d.Schema[name]; !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	known := make([]string, 0, len(d.Schema))
	for name := range d.Schema {
		known = append(known, name)
	}
	sort.Strings(known)
	return logical.ErrorResponse(fmt.Sprintf("unknown field(s) %s; this path accepts %s",
		strings.Join(unknown, ", "), strings.Join(known, ", ")))
}
