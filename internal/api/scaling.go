package api

import (
	"errors"
	"net/http"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/store"
)

// InstanceLister reports the running instances of a function (the
// instance manager). Implementations must be safe for concurrent use.
type InstanceLister interface {
	ListInstances(service, function string) []fc.InstanceInfo
}

// DefaultMaxProvisionTarget is the provision-config target cap when
// Options.MaxProvisionTarget is 0.
const DefaultMaxProvisionTarget = 100

// scalingRef is the function version a scaling request names.
type scalingRef struct {
	service, qualifier, function string
}

// scalingRef resolves "{service}[.{qualifier}]/functions/{function}" of a
// scaling or instances request: only LATEST exists, and the function must.
func (a *API) scalingRef(r *http.Request) (scalingRef, error) {
	service, qualifier, err := a.splitQualifier(r.PathValue("service"))
	if err != nil {
		return scalingRef{}, err
	}
	name := r.PathValue("function")
	if _, _, err := a.opts.Store.GetFunction(r.Context(), service, name); err != nil {
		return scalingRef{}, a.functionErr(r.Context(), err, service, name)
	}
	return scalingRef{service: service, qualifier: qualifier, function: name}, nil
}

func (a *API) resource(ref scalingRef) string {
	return fc.ScalingResource(a.opts.AccountID, ref.service, ref.qualifier, ref.function)
}

// listName is the name list requests sort, page and prefix-match scaling
// configs by: "service#qualifier#function" ('#' sorts before every name
// character, so this order is the (service, qualifier, function) order).
func listName(k store.ScalingKey) string { return k.Service + "#" + k.Qualifier + "#" + k.Function }

func onDemandNotFound(ref scalingRef) *fc.Error {
	return fc.Errorf(fc.CodeOnDemandConfigNotFound, "on-demand config of function '%s' in service '%s' (qualifier %s) does not exist", ref.function, ref.service, ref.qualifier)
}

func (a *API) putOnDemandConfig(r *http.Request, _ string) (int, any, http.Header, error) {
	ref, err := a.scalingRef(r)
	if err != nil {
		return 0, nil, nil, err
	}
	var in struct {
		MaximumInstanceCount *int `json:"maximumInstanceCount"`
	}
	if err := a.decode(r, &in); err != nil {
		return 0, nil, nil, err
	}
	switch {
	case in.MaximumInstanceCount == nil:
		return 0, nil, nil, fc.Errorf(fc.CodeInvalidArgument, "maximumInstanceCount is required")
	case *in.MaximumInstanceCount < 0:
		return 0, nil, nil, fc.Errorf(fc.CodeInvalidArgument, "maximumInstanceCount %d is invalid: it must be 0 or more", *in.MaximumInstanceCount)
	}
	c := &fc.OnDemandConfig{Resource: a.resource(ref), MaximumInstanceCount: *in.MaximumInstanceCount}
	if err := a.opts.Store.PutOnDemandConfig(r.Context(), ref.service, ref.qualifier, ref.function, c); err != nil {
		return 0, nil, nil, a.functionErr(r.Context(), err, ref.service, ref.function)
	}
	return http.StatusOK, c, nil, nil
}

func (a *API) getOnDemandConfig(r *http.Request, _ string) (int, any, http.Header, error) {
	ref, err := a.scalingRef(r)
	if err != nil {
		return 0, nil, nil, err
	}
	c, err := a.opts.Store.GetOnDemandConfig(r.Context(), ref.service, ref.qualifier, ref.function)
	if err != nil {
		return 0, nil, nil, storeErr(err, onDemandNotFound(ref), nil)
	}
	return http.StatusOK, &fc.OnDemandConfig{Resource: a.resource(ref), MaximumInstanceCount: c.MaximumInstanceCount}, nil, nil
}

func (a *API) deleteOnDemandConfig(r *http.Request, _ string) (int, any, http.Header, error) {
	ref, err := a.scalingRef(r)
	if err != nil {
		return 0, nil, nil, err
	}
	if err := a.opts.Store.DeleteOnDemandConfig(r.Context(), ref.service, ref.qualifier, ref.function); err != nil {
		return 0, nil, nil, storeErr(err, onDemandNotFound(ref), nil)
	}
	return http.StatusNoContent, nil, nil, nil
}

func (a *API) listOnDemandConfigs(r *http.Request, _ string) (int, any, http.Header, error) {
	p, err := parsePage(r)
	if err != nil {
		return 0, nil, nil, err
	}
	all, err := a.opts.Store.ListOnDemandConfigs(r.Context())
	if err != nil {
		return 0, nil, nil, err
	}
	items, next := paginate(p, all, func(e store.OnDemandEntry) string { return listName(e.ScalingKey) })
	out := make([]fc.OnDemandConfig, len(items))
	for i, e := range items {
		out[i] = fc.OnDemandConfig{
			Resource:             fc.ScalingResource(a.opts.AccountID, e.Service, e.Qualifier, e.Function),
			MaximumInstanceCount: e.Config.MaximumInstanceCount,
		}
	}
	return http.StatusOK, map[string]any{"configs": out, "nextToken": next}, nil, nil
}

// provisionOutput is the body of a provision-config PUT.
type provisionOutput struct {
	Resource string `json:"resource"`
	Target   int    `json:"target"`
}

func (a *API) maxProvisionTarget() int {
	if a.opts.MaxProvisionTarget > 0 {
		return a.opts.MaxProvisionTarget
	}
	return DefaultMaxProvisionTarget
}

// putProvisionConfig sets the target; a target of 0 removes the config
// (FC's way).
func (a *API) putProvisionConfig(r *http.Request, _ string) (int, any, http.Header, error) {
	ref, err := a.scalingRef(r)
	if err != nil {
		return 0, nil, nil, err
	}
	var in struct {
		Target *int `json:"target"`
	}
	if err := a.decode(r, &in); err != nil {
		return 0, nil, nil, err
	}
	switch limit := a.maxProvisionTarget(); {
	case in.Target == nil:
		return 0, nil, nil, fc.Errorf(fc.CodeInvalidArgument, "target is required")
	case *in.Target < 0 || *in.Target > limit:
		return 0, nil, nil, fc.Errorf(fc.CodeInvalidArgument, "target %d is invalid: use 0 to %d", *in.Target, limit)
	}
	out := &provisionOutput{Resource: a.resource(ref), Target: *in.Target}
	ctx := r.Context()
	if out.Target == 0 {
		if err := a.opts.Store.DeleteProvisionConfig(ctx, ref.service, ref.qualifier, ref.function); err != nil && !errors.Is(err, fc.ErrNotFound) {
			return 0, nil, nil, storeErr(err, nil, nil)
		}
		return http.StatusOK, out, nil, nil
	}
	c := &fc.ProvisionConfig{Resource: out.Resource, Target: out.Target}
	if err := a.opts.Store.PutProvisionConfig(ctx, ref.service, ref.qualifier, ref.function, c); err != nil {
		return 0, nil, nil, a.functionErr(r.Context(), err, ref.service, ref.function)
	}
	return http.StatusOK, out, nil, nil
}

// getProvisionConfig answers target 0 for a function without a provision
// config: that is what PUT target 0 leaves behind.
func (a *API) getProvisionConfig(r *http.Request, _ string) (int, any, http.Header, error) {
	ref, err := a.scalingRef(r)
	if err != nil {
		return 0, nil, nil, err
	}
	out := &fc.ProvisionConfig{Resource: a.resource(ref), Current: a.provisioned(ref.service, ref.function)}
	c, err := a.opts.Store.GetProvisionConfig(r.Context(), ref.service, ref.qualifier, ref.function)
	switch {
	case err == nil:
		out.Target = c.Target
	case !errors.Is(err, fc.ErrNotFound):
		return 0, nil, nil, storeErr(err, nil, nil)
	}
	return http.StatusOK, out, nil, nil
}

// deleteProvisionConfig removes the config; removing an absent one
// succeeds, as PUT target 0 does.
func (a *API) deleteProvisionConfig(r *http.Request, _ string) (int, any, http.Header, error) {
	ref, err := a.scalingRef(r)
	if err != nil {
		return 0, nil, nil, err
	}
	if err := a.opts.Store.DeleteProvisionConfig(r.Context(), ref.service, ref.qualifier, ref.function); err != nil && !errors.Is(err, fc.ErrNotFound) {
		return 0, nil, nil, storeErr(err, nil, nil)
	}
	return http.StatusNoContent, nil, nil, nil
}

// listProvisionConfigs serves GET /provision-configs: FC's serviceName and
// qualifier filters, plus prefix/startKey/nextToken/limit like the other
// lists (names "service#qualifier#function").
func (a *API) listProvisionConfigs(r *http.Request, _ string) (int, any, http.Header, error) {
	p, err := parsePage(r)
	if err != nil {
		return 0, nil, nil, err
	}
	q := r.URL.Query()
	service, qualifier := q.Get("serviceName"), q.Get("qualifier")
	all, err := a.opts.Store.ListProvisionConfigs(r.Context())
	if err != nil {
		return 0, nil, nil, err
	}
	filtered := all[:0:0]
	for _, e := range all {
		if (service == "" || e.Service == service) && (qualifier == "" || e.Qualifier == qualifier) {
			filtered = append(filtered, e)
		}
	}
	items, next := paginate(p, filtered, func(e store.ProvisionEntry) string { return listName(e.ScalingKey) })
	out := make([]fc.ProvisionConfig, len(items))
	for i, e := range items {
		out[i] = fc.ProvisionConfig{
			Resource: fc.ScalingResource(a.opts.AccountID, e.Service, e.Qualifier, e.Function),
			Target:   e.Config.Target,
			Current:  a.provisioned(e.Service, e.Function),
		}
	}
	return http.StatusOK, map[string]any{"provisionConfigs": out, "nextToken": next}, nil, nil
}

// instances returns a function's running instances (never nil).
func (a *API) instances(service, function string) []fc.InstanceInfo {
	if a.opts.Instances == nil {
		return []fc.InstanceInfo{}
	}
	if list := a.opts.Instances.ListInstances(service, function); list != nil {
		return list
	}
	return []fc.InstanceInfo{}
}

// provisioned counts a function's provisioned instances.
func (a *API) provisioned(service, function string) int {
	n := 0
	for _, in := range a.instances(service, function) {
		if in.Provisioned {
			n++
		}
	}
	return n
}

func (a *API) listInstances(r *http.Request, _ string) (int, any, http.Header, error) {
	ref, err := a.scalingRef(r)
	if err != nil {
		return 0, nil, nil, err
	}
	return http.StatusOK, map[string]any{"instances": a.instances(ref.service, ref.function)}, nil, nil
}
