package e2e

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// freePorts returns n TCP ports free on 127.0.0.1 right now. (A cluster's
// route addresses must be known before any node starts: each is given
// the others'. Between the close here and the node's bind another
// process could take one; the range of ephemeral ports makes that rare.)
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var lns []net.Listener
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// startCluster starts n openfc nodes whose embedded NATS servers form one
// cluster on loopback (node names n1…nN), each with extra flags, and
// waits until all serve.
func startCluster(t *testing.T, n int, extra ...string) []*server {
	t.Helper()
	return startClusterOn(t, make([]string, n), extra...)
}

// startClusterOn is startCluster with node i on data dir dirs[i] (a fresh
// one where dirs[i] is ""): a node that ran before, alone or clustered,
// joins with its data.
func startClusterOn(t *testing.T, dirs []string, extra ...string) []*server {
	t.Helper()
	n := len(dirs)
	ports := freePorts(t, n)
	nodes := make([]*server, n)
	for i := range n {
		var peers []string
		for j, p := range ports {
			if j != i {
				peers = append(peers, fmt.Sprintf("127.0.0.1:%d", p))
			}
		}
		args := append([]string{"--node-name", fmt.Sprintf("n%d", i+1),
			"--cluster-listen", fmt.Sprintf("127.0.0.1:%d", ports[i]), "--peers", strings.Join(peers, ",")}, extra...)
		nodes[i] = launchServer(t, dirs[i], nil, args...)
	}
	waitAllServing(t, nodes...)
	return nodes
}

// waitAllServing waits for every node's start line, at once.
func waitAllServing(t *testing.T, nodes ...*server) {
	t.Helper()
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, s := range nodes {
		wg.Go(func() { errs[i] = s.waitServing(90 * time.Second) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// restart starts the node again on its data dir with its flags and
// environment (after stop or kill9), and returns the new process, not yet
// serving: waitServing (or waitAllServing) waits for it.
func (s *server) restart() *server {
	s.t.Helper()
	return launchServer(s.t, s.dataDir, s.env, s.extra...)
}

// startNATSCluster runs n real nats-server processes (the binary `make
// deps` builds from the module openfc depends on) as one JetStream
// cluster on loopback and returns their client URLs and processes (to
// kill one).
func startNATSCluster(t *testing.T, n int) ([]string, []*exec.Cmd) {
	t.Helper()
	bin := natsServerTool().mustFind(t)
	client, routes := freePorts(t, n), freePorts(t, n)
	var urls []string
	var cmds []*exec.Cmd
	logs := make([]*syncBuffer, n)
	for i := range n {
		var peers []string
		for j, p := range routes {
			if j != i {
				peers = append(peers, fmt.Sprintf("nats://127.0.0.1:%d", p))
			}
		}
		cmd := exec.Command(bin, "-js", "-a", "127.0.0.1", "-p", fmt.Sprint(client[i]), "-sd", t.TempDir(),
			"-n", fmt.Sprintf("nats%d", i+1), "--cluster_name", "e2e", "--cluster", fmt.Sprintf("nats://127.0.0.1:%d", routes[i]),
			"--routes", strings.Join(peers, ","))
		logs[i] = &syncBuffer{}
		cmd.Stdout, cmd.Stderr = logs[i], logs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("nats-server %d log:\n%s", i+1, logs[i].String())
			}
		})
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", client[i]))
		cmds = append(cmds, cmd)
	}
	waitFor(t, 30*time.Second, func() error {
		for i, l := range logs {
			if !strings.Contains(l.String(), "Server is ready") {
				return fmt.Errorf("nats-server %d not ready yet", i+1)
			}
		}
		return nil
	})
	return urls, cmds
}
