package acltest

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
)

// The differential test of issue 15: for every request that Vault's own
// ACL evaluator lets through under a policy's parameter constraints, the
// token the plugin mints stays inside what the policy allowed.
//
// Each case (generate_test.go) is a policy and a request. The request's
// data is what Vault's HTTP layer makes of it (vault_test.go); Vault's ACL
// (vault.NewACL, AllowOperation) judges it after Vault's existence check;
// a request it refuses is done with. One it lets through goes to the
// plugin in-process, through the same JSON round trip as the plugin
// transport (plugin_test.go), against the GitHub emulator. A refusal by
// the plugin passes. A token, minted by the request or, after a role
// write, by a plain read of the role, is looked up at the emulator and
// judged by the oracle (oracle_test.go). A request Vault lets through that
// the plugin answers with an internal error fails too.
//
// TestACLDifferential runs a fixed number of generated cases;
// FuzzACLDifferential runs them for as long as asked (make acl-fuzz).
// TestACLRegressions replays every counterexample ever found, one per
// class, as written in the regressions table.

// defaultCases is how many generated cases TestACLDifferential runs.
const defaultCases = 50000

var (
	casesFlag = flag.Int("acl.cases", defaultCases, "how many generated cases TestACLDifferential runs")
	seedFlag  = flag.Uint64("acl.seed", 1, "the seed of TestACLDifferential's cases")
)

// maxShown bounds how many kinds of failure TestACLDifferential shows an
// example of; the summary counts every kind.
const maxShown = 10

func TestACLDifferential(t *testing.T) {
	e := newEnv(t)
	p := e.newPlugin(t)
	n := *casesFlag
	var allowed, minted int
	failures := map[string][]int{} // kind: the cases that fail so
	var kinds []string
	for i := range n {
		c := generate(rand.New(rand.NewPCG(*seedFlag, uint64(i))))
		v := e.run(t, p, c)
		if v.allowed {
			allowed++
		}
		if v.minted != nil {
			minted++
		}
		if len(v.violations) == 0 {
			continue
		}
		kind := v.kind(c)
		if failures[kind] == nil {
			kinds = append(kinds, kind)
			if len(kinds) <= maxShown {
				t.Errorf("case %d, the first of kind %q:\n%s", i, kind, v.report(c))
			}
		}
		failures[kind] = append(failures[kind], i)
	}
	t.Logf("%d cases (seed %d): %d let through by Vault's ACL, %d minted a token", n, *seedFlag, allowed, minted)
	if len(kinds) > 0 {
		t.Errorf("%d failing cases of %d kinds; add each new kind to the regressions table:", sumLengths(failures), len(kinds))
		for _, kind := range kinds {
			t.Logf("%5d like case %d: %s", len(failures[kind]), failures[kind][0], kind)
		}
	}
	// The property is only as strong as the cases that reach the plugin.
	if n >= 100 && (allowed < n/5 || minted < n/20) {
		t.Errorf("only %d of %d cases passed Vault's ACL and %d minted: the generator no longer exercises the plugin", allowed, n, minted)
	}
}

func sumLengths(m map[string][]int) int {
	n := 0
	for _, cases := range m {
		n += len(cases)
	}
	return n
}

func FuzzACLDifferential(f *testing.F) {
	e := newEnv(f)
	p := e.newPlugin(f)
	for i := range uint64(16) {
		f.Add(binary.LittleEndian.AppendUint64(nil, i))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		c := generate(rand.New(newFuzzSource(input)))
		if v := e.run(t, p, c); len(v.violations) > 0 {
			t.Error(v.report(c))
		}
	})
}

func TestACLRegressions(t *testing.T) {
	e := newEnv(t)
	p := e.newPlugin(t)
	for _, r := range regressions {
		t.Run(r.name, func(t *testing.T) {
			req, err := parseHTTPRequest(r.request)
			if err != nil {
				t.Fatal(err)
			}
			c := testCase{policy: r.policy, request: req}
			v := e.run(t, p, c)
			if !v.allowed {
				t.Fatalf("Vault's ACL refuses %s under this policy: the case no longer reaches the plugin; rethink it", req)
			}
			if len(v.violations) > 0 {
				t.Error(v.report(c))
			}
		})
	}
}

// verdict is what became of a case.
type verdict struct {
	allowed bool // Vault's ACL let the request through
	// minted is the scope of the token minted, at the emulator; nil when
	// none was. For a role write, the token is a plain one for the role.
	minted     *reach
	violations []string
}

// run judges a case on plugin p. A role write is undone afterwards, so
// that every case starts from the base roles.
func (e *env) run(tb testing.TB, p *plugin, c testCase) verdict {
	tb.Helper()
	pol, err := parsePolicy(c.policy)
	if err != nil {
		tb.Fatalf("policy %q: %v", c.policy, err)
	}
	data, err := c.request.data()
	if err != nil {
		tb.Fatalf("%s: %v", c.request, err)
	}
	path := c.request.path
	role, roleWrite := strings.CutPrefix(path, "roles/")
	var before *reach
	if roleWrite {
		before = e.plainToken(tb, p, role)
		defer e.restoreRole(tb, p, role)
	}
	op, err := p.operation(c.request.operation(), path, data)
	if err != nil {
		tb.Fatalf("%s: existence check: %v", c.request, err)
	}
	if !pol.allows(op, path, data) {
		return verdict{}
	}
	v := verdict{allowed: true}
	resp, err := p.handle(op, path, data)
	switch {
	case err != nil:
		v.violations = []string{"the plugin failed with an internal error: " + e.redact(err.Error())}
		return v
	case resp.IsError():
		return v
	case roleWrite:
		v.minted = e.plainToken(tb, p, role)
	default:
		v.minted = e.tokenOf(tb, resp)
	}
	if v.minted != nil {
		v.violations = violations(pol.rules, carriedFields(data), writtenRepositories(roleWrite, data), *v.minted, before)
	}
	return v
}

// writtenRepositories are a role write's repository entries, as the
// plugin read them: nil for a token request.
func writtenRepositories(roleWrite bool, data map[string]any) []string {
	if !roleWrite {
		return nil
	}
	switch v := data["repositories"].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, el := range v {
			if s, ok := el.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// restoreRole puts a role back as the base roles have it, or deletes it.
func (e *env) restoreRole(tb testing.TB, p *plugin, role string) {
	tb.Helper()
	if resp, err := p.handle(logical.DeleteOperation, "roles/"+role, nil); err != nil || resp.IsError() {
		tb.Fatalf("deleting role %s: %s", role, describeOutcome(resp, err))
	}
	if body, ok := baseRoles[role]; ok {
		e.mustWrite(tb, p, "roles/"+role, body)
	}
}

// plainToken mints a token for a role with no narrowing and returns its
// scope at the emulator, or nil when the plugin mints none.
func (e *env) plainToken(tb testing.TB, p *plugin, role string) *reach {
	resp, err := p.handle(logical.ReadOperation, "token/"+role, nil)
	if err != nil || resp.IsError() {
		return nil
	}
	return e.tokenOf(tb, resp)
}

// tokenOf is the scope, at the emulator, of the token a response carries.
func (e *env) tokenOf(tb testing.TB, resp *logical.Response) *reach {
	tb.Helper()
	token, _ := resp.Data["token"].(string)
	r, ok := e.reachOf(token)
	if !ok {
		tb.Fatal("the plugin answered with a token the emulator never minted")
	}
	return &r
}

// report describes a failing case: the request, the policy, what was
// minted and every constraint it breaks.
func (v verdict) report(c testCase) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  request:  %s\n  policy:   %s\n", c.request, strings.Join(strings.Fields(c.policy), " "))
	if v.minted != nil {
		label := "minted:  "
		if strings.HasPrefix(c.request.path, "roles/") {
			label = "then a plain token for the role:"
		}
		fmt.Fprintf(&b, "  %s %s\n", label, v.minted)
	}
	for _, violation := range v.violations {
		fmt.Fprintf(&b, "  violated: %s\n", violation)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// kind groups failures: the request's method and path, and how it sent
// the field that reaches what the first violation names (of two such
// fields, the one sent the less plain way).
func (v verdict) kind(c testCase) string {
	path, _, _ := strings.Cut(c.request.path, "/")
	what, _, _ := strings.Cut(v.violations[0], " ")
	data, _ := c.request.data()
	sent := ""
	for _, name := range violatedFields[what] {
		if value, ok := data[name]; ok && (sent == "" || !plainForms[form(value)]) {
			sent = name + " as " + form(value)
		}
	}
	if sent == "" {
		sent = v.violations[0]
	}
	return fmt.Sprintf("%s %s: %s", c.request.method, path, sent)
}

var plainForms = map[string]bool{"a string": true, "a list": true}

// violatedFields maps the first word of a violation to the request fields
// that reach what it names.
var violatedFields = map[string][]string{
	"repositories": {"repositories", "repository_ids"},
	"permissions":  {"permissions"},
	"owner":        {"owner"},
	"installation": {"installation_id"},
}

// form describes how a value was sent.
func form(value any) string {
	switch v := value.(type) {
	case nil:
		return "null"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []string:
		return "a repeated query parameter"
	case map[string]any:
		if len(v) == 0 {
			return "an empty object"
		}
		return "an object"
	case string:
		return describeString("a string", "", v)
	case []any:
		if len(v) == 0 {
			return "an empty list"
		}
		for _, el := range v {
			if s, ok := el.(string); !ok {
				return "a list holding " + form(el)
			} else if d := describeString("a list", " in an element", s); d != "a list" {
				return d
			}
		}
		return "a list"
	}
	return fmt.Sprintf("a %T", value)
}

// describeString names what is odd about a string: empty, a comma,
// whitespace around it.
func describeString(noun, where, s string) string {
	switch {
	case s == "":
		return "an empty string" + where
	case strings.Contains(s, ","):
		return noun + " with a comma" + where
	case s != strings.TrimSpace(s):
		return noun + " with whitespace" + where
	}
	return noun
}

// regressions are the counterexamples the differential test found, one
// per class, each cut down to a policy and a request that Vault's ACL lets
// through and that show the class plainly. On the plugin of before issue 15
// every one of them minted outside its policy.
var regressions = []struct {
	name    string
	policy  string
	request string
}{
	// Issue 15's first example: an empty list passes any allowed list (Vault
	// treats every element of an empty list as allowed) and the plugin read
	// it as "no narrowing": the role's whole scope.
	{"empty lists", tokenPolicy(`required_parameters = ["repositories", "permissions"]
		allowed_parameters = { "repositories" = ["api"] "permissions" = ["contents=read"] }`),
		`POST token/repos {"repositories":[],"permissions":[]}`},
	// The same with an empty string, which Vault's ACL splits into no
	// values at all.
	{"empty string", tokenPolicy(`allowed_parameters = { "repositories" = ["api"] }`),
		`POST token/repos {"repositories":""}`},
	// An empty list of IDs: the role's repositories, the denied one too.
	{"empty repository_ids past a denied list", deniesSecretID,
		`POST token/repos {"repository_ids":[]}`},
	// An empty object is no value the ACL compares, so no denied value
	// matches it.
	{"empty permissions object", deniesIssuesWrite,
		`POST token/repos {"permissions":{}}`},
	// A list holding one: the SDK merges a list of objects into one.
	{"permissions list holding an empty object", deniesIssuesWrite,
		`POST token/repos {"permissions":[{}]}`},
	// Issue 15's second example: a list element is compared whole, and
	// "issues=write,contents=read" ends in "=read"; the plugin split it
	// at the comma.
	{"comma inside a list element", readOnly,
		`POST token/repos {"permissions":["issues=write,contents=read"]}`},
	// Vault's ACL compares a comma-separated string whole before it
	// compares its items, so a suffix glob admits it when its last item
	// matches ...
	{"comma string past a suffix glob", readOnly,
		`POST token/repos {"permissions":"issues=write,contents=read"}`},
	// ... and a prefix glob when its first does.
	{"comma string past a prefix glob", teamReposOnly,
		`POST token/all {"repositories":"team-a-x,secret"}`},
	// The same in a query string.
	{"comma string in a query past a prefix glob", teamReposOnly,
		`GET token/all?repositories=team-a-x,secret`},
	// A JSON object is no string: no denied value matches it.
	{"permissions object past a denied list", deniesIssuesWrite,
		`POST token/repos {"permissions":{"issues":"write"}}`},
	// The same, the level holding a comma the plugin split.
	{"permissions object with a comma in a level", deniesIssuesWrite,
		`POST token/repos {"permissions":{"contents":"read,issues=write"}}`},
	// A list of objects, merged by the SDK.
	{"permissions list of objects", deniesIssuesWrite,
		`POST token/repos {"permissions":[{"issues":"write"}]}`},
	// A JSON number is no string: no value of a policy (HCL strings)
	// matches it, so a denied list never refuses it.
	{"repository id as a number", deniesSecretID,
		`POST token/all {"repository_ids":[2010]}`},
	// The plugin truncated a fraction.
	{"repository id with a fraction", deniesSecretID,
		`POST token/all {"repository_ids":2010.7}`},
	// Or read an exponent.
	{"repository id with an exponent", deniesSecretID,
		`POST token/all {"repository_ids":2.01e+03}`},
	// Spellings of 2010 that Go's strconv.ParseInt with base 0 reads (the
	// SDK's integer parsing), none of them "2010" to Vault's ACL:
	// hexadecimal ...
	{"repository id in hexadecimal", deniesSecretID,
		`POST token/all {"repository_ids":["0x7da"]}`},
	// ... octal, with a leading zero ...
	{"repository id with a leading zero", deniesSecretID,
		`POST token/all {"repository_ids":["03732"]}`},
	// ... an underscore between digits ...
	{"repository id with an underscore", deniesSecretID,
		`POST token/all {"repository_ids":"2_010"}`},
	// ... a sign.
	{"repository id with a sign", deniesSecretID,
		`POST token/all {"repository_ids":"+2010"}`},
	// Vault's ACL compares names case-sensitively; GitHub and the plugin
	// do not: "SECRET" is not secret to the ACL.
	{"name in another case past a denied list", deniesSecret,
		`POST token/all {"repositories":["SECRET"]}`},
	// "team-a-y" matches team-*; GitHub's repository is Team-A-Y, which
	// does not.
	{"name in another case past an allowed glob", teamReposOnly,
		`POST token/repos {"repositories":["team-a-y"]}`},
	// A list element is compared untrimmed; the plugin trimmed it.
	{"whitespace in a list element", deniesSecret,
		`POST token/all {"repositories":[" secret"]}`},
	// A repeated query parameter reaches the ACL as a []string, which no
	// denied value matches.
	{"repeated query parameter: repositories", deniesSecret,
		`GET token/all?repositories=api&repositories=secret`},
	// The same for IDs ...
	{"repeated query parameter: repository_ids", deniesSecretID,
		`GET token/all?repository_ids=2001&repository_ids=2010`},
	// ... and permissions.
	{"repeated query parameter: permissions", deniesIssuesWrite,
		`GET token/repos?permissions=contents=read&permissions=issues=write`},

	// Delegated role writers (issue 15): an empty list made a role reach
	// every repository ...
	{"role: empty repositories list", rolePolicy(`allowed_parameters = { "repositories" = ["team-*"] }`),
		`POST roles/team {"repositories":[]}`},
	// ... as did an empty string ...
	{"role: empty repositories string", rolePolicy(`allowed_parameters = { "repositories" = ["team-*"] }`),
		`POST roles/team {"repositories":""}`},
	// ... and empty permissions every permission granted.
	{"role: empty permissions", rolePolicy(`allowed_parameters = { "permissions" = ["*=read"] }`),
		`POST roles/team {"permissions":[]}`},
	// The token requests' classes, on role writes: a comma inside a list
	// element ...
	{"role: comma inside a list element", rolePolicy(`allowed_parameters = { "permissions" = ["*=read"] }`),
		`POST roles/team {"permissions":["issues=write,contents=read"]}`},
	// ... an object ...
	{"role: permissions object past a denied list", rolePolicy(`denied_parameters = { "permissions" = ["issues=write"] }`),
		`POST roles/team {"permissions":{"issues":"write"}}`},
	// ... a name in another case.
	{"role: name in another case", rolePolicy(`allowed_parameters = { "repositories" = ["team-*"] "installation_id" = ["1001"] }`),
		`POST roles/fresh {"installation_id":"1001","repositories":["team-a-y"]}`},
	// A role's pattern is a literal value to Vault's ACL, matched against
	// the installation's repositories by the plugin case-insensitively ...
	{"role: pattern matching another case", rolePolicy(`allowed_parameters = { "repositories" = ["team-a-*"] "installation_id" = ["1001"] }`),
		`POST roles/fresh {"installation_id":"1001","repositories":["team-a-*"]}`},
	// ... reaching what a denied list names: held to the README's contract,
	// that a denied list is compared with the pattern as written (it
	// cannot see what the pattern matches; allowed lists are the tool for
	// role writers) ...
	{"role: pattern past a denied list", rolePolicy(`denied_parameters = { "repositories" = ["secret"] }`),
		`POST roles/fresh {"installation_id":"1001","repositories":["secre*"]}`},
	// ... or everything: to Vault's ACL the value "*" matches only "*",
	// which the plugin defines as every repository: a policy admitting
	// "*" admits that, and one that does not refuses it.
	{"role: the pattern *", rolePolicy(`allowed_parameters = { "repositories" = ["*"] "installation_id" = ["1001"] }`),
		`POST roles/fresh {"installation_id":"1001","repositories":["*"]}`},
	// An owner in another case: GitHub's logins are case-insensitive.
	{"role: owner in another case", rolePolicy(`denied_parameters = { "owner" = ["octocat"] }`),
		`POST roles/all {"owner":"Octocat"}`},
	// An installation ID as a number ...
	{"role: installation_id as a number", rolePolicy(`denied_parameters = { "installation_id" = ["1002"] }`),
		`POST roles/all {"installation_id":1002}`},
	// ... or in hexadecimal.
	{"role: installation_id in hexadecimal", rolePolicy(`denied_parameters = { "installation_id" = ["1002"] }`),
		`POST roles/all {"installation_id":"0x3ea"}`},
	// A repository ID as a number.
	{"role: repository id as a number", rolePolicy(`denied_parameters = { "repository_ids" = ["2010"] }`),
		`POST roles/fresh {"installation_id":"1001","repository_ids":[2010]}`},
}

// Token policies that several regressions share.
var (
	deniesSecret      = tokenPolicy(`denied_parameters = { "repositories" = ["secret"] }`)
	deniesSecretID    = tokenPolicy(`denied_parameters = { "repository_ids" = ["2010"] }`)
	deniesIssuesWrite = tokenPolicy(`denied_parameters = { "permissions" = ["issues=write"] }`)
	readOnly          = tokenPolicy(`allowed_parameters = { "permissions" = ["*=read"] }`)
	teamReposOnly     = tokenPolicy(`allowed_parameters = { "repositories" = ["team-*"] }`)
)

// tokenPolicy and rolePolicy are a policy's one path statement, on
// token/* or roles/*, with the given parameter constraints.
func tokenPolicy(constraints string) string {
	return "path \"github/token/*\" {\n  capabilities = [\"read\", \"update\"]\n  " + constraints + "\n}\n"
}

func rolePolicy(constraints string) string {
	return "path \"github/roles/*\" {\n  capabilities = [\"create\", \"update\"]\n  " + constraints + "\n}\n"
}

// TestREADMEStatesTheCaseCount holds the README's development table to
// defaultCases.
func TestREADMEStatesTheCaseCount(t *testing.T) {
	text, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("runs its %d,%03d fixed cases", defaultCases/1000, defaultCases%1000)
	if !strings.Contains(string(text), want) {
		t.Errorf("README.md does not say %q", want)
	}
}
