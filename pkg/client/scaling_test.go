package client

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

func TestScalingRequests(t *testing.T) {
	srv := newFakeFC(t)
	c := New(srv.URL, "123456", testCred)
	ctx := context.Background()
	const fnPath = "/2016-08-15/services/svc/functions/fn"
	tests := []struct {
		name     string
		call     func() (any, error)
		status   int
		reply    string
		method   string
		path     string
		query    string
		wantBody string
		want     any
	}{
		{
			name:   "PutOnDemandConfig",
			call:   func() (any, error) { return c.PutOnDemandConfig(ctx, "svc", "", "fn", 0) },
			reply:  `{"resource":"123456#svc#LATEST#fn","maximumInstanceCount":0}`,
			method: "PUT", path: fnPath + "/on-demand-config",
			wantBody: `{"maximumInstanceCount":0}`,
			want:     &OnDemandConfig{Resource: "123456#svc#LATEST#fn"},
		},
		{
			name:   "GetOnDemandConfig with a qualifier",
			call:   func() (any, error) { return c.GetOnDemandConfig(ctx, "svc", "LATEST", "fn") },
			reply:  `{"resource":"r","maximumInstanceCount":4}`,
			method: "GET", path: "/2016-08-15/services/svc.LATEST/functions/fn/on-demand-config",
			want: &OnDemandConfig{Resource: "r", MaximumInstanceCount: 4},
		},
		{
			name:   "DeleteOnDemandConfig",
			call:   func() (any, error) { return nil, c.DeleteOnDemandConfig(ctx, "svc", "", "fn") },
			status: http.StatusNoContent,
			method: "DELETE", path: fnPath + "/on-demand-config",
		},
		{
			name: "ListOnDemandConfigs",
			call: func() (any, error) {
				l, next, err := c.ListOnDemandConfigs(ctx, ListOptions{Prefix: "svc#", Limit: 1})
				return []any{l, next}, err
			},
			reply:  `{"configs":[{"resource":"r","maximumInstanceCount":2}],"nextToken":"svc#LATEST#g"}`,
			method: "GET", path: "/2016-08-15/on-demand-configs", query: "limit=1&prefix=svc%23",
			want: []any{[]OnDemandConfig{{Resource: "r", MaximumInstanceCount: 2}}, "svc#LATEST#g"},
		},
		{
			name:   "PutProvisionConfig",
			call:   func() (any, error) { return c.PutProvisionConfig(ctx, "svc", "", "fn", 3) },
			reply:  `{"resource":"r","target":3}`,
			method: "PUT", path: fnPath + "/provision-config",
			wantBody: `{"target":3}`,
			want:     &ProvisionConfig{Resource: "r", Target: 3},
		},
		{
			name:   "GetProvisionConfig",
			call:   func() (any, error) { return c.GetProvisionConfig(ctx, "svc", "", "fn") },
			reply:  `{"resource":"r","target":3,"current":1}`,
			method: "GET", path: fnPath + "/provision-config",
			want: &ProvisionConfig{Resource: "r", Target: 3, Current: 1},
		},
		{
			name:   "DeleteProvisionConfig",
			call:   func() (any, error) { return nil, c.DeleteProvisionConfig(ctx, "svc", "", "fn") },
			status: http.StatusNoContent,
			method: "DELETE", path: fnPath + "/provision-config",
		},
		{
			name: "ListProvisionConfigs",
			call: func() (any, error) {
				l, next, err := c.ListProvisionConfigs(ctx, ProvisionListOptions{ServiceName: "svc", Qualifier: "LATEST", ListOptions: ListOptions{NextToken: "t"}})
				return []any{l, next}, err
			},
			reply:  `{"provisionConfigs":[{"resource":"r","target":1,"current":0}],"nextToken":""}`,
			method: "GET", path: "/2016-08-15/provision-configs", query: "nextToken=t&qualifier=LATEST&serviceName=svc",
			want: []any{[]ProvisionConfig{{Resource: "r", Target: 1}}, ""},
		},
		{
			name:   "ListInstances",
			call:   func() (any, error) { return c.ListInstances(ctx, "s v", "", "fn") },
			reply:  `{"instances":[{"instanceId":"i1","state":"Ready","inFlight":2,"requestsServed":10,"provisioned":true}]}`,
			method: "GET", path: "/2016-08-15/services/s%20v/functions/fn/instances",
			want: []Instance{{InstanceID: "i1", State: "Ready", InFlight: 2, RequestsServed: 10, Provisioned: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.respond(tt.status, tt.reply, nil)
			got, err := tt.call()
			if err != nil {
				t.Fatal(err)
			}
			r := srv.lastRequest()
			if r.authErr != nil {
				t.Fatalf("server rejected the signature: %v", r.authErr)
			}
			if r.method != tt.method || r.path != tt.path || r.query != tt.query {
				t.Errorf("request = %s %s?%s, want %s %s?%s", r.method, r.path, r.query, tt.method, tt.path, tt.query)
			}
			jsonEqual(t, r.body, tt.wantBody)
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestScalingErrors(t *testing.T) {
	srv := newFakeFC(t)
	c := New(srv.URL, "123456", testCred)
	srv.respond(http.StatusNotFound, `{"ErrorCode":"OnDemandConfigNotFound","ErrorMessage":"none"}`, nil)
	_, err := c.GetOnDemandConfig(context.Background(), "svc", "", "fn")
	if !HasCode(err, "OnDemandConfigNotFound") || !IsNotFound(err) {
		t.Errorf("GetOnDemandConfig error = %v, want 404 OnDemandConfigNotFound", err)
	}
	srv.respond(http.StatusBadRequest, `{"ErrorCode":"InvalidArgument","ErrorMessage":"target 101 is invalid"}`, nil)
	if _, err := c.PutProvisionConfig(context.Background(), "svc", "", "fn", 101); !HasCode(err, "InvalidArgument") {
		t.Errorf("PutProvisionConfig error = %v, want InvalidArgument", err)
	}
}

// TestScalingTypesMirrorFC checks that the client types carry every field
// of the server's JSON, so that neither side drifts silently.
func TestScalingTypesMirrorFC(t *testing.T) {
	tests := []struct {
		name   string
		server any
		client any
	}{
		{"Instance", fc.InstanceInfo{InstanceID: "i", ServiceName: "s", FunctionName: "f", Qualifier: "LATEST", VersionID: "1",
			State: fc.InstanceReady, StartedTime: "2024-01-01T00:00:00Z", InFlight: 1, RequestsServed: 2, Restarts: 3, Provisioned: true}, &Instance{}},
		{"OnDemandConfig", fc.OnDemandConfig{Resource: "r", MaximumInstanceCount: 5}, &OnDemandConfig{}},
		{"ProvisionConfig", fc.ProvisionConfig{Resource: "r", Target: 5, Current: 2}, &ProvisionConfig{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.server)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, tt.client); err != nil {
				t.Fatal(err)
			}
			back, err := json.Marshal(tt.client)
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, back, string(b))
			if n, m := reflect.TypeOf(tt.server).NumField(), reflect.TypeOf(tt.client).Elem().NumField(); n != m {
				t.Errorf("server type has %d fields, client type %d", n, m)
			}
		})
	}
}
