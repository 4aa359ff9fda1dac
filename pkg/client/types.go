package client

// The types below mirror FC 2.0's JSON. Optional fields are omitempty, so
// a zero field is left out of create and update requests (and an update
// leaves it unchanged).

// Service groups functions.
type Service struct {
	ServiceName      string `json:"serviceName,omitempty"`
	ServiceID        string `json:"serviceId,omitempty"`
	Description      string `json:"description,omitempty"`
	Role             string `json:"role,omitempty"`
	InternetAccess   *bool  `json:"internetAccess,omitempty"`
	LogConfig        any    `json:"logConfig,omitempty"`
	VPCConfig        any    `json:"vpcConfig,omitempty"`
	NASConfig        any    `json:"nasConfig,omitempty"`
	TracingConfig    any    `json:"tracingConfig,omitempty"`
	CreatedTime      string `json:"createdTime,omitempty"`
	LastModifiedTime string `json:"lastModifiedTime,omitempty"`
}

// CustomRuntimeConfig says how a custom runtime starts.
type CustomRuntimeConfig struct {
	Command []string `json:"command,omitempty"`
	Args    []string `json:"args,omitempty"`
	Port    int      `json:"port,omitempty"`
}

// CustomContainerConfig is the image of a custom-container function, in
// FC 2.0's shape: Command replaces the image's ENTRYPOINT and Args its
// CMD, each a string holding a JSON array (`["node","app.js"]`). Port is
// FC 3.0's place for the port (else the function's CAPort).
type CustomContainerConfig struct {
	Image            string `json:"image,omitempty"`
	Command          string `json:"command,omitempty"`
	Args             string `json:"args,omitempty"`
	Port             int    `json:"port,omitempty"`
	AccelerationType string `json:"accelerationType,omitempty"`
	InstanceID       string `json:"instanceID,omitempty"`
	WebServerMode    *bool  `json:"webServerMode,omitempty"`
}

// Code is a function's code in a create or update request: a base64 zip
// archive (ZipFile) or, on Alibaba Cloud, an OSS object.
type Code struct {
	ZipFile       string `json:"zipFile,omitempty"`
	OSSBucketName string `json:"ossBucketName,omitempty"`
	OSSObjectName string `json:"ossObjectName,omitempty"`
}

// Function is a function's configuration.
type Function struct {
	FunctionName          string               `json:"functionName,omitempty"`
	FunctionID            string               `json:"functionId,omitempty"`
	Description           string               `json:"description,omitempty"`
	Runtime               string               `json:"runtime,omitempty"`
	Handler               string               `json:"handler,omitempty"`
	Initializer           string               `json:"initializer,omitempty"`
	InitializationTimeout int                  `json:"initializationTimeout,omitempty"`
	Timeout               int                  `json:"timeout,omitempty"`
	MemorySize            int                  `json:"memorySize,omitempty"`
	InstanceConcurrency   int                  `json:"instanceConcurrency,omitempty"`
	CAPort                int                  `json:"caPort,omitempty"`
	CustomRuntimeConfig   *CustomRuntimeConfig `json:"customRuntimeConfig,omitempty"`
	// CustomContainerConfig is set for runtime custom-container, which
	// takes no Code.
	CustomContainerConfig *CustomContainerConfig `json:"customContainerConfig,omitempty"`
	EnvironmentVariables  map[string]string      `json:"environmentVariables,omitempty"`
	CodeChecksum          string                 `json:"codeChecksum,omitempty"`
	CodeSize              int64                  `json:"codeSize,omitempty"`
	InstanceType          string                 `json:"instanceType,omitempty"`
	CustomDNS             *CustomDNS             `json:"customDNS,omitempty"`
	// InternetAccess is FC 3.0's per-function switch; nil defers to the
	// service's.
	InternetAccess   *bool  `json:"internetAccess,omitempty"`
	CreatedTime      string `json:"createdTime,omitempty"`
	LastModifiedTime string `json:"lastModifiedTime,omitempty"`
}

// CustomDNS replaces the resolvers in a function's resolv.conf.
type CustomDNS struct {
	NameServers []string    `json:"nameServers,omitempty"`
	Searches    []string    `json:"searches,omitempty"`
	DNSOptions  []DNSOption `json:"dnsOptions,omitempty"`
}

// DNSOption is one resolv.conf option ("ndots" "2" → ndots:2).
type DNSOption struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// FunctionInput is the body of CreateFunction and UpdateFunction: the
// configuration plus, optionally, new code.
type FunctionInput struct {
	Function
	Code *Code `json:"code,omitempty"`
}

// HTTPTriggerConfig is an HTTP trigger's triggerConfig.
type HTTPTriggerConfig struct {
	AuthType           string   `json:"authType,omitempty"`
	Methods            []string `json:"methods,omitempty"`
	DisableURLInternet bool     `json:"disableURLInternet,omitempty"`
	AuthConfig         any      `json:"authConfig,omitempty"`
}

// Trigger is a function trigger.
type Trigger struct {
	TriggerName      string             `json:"triggerName,omitempty"`
	TriggerID        string             `json:"triggerId,omitempty"`
	Description      string             `json:"description,omitempty"`
	TriggerType      string             `json:"triggerType,omitempty"`
	SourceARN        string             `json:"sourceArn,omitempty"`
	InvocationRole   string             `json:"invocationRole,omitempty"`
	Qualifier        string             `json:"qualifier,omitempty"`
	TriggerConfig    *HTTPTriggerConfig `json:"triggerConfig,omitempty"`
	URLInternet      string             `json:"urlInternet,omitempty"`
	URLIntranet      string             `json:"urlIntranet,omitempty"`
	CreatedTime      string             `json:"createdTime,omitempty"`
	LastModifiedTime string             `json:"lastModifiedTime,omitempty"`
}

// ListOptions pages through a list. Zero fields are not sent.
type ListOptions struct {
	Prefix    string
	NextToken string
	Limit     int
}
