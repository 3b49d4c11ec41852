package ghclient

import (
	"net/url"
	"slices"
	"strings"
)

// The permission table (permissions_table.go) is generated from GitHub's
// published REST API descriptions by scripts/openapi/update.sh, one column
// per product. GitHub adds permissions over time, so callers should treat
// a name missing from it as possibly valid.

// Product is a GitHub product whose REST API description the permission
// table comes from: github.com, GHEC (GitHub Enterprise Cloud), or a GitHub
// Enterprise Server release such as "GHES 3.19".
type Product string

// The products that are not GitHub Enterprise Server releases.
const (
	GitHubCom Product = "github.com"
	GHEC      Product = "GHEC"
)

// IsServer reports whether p is a GitHub Enterprise Server release.
func (p Product) IsServer() bool { return strings.HasPrefix(string(p), "GHES ") }

// Products returns the products the permission table describes: github.com,
// GHEC, then GitHub Enterprise Server releases, oldest first.
func Products() []Product { return slices.Clone(products[:]) }

// APIVersionsOf returns the REST API versions a product's description
// describes, oldest first.
func APIVersionsOf(p Product) []string {
	if i := slices.Index(products[:], p); i >= 0 {
		return slices.Clone(productAPIVersions[i])
	}
	return nil
}

// APIVersions returns every REST API version some product describes,
// oldest first.
func APIVersions() []string {
	var out []string
	for _, versions := range productAPIVersions {
		for _, v := range versions {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	slices.Sort(out) // dates
	return out
}

// DescriptionSource names the package and the files the permission table
// was generated from.
func DescriptionSource() string { return descriptionSource }

// ProductLevels is what one product accepts for a permission.
type ProductLevels struct {
	Product Product
	Levels  []string
}

// PermissionProducts returns the products that have a permission, with the
// levels each accepts; none when no product's description lists it.
func PermissionProducts(name string) []ProductLevels {
	row, ok := permissionTable[name]
	if !ok {
		return nil
	}
	var out []ProductLevels
	for i, levels := range row {
		if levels != "" {
			out = append(out, ProductLevels{Product: products[i], Levels: strings.Fields(levels)})
		}
	}
	return out
}

// PermissionLevels returns the levels GitHub accepts for a permission on
// any product, and whether any product's description lists it. A level one
// product accepts is never refused: the plugin does not know which release
// a server runs.
func PermissionLevels(name string) ([]string, bool) {
	var levels []string
	for _, p := range PermissionProducts(name) {
		for _, level := range p.Levels {
			if !slices.Contains(levels, level) {
				levels = append(levels, level)
			}
		}
	}
	slices.SortFunc(levels, func(a, b string) int { return levelRank[a] - levelRank[b] })
	return levels, levels != nil
}

// ProductsAt returns the products an API base URL may be: the GitHub
// Enterprise Server releases for https://HOST/api/v3, GHEC for a data
// residency host (api.SUBDOMAIN.ghe.com), github.com and GHEC for
// api.github.com. It returns nil when the URL does not tell (a proxy, a
// test server).
func ProductsAt(baseURL string) []Product {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil
	}
	host := originOf(u).host // lower case, no trailing dot
	switch {
	case strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/api/v3"):
		return slices.DeleteFunc(Products(), func(p Product) bool { return !p.IsServer() })
	case strings.HasPrefix(host, "api.") && strings.HasSuffix(host, ".ghe.com"):
		return []Product{GHEC}
	case host == "api.github.com":
		return []Product{GitHubCom, GHEC}
	}
	return nil
}

// levelRank orders the permission levels by power.
var levelRank = map[string]int{"read": 1, "write": 2, "admin": 3}

// IsLevel reports whether level is one GitHub knows: read, write or admin.
func IsLevel(level string) bool { return levelRank[level] > 0 }

// LevelCovers reports whether a grant at level granted allows a request at
// level wanted: write covers read, admin covers both.
func LevelCovers(granted, wanted string) bool {
	return IsLevel(wanted) && levelRank[granted] >= levelRank[wanted]
}
