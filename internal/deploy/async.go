package deploy

import (
	"github.com/openfc/openfc/internal/fc"
)

// This file reads a function's async config: fc3's asyncInvokeConfig and
// the FC 2.0 fc component's function asyncConfiguration. The CLI PUTs it
// (async-invoke-config) once the function is deployed.

var (
	fc3AsyncKeys = newKeySet("asyncInvokeConfig", []string{
		"maxAsyncRetryAttempts", "maxAsyncEventAgeInSeconds", "asyncTask", "destinationConfig", "qualifier",
	}, nil, nil)
	fc3DestinationConfigKeys = newKeySet("destinationConfig", []string{"onSuccess", "onFailure"}, nil, nil)
	fc3DestinationKeys       = newKeySet("a destination", []string{"destination"}, nil, nil)
	fc2AsyncKeys             = newKeySet("asyncConfiguration", []string{
		"maxAsyncRetryAttempts", "maxAsyncEventAgeInSeconds", "statefulInvocation", "destination", "qualifier",
	}, nil, nil)
	fc2DestinationKeys = newKeySet("destination", []string{"onSuccess", "onFailure"}, nil, nil)
)

// asyncConfig reads the async config under key of the function mapping o
// (nil when absent). fc3 selects fc3's shape.
func (p *parser) asyncConfig(o obj, key string, fc3 bool, service, function string) (*fc.AsyncInvokeConfig, error) {
	ks := fc2AsyncKeys
	if fc3 {
		ks = fc3AsyncKeys
	}
	ao, ok, err := o.checkedObj(key, ks)
	if err != nil || !ok {
		return nil, err
	}
	c := &fc.AsyncInvokeConfig{Service: service, Function: function}
	if c.Qualifier, err = ao.str("qualifier"); err != nil {
		return nil, err
	}
	if c.Qualifier != "" && c.Qualifier != fc.LATEST {
		return nil, p.errf(ao.lineOf("qualifier"), join(ao.path, "qualifier"), "qualifier %q: openfc has no versions or aliases yet; use LATEST", c.Qualifier)
	}
	if ao.has("maxAsyncRetryAttempts") {
		n, err := ao.integer("maxAsyncRetryAttempts")
		if err != nil {
			return nil, err
		}
		c.MaxAsyncRetryAttempts = &n
	}
	if ao.has("maxAsyncEventAgeInSeconds") {
		n, err := ao.integer("maxAsyncEventAgeInSeconds")
		if err != nil {
			return nil, err
		}
		age := int64(n)
		c.MaxAsyncEventAgeInSeconds = &age
	}
	stateful := "statefulInvocation"
	if fc3 {
		stateful = "asyncTask"
	}
	if c.StatefulInvocation, err = ao.boolean(stateful); err != nil {
		return nil, err
	}
	if c.DestinationConfig, err = p.destinations(ao, fc3); err != nil {
		return nil, err
	}
	if err := fc.ValidateAsyncInvokeConfig(c); err != nil {
		return nil, &Error{File: p.file, Line: ao.line, Field: ao.path, Err: err}
	}
	return c, nil
}

// destinations reads fc3's destinationConfig: {onSuccess: {destination}}
// or FC 2.0's destination: {onSuccess: <arn>}.
func (p *parser) destinations(ao obj, fc3 bool) (*fc.DestinationConfig, error) {
	key, ks := "destination", fc2DestinationKeys
	if fc3 {
		key, ks = "destinationConfig", fc3DestinationConfigKeys
	}
	do, ok, err := ao.checkedObj(key, ks)
	if err != nil || !ok {
		return nil, err
	}
	dc := &fc.DestinationConfig{}
	for _, d := range []struct {
		key string
		dst **fc.Destination
	}{{"onSuccess", &dc.OnSuccess}, {"onFailure", &dc.OnFailure}} {
		var target string
		if fc3 {
			to, ok, err := do.checkedObj(d.key, fc3DestinationKeys)
			if err != nil {
				return nil, err
			}
			if ok {
				if target, err = to.str("destination"); err != nil {
					return nil, err
				}
			}
		} else if target, err = do.str(d.key); err != nil {
			return nil, err
		}
		if target == "" {
			continue
		}
		if _, err := fc.ParseDestination(target); err != nil {
			return nil, &Error{File: p.file, Line: do.lineOf(d.key), Field: join(do.path, d.key), Err: err}
		}
		*d.dst = &fc.Destination{Destination: target}
	}
	return dc, nil
}
