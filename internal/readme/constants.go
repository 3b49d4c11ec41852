package readme

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
)

// Row is one number the table must state: its key, where the code keeps
// it (the constant's name, or an expression for a value that is not a
// constant), and the value as the README writes it.
type Row struct {
	Key, Source, Value string
}

// Check holds the table of the README at path to rows, and rows to the
// code: it returns a problem for each row the table states otherwise or
// lacks, and for each numeric constant of the package in dir that no row
// names as its Source, so that a number added to the code without a row
// fails the test that calls it.
func Check(path, dir string, rows []Row) ([]string, error) {
	numbers, err := Numbers(path)
	if err != nil {
		return nil, err
	}
	constants, err := Constants(dir)
	if err != nil {
		return nil, err
	}
	var problems []string
	sources := map[string]bool{}
	for _, row := range rows {
		sources[row.Source] = true
		if got, ok := numbers[row.Key]; !ok || got != row.Value {
			problems = append(problems, fmt.Sprintf("README says %s = %q; the code (%s) uses %q", row.Key, got, row.Source, row.Value))
		}
	}
	for _, name := range constants {
		if !sources[name] {
			problems = append(problems, fmt.Sprintf("the constant %s has no row in the README's Limits and timings table", name))
		}
	}
	return problems, nil
}

// Constants returns the names of the numeric package-level constants of
// the Go files in dir, tests left out: those whose value is not a string
// and not an enumeration counted by iota.
func Constants(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var names []string
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			if gen, ok := decl.(*ast.GenDecl); ok && gen.Tok == token.CONST {
				names = append(names, numericConstants(gen)...)
			}
		}
	}
	slices.Sort(names)
	return names, nil
}

func numericConstants(gen *ast.GenDecl) []string {
	var names []string
	for _, spec := range gen.Specs {
		vs := spec.(*ast.ValueSpec) // a const declaration holds nothing else
		if len(vs.Values) == 0 || declaredString(vs.Type) || !numeric(vs.Values[0]) {
			continue
		}
		for _, name := range vs.Names {
			names = append(names, name.Name)
		}
	}
	return names
}

// declaredString reports whether a constant is declared a string, which
// its value's syntax may not tell (another package's constant).
func declaredString(typ ast.Expr) bool {
	ident, ok := typ.(*ast.Ident)
	return ok && ident.Name == "string"
}

// numeric reports whether a constant's value is a number, as far as its
// syntax tells: it holds a number or another package's constant
// (time.Second, ghclient.MaxTokenRepositories), and neither a string
// literal nor iota.
func numeric(expr ast.Expr) bool {
	strs, iota, numbers := false, false, false
	ast.Inspect(expr, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BasicLit:
			strs = strs || n.Kind == token.STRING
			numbers = numbers || n.Kind == token.INT || n.Kind == token.FLOAT
		case *ast.Ident:
			iota = iota || n.Name == "iota"
		case *ast.SelectorExpr:
			numbers = true
		}
		return true
	})
	return numbers && !strs && !iota
}

// T is what Require needs of a *testing.T.
type T interface {
	Helper()
	Fatal(args ...any)
	Error(args ...any)
}

// Require fails t with each problem Check finds.
func Require(t T, path, dir string, rows []Row) {
	t.Helper()
	problems, err := Check(path, dir, rows)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}
