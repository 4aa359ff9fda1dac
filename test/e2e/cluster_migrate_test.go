package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A node that ran alone joins a new cluster with two fresh nodes: the
// function deployed on it before is listed and served through all three,
// its single-node store is kept aside, and the data dir, now a cluster
// node's, refuses to start alone.
func TestClusterKeepsSingleNodeData(t *testing.T) {
	dir := t.TempDir()
	single := startServer(t, dir)
	single.deployEcho(echoOpts{service: "old", name: "echo"})
	if r := single.getEcho("/2016-08-15/proxy/old/echo/alone", nil); r.Path != "/alone" {
		t.Fatalf("the single node answered %+v", r)
	}
	single.stop()

	nodes := startClusterOn(t, []string{dir, "", ""})
	if !strings.Contains(nodes[0].log.String(), "migrated the single-node store into the cluster") {
		t.Fatalf("node 1 did not log its migration:\n%s", nodes[0].log.String())
	}
	kept, err := filepath.Glob(filepath.Join(dir, "jetstream.single-node-*"))
	if err != nil || len(kept) != 1 {
		t.Fatalf("kept stores %v, %v; want one", kept, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "jetstream")); !os.IsNotExist(err) {
		t.Errorf("the single-node store is still in place: %v", err)
	}
	for i, n := range nodes {
		// A read may be answered by a replica still catching up.
		waitFor(t, 10*time.Second, func() error {
			if out, err := n.tryCLI("functions", "list", "old"); err != nil || !strings.Contains(out, "echo") {
				return fmt.Errorf("node %d lists: %v\n%s", i+1, err, out)
			}
			return nil
		})
		path := fmt.Sprintf("/2016-08-15/proxy/old/echo/via-n%d", i+1)
		waitFor(t, 10*time.Second, func() error {
			if resp, body := n.do("GET", path, nil, nil); resp.StatusCode != 200 {
				return fmt.Errorf("node %d: %d %s", i+1, resp.StatusCode, body)
			}
			return nil
		})
		if r := n.getEcho(path, nil); r.Name != "echo" || !strings.HasPrefix(r.CWD, n.dataDir) {
			t.Errorf("node %d answered %+v", i+1, r)
		}
	}

	// Started again (all three), nothing is migrated a second time.
	for _, n := range nodes {
		n.stop()
	}
	again := make([]*server, len(nodes))
	for i, n := range nodes {
		again[i] = n.restart()
	}
	waitAllServing(t, again...)
	if strings.Contains(again[0].log.String(), "migrated") {
		t.Errorf("node 1 migrated again on its second start:\n%s", again[0].log.String())
	}
	if out := again[2].cli("functions", "list", "old"); !strings.Contains(out, "echo") {
		t.Errorf("after a restart node 3 lists:\n%s", out)
	}
	for _, n := range again {
		n.stop()
	}

	// Alone again, the data dir (now a cluster node's) is refused.
	alone := launchServer(t, dir, nil)
	if err := alone.waitServing(60 * time.Second); err == nil || !strings.Contains(err.Error(), "belongs to a node of a cluster") {
		t.Errorf("starting node 1 without cluster flags: %v", err)
	}
}

// A node whose single-node data was made under another admin key than
// the cluster's refuses to join before copying anything: its stored
// access keys are sealed under its own key, which no node of the
// cluster could open.
func TestClusterJoinWithOtherAdminKeyKeepsData(t *testing.T) {
	otherKey := []string{"OPENFC_ACCESS_KEY_ID=LTAIe2eotherkey00001", "OPENFC_ACCESS_KEY_SECRET=e2e-other-secret-0123456789abcd"}
	dir := t.TempDir()
	single := startServerEnv(t, dir, otherKey)
	single.stop()

	nodes := startCluster(t, 3)
	var routes []string
	for _, n := range nodes {
		routes = append(routes, flagValue(t, n.extra, "--cluster-listen"))
	}
	joining := launchServer(t, dir, otherKey, "--node-name", "n4",
		"--cluster-listen", fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1)[0]), "--peers", strings.Join(routes, ","))
	err := joining.waitServing(90 * time.Second)
	if err == nil {
		t.Fatal("a node with another admin key joined the cluster")
	}
	for _, want := range []string{"LTAIe2eotherkey00001", accessKeyID, "single-node data (left as it is)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal does not say %q:\n%v", want, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "jetstream")); err != nil {
		t.Errorf("the single-node store moved: %v", err)
	}
	if kept, _ := filepath.Glob(filepath.Join(dir, "jetstream.single-node-*")); len(kept) != 0 {
		t.Errorf("renamed: %v", kept)
	}
}

// flagValue is the value after name in args.
func flagValue(t *testing.T, args []string, name string) string {
	t.Helper()
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	t.Fatalf("no %s in %v", name, args)
	return ""
}
