package client

import (
	"context"
	"net/http"
	"net/url"
)

// AccessKey is an access key of an openfc server other than its admin key
// (the access-keys API, an openfc extension to FC's API). Its secret is
// only set in what CreateAccessKey returns: the server shows it once.
type AccessKey struct {
	AccessKeyID     string   `json:"accessKeyId"`
	AccessKeySecret string   `json:"accessKeySecret,omitempty"`
	Description     string   `json:"description,omitempty"`
	Scope           KeyScope `json:"scope"`
	CreatedTime     string   `json:"createdTime"`
	// ExpiresTime is when the key stops working (RFC 3339); empty: never.
	ExpiresTime string `json:"expiresTime,omitempty"`
}

// Credentials returns the key pair of a key CreateAccessKey returned, to
// sign requests with it.
func (k AccessKey) Credentials() Credentials {
	return Credentials{AccessKeyID: k.AccessKeyID, AccessKeySecret: k.AccessKeySecret}
}

// KeyScope limits an access key. The zero value allows everything but
// managing access keys, which only the admin key may.
type KeyScope struct {
	// InvokeOnly keys sign HTTP-trigger calls and InvokeFunction only.
	InvokeOnly bool `json:"invokeOnly,omitempty"`
	// Resources, when not empty, are the only services (Function "") and
	// functions the key reaches.
	Resources []KeyResource `json:"resources,omitempty"`
}

// KeyResource is a service, or one function of it.
type KeyResource struct {
	Service  string `json:"service"`
	Function string `json:"function,omitempty"`
}

// String renders the resource as "service" or "service/function".
func (r KeyResource) String() string {
	if r.Function == "" {
		return r.Service
	}
	return r.Service + "/" + r.Function
}

// CreateAccessKeyInput describes a key to create.
type CreateAccessKeyInput struct {
	Description string `json:"description,omitempty"`
	InvokeOnly  bool   `json:"invokeOnly,omitempty"`
	// Resources are "service" or "service/function".
	Resources []string `json:"resources,omitempty"`
	// ExpiresIn is a Go duration such as "720h"; empty: never expires.
	ExpiresIn string `json:"expiresIn,omitempty"`
}

// CreateAccessKey creates an access key and returns it with its secret,
// which no later call shows again. Only the admin key may.
func (c *Client) CreateAccessKey(ctx context.Context, in CreateAccessKeyInput) (*AccessKey, error) {
	var out AccessKey
	if _, err := c.Do(ctx, http.MethodPost, "/access-keys", nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListAccessKeys returns every access key (without secrets), following
// the pages. The admin key is not among them.
func (c *Client) ListAccessKeys(ctx context.Context) ([]AccessKey, error) {
	all := []AccessKey{}
	token := ""
	for {
		q := url.Values{"limit": {"100"}}
		if token != "" {
			q.Set("nextToken", token)
		}
		var page struct {
			AccessKeys []AccessKey `json:"accessKeys"`
			NextToken  string      `json:"nextToken"`
		}
		if _, err := c.Do(ctx, http.MethodGet, "/access-keys", q, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.AccessKeys...)
		if token = page.NextToken; token == "" {
			return all, nil
		}
	}
}

// GetAccessKey returns an access key without its secret.
func (c *Client) GetAccessKey(ctx context.Context, id string) (*AccessKey, error) {
	var out AccessKey
	if _, err := c.Do(ctx, http.MethodGet, apiPath("access-keys", id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteAccessKey deletes an access key: it stops working at once.
func (c *Client) DeleteAccessKey(ctx context.Context, id string) error {
	_, err := c.Do(ctx, http.MethodDelete, apiPath("access-keys", id), nil, nil, nil)
	return err
}
