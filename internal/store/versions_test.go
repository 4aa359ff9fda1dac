package store

import (
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/natsx"
)

// TestVersionsSnapshotAndIDs: a version keeps the functions as they were
// at publish time while LATEST moves on; ids grow per service and are not
// reused after a delete.
func TestVersionsSnapshotAndIDs(t *testing.T) {
	ctx := testCtx(t)
	s := newStore(t)
	must[uint64](t, "service")(s.CreateService(ctx, svc("s")))
	f := fn("f")
	f.EnvironmentVariables = map[string]string{"V": "one"}
	must[uint64](t, "function")(s.CreateFunction(ctx, "s", f))
	v1 := &fc.Version{Description: "first"}
	wantErr(t, "publish 1", s.PublishVersion(ctx, "s", v1), nil)
	f2 := fn("f")
	f2.EnvironmentVariables, f2.CodeChecksum = map[string]string{"V": "two"}, "456"
	must[uint64](t, "update")(s.UpdateFunction(ctx, "s", f2, 0))
	v2 := &fc.Version{}
	wantErr(t, "publish 2", s.PublishVersion(ctx, "s", v2), nil)
	if v1.VersionID != "1" || v2.VersionID != "2" {
		t.Fatalf("ids %q, %q; want 1, 2", v1.VersionID, v2.VersionID)
	}
	for q, want := range map[string]string{"1": "one", "2": "two", fc.LATEST: "two"} {
		got, _, err := s.ResolveFunction("s", q, "f", 0)
		if err != nil || got.EnvironmentVariables["V"] != want {
			t.Errorf("qualifier %s: %+v, %v; want V=%s", q, got, err, want)
			continue
		}
		if wantID := map[bool]string{true: "", false: q}[q == fc.LATEST]; got.VersionID != wantID || got.ServiceName != "s" || got.FunctionName != "f" {
			t.Errorf("qualifier %s: names %s/%s@%q", q, got.ServiceName, got.FunctionName, got.VersionID)
		}
	}
	sums := must[[]string](t, "checksums")(s.VersionCodeChecksums(ctx))
	if len(sums) != 2 {
		t.Errorf("version checksums %v; want 123 and 456", sums)
	}
	if sums, err := s.DeleteVersion(ctx, "s", "2"); err != nil || len(sums) != 1 || sums[0] != "456" {
		t.Fatalf("delete 2: %v, %v; want its code 456 released", sums, err)
	}
	v3 := &fc.Version{}
	wantErr(t, "publish 3", s.PublishVersion(ctx, "s", v3), nil)
	if v3.VersionID != "3" {
		t.Errorf("after deleting 2, published %q; want 3", v3.VersionID)
	}
	list := must[[]*fc.Version](t, "list")(s.ListVersions(ctx, "s"))
	if len(list) != 2 || list[0].VersionID != "1" || list[0].Description != "first" || list[1].VersionID != "3" {
		t.Errorf("list %+v", list)
	}
	if _, _, err := s.ResolveFunction("s", "2", "f", 0); fc.AsError(err).Code != fc.CodeVersionNotFound {
		t.Errorf("deleted version: %v; want VersionNotFound", err)
	}
	wantErr(t, "publish on a missing service", s.PublishVersion(ctx, "nope", &fc.Version{}), fc.ErrNotFound)
	wantErr(t, "delete a service with versions", s.DeleteService(ctx, "s", 0), fc.ErrNotEmpty)
}

// TestAliasResolveAndInUse: an alias resolves by weight, a version an
// alias uses cannot be deleted, and a second node sees an alias move.
func TestAliasResolveAndInUse(t *testing.T) {
	ctx := testCtx(t)
	srv := startNATS(t, natsx.Options{DataDir: t.TempDir(), Listen: "127.0.0.1:-1"})
	s := openStore(t, srv)
	other := openStore(t, startNATS(t, natsx.Options{URL: srv.ClientURL()}))
	must[uint64](t, "service")(s.CreateService(ctx, svc("s")))
	must[uint64](t, "function")(s.CreateFunction(ctx, "s", fn("f")))
	for range 2 {
		wantErr(t, "publish", s.PublishVersion(ctx, "s", &fc.Version{}), nil)
	}
	a := &fc.Alias{AliasName: "prod", VersionID: "1", AdditionalVersionWeight: map[string]float64{"2": 0.3}}
	rev := must[uint64](t, "alias")(s.CreateAlias(ctx, "s", a))
	for pick, want := range map[float64]string{0.1: "2", 0.5: "1", 1: "1"} {
		got, _, err := s.ResolveFunction("s", "prod", "f", pick)
		if err != nil || got.VersionID != want {
			t.Errorf("pick %v: %+v, %v; want version %s", pick, got, err, want)
		}
	}
	if !s.QualifierExists("s", "prod") || !s.QualifierExists("s", "2") || s.QualifierExists("s", "9") || s.QualifierExists("s", "dev") {
		t.Error("QualifierExists")
	}
	_, err := s.DeleteVersion(ctx, "s", "2")
	if fe := fc.AsError(err); fe.Code != fc.CodeVersionInUse || !strings.Contains(fe.Message, "prod") {
		t.Errorf("deleting a version an alias weights: %v; want VersionInUse naming prod", err)
	}
	if _, _, err := s.ResolveFunction("s", "dev", "f", 0); fc.AsError(err).Code != fc.CodeAliasNotFound {
		t.Errorf("unknown alias: %v", err)
	}
	if _, _, err := s.ResolveFunction("s", "1", "g", 0); fc.AsError(err).Code != fc.CodeFunctionNotFound {
		t.Errorf("unknown function in a version: %v", err)
	}
	moved := &fc.Alias{AliasName: "prod", VersionID: "2"}
	must[uint64](t, "move")(s.UpdateAlias(ctx, "s", moved, rev))
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _, err := other.ResolveFunction("s", "prod", "f", 0.9)
		if err == nil && got.VersionID == "2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other node still resolves prod to %+v, %v", got, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	must[[]string](t, "delete 1 once unused")(s.DeleteVersion(ctx, "s", "1"))
	wantErr(t, "delete alias", s.DeleteAlias(ctx, "s", "prod", 0), nil)
	must[[]string](t, "delete 2 once unused")(s.DeleteVersion(ctx, "s", "2"))
}
