package streams

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrFilter means a FilterCriteria pattern is not one this package can apply: bad JSON, a shape
// Lambda refuses, or an operator it does not implement. It is returned by Start, so that a
// pattern is never silently ignored (which would deliver records Lambda would not).
var ErrFilter = errors.New("streams: filter pattern")

// Filter is a parsed set of FilterCriteria patterns: a record passes when any pattern matches
// it, and every record passes an empty Filter.
type Filter struct {
	patterns []pattern
}

// pattern is one Filters[].Pattern: each key's value is a nested pattern or a list of matchers,
// and every key must match.
type pattern struct {
	fields map[string]*pattern
	leaves map[string][]matcher
}

type matcherKind int

const (
	exact matcherKind = iota
	prefix
	suffix
	equalsIgnoreCase
	exists
	anythingBut
)

type matcher struct {
	kind   matcherKind
	value  any   // exact: a JSON scalar (string, float64, bool, nil); prefix, suffix, equals-ignore-case: a string; exists: a bool
	values []any // anything-but: the scalars it refuses
}

// ParseFilter reads FilterCriteria patterns (JSON, as in the template). It implements the parts
// of Lambda's filter grammar that a DynamoDB stream filter needs: exact values (strings,
// numbers, booleans, null), prefix, suffix, equals-ignore-case, exists and anything-but. Any
// other operator (numeric, cidr, wildcard, $or) is an error wrapping ErrFilter.
func ParseFilter(patterns []string) (*Filter, error) {
	f := &Filter{}
	for i, s := range patterns {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var raw map[string]any
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("%w %d: not a JSON object: %v", ErrFilter, i, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%w %d: trailing data after the object", ErrFilter, i)
		}
		p, err := parsePattern(raw, "")
		if err != nil {
			return nil, fmt.Errorf("%w %d: %v", ErrFilter, i, err)
		}
		f.patterns = append(f.patterns, p)
	}
	return f, nil
}

func parsePattern(raw map[string]any, path string) (pattern, error) {
	if len(raw) == 0 {
		return pattern{}, fmt.Errorf("%sempty object", at(path))
	}
	p := pattern{fields: map[string]*pattern{}, leaves: map[string][]matcher{}}
	for k, v := range raw {
		if strings.HasPrefix(k, "$") {
			return pattern{}, fmt.Errorf("%s%q is not implemented locally", at(path), k)
		}
		switch v := v.(type) {
		case map[string]any:
			sub, err := parsePattern(v, path+"."+k)
			if err != nil {
				return pattern{}, err
			}
			p.fields[k] = &sub
		case []any:
			if len(v) == 0 {
				return pattern{}, fmt.Errorf("%s: an empty list matches nothing", path+"."+k)
			}
			for _, m := range v {
				mt, err := parseMatcher(m, path+"."+k)
				if err != nil {
					return pattern{}, err
				}
				p.leaves[k] = append(p.leaves[k], mt)
			}
		default:
			return pattern{}, fmt.Errorf("%s: a value must be a list of matchers or an object, not %v", path+"."+k, v)
		}
	}
	return p, nil
}

func at(path string) string {
	if path == "" {
		return ""
	}
	return path + ": "
}

func parseMatcher(m any, path string) (matcher, error) {
	obj, ok := m.(map[string]any)
	if !ok {
		v, err := scalar(m)
		if err != nil {
			return matcher{}, fmt.Errorf("%s: %v", path, err)
		}
		return matcher{kind: exact, value: v}, nil
	}
	if len(obj) != 1 {
		return matcher{}, fmt.Errorf("%s: a matcher object has exactly one operator, not %d", path, len(obj))
	}
	for op, arg := range obj {
		switch op {
		case "prefix", "suffix", "equals-ignore-case":
			s, ok := arg.(string)
			if !ok {
				return matcher{}, fmt.Errorf("%s: %s takes a string", path, op)
			}
			kind := map[string]matcherKind{"prefix": prefix, "suffix": suffix, "equals-ignore-case": equalsIgnoreCase}[op]
			return matcher{kind: kind, value: s}, nil
		case "exists":
			b, ok := arg.(bool)
			if !ok {
				return matcher{}, fmt.Errorf("%s: exists takes true or false", path)
			}
			return matcher{kind: exists, value: b}, nil
		case "anything-but":
			list, isList := arg.([]any)
			if !isList {
				list = []any{arg}
			}
			var vals []any
			for _, a := range list {
				v, err := scalar(a)
				if err != nil {
					return matcher{}, fmt.Errorf("%s: anything-but: %v (the prefix form is not implemented locally)", path, err)
				}
				vals = append(vals, v)
			}
			return matcher{kind: anythingBut, values: vals}, nil
		default:
			return matcher{}, fmt.Errorf("%s: operator %q is not implemented locally", path, op)
		}
	}
	return matcher{}, fmt.Errorf("%s: empty matcher", path) // not reached: len(obj) == 1
}

// scalar normalises a JSON scalar of a pattern: numbers compare as numbers.
func scalar(v any) (any, error) {
	switch v := v.(type) {
	case string, bool, nil:
		return v, nil
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return nil, fmt.Errorf("number %s: %v", v, err)
		}
		return f, nil
	}
	return nil, fmt.Errorf("want a string, number, boolean or null, not %T", v)
}

// Match reports whether a record, as the JSON Lambda would send for it, passes the filter.
func (f *Filter) Match(record []byte) (bool, error) {
	if len(f.patterns) == 0 {
		return true, nil
	}
	dec := json.NewDecoder(bytes.NewReader(record))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return false, fmt.Errorf("streams: a record to filter: %w", err)
	}
	for _, p := range f.patterns {
		if p.match(doc) {
			return true, nil
		}
	}
	return false, nil
}

// Len is the number of patterns.
func (f *Filter) Len() int { return len(f.patterns) }

func (p *pattern) match(doc map[string]any) bool {
	for k, sub := range p.fields {
		child, _ := doc[k].(map[string]any) // missing or not an object: only exists:false can match below
		if !sub.match(child) {
			return false
		}
	}
	for k, ms := range p.leaves {
		v, present := doc[k]
		if !slices.ContainsFunc(ms, func(m matcher) bool { return m.match(v, present) }) {
			return false
		}
	}
	return true
}

func (m matcher) match(v any, present bool) bool {
	if m.kind == exists {
		return present == m.value.(bool)
	}
	if !present {
		return false
	}
	if list, ok := v.([]any); ok { // a list matches when one of its elements does
		return slices.ContainsFunc(list, func(e any) bool { return m.match(e, true) })
	}
	got, err := scalar(v)
	if err != nil { // an object where the pattern wants a value
		return false
	}
	switch m.kind {
	case exact:
		return got == m.value
	case anythingBut:
		return !slices.Contains(m.values, got)
	}
	s, ok := got.(string)
	if !ok {
		return false
	}
	want := m.value.(string)
	switch m.kind {
	case prefix:
		return strings.HasPrefix(s, want)
	case suffix:
		return strings.HasSuffix(s, want)
	case equalsIgnoreCase:
		return strings.EqualFold(s, want)
	}
	return false
}
