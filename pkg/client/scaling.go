package client

import (
	"context"
	"net/http"
	"net/url"
)

// OnDemandConfig caps the on-demand instances of a function version.
// MaximumInstanceCount 0 allows none (only provisioned instances serve).
type OnDemandConfig struct {
	// Resource is "accountId#service#qualifier#function".
	Resource             string `json:"resource,omitempty"`
	MaximumInstanceCount int    `json:"maximumInstanceCount"`
}

// ProvisionConfig keeps Target instances of a function version warm;
// Current is how many provisioned instances run now.
type ProvisionConfig struct {
	// Resource is "accountId#service#qualifier#function".
	Resource string `json:"resource,omitempty"`
	Target   int    `json:"target"`
	Current  int    `json:"current"`
}

// Instance is one running instance of a function.
type Instance struct {
	InstanceID     string `json:"instanceId"`
	ServiceName    string `json:"serviceName"`
	FunctionName   string `json:"functionName"`
	Qualifier      string `json:"qualifier"`
	VersionID      string `json:"versionId"`
	State          string `json:"state"`
	StartedTime    string `json:"startedTime"`
	InFlight       int    `json:"inFlight"`
	RequestsServed int64  `json:"requestsServed"`
	// Restarts counts the instances of the function that exited
	// unexpectedly or failed health checks before this one.
	Restarts    int  `json:"restarts"`
	Provisioned bool `json:"provisioned"`
	// Address is the instance's own IP address; empty where instances
	// share the host network.
	Address string `json:"address,omitempty"`
}

// functionPath is "/services/{service[.qualifier]}/functions/{function}"
// followed by more segments.
func functionPath(service, qualifier, function string, more ...string) string {
	return apiPath(append([]string{"services", qualified(service, qualifier), "functions", function}, more...)...)
}

// PutOnDemandConfig sets the on-demand instance cap of a function version
// (qualifier "" means LATEST).
func (c *Client) PutOnDemandConfig(ctx context.Context, service, qualifier, function string, maximumInstanceCount int) (*OnDemandConfig, error) {
	var out OnDemandConfig
	in := map[string]int{"maximumInstanceCount": maximumInstanceCount}
	if _, err := c.Do(ctx, http.MethodPut, functionPath(service, qualifier, function, "on-demand-config"), nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetOnDemandConfig returns the on-demand config of a function version;
// an *Error with code OnDemandConfigNotFound when it has none.
func (c *Client) GetOnDemandConfig(ctx context.Context, service, qualifier, function string) (*OnDemandConfig, error) {
	var out OnDemandConfig
	if _, err := c.Do(ctx, http.MethodGet, functionPath(service, qualifier, function, "on-demand-config"), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteOnDemandConfig removes the on-demand cap of a function version.
func (c *Client) DeleteOnDemandConfig(ctx context.Context, service, qualifier, function string) error {
	_, err := c.Do(ctx, http.MethodDelete, functionPath(service, qualifier, function, "on-demand-config"), nil, nil, nil)
	return err
}

// ListOnDemandConfigs returns one page of on-demand configs and the token
// of the next page. openfc matches Prefix against
// "service#qualifier#function".
func (c *Client) ListOnDemandConfigs(ctx context.Context, opts ListOptions) ([]OnDemandConfig, string, error) {
	var out struct {
		Configs   []OnDemandConfig `json:"configs"`
		NextToken string           `json:"nextToken"`
	}
	if _, err := c.Do(ctx, http.MethodGet, apiPath("on-demand-configs"), opts.query(), nil, &out); err != nil {
		return nil, "", err
	}
	return out.Configs, out.NextToken, nil
}

// PutProvisionConfig sets the provisioned instance target of a function
// version (qualifier "" means LATEST); a target of 0 removes it.
func (c *Client) PutProvisionConfig(ctx context.Context, service, qualifier, function string, target int) (*ProvisionConfig, error) {
	var out ProvisionConfig
	in := map[string]int{"target": target}
	if _, err := c.Do(ctx, http.MethodPut, functionPath(service, qualifier, function, "provision-config"), nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetProvisionConfig returns the provision target of a function version
// and how many provisioned instances it has (target 0 when unset).
func (c *Client) GetProvisionConfig(ctx context.Context, service, qualifier, function string) (*ProvisionConfig, error) {
	var out ProvisionConfig
	if _, err := c.Do(ctx, http.MethodGet, functionPath(service, qualifier, function, "provision-config"), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteProvisionConfig removes the provision target of a function
// version (openfc's shorthand for PutProvisionConfig with target 0).
func (c *Client) DeleteProvisionConfig(ctx context.Context, service, qualifier, function string) error {
	_, err := c.Do(ctx, http.MethodDelete, functionPath(service, qualifier, function, "provision-config"), nil, nil, nil)
	return err
}

// ProvisionListOptions filters and pages ListProvisionConfigs. Zero
// fields are not sent.
type ProvisionListOptions struct {
	ListOptions
	ServiceName string
	Qualifier   string
}

// ListProvisionConfigs returns one page of provision configs and the
// token of the next page.
func (c *Client) ListProvisionConfigs(ctx context.Context, opts ProvisionListOptions) ([]ProvisionConfig, string, error) {
	var out struct {
		ProvisionConfigs []ProvisionConfig `json:"provisionConfigs"`
		NextToken        string            `json:"nextToken"`
	}
	q := opts.query()
	setIf(q, "serviceName", opts.ServiceName)
	setIf(q, "qualifier", opts.Qualifier)
	if _, err := c.Do(ctx, http.MethodGet, apiPath("provision-configs"), q, nil, &out); err != nil {
		return nil, "", err
	}
	return out.ProvisionConfigs, out.NextToken, nil
}

// ListInstances returns the running instances of a function version
// (qualifier "" means LATEST).
func (c *Client) ListInstances(ctx context.Context, service, qualifier, function string) ([]Instance, error) {
	var out struct {
		Instances []Instance `json:"instances"`
	}
	if _, err := c.Do(ctx, http.MethodGet, functionPath(service, qualifier, function, "instances"), nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Instances, nil
}

func setIf(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}
