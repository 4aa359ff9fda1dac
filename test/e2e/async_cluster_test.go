package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAsyncNodeDies: two nodes share one NATS JetStream; async requests
// whose runs take 10 s are taken by both nodes' workers. The node running
// the most of them is killed with SIGKILL: the survivor runs each of them
// again within seconds (the queue's short ack wait, not the function's
// 60 s timeout), and every request runs to its end. The killed node then
// comes back on its data dir.
func TestAsyncNodeDies(t *testing.T) {
	url := startNATS(t)
	a := startServer(t, "", "--nats", url)
	b := startServer(t, "", "--nats", url)
	f := a.deployRec(recOpts{service: "nd", name: "rec", concurrency: 20})
	t.Cleanup(func() {
		for _, pid := range processesWithEnv("ASYNC_LOG=" + f.log) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	const n = 8
	var ids []string
	for i := 0; i < n; i++ {
		resp, body := a.do("POST", f.proxy(fmt.Sprintf("long?sleep=10000&i=%d", i)), strings.NewReader("x"), asyncHeader())
		ids = append(ids, wantAccepted(t, "long request", resp, body))
	}
	on := map[string]*server{}
	waitFor(t, 30*time.Second, func() error {
		for _, id := range ids {
			runs := f.runs(id, "start")
			if len(runs) == 0 {
				return fmt.Errorf("request %s has not started", id)
			}
			for _, srv := range []*server{a, b} {
				if strings.HasPrefix(runs[0].CWD, srv.dataDir) {
					on[id] = srv
				}
			}
			if on[id] == nil {
				return fmt.Errorf("request %s ran in %s, under neither node's data dir", id, runs[0].CWD)
			}
		}
		return nil
	})
	victim, survivor := a, b
	if count(on, b) > count(on, a) {
		victim, survivor = b, a
	}
	t.Logf("node a runs %d, node b %d; killing node %s", count(on, a), count(on, b), map[*server]string{a: "a", b: "b"}[victim])
	killed := time.Now()
	victim.kill9()

	for _, id := range ids {
		if on[id] != victim {
			continue
		}
		var again recEntry
		waitFor(t, 45*time.Second, func() error {
			for _, r := range f.runs(id, "start") {
				if strings.HasPrefix(r.CWD, survivor.dataDir) {
					again = r
					return nil
				}
			}
			return fmt.Errorf("request %s of the killed node has not run again on the other", id)
		})
		if d := again.at().Sub(killed); d > 30*time.Second {
			t.Errorf("request %s ran again %v after the kill; want within 30 s", id, d)
		} else {
			t.Logf("request %s ran again on the survivor %v after the kill", id, d.Round(time.Millisecond))
		}
	}
	for _, id := range ids {
		waitFor(t, 45*time.Second, func() error {
			if len(f.runs(id, "end")) == 0 {
				return fmt.Errorf("request %s has not run to its end", id)
			}
			return nil
		})
	}
	// The killed node comes back on its data dir (which clears what the
	// kill left there, its mounts included) and serves again.
	back := startServer(t, victim.dataDir, "--nats", url)
	if resp, body := back.do("GET", f.proxy("back"), nil, nil); resp.StatusCode != 200 {
		t.Errorf("the restarted node: %d %s", resp.StatusCode, body)
	}
}

// count is how many requests on maps to srv.
func count(on map[string]*server, srv *server) int {
	k := 0
	for _, s := range on {
		if s == srv {
			k++
		}
	}
	return k
}
