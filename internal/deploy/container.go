package deploy

import (
	"encoding/json"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/openfc/openfc/internal/fc"
)

// The keys of customContainerConfig. The fc3 component writes FC 3.0's
// shape (devsapp/fc3 src/interface/function.ts: entrypoint and command
// are lists); the fc component FC 2.0's (fc-deploy's docs: command and
// args are strings holding JSON arrays, '["/code/myserver"]').
var (
	fc3ContainerKeys = newKeySet("customContainerConfig", []string{
		"image", "entrypoint", "command", "port", "healthCheckConfig", "registryConfig", "acrInstanceId", "accelerationType",
	}, nil, nil)
	fc2ContainerKeys = newKeySet("customContainerConfig", []string{
		"image", "command", "args", "instanceID", "accelerationType", "webServerMode",
	}, nil, nil)
	registryKeys        = newKeySet("registryConfig", []string{"authConfig", "certConfig", "networkConfig"}, nil, nil)
	registryAuthKeys    = newKeySet("registryConfig.authConfig", []string{"userName", "password"}, nil, nil)
	registryCertKeys    = newKeySet("registryConfig.certConfig", []string{"insecure", "rootCaCertBase64"}, nil, nil)
	registryNetworkKeys = newKeySet("registryConfig.networkConfig", []string{"vpcId", "vSwitchId", "securityGroupId"}, nil, nil)
)

// containerConfig parses customContainerConfig in the format's shape;
// nil when absent. fc3's entrypoint and command become FC 2.0's command
// and args (what replaces the image's ENTRYPOINT, and its CMD), the one
// meaning openfc stores.
func (p *parser) containerConfig(o obj, fc3 bool) (*fc.CustomContainerConfig, error) {
	ks := fc2ContainerKeys
	if fc3 {
		ks = fc3ContainerKeys
	}
	c, ok, err := o.checkedObj("customContainerConfig", ks)
	if err != nil || !ok {
		return nil, err
	}
	var out fc.CustomContainerConfig
	for _, s := range []struct {
		key string
		dst *string
	}{
		{"image", &out.Image}, {"accelerationType", &out.AccelerationType},
		{"instanceID", &out.InstanceID}, {"acrInstanceId", &out.AcrInstanceID},
	} {
		if *s.dst, err = c.str(s.key); err != nil {
			return nil, err
		}
	}
	if fc3 {
		if out.Command, err = c.strList("entrypoint"); err != nil {
			return nil, err
		}
		if out.Args, err = c.strList("command"); err != nil {
			return nil, err
		}
	} else {
		if out.Command, err = p.argvList(c, "command"); err != nil {
			return nil, err
		}
		if out.Args, err = p.argvList(c, "args"); err != nil {
			return nil, err
		}
	}
	if out.Port, err = c.integer("port"); err != nil {
		return nil, err
	}
	if c.has("webServerMode") {
		b, err := c.boolean("webServerMode")
		if err != nil {
			return nil, err
		}
		out.WebServerMode = &b
	}
	if out.HealthCheckConfig, err = healthCheck(c, "healthCheckConfig"); err != nil {
		return nil, err
	}
	if out.RegistryConfig, err = registryConfig(c); err != nil {
		return nil, err
	}
	return &out, nil
}

// argvList reads FC 2.0's command or args: a string holding a JSON array
// of strings, as the fc component writes it ('["node","app.js"]'), or a
// YAML list; nil when absent.
func (p *parser) argvList(o obj, key string) ([]string, error) {
	v, err := o.get(key)
	if err != nil || v.n == nil {
		return nil, err
	}
	if v.n.Kind == yaml.SequenceNode {
		return o.strList(key)
	}
	s, err := p.scalar(v, "a list, or a string holding a JSON array")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, p.errf(v.line, v.path, `expected a JSON array of strings such as '["node", "app.js"]' (or a YAML list), got %q`, s)
	}
	return out, nil
}

// registryConfig parses customContainerConfig.registryConfig; nil when
// absent. (ValidateFunction decides what openfc honours of it.)
func registryConfig(c obj) (*fc.RegistryConfig, error) {
	r, ok, err := c.checkedObj("registryConfig", registryKeys)
	if err != nil || !ok {
		return nil, err
	}
	var out fc.RegistryConfig
	if a, ok, err := r.checkedObj("authConfig", registryAuthKeys); err != nil {
		return nil, err
	} else if ok {
		out.AuthConfig = &fc.RegistryAuthConfig{}
		if out.AuthConfig.UserName, err = a.str("userName"); err != nil {
			return nil, err
		}
		if out.AuthConfig.Password, err = a.str("password"); err != nil {
			return nil, err
		}
	}
	if cc, ok, err := r.checkedObj("certConfig", registryCertKeys); err != nil {
		return nil, err
	} else if ok {
		out.CertConfig = &fc.RegistryCertConfig{}
		if out.CertConfig.Insecure, err = cc.boolean("insecure"); err != nil {
			return nil, err
		}
		if out.CertConfig.RootCaCertBase64, err = cc.str("rootCaCertBase64"); err != nil {
			return nil, err
		}
	}
	if n, ok, err := r.checkedObj("networkConfig", registryNetworkKeys); err != nil {
		return nil, err
	} else if ok {
		out.NetworkConfig = &fc.RegistryNetworkConfig{}
		for _, s := range []struct {
			key string
			dst *string
		}{{"vpcId", &out.NetworkConfig.VpcID}, {"vSwitchId", &out.NetworkConfig.VSwitchID}, {"securityGroupId", &out.NetworkConfig.SecurityGroupID}} {
			if *s.dst, err = n.str(s.key); err != nil {
				return nil, err
			}
		}
	}
	return &out, nil
}
