package api

import (
	"context"
	"errors"

	"github.com/openfc/openfc/internal/fc"
)

// FC resolves a nested path from the outside in, and the first level that
// is missing names the error: a trigger, scaling config, instance list,
// log or invocation under a missing service is ServiceNotFound, under a
// missing function FunctionNotFound, and only then the leaf's own
// NotFound (TriggerNotFound, OnDemandConfigNotFound, …). The store keys
// leaves by their full path and answers a bare fc.ErrNotFound, so the
// levels above are looked up when a leaf is missing; these two helpers
// are the one place that order is written.

// functionErr maps a function lookup error, telling a missing service from
// a missing function.
func (a *API) functionErr(ctx context.Context, err error, service, name string) error {
	if errors.Is(err, fc.ErrNotFound) {
		if _, _, serr := a.opts.Store.GetService(ctx, service); errors.Is(serr, fc.ErrNotFound) {
			return serviceNotFound(service)
		}
		return functionNotFound(service, name)
	}
	return storeErr(err, nil, nil)
}

// leafErr maps the error of reading or writing a resource under a
// function: fc.ErrNotFound becomes ServiceNotFound or FunctionNotFound
// when one of those is what is missing, else notFound. Other errors go
// through storeErr.
func (a *API) leafErr(ctx context.Context, err error, service, function string, notFound *fc.Error) error {
	if !errors.Is(err, fc.ErrNotFound) {
		return storeErr(err, nil, nil)
	}
	if _, _, ferr := a.opts.Store.GetFunction(ctx, service, function); ferr != nil {
		return a.functionErr(ctx, ferr, service, function)
	}
	return notFound
}
