package client_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/openfc/openfc/internal/api"
	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/store"
	"github.com/openfc/openfc/internal/store/storetest"
	"github.com/openfc/openfc/pkg/client"
	"github.com/openfc/openfc/pkg/fcsign"
)

// realAPI serves the management API over an embedded NATS store and
// returns a client for it and the store (to seed and inspect).
func realAPI(t *testing.T) (context.Context, *client.Client, *store.JetStream) {
	t.Helper()
	ctx, _, st := storetest.Open(t)
	cred := client.Credentials{AccessKeyID: "LTAIrecursive0000001", AccessKeySecret: "recursive-secret"}
	srv := httptest.NewServer(api.New(api.Options{
		Store:     st,
		Verifier:  &auth.Verifier{Keys: auth.AdminKey(fcsign.Credentials(cred))},
		AccountID: "1234567890123456",
	}))
	t.Cleanup(srv.Close)
	return ctx, client.New(srv.URL, "1234567890123456", cred), st
}

// seed creates service svc with n functions, each with an HTTP trigger
// (which makes FC refuse to delete the function alone).
func seed(t *testing.T, ctx context.Context, st *store.JetStream, svc string, n int) {
	t.Helper()
	if _, err := st.CreateService(ctx, &fc.Service{ServiceName: svc}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		fn := fmt.Sprintf("f%03d", i)
		if _, err := st.CreateFunction(ctx, svc, &fc.Function{FunctionName: fn, Runtime: "custom.debian10"}); err != nil {
			t.Fatal(err)
		}
		tr := &fc.Trigger{TriggerName: "http", TriggerType: "http", Qualifier: "LATEST",
			TriggerConfig: &fc.HTTPTriggerConfig{AuthType: "anonymous", Methods: []string{"GET"}}}
		if _, err := st.CreateTrigger(ctx, svc, fn, tr); err != nil {
			t.Fatal(err)
		}
	}
}

// DeleteServiceRecursive removes every function (more than one page of
// them) with its triggers, then the service; a plain DeleteService is
// refused while anything is left.
func TestDeleteServiceRecursive(t *testing.T) {
	ctx, c, st := realAPI(t)
	seed(t, ctx, st, "full", 105) // the client lists 100 per page
	seed(t, ctx, st, "other", 1)

	if err := c.DeleteService(ctx, "full"); !client.HasCode(err, "ServiceNotEmpty") {
		t.Fatalf("DeleteService of a non-empty service: %v; want ServiceNotEmpty", err)
	}
	if err := c.DeleteFunction(ctx, "full", "f000"); !client.HasCode(err, "FunctionNotEmpty") {
		t.Fatalf("DeleteFunction with a trigger: %v; want FunctionNotEmpty", err)
	}
	if err := c.DeleteFunctionRecursive(ctx, "full", "f000"); err != nil {
		t.Fatalf("DeleteFunctionRecursive: %v", err)
	}
	if _, err := c.GetFunction(ctx, "full", "f000"); !client.HasCode(err, "FunctionNotFound") {
		t.Fatalf("after DeleteFunctionRecursive: %v; want FunctionNotFound", err)
	}
	if err := c.DeleteServiceRecursive(ctx, "full"); err != nil {
		t.Fatalf("DeleteServiceRecursive: %v", err)
	}
	if _, err := c.GetService(ctx, "full"); !client.HasCode(err, "ServiceNotFound") {
		t.Fatalf("after DeleteServiceRecursive: %v; want ServiceNotFound", err)
	}
	if fns, err := st.ListFunctions(ctx, "full"); err != nil || len(fns) != 0 {
		t.Errorf("functions left in the store: %d %v", len(fns), err)
	}
	if trs, err := st.ListTriggers(ctx, "full", "f050"); err != nil || len(trs) != 0 {
		t.Errorf("triggers left in the store: %d %v", len(trs), err)
	}
	// Only the named service went.
	if trs, err := st.ListTriggers(ctx, "other", "f000"); err != nil || len(trs) != 1 {
		t.Errorf("the other service's trigger: %d %v", len(trs), err)
	}
	if err := c.DeleteServiceRecursive(ctx, "full"); !client.HasCode(err, "ServiceNotFound") {
		t.Errorf("DeleteServiceRecursive of a missing service: %v; want ServiceNotFound", err)
	}
}
