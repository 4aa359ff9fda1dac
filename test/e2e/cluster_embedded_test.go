package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Three nodes whose embedded NATS servers form one cluster: a function
// deployed through one node is served through every node within a
// second, each by an instance of its own.
func TestEmbeddedClusterDeployCallAll(t *testing.T) {
	nodes := startCluster(t, 3, "--admin-listen", "127.0.0.1:0")
	for i, n := range nodes {
		if !strings.Contains(n.log.String(), fmt.Sprintf("node=n%d replicas=3", i+1)) {
			t.Fatalf("node %d's start line does not name it with 3 replicas:\n%s", i+1, n.log.String())
		}
		// Every metric carries the node's name.
		resp, err := http.Get("http://" + n.AdminAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf(`go_goroutines{node="n%d"}`, i+1); !strings.Contains(string(body), want) {
			t.Errorf("node %d's /metrics has no %s", i+1, want)
		}
	}
	nodes[0].deployEcho(echoOpts{service: "shared", name: "echo"})
	deployed := time.Now()
	for i, n := range nodes {
		waitFor(t, time.Second, func() error {
			resp, body := n.do("GET", "/2016-08-15/proxy/shared/echo/on", nil, nil)
			if resp.StatusCode != 200 {
				return fmt.Errorf("node %d: %d %s", i+1, resp.StatusCode, body)
			}
			return nil
		})
		r := n.getEcho("/2016-08-15/proxy/shared/echo/on", nil)
		if !strings.HasPrefix(r.CWD, n.dataDir) {
			t.Errorf("node %d's request ran in %s, not under its own data dir %s", i+1, r.CWD, n.dataDir)
		}
	}
	t.Logf("served through all three nodes %v after the deploy returned", time.Since(deployed).Round(time.Millisecond))
}
