package store

import (
	"errors"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/natsx"
)

func domain(name, fn string) *fc.CustomDomain {
	return &fc.CustomDomain{DomainName: name, Protocol: fc.ProtocolHTTP, RouteConfig: &fc.RouteConfig{Routes: []fc.PathConfig{
		{Path: "/*", ServiceName: "s", FunctionName: fn, Qualifier: fc.LATEST}}}}
}

func TestCustomDomainsCRUD(t *testing.T) {
	c := startNATS(t, natsx.Options{DataDir: t.TempDir()})
	s := openStore(t, c)
	ctx := testCtx(t)
	for _, n := range []string{"b.example.com", "*.example.com", "a.example.com"} {
		if _, err := s.CreateCustomDomain(ctx, domain(n, "f")); err != nil {
			t.Fatalf("create %s: %v", n, err)
		}
	}
	if _, err := s.CreateCustomDomain(ctx, domain("a.example.com", "f")); !errors.Is(err, fc.ErrAlreadyExists) {
		t.Fatalf("second create: %v, want ErrAlreadyExists", err)
	}
	list, err := s.ListCustomDomains(ctx)
	if err != nil || len(list) != 3 || list[0].DomainName != "*.example.com" || list[1].DomainName != "a.example.com" {
		t.Fatalf("list = %v, %v", list, err)
	}
	got, rev, err := s.GetCustomDomain(ctx, "*.example.com")
	if err != nil || got.RouteConfig.Routes[0].FunctionName != "f" {
		t.Fatalf("get = %+v, %v", got, err)
	}
	if _, err := s.UpdateCustomDomain(ctx, domain("*.example.com", "g"), rev+100); !errors.Is(err, fc.ErrConflict) {
		t.Fatalf("update at a stale revision: %v, want ErrConflict", err)
	}
	if _, err := s.UpdateCustomDomain(ctx, domain("*.example.com", "g"), rev); err != nil {
		t.Fatal(err)
	}
	// The catalog: exact first, then the wildcard of the parent (one label).
	for host, want := range map[string]string{"a.example.com": "f", "x.example.com": "g", "y.x.example.com": "", "example.com": ""} {
		sd, ok := s.LookupDomain(host)
		if got := ""; ok {
			got = sd.Domain.RouteConfig.Routes[0].FunctionName
			if got != want {
				t.Errorf("LookupDomain(%s) = %s, want %s", host, got, want)
			}
		} else if want != "" {
			t.Errorf("LookupDomain(%s): not found, want %s", host, want)
		}
	}
	if err := s.DeleteCustomDomain(ctx, "a.example.com"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.GetCustomDomain(ctx, "a.example.com"); !errors.Is(err, fc.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if err := s.DeleteCustomDomain(ctx, "a.example.com"); !errors.Is(err, fc.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	// Deleted here: the wildcard now serves a.example.com.
	if sd, ok := s.LookupDomain("a.example.com"); !ok || sd.Domain.DomainName != "*.example.com" {
		t.Fatalf("after delete LookupDomain = %+v, %v", sd, ok)
	}

	// A second store on the same NATS sees all of it through its watch.
	other := openStore(t, c)
	if _, ok := other.LookupDomain("b.example.com"); !ok {
		t.Fatal("second store: b.example.com not loaded")
	}
	if _, err := s.CreateCustomDomain(ctx, domain("c.example.org", "h")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if sd, ok := other.LookupDomain("c.example.org"); ok && sd.Domain.RouteConfig.Routes[0].FunctionName == "h" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("second store never saw c.example.org")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
