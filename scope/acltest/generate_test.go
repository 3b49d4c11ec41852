package acltest

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/go-secure-stdlib/strutil"
)

// The generator. A case is a policy with one path statement and one
// request on that path, as a caller would write them.
//
// Policies: path "github/token/*" (read, update) or "github/roles/*"
// (create, update), with any of allowed_parameters, denied_parameters and
// required_parameters over the path's scope fields (token: repositories,
// repository_ids, permissions; roles: also owner and installation_id).
// Their values are exact names, Vault globs (a leading and/or trailing
// '*': team-*, *=read, *-svc), spellings that differ from the emulator's
// only by case, and empty lists; allowed_parameters may also hold the "*"
// key.
//
// Requests: a POST with a JSON body, or for tokens a GET with a query
// string, on token/<role> for the base roles, or roles/<name> for them and
// for a new role. A value is drawn from the policy's own values (globs
// filled in, often with a comma or another name) and from each field's
// vocabulary, sometimes respelled (case, surrounding whitespace, leading
// zeros, another number base), and sent as any JSON type: a string, a
// comma-separated string, a list (empty, with a duplicate, with a comma
// inside an element, with a number, a boolean, null, a list or an object
// inside), a number, a boolean, null, an object, a list of objects. A GET
// sends strings, a parameter once or repeated. Most requests send one field
// (and one list element) that way and the rest plainly, as the policy
// admits them: a request slips past the ACL by one odd value, and it
// reaches the plugin only if all the others pass.

// field is a request field and the values the generator draws for it.
type field struct {
	name string
	// scalar fields (owner, installation_id) take one value: they get
	// other forms less often.
	scalar bool
	// allowed and denied are what policies list for the field.
	allowed, denied []string
	// atoms are what requests name; fragments fill a glob's '*'.
	atoms, fragments []string
}

var (
	repositoriesField = field{
		name:      "repositories",
		allowed:   []string{"api", "secret", "team-*", "team-a-*", "*-svc", "api*", "*-x", "Team-*", "API", "team-a-y", "*"},
		denied:    []string{"secret", "secret*", "*cret", "team-a-y", "Team-*", "*-Y", "api-svc"},
		atoms:     []string{"api", "secret", "team-a-x", "Team-A-Y", "team-a-y", "api-svc", "web", "billing", "unknown", "acme/api", "team-*", "*", "api,secret", "team-a-x,secret", ""},
		fragments: []string{"", "a-x", "a-y", "A-Y", "a-x,secret", "x, secret", "svc", "secret", "api", "team-a-y"},
	}
	repositoryIDsField = field{
		name:      "repository_ids",
		allowed:   []string{"2001", "2011", "20*", "201*", "*1"},
		denied:    []string{"2010", "201*", "*0", "2012"},
		atoms:     []string{"2001", "2010", "2011", "2012", "2013", "2002", "2005", "9999", "0", "-2010", "2001,2010"},
		fragments: []string{"", "1", "0", "01", "10", "2", "1,2010"},
	}
	permissionsField = field{
		name:    "permissions",
		allowed: []string{"*=read", "contents=read", "contents=*", "issues=write", "metadata=read", "pull_requests=*", "*"},
		denied:  []string{"issues=write", "*=write", "issues=*", "contents=write", "*=admin"},
		atoms: []string{"contents=read", "contents=write", "issues=write", "issues=read", "metadata=read", "pull_requests=write",
			"checks=write", "actions=read", "administration=write", "issues=write,contents=read", "contents=read,issues=write",
			"contents", "=read", "contents=", ""},
		fragments: []string{"", "read", "write", "contents", "issues", "issues=write,contents", "contents=read,issues", "write,contents=read"},
	}
	ownerField = field{
		name:      "owner",
		scalar:    true,
		allowed:   []string{"acme", "a*", "octocat", "*me"},
		denied:    []string{"octocat", "o*", "frozen"},
		atoms:     []string{"acme", "octocat", "frozen", "nobody", "acme,octocat"},
		fragments: []string{"", "cme", "ctocat", "CME"},
	}
	installationIDField = field{
		name:      "installation_id",
		scalar:    true,
		allowed:   []string{"1001", "100*", "*1"},
		denied:    []string{"1002", "*2", "1003"},
		atoms:     []string{"1001", "1002", "1003", "9999"},
		fragments: []string{"", "1", "2", "0", "01"},
	}

	tokenFields = []field{repositoriesField, repositoryIDsField, permissionsField}
	roleFields  = []field{repositoriesField, repositoryIDsField, permissionsField, ownerField, installationIDField}

	// tokenRoles are the base roles.
	tokenRoles = []string{"repos", "all", "team"}
)

// testCase is a policy and a request.
type testCase struct {
	policy  string // HCL
	request httpRequest
}

// policySpec is a generated policy before it is written as HCL.
type policySpec struct {
	path, capabilities string
	// allowed and denied map parameter names to values; nil when the
	// policy has no such block.
	allowed, denied map[string][]string
	required        []string
}

func (s policySpec) hcl() string {
	var b strings.Builder
	fmt.Fprintf(&b, "path %q {\n  capabilities = %s\n", s.path, s.capabilities)
	writeParameters(&b, "allowed_parameters", s.allowed)
	writeParameters(&b, "denied_parameters", s.denied)
	if len(s.required) > 0 {
		fmt.Fprintf(&b, "  required_parameters = %s\n", hclList(s.required))
	}
	b.WriteString("}\n")
	return b.String()
}

func writeParameters(b *strings.Builder, block string, params map[string][]string) {
	if params == nil {
		return
	}
	fmt.Fprintf(b, "  %s = {\n", block)
	for _, name := range slices.Sorted(maps.Keys(params)) {
		fmt.Fprintf(b, "    %q = %s\n", name, hclList(params[name]))
	}
	b.WriteString("  }\n")
}

func hclList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// generator draws one case from r.
type generator struct {
	r    *rand.Rand
	spec policySpec
}

func generate(r *rand.Rand) testCase {
	g := &generator{r: r}
	switch n := r.IntN(20); {
	case n < 11:
		return g.tokenCase("POST")
	case n < 15:
		return g.tokenCase("GET")
	}
	return g.roleCase()
}

func (g *generator) tokenCase(method string) testCase {
	g.spec = g.policy("github/token/*", `["read", "update"]`, tokenFields)
	req := httpRequest{method: method, path: "token/" + pick(g.r, tokenRoles)}
	if method == "GET" {
		req.query = g.query(g.carried(tokenFields))
	} else {
		req.body = g.body(g.carried(tokenFields))
	}
	return testCase{policy: g.spec.hcl(), request: req}
}

// roleCase writes a base role or, half the time, creates one, which then
// names its installation.
func (g *generator) roleCase() testCase {
	g.spec = g.policy("github/roles/*", `["create", "update"]`, roleFields)
	name, fields := pick(g.r, tokenRoles), g.carried(roleFields)
	if g.r.IntN(2) == 0 {
		name = "fresh"
		if !slices.ContainsFunc(fields, func(f field) bool { return f.name == ownerField.name || f.name == installationIDField.name }) {
			fields = append(fields, pick(g.r, []field{ownerField, installationIDField}))
		}
	}
	req := httpRequest{method: "POST", path: "roles/" + name, body: g.body(fields)}
	return testCase{policy: g.spec.hcl(), request: req}
}

// policy draws the parameter constraints of a path statement.
func (g *generator) policy(path, capabilities string, fields []field) policySpec {
	s := policySpec{path: path, capabilities: capabilities}
	if g.r.IntN(10) < 7 {
		s.allowed = g.values(fields, func(f field) []string { return f.allowed })
		if g.r.IntN(3) == 0 {
			s.allowed["*"] = []string{}
		}
	}
	if g.r.IntN(2) == 0 {
		s.denied = g.values(fields, func(f field) []string { return f.denied })
	}
	for _, f := range fields {
		if g.r.IntN(5) == 0 {
			s.required = append(s.required, f.name)
		}
	}
	return s
}

// values draws, for most of the fields, up to two of the values vocab
// gives them.
func (g *generator) values(fields []field, vocab func(field) []string) map[string][]string {
	out := map[string][]string{}
	for _, f := range fields {
		if g.r.IntN(10) == 0 {
			continue
		}
		n := 1 + g.r.IntN(2)
		if g.r.IntN(8) == 0 {
			n = 0
		}
		values := []string{}
		for range n {
			if v := pick(g.r, vocab(f)); !slices.Contains(values, v) {
				values = append(values, v)
			}
		}
		out[f.name] = values
	}
	return out
}

// carried picks the fields a request sends: every required one, mostly,
// and each other one half the time.
func (g *generator) carried(fields []field) []field {
	var out []field
	for _, f := range fields {
		if (slices.Contains(g.spec.required, f.name) && g.r.IntN(10) > 0) || g.r.IntN(2) == 0 {
			out = append(out, f)
		}
	}
	return out
}

// key is a field's parameter name, now and then in another case, which
// Vault's ACL compares lower-cased.
func (g *generator) key(f field) string {
	if g.r.IntN(30) == 0 {
		return strings.ToUpper(f.name[:1]) + f.name[1:]
	}
	return f.name
}

// body is a JSON object of the fields. Most of the time only one field
// gets a value of any form, the others plain ones the policy admits: an
// odd value is how a request slips past, and every other field must pass
// Vault's ACL for it to reach the plugin.
func (g *generator) body(fields []field) string {
	data := map[string]any{}
	odd := g.oddField(fields)
	for i, f := range fields {
		if odd >= 0 && i != odd {
			data[f.name] = g.plainValue(f)
			continue
		}
		data[g.key(f)] = g.jsonValue(f)
	}
	body, err := json.Marshal(data)
	if err != nil {
		panic(err) // the generator only builds values JSON can hold
	}
	return string(body)
}

func (g *generator) query(fields []field) string {
	values := url.Values{}
	odd := g.oddField(fields)
	for i, f := range fields {
		if odd >= 0 && i != odd {
			values.Add(f.name, g.plainAtom(f))
			continue
		}
		// A repeated parameter: one value of any form among plain ones.
		key, n := g.key(f), 1
		if g.r.IntN(2) == 0 {
			n = 2 + g.r.IntN(2)
		}
		odd := g.r.IntN(n)
		for j := range n {
			if j == odd {
				values.Add(key, g.stringValue(f))
			} else {
				values.Add(key, g.plainAtom(f))
			}
		}
	}
	return values.Encode()
}

// oddField picks the one field of a request that gets a value of any form,
// or -1, one time in four, for all of them.
func (g *generator) oddField(fields []field) int {
	if len(fields) == 0 || g.r.IntN(4) == 0 {
		return -1
	}
	return g.r.IntN(len(fields))
}

// plainValue is a value written the ordinary way that the policy admits:
// a string for a scalar field, else a list of one or two names.
func (g *generator) plainValue(f field) any {
	if f.scalar {
		return g.plainAtom(f)
	}
	list := []any{g.plainAtom(f)}
	if g.r.IntN(2) == 0 {
		list = append(list, g.plainAtom(f))
	}
	return list
}

// plainAtom is one of the field's vocabulary that the policy admits as it
// is written (any, when none is).
func (g *generator) plainAtom(f field) string {
	admitted := slices.DeleteFunc(slices.Clone(f.atoms), func(a string) bool {
		return strings.Contains(a, ",") || !g.admits(f, a)
	})
	if len(admitted) == 0 {
		return pick(g.r, f.atoms)
	}
	return pick(g.r, admitted)
}

// admits reports whether the policy's lists for a field admit a value
// that Vault's ACL compares as it is.
func (g *generator) admits(f field, value string) bool {
	matches := func(list []string) bool {
		return slices.ContainsFunc(list, func(glob string) bool { return strutil.GlobbedStringsMatch(glob, value) })
	}
	allowed, denied := g.spec.allowed[f.name], g.spec.denied[f.name]
	return (len(allowed) == 0 || matches(allowed)) && !matches(denied)
}

// jsonValue draws a JSON value of any type for a field.
func (g *generator) jsonValue(f field) any {
	if f.scalar && g.r.IntN(4) > 0 {
		if g.r.IntN(3) == 0 {
			return g.number(f)
		}
		return g.atom(f)
	}
	switch g.r.IntN(14) {
	case 0, 1, 2:
		return g.stringValue(f)
	case 3, 4, 5:
		return g.list(f)
	case 6:
		return []any{}
	case 7:
		return ""
	case 8:
		list := g.list(f)
		return slices.Insert(list, g.r.IntN(len(list)+1), g.other(f))
	case 9, 10:
		return g.other(f)
	case 11, 12:
		return g.object(f)
	}
	return []any{g.object(f)}
}

// stringValue is one atom or several joined by commas.
func (g *generator) stringValue(f field) string {
	if g.r.IntN(4) > 0 {
		return g.atom(f)
	}
	return g.joined(f)
}

// joined is two or three atoms joined by commas, often with one the policy
// admits first or last: a prefix or suffix glob then matches the whole.
func (g *generator) joined(f field) string {
	atoms := []string{g.atom(f), g.atom(f)}
	if g.r.IntN(2) == 0 {
		atoms = append(atoms, g.atom(f))
	}
	switch g.r.IntN(3) {
	case 0:
		atoms[0] = g.plainAtom(f)
	case 1:
		atoms[len(atoms)-1] = g.plainAtom(f)
	}
	return strings.Join(atoms, pick(g.r, []string{",", ", ", " ,", ",,"}))
}

// list is a JSON array of one to three names, all plain but one: an atom,
// several joined by commas, or a name twice.
func (g *generator) list(f field) []any {
	list := make([]any, 1+g.r.IntN(3))
	for i := range list {
		list[i] = g.plainAtom(f)
	}
	odd := g.r.IntN(len(list))
	switch g.r.IntN(5) {
	case 0:
		list = append(list, list[0])
	case 1, 2:
		list[odd] = g.joined(f)
	default:
		list[odd] = g.atom(f)
	}
	return list
}

// other is a value that is not a string: a number (for an ID field, the
// ID in several notations), a boolean, null, a nested list, an object.
func (g *generator) other(f field) any {
	switch g.r.IntN(6) {
	case 0, 1:
		return g.number(f)
	case 2:
		return g.r.IntN(2) == 0
	case 3:
		return nil
	case 4:
		return []any{g.atom(f)}
	}
	return g.object(f)
}

func (g *generator) number(f field) json.Number {
	id, err := strconv.ParseInt(g.atom(f), 10, 64)
	if err != nil {
		return json.Number(pick(g.r, []string{"0", "1", "-1"}))
	}
	return json.Number(pick(g.r, []string{
		strconv.FormatInt(id, 10), strconv.FormatInt(id, 10) + ".0", strconv.FormatInt(id, 10) + ".7",
		strconv.FormatFloat(float64(id), 'e', -1, 64),
	}))
}

// object is a JSON object; for permissions, name: level pairs with a level
// of any type.
func (g *generator) object(f field) map[string]any {
	if f.name != permissionsField.name {
		return map[string]any{pick(g.r, []string{"0", g.atom(f)}): g.atom(f)}
	}
	obj := map[string]any{}
	for range g.r.IntN(3) {
		name, level, _ := strings.Cut(g.atom(f), "=")
		var v any = level
		switch g.r.IntN(6) {
		case 0:
			v = []any{level}
		case 1:
			v = g.r.IntN(2) == 0
		case 2:
			v = map[string]any{name: level}
		}
		obj[name] = v
	}
	return obj
}

// atom draws one value for a field: from the policy's values for it (its
// globs filled in), or from the field's vocabulary; one in six respelled,
// and every other one drawn from a denied list, where respelling is how a
// value might slip past.
func (g *generator) atom(f field) string {
	switch n := g.r.IntN(10); {
	case n < 6 && len(g.spec.allowed[f.name]) > 0:
		return g.maybeRespell(g.fill(pick(g.r, g.spec.allowed[f.name]), f), 6)
	case n < 8 && len(g.spec.denied[f.name]) > 0:
		return g.maybeRespell(g.fill(pick(g.r, g.spec.denied[f.name]), f), 2)
	}
	return g.maybeRespell(pick(g.r, f.atoms), 6)
}

// maybeRespell respells one value in oneIn.
func (g *generator) maybeRespell(a string, oneIn int) string {
	if g.r.IntN(oneIn) == 0 {
		return g.respell(a)
	}
	return a
}

// fill replaces a glob's leading and trailing '*' with fragments, or now
// and then keeps it: a role's repositories may hold patterns.
func (g *generator) fill(glob string, f field) string {
	if g.r.IntN(5) == 0 {
		return glob
	}
	if rest, ok := strings.CutPrefix(glob, "*"); ok {
		glob = pick(g.r, f.fragments) + rest
	}
	if rest, ok := strings.CutSuffix(glob, "*"); ok {
		glob = rest + pick(g.r, f.fragments)
	}
	return glob
}

// respell writes a value another way: in another case, with whitespace
// around it, and for a number with leading zeros, in another base, with
// an underscore or a sign, all of which Go's strconv.ParseInt with base 0
// reads as a number.
func (g *generator) respell(a string) string {
	spellings := []string{
		strings.ToUpper(a), strings.ToLower(a), upperFirst(a), " " + a, a + " ", "\t" + a, "0" + a,
	}
	if n, err := strconv.ParseInt(a, 10, 64); err == nil && n > 0 {
		spellings = append(spellings, "0x"+strconv.FormatInt(n, 16), "0"+strconv.FormatInt(n, 8),
			"0o"+strconv.FormatInt(n, 8), "0b"+strconv.FormatInt(n, 2), a[:1]+"_"+a[1:], "+"+a)
	}
	return pick(g.r, spellings)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func pick[T any](r *rand.Rand, items []T) T { return items[r.IntN(len(items))] }

// fuzzSource feeds the generator from a fuzzer's input, eight bytes per
// draw, so that the fuzzer's mutations change single choices; past the
// input's end it continues with a PCG seeded from the input.
type fuzzSource struct {
	input []byte
	rest  *rand.PCG
}

func newFuzzSource(input []byte) *fuzzSource {
	h := fnv.New64a()
	h.Write(input)
	return &fuzzSource{input: input, rest: rand.NewPCG(h.Sum64(), uint64(len(input)))}
}

func (s *fuzzSource) Uint64() uint64 {
	if len(s.input) < 8 {
		return s.rest.Uint64()
	}
	v := binary.LittleEndian.Uint64(s.input)
	s.input = s.input[8:]
	return v
}
