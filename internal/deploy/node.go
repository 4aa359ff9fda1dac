package deploy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxDepth bounds YAML alias chains and the nesting of free-form values.
const maxDepth = 64

// Tags of the YAML scalars the walker cares about.
const (
	tagNull  = "!!null"
	tagStr   = "!!str"
	tagMerge = "!!merge"
)

// where locates a piece of text in the file for messages.
type where struct {
	line  int
	field string
}

// errf returns an *Error at line for field.
func (p *parser) errf(line int, field, format string, args ...any) error {
	return &Error{File: p.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// errAt returns an *Error at w.
func (p *parser) errAt(w where, format string, args ...any) error {
	return p.errf(w.line, w.field, format, args...)
}

// join appends key to a dotted field path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names a node's value for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "an empty value"
}

// isNull reports whether n is absent or a YAML null (`key:` or `key: ~`).
func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == tagNull
}

// deref follows YAML aliases.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxDepth; i++ {
		n = n.Alias
	}
	return n
}

// val is a value being read. Type errors are reported at line/path, where
// the field is written; errors in its text (variables) at `at`, where the
// text is written, which differs when the value came from vars.
type val struct {
	n    *yaml.Node
	line int
	path string
	at   where
	// chain lists the vars followed to reach n, to detect loops.
	chain []string
}

// value resolves the node n written for field path at line.
func (p *parser) value(n *yaml.Node, line int, path string) (val, error) {
	r, at, chain, err := p.resolve(n, where{line, path}, nil)
	if err != nil {
		return val{}, err
	}
	return val{n: r, line: line, path: path, at: at, chain: chain}, nil
}

// resolve follows aliases and whole-value ${vars.x} references from n,
// written at w, so that `service: ${vars.service}` can name a mapping
// defined under vars. It returns the final node, where it is written, and
// the chain of vars followed (extending chain).
func (p *parser) resolve(n *yaml.Node, w where, chain []string) (*yaml.Node, where, []string, error) {
	for {
		n = deref(n)
		if n == nil || n.Kind != yaml.ScalarNode || n.Tag != tagStr {
			return n, w, chain, nil
		}
		name, ok := wholeVarsRef(n.Value)
		if !ok {
			return n, w, chain, nil
		}
		if slices.Contains(chain, name) {
			return nil, w, chain, p.loopError(w, chain, name)
		}
		target, err := p.varNode(name, w, chain)
		if err != nil {
			return nil, w, chain, err
		}
		chain = append(slices.Clip(chain), name)
		n, w = target, where{target.Line, "vars." + name}
	}
}

// pair is one key/value of a mapping.
type pair struct {
	key   *yaml.Node
	value *yaml.Node
}

// pairs returns the entries of mapping m in file order, merged (`<<: *x`)
// entries after the explicit ones unless overridden. A key written twice is
// an error, as in YAML itself.
func (p *parser) pairs(m *yaml.Node, field string) ([]pair, error) {
	var out []pair
	seen := map[string]int{}
	var merged []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Tag == tagMerge {
			merged = append(merged, v)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			return nil, p.errf(k.Line, join(field, k.Value), "defined twice (first at line %d)", first)
		}
		seen[k.Value] = k.Line
		out = append(out, pair{k, v})
	}
	for _, v := range merged {
		v = deref(v)
		srcs := []*yaml.Node{v}
		if v != nil && v.Kind == yaml.SequenceNode {
			srcs = v.Content
		}
		for _, src := range srcs {
			src = deref(src)
			if src == nil || src.Kind != yaml.MappingNode {
				return nil, p.errf(m.Line, field, "a merge key (<<) must refer to a mapping")
			}
			more, err := p.pairs(src, field)
			if err != nil {
				return nil, err
			}
			for _, pr := range more {
				if _, dup := seen[pr.key.Value]; !dup {
					seen[pr.key.Value] = pr.key.Line
					out = append(out, pr)
				}
			}
		}
	}
	return out, nil
}

// obj is a YAML mapping being read, with the line and dotted path that name
// it in messages.
type obj struct {
	p     *parser
	line  int
	path  string
	pairs []pair
}

// asObj checks that v is a mapping and indexes it.
func (p *parser) asObj(v val) (obj, error) {
	if v.n.Kind != yaml.MappingNode {
		return obj{}, p.errf(v.line, v.path, "expected a mapping, got %s", describe(v.n))
	}
	prs, err := p.pairs(v.n, v.path)
	if err != nil {
		return obj{}, err
	}
	return obj{p: p, line: v.line, path: v.path, pairs: prs}, nil
}

// find returns the entry for key, or false.
func (o obj) find(key string) (pair, bool) {
	for _, pr := range o.pairs {
		if pr.key.Value == key {
			return pr, true
		}
	}
	return pair{}, false
}

// has reports whether key is present with a non-null value.
func (o obj) has(key string) bool {
	pr, ok := o.find(key)
	return ok && !isNull(deref(pr.value))
}

// lineOf returns the line of key, or of the mapping when key is absent.
func (o obj) lineOf(key string) int {
	if pr, ok := o.find(key); ok {
		return pr.key.Line
	}
	return o.line
}

// get returns the resolved value of key; its node is nil when the key is
// absent or null.
func (o obj) get(key string) (val, error) {
	pr, ok := o.find(key)
	if !ok {
		return val{line: o.line, path: join(o.path, key)}, nil
	}
	v, err := o.p.value(pr.value, pr.key.Line, join(o.path, key))
	if err != nil {
		return val{}, err
	}
	if isNull(v.n) {
		v.n = nil
	}
	return v, nil
}

// obj returns the mapping under key; ok is false when it is absent.
func (o obj) obj(key string) (sub obj, ok bool, err error) {
	v, err := o.get(key)
	if err != nil || v.n == nil {
		return obj{}, false, err
	}
	sub, err = o.p.asObj(v)
	return sub, err == nil, err
}

// scalar returns the text of a scalar value with its variables expanded.
// want names the expected type in the error for a mapping or list.
func (p *parser) scalar(v val, want string) (string, error) {
	if v.n.Kind != yaml.ScalarNode {
		return "", p.errf(v.line, v.path, "expected %s, got %s", want, describe(v.n))
	}
	if v.n.Tag != tagStr {
		return v.n.Value, nil
	}
	return p.expand(v.n.Value, v.at, v.chain)
}

// str returns the string under key, "" when absent. Numbers and booleans
// are taken as written.
func (o obj) str(key string) (string, error) {
	v, err := o.get(key)
	if err != nil || v.n == nil {
		return "", err
	}
	return o.p.scalar(v, "a string")
}

// integer returns the integer under key, 0 when absent. Variables are
// expanded first, so `memorySize: ${env(MEM)}` works.
func (o obj) integer(key string) (int, error) {
	v, err := o.get(key)
	if err != nil || v.n == nil {
		return 0, err
	}
	s, err := o.p.scalar(v, "an integer")
	if err != nil {
		return 0, err
	}
	i, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, o.p.errf(v.line, v.path, "expected an integer, got %q", s)
	}
	return i, nil
}

// boolean returns the boolean under key, false when absent.
func (o obj) boolean(key string) (bool, error) {
	v, err := o.get(key)
	if err != nil || v.n == nil {
		return false, err
	}
	s, err := o.p.scalar(v, "true or false")
	if err != nil {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, o.p.errf(v.line, v.path, "expected true or false, got %q", s)
}

// list returns the elements of the list under key, nil when absent. Null
// elements have a nil node.
func (o obj) list(key string) ([]val, error) {
	v, err := o.get(key)
	if err != nil || v.n == nil {
		return nil, err
	}
	if v.n.Kind != yaml.SequenceNode {
		return nil, o.p.errf(v.line, v.path, "expected a list, got %s", describe(v.n))
	}
	out := make([]val, 0, len(v.n.Content))
	for i, c := range v.n.Content {
		iv, err := o.p.value(c, c.Line, fmt.Sprintf("%s[%d]", v.path, i))
		if err != nil {
			return nil, err
		}
		if isNull(iv.n) {
			iv.n = nil
		}
		out = append(out, iv)
	}
	return out, nil
}

// strList returns the list of strings under key, nil when absent.
func (o obj) strList(key string) ([]string, error) {
	items, err := o.list(key)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, it := range items {
		if it.n == nil {
			return nil, o.p.errf(it.line, it.path, "expected a string, got an empty value")
		}
		s, err := o.p.scalar(it, "a string")
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// strMap returns the string-to-string mapping under key (environment
// variables), nil when absent. A null value is the empty string.
func (o obj) strMap(key string) (map[string]string, error) {
	sub, ok, err := o.obj(key)
	if err != nil || !ok {
		return nil, err
	}
	out := make(map[string]string, len(sub.pairs))
	for _, pr := range sub.pairs {
		v, err := sub.get(pr.key.Value)
		if err != nil {
			return nil, err
		}
		if v.n == nil {
			out[pr.key.Value] = ""
			continue
		}
		if out[pr.key.Value], err = o.p.scalar(v, "a string"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// toAny converts a value into plain Go values (map[string]any, []any,
// string, int64, float64, bool, nil), expanding variables in strings. It is
// used for fields whose shape another package checks, such as
// triggerConfig.authConfig (read into fc.JWTAuthConfig through JSON).
func (p *parser) toAny(v val, depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errf(v.line, v.path, "nested too deeply")
	}
	if isNull(v.n) {
		return nil, nil
	}
	switch v.n.Kind {
	case yaml.MappingNode:
		o, err := p.asObj(v)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(o.pairs))
		for _, pr := range o.pairs {
			cv, err := o.get(pr.key.Value)
			if err != nil {
				return nil, err
			}
			if out[pr.key.Value], err = p.toAny(cv, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(v.n.Content))
		for i, c := range v.n.Content {
			cv, err := p.value(c, c.Line, fmt.Sprintf("%s[%d]", v.path, i))
			if err != nil {
				return nil, err
			}
			x, err := p.toAny(cv, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		return out, nil
	}
	switch v.n.Tag {
	case "!!int":
		if i, err := strconv.ParseInt(v.n.Value, 0, 64); err == nil {
			return i, nil
		}
	case "!!float":
		if f, err := strconv.ParseFloat(v.n.Value, 64); err == nil {
			return f, nil
		}
	case "!!bool":
		return strings.EqualFold(v.n.Value, "true"), nil
	case tagStr:
		return p.expand(v.n.Value, v.at, v.chain)
	}
	return v.n.Value, nil
}
