// Package githubspec reads the extract of GitHub's published REST API
// descriptions that the repository keeps (descriptions/, written by
// scripts/openapi/update.sh from the npm package @octokit/openapi): the
// operations a GitHub App uses to find installations and mint tokens, and
// the schemas and examples they refer to, for each product GitHub
// describes (github.com, GitHub Enterprise Cloud, each supported GitHub
// Enterprise Server release). The permission table of ghclient is
// generated from it, and tests check the emulator and the plugin against
// its schemas. Nothing here is linked into the plugin.
package githubspec

import (
	"cmp"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// ManifestFile names the extract's manifest in its directory.
const ManifestFile = "manifest.json"

//go:embed descriptions
var embedded embed.FS

// Embedded is the extract committed with the repository.
func Embedded() fs.FS {
	sub, err := fs.Sub(embedded, "descriptions")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// Manifest says where an extract comes from.
type Manifest struct {
	Package string `json:"package"`
	Version string `json:"version"`
	// Integrity is the npm registry's hash of the package tarball.
	Integrity string `json:"integrity"`
	// Descriptions are the extract's files, in product order.
	Descriptions []string `json:"descriptions"`
}

// Description is one product's extract: a subset of its OpenAPI document.
type Description struct {
	Product string // such as "github.com", "GHEC", "GHES 3.19"
	File    string // the package's file name, such as "ghes-3.19.json"
	Doc     map[string]any
}

// Load reads an extract's manifest and descriptions.
func Load(fsys fs.FS) (*Manifest, []*Description, error) {
	var m Manifest
	if err := ReadJSON(fsys, ManifestFile, &m); err != nil {
		return nil, nil, err
	}
	descs := make([]*Description, 0, len(m.Descriptions))
	for _, file := range m.Descriptions {
		d := &Description{Product: ProductOf(file), File: file}
		if err := ReadJSON(fsys, file, &d.Doc); err != nil {
			return nil, nil, err
		}
		descs = append(descs, d)
	}
	return &m, descs, nil
}

// ReadJSON decodes the JSON file name of fsys into v.
func ReadJSON(fsys fs.FS, name string, v any) error {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// ProductOf names the product a description file of the package describes:
// api.github.com.json is github.com, ghec.json GitHub Enterprise Cloud
// (GHEC), ghes-3.19.json GitHub Enterprise Server 3.19.
func ProductOf(file string) string {
	base := strings.TrimSuffix(path.Base(file), ".json")
	switch {
	case base == "api.github.com":
		return "github.com"
	case base == "ghec":
		return "GHEC"
	case strings.HasPrefix(base, "ghes-"):
		return "GHES " + strings.TrimPrefix(base, "ghes-")
	}
	return base
}

// SortDescriptionFiles orders description files as products are listed:
// github.com, GHEC, then GitHub Enterprise Server releases oldest first
// (3.9 before 3.10).
func SortDescriptionFiles(files []string) {
	rank := func(file string) (int, []int) {
		product := ProductOf(file)
		switch {
		case product == "github.com":
			return 0, nil
		case product == "GHEC":
			return 1, nil
		case strings.HasPrefix(product, "GHES "):
			var version []int
			for _, part := range strings.Split(strings.TrimPrefix(product, "GHES "), ".") {
				n, _ := strconv.Atoi(part)
				version = append(version, n)
			}
			return 2, version
		}
		return 3, nil
	}
	slices.SortFunc(files, func(a, b string) int {
		ra, va := rank(a)
		rb, vb := rank(b)
		return cmp.Or(cmp.Compare(ra, rb), slices.Compare(va, vb), strings.Compare(a, b))
	})
}

// Permissions returns the app-permissions schema's permissions and the
// levels each accepts.
func (d *Description) Permissions() (map[string][]string, error) {
	props, ok := Lookup(d.Doc, "components", "schemas", "app-permissions", "properties").(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: no components/schemas/app-permissions/properties", d.File)
	}
	out := make(map[string][]string, len(props))
	for name, raw := range props {
		enum, _ := Lookup(raw, "enum").([]any)
		for _, level := range enum {
			s, ok := level.(string)
			if !ok {
				return nil, fmt.Errorf("%s: permission %s has a level that is not a string: %v", d.File, name, level)
			}
			out[name] = append(out[name], s)
		}
		if len(out[name]) == 0 {
			return nil, fmt.Errorf("%s: permission %s lists no levels", d.File, name)
		}
	}
	return out, nil
}

// Lookup follows keys through nested objects; nil when one is missing.
func Lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// Operations lists the description's operations, as "METHOD path".
func (d *Description) Operations() []string {
	var out []string
	paths, _ := d.Doc["paths"].(map[string]any)
	for p, item := range paths {
		methods, _ := item.(map[string]any)
		for method := range methods {
			out = append(out, strings.ToUpper(method)+" "+p)
		}
	}
	slices.Sort(out)
	return out
}
