package api

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"

	"github.com/openfc/openfc/internal/fc"
)

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:4]) + "-" + hex.EncodeToString(b[4:])
}

func serviceNotFound(name string) *fc.Error {
	return fc.Errorf(fc.CodeServiceNotFound, "service '%s' does not exist", name)
}

func (a *API) createService(r *http.Request, _ string) (int, any, http.Header, error) {
	var s fc.Service
	if err := a.decode(r, &s); err != nil {
		return 0, nil, nil, err
	}
	if err := fc.ValidateService(&s); err != nil {
		return 0, nil, nil, err
	}
	s.ServiceID = newID()
	s.CreatedTime = a.now()
	s.LastModifiedTime = s.CreatedTime
	rev, err := a.opts.Store.CreateService(r.Context(), &s)
	if err != nil {
		return 0, nil, nil, storeErr(err, nil, fc.Errorf(fc.CodeServiceAlreadyExists, "service '%s' already exists", s.ServiceName))
	}
	return http.StatusOK, &s, etag(rev), nil
}

func (a *API) getService(r *http.Request, _ string) (int, any, http.Header, error) {
	name, _, err := a.splitQualifier(r.PathValue("service"))
	if err != nil {
		return 0, nil, nil, err
	}
	s, rev, err := a.opts.Store.GetService(r.Context(), name)
	if err != nil {
		return 0, nil, nil, storeErr(err, serviceNotFound(name), nil)
	}
	return http.StatusOK, s, etag(rev), nil
}

func (a *API) listServices(r *http.Request, _ string) (int, any, http.Header, error) {
	p, err := parsePage(r)
	if err != nil {
		return 0, nil, nil, err
	}
	all, err := a.opts.Store.ListServices(r.Context())
	if err != nil {
		return 0, nil, nil, err
	}
	items, next := paginate(p, all, func(s *fc.Service) string { return s.ServiceName })
	return http.StatusOK, map[string]any{"services": items, "nextToken": next}, nil, nil
}

func (a *API) updateService(r *http.Request, _ string) (int, any, http.Header, error) {
	name := r.PathValue("service")
	rev, err := ifMatch(r)
	if err != nil {
		return 0, nil, nil, err
	}
	cur, curRev, err := a.opts.Store.GetService(r.Context(), name)
	if err != nil {
		return 0, nil, nil, storeErr(err, serviceNotFound(name), nil)
	}
	if rev != 0 && rev != curRev {
		return 0, nil, nil, fc.Errorf(fc.CodePreconditionFailed, "the resource being modified has been changed")
	}
	var upd fc.Service
	if err := a.mergeBody(r, cur, &upd); err != nil {
		return 0, nil, nil, err
	}
	if upd.ServiceName != name {
		return 0, nil, nil, fc.Errorf(fc.CodeInvalidArgument, "serviceName %q in the body does not match the path's %q", upd.ServiceName, name)
	}
	upd.ServiceID, upd.CreatedTime, upd.LastModifiedTime = cur.ServiceID, cur.CreatedTime, a.now()
	if err := fc.ValidateService(&upd); err != nil {
		return 0, nil, nil, err
	}
	newRev, err := a.opts.Store.UpdateService(r.Context(), &upd, curRev)
	if err != nil {
		return 0, nil, nil, storeErr(err, serviceNotFound(name), nil)
	}
	if a.opts.ServiceChanged != nil && fc.ServiceNetworkChanged(cur, &upd) {
		a.opts.ServiceChanged(name)
	}
	return http.StatusOK, &upd, etag(newRev), nil
}

func (a *API) deleteService(r *http.Request, _ string) (int, any, http.Header, error) {
	name := r.PathValue("service")
	rev, err := ifMatch(r)
	if err != nil {
		return 0, nil, nil, err
	}
	if rev != 0 {
		// Preconditions first: a stale etag is 412 even when the service
		// still has functions.
		if _, cur, err := a.opts.Store.GetService(r.Context(), name); err != nil {
			return 0, nil, nil, storeErr(err, serviceNotFound(name), nil)
		} else if cur != rev {
			return 0, nil, nil, fc.Errorf(fc.CodePreconditionFailed, "the resource being modified has been changed")
		}
	}
	err = a.opts.Store.DeleteService(r.Context(), name, rev)
	if err != nil {
		if isNotEmpty(err) {
			return 0, nil, nil, fc.Errorf(fc.CodeServiceNotEmpty, "service '%s' is not empty: delete its functions, versions and aliases first", name)
		}
		return 0, nil, nil, storeErr(err, serviceNotFound(name), nil)
	}
	return http.StatusNoContent, nil, nil, nil
}
