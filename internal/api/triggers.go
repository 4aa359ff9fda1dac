package api

import (
	"context"
	"errors"
	"github.com/openfc/openfc/internal/auth"
	"net"
	"net/http"
	"net/url"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/route"
)

func triggerNotFound(service, function, name string) *fc.Error {
	return fc.Errorf(fc.CodeTriggerNotFound, "trigger '%s' does not exist in service '%s' and function '%s'", name, service, function)
}

// withURLs returns a copy of t with its invocation URLs filled in:
// urlInternet is the trigger subdomain (FC 3.0's meaning), urlIntranet the
// proxy form on the server's own address. A trigger with
// disableURLInternet has neither.
func (a *API) withURLs(t *fc.Trigger) *fc.Trigger {
	c := *t
	if t.TriggerConfig != nil && t.TriggerConfig.DisableURLInternet {
		return &c
	}
	c.URLIntranet = a.opts.PublicURL + "/" + fc.APIVersion + "/proxy/" + t.ServiceName + "/" + t.FunctionName + "/"
	c.URLInternet = c.URLIntranet
	if u, err := url.Parse(a.opts.PublicURL); err == nil && a.opts.TriggerDomain != "" && t.TriggerID != "" {
		host := route.SubdomainLabel(t.ServiceName, t.FunctionName, t.URLID()) + "." + a.opts.TriggerDomain
		if p := u.Port(); p != "" {
			host = net.JoinHostPort(host, p)
		}
		c.URLInternet = u.Scheme + "://" + host + "/"
	}
	return &c
}

func (a *API) createTrigger(r *http.Request, _ string) (int, any, http.Header, error) {
	service, function := r.PathValue("service"), r.PathValue("function")
	ctx := r.Context()
	var t fc.Trigger
	if err := a.decode(r, &t); err != nil {
		return 0, nil, nil, err
	}
	if err := validateTrigger(&t); err != nil {
		return 0, nil, nil, err
	}
	if _, _, err := a.opts.Store.GetFunction(ctx, service, function); err != nil {
		return 0, nil, nil, a.functionErr(ctx, err, service, function)
	}
	if err := a.checkTrigger(ctx, service, function, &t, true); err != nil {
		return 0, nil, nil, err
	}
	t.ServiceName, t.FunctionName = service, function
	t.URLInternet, t.URLIntranet = "", "" // computed by withURLs, never stored
	t.TriggerID = newID()
	t.CreatedTime = a.now()
	t.LastModifiedTime = t.CreatedTime
	rev, err := a.opts.Store.CreateTrigger(ctx, service, function, &t)
	if err != nil {
		if errors.Is(err, fc.ErrNotFound) {
			return 0, nil, nil, a.functionErr(ctx, err, service, function)
		}
		return 0, nil, nil, storeErr(err, nil,
			fc.Errorf(fc.CodeTriggerAlreadyExists, "trigger '%s' already exists in service '%s' and function '%s'", t.TriggerName, service, function))
	}
	return http.StatusOK, a.withURLs(&t), etag(rev), nil
}

func (a *API) getTrigger(r *http.Request, _ string) (int, any, http.Header, error) {
	service, function, name := r.PathValue("service"), r.PathValue("function"), r.PathValue("trigger")
	t, rev, err := a.opts.Store.GetTrigger(r.Context(), service, function, name)
	if err != nil {
		return 0, nil, nil, a.leafErr(r.Context(), err, service, function, triggerNotFound(service, function, name))
	}
	return http.StatusOK, a.withURLs(t), etag(rev), nil
}

func (a *API) listTriggers(r *http.Request, _ string) (int, any, http.Header, error) {
	service, function := r.PathValue("service"), r.PathValue("function")
	p, err := parsePage(r)
	if err != nil {
		return 0, nil, nil, err
	}
	if _, _, err := a.opts.Store.GetFunction(r.Context(), service, function); err != nil {
		return 0, nil, nil, a.functionErr(r.Context(), err, service, function)
	}
	all, err := a.opts.Store.ListTriggers(r.Context(), service, function)
	if err != nil {
		return 0, nil, nil, err
	}
	items, next := paginate(p, all, func(t *fc.Trigger) string { return t.TriggerName })
	for i, t := range items {
		items[i] = a.withURLs(t)
	}
	return http.StatusOK, map[string]any{"triggers": items, "nextToken": next}, nil, nil
}

func (a *API) updateTrigger(r *http.Request, _ string) (int, any, http.Header, error) {
	service, function, name := r.PathValue("service"), r.PathValue("function"), r.PathValue("trigger")
	ctx := r.Context()
	rev, err := ifMatch(r)
	if err != nil {
		return 0, nil, nil, err
	}
	cur, curRev, err := a.opts.Store.GetTrigger(ctx, service, function, name)
	if err != nil {
		return 0, nil, nil, a.leafErr(ctx, err, service, function, triggerNotFound(service, function, name))
	}
	if rev != 0 && rev != curRev {
		return 0, nil, nil, fc.Errorf(fc.CodePreconditionFailed, "the resource being modified has been changed")
	}
	var t fc.Trigger
	if err := a.mergeBody(r, cur, &t); err != nil {
		return 0, nil, nil, err
	}
	if t.TriggerName != name {
		return 0, nil, nil, fc.Errorf(fc.CodeInvalidArgument, "triggerName %q in the body does not match the path's %q", t.TriggerName, name)
	}
	if err := validateTrigger(&t); err != nil {
		return 0, nil, nil, err
	}
	if err := a.checkTrigger(ctx, service, function, &t, false); err != nil {
		return 0, nil, nil, err
	}
	t.ServiceName, t.FunctionName = service, function
	t.TriggerID, t.CreatedTime, t.LastModifiedTime = cur.TriggerID, cur.CreatedTime, a.now()
	t.URLInternet, t.URLIntranet = "", ""
	newRev, err := a.opts.Store.UpdateTrigger(ctx, service, function, &t, curRev)
	if err != nil {
		return 0, nil, nil, a.leafErr(ctx, err, service, function, triggerNotFound(service, function, name))
	}
	return http.StatusOK, a.withURLs(&t), etag(newRev), nil
}

func (a *API) deleteTrigger(r *http.Request, _ string) (int, any, http.Header, error) {
	service, function, name := r.PathValue("service"), r.PathValue("function"), r.PathValue("trigger")
	rev, err := ifMatch(r)
	if err != nil {
		return 0, nil, nil, err
	}
	if err := a.opts.Store.DeleteTrigger(r.Context(), service, function, name, rev); err != nil {
		return 0, nil, nil, a.leafErr(r.Context(), err, service, function, triggerNotFound(service, function, name))
	}
	return http.StatusNoContent, nil, nil, nil
}

// checkTrigger enforces the rules that involve other resources: the
// qualifier must exist (LATEST, a version or an alias), the name is unique (on
// create), and a version or alias has at most one HTTP trigger.
func (a *API) checkTrigger(ctx context.Context, service, function string, t *fc.Trigger, creating bool) error {
	if err := a.checkQualifier(service, t.Qualifier); err != nil {
		return err
	}
	existing, err := a.opts.Store.ListTriggers(ctx, service, function)
	if err != nil {
		return err
	}
	for _, e := range existing {
		if e.TriggerName == t.TriggerName {
			if creating {
				return fc.Errorf(fc.CodeTriggerAlreadyExists, "trigger '%s' already exists in service '%s' and function '%s'", t.TriggerName, service, function)
			}
			continue
		}
		if e.TriggerType == "http" && e.Qualifier == t.Qualifier {
			return fc.Errorf(fc.CodeInvalidArgument, "triggerName %q: function '%s' already has the HTTP trigger '%s' for qualifier %s; a version or alias can have only one HTTP trigger",
				t.TriggerName, function, e.TriggerName, t.Qualifier)
		}
	}
	return nil
}

// validateTrigger checks a trigger's config, the keys of a jwt trigger
// included.
func validateTrigger(t *fc.Trigger) error {
	if err := fc.ValidateTrigger(t); err != nil {
		return err
	}
	return auth.CheckJWKS(t)
}
