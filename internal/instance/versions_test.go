package instance

import (
	"testing"
)

// A version's instances serve that version only, and updating the
// function (Forget) retires LATEST's instances, not a version's.
func TestPoolPerVersion(t *testing.T) {
	m, sb := newMgr(t, Options{})
	latest := fnNamed("ver", 1)
	v1 := *latest
	v1.VersionID = "1"
	la := mustAcquire(t, m, latest, "r1")
	lv := mustAcquire(t, m, &v1, "r2")
	if la.InstanceID() == lv.InstanceID() {
		t.Fatalf("LATEST and version 1 share instance %s", la.InstanceID())
	}
	if sb.byID(lv.InstanceID()) == nil || len(sb.all()) != 2 {
		t.Fatalf("want two instances, got %d", len(sb.all()))
	}
	la.Release()
	lv.Release()
	m.Forget(latest.ServiceName, latest.FunctionName)
	if poolOf(m, &v1) == nil {
		t.Fatal("updating the function retired version 1's pool")
	}
	if poolOf(m, latest) != nil {
		t.Fatal("LATEST's pool survived Forget")
	}
	again := mustAcquire(t, m, &v1, "r3")
	if again.InstanceID() != lv.InstanceID() {
		t.Errorf("version 1 got instance %s, want its warm %s", again.InstanceID(), lv.InstanceID())
	}
	again.Release()
}
