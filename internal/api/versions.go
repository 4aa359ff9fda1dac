package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/openfc/openfc/internal/fc"
)

// Versions and aliases (FC 2.0: per service). POST …/versions publishes
// a snapshot of the service's functions; GET lists, DELETE removes one no
// alias uses. Aliases are CRUD under …/aliases; PUT takes If-Match like
// the other updates.

// VersionStore reads and writes versions and aliases (store.JetStream).
type VersionStore interface {
	// PublishVersion snapshots the service's functions into a new version
	// with the next id, which it sets in v.
	PublishVersion(ctx context.Context, service string, v *fc.Version) error
	// ListVersions returns the service's versions, oldest first.
	ListVersions(ctx context.Context, service string) ([]*fc.Version, error)
	// VersionExists reads whether the version is stored.
	VersionExists(ctx context.Context, service, id string) (bool, error)
	// DeleteVersion fails with VersionInUse while an alias uses it; it
	// returns the code checksums the version referenced.
	DeleteVersion(ctx context.Context, service, id string) ([]string, error)

	CreateAlias(ctx context.Context, service string, a *fc.Alias) (uint64, error)
	GetAlias(ctx context.Context, service, name string) (*fc.Alias, uint64, error)
	UpdateAlias(ctx context.Context, service string, a *fc.Alias, rev uint64) (uint64, error)
	DeleteAlias(ctx context.Context, service, name string, rev uint64) error
	// ListAliases returns the service's aliases sorted by name.
	ListAliases(ctx context.Context, service string) ([]*fc.Alias, error)
	// VersionFunctions returns the functions of the version a version id
	// or an alias (its main version) names, sorted by name.
	VersionFunctions(service, qualifier string) ([]*fc.Function, error)
}

func (a *API) versionRoutes(h func(pattern string, fn handlerFunc)) {
	const sv = v + "/services/{service}"
	h("POST "+sv+"/versions", a.publishVersion)
	h("GET "+sv+"/versions", a.listVersions)
	h("DELETE "+sv+"/versions/{version}", a.deleteVersion)
	h("POST "+sv+"/aliases", a.createAlias)
	h("GET "+sv+"/aliases", a.listAliases)
	h("GET "+sv+"/aliases/{alias}", a.getAlias)
	h("PUT "+sv+"/aliases/{alias}", a.updateAlias)
	h("DELETE "+sv+"/aliases/{alias}", a.deleteAlias)
}

func versionNotFound(service, id string) *fc.Error {
	return fc.Errorf(fc.CodeVersionNotFound, "version '%s' of service '%s' does not exist", id, service)
}

func aliasNotFound(service, name string) *fc.Error {
	return fc.Errorf(fc.CodeAliasNotFound, "alias '%s' of service '%s' does not exist", name, service)
}

func (a *API) publishVersion(r *http.Request, _ string) (int, any, http.Header, error) {
	service := r.PathValue("service")
	var ver fc.Version
	if r.ContentLength != 0 {
		if err := a.decode(r, &ver); err != nil {
			return 0, nil, nil, err
		}
	}
	if err := fc.ValidateVersion(&ver); err != nil {
		return 0, nil, nil, err
	}
	ver.CreatedTime = a.now()
	ver.LastModifiedTime = ver.CreatedTime
	if err := a.opts.Store.PublishVersion(r.Context(), service, &ver); err != nil {
		return 0, nil, nil, storeErr(err, serviceNotFound(service), nil)
	}
	return http.StatusOK, &ver, nil, nil
}

// listVersions pages as FC does: direction BACKWARD (the default) lists
// the newest first, FORWARD the oldest first; startKey and nextToken are
// version ids to start from, limit caps the page.
func (a *API) listVersions(r *http.Request, _ string) (int, any, http.Header, error) {
	service := r.PathValue("service")
	p, err := parsePage(r)
	if err != nil {
		return 0, nil, nil, err
	}
	dir := strings.ToUpper(r.URL.Query().Get("direction"))
	switch dir {
	case "":
		dir = "BACKWARD"
	case "BACKWARD", "FORWARD":
	default:
		return 0, nil, nil, fc.Errorf(fc.CodeInvalidArgument, "direction %q is invalid: use FORWARD or BACKWARD", r.URL.Query().Get("direction"))
	}
	all, err := a.opts.Store.ListVersions(r.Context(), service)
	if err != nil {
		return 0, nil, nil, storeErr(err, serviceNotFound(service), nil)
	}
	if dir == "BACKWARD" {
		slices.Reverse(all)
	}
	start := p.startKey
	if p.nextToken != "" {
		start = p.nextToken
	}
	s, _ := strconv.ParseUint(start, 10, 64)
	items, next := []*fc.Version{}, ""
	for _, ver := range all {
		n, _ := strconv.ParseUint(ver.VersionID, 10, 64)
		if start != "" && ((dir == "FORWARD" && n < s) || (dir == "BACKWARD" && n > s)) {
			continue
		}
		if len(items) == p.limit {
			next = ver.VersionID
			break
		}
		items = append(items, ver)
	}
	return http.StatusOK, map[string]any{"versions": items, "nextToken": next, "direction": dir}, nil, nil
}

func (a *API) deleteVersion(r *http.Request, _ string) (int, any, http.Header, error) {
	service, id := r.PathValue("service"), r.PathValue("version")
	if _, _, err := a.opts.Store.GetService(r.Context(), service); err != nil {
		return 0, nil, nil, storeErr(err, serviceNotFound(service), nil)
	}
	sums, err := a.opts.Store.DeleteVersion(r.Context(), service, id)
	if err != nil {
		return 0, nil, nil, storeErr(err, versionNotFound(service, id), nil)
	}
	for _, sum := range sums { // collected at once unless LATEST or another version still uses it
		a.releasedCode(r.Context(), sum)
	}
	return http.StatusNoContent, nil, nil, nil
}

// validateAlias checks an alias against FC's rules, its versions read
// from the store.
func (a *API) validateAlias(ctx context.Context, service string, al *fc.Alias) error {
	var storeErr error
	exists := func(id string) bool {
		ok, err := a.opts.Store.VersionExists(ctx, service, id)
		if err != nil {
			storeErr = err
		}
		return ok
	}
	err := fc.ValidateAlias(al, exists)
	if storeErr != nil {
		return storeErr
	}
	return err
}

func (a *API) createAlias(r *http.Request, _ string) (int, any, http.Header, error) {
	service := r.PathValue("service")
	var al fc.Alias
	if err := a.decode(r, &al); err != nil {
		return 0, nil, nil, err
	}
	if _, _, err := a.opts.Store.GetService(r.Context(), service); err != nil {
		return 0, nil, nil, storeErr(err, serviceNotFound(service), nil)
	}
	if err := a.validateAlias(r.Context(), service, &al); err != nil {
		return 0, nil, nil, err
	}
	al.CreatedTime = a.now()
	al.LastModifiedTime = al.CreatedTime
	rev, err := a.opts.Store.CreateAlias(r.Context(), service, &al)
	if err != nil {
		return 0, nil, nil, storeErr(err, serviceNotFound(service),
			fc.Errorf(fc.CodeAliasAlreadyExists, "alias '%s' already exists in service '%s'", al.AliasName, service))
	}
	return http.StatusOK, &al, etag(rev), nil
}

func (a *API) getAlias(r *http.Request, _ string) (int, any, http.Header, error) {
	service, name := r.PathValue("service"), r.PathValue("alias")
	al, rev, err := a.opts.Store.GetAlias(r.Context(), service, name)
	if err != nil {
		return 0, nil, nil, a.aliasErr(r.Context(), err, service, name)
	}
	return http.StatusOK, al, etag(rev), nil
}

// aliasErr maps an alias lookup error: a missing service first.
func (a *API) aliasErr(ctx context.Context, err error, service, name string) error {
	if errors.Is(err, fc.ErrNotFound) {
		if _, _, serr := a.opts.Store.GetService(ctx, service); errors.Is(serr, fc.ErrNotFound) {
			return serviceNotFound(service)
		}
		return aliasNotFound(service, name)
	}
	return storeErr(err, nil, nil)
}

func (a *API) listAliases(r *http.Request, _ string) (int, any, http.Header, error) {
	service := r.PathValue("service")
	p, err := parsePage(r)
	if err != nil {
		return 0, nil, nil, err
	}
	if _, _, err := a.opts.Store.GetService(r.Context(), service); err != nil {
		return 0, nil, nil, storeErr(err, serviceNotFound(service), nil)
	}
	all, err := a.opts.Store.ListAliases(r.Context(), service)
	if err != nil {
		return 0, nil, nil, err
	}
	items, next := paginate(p, all, func(al *fc.Alias) string { return al.AliasName })
	return http.StatusOK, map[string]any{"aliases": items, "nextToken": next}, nil, nil
}

// updateAlias merges the body into the alias (FC's update: the fields
// given replace the stored ones) under If-Match.
func (a *API) updateAlias(r *http.Request, _ string) (int, any, http.Header, error) {
	service, name := r.PathValue("service"), r.PathValue("alias")
	rev, err := ifMatch(r)
	if err != nil {
		return 0, nil, nil, err
	}
	cur, curRev, err := a.opts.Store.GetAlias(r.Context(), service, name)
	if err != nil {
		return 0, nil, nil, a.aliasErr(r.Context(), err, service, name)
	}
	if rev != 0 && rev != curRev {
		return 0, nil, nil, fc.Errorf(fc.CodePreconditionFailed, "the resource being modified has been changed")
	}
	var upd fc.Alias
	if err := a.mergeBody(r, cur, &upd); err != nil {
		return 0, nil, nil, err
	}
	upd.AliasName, upd.CreatedTime, upd.LastModifiedTime = name, cur.CreatedTime, a.now()
	if err := a.validateAlias(r.Context(), service, &upd); err != nil {
		return 0, nil, nil, err
	}
	newRev, err := a.opts.Store.UpdateAlias(r.Context(), service, &upd, curRev)
	if err != nil {
		return 0, nil, nil, storeErr(err, aliasNotFound(service, name), nil)
	}
	return http.StatusOK, &upd, etag(newRev), nil
}

func (a *API) deleteAlias(r *http.Request, _ string) (int, any, http.Header, error) {
	service, name := r.PathValue("service"), r.PathValue("alias")
	rev, err := ifMatch(r)
	if err != nil {
		return 0, nil, nil, err
	}
	if err := a.opts.Store.DeleteAlias(r.Context(), service, name, rev); err != nil {
		return 0, nil, nil, a.aliasErr(r.Context(), err, service, name)
	}
	return http.StatusNoContent, nil, nil, nil
}
