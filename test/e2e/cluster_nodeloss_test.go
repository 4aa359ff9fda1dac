package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bounds of TestClusterNodeLoss, measured on a loaded 2-core machine
// (see the test's log): how long after the kill the survivors' service
// may be disturbed (a failed or slow request: 0 s, or an async accept
// waiting out the election of the queue's leader, 5 to 6.8 s measured)
// and their management API fail (0.03 to 6.4 s measured: the election of
// a bucket's new leader), and what counts as slow.
const (
	nodeLossRestored = 10 * time.Second
	nodeLossSlow     = 2 * time.Second
	// nodeLossRerun bounds when a request running on the dead node runs
	// again elsewhere: the queue's ack wait (15 s) and some slack.
	nodeLossRerun = 25 * time.Second
)

// shot is one request of the load: through which node, when, and how it
// went.
type shot struct {
	node       int
	async      bool
	start, end time.Time
	status     int
	requestID  string
	err        error
}

func (s shot) failed() bool {
	want := http.StatusOK
	if s.async {
		want = http.StatusAccepted
	}
	return s.err != nil || s.status != want
}

// loadClient has short timeouts so that a request to a dead node fails
// fast rather than hang the load.
var loadClient = &http.Client{Timeout: 15 * time.Second}

// fire sends one request of the load to base.
func fire(node int, base, path string, async bool) shot {
	sh := shot{node: node, async: async, start: time.Now()}
	method, body := http.MethodGet, io.Reader(nil)
	if async {
		method, body = http.MethodPost, strings.NewReader("x")
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		sh.err = err
		return sh
	}
	if async {
		req.Header.Set("X-Fc-Invocation-Type", "Async")
	}
	resp, err := loadClient.Do(req)
	sh.end = time.Now()
	if err != nil {
		sh.err = err
		return sh
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	sh.status, sh.requestID = resp.StatusCode, resp.Header.Get("X-Fc-Request-Id")
	return sh
}

// load sends sync and async requests through every node until ctx ends,
// one of each kind every period per node; a node whose requests fail
// for 3 s (killed) is left alone.
func load(ctx context.Context, f *recFn, nodes []*server, period time.Duration) []shot {
	var mu sync.Mutex
	var shots []shot
	var wg sync.WaitGroup
	for i, n := range nodes {
		for _, async := range []bool{false, true} {
			wg.Go(func() {
				t := time.NewTicker(period)
				defer t.Stop()
				var failingSince time.Time
				for k := 0; ; k++ {
					select {
					case <-ctx.Done():
						return
					case <-t.C:
					}
					sh := fire(i, n.URL, f.proxy(fmt.Sprintf("load?node=%d&async=%v&k=%d", i+1, async, k)), async)
					mu.Lock()
					shots = append(shots, sh)
					mu.Unlock()
					switch {
					case !sh.failed():
						failingSince = time.Time{}
					case failingSince.IsZero():
						failingSince = sh.start
					case time.Since(failingSince) > 3*time.Second:
						return
					}
				}
			})
		}
	}
	wg.Wait()
	return shots
}

// clusterStatus reads `openfc cluster status --json` through s.
func clusterStatus(t *testing.T, s *server) clusterStatusJSON {
	t.Helper()
	out := s.cli("cluster", "status", "--json")
	var st clusterStatusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("cluster status --json: %v:\n%s", err, out)
	}
	return st
}

// clusterStatusJSON is the part of the cluster status the tests read.
type clusterStatusJSON struct {
	Node  string `json:"node"`
	Nodes []struct {
		Name string `json:"name"`
		URL  string `json:"url"`
		Live bool   `json:"live"`
	} `json:"nodes"`
	JetStream struct {
		Mode        string `json:"mode"`
		ClusterSize int    `json:"clusterSize"`
		Replicas    int    `json:"replicas"`
		MetaLeader  string `json:"metaLeader"`
		Peers       []struct {
			Name    string `json:"name"`
			Current bool   `json:"current"`
			Offline bool   `json:"offline"`
		} `json:"peers"`
		Streams []struct {
			Name     string `json:"name"`
			Replicas int    `json:"replicas"`
			Leader   string `json:"leader"`
			Current  int    `json:"current"`
			Lagging  int    `json:"lagging"`
			Offline  int    `json:"offline"`
		} `json:"streams"`
		Error string `json:"error"`
	} `json:"jetstream"`
}

// live is the names of the live nodes.
func (st clusterStatusJSON) live() []string {
	var out []string
	for _, n := range st.Nodes {
		if n.Live {
			out = append(out, n.Name)
		}
	}
	return out
}

// on names the node (n1…) whose data dir holds dir, "" if none.
func on(nodes []*server, dir string) string {
	for i, n := range nodes {
		if strings.HasPrefix(dir, n.dataDir) {
			return fmt.Sprintf("n%d", i+1)
		}
	}
	return ""
}

// startTask starts a long task (sleep ms) through s and returns its id,
// its request id and the index of the node it runs on.
func startTask(t *testing.T, f *recFn, nodes []*server, s *server, id string, sleep int) (reqID string, runsOn int) {
	t.Helper()
	g := *f
	g.s = s
	reqID = g.acceptTask(t, fmt.Sprintf("task?sleep=%d", sleep), id)
	where := on(nodes, f.waitRuns(t, reqID, 1, 30*time.Second)[0].CWD)
	for i := range nodes {
		if where == fmt.Sprintf("n%d", i+1) {
			return reqID, i
		}
	}
	t.Fatalf("task %s runs on none of the nodes", id)
	return "", 0
}

// TestClusterNodeLoss: three embedded nodes serve one function, sync and
// async, under a steady load through all three front doors; the node
// running a long task is killed with SIGKILL mid-load (the victim; which
// node the queue hands a task to is the queue's choice). The survivors
// keep serving (within nodeLossRestored of the kill), their management
// API works (quorum 2 of 3), every accepted async request runs, the task
// runs again on a survivor and succeeds; a task running on one node is
// stopped through another. The victim then restarts on its data dir,
// rejoins and serves, and `openfc cluster status` lists three live
// nodes.
func TestClusterNodeLoss(t *testing.T) {
	nodes := startCluster(t, 3, "--admin-listen", "127.0.0.1:0")
	f := nodes[0].deployRec(recOpts{service: "nl", name: "rec", concurrency: 50})
	t.Cleanup(func() {
		for _, pid := range processesWithEnv("ASYNC_LOG=" + f.log) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	for i, n := range nodes {
		waitFor(t, 30*time.Second, func() error {
			if sh := fire(i, n.URL, f.proxy("warm"), false); sh.failed() {
				return fmt.Errorf("n%d: %d %v", i+1, sh.status, sh.err)
			}
			return nil
		})
	}
	st := clusterStatus(t, nodes[0])
	if got := st.live(); len(got) != 3 || st.JetStream.Mode != "embedded" || st.JetStream.ClusterSize != 3 || st.JetStream.Replicas != 3 || st.JetStream.MetaLeader == "" {
		t.Fatalf("cluster status before the kill: live %v, %+v", got, st.JetStream)
	}

	checkStopAcrossNodes(t, f, nodes)

	// The victim: the node running this task when it dies.
	taskReq, v := startTask(t, f, nodes, nodes[1], "victim", 8000)
	victim := nodes[v]
	var survivors []*server
	for i, n := range nodes {
		if i != v {
			survivors = append(survivors, n)
		}
	}
	survF := *f
	survF.s = survivors[0]

	ctx, stopLoad := context.WithCancel(context.Background())
	var shots []shot
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		shots = load(ctx, f, nodes, 100*time.Millisecond)
	}()
	time.Sleep(3 * time.Second)
	killed := time.Now()
	victim.kill9()
	t.Logf("killed n%d under load", v+1)

	checkAPIThroughSurvivors(t, survivors, killed)

	checkTaskRanAgain(t, f, &survF, nodes, taskReq, v, killed)

	// The status through a survivor: the victim is no longer live.
	var want []string
	for i := range nodes {
		if i != v {
			want = append(want, fmt.Sprintf("n%d", i+1))
		}
	}
	waitFor(t, 15*time.Second, func() error {
		if got := clusterStatus(t, survivors[0]).live(); strings.Join(got, ",") != strings.Join(want, ",") {
			return fmt.Errorf("live nodes %v; want %v", got, want)
		}
		return nil
	})
	st = clusterStatus(t, survivors[1])
	t.Logf("status during the outage: meta leader %s, peers %+v", st.JetStream.MetaLeader, st.JetStream.Peers)

	for time.Since(killed) < 12*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	stopLoad()
	<-loaded
	checkLoad(t, f, shots, v, killed)

	checkRejoins(t, f, victim, v)
	checkAdminStatus(t, survivors[0], 3)
}

// A task running on one node, stopped through another: the stop
// reaches the node that runs it.
func checkStopAcrossNodes(t *testing.T, f *recFn, nodes []*server) {
	stopReq, runsOn := startTask(t, f, nodes, nodes[0], "stop-me", 60000)
	via := nodes[(runsOn+1)%3]
	viaF := *f
	viaF.s = via
	if out := via.cli("tasks", "stop", f.ref(), "stop-me"); !strings.Contains(out, "stop-me") {
		t.Errorf("tasks stop through n%d printed %q", (runsOn+1)%3+1, out)
	}
	viaF.waitTask(t, "stop-me", "Stopped", 15*time.Second)
	waitFor(t, 10*time.Second, func() error {
		if len(f.runs(stopReq, "cut")) > 0 {
			return nil
		}
		return fmt.Errorf("the call of task stop-me on n%d was not cut", runsOn+1)
	})
	t.Logf("task stop-me ran on n%d, stopped through n%d", runsOn+1, (runsOn+1)%3+1)
}

// The management API through each survivor during the outage: a
// write through one, read back through the other.
func checkAPIThroughSurvivors(t *testing.T, survivors []*server, killed time.Time) {
	for i, n := range survivors {
		other := survivors[1-i]
		svc := fmt.Sprintf("outage%d", i+1)
		var resp *http.Response
		var body []byte
		waitFor(t, nodeLossRestored, func() error {
			resp, body = n.signedDo("POST", "/2016-08-15/services", fmt.Sprintf(`{"serviceName":%q}`, svc))
			if resp.StatusCode != 200 {
				return fmt.Errorf("create service through a survivor: %d %s", resp.StatusCode, body)
			}
			return nil
		})
		t.Logf("created service %s through a survivor %v after the kill", svc, time.Since(killed).Round(time.Millisecond))
		waitFor(t, 5*time.Second, func() error {
			if resp, body = other.signedDo("GET", "/2016-08-15/services/"+svc, ""); resp.StatusCode != 200 {
				return fmt.Errorf("get service %s through the other survivor: %d %s", svc, resp.StatusCode, body)
			}
			return nil
		})
	}
}

// The task that ran on the victim runs again on a survivor and
// succeeds.
func checkTaskRanAgain(t *testing.T, f, survF *recFn, nodes []*server, taskReq string, v int, killed time.Time) {
	var statuses []string
	waitFor(t, 60*time.Second, func() error {
		task := survF.getTask(t, "victim")
		if len(statuses) == 0 || statuses[len(statuses)-1] != task.Status {
			statuses = append(statuses, task.Status)
		}
		if task.Status != "Succeeded" {
			return fmt.Errorf("task victim is %s", task.Status)
		}
		return nil
	})
	var again []string
	var rerun time.Duration
	for _, e := range f.runs(taskReq, "start") {
		again = append(again, on(nodes, e.CWD))
		rerun = e.at().Sub(killed)
	}
	t.Logf("task victim: statuses seen after the kill %v; ran on %v, again %v after the kill", statuses, again, rerun.Round(time.Millisecond))
	if rerun > nodeLossRerun {
		t.Errorf("task victim ran again %v after the kill; want within %v", rerun, nodeLossRerun)
	}
	vName := fmt.Sprintf("n%d", v+1)
	if len(again) < 2 || again[0] != vName || again[len(again)-1] == vName {
		t.Errorf("task victim ran on %v; want %s, then a survivor", again, vName)
	}
	for _, s := range statuses {
		if s != "Running" && s != "Retrying" && s != "Succeeded" {
			t.Errorf("task victim went through %s (%v)", s, statuses)
		}
	}
}

// The victim comes back on its data dir, rejoins and serves.
func checkRejoins(t *testing.T, f *recFn, victim *server, v int) {
	restarted := time.Now()
	back := victim.restart()
	if err := back.waitServing(90 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("n%d serves again %v after its restart", v+1, time.Since(restarted).Round(time.Millisecond))
	if sh := fire(v, back.URL, f.proxy("back"), false); sh.failed() {
		t.Errorf("a call through the restarted n%d: %d %v", v+1, sh.status, sh.err)
	}
	waitFor(t, 15*time.Second, func() error {
		if got := clusterStatus(t, back).live(); strings.Join(got, ",") != "n1,n2,n3" {
			return fmt.Errorf("live nodes %v through the restarted node; want n1,n2,n3", got)
		}
		return nil
	})
}

// checkLoad checks what the load saw around the kill of node v at
// killed: the requests through v failed only from the kill on (counted,
// logged); through the survivors none failed or was slow later than
// nodeLossRestored after the kill; every accepted async request ran.
func checkLoad(t *testing.T, f *recFn, shots []shot, v int, killed time.Time) {
	t.Helper()
	var lastBad time.Time
	counts := map[string]int{}
	var accepted []string
	for _, sh := range shots {
		kind := map[bool]string{false: "sync", true: "async"}[sh.async]
		key := fmt.Sprintf("n%d %s", sh.node+1, kind)
		counts[key+" sent"]++
		if !sh.failed() && sh.async {
			accepted = append(accepted, sh.requestID)
		}
		if sh.node == v {
			if sh.failed() {
				counts[key+" failed"]++
				if sh.end.Before(killed) && !sh.end.IsZero() {
					t.Errorf("%s request failed before the kill: %d %v", key, sh.status, sh.err)
				}
			}
			continue
		}
		bad := sh.failed() || (sh.end.Sub(sh.start) > nodeLossSlow)
		if !bad {
			continue
		}
		counts[key+" failed or slow"]++
		t.Logf("%s: %d %v after %v, sent %v after the kill", key, sh.status, sh.err, sh.end.Sub(sh.start).Round(time.Millisecond),
			sh.start.Sub(killed).Round(time.Millisecond))
		if sh.start.Before(killed) && sh.end.Before(killed) {
			t.Errorf("%s request failed before the kill: %d %v", key, sh.status, sh.err)
		}
		end := sh.end
		if end.IsZero() {
			end = sh.start
		}
		if end.After(lastBad) {
			lastBad = end
		}
	}
	t.Logf("load: %v", counts)
	restored := time.Duration(0)
	if !lastBad.IsZero() {
		restored = lastBad.Sub(killed)
	}
	t.Logf("service through the survivors restored %v after the kill (bound %v)", restored.Round(time.Millisecond), nodeLossRestored)
	if restored > nodeLossRestored {
		t.Errorf("service through the survivors was disturbed until %v after the kill; want within %v", restored, nodeLossRestored)
	}
	if len(accepted) == 0 || len(counts) < 6 {
		t.Fatalf("the load sent too little: %v", counts)
	}
	// Every accepted async request runs, none lost.
	waitFor(t, 60*time.Second, func() error {
		ran := map[string]bool{}
		for _, e := range f.entries() {
			if e.Phase == "start" {
				ran[e.RequestID] = true
			}
		}
		missing := 0
		for _, id := range accepted {
			if !ran[id] {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d accepted async requests have not run", missing, len(accepted))
		}
		return nil
	})
	t.Logf("all %d accepted async requests ran", len(accepted))
}

// checkAdminStatus reads the admin listener's GET /cluster of s and
// checks it lists live nodes.
func checkAdminStatus(t *testing.T, s *server, live int) {
	t.Helper()
	waitFor(t, 15*time.Second, func() error {
		resp, err := http.Get("http://" + s.AdminAddr + "/cluster")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var st clusterStatusJSON
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			return fmt.Errorf("admin /cluster: %d: %v", resp.StatusCode, err)
		}
		if got := st.live(); len(got) != live || len(st.JetStream.Streams) == 0 || st.JetStream.Error != "" {
			return fmt.Errorf("admin /cluster: live %v, %d streams, error %q", got, len(st.JetStream.Streams), st.JetStream.Error)
		}
		return nil
	})
}
