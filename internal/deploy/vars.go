package deploy

import (
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// varRE matches one ${...} reference; nested braces are not supported.
var varRE = regexp.MustCompile(`\$\{([^{}]*)\}`)

// wholeVarsRE matches a scalar that is exactly one ${vars.path} reference.
var wholeVarsRE = regexp.MustCompile(`^\s*\$\{\s*vars\.([^{}\s]+)\s*\}\s*$`)

// wholeVarsRef returns the path of s when s is exactly `${vars.path}`.
func wholeVarsRef(s string) (string, bool) {
	m := wholeVarsRE.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// expand replaces every ${...} in s, which is written at w. chain lists
// the vars followed to reach s.
func (p *parser) expand(s string, w where, chain []string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var firstErr error
	out := varRE.ReplaceAllStringFunc(s, func(ref string) string {
		if firstErr != nil {
			return ref
		}
		v, err := p.expandOne(ref, strings.TrimSpace(ref[2:len(ref)-1]), w, chain)
		if err != nil {
			firstErr = err
		}
		return v
	})
	return out, firstErr
}

// expandOne returns the value of one reference ref whose inside is expr.
func (p *parser) expandOne(ref, expr string, w where, chain []string) (string, error) {
	switch {
	case strings.HasPrefix(expr, "env(") && strings.HasSuffix(expr, ")"):
		args := splitArgs(expr[len("env(") : len(expr)-1])
		if len(args) > 2 || args[0] == "" {
			return "", p.errAt(w, "malformed variable %s: use ${env(NAME)} or ${env(NAME, default)}", ref)
		}
		if v := p.getenv(args[0]); v != "" {
			return v, nil
		}
		if len(args) == 2 {
			return args[1], nil
		}
		return "", p.errAt(w, "environment variable %s is not set (used as %s)", args[0], ref)
	case strings.HasPrefix(expr, "env."):
		name := strings.TrimPrefix(expr, "env.")
		if v := p.getenv(name); v != "" {
			return v, nil
		}
		return "", p.errAt(w, "environment variable %s is not set (used as %s)", name, ref)
	case strings.HasPrefix(expr, "vars."):
		name := strings.TrimPrefix(expr, "vars.")
		if slices.Contains(chain, name) {
			return "", p.loopError(w, chain, name)
		}
		target, err := p.varNode(name, w, chain)
		if err != nil {
			return "", err
		}
		n, at, next, err := p.resolve(target, where{target.Line, "vars." + name}, append(slices.Clip(chain), name))
		switch {
		case err != nil:
			return "", err
		case isNull(n):
			return "", nil
		case n.Kind != yaml.ScalarNode:
			return "", p.errAt(w, "%s is %s, which cannot be part of a string", ref, describe(n))
		case n.Tag != tagStr:
			return n.Value, nil
		}
		return p.expand(n.Value, at, next)
	}
	return "", p.errAt(w, "unsupported variable %s: openfc expands ${env(NAME)}, ${env.NAME} and ${vars.NAME} only", ref)
}

// loopError reports that following vars.name from chain comes back to it.
func (p *parser) loopError(w where, chain []string, name string) error {
	var b strings.Builder
	for _, c := range chain {
		b.WriteString("vars." + c + " -> ")
	}
	return p.errAt(w, "variables refer to each other in a loop: %svars.%s", b.String(), name)
}

// splitArgs splits "A, 'b c'" into unquoted, trimmed arguments.
func splitArgs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if len(a) >= 2 && (a[0] == '\'' || a[0] == '"') && a[len(a)-1] == a[0] {
			a = a[1 : len(a)-1]
		}
		out = append(out, a)
	}
	return out
}

// varNode finds vars.<name> (a dot-separated path) in the top-level vars
// mapping, for a reference written at w. The node it returns may itself be
// a reference; intermediate mappings are resolved.
func (p *parser) varNode(name string, w where, chain []string) (*yaml.Node, error) {
	n := p.vars
	walked := "vars"
	for i, key := range strings.Split(name, ".") {
		if i > 0 {
			var err error
			if n, _, _, err = p.resolve(n, w, chain); err != nil {
				return nil, err
			}
		}
		var next *yaml.Node
		if n != nil && n.Kind == yaml.MappingNode {
			prs, err := p.pairs(n, walked)
			if err != nil {
				return nil, err
			}
			for _, pr := range prs {
				if pr.key.Value == key {
					next = pr.value
					break
				}
			}
		}
		walked = join(walked, key)
		if next == nil {
			return nil, p.errAt(w, "variable ${%s} is not defined", walked)
		}
		n = next
	}
	return n, nil
}
