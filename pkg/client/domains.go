package client

import (
	"context"
	"net/http"
	"net/url"
)

// CustomDomain is FC 2.0's custom domain (CreateCustomDomain and
// friends). The server never returns CertConfig.PrivateKey.
type CustomDomain struct {
	DomainName       string       `json:"domainName"`
	AccountID        string       `json:"accountId,omitempty"`
	Protocol         string       `json:"protocol,omitempty"`
	APIVersion       string       `json:"apiVersion,omitempty"`
	CertConfig       *CertConfig  `json:"certConfig,omitempty"`
	RouteConfig      *RouteConfig `json:"routeConfig,omitempty"`
	CreatedTime      string       `json:"createdTime,omitempty"`
	LastModifiedTime string       `json:"lastModifiedTime,omitempty"`
	// Warnings are openfc's notes on a create or update (an expired
	// certificate, accepted as FC does).
	Warnings []string `json:"warnings,omitempty"`
}

// CertConfig is a domain's certificate and private key, both PEM.
type CertConfig struct {
	CertName    string `json:"certName"`
	Certificate string `json:"certificate"`
	PrivateKey  string `json:"privateKey,omitempty"`
}

// RouteConfig lists a domain's routes.
type RouteConfig struct {
	Routes []PathConfig `json:"routes"`
}

// PathConfig routes the paths matching Path ("/exact" or "/prefix/*")
// to a function version.
type PathConfig struct {
	Path          string         `json:"path"`
	ServiceName   string         `json:"serviceName"`
	FunctionName  string         `json:"functionName"`
	Qualifier     string         `json:"qualifier,omitempty"`
	Methods       []string       `json:"methods,omitempty"`
	RewriteConfig *RewriteConfig `json:"rewriteConfig,omitempty"`
}

// RewriteConfig rewrites a route's paths: exact, wildcard ('*' captures,
// '^' anchors) and RE2 regex rules, tried in that order.
type RewriteConfig struct {
	EqualRules    []RewriteRule `json:"equalRules,omitempty"`
	WildcardRules []RewriteRule `json:"wildcardRules,omitempty"`
	RegexRules    []RewriteRule `json:"regexRules,omitempty"`
}

// RewriteRule replaces a path matching Match with Replacement ($1…).
type RewriteRule struct {
	Match       string `json:"match"`
	Replacement string `json:"replacement"`
}

// CreateCustomDomain creates a custom domain.
func (c *Client) CreateCustomDomain(ctx context.Context, d *CustomDomain) (*CustomDomain, error) {
	var out CustomDomain
	if _, err := c.Do(ctx, http.MethodPost, "/custom-domains", nil, d, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetCustomDomain returns a custom domain (without its private key).
func (c *Client) GetCustomDomain(ctx context.Context, name string) (*CustomDomain, error) {
	var out CustomDomain
	if _, err := c.Do(ctx, http.MethodGet, apiPath("custom-domains", name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateCustomDomain changes the fields of a custom domain that d sets
// (protocol, certConfig, routeConfig); a certConfig without a private
// key keeps the stored one when its certificate is unchanged.
func (c *Client) UpdateCustomDomain(ctx context.Context, d *CustomDomain) (*CustomDomain, error) {
	var out CustomDomain
	if _, err := c.Do(ctx, http.MethodPut, apiPath("custom-domains", d.DomainName), nil, d, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteCustomDomain deletes a custom domain.
func (c *Client) DeleteCustomDomain(ctx context.Context, name string) error {
	_, err := c.Do(ctx, http.MethodDelete, apiPath("custom-domains", name), nil, nil, nil)
	return err
}

// ListCustomDomains returns every custom domain, following the pages.
func (c *Client) ListCustomDomains(ctx context.Context) ([]CustomDomain, error) {
	all := []CustomDomain{}
	token := ""
	for {
		q := url.Values{"limit": {"100"}}
		if token != "" {
			q.Set("nextToken", token)
		}
		var page struct {
			CustomDomains []CustomDomain `json:"customDomains"`
			NextToken     string         `json:"nextToken"`
		}
		if _, err := c.Do(ctx, http.MethodGet, "/custom-domains", q, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.CustomDomains...)
		if token = page.NextToken; token == "" {
			return all, nil
		}
	}
}
