//go:build linux

package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHelperContainer is not a test: TestContainerServerKilled runs the
// test binary with OPENFC_CT_HELPER=1 to be a server that starts a
// container and is then killed.
func TestHelperContainer(t *testing.T) {
	if os.Getenv("OPENFC_CT_HELPER") != "1" {
		t.Skip("helper process for TestContainerServerKilled")
	}
	c, err := NewContainer(ContainerOptions{StateDir: os.Getenv("OPENFC_CT_STATE"), Owner: os.Getenv("OPENFC_CT_OWNER")})
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(os.Getenv("OPENFC_CT_PORT"))
	spec, _ := serverSpec("ct-orphan", filepath.SplitList(os.Getenv("OPENFC_CT_LAYERS")), "orphan")
	spec.Port, spec.Output = port, os.Stderr
	in, err := c.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	for in.Ready(context.Background()) != nil {
		time.Sleep(10 * time.Millisecond)
	}
	os.Stdout.WriteString("ready\n")
	select {}
}

// A container outlives an openfc killed with SIGKILL; the next
// NewContainer of the same owner removes it, its mounts, cgroups and
// state.
func TestContainerServerKilled(t *testing.T) {
	requireRunc(t)
	owner := netOptions(t).Owner
	state := filepath.Join(t.TempDir(), "containers")
	layers := imageLayers(t)
	port := freePort(t)
	line, kill := startHelper(t, "TestHelperContainer", []string{"OPENFC_CT_HELPER=1", "OPENFC_CT_OWNER=" + owner, "OPENFC_CT_STATE=" + state,
		"OPENFC_CT_LAYERS=" + strings.Join(layers, string(filepath.ListSeparator)), "OPENFC_CT_PORT=" + strconv.Itoa(port)}, 30*time.Second)
	kill()
	if line != "ready" {
		t.Fatalf("the helper's container never became ready (it printed %q)", line)
	}

	cg, err := findCgroups()
	if err != nil {
		t.Fatal(err)
	}
	procs := filepath.Join(cg.memory, "openfc_"+owner, "ct-orphan", "cgroup.procs")
	b, err := os.ReadFile(procs)
	if err != nil || len(strings.Fields(string(b))) == 0 {
		t.Fatalf("the container did not outlive its server (%s: %q, %v)", procs, b, err)
	}
	pid := atoi(t, strings.Fields(string(b))[0])
	if m, _ := mountsUnder(state); len(m) == 0 {
		t.Fatal("no mounts left under the state directory before the restart")
	}

	c, err := NewContainer(ContainerOptions{StateDir: state, Owner: owner, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	assertNoLeftovers(t, c, "ct-orphan")
	if ents, _ := os.ReadDir(c.runcRoot()); len(ents) > 0 {
		t.Errorf("runc state left: %d containers", len(ents))
	}
	if err := c.Close(context.Background()); err != nil {
		t.Error(err)
	}
	assertNoLeftovers(t, c, "")
}
