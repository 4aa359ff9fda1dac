package network

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// newTestManager makes a Manager with an owner of its own and closes it
// at the end of the test. The tests need root, as CI runs them.
func newTestManager(t *testing.T, o Options) *Manager {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the instance network tests need root (CI runs them as root)")
	}
	if o.Owner == "" {
		o.Owner = testOwner(t)
	}
	o.StateDir = t.TempDir()
	m, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func testOwner(t *testing.T) string {
	b := make([]byte, 4)
	rand.Read(b)
	return "t" + hex.EncodeToString(b)
}

// take takes a link and releases it at the end of the test.
func take(t *testing.T, m *Manager) *Link {
	t.Helper()
	l, err := m.Take(context.Background())
	if err != nil {
		t.Fatalf("Take: %v", err)
	}
	t.Cleanup(func() { m.Release(l) })
	return l
}

// inNS runs f on a thread in namespace ns (thrown away afterwards);
// sockets f makes stay in ns.
func inNS(t *testing.T, ns *os.File, f func()) {
	t.Helper()
	done := make(chan error, 1)
	GoLocked(func() {
		if err := SetNS(ns); err != nil {
			done <- err
			return
		}
		f()
		done <- nil
	})
	if err := <-done; err != nil {
		t.Fatalf("setns: %v", err)
	}
}

// serve answers every connection on ln with msg, until the test ends.
func serve(t *testing.T, ln net.Listener, msg string) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, msg)
			c.Close()
		}
	}()
}

func listenIn(t *testing.T, ns *os.File, addr, msg string) net.Listener {
	t.Helper()
	var ln net.Listener
	var err error
	inNS(t, ns, func() { ln, err = net.Listen("tcp4", addr) })
	if err != nil {
		t.Fatalf("listen in namespace: %v", err)
	}
	serve(t, ln, msg)
	return ln
}

// fetchFrom connects from namespace ns to addr and reads what it says.
func fetchFrom(t *testing.T, ns *os.File, addr string) (string, error) {
	t.Helper()
	var c net.Conn
	var err error
	inNS(t, ns, func() { c, err = net.DialTimeout("tcp4", addr, 3*time.Second) })
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

// refusedFast asserts that err is a refusal that came at once (a TCP
// reset: connection refused), not a timeout.
func refusedFast(t *testing.T, what string, err error, took time.Duration) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: connected; want a refusal", what)
	}
	if !errors.Is(err, unix.ECONNREFUSED) {
		t.Fatalf("%s: %v; want connection refused", what, err)
	}
	if took > time.Second {
		t.Fatalf("%s: refused after %v; want at once", what, took)
	}
}

func TestHostReachesInstanceAndBack(t *testing.T) {
	m := newTestManager(t, Options{})
	l := take(t, m)
	if !m.opts.CIDR.Contains(l.Addr) || !m.opts.CIDR.Contains(l.Gateway) {
		t.Fatalf("addresses %v/%v outside %v", l.Addr, l.Gateway, m.opts.CIDR)
	}
	listenIn(t, l.NS, "0.0.0.0:9000", "from the instance")
	c, err := l.Dial(context.Background(), 9000)
	if err != nil {
		t.Fatalf("dial the instance: %v", err)
	}
	b, _ := io.ReadAll(c)
	c.Close()
	if string(b) != "from the instance" {
		t.Fatalf("read %q", b)
	}

	host, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, host, "from the host")
	port := host.Addr().(*net.TCPAddr).Port
	got, err := fetchFrom(t, l.NS, netip.AddrPortFrom(l.Gateway, uint16(port)).String())
	if err != nil || got != "from the host" {
		t.Fatalf("instance → host gateway: %q, %v", got, err)
	}
}

func TestSamePortInTwoInstances(t *testing.T) {
	m := newTestManager(t, Options{})
	a, b := take(t, m), take(t, m)
	listenIn(t, a.NS, "0.0.0.0:9000", "a")
	listenIn(t, b.NS, "0.0.0.0:9000", "b")
	for _, tc := range []struct {
		l    *Link
		want string
	}{{a, "a"}, {b, "b"}} {
		c, err := tc.l.Dial(context.Background(), 9000)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(c)
		c.Close()
		if string(got) != tc.want {
			t.Fatalf("instance %s answered %q", tc.want, got)
		}
	}
}

func TestInstancesCannotReachEachOther(t *testing.T) {
	m := newTestManager(t, Options{})
	a, b := take(t, m), take(t, m)
	listenIn(t, b.NS, "0.0.0.0:9000", "b")
	start := time.Now()
	_, err := fetchFrom(t, a.NS, netip.AddrPortFrom(b.Addr, 9000).String())
	refusedFast(t, "instance a → instance b", err, time.Since(start))
}

func TestDeniedAndAllowedHostPorts(t *testing.T) {
	open, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, open, "open")
	closed, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, closed, "closed")
	openPort := uint16(open.Addr().(*net.TCPAddr).Port)
	closedPort := uint16(closed.Addr().(*net.TCPAddr).Port)
	for _, o := range []Options{
		{DenyHostPorts: []uint16{closedPort}},
		{DenyHostPorts: []uint16{openPort}, AllowHostPorts: []uint16{openPort}},
	} {
		m := newTestManager(t, o)
		l := take(t, m)
		got, err := fetchFrom(t, l.NS, netip.AddrPortFrom(l.Gateway, openPort).String())
		if err != nil || got != "open" {
			t.Fatalf("%+v: allowed port: %q, %v", o, got, err)
		}
		start := time.Now()
		_, err = fetchFrom(t, l.NS, netip.AddrPortFrom(l.Gateway, closedPort).String())
		refusedFast(t, "a refused host port", err, time.Since(start))
		m.Close()
	}
}

// One openfc's allow list confines its own instances only: the instances
// of another openfc on the host (and their pool-made links) still reach
// the ports it does not list, while its own denied ports stay closed to
// every instance.
func TestAllowListConfinesOnlyItsOwnInstances(t *testing.T) {
	var ports [3]uint16 // allowed, unlisted, denied
	for i, name := range []string{"allowed", "unlisted", "denied"} {
		l, err := net.Listen("tcp4", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		serve(t, l, name)
		ports[i] = uint16(l.Addr().(*net.TCPAddr).Port)
	}
	strict := newTestManager(t, Options{AllowHostPorts: ports[:1], DenyHostPorts: ports[2:]})
	other := newTestManager(t, Options{})
	mine, theirs := take(t, strict), take(t, other)
	for _, tc := range []struct {
		who  string
		l    *Link
		port uint16
		want string // "" for refused
	}{
		{"strict's instance", mine, ports[0], "allowed"},
		{"strict's instance", mine, ports[1], ""},
		{"strict's instance", mine, ports[2], ""},
		{"another openfc's instance", theirs, ports[0], "allowed"},
		{"another openfc's instance", theirs, ports[1], "unlisted"},
		{"another openfc's instance", theirs, ports[2], ""},
	} {
		start := time.Now()
		got, err := fetchFrom(t, tc.l.NS, netip.AddrPortFrom(tc.l.Gateway, tc.port).String())
		if tc.want == "" {
			refusedFast(t, fmt.Sprintf("%s → port %d", tc.who, tc.port), err, time.Since(start))
		} else if err != nil || got != tc.want {
			t.Errorf("%s → port %d: %q, %v; want %q", tc.who, tc.port, got, err, tc.want)
		}
	}
}

// outside makes a namespace standing for the internet: joined to the host
// by a veth pair of its own (not an instance link), addressed from
// TEST-NET-2, with a server on port 80.
func outside(t *testing.T) (addr netip.AddrPort, sawFrom func() string) {
	t.Helper()
	ns, inside, err := newNamespace()
	if err != nil {
		t.Fatal(err)
	}
	defer inside.Close()
	t.Cleanup(func() { ns.Close() })
	name := "oftest" + testOwner(t)[1:5]
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: "eth0", PeerNamespace: netlink.NsFd(int(ns.Fd()))}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netlink.LinkDel(veth) })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	host, err := netlink.LinkByName(name)
	must(err)
	must(netlink.AddrAdd(host, mustAddr("198.51.100.1/30")))
	must(netlink.LinkSetUp(host))
	peer, err := inside.LinkByName("eth0")
	must(err)
	must(inside.AddrAdd(peer, mustAddr("198.51.100.2/30")))
	must(inside.LinkSetUp(peer))
	var ln net.Listener
	inNS(t, ns, func() { ln, err = net.Listen("tcp4", "198.51.100.2:80") })
	must(err)
	from := make(chan string, 16)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			from <- c.RemoteAddr().(*net.TCPAddr).IP.String()
			io.WriteString(c, "the internet")
			c.Close()
		}
	}()
	return netip.MustParseAddrPort("198.51.100.2:80"), func() string { return <-from }
}

func mustAddr(s string) *netlink.Addr {
	a, err := netlink.ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

func TestOutboundMasqueradedAndOffline(t *testing.T) {
	m := newTestManager(t, Options{})
	target, sawFrom := outside(t)
	online, offline := take(t, m), take(t, m)
	if err := m.Configure(offline, "offline", true, DNS{}); err != nil {
		t.Fatal(err)
	}
	got, err := fetchFrom(t, online.NS, target.String())
	if err != nil || got != "the internet" {
		t.Fatalf("online instance → outside: %q, %v", got, err)
	}
	if from := sawFrom(); from != "198.51.100.1" {
		t.Fatalf("the outside saw the instance as %s; want the host's address 198.51.100.1 (masqueraded)", from)
	}
	start := time.Now()
	_, err = fetchFrom(t, offline.NS, target.String())
	refusedFast(t, "offline instance → outside", err, time.Since(start))
	// The host stays reachable for an offline instance.
	host, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, host, "host")
	if got, err := fetchFrom(t, offline.NS, netip.AddrPortFrom(offline.Gateway, uint16(host.Addr().(*net.TCPAddr).Port)).String()); err != nil || got != "host" {
		t.Fatalf("offline instance → host: %q, %v", got, err)
	}
}

func TestResolvConfMerge(t *testing.T) {
	h := hostFiles{dns: DNS{Nameservers: []string{"10.0.0.2"}, Searches: []string{"corp"}, Options: []string{"rotate"}}}
	got := string(h.resolvConf(DNS{Searches: []string{"svc.local"}}))
	for _, want := range []string{"nameserver 10.0.0.2\n", "search svc.local\n", "options rotate\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("searches only: %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "corp") {
		t.Errorf("searches only: %q keeps the host's searches", got)
	}
	if got := parseResolvConf([]byte("nameserver 127.0.0.53\nnameserver 1.1.1.1\nsearch a b\n")); len(got.Nameservers) != 1 || got.Nameservers[0] != "1.1.1.1" {
		t.Errorf("loopback resolvers kept: %+v", got)
	}
}

func TestConfigureWritesFiles(t *testing.T) {
	m := newTestManager(t, Options{})
	l := take(t, m)
	err := m.Configure(l, "i1", false, DNS{Nameservers: []string{"192.0.2.53"}, Searches: []string{"svc.local"}, Options: []string{"ndots:2"}})
	if err != nil {
		t.Fatal(err)
	}
	resolv, hosts := l.resolv, l.hosts
	r, _ := os.ReadFile(resolv)
	for _, want := range []string{"nameserver 192.0.2.53\n", "search svc.local\n", "options ndots:2\n"} {
		if !strings.Contains(string(r), want) {
			t.Fatalf("resolv.conf %q lacks %q", r, want)
		}
	}
	h, _ := os.ReadFile(hosts)
	if !strings.Contains(string(h), l.Gateway.String()+"\t"+HostName+"\n") {
		t.Fatalf("hosts %q lacks the host's name", h)
	}
	// A process started from a thread that entered the link sees them as
	// its /etc files; the host's stay as they were.
	out := make(chan string, 1)
	GoLocked(func() {
		if err := l.Enter(); err != nil {
			out <- err.Error()
			return
		}
		b, err := exec.Command("cat", "/etc/hosts", "/etc/resolv.conf").CombinedOutput()
		out <- string(b) + fmt.Sprint(err)
	})
	seen := <-out
	if !strings.Contains(seen, HostName) || !strings.Contains(seen, "nameserver 192.0.2.53") {
		t.Fatalf("the instance's /etc: %q", seen)
	}
	if b, _ := os.ReadFile("/etc/hosts"); strings.Contains(string(b), HostName) {
		t.Fatal("the host's /etc/hosts changed")
	}
	m.Release(l)
	if _, err := os.Stat(resolv); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("files left after Release: %v", err)
	}
}

// ownLinks lists the host links tagged with owner, by name and index.
func ownLinks(t *testing.T, owner string) []string {
	t.Helper()
	h, err := netlink.NewHandle()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	links, err := listLinks(h)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range links {
		if l.Attrs().Alias == "openfc:"+owner {
			out = append(out, fmt.Sprintf("%s#%d", l.Attrs().Name, l.Attrs().Index))
		}
	}
	return out
}

func hasTable(t *testing.T, owner string) bool {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if tb.Name == tableName(owner) {
			return true
		}
	}
	return false
}

func TestCloseAndRestartRemoveEverything(t *testing.T) {
	owner := testOwner(t)
	first := newTestManager(t, Options{Owner: owner, PoolSize: 3})
	kept, err := first.Take(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_ = kept // never released: what a killed run leaves
	for deadline := time.Now().Add(5 * time.Second); len(first.ready) < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the pool holds %d links after 5 s; want 3", len(first.ready))
		}
	}
	first.cancel() // the run "dies": nothing made after this point
	<-first.filled
	before := ownLinks(t, owner)
	if len(ownLinks(t, owner)) == 0 || !hasTable(t, owner) {
		t.Fatal("no links or table while running")
	}
	// A second run of the same owner (as after kill -9) removes the
	// links and table the first left, before making its own.
	second, err := New(Options{Owner: owner, PoolSize: -1, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ownLinks(t, owner) {
		if slices.Contains(before, l) {
			t.Fatalf("link %s of the previous run left", l)
		}
	}
	if !hasTable(t, owner) {
		t.Fatal("the second run has no table")
	}
	second.Close()
	if l := ownLinks(t, owner); len(l) != 0 {
		t.Fatalf("links left after Close: %v", l)
	}
	if hasTable(t, owner) {
		t.Fatal("table left after Close")
	}
}

// BenchmarkMakeLink measures what a cold start waits for without the
// pool: a namespace, its link, addresses and route (and their removal).
func BenchmarkMakeLink(b *testing.B) {
	m, err := New(Options{Owner: "bench", PoolSize: -1, StateDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	for b.Loop() {
		l, err := m.makeLink()
		if err != nil {
			b.Fatal(err)
		}
		m.Release(l)
	}
}
