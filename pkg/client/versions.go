package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Version is a published, immutable snapshot of a service's functions.
type Version struct {
	VersionID        string `json:"versionId"`
	Description      string `json:"description"`
	CreatedTime      string `json:"createdTime"`
	LastModifiedTime string `json:"lastModifiedTime"`
}

// Alias names a version of a service; AdditionalVersionWeight gives one
// more version a share (0 to 1) of the requests.
type Alias struct {
	AliasName               string             `json:"aliasName"`
	VersionID               string             `json:"versionId"`
	Description             string             `json:"description"`
	AdditionalVersionWeight map[string]float64 `json:"additionalVersionWeight"`
	CreatedTime             string             `json:"createdTime,omitempty"`
	LastModifiedTime        string             `json:"lastModifiedTime,omitempty"`
}

// VersionListOptions pages ListVersions: Direction BACKWARD (the
// default: newest first) or FORWARD; StartKey and NextToken are version
// ids.
type VersionListOptions struct {
	Limit     int
	StartKey  string
	NextToken string
	Direction string
}

// PublishVersion publishes the service's functions as a new version.
func (c *Client) PublishVersion(ctx context.Context, service, description string) (*Version, error) {
	var out Version
	in := map[string]string{"description": description}
	if _, err := c.Do(ctx, http.MethodPost, apiPath("services", service, "versions"), nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListVersions returns one page of a service's versions and the token of
// the next page ("" on the last).
func (c *Client) ListVersions(ctx context.Context, service string, o VersionListOptions) ([]Version, string, error) {
	q := url.Values{}
	for k, v := range map[string]string{"startKey": o.StartKey, "nextToken": o.NextToken, "direction": o.Direction} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	var out struct {
		Versions  []Version `json:"versions"`
		NextToken string    `json:"nextToken"`
	}
	if _, err := c.Do(ctx, http.MethodGet, apiPath("services", service, "versions"), q, nil, &out); err != nil {
		return nil, "", err
	}
	return out.Versions, out.NextToken, nil
}

// DeleteVersion deletes a version; one an alias uses is refused
// (VersionInUse).
func (c *Client) DeleteVersion(ctx context.Context, service, version string) error {
	_, err := c.Do(ctx, http.MethodDelete, apiPath("services", service, "versions", version), nil, nil, nil)
	return err
}

// CreateAlias creates an alias.
func (c *Client) CreateAlias(ctx context.Context, service string, a Alias) (*Alias, error) {
	var out Alias
	if _, err := c.Do(ctx, http.MethodPost, apiPath("services", service, "aliases"), nil, a, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetAlias returns an alias.
func (c *Client) GetAlias(ctx context.Context, service, alias string) (*Alias, error) {
	var out Alias
	if _, err := c.Do(ctx, http.MethodGet, apiPath("services", service, "aliases", alias), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateAlias replaces the fields of the alias that fields names (JSON
// names, e.g. "versionId", "additionalVersionWeight") with their values.
func (c *Client) UpdateAlias(ctx context.Context, service, alias string, fields map[string]any) (*Alias, error) {
	var out Alias
	if _, err := c.Do(ctx, http.MethodPut, apiPath("services", service, "aliases", alias), nil, fields, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteAlias deletes an alias.
func (c *Client) DeleteAlias(ctx context.Context, service, alias string) error {
	_, err := c.Do(ctx, http.MethodDelete, apiPath("services", service, "aliases", alias), nil, nil, nil)
	return err
}

// ListAliases returns one page of a service's aliases and the token of
// the next page.
func (c *Client) ListAliases(ctx context.Context, service string, opts ListOptions) ([]Alias, string, error) {
	var out struct {
		Aliases   []Alias `json:"aliases"`
		NextToken string  `json:"nextToken"`
	}
	if _, err := c.Do(ctx, http.MethodGet, apiPath("services", service, "aliases"), opts.query(), nil, &out); err != nil {
		return nil, "", err
	}
	return out.Aliases, out.NextToken, nil
}

// deleteVersionsAndAliases removes a service's aliases and then its
// versions, which FC requires before the service goes.
func (c *Client) deleteVersionsAndAliases(ctx context.Context, service string) error {
	aliases, err := allPages(func(o ListOptions) ([]Alias, string, error) { return c.ListAliases(ctx, service, o) })
	if err != nil {
		return err
	}
	for _, a := range aliases {
		if err := c.DeleteAlias(ctx, service, a.AliasName); err != nil && !HasCode(err, "AliasNotFound") {
			return err
		}
	}
	for {
		vs, _, err := c.ListVersions(ctx, service, VersionListOptions{Limit: 100})
		if err != nil || len(vs) == 0 {
			return err
		}
		for _, v := range vs {
			if err := c.DeleteVersion(ctx, service, v.VersionID); err != nil && !HasCode(err, "VersionNotFound") {
				return err
			}
		}
	}
}
