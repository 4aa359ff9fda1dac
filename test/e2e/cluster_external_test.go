package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// externalLossRestored bounds how long after one of three nats-server
// processes dies the openfc nodes' calls and management API may fail
// (measured on a loaded 2-core machine: see the test's log).
const externalLossRestored = 15 * time.Second

// TestClusterExternalNATS: two openfc nodes on an external JetStream
// cluster of three nats-server processes (--nats url1,url2,url3) keep
// three replicas; a function deployed through one is called through
// both; `cluster status` tells the external cluster. The nats-server
// leading most of openfc's streams is killed: both nodes keep serving
// calls and the management API.
func TestClusterExternalNATS(t *testing.T) {
	urls, procs := startNATSCluster(t, 3)
	natsURL := strings.Join(urls, ",")
	a := launchServer(t, "", nil, "--nats", natsURL)
	b := launchServer(t, "", nil, "--nats", natsURL)
	waitAllServing(t, a, b)
	for name, s := range map[string]*server{"a": a, "b": b} {
		if !strings.Contains(s.log.String(), "replicas=3") {
			t.Errorf("node %s's start line does not say replicas=3:\n%s", name, s.log.String())
		}
	}
	f := a.deployRec(recOpts{service: "ext", name: "rec", concurrency: 10})
	t.Cleanup(func() {
		for _, pid := range processesWithEnv("ASYNC_LOG=" + f.log) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	callBoth := func(what string, within time.Duration) {
		t.Helper()
		for name, s := range map[string]*server{"a": a, "b": b} {
			start := time.Now()
			waitFor(t, within, func() error {
				if sh := fire(0, s.URL, f.proxy(what), false); sh.failed() {
					return fmt.Errorf("%s through node %s: %d %v", what, name, sh.status, sh.err)
				}
				return nil
			})
			t.Logf("%s through node %s answered after %v", what, name, time.Since(start).Round(time.Millisecond))
		}
	}
	callBoth("before", 30*time.Second)

	st := clusterStatus(t, b)
	js := st.JetStream
	if js.Mode != "external" || js.ClusterSize != 3 || js.Replicas != 3 || len(js.Streams) == 0 || js.Error != "" {
		t.Fatalf("cluster status through b: %+v", js)
	}
	leads := map[string]int{}
	for _, s := range js.Streams {
		if s.Replicas != 3 || s.Current != 3 {
			t.Errorf("stream %s: %d replicas, %d current; want 3 and 3", s.Name, s.Replicas, s.Current)
		}
		leads[s.Leader]++
	}
	if len(js.Peers) != 3 {
		t.Errorf("peers %+v; want the three nats-servers", js.Peers)
	}
	victim, most := 0, -1
	for i := range procs {
		if n := leads[fmt.Sprintf("nats%d", i+1)]; n > most {
			victim, most = i, n
		}
	}

	killed := time.Now()
	procs[victim].Process.Kill()
	t.Logf("killed nats%d, leader of %d of %d openfc streams", victim+1, most, len(js.Streams))
	callBoth("after", externalLossRestored)
	for i, s := range []*server{a, b} {
		other := []*server{b, a}[i]
		svc := fmt.Sprintf("after%d", i)
		var resp *http.Response
		var body []byte
		waitFor(t, externalLossRestored, func() error {
			if resp, body = s.signedDo("POST", "/2016-08-15/services", fmt.Sprintf(`{"serviceName":%q}`, svc)); resp.StatusCode != 200 {
				return fmt.Errorf("create service %s: %d %s", svc, resp.StatusCode, body)
			}
			return nil
		})
		// The other node's read may wait out the same bound as the write
		// (its client can be the one reconnecting); the check below still
		// holds the whole restoration to externalLossRestored.
		waitFor(t, max(5*time.Second, time.Until(killed.Add(externalLossRestored))), func() error {
			if resp, body = other.signedDo("GET", "/2016-08-15/services/"+svc, ""); resp.StatusCode != 200 {
				return fmt.Errorf("get service %s through the other node: %d %s", svc, resp.StatusCode, body)
			}
			return nil
		})
	}
	t.Logf("management API through both nodes works %v after the kill", time.Since(killed).Round(time.Millisecond))
	if d := time.Since(killed); d > externalLossRestored {
		t.Errorf("service restored %v after the kill; want within %v", d, externalLossRestored)
	}
	// The status tells the lost server once the streams' leaders notice.
	gone := fmt.Sprintf("nats%d", victim+1)
	waitFor(t, 30*time.Second, func() error {
		st = clusterStatus(t, a)
		if st.JetStream.Error != "" {
			return fmt.Errorf("cluster status after the kill: %s", st.JetStream.Error)
		}
		for _, p := range st.JetStream.Peers {
			if p.Name == gone && p.Current && !p.Offline {
				return fmt.Errorf("the status has the killed %s current: %+v", gone, st.JetStream.Peers)
			}
		}
		for _, s := range st.JetStream.Streams {
			if s.Leader == gone || s.Current != 2 {
				return fmt.Errorf("stream %s: leader %s, %d current", s.Name, s.Leader, s.Current)
			}
		}
		return nil
	})
	t.Logf("status %v after the kill: peers %+v", time.Since(killed).Round(time.Millisecond), st.JetStream.Peers)
}
