package deploy

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/openfc/openfc/internal/fc"
)

// fnKeys names the function fields that differ between the two formats.
type fnKeys struct {
	// name is the function name field: "functionName" (fc3) or "name" (fc).
	name string
	// code lists the accepted code fields in order of preference.
	code []string
	// fc3 is set for the fc3 component's shapes (customContainerConfig).
	fc3 bool
}

// trigKeys names the trigger fields that differ between the two formats.
type trigKeys struct {
	name, typ, config string
	// keys are all the keys a trigger of the format may have.
	keys keySet
}

// fc3 parses the props of an fc3 resource. Its function joins the service
// named by the top-level name.
func (p *parser) fc3(props obj) error {
	if err := p.checkKeys(props, fc3Keys); err != nil {
		return err
	}
	// The top-level name is read here, not before: files without fc3
	// resources do not need it.
	app, err := p.root.str("name")
	if err != nil {
		return err
	}
	line := p.root.lineOf("name")
	if app == "" {
		return p.errf(line, "name", "name is required: openfc deploys fc3 functions into the service it names")
	}
	svc, err := p.addService(fc.Service{ServiceName: app}, line, "name")
	if err != nil {
		return err
	}
	fp, err := p.functionPlan(props, props,
		fnKeys{name: "functionName", code: []string{"code"}, fc3: true},
		trigKeys{name: "triggerName", typ: "triggerType", config: "triggerConfig", keys: fc3TriggerKeys},
		app)
	if err != nil {
		return err
	}
	if fp.AsyncConfig, err = p.asyncConfig(props, "asyncInvokeConfig", true, app, fp.Function.FunctionName); err != nil {
		return err
	}
	d, err := p.fc3Domain(props, app, fp.Function.FunctionName) // domain.go
	if err != nil {
		return err
	}
	if d != nil {
		p.plan.Domains = append(p.plan.Domains, *d)
	}
	return p.addFunction(svc, fp, props.line, props.path)
}

// fc2 parses the props of an FC 2.0 fc resource: a service, optionally a
// function, and the function's triggers.
func (p *parser) fc2(props obj) error {
	if err := p.checkKeys(props, fc2PropsKeys); err != nil {
		return err
	}
	so, ok, err := props.checkedObj("service", fc2ServiceKeys)
	if err != nil {
		return err
	}
	if !ok {
		return p.errf(props.line, props.path, "service is required")
	}
	name, err := so.str("name")
	if err != nil {
		return err
	}
	if name == "" {
		return p.errf(so.line, so.path, "name is required")
	}
	s := fc.Service{ServiceName: name}
	if s.Description, err = so.str("description"); err != nil {
		return err
	}
	if so.has("internetAccess") {
		b, err := so.boolean("internetAccess")
		if err != nil {
			return err
		}
		s.InternetAccess = &b
	}
	svc, err := p.addService(s, so.line, so.path)
	if err != nil {
		return err
	}
	if props.has("customDomains") {
		function := ""
		if fo, ok, _ := props.obj("function"); ok {
			function, _ = fo.str("name")
		}
		domains, err := p.fc2Domains(props, name, function) // domain.go
		if err != nil {
			return err
		}
		p.plan.Domains = append(p.plan.Domains, domains...)
	}
	fo, ok, err := props.checkedObj("function", fc2FunctionKeys)
	if err != nil {
		return err
	}
	if !ok {
		if props.has("triggers") {
			return p.errf(props.line, props.path, "function is required when triggers are given")
		}
		return nil
	}
	fp, err := p.functionPlan(fo, props,
		fnKeys{name: "name", code: []string{"codeUri", "code"}},
		trigKeys{name: "name", typ: "type", config: "config", keys: fc2TriggerKeys},
		name)
	if err != nil {
		return err
	}
	if fp.AsyncConfig, err = p.asyncConfig(fo, "asyncConfiguration", false, name, fp.Function.FunctionName); err != nil {
		return err
	}
	return p.addFunction(svc, fp, fo.line, fo.path)
}

// functionPlan parses the function in fo and the triggers listed in to
// (the same mapping for fc3, the function's props for fc).
func (p *parser) functionPlan(fo, to obj, fk fnKeys, tk trigKeys, service string) (FunctionPlan, error) {
	f, dir, err := p.function(fo, fk, service)
	if err != nil {
		return FunctionPlan{}, err
	}
	trs, err := p.triggers(to, tk, service, f.FunctionName)
	if err != nil {
		return FunctionPlan{}, err
	}
	return FunctionPlan{Function: f, CodeDir: dir, Triggers: trs}, nil
}

// function parses and validates one function mapping.
func (p *parser) function(o obj, k fnKeys, service string) (fc.Function, string, error) {
	f := fc.Function{ServiceName: service}
	var err error
	if f.FunctionName, err = o.str(k.name); err != nil {
		return f, "", err
	}
	if f.Runtime, err = o.str("runtime"); err != nil {
		return f, "", err
	}
	dir, err := p.functionCode(o, k, f.Runtime)
	if err != nil {
		return f, "", err
	}
	strs := []struct {
		key string
		dst *string
	}{
		{"handler", &f.Handler},
		{"description", &f.Description},
		{"initializer", &f.Initializer},
		{"instanceType", &f.InstanceType},
	}
	for _, s := range strs {
		if *s.dst, err = o.str(s.key); err != nil {
			return f, "", err
		}
	}
	ints := []struct {
		key string
		dst *int
	}{
		{"memorySize", &f.MemorySize},
		{"timeout", &f.Timeout},
		{"instanceConcurrency", &f.InstanceConcurrency},
		{"caPort", &f.CAPort},
		{"initializationTimeout", &f.InitializationTimeout},
	}
	for _, i := range ints {
		if *i.dst, err = o.integer(i.key); err != nil {
			return f, "", err
		}
	}
	if f.EnvironmentVariables, err = o.strMap("environmentVariables"); err != nil {
		return f, "", err
	}
	if f.CustomRuntimeConfig, err = customRuntimeConfig(o); err != nil {
		return f, "", err
	}
	if f.CustomContainerConfig, err = p.containerConfig(o, k.fc3); err != nil {
		return f, "", err
	}
	if err := lifecycleInitializer(o, &f); err != nil {
		return f, "", err
	}
	if f.CustomHealthCheckConfig, err = healthCheck(o, "customHealthCheckConfig"); err != nil {
		return f, "", err
	}
	if err := p.network(o, &f); err != nil {
		return f, "", err
	}
	if f.InstanceLifecycleConfig, err = lifecycleHooks(o); err != nil {
		return f, "", err
	}
	// Required fields are checked once every field has been type-checked,
	// against the line of the function's mapping.
	switch {
	case f.FunctionName == "":
		return f, "", p.errf(o.line, o.path, "%s is required", k.name)
	case f.Runtime == "":
		return f, "", p.errf(o.line, o.path, "runtime is required")
	case dir == "" && f.Runtime != fc.RuntimeCustomContainer:
		if o.has("ossBucket") || o.has("ossKey") {
			return f, "", p.errf(o.line, o.path, "code in OSS is not supported; set %s to a local directory", k.code[0])
		}
		return f, "", p.errf(o.line, o.path, "%s is required", k.code[0])
	}
	if fc.IsBuiltinRuntime(f.Runtime) {
		// The component decides how a built-in runtime calls the handler
		// on an HTTP trigger: FC 3.0's event for fc3, FC 2.0's HTTP
		// handler for fc.
		f.HandlerStyle = fc.HandlerStyleHTTP
		if k.fc3 {
			f.HandlerStyle = fc.HandlerStyleEvent
		}
	}
	// The runtime is checked apart to point at its own line.
	if err := fc.ValidateRuntime(f.Runtime); err != nil {
		return f, "", &Error{File: p.file, Line: o.lineOf("runtime"), Field: join(o.path, "runtime"), Err: err}
	}
	if err := fc.ValidateFunction(&f); err != nil {
		return f, "", &Error{File: p.file, Line: o.line, Field: o.path, Err: err}
	}
	return f, dir, nil
}

// functionCode returns the function's code directory (see codeDir). A
// custom-container function runs its image: code given with it (the fc
// component's examples carry codeUri: ./) is not read, with a notice.
func (p *parser) functionCode(o obj, k fnKeys, runtime string) (string, error) {
	if runtime != fc.RuntimeCustomContainer {
		return p.codeDir(o, k.code)
	}
	for _, key := range append(slices.Clip(k.code), "ossBucket", "ossKey") {
		if o.has(key) {
			p.notef(o.lineOf(key), "%s: a %s function runs customContainerConfig.image; its code is not uploaded", join(o.path, key), fc.RuntimeCustomContainer)
		}
	}
	return "", nil
}

// codeDir returns the absolute code directory named by the first of keys
// that is present ("" when none is). The value is a path, or {src: path}.
func (p *parser) codeDir(o obj, keys []string) (string, error) {
	for _, key := range keys {
		v, err := o.get(key)
		if err != nil {
			return "", err
		}
		if v.n == nil {
			continue
		}
		var src string
		// at is where the path is written, for the checks on disk.
		at := where{v.line, v.path}
		if v.n.Kind == yaml.MappingNode {
			c, err := p.asObj(v)
			if err != nil {
				return "", err
			}
			if err := p.checkKeys(c, codeKeys); err != nil {
				return "", err
			}
			if src, err = c.str("src"); err != nil {
				return "", err
			}
			if src == "" {
				if c.has("ossBucketName") || c.has("ossObjectName") || c.has("ossKey") {
					return "", p.errf(v.line, v.path, "code in OSS is not supported; give a local directory")
				}
				return "", p.errf(v.line, v.path, "src is required")
			}
			at = where{c.lineOf("src"), join(c.path, "src")}
		} else if src, err = p.scalar(v, "a path"); err != nil {
			return "", err
		}
		if strings.TrimSpace(src) == "" {
			return "", p.errf(v.line, v.path, "expected a path, got an empty string")
		}
		written := src
		if !filepath.IsAbs(src) {
			src = filepath.Join(p.dir, src)
		}
		src = filepath.Clean(src)
		p.codes = append(p.codes, codeRef{at: at, written: written, dir: src})
		return src, nil
	}
	return "", nil
}

// customRuntimeConfig parses customRuntimeConfig{command, args, port}; nil
// when absent.
func customRuntimeConfig(o obj) (*fc.CustomRuntimeConfig, error) {
	c, ok, err := o.checkedObj("customRuntimeConfig", customRuntimeKeys)
	if err != nil || !ok {
		return nil, err
	}
	var out fc.CustomRuntimeConfig
	if out.Command, err = c.strList("command"); err != nil {
		return nil, err
	}
	if out.Args, err = c.strList("args"); err != nil {
		return nil, err
	}
	if out.Port, err = c.integer("port"); err != nil {
		return nil, err
	}
	if out.HealthCheckConfig, err = healthCheck(c, "healthCheckConfig"); err != nil {
		return nil, err
	}
	return &out, nil
}

// healthCheck parses a health check mapping under key (FC 2.0's
// customHealthCheckConfig, FC 3.0's customRuntimeConfig.healthCheckConfig);
// nil when absent.
func healthCheck(o obj, key string) (*fc.HealthCheckConfig, error) {
	c, ok, err := o.checkedObj(key, healthCheckKeys)
	if err != nil || !ok {
		return nil, err
	}
	var h fc.HealthCheckConfig
	if h.HTTPGetURL, err = c.str("httpGetUrl"); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		key string
		dst *int
	}{
		{"initialDelaySeconds", &h.InitialDelaySeconds},
		{"periodSeconds", &h.PeriodSeconds},
		{"timeoutSeconds", &h.TimeoutSeconds},
		{"failureThreshold", &h.FailureThreshold},
		{"successThreshold", &h.SuccessThreshold},
	} {
		if *f.dst, err = c.integer(f.key); err != nil {
			return nil, err
		}
	}
	return &h, nil
}

// triggers parses and validates the triggers list of o.
func (p *parser) triggers(o obj, k trigKeys, service, function string) ([]fc.Trigger, error) {
	items, err := o.list("triggers")
	if err != nil {
		return nil, err
	}
	var out []fc.Trigger
	seen := map[string]int{}
	for _, it := range items {
		if it.n == nil {
			return nil, p.errf(it.line, it.path, "expected a mapping, got an empty value")
		}
		to, err := p.asObj(it)
		if err != nil {
			return nil, err
		}
		t, err := p.trigger(to, k, service, function)
		if err != nil {
			return nil, err
		}
		if first, dup := seen[t.TriggerName]; dup {
			return nil, p.errf(to.line, to.path, "trigger %s is defined twice (first at line %d)", t.TriggerName, first)
		}
		seen[t.TriggerName] = to.line
		out = append(out, t)
	}
	return out, nil
}

// trigger parses and validates one trigger mapping.
func (p *parser) trigger(o obj, k trigKeys, service, function string) (fc.Trigger, error) {
	t := fc.Trigger{ServiceName: service, FunctionName: function}
	if err := p.checkKeys(o, k.keys); err != nil {
		return t, err
	}
	var err error
	if t.TriggerName, err = o.str(k.name); err != nil {
		return t, err
	}
	if t.TriggerType, err = o.str(k.typ); err != nil {
		return t, err
	}
	if t.TriggerType == "" {
		return t, p.errf(o.line, o.path, "%s is required", k.typ)
	}
	if t.Description, err = o.str("description"); err != nil {
		return t, err
	}
	if t.Qualifier, err = o.str("qualifier"); err != nil {
		return t, err
	}
	// Only an HTTP trigger's config is read; ValidateTrigger refuses the rest.
	if strings.EqualFold(t.TriggerType, "http") {
		if t.TriggerConfig, err = p.httpConfig(o, k, &t); err != nil {
			return t, err
		}
	}
	if err := fc.ValidateTrigger(&t); err != nil {
		return t, &Error{File: p.file, Line: o.line, Field: o.path, Err: err}
	}
	return t, nil
}

// httpConfig parses an HTTP trigger's config; nil when absent. A qualifier
// inside the config (an older FC 2.0 form) is used when the trigger has none.
func (p *parser) httpConfig(o obj, k trigKeys, t *fc.Trigger) (*fc.HTTPTriggerConfig, error) {
	c, ok, err := o.checkedObj(k.config, httpConfigKeys)
	if err != nil || !ok {
		return nil, err
	}
	var cfg fc.HTTPTriggerConfig
	if cfg.AuthType, err = c.str("authType"); err != nil {
		return nil, err
	}
	cfg.AuthType = strings.ToLower(cfg.AuthType)
	if cfg.Methods, err = c.strList("methods"); err != nil {
		return nil, err
	}
	if cfg.DisableURLInternet, err = c.boolean("disableURLInternet"); err != nil {
		return nil, err
	}
	ac, err := c.get("authConfig")
	if err != nil {
		return nil, err
	}
	if cfg.AuthConfig, err = p.authConfig(ac); err != nil {
		return nil, err
	}
	if t.Qualifier == "" {
		if t.Qualifier, err = c.str("qualifier"); err != nil {
			return nil, err
		}
	}
	return &cfg, nil
}

// authConfig reads a JWT trigger's authConfig, written in s.yaml as a
// mapping or, as FC 3.0 takes it, as a string holding its JSON, into the
// typed form (fc.JWTAuthConfig reads both); nil when absent. Variables
// are expanded in its strings.
func (p *parser) authConfig(v val) (*fc.JWTAuthConfig, error) {
	x, err := p.toAny(v, 0)
	if err != nil || x == nil {
		return nil, err
	}
	b, err := json.Marshal(x)
	if err != nil {
		return nil, p.errf(v.line, v.path, "%v", err)
	}
	var c fc.JWTAuthConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, &Error{File: p.file, Line: v.line, Field: v.path, Err: err}
	}
	return &c, nil
}
