package store

import (
	"cmp"
	"slices"
	"strings"

	"github.com/openfc/openfc/internal/fc"
)

// ResolveFunction finds, from the catalog, the function a qualified call
// names: LATEST (or "") is the live function, a version id that
// version's snapshot, an alias the version fc.PickVersion chooses with
// pick (uniform in [0, 1); 1 always picks the alias's main version). The
// function's VersionID tells which version it is ("" for LATEST). The
// HTTP trigger is the one bound to qualifier, else the function's first
// (nil when it has none). Errors are FC's: ServiceNotFound,
// VersionNotFound, AliasNotFound, FunctionNotFound. The values are
// shared: callers must not modify them.
//
// The catalog is fed by the watches, so an alias moved on any node is
// seen here as soon as its change arrives: the next call picks anew.
func (s *JetStream) ResolveFunction(service, qualifier, function string, pick float64) (*fc.Function, *fc.Trigger, error) {
	c := s.cat
	c.mu.RLock()
	defer c.mu.RUnlock()
	if it, found := c.lookup(bServices, parent{}, service); !found || it.val == nil {
		return nil, nil, fc.Errorf(fc.CodeServiceNotFound, "service '%s' does not exist", service)
	}
	var f *fc.Function
	if qualifier == "" || qualifier == fc.LATEST {
		it, _ := c.lookup(bFunctions, parent{service}, function)
		f, _ = it.val.(*fc.Function)
	} else {
		v, err := c.versionOf(service, qualifier, pick)
		if err != nil {
			return nil, nil, err
		}
		f = v.Functions[function]
	}
	if f == nil {
		return nil, nil, fc.Errorf(fc.CodeFunctionNotFound, "function '%s' does not exist in service '%s'", function, service)
	}
	return f, c.httpTrigger(service, function, qualifier), nil
}

// versionOf resolves a version id or an alias (weighted by pick) to its
// stored version. c.mu must be held.
func (c *catalog) versionOf(service, qualifier string, pick float64) (*storedVersion, error) {
	id := qualifier
	if !fc.IsVersionID(qualifier) {
		it, _ := c.lookup(bAliases, parent{service}, qualifier)
		a, _ := it.val.(*fc.Alias)
		if a == nil {
			return nil, fc.QualifierNotFound(service, qualifier)
		}
		id = fc.PickVersion(a, pick)
	}
	it, _ := c.lookup(bVersions, parent{service}, id)
	v, _ := it.val.(*storedVersion)
	if v == nil {
		return nil, fc.QualifierNotFound(service, id)
	}
	return v, nil
}

// httpTrigger returns the function's HTTP trigger bound to qualifier (FC:
// one per qualifier), else its HTTP trigger with the smallest name (nil:
// none). A trigger without a qualifier is bound to LATEST. c.mu must be
// held.
func (c *catalog) httpTrigger(service, function, qualifier string) *fc.Trigger {
	if qualifier == "" {
		qualifier = fc.LATEST
	}
	var best *fc.Trigger
	var bestName string
	bestBound := false
	for name, it := range c.tab[bTriggers][parent{service, function}] {
		t, _ := it.val.(*fc.Trigger)
		if t == nil || !strings.EqualFold(t.TriggerType, "http") {
			continue
		}
		q := t.Qualifier
		if q == "" {
			q = fc.LATEST
		}
		bound := q == qualifier
		if best == nil || (bound && !bestBound) || (bound == bestBound && name < bestName) {
			best, bestName, bestBound = t, name, bound
		}
	}
	return best
}

// QualifierExists reports, from the catalog, whether qualifier names
// something in service: LATEST, a stored version or an alias.
func (s *JetStream) QualifierExists(service, qualifier string) bool {
	if qualifier == "" || qualifier == fc.LATEST {
		return true
	}
	c := s.cat
	c.mu.RLock()
	defer c.mu.RUnlock()
	b := bAliases
	if fc.IsVersionID(qualifier) {
		b = bVersions
	}
	it, found := c.lookup(b, parent{service}, qualifier)
	return found && it.val != nil
}

// VersionFunctions returns, from the catalog, the functions of the version
// a version id or an alias (its main version) names, sorted by name.
// Errors are FC's (VersionNotFound, AliasNotFound). The values are
// shared: callers must not modify them.
func (s *JetStream) VersionFunctions(service, qualifier string) ([]*fc.Function, error) {
	c := s.cat
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, err := c.versionOf(service, qualifier, 1)
	if err != nil {
		return nil, err
	}
	out := make([]*fc.Function, 0, len(v.Functions))
	for _, f := range v.Functions {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *fc.Function) int { return cmp.Compare(a.FunctionName, b.FunctionName) })
	return out, nil
}
