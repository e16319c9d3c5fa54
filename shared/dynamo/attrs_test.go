package dynamo

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestExpressionsNameOnlyDeclaredAttributes holds the package's attribute names
// to one definition each: an item struct's dynamodbav tag, or an attr… constant
// of keys.go for an attribute written as a raw attribute map (a marker's state)
// or read by the stream's consumer and filter. Every name an expression uses
// (the values of ExpressionAttributeNames literals) must be one of them, so an
// update or a condition cannot name an attribute no item has (a typo would
// otherwise write a new attribute and leave the real one alone, silently).
func TestExpressionsNameOnlyDeclaredAttributes(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	tags := map[string]bool{}     // attribute names declared by item structs
	consts := map[string]string{} // string constants, to resolve names given by constant
	type use struct {
		name string
		at   token.Position
	}
	var used []use
	var parsed []*ast.File
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Field:
				if n.Tag != nil {
					tag, _ := strconv.Unquote(n.Tag.Value)
					if av, ok := reflect.StructTag(tag).Lookup("dynamodbav"); ok {
						if name, _, _ := strings.Cut(av, ","); name != "" && name != "-" {
							tags[name] = true
						}
					}
				}
			case *ast.ValueSpec:
				for i, id := range n.Names {
					if i < len(n.Values) {
						if lit, ok := n.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[id.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
			return true
		})
	}
	for _, f := range parsed {
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok || !isStringMap(lit.Type) {
				return true
			}
			for _, e := range lit.Elts {
				kv, ok := e.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				k, ok := kv.Key.(*ast.BasicLit)
				if !ok || !strings.HasPrefix(k.Value, `"#`) {
					continue // not an expression attribute name
				}
				switch v := kv.Value.(type) {
				case *ast.BasicLit:
					s, _ := strconv.Unquote(v.Value)
					used = append(used, use{s, fset.Position(v.Pos())})
				case *ast.Ident:
					s, ok := consts[v.Name]
					switch {
					case !ok:
						t.Errorf("%s: expression name %s is not a string constant of the package", fset.Position(v.Pos()), v.Name)
					case !strings.HasPrefix(v.Name, "attr"):
						used = append(used, use{s, fset.Position(v.Pos())})
					}
				}
			}
			return true
		})
	}
	if len(used) < 10 {
		t.Fatalf("found %d expression attribute names; the scan of the package's files is broken", len(used))
	}
	for _, u := range used {
		if !tags[u.name] {
			t.Errorf("%s: an expression names attribute %q, which no item struct declares (dynamodbav tags: %v)", u.at, u.name, sortedKeys(tags))
		}
	}
}

func isStringMap(e ast.Expr) bool {
	m, ok := e.(*ast.MapType)
	if !ok {
		return false
	}
	k, kok := m.Key.(*ast.Ident)
	v, vok := m.Value.(*ast.Ident)
	return kok && vok && k.Name == "string" && v.Name == "string"
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
