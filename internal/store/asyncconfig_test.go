package store

import (
	"errors"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

func TestAsyncInvokeConfigCRUD(t *testing.T) {
	ctx := testCtx(t)
	s := newStore(t)
	must[uint64](t, "service")(s.CreateService(ctx, svc("s")))
	must[uint64](t, "function")(s.CreateFunction(ctx, "s", fn("f")))
	must[uint64](t, "function")(s.CreateFunction(ctx, "s", fn("g")))

	if _, err := s.GetAsyncInvokeConfig(ctx, "s", "", "f"); !errors.Is(err, fc.ErrNotFound) {
		t.Fatalf("get before put: %v; want ErrNotFound", err)
	}
	retries := 1
	c := &fc.AsyncInvokeConfig{Service: "s", Function: "f", MaxAsyncRetryAttempts: &retries, StatefulInvocation: true,
		DestinationConfig: &fc.DestinationConfig{OnFailure: &fc.Destination{Destination: "acs:fc:r:1:services/s/functions/g"}}}
	if err := s.PutAsyncInvokeConfig(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAsyncInvokeConfig(ctx, "s", fc.LATEST, "f") // "" was stored as LATEST
	if err != nil {
		t.Fatal(err)
	}
	if got.Retries() != 1 || !got.StatefulInvocation || got.Qualifier != fc.LATEST || got.Service != "s" || got.Function != "f" ||
		got.DestinationConfig.OnFailure.Destination != "acs:fc:r:1:services/s/functions/g" || got.CreatedTime == "" || got.MaxAge() != 24*time.Hour {
		t.Fatalf("got %+v", got)
	}
	// A replace keeps createdTime.
	created := got.CreatedTime
	time.Sleep(1100 * time.Millisecond)
	retries = 8
	if err := s.PutAsyncInvokeConfig(ctx, &fc.AsyncInvokeConfig{Service: "s", Qualifier: fc.LATEST, Function: "f", MaxAsyncRetryAttempts: &retries}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetAsyncInvokeConfig(ctx, "s", "", "f")
	if got.Retries() != 8 || got.StatefulInvocation || got.CreatedTime != created || got.LastModifiedTime == created {
		t.Fatalf("after replace: %+v (created %s)", got, created)
	}
	// Refusals.
	bad := 9
	wantCode(t, "retries 9", s.PutAsyncInvokeConfig(ctx, &fc.AsyncInvokeConfig{Service: "s", Function: "f", MaxAsyncRetryAttempts: &bad}), fc.CodeInvalidArgument)
	if err := s.PutAsyncInvokeConfig(ctx, &fc.AsyncInvokeConfig{Service: "s", Function: "nope"}); !errors.Is(err, fc.ErrNotFound) {
		t.Fatalf("put on a missing function: %v", err)
	}
	// Lists, filtered.
	if err := s.PutAsyncInvokeConfig(ctx, &fc.AsyncInvokeConfig{Service: "s", Function: "g"}); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListAsyncInvokeConfigs(ctx, "", "", "")
	if err != nil || len(all) != 2 || all[0].Function != "f" || all[1].Function != "g" {
		t.Fatalf("list: %v %+v", err, all)
	}
	// The scaling configs do not see it, nor it them.
	if err := s.PutOnDemandConfig(ctx, "s", fc.LATEST, "f", &fc.OnDemandConfig{MaximumInstanceCount: 2}); err != nil {
		t.Fatal(err)
	}
	if od, _ := s.ListOnDemandConfigs(ctx); len(od) != 1 {
		t.Fatalf("on-demand list: %+v", od)
	}
	only, _ := s.ListAsyncInvokeConfigs(ctx, "s", "", "g")
	if len(only) != 1 || only[0].Function != "g" {
		t.Fatalf("filtered list: %+v", only)
	}
	// Delete; and a function's delete takes its config along.
	if err := s.DeleteAsyncInvokeConfig(ctx, "s", "", "g"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAsyncInvokeConfig(ctx, "s", "", "g"); !errors.Is(err, fc.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	wantErr(t, "delete function", s.DeleteFunction(ctx, "s", "f", 0), nil)
	if _, err := s.GetAsyncInvokeConfig(ctx, "s", "", "f"); !errors.Is(err, fc.ErrNotFound) {
		t.Fatalf("config outlived its function: %v", err)
	}
}
