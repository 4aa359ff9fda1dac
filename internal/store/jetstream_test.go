package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/natsx"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startNATS starts an embedded server on dir; Close runs at cleanup.
func startNATS(t *testing.T, o natsx.Options) *natsx.Conn {
	t.Helper()
	c, err := natsx.Start(testCtx(t), o)
	if err != nil {
		t.Fatalf("natsx.Start: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func openStore(t *testing.T, c *natsx.Conn) *JetStream {
	t.Helper()
	s, err := Open(testCtx(t), c.JS, 1, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func newStore(t *testing.T) *JetStream {
	t.Helper()
	return openStore(t, startNATS(t, natsx.Options{DataDir: t.TempDir()}))
}

func svc(name string) *fc.Service { return &fc.Service{ServiceName: name, Description: "d-" + name} }

func fn(name string) *fc.Function {
	return &fc.Function{FunctionName: name, Runtime: "custom.debian10", Handler: "index.handler", Timeout: 3, MemorySize: 128, CodeChecksum: "123"}
}

func httpTrig(name string) *fc.Trigger {
	return &fc.Trigger{TriggerName: name, TriggerType: "http", Qualifier: fc.LATEST,
		TriggerConfig: &fc.HTTPTriggerConfig{AuthType: fc.AuthAnonymous, Methods: []string{"GET"}}}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s: unexpected error %v", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s: error = %v, want %v", what, err, want)
	}
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func TestServiceCRUD(t *testing.T) {
	ctx := testCtx(t)
	s := newStore(t)

	rev1 := must[uint64](t, "create")(s.CreateService(ctx, svc("a")))
	got, rev, err := s.GetService(ctx, "a")
	wantErr(t, "get", err, nil)
	if rev != rev1 || got.ServiceName != "a" || got.Description != "d-a" {
		t.Fatalf("get = %+v rev %d, want a/d-a rev %d", got, rev, rev1)
	}

	upd := svc("a")
	upd.Description = "v2"
	rev2 := must[uint64](t, "update")(s.UpdateService(ctx, upd, rev1))
	if rev2 <= rev1 {
		t.Fatalf("update revision %d not after %d", rev2, rev1)
	}
	rev3 := must[uint64](t, "unconditional update")(s.UpdateService(ctx, svc("a"), 0))

	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"create existing", func() error { _, err := s.CreateService(ctx, svc("a")); return err }, fc.ErrAlreadyExists},
		{"update stale revision", func() error { _, err := s.UpdateService(ctx, svc("a"), rev1); return err }, fc.ErrConflict},
		{"update missing", func() error { _, err := s.UpdateService(ctx, svc("nope"), 0); return err }, fc.ErrNotFound},
		{"update missing with revision", func() error { _, err := s.UpdateService(ctx, svc("nope"), rev1); return err }, fc.ErrNotFound},
		{"get missing", func() error { _, _, err := s.GetService(ctx, "nope"); return err }, fc.ErrNotFound},
		{"get invalid name", func() error { _, _, err := s.GetService(ctx, "a.b"); return err }, fc.ErrNotFound},
		{"get wildcard name", func() error { _, _, err := s.GetService(ctx, "*"); return err }, fc.ErrNotFound},
		{"delete stale revision", func() error { return s.DeleteService(ctx, "a", rev2) }, fc.ErrConflict},
		{"delete missing", func() error { return s.DeleteService(ctx, "nope", 0) }, fc.ErrNotFound},
		{"delete missing with revision", func() error { return s.DeleteService(ctx, "nope", rev1) }, fc.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.name, tt.op(), tt.want) })
	}

	_, err = s.CreateService(ctx, svc("bad.name"))
	var fe *fc.Error
	if !errors.As(err, &fe) || fe.Code != fc.CodeInvalidArgument {
		t.Fatalf("create with '.' in name: error = %v, want InvalidArgument", err)
	}

	wantErr(t, "delete", s.DeleteService(ctx, "a", rev3), nil)
	_, _, err = s.GetService(ctx, "a")
	wantErr(t, "get deleted", err, fc.ErrNotFound)
	wantErr(t, "delete deleted", s.DeleteService(ctx, "a", 0), fc.ErrNotFound)
	_, err = s.UpdateService(ctx, svc("a"), rev3)
	wantErr(t, "update deleted", err, fc.ErrNotFound)

	// A deleted name can be created again.
	rev4 := must[uint64](t, "recreate")(s.CreateService(ctx, svc("a")))
	if _, rev, _ := s.GetService(ctx, "a"); rev != rev4 {
		t.Fatalf("recreated revision %d, want %d", rev, rev4)
	}
}

func TestFunctionAndTriggerCRUD(t *testing.T) {
	ctx := testCtx(t)
	s := newStore(t)

	_, err := s.CreateFunction(ctx, "s", fn("f"))
	wantErr(t, "function in missing service", err, fc.ErrNotFound)
	must[uint64](t, "create service")(s.CreateService(ctx, svc("s")))
	frev := must[uint64](t, "create function")(s.CreateFunction(ctx, "s", fn("f")))
	_, err = s.CreateFunction(ctx, "s", fn("f"))
	wantErr(t, "duplicate function", err, fc.ErrAlreadyExists)

	f, rev, err := s.GetFunction(ctx, "s", "f")
	wantErr(t, "get function", err, nil)
	if f.ServiceName != "s" || f.FunctionName != "f" || f.Runtime != "custom.debian10" || rev != frev {
		t.Fatalf("get function = %+v rev %d", f, rev)
	}
	_, _, err = s.GetFunction(ctx, "s", "g")
	wantErr(t, "missing function", err, fc.ErrNotFound)
	_, _, err = s.GetFunction(ctx, "t", "f")
	wantErr(t, "function of missing service", err, fc.ErrNotFound)

	_, err = s.CreateTrigger(ctx, "s", "g", httpTrig("h"))
	wantErr(t, "trigger on missing function", err, fc.ErrNotFound)
	trev := must[uint64](t, "create trigger")(s.CreateTrigger(ctx, "s", "f", httpTrig("h")))
	_, err = s.CreateTrigger(ctx, "s", "f", httpTrig("h"))
	wantErr(t, "duplicate trigger", err, fc.ErrAlreadyExists)
	tr, rev, err := s.GetTrigger(ctx, "s", "f", "h")
	wantErr(t, "get trigger", err, nil)
	if tr.ServiceName != "s" || tr.FunctionName != "f" || tr.TriggerName != "h" || rev != trev ||
		tr.TriggerConfig == nil || tr.TriggerConfig.AuthType != fc.AuthAnonymous {
		t.Fatalf("get trigger = %+v rev %d", tr, rev)
	}

	wantErr(t, "delete service with functions", s.DeleteService(ctx, "s", 0), fc.ErrNotEmpty)
	wantErr(t, "delete function with triggers", s.DeleteFunction(ctx, "s", "f", 0), fc.ErrNotEmpty)

	up := fn("f")
	up.MemorySize = 256
	_, err = s.UpdateFunction(ctx, "s", up, frev+1000)
	wantErr(t, "update function stale", err, fc.ErrConflict)
	frev2 := must[uint64](t, "update function")(s.UpdateFunction(ctx, "s", up, frev))
	if f, _, _ := s.GetFunction(ctx, "s", "f"); f.MemorySize != 256 {
		t.Fatalf("memorySize after update = %d", f.MemorySize)
	}
	tup := httpTrig("h")
	tup.Description = "new"
	_, err = s.UpdateTrigger(ctx, "s", "f", tup, trev+1000)
	wantErr(t, "update trigger stale", err, fc.ErrConflict)
	must[uint64](t, "update trigger")(s.UpdateTrigger(ctx, "s", "f", tup, trev))
	_, err = s.UpdateTrigger(ctx, "s", "f", httpTrig("zz"), 0)
	wantErr(t, "update missing trigger", err, fc.ErrNotFound)

	wantErr(t, "delete trigger stale", s.DeleteTrigger(ctx, "s", "f", "h", trev), fc.ErrConflict)
	wantErr(t, "delete trigger", s.DeleteTrigger(ctx, "s", "f", "h", 0), nil)
	wantErr(t, "delete trigger again", s.DeleteTrigger(ctx, "s", "f", "h", 0), fc.ErrNotFound)
	wantErr(t, "delete function stale", s.DeleteFunction(ctx, "s", "f", frev), fc.ErrConflict)
	wantErr(t, "delete function", s.DeleteFunction(ctx, "s", "f", frev2), nil)
	wantErr(t, "delete service", s.DeleteService(ctx, "s", 0), nil)
}

func TestListsSortedAndFiltered(t *testing.T) {
	ctx := testCtx(t)
	s := newStore(t)

	if l, err := s.ListServices(ctx); err != nil || len(l) != 0 {
		t.Fatalf("ListServices on an empty bucket = %v, %v; want empty, nil", l, err)
	}
	if l, err := s.ListFunctions(ctx, "a"); err != nil || len(l) != 0 {
		t.Fatalf("ListFunctions on an empty bucket = %v, %v", l, err)
	}
	if l, err := s.ListTriggers(ctx, "a", "f"); err != nil || len(l) != 0 {
		t.Fatalf("ListTriggers on an empty bucket = %v, %v", l, err)
	}

	for _, n := range []string{"b", "ab", "a", "c-1", "_z"} {
		must[uint64](t, "create service")(s.CreateService(ctx, svc(n)))
	}
	for _, n := range []string{"f3", "f1", "f2"} {
		must[uint64](t, "create function")(s.CreateFunction(ctx, "a", fn(n)))
	}
	must[uint64](t, "create function")(s.CreateFunction(ctx, "ab", fn("other")))
	must[uint64](t, "create function")(s.CreateFunction(ctx, "a", fn("f1x")))
	for _, n := range []string{"t2", "t1"} {
		must[uint64](t, "create trigger")(s.CreateTrigger(ctx, "a", "f1", httpTrig(n)))
	}
	must[uint64](t, "create trigger")(s.CreateTrigger(ctx, "a", "f1x", httpTrig("t0")))
	must[uint64](t, "create trigger")(s.CreateTrigger(ctx, "ab", "other", httpTrig("t0")))
	wantErr(t, "delete", s.DeleteFunction(ctx, "a", "f3", 0), nil)

	svcs, err := s.ListServices(ctx)
	wantErr(t, "ListServices", err, nil)
	if got, want := names(svcs, func(s *fc.Service) string { return s.ServiceName }), []string{"_z", "a", "ab", "b", "c-1"}; !slices.Equal(got, want) {
		t.Fatalf("ListServices = %v, want %v", got, want)
	}
	fns, err := s.ListFunctions(ctx, "a")
	wantErr(t, "ListFunctions", err, nil)
	if got, want := names(fns, func(f *fc.Function) string { return f.FunctionName }), []string{"f1", "f1x", "f2"}; !slices.Equal(got, want) {
		t.Fatalf("ListFunctions(a) = %v, want %v", got, want)
	}
	for _, f := range fns {
		if f.ServiceName != "a" {
			t.Fatalf("listed function %s has ServiceName %q", f.FunctionName, f.ServiceName)
		}
	}
	trs, err := s.ListTriggers(ctx, "a", "f1")
	wantErr(t, "ListTriggers", err, nil)
	if got, want := names(trs, func(t *fc.Trigger) string { return t.TriggerName }), []string{"t1", "t2"}; !slices.Equal(got, want) {
		t.Fatalf("ListTriggers(a, f1) = %v, want %v", got, want)
	}
	for _, tr := range trs {
		if tr.ServiceName != "a" || tr.FunctionName != "f1" {
			t.Fatalf("listed trigger %+v lacks names", tr)
		}
	}
	if l, err := s.ListFunctions(ctx, "nope"); err != nil || len(l) != 0 {
		t.Fatalf("ListFunctions(nope) = %v, %v", l, err)
	}
	if l, err := s.ListFunctions(ctx, "a.f1"); err != nil || len(l) != 0 {
		t.Fatalf("ListFunctions with a '.' = %v, %v", l, err)
	}
}

func names[T any](items []*T, name func(*T) string) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, name(it))
	}
	return out
}

func readAll(t *testing.T, s *JetStream, sum string) []byte {
	t.Helper()
	rc, err := s.GetCode(testCtx(t), sum)
	if err != nil {
		t.Fatalf("GetCode(%s): %v", sum, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read code %s: %v", sum, err)
	}
	return b
}

func TestCode(t *testing.T) {
	ctx := testCtx(t)
	s := newStore(t)

	_, err := s.GetCode(ctx, "404")
	wantErr(t, "get missing code", err, fc.ErrNotFound)
	wantErr(t, "delete missing code", s.DeleteCode(ctx, "404"), nil)

	small := []byte("PK\x03\x04 not really a zip")
	big := make([]byte, 700<<10) // several object-store chunks
	rand.Read(big)
	for sum, data := range map[string][]byte{"1": small, "2": big} {
		wantErr(t, "put", s.PutCode(ctx, sum, bytes.NewReader(data)), nil)
		if got := readAll(t, s, sum); !bytes.Equal(got, data) {
			t.Fatalf("code %s: read %d bytes, want %d identical bytes", sum, len(got), len(data))
		}
	}
	// Idempotent: a second put under the same checksum changes nothing.
	wantErr(t, "put again", s.PutCode(ctx, "1", strings.NewReader("other")), nil)
	if got := readAll(t, s, "1"); !bytes.Equal(got, small) {
		t.Fatalf("code 1 after a second put = %q, want the original", got)
	}
	// GetCode without a deadline must still stream (nats.go gives such reads a short default timeout).
	rc, err := s.GetCode(context.Background(), "2")
	wantErr(t, "get code without deadline", err, nil)
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	if err != nil || n != int64(len(big)) {
		t.Fatalf("read without deadline: %d bytes, %v", n, err)
	}

	wantErr(t, "delete", s.DeleteCode(ctx, "1"), nil)
	_, err = s.GetCode(ctx, "1")
	wantErr(t, "get deleted code", err, fc.ErrNotFound)
	wantErr(t, "delete deleted code", s.DeleteCode(ctx, "1"), nil)
	wantErr(t, "put after delete", s.PutCode(ctx, "1", strings.NewReader("again")), nil)
	if got := readAll(t, s, "1"); string(got) != "again" {
		t.Fatalf("code 1 after re-put = %q", got)
	}
}

func TestDataSurvivesServerRestart(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	c, err := natsx.Start(ctx, natsx.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, c.JS, 1, nil)
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	must[uint64](t, "service")(s.CreateService(ctx, svc("s")))
	must[uint64](t, "function")(s.CreateFunction(ctx, "s", fn("f")))
	must[uint64](t, "trigger")(s.CreateTrigger(ctx, "s", "f", httpTrig("h")))
	must[uint64](t, "gone")(s.CreateService(ctx, svc("gone")))
	wantErr(t, "delete", s.DeleteService(ctx, "gone", 0), nil)
	wantErr(t, "code", s.PutCode(ctx, "42", strings.NewReader("zip")), nil)
	s.Close()
	c.Close()

	s2 := openStore(t, startNATS(t, natsx.Options{DataDir: dir}))
	// The catalog is loaded before Open returns: no polling here.
	f, tr, svcOK, ok := s2.LookupFunction("s", "f")
	if !svcOK || !ok || f.FunctionName != "f" || tr == nil || tr.TriggerName != "h" {
		t.Fatalf("LookupFunction after restart = %v, %v, %v, %v", f, tr, svcOK, ok)
	}
	if _, _, svcOK, _ := s2.LookupFunction("gone", "f"); svcOK {
		t.Fatal("deleted service is back in the catalog after restart")
	}
	if _, _, err := s2.GetTrigger(ctx, "s", "f", "h"); err != nil {
		t.Fatalf("trigger lost: %v", err)
	}
	if got := readAll(t, s2, "42"); string(got) != "zip" {
		t.Fatalf("code after restart = %q", got)
	}
}
