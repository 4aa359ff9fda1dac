package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/natsx"
)

// wantCode checks that err is an *fc.Error with code.
func wantCode(t *testing.T, what string, err error, code fc.Code) {
	t.Helper()
	var fe *fc.Error
	if !errors.As(err, &fe) || fe.Code != code {
		t.Fatalf("%s: error = %v, want code %s", what, err, code)
	}
}

// scalingState is what the store and its catalog say about one function
// version's scaling.
type scalingState struct {
	onDemand, provision   string // "-" when absent, else the number
	catMax, catTarget     int
	catMaxSet             bool
	inTargets, listedBoth string
}

func stateOf(t *testing.T, s *JetStream, service, qualifier, function string) scalingState {
	t.Helper()
	ctx := testCtx(t)
	var st scalingState
	od, err := s.GetOnDemandConfig(ctx, service, qualifier, function)
	switch {
	case errors.Is(err, fc.ErrNotFound):
		st.onDemand = "-"
	case err != nil:
		t.Fatalf("GetOnDemandConfig: %v", err)
	default:
		st.onDemand = fmt.Sprint(od.MaximumInstanceCount)
	}
	pc, err := s.GetProvisionConfig(ctx, service, qualifier, function)
	switch {
	case errors.Is(err, fc.ErrNotFound):
		st.provision = "-"
	case err != nil:
		t.Fatalf("GetProvisionConfig: %v", err)
	default:
		st.provision = fmt.Sprint(pc.Target)
		if pc.Current != 0 {
			t.Errorf("stored provision config has current %d", pc.Current)
		}
	}
	st.catMax, st.catTarget = s.Scaling(service, qualifier, function)
	var m int
	m, st.catMaxSet = s.OnDemandMax(service, qualifier, function)
	if m != st.catMax {
		t.Errorf("OnDemandMax = %d, Scaling's onDemandMax = %d", m, st.catMax)
	}
	st.inTargets = "-"
	for _, pt := range s.ProvisionTargets() {
		if pt.Service == service && pt.Qualifier == qualifier && pt.Function == function {
			st.inTargets = fmt.Sprint(pt.Target)
		}
	}
	ods, err := s.ListOnDemandConfigs(ctx)
	if err != nil {
		t.Fatalf("ListOnDemandConfigs: %v", err)
	}
	pcs, err := s.ListProvisionConfigs(ctx)
	if err != nil {
		t.Fatalf("ListProvisionConfigs: %v", err)
	}
	k := ScalingKey{service, qualifier, function}
	odListed := slices.IndexFunc(ods, func(e OnDemandEntry) bool { return e.ScalingKey == k }) >= 0
	pcListed := slices.IndexFunc(pcs, func(e ProvisionEntry) bool { return e.ScalingKey == k }) >= 0
	st.listedBoth = fmt.Sprintf("%v/%v", odListed, pcListed)
	return st
}

func TestScalingConfigCRUD(t *testing.T) {
	ctx := testCtx(t)
	s := newStore(t)
	must[uint64](t, "service")(s.CreateService(ctx, svc("s")))
	must[uint64](t, "function")(s.CreateFunction(ctx, "s", fn("f")))
	const q = fc.LATEST

	none := scalingState{onDemand: "-", provision: "-", inTargets: "-", listedBoth: "false/false"}
	steps := []struct {
		name    string
		do      func() error
		wantErr error   // sentinel, or nil
		code    fc.Code // *fc.Error code, or ""
		want    scalingState
	}{
		{"nothing", func() error { return nil }, nil, "", none},
		{"on-demand on a missing function", func() error {
			return s.PutOnDemandConfig(ctx, "s", q, "nope", &fc.OnDemandConfig{MaximumInstanceCount: 3})
		}, fc.ErrNotFound, "", none},
		{"provision on a missing service", func() error {
			return s.PutProvisionConfig(ctx, "nope", q, "f", &fc.ProvisionConfig{Target: 3})
		}, fc.ErrNotFound, "", none},
		{"dotted qualifier", func() error {
			return s.PutOnDemandConfig(ctx, "s", "a.b", "f", &fc.OnDemandConfig{MaximumInstanceCount: 3})
		}, nil, fc.CodeInvalidArgument, none},
		{"negative max", func() error {
			return s.PutOnDemandConfig(ctx, "s", q, "f", &fc.OnDemandConfig{MaximumInstanceCount: -1})
		}, nil, fc.CodeInvalidArgument, none},
		{"negative target", func() error {
			return s.PutProvisionConfig(ctx, "s", q, "f", &fc.ProvisionConfig{Target: -2})
		}, nil, fc.CodeInvalidArgument, none},
		{"delete absent on-demand", func() error { return s.DeleteOnDemandConfig(ctx, "s", q, "f") }, fc.ErrNotFound, "", none},
		{"delete absent provision", func() error { return s.DeleteProvisionConfig(ctx, "s", q, "f") }, fc.ErrNotFound, "", none},
		{"put on-demand 5", func() error {
			return s.PutOnDemandConfig(ctx, "s", q, "f", &fc.OnDemandConfig{Resource: "r", MaximumInstanceCount: 5})
		}, nil, "", scalingState{onDemand: "5", provision: "-", catMax: 5, catMaxSet: true, inTargets: "-", listedBoth: "true/false"}},
		{"put provision 2 (current is not stored)", func() error {
			return s.PutProvisionConfig(ctx, "s", q, "f", &fc.ProvisionConfig{Resource: "r", Target: 2, Current: 7})
		}, nil, "", scalingState{onDemand: "5", provision: "2", catMax: 5, catTarget: 2, catMaxSet: true, inTargets: "2", listedBoth: "true/true"}},
		{"on-demand 0 is set, not absent", func() error {
			return s.PutOnDemandConfig(ctx, "s", q, "f", &fc.OnDemandConfig{MaximumInstanceCount: 0})
		}, nil, "", scalingState{onDemand: "0", provision: "2", catTarget: 2, catMaxSet: true, inTargets: "2", listedBoth: "true/true"}},
		{"provision 0 is stored but not a target", func() error {
			return s.PutProvisionConfig(ctx, "s", q, "f", &fc.ProvisionConfig{Target: 0})
		}, nil, "", scalingState{onDemand: "0", provision: "0", catMaxSet: true, inTargets: "-", listedBoth: "true/true"}},
		{"replace both", func() error {
			return errors.Join(
				s.PutOnDemandConfig(ctx, "s", q, "f", &fc.OnDemandConfig{MaximumInstanceCount: 9}),
				s.PutProvisionConfig(ctx, "s", q, "f", &fc.ProvisionConfig{Target: 4}))
		}, nil, "", scalingState{onDemand: "9", provision: "4", catMax: 9, catTarget: 4, catMaxSet: true, inTargets: "4", listedBoth: "true/true"}},
		{"delete on-demand", func() error { return s.DeleteOnDemandConfig(ctx, "s", q, "f") },
			nil, "", scalingState{onDemand: "-", provision: "4", catTarget: 4, inTargets: "4", listedBoth: "false/true"}},
		{"delete provision", func() error { return s.DeleteProvisionConfig(ctx, "s", q, "f") }, nil, "", none},
	}
	for _, st := range steps {
		err := st.do()
		switch {
		case st.code != "":
			wantCode(t, st.name, err, st.code)
		default:
			wantErr(t, st.name, err, st.wantErr)
		}
		// No waiting: own writes are in the catalog when they return.
		if got := stateOf(t, s, "s", q, "f"); got != st.want {
			t.Fatalf("after %s: state = %+v, want %+v", st.name, got, st.want)
		}
	}
	if _, err := s.GetOnDemandConfig(ctx, "s", "bad.q", "f"); !errors.Is(err, fc.ErrNotFound) {
		t.Errorf("get with an unstorable qualifier: %v, want not found", err)
	}
}

func TestScalingListsSorted(t *testing.T) {
	ctx := testCtx(t)
	s := newStore(t)
	for _, sv := range []string{"b", "a", "a-b"} {
		must[uint64](t, "service")(s.CreateService(ctx, svc(sv)))
		for _, f := range []string{"z", "f", "f-1"} {
			must[uint64](t, "function")(s.CreateFunction(ctx, sv, fn(f)))
		}
	}
	puts := []ScalingKey{{"b", "LATEST", "f"}, {"a", "prod", "z"}, {"a", "LATEST", "z"}, {"a-b", "LATEST", "f-1"}, {"a", "LATEST", "f"}}
	for i, k := range puts {
		if err := s.PutOnDemandConfig(ctx, k.Service, k.Qualifier, k.Function, &fc.OnDemandConfig{MaximumInstanceCount: i}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutProvisionConfig(ctx, k.Service, k.Qualifier, k.Function, &fc.ProvisionConfig{Target: i}); err != nil {
			t.Fatal(err)
		}
	}
	wantOrder := []string{"a.LATEST/f", "a.LATEST/z", "a.prod/z", "a-b.LATEST/f-1", "b.LATEST/f"}
	wantVal := map[string]int{"b.LATEST/f": 0, "a.prod/z": 1, "a.LATEST/z": 2, "a-b.LATEST/f-1": 3, "a.LATEST/f": 4}

	ods, err := s.ListOnDemandConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ods {
		got = append(got, e.String())
		if e.Config.MaximumInstanceCount != wantVal[e.String()] {
			t.Errorf("%s: max %d, want %d", e, e.Config.MaximumInstanceCount, wantVal[e.String()])
		}
	}
	if !slices.Equal(got, wantOrder) {
		t.Errorf("on-demand list = %v, want %v", got, wantOrder)
	}
	pcs, err := s.ListProvisionConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, e := range pcs {
		got = append(got, e.String())
		if e.Config.Target != wantVal[e.String()] {
			t.Errorf("%s: target %d, want %d", e, e.Config.Target, wantVal[e.String()])
		}
	}
	if !slices.Equal(got, wantOrder) {
		t.Errorf("provision list = %v, want %v", got, wantOrder)
	}
	// Targets leave out b.LATEST/f (target 0) and keep the order.
	var targets []string
	for _, pt := range s.ProvisionTargets() {
		targets = append(targets, fmt.Sprintf("%s.%s/%s=%d", pt.Service, pt.Qualifier, pt.Function, pt.Target))
	}
	wantTargets := []string{"a.LATEST/f=4", "a.LATEST/z=2", "a.prod/z=1", "a-b.LATEST/f-1=3"}
	if !slices.Equal(targets, wantTargets) {
		t.Errorf("ProvisionTargets = %v, want %v", targets, wantTargets)
	}
}

func TestDeleteFunctionDeletesScaling(t *testing.T) {
	ctx := testCtx(t)
	s := newStore(t)
	must[uint64](t, "service")(s.CreateService(ctx, svc("s")))
	for _, f := range []string{"f", "g"} {
		must[uint64](t, "function")(s.CreateFunction(ctx, "s", fn(f)))
		for _, q := range []string{fc.LATEST, "prod"} {
			if err := errors.Join(
				s.PutOnDemandConfig(ctx, "s", q, f, &fc.OnDemandConfig{MaximumInstanceCount: 3}),
				s.PutProvisionConfig(ctx, "s", q, f, &fc.ProvisionConfig{Target: 1})); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A function with triggers is not deleted, nor are its configs.
	must[uint64](t, "trigger")(s.CreateTrigger(ctx, "s", "f", httpTrig("h")))
	wantErr(t, "delete busy function", s.DeleteFunction(ctx, "s", "f", 0), fc.ErrNotEmpty)
	if st := stateOf(t, s, "s", "prod", "f"); st.provision != "1" {
		t.Fatalf("a refused delete removed configs: %+v", st)
	}
	wantErr(t, "delete trigger", s.DeleteTrigger(ctx, "s", "f", "h", 0), nil)
	wantErr(t, "delete function", s.DeleteFunction(ctx, "s", "f", 0), nil)

	none := scalingState{onDemand: "-", provision: "-", inTargets: "-", listedBoth: "false/false"}
	kept := scalingState{onDemand: "3", provision: "1", catMax: 3, catTarget: 1, catMaxSet: true, inTargets: "1", listedBoth: "true/true"}
	for _, tc := range []struct {
		q, f string
		want scalingState
	}{
		{fc.LATEST, "f", none}, {"prod", "f", none}, {fc.LATEST, "g", kept}, {"prod", "g", kept},
	} {
		if got := stateOf(t, s, "s", tc.q, tc.f); got != tc.want {
			t.Errorf("s.%s/%s after deleting f: %+v, want %+v", tc.q, tc.f, got, tc.want)
		}
	}
	// A function recreated under the same name starts without configs.
	must[uint64](t, "recreate")(s.CreateFunction(ctx, "s", fn("f")))
	if got := stateOf(t, s, "s", fc.LATEST, "f"); got != none {
		t.Errorf("recreated function: %+v, want %+v", got, none)
	}
}

func TestScalingSeenByOtherNode(t *testing.T) {
	ctx := testCtx(t)
	srv := startNATS(t, natsx.Options{DataDir: t.TempDir(), Listen: "127.0.0.1:-1"})
	a := openStore(t, srv)
	must[uint64](t, "service")(a.CreateService(ctx, svc("s")))
	must[uint64](t, "function")(a.CreateFunction(ctx, "s", fn("f")))
	if err := a.PutProvisionConfig(ctx, "s", fc.LATEST, "f", &fc.ProvisionConfig{Target: 2}); err != nil {
		t.Fatal(err)
	}
	// b opens after a's first write (loaded from the snapshot), with its
	// own connection as a second openfc process would.
	b := openStore(t, startNATS(t, natsx.Options{URL: srv.ClientURL()}))
	scaling := func(s *JetStream) string {
		m, set := s.OnDemandMax("s", fc.LATEST, "f")
		od, pt := s.Scaling("s", fc.LATEST, "f")
		return fmt.Sprintf("max=%d/%v/%d target=%d targets=%v", m, set, od, pt, s.ProvisionTargets())
	}
	steps := []struct {
		name string
		do   func() error
		on   *JetStream // the node that must see it through its watch
		want string
	}{
		{"snapshot", func() error { return nil }, b, "max=0/false/0 target=2 targets=[{s LATEST f 2}]"},
		{"on-demand on b", func() error {
			return b.PutOnDemandConfig(ctx, "s", fc.LATEST, "f", &fc.OnDemandConfig{MaximumInstanceCount: 7})
		}, a, "max=7/true/7 target=2 targets=[{s LATEST f 2}]"},
		{"provision on a", func() error {
			return a.PutProvisionConfig(ctx, "s", fc.LATEST, "f", &fc.ProvisionConfig{Target: 5})
		}, b, "max=7/true/7 target=5 targets=[{s LATEST f 5}]"},
		{"delete on-demand on a", func() error { return a.DeleteOnDemandConfig(ctx, "s", fc.LATEST, "f") },
			b, "max=0/false/0 target=5 targets=[{s LATEST f 5}]"},
		{"delete function on b", func() error { return b.DeleteFunction(ctx, "s", "f", 0) },
			a, "max=0/false/0 target=0 targets=[]"},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		var got string
		waitFor(t, st.name+" to be watched", func() bool { got = scaling(st.on); return got == st.want })
		if got := scaling(a); got != st.want {
			t.Errorf("after %s: a = %s, want %s", st.name, got, st.want)
		}
		if got := scaling(b); got != st.want {
			t.Errorf("after %s: b = %s, want %s", st.name, got, st.want)
		}
	}
	// No tombstone is left behind.
	for name, st := range map[string]*JetStream{"a": a, "b": b} {
		waitFor(t, name+"'s scaling catalog to be empty", func() bool {
			st.cat.mu.RLock()
			defer st.cat.mu.RUnlock()
			return len(st.cat.tab[bScaling]) == 0
		})
	}
}

func TestCatalogScalingTombstone(t *testing.T) {
	c := newCatalog()
	s := &JetStream{cat: c}
	key := scalingKey("s", fc.LATEST, "f", kindProvision)
	c.watched(bScaling, key, 4, &fc.ProvisionConfig{Target: 3})
	if _, pt := s.Scaling("s", fc.LATEST, "f"); pt != 3 {
		t.Fatalf("target = %d, want 3", pt)
	}
	c.localDelete(bScaling, key, 4) // a tombstone until the watcher catches up
	if _, pt := s.Scaling("s", fc.LATEST, "f"); pt != 0 {
		t.Errorf("target behind a tombstone = %d, want 0", pt)
	}
	if got := s.ProvisionTargets(); len(got) != 0 {
		t.Errorf("ProvisionTargets with a tombstone = %v", got)
	}
	c.watched(bScaling, key, 3, &fc.ProvisionConfig{Target: 1}) // a stale put is ignored
	if _, pt := s.Scaling("s", fc.LATEST, "f"); pt != 0 {
		t.Errorf("target after a stale event = %d, want 0", pt)
	}
	c.watched(bScaling, key, 5, nil) // the delete event clears the tombstone
	if len(c.tab[bScaling]) != 0 {
		t.Errorf("tombstone left behind: %v", c.tab[bScaling])
	}
	c.watched(bScaling, scalingKey("s", fc.LATEST, "f", "bogus"), 6, &fc.ProvisionConfig{Target: 1})
	if got := s.ProvisionTargets(); len(got) != 0 {
		t.Errorf("an unknown kind became a target: %v", got)
	}
}
