package repo

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestEveryFuzzTargetIsInTheMakefile: `make test` and `make fuzz` fuzz the
// targets FUZZ_TARGETS lists, so a Fuzz function missing from it would only ever
// run its seeds. The list and the repository's Fuzz functions must be the same.
func TestEveryFuzzTargetIsInTheMakefile(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	listed := fuzzTargetsOfMakefile(t, filepath.Join(root, "Makefile"))
	found := fuzzFuncs(t, root)
	if len(found) == 0 {
		t.Fatal("no func Fuzz… found in the repository: the search is broken")
	}
	for _, f := range found {
		if !slices.Contains(listed, f) {
			t.Errorf("%s is not in the Makefile's FUZZ_TARGETS: add it, or make test never fuzzes it", f)
		}
	}
	for _, l := range listed {
		if !slices.Contains(found, l) {
			t.Errorf("the Makefile's FUZZ_TARGETS lists %s, which no _test.go file defines", l)
		}
	}
}

var fuzzTargetsLine = regexp.MustCompile(`(?m)^FUZZ_TARGETS\s*([+:]?)=((?:.*\\\n)*.*)$`)

// fuzzTargetsOfMakefile returns FUZZ_TARGETS' entries, package:Target, from its
// assignments (:= or =, then any +=) in order, continuation lines included.
func fuzzTargetsOfMakefile(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ms := fuzzTargetsLine.FindAllSubmatch(b, -1)
	if ms == nil {
		t.Fatalf("%s does not set FUZZ_TARGETS", path)
	}
	var out []string
	for _, m := range ms {
		if string(m[1]) != "+" {
			out = out[:0]
		}
		out = append(out, strings.Fields(strings.ReplaceAll(string(m[2]), "\\\n", " "))...)
	}
	return out
}

// fuzzFuncs returns every fuzz target of the module's test files as
// ./dir:FuzzName, skipping what go test skips (testdata, node_modules, dot and
// underscore folders).
func fuzzFuncs(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil && isFuzzTarget(fn) {
				out = append(out, "./"+filepath.ToSlash(rel)+":"+fn.Name.Name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// isFuzzTarget reports func FuzzXxx(f *testing.F), as go test finds them.
func isFuzzTarget(fn *ast.FuncDecl) bool {
	if !strings.HasPrefix(fn.Name.Name, "Fuzz") || len(fn.Type.Params.List) != 1 || len(fn.Type.Params.List[0].Names) > 1 {
		return false
	}
	star, ok := fn.Type.Params.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	sel, ok := star.X.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "F" && isIdent(sel.X, "testing")
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}
