package deploy

import (
	"fmt"
	"slices"

	"github.com/openfc/openfc/internal/suggest"
)

// keyUse says what openfc does with a key of an s.yaml block.
type keyUse uint8

const (
	// keyRead keys are read and applied (or get their own notice).
	keyRead keyUse = iota + 1
	// keyIgnored keys are FC settings openfc does not apply (VPC, logs,
	// NAS, roles, ...). They are accepted so that real s.yaml files still
	// deploy, with one notice each so that nobody counts on them.
	keyIgnored
	// keyQuiet keys are accepted without a word: they sit in a block that
	// already has its own notice (no key set uses it since custom domains
	// are deployed).
	keyQuiet
)

// keySet lists the keys of one kind of block, and names the block in
// messages ("an fc3 function").
type keySet struct {
	what string
	keys map[string]keyUse
}

// names returns every key of the set, sorted, as "did you mean" candidates.
func (ks keySet) names() []string {
	out := make([]string, 0, len(ks.keys))
	for k := range ks.keys {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// newKeySet builds a keySet from lists of keys by use.
func newKeySet(what string, read, ignored, quiet []string) keySet {
	ks := keySet{what: what, keys: make(map[string]keyUse, len(read)+len(ignored)+len(quiet))}
	for _, l := range []struct {
		keys []string
		use  keyUse
	}{{read, keyRead}, {ignored, keyIgnored}, {quiet, keyQuiet}} {
		for _, k := range l.keys {
			ks.keys[k] = l.use
		}
	}
	return ks
}

// The key sets below follow the Serverless Devs components: devsapp/fc3
// (src/interface, src/schema.json) and devsapp/fc with fc-deploy
// (docs/en/yaml, src/interface). A key FC knows is never reported as a
// typo; a key openfc reads is accepted in both formats, as before.

// functionRead are the function keys openfc reads in both formats, next to
// the name and code keys of each format.
var functionRead = []string{
	"runtime", "handler", "description", "memorySize", "timeout", "instanceConcurrency", "caPort",
	"instanceType", "customRuntimeConfig", "environmentVariables", "initializer", "initializationTimeout",
	"instanceLifecycleConfig", "customHealthCheckConfig", "customDNS", "customContainerConfig",
}

// fc3Keys are the props of an fc3 resource: one function, its triggers,
// its custom domain and the fc3 component's own settings.
var fc3Keys = newKeySet("an fc3 function",
	slices.Concat(functionRead, []string{"region", "functionName", "code", "triggers", "customDomain", "internetAccess", "asyncInvokeConfig"}),
	[]string{
		"cpu", "diskSize", "layers", "sessionAffinity", "sessionAffinityConfig",
		"instanceIsolationMode", "enableLongLiving", "resourceGroupId", "logConfig", "nasConfig",
		"ossMountConfig", "role", "vpcConfig", "vpcBinding",
		"gpuConfig", "tracingConfig", "tags", "annotations", "concurrencyConfig",
		"provisionConfig", "scalingConfig", "endpoint", "supplement", "buildDir",
	}, nil)

// fc2PropsKeys are the props of an FC 2.0 fc resource.
var fc2PropsKeys = newKeySet("the props of an fc resource",
	[]string{"region", "service", "function", "triggers", "customDomains"}, nil, nil)

// fc2ServiceKeys are the keys of an FC 2.0 service.
var fc2ServiceKeys = newKeySet("a service",
	[]string{"name", "description", "internetAccess"},
	[]string{"role", "logConfig", "vpcConfig", "nasConfig", "tracingConfig", "ossMountConfig", "vpcBinding", "tags"},
	nil)

// fc2FunctionKeys are the keys of an FC 2.0 function.
var fc2FunctionKeys = newKeySet("a function",
	slices.Concat(functionRead, []string{"name", "codeUri", "code", "asyncConfiguration"}),
	[]string{
		"ossBucket", "ossKey", "cpu", "diskSize", "gpuMemorySize", "layers", "instanceSoftConcurrency",
	}, nil)

// codeKeys are the keys of a code mapping ({src: ./code}).
var codeKeys = newKeySet("a code mapping", []string{"src"}, []string{"ossBucketName", "ossObjectName", "ossKey"}, nil)

// Triggers: fc3 names the fields triggerName/triggerType/triggerConfig, FC
// 2.0 name/type/config.
var (
	fc3TriggerKeys = newKeySet("a trigger",
		[]string{"triggerName", "triggerType", "triggerConfig", "description", "qualifier"},
		[]string{"sourceArn", "invocationRole"}, nil)
	fc2TriggerKeys = newKeySet("a trigger",
		[]string{"name", "type", "config", "description", "qualifier"},
		[]string{"role", "sourceArn"}, nil)
	// httpConfigKeys are an HTTP trigger's config; qualifier is an older
	// FC 2.0 place for the trigger's qualifier.
	httpConfigKeys = newKeySet("an HTTP trigger's config",
		[]string{"authType", "methods", "disableURLInternet", "authConfig", "qualifier"}, nil, nil)
)

// Nested function blocks.
var (
	customRuntimeKeys = newKeySet("customRuntimeConfig", []string{"command", "args", "port", "healthCheckConfig"}, nil, nil)
	healthCheckKeys   = newKeySet("a health check", []string{
		"httpGetUrl", "initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold", "successThreshold",
	}, nil, nil)
	lifecycleKeys = newKeySet("instanceLifecycleConfig", []string{"initializer", "preStop", "preFreeze"}, nil, nil)
	hookKeys      = newKeySet("a lifecycle hook", []string{"handler", "timeout"}, []string{"command"}, nil)
)

// Custom domains (domain.go): certId, tlsConfig, authConfig and
// wafConfig are FC settings openfc does not apply.
var (
	fc3DomainKeys = newKeySet("a custom domain", []string{"domainName", "protocol", "route", "certConfig"},
		[]string{"certId", "tlsConfig", "authConfig", "wafConfig"}, nil)
	fc3RouteKeys  = newKeySet("a custom domain route", []string{"path", "qualifier", "methods", "rewriteConfig"}, nil, nil)
	fc2DomainKeys = newKeySet("a custom domain", []string{"domainName", "protocol", "routeConfigs", "certConfig"},
		[]string{"certId", "tlsConfig", "wafConfig"}, nil)
	fc2RouteKeys = newKeySet("a custom domain route", []string{
		"path", "serviceName", "functionName", "qualifier", "methods", "rewriteConfig",
	}, nil, nil)
)

// checkKeys refuses a key of o that ks does not know, suggesting the
// closest known key, and adds a notice for each ignored key that is set.
func (p *parser) checkKeys(o obj, ks keySet) error {
	for _, pr := range o.pairs {
		k := pr.key.Value
		switch ks.keys[k] {
		case keyRead, keyQuiet:
		case keyIgnored:
			if !isNull(deref(pr.value)) {
				p.notef(pr.key.Line, "%s: openfc does not apply %s; ignored", join(o.path, k), k)
			}
		default:
			msg := fmt.Sprintf("unknown key %q in %s", k, ks.what)
			if s := suggest.Closest(k, ks.names()); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			return p.errf(pr.key.Line, join(o.path, k), "%s", msg)
		}
	}
	return nil
}

// checkedObj returns the mapping under key with its keys checked against
// ks; ok is false when it is absent.
func (o obj) checkedObj(key string, ks keySet) (sub obj, ok bool, err error) {
	sub, ok, err = o.obj(key)
	if err != nil || !ok {
		return sub, ok, err
	}
	return sub, true, o.p.checkKeys(sub, ks)
}

// checkedItem returns the list item v as a mapping with its keys checked.
func (p *parser) checkedItem(v val, ks keySet) (obj, error) {
	if v.n == nil {
		return obj{}, p.errf(v.line, v.path, "expected a mapping, got an empty value")
	}
	o, err := p.asObj(v)
	if err != nil {
		return obj{}, err
	}
	return o, p.checkKeys(o, ks)
}
