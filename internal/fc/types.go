package fc

import (
	"strings"
	"time"
)

// APIVersion is the FC 2.0 REST API version openfc serves.
const APIVersion = "2016-08-15"

// LATEST is the qualifier of the mutable head of a service.
const LATEST = "LATEST"

// TimeFormat is the layout FC uses for createdTime and lastModifiedTime.
const TimeFormat = "2006-01-02T15:04:05Z"

// Service groups functions; it is FC 2.0's unit of versioning.
type Service struct {
	ServiceName      string `json:"serviceName"`
	ServiceID        string `json:"serviceId,omitempty"`
	Description      string `json:"description"`
	Role             string `json:"role,omitempty"`
	InternetAccess   *bool  `json:"internetAccess,omitempty"`
	LogConfig        any    `json:"logConfig,omitempty"`
	VPCConfig        any    `json:"vpcConfig,omitempty"`
	NASConfig        any    `json:"nasConfig,omitempty"`
	TracingConfig    any    `json:"tracingConfig,omitempty"`
	CreatedTime      string `json:"createdTime"`
	LastModifiedTime string `json:"lastModifiedTime"`
}

// CustomRuntimeConfig says how a custom runtime starts: command + args, and
// the port its HTTP server listens on (FC 3.0 shape, also accepted on 2.0).
type CustomRuntimeConfig struct {
	Command []string `json:"command,omitempty"`
	Args    []string `json:"args,omitempty"`
	Port    int      `json:"port,omitempty"`
	// HealthCheckConfig is FC 3.0's place for the health check.
	HealthCheckConfig *HealthCheckConfig `json:"healthCheckConfig,omitempty"`
}

// HealthCheckConfig is a custom HTTP health check (FC's
// customHealthCheckConfig). Zero fields take FC's defaults.
type HealthCheckConfig struct {
	HTTPGetURL          string `json:"httpGetUrl"`
	InitialDelaySeconds int    `json:"initialDelaySeconds"`
	PeriodSeconds       int    `json:"periodSeconds"`
	TimeoutSeconds      int    `json:"timeoutSeconds"`
	FailureThreshold    int    `json:"failureThreshold"`
	SuccessThreshold    int    `json:"successThreshold"`
}

// LifecycleHook is one instance lifecycle hook; only its timeout matters
// to a custom runtime (the hook is an HTTP path).
type LifecycleHook struct {
	Handler string `json:"handler,omitempty"`
	Timeout int    `json:"timeout,omitempty"`
}

// InstanceLifecycleConfig holds the PreFreeze and PreStop hooks.
type InstanceLifecycleConfig struct {
	PreFreeze *LifecycleHook `json:"preFreeze,omitempty"`
	PreStop   *LifecycleHook `json:"preStop,omitempty"`
}

// FunctionCode is the function code in a create or update request. Only zipFile
// (base64 of a zip archive) is supported; OSS locations are refused.
// ZipFile holds the zip itself: encoding/json turns it into base64 and
// back without an intermediate string, so that a 100 MB package is not
// held in memory three times over.
type FunctionCode struct {
	ZipFile       []byte `json:"zipFile,omitempty"`
	OSSBucketName string `json:"ossBucketName,omitempty"`
	OSSObjectName string `json:"ossObjectName,omitempty"`
}

// Function is a function's stored configuration. CodeChecksum names the
// code package in the object store (FC's CRC-64/ECMA of the zip, decimal).
type Function struct {
	FunctionName string `json:"functionName"`
	FunctionID   string `json:"functionId,omitempty"`
	ServiceName  string `json:"-"`
	Description  string `json:"description"`
	Runtime      string `json:"runtime"`
	Handler      string `json:"handler"`
	// HandlerStyle is an openfc extension: how a built-in runtime calls
	// the handler (HandlerStyleHTTP, FC 2.0's HTTP handler, or
	// HandlerStyleEvent, FC 3.0's event). "" on other runtimes.
	HandlerStyle          string               `json:"handlerStyle,omitempty"`
	Initializer           string               `json:"initializer,omitempty"`
	InitializationTimeout int                  `json:"initializationTimeout,omitempty"`
	Timeout               int                  `json:"timeout"`
	MemorySize            int                  `json:"memorySize"`
	InstanceConcurrency   int                  `json:"instanceConcurrency"`
	CAPort                int                  `json:"caPort,omitempty"`
	CustomRuntimeConfig   *CustomRuntimeConfig `json:"customRuntimeConfig,omitempty"`
	// CustomContainerConfig is the image of a custom-container function.
	CustomContainerConfig *CustomContainerConfig `json:"customContainerConfig,omitempty"`
	EnvironmentVariables  map[string]string      `json:"environmentVariables"`
	CodeChecksum          string                 `json:"codeChecksum"`
	CodeSize              int64                  `json:"codeSize"`
	InstanceType          string                 `json:"instanceType,omitempty"`
	// CustomHealthCheckConfig is FC 2.0's place for the health check.
	CustomHealthCheckConfig *HealthCheckConfig       `json:"customHealthCheckConfig,omitempty"`
	InstanceLifecycleConfig *InstanceLifecycleConfig `json:"instanceLifecycleConfig,omitempty"`
	// CustomDNS replaces the host's resolvers in the instances'
	// resolv.conf; nil keeps them.
	CustomDNS *CustomDNS `json:"customDNS,omitempty"`
	// InternetAccess is FC 3.0's per-function switch; nil defers to the
	// service's (see InternetAccess).
	InternetAccess   *bool  `json:"internetAccess,omitempty"`
	CreatedTime      string `json:"createdTime"`
	LastModifiedTime string `json:"lastModifiedTime"`
	// VersionID is the published version this snapshot belongs to; ""
	// for LATEST. Set by the store when it reads a version, never stored
	// in the function's JSON.
	VersionID string `json:"-"`
}

// Version returns the function's version id, LATEST for the mutable head.
func (f *Function) Version() string {
	if f.VersionID == "" {
		return LATEST
	}
	return f.VersionID
}

// Port returns the port the function's HTTP server listens on:
// customRuntimeConfig.port or customContainerConfig.port (FC 3.0's
// places), else caPort (FC 2.0's), else FC's default 9000.
func (f *Function) Port() int {
	if f.CustomRuntimeConfig != nil && f.CustomRuntimeConfig.Port != 0 {
		return f.CustomRuntimeConfig.Port
	}
	if f.CustomContainerConfig != nil && f.CustomContainerConfig.Port != 0 {
		return f.CustomContainerConfig.Port
	}
	if f.CAPort != 0 {
		return f.CAPort
	}
	return DefaultCAPort
}

// HealthCheck returns the function's custom health check (FC 2.0's
// customHealthCheckConfig, or FC 3.0's in customRuntimeConfig or
// customContainerConfig) or nil.
func (f *Function) HealthCheck() *HealthCheckConfig {
	for _, hc := range f.healthChecks() {
		if hc != nil && hc.HTTPGetURL != "" {
			return hc
		}
	}
	return nil
}

// healthChecks lists the places of a health check, FC 2.0's first.
func (f *Function) healthChecks() []*HealthCheckConfig {
	out := []*HealthCheckConfig{f.CustomHealthCheckConfig, nil, nil}
	if c := f.CustomRuntimeConfig; c != nil {
		out[1] = c.HealthCheckConfig
	}
	if c := f.CustomContainerConfig; c != nil {
		out[2] = c.HealthCheckConfig
	}
	return out
}

// IsContainer reports whether f runs an OCI image (custom-container).
func (f *Function) IsContainer() bool { return f.Runtime == RuntimeCustomContainer }

// PreStop returns the PreStop hook or nil.
func (f *Function) PreStop() *LifecycleHook {
	if c := f.InstanceLifecycleConfig; c != nil && c.PreStop != nil {
		return c.PreStop
	}
	return nil
}

// Concurrency returns the per-instance concurrency, at least 1.
func (f *Function) Concurrency() int {
	if f.InstanceConcurrency < 1 {
		return 1
	}
	return f.InstanceConcurrency
}

// HTTPTriggerConfig is an HTTP trigger's triggerConfig.
type HTTPTriggerConfig struct {
	AuthType           string   `json:"authType"`
	Methods            []string `json:"methods"`
	DisableURLInternet bool     `json:"disableURLInternet,omitempty"`
	// AuthConfig configures authType jwt. Other auth types keep it as
	// given (switching to anonymous and back loses nothing) but neither
	// validate nor use it.
	AuthConfig *JWTAuthConfig `json:"authConfig,omitempty"`
}

// AllowsMethod reports whether method is in the trigger's methods.
func (c *HTTPTriggerConfig) AllowsMethod(method string) bool {
	for _, m := range c.Methods {
		if m == method {
			return true
		}
	}
	return false
}

// Trigger is a function trigger. openfc runs HTTP triggers only.
type Trigger struct {
	TriggerName      string             `json:"triggerName"`
	TriggerID        string             `json:"triggerId,omitempty"`
	ServiceName      string             `json:"-"`
	FunctionName     string             `json:"-"`
	Description      string             `json:"description"`
	TriggerType      string             `json:"triggerType"`
	SourceARN        string             `json:"sourceArn,omitempty"`
	InvocationRole   string             `json:"invocationRole,omitempty"`
	Qualifier        string             `json:"qualifier,omitempty"`
	TriggerConfig    *HTTPTriggerConfig `json:"triggerConfig"`
	URLInternet      string             `json:"urlInternet,omitempty"`
	URLIntranet      string             `json:"urlIntranet,omitempty"`
	CreatedTime      string             `json:"createdTime"`
	LastModifiedTime string             `json:"lastModifiedTime"`
}

// Timestamp formats t as FC does in createdTime/lastModifiedTime.
func Timestamp(t time.Time) string { return t.UTC().Format(TimeFormat) }

// URLID is the trigger's id as it appears in its subdomain: the TriggerID
// lowercased, without dashes.
func (t *Trigger) URLID() string {
	return strings.ToLower(strings.ReplaceAll(t.TriggerID, "-", ""))
}

// OnDemandConfig caps the on-demand instances of a function version
// (FC's on-demand-config).
type OnDemandConfig struct {
	Resource             string `json:"resource"`
	MaximumInstanceCount int    `json:"maximumInstanceCount"`
}

// ProvisionConfig keeps Target instances of a function version warm
// (FC's provision-config). Current is reported on reads.
type ProvisionConfig struct {
	Resource string `json:"resource"`
	Target   int    `json:"target"`
	Current  int    `json:"current"`
}

// ScalingResource names a function version in scaling configs.
func ScalingResource(accountID, service, qualifier, function string) string {
	return accountID + "#" + service + "#" + qualifier + "#" + function
}

// Instance states.
const (
	InstanceStarting = "Starting"
	InstanceReady    = "Ready"
	InstanceStopping = "Stopping"
)

// InstanceInfo describes one running instance (FC's ListInstances, plus
// openfc's counters).
type InstanceInfo struct {
	InstanceID     string `json:"instanceId"`
	ServiceName    string `json:"serviceName"`
	FunctionName   string `json:"functionName"`
	Qualifier      string `json:"qualifier"`
	VersionID      string `json:"versionId"`
	State          string `json:"state"`
	StartedTime    string `json:"startedTime"`
	InFlight       int    `json:"inFlight"`
	RequestsServed int64  `json:"requestsServed"`
	// Restarts counts the instances of this function that exited
	// unexpectedly or failed health checks before this one.
	Restarts    int  `json:"restarts"`
	Provisioned bool `json:"provisioned"`
	// Address is the instance's own IP address; empty where instances
	// share the host network.
	Address string `json:"address,omitempty"`
}
