// Package cfn reads the SAM template (template.yaml), the one source of truth for the tables'
// shapes and the functions' settings, so local tooling creates the same tables and runs the
// functions with the same environment as a deploy. It reads only what local runs need and leaves
// intrinsic functions (!Ref, !Sub, ...) for the caller to resolve against local values.
package cfn

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Template is a parsed template.
type Template struct {
	parameters []Parameter
	resources  []Resource
	tables     []Table
	functions  []Function
}

// Parameter is one entry of the template's Parameters.
type Parameter struct {
	Name       string
	Type       string
	Default    string
	HasDefault bool // Default "" may be a real default, as for the optional secrets
}

// Resource is one entry of the template's Resources, whatever its type: what a !Ref may name
// besides a parameter.
type Resource struct {
	LogicalID string
	Type      string // e.g. "AWS::SecretsManager::Secret"
}

// Load reads and parses the template at path. It fails on a table or function it cannot read, so
// that a template local runs cannot follow is found at once rather than at the first request.
func Load(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cfn: %w", err)
	}
	t, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("cfn: %s: %w", path, err)
	}
	return t, nil
}

// Parameters lists the template's parameters in template order.
func (t *Template) Parameters() []Parameter { return append([]Parameter(nil), t.parameters...) }

// Resources lists every resource in template order.
func (t *Template) Resources() []Resource { return append([]Resource(nil), t.resources...) }

// Tables lists every AWS::DynamoDB::Table resource in template order.
func (t *Template) Tables() []Table { return append([]Table(nil), t.tables...) }

// Functions lists every AWS::Serverless::Function resource in template order, with
// Globals.Function merged in.
func (t *Template) Functions() []Function { return append([]Function(nil), t.functions...) }

// document is the part of a template this package reads. Resources stay nodes so that their
// order survives and each is decoded by its type.
type document struct {
	Parameters yaml.Node `yaml:"Parameters"`
	Globals    struct {
		Function functionProps `yaml:"Function"`
		HTTPAPI  apiProps      `yaml:"HttpApi"`
	} `yaml:"Globals"`
	Resources yaml.Node `yaml:"Resources"`
}

type resource struct {
	Type       string    `yaml:"Type"`
	Properties yaml.Node `yaml:"Properties"`
}

func parse(b []byte) (*Template, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, err
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("empty template")
	}
	normalize(&root)
	var doc document
	if err := root.Decode(&doc); err != nil {
		return nil, err
	}
	if doc.Resources.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("no Resources")
	}

	t := &Template{}
	var err error
	if t.parameters, err = parameters(&doc.Parameters); err != nil {
		return nil, err
	}
	// First pass: the APIs, whose default authorizer the functions' routes inherit.
	apis := map[string]apiProps{}
	res := pairs(&doc.Resources)
	for _, r := range res {
		var v resource
		if err := r.value.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", r.key, err)
		}
		t.resources = append(t.resources, Resource{LogicalID: r.key, Type: v.Type})
		if v.Type != "AWS::Serverless::HttpApi" {
			continue
		}
		var p apiProps
		if err := v.Properties.Decode(&p); err != nil {
			return nil, fmt.Errorf("%s: %w", r.key, err)
		}
		apis[r.key] = p
	}
	for _, r := range res {
		var v resource
		_ = r.value.Decode(&v) // decoded without error above
		switch v.Type {
		case "AWS::DynamoDB::Table":
			tb, err := table(r.key, &v.Properties)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.key, err)
			}
			t.tables = append(t.tables, tb)
		case "AWS::Serverless::Function":
			fn, err := function(r.key, &v.Properties, &doc.Globals.Function, doc.Globals.HTTPAPI, apis)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.key, err)
			}
			t.functions = append(t.functions, fn)
		}
	}
	if err := t.checkStreams(); err != nil {
		return nil, err
	}
	return t, nil
}

func parameters(n *yaml.Node) ([]Parameter, error) {
	var out []Parameter
	for _, p := range pairs(n) {
		var v struct {
			Type    string    `yaml:"Type"`
			Default yaml.Node `yaml:"Default"`
		}
		if err := p.value.Decode(&v); err != nil {
			return nil, fmt.Errorf("parameter %s: %w", p.key, err)
		}
		par := Parameter{Name: p.key, Type: v.Type}
		if v.Default.Kind != 0 { // present
			if v.Default.Kind != yaml.ScalarNode {
				// A CommaDelimitedList may default to a list; locally it is its joined form.
				var list []string
				if err := v.Default.Decode(&list); err != nil {
					return nil, fmt.Errorf("parameter %s: Default: %w", p.key, err)
				}
				par.Default = strings.Join(list, ",")
			} else {
				par.Default = v.Default.Value
			}
			par.HasDefault = true
		}
		out = append(out, par)
	}
	return out, nil
}

type pair struct {
	key   string
	value *yaml.Node
}

// pairs lists a mapping node's entries in order; anything else has none.
func pairs(n *yaml.Node) []pair {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]pair, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, pair{key: n.Content[i].Value, value: n.Content[i+1]})
	}
	return out
}
