package store

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/natsx"
)

type lookup struct {
	fn, trig string // "" when nil
	memory   int
	svc, ok  bool
}

func look(s *JetStream, service, function string) lookup {
	f, tr, svcOK, ok := s.LookupFunction(service, function)
	var l lookup
	l.svc, l.ok = svcOK, ok
	if f != nil {
		l.fn, l.memory = f.ServiceName+"/"+f.FunctionName, f.MemorySize
	}
	if tr != nil {
		l.trig = tr.ServiceName + "/" + tr.FunctionName + "/" + tr.TriggerName
	}
	return l
}

func TestCatalogSeesOwnWritesImmediately(t *testing.T) {
	ctx := testCtx(t)
	s := newStore(t)

	steps := []struct {
		name string
		do   func() error
		want lookup
	}{
		{"nothing", func() error { return nil }, lookup{}},
		{"service", func() error { _, err := s.CreateService(ctx, svc("s")); return err }, lookup{svc: true}},
		{"function", func() error { _, err := s.CreateFunction(ctx, "s", fn("f")); return err },
			lookup{fn: "s/f", memory: 128, svc: true, ok: true}},
		{"non-http trigger is ignored", func() error {
			tr := httpTrig("a-timer")
			tr.TriggerType = "timer"
			_, err := s.CreateTrigger(ctx, "s", "f", tr)
			return err
		}, lookup{fn: "s/f", memory: 128, svc: true, ok: true}},
		{"http trigger", func() error { _, err := s.CreateTrigger(ctx, "s", "f", httpTrig("m")); return err },
			lookup{fn: "s/f", trig: "s/f/m", memory: 128, svc: true, ok: true}},
		{"smaller-named http trigger wins", func() error { _, err := s.CreateTrigger(ctx, "s", "f", httpTrig("b")); return err },
			lookup{fn: "s/f", trig: "s/f/b", memory: 128, svc: true, ok: true}},
		{"update function", func() error {
			f := fn("f")
			f.MemorySize = 512
			_, err := s.UpdateFunction(ctx, "s", f, 0)
			return err
		}, lookup{fn: "s/f", trig: "s/f/b", memory: 512, svc: true, ok: true}},
		{"delete trigger b", func() error { return s.DeleteTrigger(ctx, "s", "f", "b", 0) },
			lookup{fn: "s/f", trig: "s/f/m", memory: 512, svc: true, ok: true}},
		{"delete triggers", func() error {
			if err := s.DeleteTrigger(ctx, "s", "f", "m", 0); err != nil {
				return err
			}
			return s.DeleteTrigger(ctx, "s", "f", "a-timer", 0)
		}, lookup{fn: "s/f", memory: 512, svc: true, ok: true}},
		{"delete function", func() error { return s.DeleteFunction(ctx, "s", "f", 0) }, lookup{svc: true}},
		{"recreate function", func() error { _, err := s.CreateFunction(ctx, "s", fn("f")); return err },
			lookup{fn: "s/f", memory: 128, svc: true, ok: true}},
		{"delete all", func() error {
			if err := s.DeleteFunction(ctx, "s", "f", 0); err != nil {
				return err
			}
			return s.DeleteService(ctx, "s", 0)
		}, lookup{}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		// No waiting: the write is in the catalog when it returns.
		if got := look(s, "s", "f"); got != st.want {
			t.Fatalf("after %s: lookup = %+v, want %+v", st.name, got, st.want)
		}
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCatalogSeesOtherNodesWrites(t *testing.T) {
	ctx := testCtx(t)
	srv := startNATS(t, natsx.Options{DataDir: t.TempDir(), Listen: "127.0.0.1:-1"})
	a := openStore(t, srv)
	// Node b has its own connection, as a second openfc process would.
	b := openStore(t, startNATS(t, natsx.Options{URL: srv.ClientURL()}))

	must[uint64](t, "service")(a.CreateService(ctx, svc("s")))
	must[uint64](t, "function")(a.CreateFunction(ctx, "s", fn("f")))
	must[uint64](t, "trigger")(a.CreateTrigger(ctx, "s", "f", httpTrig("h")))
	want := lookup{fn: "s/f", trig: "s/f/h", memory: 128, svc: true, ok: true}
	waitFor(t, "b to see a's function", func() bool { return look(b, "s", "f") == want })

	f := fn("f")
	f.MemorySize = 1024
	must[uint64](t, "update on b")(b.UpdateFunction(ctx, "s", f, 0))
	want.memory = 1024
	waitFor(t, "a to see b's update", func() bool { return look(a, "s", "f") == want })

	wantErr(t, "delete trigger on a", a.DeleteTrigger(ctx, "s", "f", "h", 0), nil)
	want.trig = ""
	waitFor(t, "b to see the trigger deleted", func() bool { return look(b, "s", "f") == want })

	wantErr(t, "delete function on b", b.DeleteFunction(ctx, "s", "f", 0), nil)
	waitFor(t, "a to see the function deleted", func() bool { return look(a, "s", "f") == lookup{svc: true} })
	wantErr(t, "delete service on a", a.DeleteService(ctx, "s", 0), nil)
	waitFor(t, "b to see the service deleted", func() bool { return look(b, "s", "f") == lookup{} })

	// Both catalogs end empty: no tombstone is left behind.
	for name, st := range map[string]*JetStream{"a": a, "b": b} {
		waitFor(t, name+"'s catalog to be empty", func() bool {
			st.cat.mu.RLock()
			defer st.cat.mu.RUnlock()
			return len(st.cat.tab[bServices])+len(st.cat.tab[bFunctions])+len(st.cat.tab[bTriggers]) == 0
		})
	}
}

func TestCatalogRevisionOrdering(t *testing.T) {
	v := func(name string) any { return &fc.Service{ServiceName: name} }
	get := func(c *catalog) (string, bool) {
		it, ok := c.lookup(bServices, parent{}, "k")
		if !ok {
			return "", false
		}
		if it.val == nil {
			return "<tombstone>", true
		}
		return it.val.(*fc.Service).ServiceName, true
	}
	tests := []struct {
		name    string
		apply   func(c *catalog)
		want    string
		present bool
	}{
		{"local put then its echo", func(c *catalog) {
			c.localPut(bServices, "k", 5, v("v5"))
			c.watched(bServices, "k", 5, v("echo"))
		}, "v5", true},
		{"older watch event after a local put", func(c *catalog) {
			c.localPut(bServices, "k", 5, v("v5"))
			c.watched(bServices, "k", 3, v("v3"))
		}, "v5", true},
		{"late local put after watcher passed it", func(c *catalog) {
			c.watched(bServices, "k", 5, v("v5"))
			c.watched(bServices, "k", 7, nil) // deleted by another node
			c.localPut(bServices, "k", 5, v("late"))
		}, "", false},
		{"local delete hides the value before the watcher", func(c *catalog) {
			c.watched(bServices, "k", 5, v("v5"))
			c.localDelete(bServices, "k", 5)
		}, "<tombstone>", true},
		{"stale put after a local delete", func(c *catalog) {
			c.watched(bServices, "k", 2, v("v2"))
			c.localDelete(bServices, "k", 5) // the watcher has not delivered rev 5 yet
			c.watched(bServices, "k", 5, v("v5"))
		}, "<tombstone>", true},
		{"delete event clears the tombstone", func(c *catalog) {
			c.watched(bServices, "k", 5, v("v5"))
			c.localDelete(bServices, "k", 5)
			c.watched(bServices, "k", 6, nil)
		}, "", false},
		{"local delete after the watcher delivered it", func(c *catalog) {
			c.watched(bServices, "k", 5, v("v5"))
			c.watched(bServices, "k", 6, nil)
			c.localDelete(bServices, "k", 5)
		}, "", false},
		{"newer put survives a late local delete", func(c *catalog) {
			c.watched(bServices, "k", 5, v("v5"))
			c.watched(bServices, "k", 6, nil)
			c.watched(bServices, "k", 9, v("v9"))
			c.localDelete(bServices, "k", 5)
		}, "v9", true},
		{"put after the local delete", func(c *catalog) {
			c.watched(bServices, "k", 5, v("v5"))
			c.localDelete(bServices, "k", 5)
			c.localPut(bServices, "k", 8, v("v8"))
			c.watched(bServices, "k", 6, nil)
		}, "v8", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCatalog()
			tt.apply(c)
			got, present := get(c)
			if got != tt.want || present != tt.present {
				t.Fatalf("entry = %q (present %v), want %q (present %v)", got, present, tt.want, tt.present)
			}
		})
	}
}

func TestCatalogConcurrentLookups(t *testing.T) {
	ctx := testCtx(t)
	s := newStore(t)
	must[uint64](t, "service")(s.CreateService(ctx, svc("s")))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if f, _, svcOK, ok := s.LookupFunction("s", "f0"); !svcOK || (ok && f.FunctionName != "f0") {
					t.Errorf("bad lookup: svc %v ok %v f %v", svcOK, ok, f)
					return
				}
			}
		}()
	}
	for i := range 20 {
		name := fmt.Sprintf("f%d", i%3)
		if _, err := s.CreateFunction(ctx, "s", fn(name)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateTrigger(ctx, "s", name, httpTrig("h")); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteTrigger(ctx, "s", name, "h", 0); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteFunction(ctx, "s", name, 0); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

func TestLookupTriggerByURLID(t *testing.T) {
	c := newCatalog()
	s := &JetStream{cat: c}
	fn := &fc.Function{FunctionName: "f"}
	c.localPut(bServices, "s", 1, &fc.Service{ServiceName: "s"})
	c.localPut(bFunctions, "s.f", 2, fn)
	t1 := &fc.Trigger{TriggerName: "t", TriggerType: "http", TriggerID: "AB12-cd34"}
	c.localPut(bTriggers, "s.f.t", 3, t1)
	if f, tr, ok := s.LookupTrigger("ab12cd34"); !ok || f != fn || tr != t1 {
		t.Fatalf("LookupTrigger = %v %v %v", f, tr, ok)
	}
	// A new value with another id moves the index entry.
	t2 := &fc.Trigger{TriggerName: "t", TriggerType: "http", TriggerID: "ffff-0000"}
	c.localPut(bTriggers, "s.f.t", 4, t2)
	if _, _, ok := s.LookupTrigger("ab12cd34"); ok {
		t.Fatal("the old id still resolves")
	}
	if _, tr, ok := s.LookupTrigger("ffff0000"); !ok || tr != t2 {
		t.Fatal("the new id does not resolve")
	}
	c.watched(bTriggers, "s.f.t", 5, nil)
	if _, _, ok := s.LookupTrigger("ffff0000"); ok {
		t.Fatal("a deleted trigger still resolves")
	}
}

// LookupService answers from the catalog: a created service at once, an
// update's internetAccess, nothing after a delete.
func TestLookupService(t *testing.T) {
	ctx := testCtx(t)
	s := newStore(t)
	if _, ok := s.LookupService("s"); ok {
		t.Fatal("an unknown service was found")
	}
	if _, err := s.CreateService(ctx, svc("s")); err != nil {
		t.Fatal(err)
	}
	if got, ok := s.LookupService("s"); !ok || got.ServiceName != "s" || got.InternetAccess != nil {
		t.Fatalf("LookupService after create = %+v, %v", got, ok)
	}
	off := false
	upd := svc("s")
	upd.InternetAccess = &off
	if _, err := s.UpdateService(ctx, upd, 0); err != nil {
		t.Fatal(err)
	}
	if got, ok := s.LookupService("s"); !ok || got.InternetAccess == nil || *got.InternetAccess {
		t.Fatalf("LookupService after update = %+v, %v; want internetAccess false", got, ok)
	}
	if err := s.DeleteService(ctx, "s", 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.LookupService("s"); ok {
		t.Fatal("a deleted service was found")
	}
}
