package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// apiPath joins escaped path segments: apiPath("services", s) is
// "/services/<s>".
func apiPath(segments ...string) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// qualified returns "service.qualifier", or service without a qualifier.
func qualified(service, qualifier string) string {
	if qualifier == "" {
		return service
	}
	return service + "." + qualifier
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	if o.Prefix != "" {
		q.Set("prefix", o.Prefix)
	}
	if o.NextToken != "" {
		q.Set("nextToken", o.NextToken)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	return q
}

// CreateService creates a service.
func (c *Client) CreateService(ctx context.Context, s Service) (*Service, error) {
	var out Service
	if _, err := c.Do(ctx, http.MethodPost, apiPath("services"), nil, s, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetService returns a service.
func (c *Client) GetService(ctx context.Context, name string) (*Service, error) {
	var out Service
	if _, err := c.Do(ctx, http.MethodGet, apiPath("services", name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateService updates the non-zero fields of s on the service name.
func (c *Client) UpdateService(ctx context.Context, name string, s Service) (*Service, error) {
	var out Service
	if _, err := c.Do(ctx, http.MethodPut, apiPath("services", name), nil, s, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteService deletes an empty service; one that has functions is
// refused with ServiceNotEmpty (see DeleteServiceRecursive).
func (c *Client) DeleteService(ctx context.Context, name string) error {
	_, err := c.Do(ctx, http.MethodDelete, apiPath("services", name), nil, nil, nil)
	return err
}

// ListServices returns one page of services and the token of the next
// page ("" on the last page).
func (c *Client) ListServices(ctx context.Context, opts ListOptions) ([]Service, string, error) {
	var out struct {
		Services  []Service `json:"services"`
		NextToken string    `json:"nextToken"`
	}
	if _, err := c.Do(ctx, http.MethodGet, apiPath("services"), opts.query(), nil, &out); err != nil {
		return nil, "", err
	}
	return out.Services, out.NextToken, nil
}

// CreateFunction creates a function in service.
func (c *Client) CreateFunction(ctx context.Context, service string, in FunctionInput) (*Function, error) {
	var out Function
	if _, err := c.Do(ctx, http.MethodPost, apiPath("services", service, "functions"), nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetFunction returns a function's configuration.
func (c *Client) GetFunction(ctx context.Context, service, function string) (*Function, error) {
	var out Function
	if _, err := c.Do(ctx, http.MethodGet, apiPath("services", service, "functions", function), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateFunction updates the non-zero fields of in (and the code when
// in.Code is set) on a function.
func (c *Client) UpdateFunction(ctx context.Context, service, function string, in FunctionInput) (*Function, error) {
	var out Function
	if _, err := c.Do(ctx, http.MethodPut, apiPath("services", service, "functions", function), nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteFunction deletes a function without triggers.
func (c *Client) DeleteFunction(ctx context.Context, service, function string) error {
	_, err := c.Do(ctx, http.MethodDelete, apiPath("services", service, "functions", function), nil, nil, nil)
	return err
}

// ListFunctions returns one page of a service's functions and the token
// of the next page.
func (c *Client) ListFunctions(ctx context.Context, service string, opts ListOptions) ([]Function, string, error) {
	var out struct {
		Functions []Function `json:"functions"`
		NextToken string     `json:"nextToken"`
	}
	if _, err := c.Do(ctx, http.MethodGet, apiPath("services", service, "functions"), opts.query(), nil, &out); err != nil {
		return nil, "", err
	}
	return out.Functions, out.NextToken, nil
}

// CreateTrigger creates a trigger on a function.
func (c *Client) CreateTrigger(ctx context.Context, service, function string, t Trigger) (*Trigger, error) {
	var out Trigger
	if _, err := c.Do(ctx, http.MethodPost, apiPath("services", service, "functions", function, "triggers"), nil, t, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetTrigger returns a trigger.
func (c *Client) GetTrigger(ctx context.Context, service, function, trigger string) (*Trigger, error) {
	var out Trigger
	if _, err := c.Do(ctx, http.MethodGet, apiPath("services", service, "functions", function, "triggers", trigger), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateTrigger updates the non-zero fields of t on a trigger.
func (c *Client) UpdateTrigger(ctx context.Context, service, function, trigger string, t Trigger) (*Trigger, error) {
	var out Trigger
	if _, err := c.Do(ctx, http.MethodPut, apiPath("services", service, "functions", function, "triggers", trigger), nil, t, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteTrigger deletes a trigger.
func (c *Client) DeleteTrigger(ctx context.Context, service, function, trigger string) error {
	_, err := c.Do(ctx, http.MethodDelete, apiPath("services", service, "functions", function, "triggers", trigger), nil, nil, nil)
	return err
}

// ListTriggers returns one page of a function's triggers and the token of
// the next page.
func (c *Client) ListTriggers(ctx context.Context, service, function string, opts ListOptions) ([]Trigger, string, error) {
	var out struct {
		Triggers  []Trigger `json:"triggers"`
		NextToken string    `json:"nextToken"`
	}
	if _, err := c.Do(ctx, http.MethodGet, apiPath("services", service, "functions", function, "triggers"), opts.query(), nil, &out); err != nil {
		return nil, "", err
	}
	return out.Triggers, out.NextToken, nil
}

// InvokeFunction invokes a function synchronously (or asynchronously with
// header X-Fc-Invocation-Type: Async) through POST
// /services/{service}[.{qualifier}]/functions/{function}/invocations.
// header is sent along (x-fc-* headers are signed); Content-Type defaults
// to application/octet-stream. The caller closes the response body.
//
// A platform error (a non-2xx status whose X-Fc-Error-Type is not
// UnhandledInvocationError) is returned as *Error with the body closed. A
// function error is returned as the response itself: check its
// X-Fc-Error-Type header.
func (c *Client) InvokeFunction(ctx context.Context, service, qualifier, function string, body []byte, header http.Header) (*http.Response, error) {
	path := apiPath("services", qualified(service, qualifier), "functions", function, "invocations")
	if body == nil {
		body = []byte{}
	}
	req, err := c.newRequest(ctx, http.MethodPost, path, nil, body, "application/octet-stream", header)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fc: invoke %s/%s: %w", qualified(service, qualifier), function, err)
	}
	if resp.StatusCode >= 300 && resp.Header.Get("X-Fc-Error-Type") != "UnhandledInvocationError" {
		defer resp.Body.Close()
		err := parseError(resp)
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return nil, err
	}
	return resp, nil
}

// allPages calls list with each nextToken in turn and returns every item.
func allPages[T any](list func(ListOptions) ([]T, string, error)) ([]T, error) {
	var all []T
	opts := ListOptions{Limit: 100}
	for {
		items, next, err := list(opts)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		opts.NextToken = next
	}
}

// DeleteFunctionRecursive deletes a function's triggers and then the
// function: FC refuses to delete a function that has triggers
// (FunctionNotEmpty). A trigger that is already gone is not an error; one
// created meanwhile makes the function's delete fail.
func (c *Client) DeleteFunctionRecursive(ctx context.Context, service, function string) error {
	trs, err := allPages(func(o ListOptions) ([]Trigger, string, error) {
		return c.ListTriggers(ctx, service, function, o)
	})
	if err != nil {
		return err
	}
	for _, t := range trs {
		if err := c.DeleteTrigger(ctx, service, function, t.TriggerName); err != nil && !HasCode(err, "TriggerNotFound") {
			return err
		}
	}
	return c.DeleteFunction(ctx, service, function)
}

// DeleteServiceRecursive deletes every function of a service (each with
// its triggers, as DeleteFunctionRecursive does), its aliases and
// versions, and then the service:
// FC refuses to delete a service that has functions (ServiceNotEmpty).
// A function that is already gone is not an error.
func (c *Client) DeleteServiceRecursive(ctx context.Context, service string) error {
	fns, err := allPages(func(o ListOptions) ([]Function, string, error) {
		return c.ListFunctions(ctx, service, o)
	})
	if err != nil {
		return err
	}
	for _, f := range fns {
		if err := c.DeleteFunctionRecursive(ctx, service, f.FunctionName); err != nil && !HasCode(err, "FunctionNotFound") {
			return err
		}
	}
	if err := c.deleteVersionsAndAliases(ctx, service); err != nil { // versions.go
		return err
	}
	return c.DeleteService(ctx, service)
}
