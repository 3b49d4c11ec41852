// Command openapi writes the repository's extract of GitHub's REST API
// descriptions and the permission table generated from it. It is run by
// update.sh, which fetches the pinned @octokit/openapi package; see there.
//
//	go run ./scripts/openapi -package DIR -integrity SHA -out internal/githubspec/descriptions -table ghclient/permissions_table.go
//	go run ./scripts/openapi -out internal/githubspec/descriptions -table ghclient/permissions_table.go  # the table only
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/githubspec"
)

// operations are what the plugin and its emulator use, as "METHOD path":
// the extract keeps them and everything they refer to.
var operations = []string{
	"GET /app",
	"GET /app/installations",
	"GET /app/installations/{installation_id}",
	"POST /app/installations/{installation_id}/access_tokens",
	"GET /orgs/{org}/installation",
	"GET /users/{username}/installation",
	"GET /repos/{owner}/{repo}/installation",
	"GET /enterprises/{enterprise}/installation",
	"GET /installation/repositories",
	"DELETE /installation/token",
}

// alsoKept are components no kept operation names but the checks use: the
// error body of statuses an operation does not list.
var alsoKept = []string{"#/components/schemas/basic-error"}

func main() {
	pkg := flag.String("package", "", "the unpacked @octokit/openapi package (its package.json and generated/); empty: only regenerate the table")
	integrity := flag.String("integrity", "", "the npm registry's integrity hash of the package tarball")
	out := flag.String("out", "internal/githubspec/descriptions", "the extract's directory")
	table := flag.String("table", "ghclient/permissions_table.go", "the generated permission table")
	flag.Parse()
	if err := run(*pkg, *integrity, *out, *table); err != nil {
		fmt.Fprintln(os.Stderr, "openapi:", err)
		os.Exit(1)
	}
}

func run(pkg, integrity, out, table string) error {
	if pkg != "" {
		if err := extract(pkg, integrity, out); err != nil {
			return err
		}
	}
	src, err := githubspec.GenerateTable(os.DirFS(out))
	if err != nil {
		return err
	}
	return os.WriteFile(table, src, 0o644) //nolint:gosec // G306: a source file of the repository
}

// extract writes the manifest and each product's pruned description.
func extract(pkg, integrity, out string) error {
	var meta struct{ Name, Version string }
	if err := githubspec.ReadJSON(os.DirFS(pkg), "package.json", &meta); err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(pkg, "generated", "*.json"))
	if err != nil {
		return err
	}
	// The .deref.json files are the same descriptions with every $ref
	// inlined, ten times larger.
	files = slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, ".deref.json") })
	if len(files) == 0 {
		return fmt.Errorf("no descriptions in %s/generated", pkg)
	}
	old, _ := filepath.Glob(filepath.Join(out, "*.json"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	m := githubspec.Manifest{Package: meta.Name, Version: meta.Version, Integrity: integrity}
	for _, f := range files {
		m.Descriptions = append(m.Descriptions, filepath.Base(f))
	}
	githubspec.SortDescriptionFiles(m.Descriptions)
	for _, name := range m.Descriptions {
		var doc map[string]any
		if err := githubspec.ReadJSON(os.DirFS(filepath.Join(pkg, "generated")), name, &doc); err != nil {
			return err
		}
		pruned, err := prune(doc)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := writeJSON(filepath.Join(out, name), pruned); err != nil {
			return err
		}
	}
	return writeJSON(filepath.Join(out, githubspec.ManifestFile), m)
}

// prune keeps the operations listed above and the components they refer
// to, directly or through other components, unchanged.
func prune(doc map[string]any) (map[string]any, error) {
	paths := map[string]any{}
	var refs []string
	for _, op := range operations {
		method, p, _ := strings.Cut(op, " ")
		operation, ok := githubspec.Lookup(doc, "paths", p, strings.ToLower(method)).(map[string]any)
		if !ok {
			continue // not on this product
		}
		item, _ := paths[p].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		item[strings.ToLower(method)] = operation
		refs = collectRefs(operation, refs)
	}
	components := map[string]any{}
	refs = append(refs, alsoKept...)
	for len(refs) > 0 {
		ref := refs[0]
		refs = refs[1:]
		kind, name, err := componentOf(ref)
		if err != nil {
			return nil, err
		}
		kept, _ := components[kind].(map[string]any)
		if kept == nil {
			kept = map[string]any{}
			components[kind] = kept
		}
		if _, done := kept[name]; done {
			continue
		}
		v := githubspec.Lookup(doc, "components", kind, name)
		if v == nil {
			return nil, fmt.Errorf("%s does not resolve", ref)
		}
		kept[name] = v
		refs = collectRefs(v, refs)
	}
	return map[string]any{
		"openapi":    doc["openapi"],
		"info":       doc["info"],
		"servers":    doc["servers"],
		"paths":      paths,
		"components": components,
	}, nil
}

// componentOf splits a local reference such as
// "#/components/schemas/repository".
func componentOf(ref string) (kind, name string, err error) {
	parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
	if !strings.HasPrefix(ref, "#/components/") || len(parts) != 2 {
		return "", "", errors.New("unexpected reference " + ref)
	}
	unescape := strings.NewReplacer("~1", "/", "~0", "~")
	return parts[0], unescape.Replace(parts[1]), nil
}

// collectRefs appends every "$ref" under v.
func collectRefs(v any, refs []string) []string {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if s, ok := child.(string); ok && k == "$ref" {
				refs = append(refs, s)
				continue
			}
			refs = collectRefs(child, refs)
		}
	case []any:
		for _, child := range v {
			refs = collectRefs(child, refs)
		}
	}
	return refs
}

// writeJSON writes v indented, its keys sorted, so that an update's diff
// shows only what GitHub changed.
func writeJSON(name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(name, append(data, '\n'), 0o644) //nolint:gosec // G306: a file of the repository
}
