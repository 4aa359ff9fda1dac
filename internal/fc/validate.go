package fc

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/openfc/openfc/internal/suggest"
)

// Defaults FC applies when a field is left out.
const (
	DefaultCAPort              = 9000
	DefaultMemorySize          = 128
	DefaultTimeout             = 3
	DefaultInstanceConcurrency = 1
	DefaultInitTimeout         = 3
	MaxTimeout                 = 86400
	MaxEnvBytes                = 4096
)

// nameRE is FC's rule for service, function and trigger names: letters,
// digits, '_' and '-', not starting with a digit or '-'.
var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

var envKeyRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

func invalid(format string, args ...any) *Error {
	return Errorf(CodeInvalidArgument, format, args...)
}

// ValidateName checks a resource name (field is e.g. "serviceName") against
// FC's rules with the given maximum length.
func ValidateName(field, name string, max int) error {
	switch {
	case name == "":
		return invalid("%s is required", field)
	case len(name) > max:
		return invalid("%s %q is longer than %d characters", field, name, max)
	case !nameRE.MatchString(name):
		return invalid("%s %q is invalid: use letters, digits, '_' and '-', and do not start with a digit or '-'", field, name)
	}
	return nil
}

// ValidateService checks a service and fills in defaults.
func ValidateService(s *Service) error {
	return ValidateName("serviceName", s.ServiceName, 128)
}

// customRuntimes are FC's custom runtimes, in FC's order. openfc runs them
// all alike: the code brings its own HTTP server, whatever the image.
var customRuntimes = []string{"custom", "custom.debian10", "custom.debian11", "custom.debian12"}

// builtinRunnable are the built-in runtimes openfc runs (internal/runtimes:
// its bootstrap calls the handler with FC's signature).
var builtinRunnable = []string{
	"nodejs12", "nodejs14", "nodejs16", "nodejs18", "nodejs20",
	"python3", "python3.9", "python3.10",
	"php7.2",
	"java8", "java11",
}

// runnableRuntimes are the runtimes openfc runs: the custom runtimes,
// custom containers (an image whose server listens on the port) and the
// built-in runtimes of builtinRunnable.
var runnableRuntimes = slices.Concat(customRuntimes, []string{RuntimeCustomContainer}, builtinRunnable)

// builtinRuntimes are FC's built-in runtimes (FC 2.0 and 3.0, as the
// Serverless Devs fc3 component lists them); those not in builtinRunnable
// are known but not yet runnable here.
var builtinRuntimes = []string{
	"nodejs8", "nodejs10", "nodejs12", "nodejs14", "nodejs16", "nodejs18", "nodejs20",
	"python2.7", "python3", "python3.9", "python3.10", "python3.12",
	"php7.2", "java8", "java11", "dotnetcore2.1", "dotnetcore3.1", "go1",
	"micro-sandbox",
}

// IsCustomRuntime reports whether runtime is one of FC's custom runtimes
// ("custom", "custom.debian10", …), whose code brings its own HTTP server.
func IsCustomRuntime(runtime string) bool {
	return slices.Contains(customRuntimes, runtime)
}

// IsBuiltinRuntime reports whether runtime is one of FC's built-in
// runtimes that openfc runs ("nodejs18", "python3.10"): the code is a
// handler, started by openfc's bootstrap for the language.
func IsBuiltinRuntime(runtime string) bool {
	return slices.Contains(builtinRunnable, runtime)
}

// ValidateRuntime checks that runtime is an FC runtime openfc runs. The
// message of an unknown one suggests the closest FC runtime, and both kinds
// of refusal list the runtimes openfc runs.
func ValidateRuntime(runtime string) error {
	runnable := "openfc runs " + strings.Join(runnableRuntimes, ", ")
	switch {
	case runtime == "":
		return invalid("runtime is required")
	case slices.Contains(runnableRuntimes, runtime):
		return nil
	case strings.HasPrefix(runtime, "dotnetcore") && slices.Contains(builtinRuntimes, runtime):
		// C# handlers need a .NET runtime, which these machines do not
		// have, and a bootstrap openfc does not ship without one.
		return invalid("runtime %q needs a .NET runtime (the dotnet command), which this machine does not have, and openfc has no C# bootstrap yet; %s", runtime, runnable)
	case slices.Contains(builtinRuntimes, runtime):
		return invalid("runtime %q is not supported by this openfc yet; %s", runtime, runnable)
	}
	msg := fmt.Sprintf("runtime %q is not a Function Compute runtime", runtime)
	if s := suggest.Closest(runtime, slices.Concat(runnableRuntimes, builtinRuntimes)); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return invalid("%s; %s", msg, runnable)
}

func checkRange(field string, v, lo, hi int) error {
	if v < lo || v > hi {
		return invalid("%s %d is out of range [%d, %d]", field, v, lo, hi)
	}
	return nil
}

// ValidateFunction checks a function's configuration (not its code) and
// fills in FC's defaults for fields left at zero.
func ValidateFunction(f *Function) error {
	if err := ValidateName("functionName", f.FunctionName, 64); err != nil {
		return err
	}
	if err := ValidateRuntime(f.Runtime); err != nil {
		return err
	}
	if f.Handler == "" {
		f.Handler = "index.handler"
	}
	if err := validateHandlerStyle(f); err != nil {
		return err
	}
	if f.MemorySize == 0 {
		f.MemorySize = DefaultMemorySize
	}
	if err := checkRange("memorySize", f.MemorySize, 128, 32768); err != nil {
		return err
	}
	if f.MemorySize%64 != 0 {
		return invalid("memorySize %d is not a multiple of 64", f.MemorySize)
	}
	if f.Timeout == 0 {
		f.Timeout = DefaultTimeout
	}
	if err := checkRange("timeout", f.Timeout, 1, MaxTimeout); err != nil {
		return err
	}
	if f.InstanceConcurrency == 0 {
		f.InstanceConcurrency = DefaultInstanceConcurrency
	}
	if err := checkRange("instanceConcurrency", f.InstanceConcurrency, 1, 200); err != nil {
		return err
	}
	if f.InitializationTimeout == 0 && f.Initializer != "" {
		f.InitializationTimeout = DefaultInitTimeout
	}
	if err := checkRange("initializationTimeout", f.InitializationTimeout, 0, 300); err != nil {
		return err
	}
	if f.CAPort != 0 {
		if err := checkRange("caPort", f.CAPort, 1, 65535); err != nil {
			return err
		}
	}
	if c := f.CustomRuntimeConfig; c != nil {
		if c.Port != 0 {
			if err := checkRange("customRuntimeConfig.port", c.Port, 1, 65535); err != nil {
				return err
			}
		}
		for i, a := range c.Command {
			if a == "" {
				return invalid("customRuntimeConfig.command[%d] is empty", i)
			}
		}
		if len(c.Command) == 0 && len(c.Args) > 0 {
			return invalid("customRuntimeConfig.command is required when customRuntimeConfig.args is set")
		}
	}
	if err := validateContainer(f); err != nil {
		return err
	}
	for _, hc := range f.healthChecks() {
		if err := validateHealthCheck(hc); err != nil {
			return err
		}
	}
	if c := f.InstanceLifecycleConfig; c != nil {
		for name, h := range map[string]*LifecycleHook{"preStop": c.PreStop, "preFreeze": c.PreFreeze} {
			if h == nil {
				continue
			}
			if h.Timeout == 0 {
				h.Timeout = DefaultInitTimeout
			}
			if err := checkRange("instanceLifecycleConfig."+name+".timeout", h.Timeout, 1, 900); err != nil {
				return err
			}
		}
	}
	if err := ValidateCustomDNS(f.CustomDNS); err != nil {
		return err
	}
	if f.CustomDNS != nil && f.CustomDNS.isEmpty() {
		f.CustomDNS = nil // {} sets nothing: stored as no custom DNS
	}
	size := 0
	for k, v := range f.EnvironmentVariables {
		if !envKeyRE.MatchString(k) {
			return invalid("environmentVariables key %q is invalid: start with a letter, then letters, digits and '_'", k)
		}
		size += len(k) + len(v)
	}
	if size > MaxEnvBytes {
		return invalid("environmentVariables total %d bytes exceeds the limit of %d bytes", size, MaxEnvBytes)
	}
	return nil
}

// HTTP trigger auth types.
const (
	AuthAnonymous = "anonymous"
	AuthFunction  = "function"
	AuthJWT       = "jwt"
)

// HTTPMethods are the methods an HTTP trigger may allow.
var httpMethods = map[string]bool{
	"GET": true, "POST": true, "PUT": true, "DELETE": true, "HEAD": true, "PATCH": true, "OPTIONS": true,
}

// ValidateTrigger checks a trigger and normalises its config.
func ValidateTrigger(t *Trigger) error {
	if err := ValidateName("triggerName", t.TriggerName, 128); err != nil {
		return err
	}
	if !strings.EqualFold(t.TriggerType, "http") {
		return invalid("triggerType %q is not supported: openfc runs HTTP triggers only", t.TriggerType)
	}
	t.TriggerType = "http"
	c := t.TriggerConfig
	if c == nil {
		return invalid("triggerConfig is required for an HTTP trigger")
	}
	if c.AuthType == "" {
		c.AuthType = AuthFunction
	}
	switch c.AuthType {
	case AuthAnonymous, AuthFunction:
	case AuthJWT:
		if err := validateJWTAuthConfig(c.AuthConfig); err != nil {
			return err
		}
	default:
		return invalid("triggerConfig.authType %q is invalid: use anonymous, function or jwt", c.AuthType)
	}
	if len(c.Methods) == 0 {
		return invalid("triggerConfig.methods is required")
	}
	seen := map[string]bool{}
	for i, m := range c.Methods {
		m = strings.ToUpper(m)
		if !httpMethods[m] {
			return invalid("triggerConfig.methods[%d] %q is invalid: use GET, POST, PUT, DELETE, HEAD, PATCH or OPTIONS", i, c.Methods[i])
		}
		if seen[m] {
			return invalid("triggerConfig.methods[%d] %q is listed twice", i, m)
		}
		seen[m] = true
		c.Methods[i] = m
	}
	if t.Qualifier == "" {
		t.Qualifier = LATEST
	}
	return nil
}

// validateHealthCheck checks a health check against FC's ranges and fills
// in FC's defaults (delay 0, period 3 s, timeout 1 s, thresholds 3 and 1).
func validateHealthCheck(h *HealthCheckConfig) error {
	if h == nil {
		return nil
	}
	if h.HTTPGetURL == "" || !strings.HasPrefix(h.HTTPGetURL, "/") || len(h.HTTPGetURL) > 2048 {
		return invalid("customHealthCheckConfig.httpGetUrl %q must be a path starting with '/' (at most 2048 characters)", h.HTTPGetURL)
	}
	for _, d := range []struct {
		field   string
		v       *int
		def, lo int
		hi      int
	}{
		{"initialDelaySeconds", &h.InitialDelaySeconds, 0, 0, 120},
		{"periodSeconds", &h.PeriodSeconds, 3, 1, 120},
		{"timeoutSeconds", &h.TimeoutSeconds, 1, 1, 3},
		{"failureThreshold", &h.FailureThreshold, 3, 1, 120},
		{"successThreshold", &h.SuccessThreshold, 1, 1, 120},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
		if err := checkRange("customHealthCheckConfig."+d.field, *d.v, d.lo, d.hi); err != nil {
			return err
		}
	}
	return nil
}

// Handler styles (Function.HandlerStyle): how a built-in runtime calls the
// handler on an HTTP trigger.
const (
	// HandlerStyleHTTP is FC 2.0's HTTP handler (Node.js request,
	// response, context; Python WSGI): functions from the 2016-08-15 API
	// and the fc component.
	HandlerStyleHTTP = "http"
	// HandlerStyleEvent is FC 3.0's: handler(event, context) with the
	// request as a JSON event, returning {statusCode, headers, body}:
	// functions deployed from an fc3 s.yaml.
	HandlerStyleEvent = "event"
)

// validateHandlerStyle checks a built-in runtime's handler ("file.func")
// and handler style, which defaults to FC 2.0's HTTP handler.
func validateHandlerStyle(f *Function) error {
	switch f.HandlerStyle {
	case "", HandlerStyleHTTP, HandlerStyleEvent:
	default:
		return invalid("handlerStyle %q is invalid: use %q or %q", f.HandlerStyle, HandlerStyleHTTP, HandlerStyleEvent)
	}
	if !IsBuiltinRuntime(f.Runtime) {
		f.HandlerStyle = "" // (left by an update that changed the runtime)
		return nil
	}
	if f.HandlerStyle == "" {
		f.HandlerStyle = HandlerStyleHTTP
	}
	if strings.HasPrefix(f.Runtime, "java") {
		return validateJavaHandlers(f)
	}
	if i := strings.LastIndexByte(f.Handler, '.'); i <= 0 || i == len(f.Handler)-1 {
		return invalid("handler %q is invalid for runtime %s: use file.function, such as index.handler", f.Handler, f.Runtime)
	}
	if f.Initializer != "" && !strings.Contains(strings.Trim(f.Initializer, "."), ".") {
		return invalid("initializer %q is invalid for runtime %s: use file.function, such as index.initializer", f.Initializer, f.Runtime)
	}
	return nil
}

// validateJavaHandlers checks FC's Java form of handlers,
// package.Class::method (a class in the default package has no package).
func validateJavaHandlers(f *Function) error {
	for _, h := range []struct{ what, v, eg string }{
		{"handler", f.Handler, "example.App::handleRequest"},
		{"initializer", f.Initializer, "example.App::initialize"},
	} {
		if h.v == "" && h.what == "initializer" {
			continue
		}
		cls, method, ok := strings.Cut(h.v, "::")
		if !ok || cls == "" || method == "" || strings.ContainsAny(h.v, "/\\ ") {
			return invalid("%s %q is invalid for runtime %s: use package.Class::method, such as %s", h.what, h.v, f.Runtime, h.eg)
		}
	}
	return nil
}
