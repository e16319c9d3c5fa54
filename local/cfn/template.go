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
	conditions map[string]*yaml.Node // the Conditions section, normalized
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
	Conditions yaml.Node `yaml:"Conditions"`
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

	t := &Template{conditions: map[string]*yaml.Node{}}
	for _, c := range pairs(&doc.Conditions) {
		t.conditions[c.key] = c.value
	}
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

// Condition evaluates the template's condition name as a deploy would, with lookup giving the
// parameters' values (and whatever else a !Ref in it names): Fn::Equals of two values, Fn::Not,
// Fn::And, Fn::Or and Condition. An unknown condition or name, or another function, gives an
// error that wraps ErrUnresolved.
func (t *Template) Condition(name string, lookup func(name string) (string, bool)) (bool, error) {
	return t.condition(name, lookup, 0)
}

// maxConditionDepth bounds conditions naming conditions: a cycle fails instead of recursing.
const maxConditionDepth = 32

func (t *Template) condition(name string, lookup func(string) (string, bool), depth int) (bool, error) {
	n, ok := t.conditions[name]
	if !ok {
		return false, fmt.Errorf("cfn: no condition %q: %w", name, ErrUnresolved)
	}
	if depth > maxConditionDepth {
		return false, fmt.Errorf("cfn: condition %q: conditions nested deeper than %d (a cycle?): %w", name, maxConditionDepth, ErrUnresolved)
	}
	v, err := t.evalCondition(n, lookup, depth+1)
	if err != nil {
		return false, fmt.Errorf("cfn: condition %s: %w", name, err)
	}
	return v, nil
}

func (t *Template) evalCondition(n *yaml.Node, lookup func(string) (string, bool), depth int) (bool, error) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return false, fmt.Errorf("line %d: want a condition function: %w", n.Line, ErrUnresolved)
	}
	fn, arg := n.Content[0].Value, n.Content[1]
	if fn == "Condition" {
		if arg.Kind != yaml.ScalarNode {
			return false, fmt.Errorf("line %d: Condition wants a name: %w", n.Line, ErrUnresolved)
		}
		return t.condition(arg.Value, lookup, depth)
	}
	if arg.Kind != yaml.SequenceNode {
		return false, fmt.Errorf("line %d: %s wants a list: %w", n.Line, fn, ErrUnresolved)
	}
	args := arg.Content
	switch fn {
	case "Fn::Equals":
		if len(args) != 2 {
			return false, fmt.Errorf("line %d: Fn::Equals wants two values: %w", n.Line, ErrUnresolved)
		}
		var s [2]string
		for i, a := range args {
			var v Value
			if err := v.UnmarshalYAML(a); err != nil {
				return false, fmt.Errorf("Fn::Equals: %w: %w", err, ErrUnresolved)
			}
			var err error
			if s[i], err = v.ResolveWith(lookup, func(c string) (bool, error) { return t.condition(c, lookup, depth) }); err != nil {
				return false, err
			}
		}
		return s[0] == s[1], nil
	case "Fn::Not":
		if len(args) != 1 {
			return false, fmt.Errorf("line %d: Fn::Not wants one condition: %w", n.Line, ErrUnresolved)
		}
		v, err := t.evalCondition(args[0], lookup, depth)
		return !v, err
	case "Fn::And", "Fn::Or":
		if len(args) < 2 {
			return false, fmt.Errorf("line %d: %s wants at least two conditions: %w", n.Line, fn, ErrUnresolved)
		}
		and := fn == "Fn::And"
		for _, a := range args {
			v, err := t.evalCondition(a, lookup, depth)
			if err != nil {
				return false, err
			}
			if v != and {
				return v, nil
			}
		}
		return and, nil
	}
	return false, fmt.Errorf("line %d: %s is not a condition function: %w", n.Line, fn, ErrUnresolved)
}
