package fc

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// This file holds FC's rules on the async headers of an invocation and
// on a function's async config, in one place for the gateway, the API
// and the async package.

// MaxTaskIDLen bounds a task (stateful async invocation) id.
const MaxTaskIDLen = 128

// AsyncParams are the async headers of an accepted invocation.
type AsyncParams struct {
	// Delay is X-Fc-Async-Delay (0 when absent).
	Delay time.Duration
	// TaskID is X-Fc-Stateful-Async-Invocation-Id ("" when absent).
	TaskID string
}

// ParseAsyncParams reads an async invocation's delay and task id; each
// wrong value is InvalidArgument naming its header.
func ParseAsyncParams(h http.Header) (AsyncParams, error) {
	var p AsyncParams
	if v := h.Get(HeaderAsyncDelay); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 || time.Duration(n)*time.Second > MaxAsyncDelay {
			return p, Errorf(CodeInvalidArgument, "%s %q is invalid: give whole seconds from 0 to %d",
				HeaderAsyncDelay, v, int(MaxAsyncDelay/time.Second))
		}
		p.Delay = time.Duration(n) * time.Second
	}
	if v, ok := h[http.CanonicalHeaderKey(HeaderStatefulAsyncInvocationID)]; ok {
		id := ""
		if len(v) > 0 {
			id = v[0]
		}
		if err := CheckTaskID(HeaderStatefulAsyncInvocationID, id); err != nil {
			return p, err
		}
		p.TaskID = id
	}
	return p, nil
}

// CheckTaskID applies FC's rule on a task id: letters, digits, '_' and
// '-', starting with a letter or '_', at most 128 characters. field names
// where the id came from.
func CheckTaskID(field, id string) error {
	return ValidateName(field, id, MaxTaskIDLen)
}

// DestinationTarget is a parsed destination: a function (FC's ARN) or an
// http(s) URL.
type DestinationTarget struct {
	// URL is set for an http(s) destination.
	URL string
	// Region, Account, Service, Qualifier (LATEST when none) and Function
	// name a function destination.
	Region, Account, Service, Qualifier, Function string
}

// ParseDestination reads a destination:
// acs:fc:<region>:<account>:services/<service>[.<qualifier>]/functions/<function>,
// or (an openfc extension) an http:// or https:// URL. Region and
// account may be empty (acs:fc:::services/…, Serverless Devs' form):
// this openfc's. FC's other destination kinds (MNS, EventBridge) are not
// supported.
func ParseDestination(s string) (DestinationTarget, error) {
	var d DestinationTarget
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return d, Errorf(CodeInvalidArgument, "destination %q is not a valid URL", s)
		}
		d.URL = s
		return d, nil
	}
	parts := strings.SplitN(s, ":", 5)
	if len(parts) != 5 || parts[0] != "acs" || parts[1] != "fc" {
		return d, Errorf(CodeInvalidArgument, "destination %q is invalid: use acs:fc:<region>:<account>:services/<service>[.<qualifier>]/functions/<function> or an http(s) URL", s)
	}
	d.Region, d.Account = parts[2], parts[3]
	svc, fn, ok := strings.Cut(strings.TrimPrefix(parts[4], "services/"), "/functions/")
	if !ok || !strings.HasPrefix(parts[4], "services/") || svc == "" || fn == "" {
		return d, Errorf(CodeInvalidArgument, "destination %q is invalid: its resource must be services/<service>[.<qualifier>]/functions/<function>", s)
	}
	var qualified bool
	if d.Service, d.Qualifier, qualified = SplitQualified(svc); !qualified {
		return d, Errorf(CodeInvalidArgument, "destination %q is invalid: %q is not service[.qualifier]", s, svc)
	}
	d.Function = fn
	if err := ValidateName("destination service", d.Service, 128); err != nil {
		return d, err
	}
	if !qualifierSyntax(d.Qualifier) {
		return d, Errorf(CodeInvalidArgument, "destination %q is invalid: qualifier %q is neither LATEST, a version number nor an alias name", s, d.Qualifier)
	}
	return d, ValidateName("destination function", d.Function, 64)
}

// SplitQualified splits "service[.qualifier]"; no qualifier is LATEST.
// ok is false for an empty service or qualifier ("s.", ".q").
func SplitQualified(s string) (service, qualifier string, ok bool) {
	service, qualifier, hasQ := strings.Cut(s, ".")
	switch {
	case !hasQ:
		return s, LATEST, s != ""
	case service == "" || qualifier == "":
		return "", "", false
	}
	return service, qualifier, true
}

// qualifierSyntax reports whether q can name a function version: LATEST,
// a version number or an alias name.
func qualifierSyntax(q string) bool {
	if q == LATEST {
		return true
	}
	if _, err := strconv.ParseUint(q, 10, 32); err == nil {
		return true
	}
	return ValidateName("qualifier", q, 128) == nil
}

// ValidateAsyncInvokeConfig checks a config's fields (400 naming the
// field).
func ValidateAsyncInvokeConfig(c *AsyncInvokeConfig) error {
	if n := c.MaxAsyncRetryAttempts; n != nil && (*n < 0 || *n > MaxAsyncRetryAttempts) {
		return Errorf(CodeInvalidArgument, "maxAsyncRetryAttempts %d is out of range: 0 to %d", *n, MaxAsyncRetryAttempts)
	}
	if n := c.MaxAsyncEventAgeInSeconds; n != nil && (*n < 1 || *n > MaxAsyncEventAgeInSeconds) {
		return Errorf(CodeInvalidArgument, "maxAsyncEventAgeInSeconds %d is out of range: 1 to %d", *n, MaxAsyncEventAgeInSeconds)
	}
	if dc := c.DestinationConfig; dc != nil {
		for _, d := range []struct {
			field string
			d     *Destination
		}{{"destinationConfig.onSuccess", dc.OnSuccess}, {"destinationConfig.onFailure", dc.OnFailure}} {
			if d.d == nil {
				continue
			}
			if _, err := ParseDestination(d.d.Destination); err != nil {
				return Errorf(CodeInvalidArgument, "%s.destination: %s", d.field, AsError(err).Message)
			}
		}
	}
	return nil
}
