package store

import (
	"context"
	"errors"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

// A function version's async config (FC 2.0's async-invoke-config) is a
// function-version config like the scaling ones: it lives in the same
// bucket, under "{service}.{qualifier}.{function}.async", is watched into
// the catalog with them and goes with its function's delete.
const kindAsync = "async"

// PutAsyncInvokeConfig stores the async config of an existing function
// version (qualifier "" is LATEST), replacing any previous one and
// keeping its createdTime. fc.ErrNotFound when the function does not
// exist; InvalidArgument for a field out of its range.
func (s *JetStream) PutAsyncInvokeConfig(ctx context.Context, c *fc.AsyncInvokeConfig) error {
	if err := fc.ValidateAsyncInvokeConfig(c); err != nil {
		return err
	}
	cp := *c
	cp.Qualifier = latestIfEmpty(c.Qualifier)
	now := time.Now().UTC().Format(fc.TimeFormat)
	cp.CreatedTime, cp.LastModifiedTime = now, now
	old, err := s.GetAsyncInvokeConfig(ctx, cp.Service, cp.Qualifier, cp.Function)
	switch {
	case err == nil:
		cp.CreatedTime = old.CreatedTime
	case !errors.Is(err, fc.ErrNotFound):
		return err
	}
	return s.putScaling(ctx, cp.Service, cp.Qualifier, cp.Function, kindAsync, &cp)
}

// GetAsyncInvokeConfig reads the async config of a function version
// (qualifier "" is LATEST). fc.ErrNotFound (wrapped) when there is none.
func (s *JetStream) GetAsyncInvokeConfig(ctx context.Context, service, qualifier, function string) (*fc.AsyncInvokeConfig, error) {
	qualifier = latestIfEmpty(qualifier)
	v, err := s.getScaling(ctx, service, qualifier, function, kindAsync)
	if err != nil {
		return nil, err
	}
	c := *v.(*fc.AsyncInvokeConfig) // the catalog may share the decoded value
	c.Service, c.Qualifier, c.Function = service, qualifier, function
	return &c, nil
}

// DeleteAsyncInvokeConfig deletes the async config of a function version
// (qualifier "" is LATEST). fc.ErrNotFound when there is none.
func (s *JetStream) DeleteAsyncInvokeConfig(ctx context.Context, service, qualifier, function string) error {
	return s.deleteScaling(ctx, service, latestIfEmpty(qualifier), function, kindAsync)
}

// ListAsyncInvokeConfigs returns the async configs sorted by service,
// qualifier and function; a non-empty service, qualifier or function
// keeps only the configs with that name.
func (s *JetStream) ListAsyncInvokeConfigs(ctx context.Context, service, qualifier, function string) ([]*fc.AsyncInvokeConfig, error) {
	items, err := s.listScaling(ctx, kindAsync)
	if err != nil {
		return nil, err
	}
	var out []*fc.AsyncInvokeConfig
	for _, it := range items {
		k := it.key
		if service != "" && k.Service != service || qualifier != "" && k.Qualifier != qualifier || function != "" && k.Function != function {
			continue
		}
		c := *it.val.(*fc.AsyncInvokeConfig)
		c.Service, c.Qualifier, c.Function = k.Service, k.Qualifier, k.Function
		out = append(out, &c)
	}
	return out, nil
}

func latestIfEmpty(qualifier string) string {
	if qualifier == "" {
		return fc.LATEST
	}
	return qualifier
}
