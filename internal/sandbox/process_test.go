//go:build linux

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/sandbox/network"
)

func TestNewProcessModes(t *testing.T) {
	if _, err := NewProcess(ProcessOptions{NetNS: "maybe"}); err == nil {
		t.Error("NewProcess accepted netns mode \"maybe\"")
	}
	off := newProcess(t, NetNSOff)
	if off.NetNSEnabled() {
		t.Error("NetNSEnabled() in mode off")
	}
	auto, err := NewProcess(ProcessOptions{Network: netOptions(t)}) // default: auto, nil logger
	if err != nil {
		t.Fatalf("NewProcess(auto): %v", err)
	}
	t.Cleanup(func() { auto.Close(context.Background()) })
	if !auto.NetNSEnabled() && os.Getenv("OPENFC_TEST_NO_NETNS") != "1" {
		t.Fatal("auto mode did not enable network namespaces (set OPENFC_TEST_NO_NETNS=1 if they are unavailable here)")
	}
	netnsProcess(t)
}

// The key property: two instances listen on the same port at once, and
// DialContext reaches each one's own server.
func TestNetNSSamePortTwoInstances(t *testing.T) {
	p := netnsProcess(t)
	specA, outA := nodeSpec(t, "a", 9000, "I am A")
	specB, outB := nodeSpec(t, "b", 9000, "I am B")
	a := start(t, p, specA)
	b := start(t, p, specB)
	if got := waitGet(t, a, outA, "/"); got != "I am A" {
		t.Errorf("instance a answered %q", got)
	}
	if got := waitGet(t, b, outB, "/"); got != "I am B" {
		t.Errorf("instance b answered %q", got)
	}
	// Both still run, and keep answering their own body, also under
	// concurrent dials.
	var wg sync.WaitGroup
	for i := range 40 {
		in, want := a, "I am A"
		if i%2 == 1 {
			in, want = b, "I am B"
		}
		wg.Go(func() {
			if got, err := get(client(in), "/"); err != nil || got != want {
				t.Errorf("GET %s: %q, %v; want %q", in.ID(), got, err, want)
			}
		})
	}
	wg.Wait()
	for _, in := range []Instance{a, b} {
		select {
		case <-in.Done():
			t.Errorf("instance %s exited: %v", in.ID(), in.ExitErr())
		default:
		}
	}
	// Only the two owner threads are in the instances' namespaces: dials
	// go to the instances' addresses from the host's.
	waitForeignThreads(t, p, 2)
}

// The instance's port is not the host's: a host server on the same port
// does not prevent the instance from listening, and each side reaches its
// own.
func TestNetNSIsolatedFromHost(t *testing.T) {
	p := netnsProcess(t)
	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("host"))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	port := l.Addr().(*net.TCPAddr).Port

	spec, out := nodeSpec(t, "iso", port, "instance")
	in := start(t, p, spec)
	if got := waitGet(t, in, out, "/"); got != "instance" {
		t.Errorf("instance answered %q", got)
	}
	resp, err := http.Get("http://" + l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("host server: %s", resp.Status)
	}
}

// An instance has an address of its own in the pool and reaches the host
// at its gateway, by the name host.openfc.internal, also when it has no
// internet access.
func TestNetNSReachesHostByName(t *testing.T) {
	p := netnsProcess(t)
	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("host says hi"))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	port := l.Addr().(*net.TCPAddr).Port
	for _, offline := range []bool{false, true} {
		spec, out := nodeSpec(t, fmt.Sprint("h", offline), 9000, "")
		spec.Net.NoInternet = offline
		in := start(t, p, spec)
		if a, err := netip.ParseAddr(in.Address()); err != nil || !network.DefaultCIDR.Contains(a) {
			t.Fatalf("Address() = %q, not in %v", in.Address(), network.DefaultCIDR)
		}
		if got := waitGet(t, in, out, fmt.Sprintf("/fetch?host=%s&port=%d", network.HostName, port)); got != "host says hi" {
			t.Errorf("offline=%v: the instance fetched %q from the host", offline, got)
		}
		if !offline {
			continue
		}
		// Stopped, an offline instance leaves its address out of the
		// offline set, or the next instance on it would be offline too.
		if set := offlineSet(t, p); !strings.Contains(set, in.Address()) {
			t.Fatalf("the offline set lacks %s while the instance runs:\n%s", in.Address(), set)
		}
		in.Stop(t.Context())
		if set := offlineSet(t, p); strings.Contains(set, in.Address()) {
			t.Errorf("the offline set keeps %s after the instance stopped:\n%s", in.Address(), set)
		}
	}
}

// offlineSet lists p's offline set with nft.
func offlineSet(t *testing.T, p *Process) string {
	t.Helper()
	out, err := exec.Command("nft", "list", "set", "inet", "openfc_"+p.net.Owner(), "offline").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list set: %v\n%s", err, out)
	}
	return string(out)
}

// Inside its namespace the function reaches itself over 127.0.0.1.
func TestNetNSLoopbackInside(t *testing.T) {
	p := netnsProcess(t)
	spec, out := nodeSpec(t, "self", 9000, "me")
	in := start(t, p, spec)
	if got := waitGet(t, in, out, "/self"); got != "self:me" {
		t.Errorf("/self answered %q", got)
	}
}

func TestOffModeServes(t *testing.T) {
	p := newProcess(t, NetNSOff)
	spec, out := nodeSpec(t, "off", freePort(t), "host network")
	in := start(t, p, spec)
	if got := waitGet(t, in, out, "/"); got != "host network" {
		t.Errorf("instance answered %q", got)
	}
	if got := waitGet(t, in, out, "/self"); got != "self:host network" {
		t.Errorf("/self answered %q", got)
	}
}

func TestEnvDirAndCommandResolution(t *testing.T) {
	for name, p := range modes(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			real, err := filepath.EvalSymlinks(dir)
			if err != nil {
				t.Fatal(err)
			}
			write := func(rel, content string) {
				path := filepath.Join(dir, rel)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			write("bootstrap", "#!/bin/sh\necho \"bootstrap $FOO\"\n")
			write("bin/myprog", "#!/bin/sh\necho \"myprog $FOO\"\n")
			write("local/tool", "#!/bin/sh\necho \"tool $FOO\"\n")
			run := func(env []string, argv ...string) string {
				t.Helper()
				out := &syncBuffer{}
				in := start(t, p, Spec{ID: "env", Dir: dir, Command: argv, Env: env, Output: out})
				waitDone(t, in, 10*time.Second)
				if err := in.ExitErr(); err != nil {
					t.Fatalf("%v: %v; output %q", argv, err, out)
				}
				return out.String()
			}
			// Exactly spec.Env, nothing inherited from the server.
			env := []string{"FOO=bar baz", "EMPTY=", "PATH=/usr/bin:/bin"}
			if got, want := run(env, "env"), strings.Join(env, "\n")+"\n"; got != want {
				t.Errorf("env printed %q, want %q", got, want)
			}
			if got := run(nil, "/usr/bin/env"); got != "" {
				t.Errorf("empty Env: env printed %q", got)
			}
			if got := run(env, "pwd"); got != real+"\n" {
				t.Errorf("pwd printed %q, want %q", got, real)
			}
			foo := []string{"FOO=x", "PATH=" + filepath.Join(dir, "bin") + ":/usr/bin:/bin"}
			if got := run(foo, "./bootstrap"); got != "bootstrap x\n" {
				t.Errorf("./bootstrap printed %q", got)
			}
			// Command[0] without '/' uses the PATH of spec.Env.
			if got := run(foo, "myprog"); got != "myprog x\n" {
				t.Errorf("myprog printed %q", got)
			}
			// Relative PATH entries are relative to Dir.
			if got := run([]string{"FOO=y", "PATH=local:/usr/bin"}, "tool"); got != "tool y\n" {
				t.Errorf("tool printed %q", got)
			}
			if got := run(env, filepath.Join(dir, "bootstrap")); got != "bootstrap bar baz\n" {
				t.Errorf("absolute bootstrap printed %q", got)
			}
		})
	}
}

func TestExitStatus(t *testing.T) {
	for name, p := range modes(t) {
		t.Run(name, func(t *testing.T) {
			for _, tc := range []struct {
				script, want string
			}{
				{"exit 3", "exit status 3"},
				{"exit 0", ""},
				{"kill -KILL $$", "signal: killed"},
			} {
				in := start(t, p, Spec{ID: "exit", Dir: t.TempDir(), Command: []string{"sh", "-c", tc.script}, Env: []string{"PATH=/usr/bin:/bin"}})
				waitDone(t, in, 10*time.Second)
				got := ""
				if err := in.ExitErr(); err != nil {
					got = err.Error()
				}
				if got != tc.want {
					t.Errorf("%q: ExitErr() = %q, want %q", tc.script, got, tc.want)
				}
				if _, err := in.DialContext(t.Context()); !errors.Is(err, net.ErrClosed) {
					t.Errorf("DialContext after exit: %v, want net.ErrClosed", err)
				}
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notexec"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		spec Spec
		is   error
	}{
		{"not in PATH", Spec{Command: []string{"openfc-no-such-command"}, Env: []string{"PATH=/usr/bin:/bin"}}, exec.ErrNotFound},
		{"missing relative", Spec{Command: []string{"./bootstrap"}}, fs.ErrNotExist},
		{"missing absolute", Spec{Command: []string{"/nonexistent/bootstrap"}}, fs.ErrNotExist},
		{"not executable", Spec{Command: []string{"./notexec"}}, fs.ErrPermission},
		{"directory", Spec{Command: []string{"./sub"}}, fs.ErrPermission},
		{"empty command", Spec{}, nil},
		{"missing dir", Spec{Command: []string{"true"}, Dir: filepath.Join(dir, "nope")}, fs.ErrNotExist},
		{"bad port", Spec{Command: []string{"true"}, Port: 70000}, nil},
	}
	for name, p := range modes(t) {
		t.Run(name, func(t *testing.T) {
			try := func() {
				for _, tc := range cases {
					spec := tc.spec
					spec.ID = "bad"
					if spec.Dir == "" {
						spec.Dir = dir
					}
					in, err := p.Start(t.Context(), spec)
					if err == nil {
						in.Stop(t.Context())
						t.Errorf("%s: Start succeeded", tc.name)
						continue
					}
					if tc.is != nil && !errors.Is(err, tc.is) {
						t.Errorf("%s: Start error %v, want %v", tc.name, err, tc.is)
					}
				}
			}
			try() // warm up lazily opened descriptors
			fds := stableFDs(t)
			for range 5 {
				try()
			}
			// More would be a leak; fewer happens when an earlier test's
			// connection closes meanwhile.
			if got := stableFDs(t); got > fds {
				t.Errorf("open descriptors: %d before failed starts, %d after", fds, got)
			}
			if p.NetNSEnabled() {
				waitForeignThreads(t, p, 0)
			}
		})
	}
}

// stableFDs counts this process's descriptors once the count holds still:
// the instance networks' pool refills in the background (a namespace
// handle per link it makes), and released links close theirs soon after.
func stableFDs(t *testing.T) int {
	t.Helper()
	last, same := countFDs(t), 0
	for deadline := time.Now().Add(10 * time.Second); same < 3 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		n := countFDs(t)
		if n == last {
			same++
		} else {
			last, same = n, 0
		}
	}
	return last
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestStartCanceledContext(t *testing.T) {
	for name, p := range modes(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			in, err := p.Start(ctx, Spec{ID: "canceled", Dir: dir, Command: []string{"touch", "started"}, Env: []string{"PATH=/usr/bin:/bin"}})
			if !errors.Is(err, context.Canceled) {
				if in != nil {
					in.Stop(context.Background())
				}
				t.Fatalf("Start with a canceled ctx: %v, want context.Canceled", err)
			}
			time.Sleep(100 * time.Millisecond)
			if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
				t.Error("the command ran")
			}
		})
	}
}

// The instance outlives the context and the goroutine (and thread) that
// started it.
func TestInstanceOutlivesStarter(t *testing.T) {
	for name, p := range modes(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			ch := make(chan Instance, 1)
			go func() {
				// Exit locked: the runtime destroys this thread.
				runtime.LockOSThread()
				in, err := p.Start(ctx, Spec{ID: "outlive", Dir: t.TempDir(), Command: []string{"sleep", "1000"}, Env: []string{"PATH=/usr/bin:/bin"}})
				if err != nil {
					t.Error(err)
				}
				ch <- in
			}()
			in := <-ch
			if in == nil {
				t.FailNow()
			}
			cancel()
			t.Cleanup(func() { in.Stop(context.Background()) })
			select {
			case <-in.Done():
				t.Fatalf("instance exited: %v", in.ExitErr())
			case <-time.After(300 * time.Millisecond):
			}
		})
	}
}

// BenchmarkDialContext measures DialContext into a namespace (or the host
// network), the cost paid when the shared transport has no idle connection.
func BenchmarkDialContext(b *testing.B) {
	for _, mode := range []string{NetNSOn, NetNSOff} {
		b.Run(mode, func(b *testing.B) {
			p, err := NewProcess(ProcessOptions{NetNS: mode})
			if err != nil {
				b.Fatal(err)
			}
			port := 9000
			if mode == NetNSOff {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				port = l.Addr().(*net.TCPAddr).Port
				l.Close()
			}
			in, err := p.Start(b.Context(), Spec{
				ID:      "bench",
				Dir:     b.TempDir(),
				Command: []string{"python3", "-c", "import socket,os\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('0.0.0.0',int(os.environ['PORT'])))\ns.listen(4096)\nwhile True: s.accept()[0].close()"},
				Env:     []string{"PORT=" + strconv.Itoa(port), "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")},
				Port:    port,
			})
			if err != nil {
				b.Fatal(err)
			}
			defer in.Stop(context.Background())
			for {
				c, err := in.DialContext(b.Context())
				if err == nil {
					c.Close()
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			b.ResetTimer()
			for b.Loop() {
				c, err := in.DialContext(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}

// TestHostNetworkPortOwnership: in the host network an instance is
// reached only on a port its own process listens on. Given its own port
// (PortEnv), it answers there even though its CAPort is another
// process's; a server that insists on that taken CAPort is never ready,
// Ready names the port and the holder (also after it exited), and no
// connection ever reaches the other process.
func TestHostNetworkPortOwnership(t *testing.T) {
	p := newProcess(t, NetNSOff)
	foreign, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := foreign.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	taken := foreign.Addr().(*net.TCPAddr).Port

	spec, out := nodeSpec(t, "own-port", taken, "mine")
	spec.Env = []string{"BODY=mine"} // PORT comes from PortEnv
	spec.PortEnv = []string{"PORT", "FC_SERVER_PORT"}
	in := start(t, p, spec)
	if got := waitGet(t, in, out, "/"); got != "mine" {
		t.Fatalf("the instance with a port of its own answered %q", got)
	}

	spec, _ = nodeSpec(t, "insists", taken, "never")
	in = start(t, p, spec) // PORT=taken: it fails with EADDRINUSE
	waitDone(t, in, 10*time.Second)
	err = in.Ready(t.Context())
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("port %d is held by another process", taken)) || !strings.Contains(err.Error(), "--netns on") {
		t.Fatalf("Ready after the server failed on the taken port: %v; want the port, its holder and the fix", err)
	}
	if _, err := in.DialContext(t.Context()); err == nil {
		t.Fatal("dialed an instance that never listened")
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("%d connections reached the other process on port %d", n, taken)
	}
}
