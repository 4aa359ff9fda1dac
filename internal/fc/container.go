package fc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
)

// RuntimeCustomContainer is the runtime of functions that run an OCI
// image (FC's custom container).
const RuntimeCustomContainer = "custom-container"

// CustomContainerConfig says which image a custom-container function
// runs and how. Two shapes reach openfc, and both are read into these
// fields:
//
//   - FC 2.0: {image, command, args, accelerationType, instanceID,
//     webServerMode}, where command replaces the image's ENTRYPOINT and
//     args its CMD, each written as a string holding a JSON array
//     ("[\"node\",\"app.js\"]"); the port is the function's caPort.
//   - fc3: {image, entrypoint, command, port, healthCheckConfig,
//     registryConfig, acrInstanceId}, where entrypoint replaces the
//     image's ENTRYPOINT and command its CMD, both arrays.
//
// The shape is told by its keys (see UnmarshalJSON) and stored as FC
// 2.0's: Command is what replaces ENTRYPOINT, Args what replaces CMD, and
// GetFunction writes them as FC 2.0's SDKs read them (strings).
type CustomContainerConfig struct {
	// Image is the image reference (registry/repository:tag or @digest).
	Image string `json:"image"`
	// Command replaces the image's ENTRYPOINT; empty keeps it.
	Command StringArray `json:"command,omitempty"`
	// Args replaces the image's CMD; empty keeps it unless Command is set
	// (Docker's rule: a new entrypoint drops the image's CMD).
	Args StringArray `json:"args,omitempty"`
	// Port is fc3's place for the port the image's server listens on;
	// FC 2.0 uses the function's caPort. See Function.Port.
	Port int `json:"port,omitempty"`
	// HealthCheckConfig is fc3's place for the health check; see
	// Function.HealthCheck.
	HealthCheckConfig *HealthCheckConfig `json:"healthCheckConfig,omitempty"`
	// RegistryConfig holds the registry's credentials (fc3).
	RegistryConfig *RegistryConfig `json:"registryConfig,omitempty"`
	// AccelerationType (Default or None) asks FC's cloud to prepare an
	// accelerated copy of the image. Accepted and kept; openfc unpacks
	// each image once per node, which is its acceleration.
	AccelerationType string `json:"accelerationType,omitempty"`
	// InstanceID (FC 2.0) and AcrInstanceID (fc3) name an Alibaba Cloud
	// Container Registry Enterprise instance. Accepted and kept; the
	// image reference already names the registry openfc pulls from.
	InstanceID    string `json:"instanceID,omitempty"`
	AcrInstanceID string `json:"acrInstanceId,omitempty"`
	// WebServerMode false is FC 2.0's event container (run to exit per
	// event), which openfc does not run: it is refused. Nil or true: the
	// image serves HTTP on its port.
	WebServerMode *bool `json:"webServerMode,omitempty"`
}

// RegistryConfig is fc3's registryConfig: how to reach the image's
// registry.
type RegistryConfig struct {
	AuthConfig *RegistryAuthConfig `json:"authConfig,omitempty"`
	// CertConfig (an insecure registry, or its own root CA) is refused
	// when set: openfc pulls over HTTPS with the node's trusted roots (a
	// registry on localhost or a private address is reached over HTTP).
	CertConfig *RegistryCertConfig `json:"certConfig,omitempty"`
	// NetworkConfig (the VPC to pull through) is accepted and kept: each
	// node pulls over its own network.
	NetworkConfig *RegistryNetworkConfig `json:"networkConfig,omitempty"`
}

// RegistryAuthConfig holds the registry's user name and password.
type RegistryAuthConfig struct {
	UserName string `json:"userName,omitempty"`
	Password string `json:"password,omitempty"`
}

// RegistryCertConfig is a registry's TLS settings.
type RegistryCertConfig struct {
	Insecure         bool   `json:"insecure,omitempty"`
	RootCaCertBase64 string `json:"rootCaCertBase64,omitempty"`
}

// RegistryNetworkConfig is the VPC a registry is reached through.
type RegistryNetworkConfig struct {
	VpcID           string `json:"vpcId,omitempty"`
	VSwitchID       string `json:"vSwitchId,omitempty"`
	SecurityGroupID string `json:"securityGroupId,omitempty"`
}

// Credentials returns the registry user name and password, if any
// (empty: the operator's docker config, else anonymous).
func (c *CustomContainerConfig) Credentials() (user, password string) {
	if c == nil || c.RegistryConfig == nil || c.RegistryConfig.AuthConfig == nil {
		return "", ""
	}
	a := c.RegistryConfig.AuthConfig
	return a.UserName, a.Password
}

// StringArray is a list of strings that FC 2.0 writes as a string holding
// a JSON array ("[\"node\",\"app.js\"]") and fc3 as a JSON array. It
// reads both and writes FC 2.0's form.
type StringArray []string

// MarshalJSON writes the list as a string holding a JSON array.
func (s StringArray) MarshalJSON() ([]byte, error) {
	inner, err := json.Marshal([]string(s))
	if err != nil {
		return nil, err
	}
	return json.Marshal(string(inner))
}

// UnmarshalJSON reads a JSON array of strings, or a string holding one.
// An empty string or null is an empty list (FC 2.0's SDKs send "" for a
// field left unset).
func (s *StringArray) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*s = nil
		return nil
	}
	what := jsonKind(b)
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		if strings.TrimSpace(str) == "" {
			*s = nil
			return nil
		}
		what = fmt.Sprintf("string %q, which does not hold a JSON array of strings (FC 2.0 writes %q)", str, `["node","app.js"]`)
		b = []byte(str)
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		// A type error: encoding/json adds the field's path to it.
		return &json.UnmarshalTypeError{Value: what, Type: reflect.TypeFor[[]string]()}
	}
	*s = list
	return nil
}

// jsonKind names the kind of a JSON value, as type errors do.
func jsonKind(b []byte) string {
	switch {
	case len(b) == 0:
		return "nothing"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array with an item that is not a string"
	case b[0] == 't' || b[0] == 'f':
		return "bool"
	case b[0] == '"':
		return "string"
	}
	return "number"
}

// plainContainerConfig is CustomContainerConfig without its methods, so
// that decoding it does not recurse.
type plainContainerConfig CustomContainerConfig

// containerShape is what tells the two shapes apart: fc3's entrypoint,
// and whether command is an array (fc3) or a string (FC 2.0).
type containerShape struct {
	Entrypoint StringArray     `json:"entrypoint"`
	Command    json.RawMessage `json:"command"`
}

// UnmarshalJSON reads either shape (see CustomContainerConfig). It is
// fc3's when it has an entrypoint, or when its command is an array and it
// has no args: then entrypoint replaces ENTRYPOINT and command CMD.
// Otherwise it is FC 2.0's: command replaces ENTRYPOINT and args CMD.
func (c *CustomContainerConfig) UnmarshalJSON(b []byte) error {
	var shape containerShape
	*c = CustomContainerConfig{}
	if err := json.Unmarshal(b, (*plainContainerConfig)(c)); err != nil {
		return err
	}
	if err := json.Unmarshal(b, &shape); err != nil {
		return err
	}
	raw := bytes.TrimSpace(shape.Command)
	isArray := len(raw) > 0 && raw[0] == '['
	switch {
	case len(shape.Entrypoint) > 0 && len(c.Args) > 0:
		return invalid("customContainerConfig has both entrypoint (fc3's shape: entrypoint and command) and args (FC 2.0's: command and args); use one shape")
	case len(shape.Entrypoint) > 0:
		c.Command, c.Args = shape.Entrypoint, c.Command
	case isArray && len(c.Args) == 0:
		c.Command, c.Args = nil, c.Command
	}
	return nil
}

// imageRefRE is the grammar of an image reference (the distribution
// project's): [host[:port]/]path[:tag][@digest], where path components
// are lowercase.
var imageRefRE = func() *regexp.Regexp {
	const (
		component  = `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`
		domainPart = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
		host       = `(?:` + domainPart + `(?:\.` + domainPart + `)*|\[[a-fA-F0-9:]+\])`
		domain     = host + `(?::[0-9]+)?`
		name       = `(?:` + domain + `/)?` + component + `(?:/` + component + `)*`
		tag        = `[\w][\w.-]{0,127}`
		digest     = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
	)
	return regexp.MustCompile(`^` + name + `(?::` + tag + `)?(?:@` + digest + `)?$`)
}()

// ValidateImageRef checks an image reference's syntax (what the image is
// is the image store's business).
func ValidateImageRef(ref string) error {
	name, _, _ := strings.Cut(ref, "@")
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name = name[:i]
	}
	if len(ref) > 1024 || len(name) > 255 || !imageRefRE.MatchString(ref) {
		return invalid("customContainerConfig.image %q is not an image reference: use [registry/]repository[:tag][@digest] "+
			"with a lowercase repository, such as registry.example.com/team/app:v1", ref)
	}
	return nil
}

// validateContainer checks the container settings of f: a custom-container
// function needs customContainerConfig.image, and other functions may not
// carry one. Settings openfc cannot honour are refused, naming the field.
func validateContainer(f *Function) error {
	c := f.CustomContainerConfig
	if f.Runtime != RuntimeCustomContainer {
		if c != nil {
			return invalid("customContainerConfig is only for runtime %q (runtime is %q); remove it or set it to null", RuntimeCustomContainer, f.Runtime)
		}
		return nil
	}
	if c == nil || c.Image == "" {
		return invalid("customContainerConfig.image is required for runtime %q", RuntimeCustomContainer)
	}
	if r := f.CustomRuntimeConfig; r != nil && (len(r.Command) > 0 || len(r.Args) > 0 || r.Port != 0 || r.HealthCheckConfig != nil) {
		return invalid("customRuntimeConfig is for custom runtimes; a %s function sets its command, port and health check in customContainerConfig", RuntimeCustomContainer)
	}
	if err := ValidateImageRef(c.Image); err != nil {
		return err
	}
	if c.Port != 0 {
		if err := checkRange("customContainerConfig.port", c.Port, 1, 65535); err != nil {
			return err
		}
	}
	if len(c.Command) > 0 && c.Command[0] == "" {
		return invalid("customContainerConfig.command[0] (fc3: entrypoint[0]), the program that replaces the image's ENTRYPOINT, is empty")
	}
	switch strings.ToLower(c.AccelerationType) {
	case "", "default", "none":
	default:
		return invalid("customContainerConfig.accelerationType %q is invalid: use Default or None", c.AccelerationType)
	}
	if c.WebServerMode != nil && !*c.WebServerMode {
		return invalid("customContainerConfig.webServerMode false (a container run to exit once per event) is not supported by openfc: " +
			"the image must serve HTTP on its port (webServerMode true)")
	}
	if rc := c.RegistryConfig; rc != nil && rc.CertConfig != nil && (rc.CertConfig.Insecure || rc.CertConfig.RootCaCertBase64 != "") {
		return invalid("customContainerConfig.registryConfig.certConfig is not supported by openfc: it pulls over HTTPS with the node's " +
			"trusted certificates (a registry on localhost or a private address over plain HTTP); remove certConfig")
	}
	return nil
}
