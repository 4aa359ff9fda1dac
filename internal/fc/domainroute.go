package fc

import (
	"regexp"
	"strconv"
	"strings"
)

// DomainRoutes is a domain's routes ready to match requests: their
// rewrite rules compiled once, when the domain is stored or loaded.
type DomainRoutes struct {
	routes []compiledRoute
}

type compiledRoute struct {
	cfg *PathConfig
	// prefix is the path before a trailing "/*" ("" for "/*"); exact
	// routes have none.
	prefix   string
	isPrefix bool
	rewrite  *Rewriter
}

// CompileRoutes prepares d's routes for MatchRoute. d was validated, so
// an error here means a stored domain no longer validates (a newer
// openfc's rules): the caller logs it and serves the domain without it.
func CompileRoutes(d *CustomDomain) (*DomainRoutes, error) {
	dr := &DomainRoutes{}
	if d.RouteConfig == nil {
		return dr, nil
	}
	for i := range d.RouteConfig.Routes {
		r := &d.RouteConfig.Routes[i]
		cr := compiledRoute{cfg: r}
		if p, ok := strings.CutSuffix(r.Path, "/*"); ok {
			cr.prefix, cr.isPrefix = p, true
		}
		if r.RewriteConfig != nil {
			rw, err := compileRewrite("rewriteConfig", r.RewriteConfig)
			if err != nil {
				return nil, err
			}
			cr.rewrite = rw
		}
		dr.routes = append(dr.routes, cr)
	}
	return dr, nil
}

// Match finds the route of a path: the route whose path equals it first,
// then the "/*" route with the longest prefix ("/a/*" matches "/a" and
// everything under "/a/"; "/*" matches every path). ok is false when no
// route matches. rw is the route's rewriter (nil: none).
func (dr *DomainRoutes) Match(path string) (route *PathConfig, rw *Rewriter, ok bool) {
	best := -1
	for i := range dr.routes {
		r := &dr.routes[i]
		if !r.isPrefix {
			if r.cfg.Path == path {
				return r.cfg, r.rewrite, true
			}
			continue
		}
		if path != r.prefix && !strings.HasPrefix(path, r.prefix+"/") {
			continue
		}
		if best < 0 || len(r.prefix) > len(dr.routes[best].prefix) {
			best = i
		}
	}
	if best < 0 {
		return nil, nil, false
	}
	return dr.routes[best].cfg, dr.routes[best].rewrite, true
}

// Rewriter applies a route's rewrite rules to a request's path: the
// exact rules first, then the wildcard rules, then the regex rules; the
// first rule that matches rewrites the path, and no other runs.
type Rewriter struct {
	equal map[string]string
	// rules are the wildcard rules (turned into regexps) then the regex
	// rules, in their order.
	rules []compiledRule
}

type compiledRule struct {
	re          *regexp.Regexp
	replacement string
}

// compileRewrite checks and compiles a rewrite config; field names it in
// errors.
func compileRewrite(field string, c *RewriteConfig) (*Rewriter, error) {
	rw := &Rewriter{equal: map[string]string{}}
	for i, r := range c.EqualRules {
		if err := checkRule(field+".equalRules", i, r); err != nil {
			return nil, err
		}
		if _, dup := rw.equal[r.Match]; !dup { // the first of equal matches wins
			rw.equal[r.Match] = r.Replacement
		}
	}
	for i, r := range c.WildcardRules {
		if err := checkRule(field+".wildcardRules", i, r); err != nil {
			return nil, err
		}
		rw.rules = append(rw.rules, compiledRule{regexp.MustCompile(WildcardRegexp(r.Match)), r.Replacement})
	}
	for i, r := range c.RegexRules {
		if err := checkRule(field+".regexRules", i, r); err != nil {
			return nil, err
		}
		re, err := regexp.Compile(r.Match)
		if err != nil {
			return nil, invalid("%s.regexRules[%d].match %q is not an RE2 regular expression: %v", field, i, r.Match, err)
		}
		rw.rules = append(rw.rules, compiledRule{re, r.Replacement})
	}
	return rw, nil
}

func checkRule(field string, i int, r RewriteRule) error {
	switch {
	case r.Match == "":
		return invalid("%s[%d].match is required", field, i)
	case r.Replacement == "":
		return invalid("%s[%d].replacement is required", field, i)
	case !strings.HasPrefix(r.Replacement, "/") && !strings.HasPrefix(r.Replacement, "$"):
		return invalid("%s[%d].replacement %q must start with '/'", field, i, r.Replacement)
	}
	return nil
}

// WildcardRegexp turns a wildcard rule's match into a regexp: '*'
// captures any string, a leading '^' anchors the match at the start of
// the path, everything else is literal. The end is always anchored, and
// without '^' the start is not: FC's "/old" rewrites "/test/old" too.
func WildcardRegexp(match string) string {
	var b strings.Builder
	rest, anchored := strings.CutPrefix(match, "^")
	if anchored {
		b.WriteByte('^')
	}
	for i, part := range strings.Split(rest, "*") {
		if i > 0 {
			b.WriteString("(.*)")
		}
		b.WriteString(regexp.QuoteMeta(part))
	}
	b.WriteByte('$')
	return b.String()
}

// Rewrite applies the rules to a path and its raw query. A replacement
// that carries a query ("/new?a=1") puts it before the request's own.
// ok is false when no rule matched (path and query come back unchanged).
func (rw *Rewriter) Rewrite(path, rawQuery string) (newPath, newQuery string, ok bool) {
	if rw == nil {
		return path, rawQuery, false
	}
	out, found := rw.equal[path]
	if !found {
		for _, r := range rw.rules {
			if m := r.re.FindStringSubmatch(path); m != nil {
				out, found = expand(r.replacement, m), true
				break
			}
		}
	}
	if !found {
		return path, rawQuery, false
	}
	p, q, hasQuery := strings.Cut(out, "?")
	switch {
	case !hasQuery || q == "":
		q = rawQuery
	case rawQuery != "":
		q += "&" + rawQuery
	}
	return p, q, true
}

// expand substitutes $1…$n in a replacement with the captures of m ($0:
// the whole match); a '$' not followed by a group number stays literal,
// and a group the match does not have becomes "".
func expand(replacement string, m []string) string {
	if !strings.Contains(replacement, "$") {
		return replacement
	}
	var b strings.Builder
	for i := 0; i < len(replacement); i++ {
		c := replacement[i]
		j := i + 1
		for j < len(replacement) && replacement[j] >= '0' && replacement[j] <= '9' {
			j++
		}
		if c != '$' || j == i+1 {
			b.WriteByte(c)
			continue
		}
		if n, err := strconv.Atoi(replacement[i+1 : j]); err == nil && n < len(m) {
			b.WriteString(m[n])
		}
		i = j - 1
	}
	return b.String()
}
