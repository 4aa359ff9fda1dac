package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// deployNet deploys testdata/netfetch as service/name; internet is the
// function's internetAccess ("" leaves it out: FC's default, true).
func (s *server) deployNet(service, name, internet string) {
	s.t.Helper()
	access := ""
	if internet != "" {
		access = "\n      internetAccess: " + internet
	}
	yaml := fmt.Sprintf(`edition: 3.0.0
name: %s
resources:
  fn:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: %s
      runtime: custom.debian10
      code: %s
      timeout: 20%s
      customRuntimeConfig:
        command: [python3, server.py]
        port: 9000
      environmentVariables:
        NAME: %s
      triggers:
        - triggerName: http
          triggerType: http
          triggerConfig:
            authType: anonymous
            methods: [GET]
`, service, name, filepath.Join(repoRoot(), "test/e2e/testdata/netfetch"), access, name)
	s.cli("deploy", "-f", writeYAML(s.t, yaml))
}

// fetchVia asks service/name to fetch url and returns its status and body.
func (s *server) fetchVia(service, name, url string) (int, string) {
	s.t.Helper()
	resp, body := s.do("GET", "/2016-08-15/proxy/"+service+"/"+name+"/fetch?url="+url, nil, nil)
	return resp.StatusCode, string(body)
}

// hostServer serves "from the host" on every address of the host, at a
// port of its own.
func hostServer(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("from the host"))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// outsideNamespace stands for the internet: a network namespace the test
// makes, joined to the host by a veth pair of its own (a /30 of
// 198.51.100.0/24, TEST-NET-2, that no interface of the host has yet:
// `make test-e2e` runs the suite twice at once), where a Python server
// answers "from outside" on port 80. Instances reach it only through the
// host's forwarding and NAT.
func outsideNamespace(t *testing.T) string {
	t.Helper()
	b := make([]byte, 3)
	rand.Read(b)
	ns, host := "openfc-e2e-"+hex.EncodeToString(b), "oute2e"+hex.EncodeToString(b)
	hostAddr, outAddr := freeTestNet2(t, int(b[0]))
	ip := ipTool().mustFind(t)
	run := func(args ...string) {
		t.Helper()
		if args[0] == "ip" {
			args[0] = ip
		}
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	run("ip", "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns)
	t.Cleanup(func() { exec.Command("ip", "link", "del", host).Run() })
	run("ip", "addr", "add", hostAddr+"/30", "dev", host)
	run("ip", "link", "set", host, "up")
	run("ip", "-n", ns, "addr", "add", outAddr+"/30", "dev", "eth0")
	run("ip", "-n", ns, "link", "set", "eth0", "up")
	run("ip", "-n", ns, "link", "set", "lo", "up")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("from outside"), 0o644)
	srv := exec.Command("ip", "netns", "exec", ns, "python3", "-m", "http.server", "--bind", outAddr, "80")
	srv.Dir = dir
	srv.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	waitFor(t, 10*time.Second, func() error {
		return exec.Command("ip", "netns", "exec", ns, "python3", "-c",
			"import urllib.request; urllib.request.urlopen('http://"+outAddr+"/', timeout=1)").Run()
	})
	return "http://" + outAddr + "/"
}

// freeTestNet2 picks a /30 of 198.51.100.0/24, trying from the one
// numbered start (mod 64) on, whose host address no interface has, and
// returns its host and outside addresses.
func freeTestNet2(t *testing.T, start int) (hostAddr, outAddr string) {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	taken := map[string]bool{}
	for _, a := range addrs {
		if p, ok := a.(*net.IPNet); ok {
			taken[p.IP.String()] = true
		}
	}
	for i := range 64 {
		n := (start + i) % 64
		hostAddr = fmt.Sprintf("198.51.100.%d", 4*n+1)
		if !taken[hostAddr] {
			return hostAddr, fmt.Sprintf("198.51.100.%d", 4*n+2)
		}
	}
	t.Fatalf("every /30 of 198.51.100.0/24 is on an interface of the host")
	return "", ""
}

// instanceAddrs returns the addresses of service/name's instances, from
// the instances API (through the CLI).
func (s *server) instanceAddrs(service, name string) []string {
	s.t.Helper()
	var list []struct {
		ServiceName, FunctionName, Address string
	}
	if err := json.Unmarshal([]byte(s.cli("instances", "--json")), &list); err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, in := range list {
		if in.ServiceName == service && in.FunctionName == name {
			out = append(out, in.Address)
		}
	}
	return out
}

// TestInstanceNetwork: every instance has a network of its own: two
// functions listen on port 9000 at once, each answering for itself; each
// has an address from the pool, shown by `openfc instances`; a function
// reaches a server on the host by host.openfc.internal and the outside
// through NAT; with internetAccess: false the outside fails at once while
// the host still answers; one instance cannot connect to another.
func TestInstanceNetwork(t *testing.T) {
	s := startServer(t, "")
	hostPort := hostServer(t)
	outside := outsideNamespace(t)
	s.deployNet("net", "online", "")
	s.deployNet("net", "offline", "false")
	for _, name := range []string{"online", "offline"} {
		resp, body := s.do("GET", "/2016-08-15/proxy/net/"+name+"/", nil, nil)
		if resp.StatusCode != 200 || string(body) != name {
			t.Fatalf("%s on port 9000: %d %q", name, resp.StatusCode, body)
		}
	}
	addrs := map[string]string{}
	for _, name := range []string{"online", "offline"} {
		a := s.instanceAddrs("net", name)
		if len(a) != 1 || !strings.HasPrefix(a[0], "169.254.") {
			t.Fatalf("openfc instances: %s has addresses %q; want one in 169.254.64.0/18", name, a)
		}
		addrs[name] = a[0]
	}
	if out := s.cli("instances"); !strings.Contains(out, addrs["online"]) {
		t.Errorf("openfc instances does not show the address %s:\n%s", addrs["online"], out)
	}

	host := fmt.Sprintf("http://host.openfc.internal:%d/", hostPort)
	for _, name := range []string{"online", "offline"} {
		if code, body := s.fetchVia("net", name, host); code != 200 || body != "from the host" {
			t.Errorf("%s → the host: %d %q", name, code, body)
		}
	}
	if code, body := s.fetchVia("net", "online", outside); code != 200 || body != "from outside" {
		t.Errorf("online → outside: %d %q", code, body)
	}
	code, body := s.fetchVia("net", "offline", outside)
	if code != 502 || !strings.Contains(body, "error:") {
		t.Errorf("offline → outside: %d %q; want a connection error", code, body)
	}
	assertFast(t, "offline → outside", body)

	code, body = s.fetchVia("net", "online", "http://"+addrs["offline"]+":9000/")
	if code != 502 || !strings.Contains(body, "error:") {
		t.Errorf("online → the other instance %s: %d %q; want a connection error", addrs["offline"], code, body)
	}
	assertFast(t, "instance → instance", body)

	// The instance's /etc/hosts names the host; openfc's own listener is
	// out of reach even at the gateway.
	resp, files := s.do("GET", "/2016-08-15/proxy/net/online/files", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(files), "host.openfc.internal") {
		t.Errorf("the instance's files: %d %q", resp.StatusCode, files)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://"))
	code, body = s.fetchVia("net", "online", "http://host.openfc.internal:"+port+"/")
	if code != 502 {
		t.Errorf("instance → openfc's own port %s: %d %q; want refused", port, code, body)
	}
}

// assertFast checks a fetch's "error: … after N ms" took under a second:
// a refusal, not a timeout.
func assertFast(t *testing.T, what, body string) {
	t.Helper()
	var ms int
	if i := strings.LastIndex(body, " after "); i < 0 {
		t.Errorf("%s: no time in %q", what, body)
	} else if fmt.Sscanf(body[i:], " after %d ms", &ms); ms > 1000 {
		t.Errorf("%s: failed after %d ms; want at once (a refusal, not a timeout)", what, ms)
	}
}

// ownerID is the id the server derives from its data directory, which
// tags its links and names its nftables table.
func ownerID(dataDir string) string {
	abs, _ := filepath.Abs(dataDir)
	sum := sha256.Sum256([]byte(abs))
	return hex.EncodeToString(sum[:])[:8]
}

// netLeftovers lists what of the server with dataDir remains on the
// host: its links (by alias) and its nftables table.
func netLeftovers(t *testing.T, dataDir string) []string {
	t.Helper()
	owner := ownerID(dataDir)
	var left []string
	out, err := exec.Command(ipTool().mustFind(t), "-o", "link", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip link: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "alias openfc:"+owner) {
			f := strings.Fields(l)
			left = append(left, "link "+f[0]+f[1])
		}
	}
	out, err = exec.Command(nftTool().mustFind(t), "list", "tables").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list tables: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "openfc_"+owner) {
		left = append(left, "table openfc_"+owner)
	}
	return left
}

// TestInstanceNetworkCleanup: a stopped server leaves no links or rules;
// after kill -9, with an instance's child still holding its namespace,
// the next start of the same data directory removes what the killed run
// left.
func TestInstanceNetworkCleanup(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	s.deployNet("clean", "fn", "")
	if resp, _ := s.do("GET", "/2016-08-15/proxy/clean/fn/", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	if len(netLeftovers(t, data)) == 0 {
		t.Fatal("no links or table of the server while it runs")
	}
	s.stop()
	waitFor(t, 10*time.Second, func() error {
		if left := netLeftovers(t, data); len(left) > 0 {
			return fmt.Errorf("left after stop: %v", left)
		}
		return nil
	})

	// kill -9, with a process that left the instance's process group
	// holding its namespace (and so its link) alive.
	s = startServer(t, data)
	// ESCAPE_DATA tells this run's escaped process from another run's.
	s.deployEcho(echoOpts{service: "clean", name: "netescape", env: map[string]string{"ESCAPE_DATA": data},
		command: "[sh]\n        args: [-c, 'setsid sleep 600 & exec python3 server.py']"})
	t.Cleanup(func() {
		for _, pid := range processesWithEnv("ESCAPE_DATA=" + data) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if resp, _ := s.do("GET", "/2016-08-15/proxy/clean/netescape/", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	time.Sleep(500 * time.Millisecond)
	left := netLeftovers(t, data)
	if len(left) == 0 {
		t.Fatal("kill -9 left nothing behind; the test proves nothing")
	}
	s = startServer(t, data)
	for _, l := range netLeftovers(t, data) {
		for _, old := range left {
			if l == old && strings.HasPrefix(l, "link") {
				t.Errorf("%s of the killed run is still there after a restart", l)
			}
		}
	}
	s.stop()
	waitFor(t, 10*time.Second, func() error {
		if left := netLeftovers(t, data); len(left) > 0 {
			return fmt.Errorf("left after the restarted server stopped: %v", left)
		}
		return nil
	})
}
