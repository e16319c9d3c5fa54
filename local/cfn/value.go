package cfn

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ErrUnresolved means a value holds an intrinsic function that cannot be evaluated locally, or a
// name the caller's lookup does not know.
var ErrUnresolved = errors.New("cannot be resolved locally")

// Value is a template value kept as written: a literal, or an intrinsic function with its
// argument, so that a caller can resolve it against local values (a !Ref to a table becomes that
// table's local name, a !Ref to a parameter its value).
type Value struct {
	// Fn is the intrinsic function in its long form ("Ref", "Fn::Sub", "Fn::GetAtt",
	// "Fn::If", ...), whichever form the template used; empty for a literal.
	Fn string
	// Text is the literal as written, or a scalar argument: the name after Ref, the string
	// of a Sub, "Resource.Attribute" for a GetAtt. Empty when the argument is a list or map.
	Text string
	// Arg is the argument's node for the forms Text cannot hold (!If's list, !Sub's list
	// form); nil for a literal.
	Arg *yaml.Node
}

// Ref returns the name a !Ref value refers to.
func (v Value) Ref() (string, bool) {
	return v.Text, v.Fn == "Ref"
}

// String writes the value as the template's short form would: "!Ref ScenesTable", or the literal.
func (v Value) String() string {
	if v.Fn == "" {
		return v.Text
	}
	arg := v.Text
	if v.Text == "" && v.Arg != nil {
		b, err := yaml.Marshal(v.Arg)
		if err == nil {
			arg = strings.TrimSpace(string(b))
		}
	}
	return "!" + strings.TrimPrefix(v.Fn, "Fn::") + " " + arg
}

// Resolve evaluates a literal, a !Ref, a !GetAtt or a !Sub; lookup gives the value of a
// parameter or resource name ("ScenesTable"), of a pseudo parameter ("AWS::Region") or of an
// attribute ("ScenesTable.Arn"). Other functions, and names lookup does not know, give an error
// that wraps ErrUnresolved.
func (v Value) Resolve(lookup func(name string) (string, bool)) (string, error) {
	return v.ResolveWith(lookup, nil)
}

// ResolveWith is Resolve that also evaluates !If [Condition, then, else], asking cond for the
// condition's value (Template.Condition does it as a deploy would); the branch taken resolves as
// any value does, and !Ref AWS::NoValue to "" (the variable is absent). A nil cond leaves !If
// unresolved.
func (v Value) ResolveWith(lookup func(name string) (string, bool), cond func(name string) (bool, error)) (string, error) {
	switch v.Fn {
	case "":
		return v.Text, nil
	case "Ref", "Fn::GetAtt":
		if v.Fn == "Ref" && v.Text == "AWS::NoValue" {
			return "", nil
		}
		if s, ok := lookup(v.Text); ok {
			return s, nil
		}
		return "", fmt.Errorf("cfn: %s: unknown name %q: %w", v, v.Text, ErrUnresolved)
	case "Fn::Sub":
		return v.sub(lookup, cond)
	case "Fn::If":
		if cond == nil {
			break
		}
		if v.Arg == nil || v.Arg.Kind != yaml.SequenceNode || len(v.Arg.Content) != 3 || v.Arg.Content[0].Kind != yaml.ScalarNode {
			return "", fmt.Errorf("cfn: %s: want [condition, then, else]: %w", v, ErrUnresolved)
		}
		holds, err := cond(v.Arg.Content[0].Value)
		if err != nil {
			return "", fmt.Errorf("cfn: %s: %w", v, err)
		}
		branch := v.Arg.Content[2]
		if holds {
			branch = v.Arg.Content[1]
		}
		var b Value
		if err := b.UnmarshalYAML(branch); err != nil {
			return "", fmt.Errorf("cfn: %s: %w: %w", v, err, ErrUnresolved)
		}
		return b.ResolveWith(lookup, cond)
	}
	return "", fmt.Errorf("cfn: %s: %w", v, ErrUnresolved)
}

// sub evaluates both forms of Fn::Sub: a string, or [string, {Name: value}].
func (v Value) sub(lookup func(string) (string, bool), cond func(string) (bool, error)) (string, error) {
	text := v.Text
	vars := map[string]string{}
	if v.Arg != nil && v.Arg.Kind == yaml.SequenceNode {
		if len(v.Arg.Content) != 2 || v.Arg.Content[0].Kind != yaml.ScalarNode {
			return "", fmt.Errorf("cfn: %s: want [string, {variables}]: %w", v, ErrUnresolved)
		}
		text = v.Arg.Content[0].Value
		for _, p := range pairs(v.Arg.Content[1]) {
			var val Value
			if err := p.value.Decode(&val); err != nil {
				return "", fmt.Errorf("cfn: %s: variable %s: %w", v, p.key, err)
			}
			s, err := val.ResolveWith(lookup, cond)
			if err != nil {
				return "", err
			}
			vars[p.key] = s
		}
	}
	var b strings.Builder
	for {
		i := strings.Index(text, "${")
		if i < 0 {
			b.WriteString(text)
			return b.String(), nil
		}
		j := strings.IndexByte(text[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("cfn: %s: unterminated ${: %w", v, ErrUnresolved)
		}
		b.WriteString(text[:i])
		name := text[i+2 : i+j]
		switch s, ok := vars[name]; {
		case strings.HasPrefix(name, "!"): // ${!Literal} writes ${Literal}
			b.WriteString("${" + name[1:] + "}")
		case ok:
			b.WriteString(s)
		default:
			s, ok := lookup(name)
			if !ok {
				return "", fmt.Errorf("cfn: %s: unknown name %q: %w", v, name, ErrUnresolved)
			}
			b.WriteString(s)
		}
		text = text[i+j+1:]
	}
}

// UnmarshalYAML reads a literal scalar or an intrinsic function in its long form (normalize has
// rewritten the short forms by then).
func (v *Value) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch {
	case n.Kind == yaml.ScalarNode:
		*v = Value{Text: n.Value}
		return nil
	case n.Kind == yaml.MappingNode && len(n.Content) == 2 && isIntrinsic(n.Content[0].Value):
		fn, arg := n.Content[0].Value, n.Content[1]
		*v = Value{Fn: fn, Arg: arg}
		switch {
		case arg.Kind == yaml.ScalarNode:
			v.Text = arg.Value
		case fn == "Fn::GetAtt" && arg.Kind == yaml.SequenceNode:
			parts := make([]string, 0, len(arg.Content))
			for _, c := range arg.Content {
				parts = append(parts, c.Value)
			}
			v.Text = strings.Join(parts, ".")
		}
		return nil
	}
	return fmt.Errorf("line %d: want a string or an intrinsic function", n.Line)
}

func isIntrinsic(key string) bool {
	return key == "Ref" || key == "Condition" || strings.HasPrefix(key, "Fn::")
}

// normalize rewrites CloudFormation's short-form tags into the long forms, in place: `!Ref X`
// becomes {Ref: X}, `!GetAtt A.B` becomes {Fn::GetAtt: [A, B]}, `!Sub s` becomes {Fn::Sub: s}.
// After it, the tree decodes like plain YAML, and a tagged value where a literal is required
// fails as a map would, instead of decoding as its bare argument.
func normalize(n *yaml.Node) {
	for _, c := range n.Content {
		normalize(c)
	}
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return
	}
	name := strings.TrimPrefix(n.Tag, "!")
	key := "Fn::" + name
	if name == "Ref" || name == "Condition" {
		key = name
	}
	arg := *n
	arg.Anchor = "" // aliases point at n, which becomes the whole function
	arg.Style &^= yaml.TaggedStyle
	switch arg.Kind {
	case yaml.ScalarNode:
		arg.Tag = "!!str"
	case yaml.SequenceNode:
		arg.Tag = "!!seq"
	case yaml.MappingNode:
		arg.Tag = "!!map"
	}
	if name == "GetAtt" && arg.Kind == yaml.ScalarNode {
		// !GetAtt Resource.Attribute.Maybe.Dotted: the resource ends at the first dot.
		res, att, _ := strings.Cut(arg.Value, ".")
		arg = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: n.Line, Column: n.Column, Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: res, Line: n.Line, Column: n.Column},
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: att, Line: n.Line, Column: n.Column},
		}}
	}
	*n = yaml.Node{
		Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column,
		Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: n.Line, Column: n.Column},
			&arg,
		},
	}
}

// intrinsicIn returns the first intrinsic function found in n, for an error that says where a
// literal was required.
func intrinsicIn(n *yaml.Node) (Value, int, bool) {
	if n == nil {
		return Value{}, 0, false
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 && isIntrinsic(n.Content[0].Value) {
		var v Value
		_ = v.UnmarshalYAML(n)
		return v, n.Line, true
	}
	for _, c := range n.Content {
		if v, line, ok := intrinsicIn(c); ok {
			return v, line, true
		}
	}
	return Value{}, 0, false
}
