package githubapp

import (
	"fmt"
	"sort"
	"strconv"
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
	for i, name := range unknown {
		unknown[i] = quoteInput(name)
	}
	if len(unknown) > 10 {
		unknown = append(unknown[:10], fmt.Sprintf("and %d more", len(unknown)-10))
	}
	known := make([]string, 0, len(d.Schema))
	for name := range d.Schema {
		known = append(known, name)
	}
	sort.Strings(known)
	return logical.ErrorResponse(fmt.Sprintf("unknown field(s) %s; this path accepts %s",
		strings.Join(unknown, ", "), strings.Join(known, ", ")))
}

// maxQuotedInput bounds how much of a rejected value an error repeats: a
// megabyte of garbage should not come back as a megabyte of error.
const maxQuotedInput = 64

// quoteInput quotes user input for an error message, cut to maxQuotedInput
// bytes.
func quoteInput(s string) string {
	if len(s) > maxQuotedInput {
		s = strings.ToValidUTF8(s[:maxQuotedInput], "") + "…"
	}
	return strconv.Quote(s)
}
