package fc

import (
	"net/url"
	"strings"
)

// DestinationTarget is a parsed async destination (Destination): a
// function (Service, Qualifier, Function) or a URL.
type DestinationTarget struct {
	Service, Qualifier, Function string
	URL                          string
}

// ParseDestination reads an async destination: a function ARN
// acs:fc:{region}:{account}:services/{service}[.{qualifier}]/functions/{function}
// (no qualifier: LATEST) or, as an openfc extension, an http(s) URL.
// Region and account are not checked: openfc serves one of each. The API
// validates a config with it and internal/async delivers with it.
// Errors are 400 InvalidArgument.
func ParseDestination(dest string) (DestinationTarget, error) {
	if strings.HasPrefix(dest, "http://") || strings.HasPrefix(dest, "https://") {
		u, err := url.Parse(dest)
		if err != nil || u.Host == "" {
			return DestinationTarget{}, invalid("invalid destination URL %q", dest)
		}
		return DestinationTarget{URL: dest}, nil
	}
	bad := invalid("invalid destination %q: want acs:fc:{region}:{account}:services/{service}.{qualifier}/functions/{function} or an http(s) URL", dest)
	parts := strings.SplitN(dest, ":", 5)
	if len(parts) != 5 || parts[0] != "acs" || parts[1] != "fc" {
		return DestinationTarget{}, bad
	}
	res := strings.Split(parts[4], "/")
	if len(res) != 4 || res[0] != "services" || res[2] != "functions" {
		return DestinationTarget{}, bad
	}
	svc, q, dotted := strings.Cut(res[1], ".")
	if !dotted {
		q = LATEST
	}
	t := DestinationTarget{Service: svc, Qualifier: q, Function: res[3]}
	if !nameRE.MatchString(t.Service) || !nameRE.MatchString(t.Function) || !qualifierToken(t.Qualifier) {
		return DestinationTarget{}, bad
	}
	return t, nil
}

// qualifierToken reports whether q can be a qualifier (LATEST, a version
// number or an alias name): letters, digits, '_' and '-'.
func qualifierToken(q string) bool {
	if q == "" {
		return false
	}
	for _, c := range q {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
