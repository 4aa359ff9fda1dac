//go:build linux

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Two containers of one image listen on port 9000 at once, each answers
// as itself, sees the image's top layer over its base, and writes only
// into its own layer.
func TestContainerTwoInstances(t *testing.T) {
	c, _ := newContainer(t, true)
	layers := imageLayers(t)
	specA, outA := serverSpec("ct-a", layers, "A")
	specB, outB := serverSpec("ct-b", layers, "B")
	specB.Root.User = "app"
	a, b := startIn(t, c, specA), startIn(t, c, specB)
	if got := waitGet(t, a, outA, "/"); got != "A@ct-a" {
		t.Errorf("a answered %q, want A@ct-a", got)
	}
	if got := waitGet(t, b, outB, "/"); got != "B@ct-b" {
		t.Errorf("b answered %q, want B@ct-b", got)
	}
	if a.Address() == "" || a.Address() == b.Address() {
		t.Errorf("addresses %q and %q", a.Address(), b.Address())
	}
	checkLimits(t, c, "ct-a", 128)
	ca, cb := client(a), client(b)
	for _, tc := range []struct {
		c          *http.Client
		path, want string
	}{
		{ca, "/read?path=/srv/which", "top"},
		{ca, "/read?path=/srv/base", "from the base layer"},
		{ca, "/read?path=/srv/gone", "missing"},
		{ca, "/write?path=/srv/note&data=hello", "ok"},
		{ca, "/read?path=/srv/note", "hello"},
		{cb, "/read?path=/srv/note", "missing"},
		{ca, "/write?path=/srv/which&data=changed", "ok"},
		{cb, "/read?path=/srv/which", "top"},
		{ca, "/write?path=/tmp/t&data=tmp", "ok"},
		{cb, "/read?path=/tmp/t", "missing"},
		{ca, "/id", "0:0 [] /"},
		{cb, "/id", "1000:1000 [2000] /"},
	} {
		if got, err := get(tc.c, tc.path); err != nil || got != tc.want {
			t.Errorf("GET %s: %q, %v; want %q", tc.path, got, err, tc.want)
		}
	}
	for _, l := range layers {
		if _, err := os.Stat(filepath.Join(l, "srv/note")); err == nil {
			t.Errorf("a write reached layer %s", l)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(layers[1], "srv/which")); string(b) != "top" {
		t.Errorf("the top layer's file became %q", b)
	}
}

// A container reaches a server on the host by the host's name.
func TestContainerReachesHost(t *testing.T) {
	c, _ := newContainer(t, true)
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "host says hi")
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	spec, out := serverSpec("ct-out", imageLayers(t), "")
	in := startIn(t, c, spec)
	waitGet(t, in, out, "/")
	u := fmt.Sprintf("http://host.openfc.internal:%d/", l.Addr().(*net.TCPAddr).Port)
	if got, err := get(client(in), "/fetch?url="+url.QueryEscape(u)); err != nil || got != "host says hi" {
		t.Errorf("fetch from the host: %q, %v", got, err)
	}
}

// A container that allocates beyond its memory limit is killed, and its
// ExitErr says so.
func TestContainerOutOfMemory(t *testing.T) {
	c, _ := newContainer(t, true)
	spec, out := serverSpec("ct-oom", imageLayers(t), "")
	spec.MemoryMB = 32
	in := startIn(t, c, spec)
	waitGet(t, in, out, "/")
	if got, err := get(client(in), "/alloc?mb=16"); err != nil {
		t.Fatalf("a small allocation failed: %q, %v", got, err)
	}
	if got, err := get(client(in), "/alloc?mb=200"); err == nil {
		t.Errorf("allocating 200 MB in 32 MB answered %q", got)
	}
	waitDone(t, in, 20*time.Second)
	err := in.ExitErr()
	if !errors.Is(err, ErrOutOfMemory) {
		t.Fatalf("ExitErr() = %v, want ErrOutOfMemory", err)
	}
	if !strings.Contains(err.Error(), "32 MB") {
		t.Errorf("ExitErr() = %v, want the limit named", err)
	}
	assertNoLeftovers(t, c, spec.ID)
}

// Without layers, a container runs on the host's root, read-only, with
// the code at /code, a /tmp of its own and hidden paths empty.
func TestContainerHostRoot(t *testing.T) {
	requireRunc(t)
	// Outside /tmp, which the container has its own of.
	visible, err := os.MkdirTemp("/var/tmp", "openfc-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(visible) })
	hidden := filepath.Join(visible, "hidden")
	writeFiles(t, hidden, map[string]string{"secret": "s3cret"})
	writeFiles(t, visible, map[string]string{"shown": "shown"})
	o := ContainerOptions{StateDir: filepath.Join(visible, "containers"), Owner: netOptions(t).Owner, Hide: []string{hidden}, Logger: testLogger(t)}
	c, err := NewContainer(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(context.Background()); err != nil {
			t.Error(err)
		}
		assertNoLeftovers(t, c, "")
	})
	code := t.TempDir()
	writeFiles(t, code, map[string]string{"hello.txt": "hello from code"})
	script := `cat /code/hello.txt; echo; pwd; hostname
touch /probe 2>/dev/null && echo root-writable || echo root-read-only
touch /code/probe 2>/dev/null && echo code-writable || echo code-read-only
echo x > /tmp/x && echo tmp-ok
cat ` + hidden + `/secret 2>/dev/null || echo hidden
cat ` + visible + `/shown; echo
ls ` + o.StateDir + ` | wc -l`
	out := &syncBuffer{}
	in, err := c.Start(t.Context(), Spec{ID: "ct-host", Dir: code, Command: []string{"sh", "-c", script},
		Env: []string{"PATH=/usr/bin:/bin"}, Output: out, Root: &RootFS{}, MemoryMB: 64})
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, in, 20*time.Second)
	if err := in.ExitErr(); err != nil {
		t.Errorf("ExitErr() = %v; output:\n%s", err, out)
	}
	want := "hello from code\n/code\nct-host\nroot-read-only\ncode-read-only\ntmp-ok\nhidden\nshown\n0\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	if _, err := os.Stat("/probe"); err == nil {
		t.Error("the container wrote /probe on the host")
	}
	assertNoLeftovers(t, c, "ct-host")
}

// Stop ends a well-behaved server at once, kills one that ignores
// SIGTERM when ctx ends, and leaves nothing behind either way.
func TestContainerStop(t *testing.T) {
	c, _ := newContainer(t, true)
	spec, out := serverSpec("ct-stop", imageLayers(t), "")
	in := startIn(t, c, spec)
	waitGet(t, in, out, "/")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	began := time.Now()
	if err := in.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("Stop took %v", d)
	}
	if err := in.ExitErr(); err != nil {
		t.Errorf("ExitErr() = %v after a graceful stop", err)
	}
	assertNoLeftovers(t, c, spec.ID)
	if _, err := in.DialContext(ctx); err == nil {
		t.Error("DialContext after Stop succeeded")
	}

	out = &syncBuffer{}
	stubborn, err := c.Start(t.Context(), Spec{ID: "ct-stubborn", Command: []string{"sh", "-c", "trap '' TERM; echo up; sleep 1000"},
		Env: []string{"PATH=/usr/bin:/bin"}, Output: out, Root: &RootFS{}})
	if err != nil {
		t.Fatal(err)
	}
	// Until the trap is set, SIGTERM would end it (runc's init, which
	// runs first, has Go's handlers).
	if line := waitLine(t, out); line != "up" {
		t.Fatalf("output %q", line)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel2()
	if err := stubborn.Stop(short); err != nil {
		t.Fatal(err)
	}
	if err := stubborn.ExitErr(); err == nil || err.Error() != "signal: killed" {
		t.Errorf("ExitErr() = %v, want signal: killed", err)
	}
	assertNoLeftovers(t, c, "ct-stubborn")
	if err := stubborn.Stop(short); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// A container whose command fails at once reports runc's error.
func TestContainerBadCommand(t *testing.T) {
	c, _ := newContainer(t, false)
	spec, out := serverSpec("ct-bad", imageLayers(t), "")
	spec.Command = []string{"/no/such/program"}
	in, err := c.Start(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, in, 20*time.Second)
	if err := in.ExitErr(); err == nil || !strings.Contains(err.Error(), "no/such/program") {
		t.Errorf("ExitErr() = %v; output:\n%s", err, out)
	}
	spec.ID, spec.Root.User = "ct-nouser", "nobody"
	if _, err := c.Start(t.Context(), spec); err == nil || !strings.Contains(err.Error(), "nobody") {
		t.Errorf("Start with an unknown user: %v", err)
	}
	assertNoLeftovers(t, c, "ct-bad")
	assertNoLeftovers(t, c, "ct-nouser")
}

func TestNewContainerWithoutRunc(t *testing.T) {
	_, err := NewContainer(ContainerOptions{Runc: "/no/such/runc", StateDir: t.TempDir(), Owner: "x"})
	if !errors.Is(err, ErrNoRuntime) {
		t.Errorf("NewContainer without runc: %v, want ErrNoRuntime", err)
	}
}

func TestChoose(t *testing.T) {
	p := newProcess(t, NetNSOff)
	s := Choose(p, (*Container)(nil))
	if _, err := s.Start(t.Context(), Spec{ID: "x", Root: &RootFS{}, Command: []string{"true"}}); !errors.Is(err, ErrNoRuntime) {
		t.Errorf("a Spec with Root and no container sandbox: %v, want ErrNoRuntime", err)
	}
	in, err := s.Start(t.Context(), Spec{ID: "p", Dir: t.TempDir(), Command: []string{"true"}, Env: []string{"PATH=/usr/bin:/bin"}})
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, in, 10*time.Second)
	if _, ok := in.(*instance); !ok {
		t.Errorf("a Spec without Root ran in %T", in)
	}
}

func TestMeasureRunc(t *testing.T) {
	c, _ := newContainer(t, false)
	for range 3 {
		times, err := c.MeasureRunc(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if times.Create <= 0 || times.Start <= 0 || times.Delete <= 0 {
			t.Errorf("times %+v", times)
		}
		t.Logf("runc create %v, start %v, delete %v", times.Create, times.Start, times.Delete)
	}
}

// checkLimits checks the cgroup of instance id: memory (and memory+swap)
// limit, CPU shares in proportion, pids limit.
func checkLimits(t *testing.T, c *Container, id string, memoryMB int) {
	t.Helper()
	path := c.cgroupPath(id)
	read := func(dir, file string) string {
		b, err := os.ReadFile(filepath.Join(dir, path, file))
		if err != nil {
			t.Errorf("cgroup file: %v", err)
		}
		return strings.TrimSpace(string(b))
	}
	limit := fmt.Sprint(memoryMB << 20)
	if c.cg.unified {
		for file, want := range map[string]string{"memory.max": limit, "pids.max": "4096"} {
			if got := read(c.cg.memory, file); got != want {
				t.Errorf("%s = %s, want %s", file, got, want)
			}
		}
		return
	}
	want := map[string]string{"memory.limit_in_bytes": limit}
	if c.cg.swap {
		want["memory.memsw.limit_in_bytes"] = limit
	}
	for file, v := range want {
		if got := read(c.cg.memory, file); got != v {
			t.Errorf("%s = %s, want %s", file, got, v)
		}
	}
	for _, mnt := range c.cg.mounts {
		switch filepath.Base(mnt) {
		case "cpu", "cpu,cpuacct":
			if got := read(mnt, "cpu.shares"); got != fmt.Sprint(memoryMB/2) {
				t.Errorf("cpu.shares = %s, want %d", got, memoryMB/2)
			}
		case "pids":
			if got := read(mnt, "pids.max"); got != "4096" {
				t.Errorf("pids.max = %s, want 4096", got)
			}
		}
	}
}

// Close stops what still runs, leaves nothing behind, and refuses new
// starts.
func TestContainerCloseStopsInstances(t *testing.T) {
	c, _ := newContainer(t, true)
	spec, out := serverSpec("ct-close", imageLayers(t), "")
	in, err := c.Start(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	waitGet(t, in, out, "/")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-in.Done():
	default:
		t.Fatal("Close returned before the instance was removed")
	}
	assertNoLeftovers(t, c, "")
	spec.ID = "ct-late"
	if _, err := c.Start(t.Context(), spec); err == nil {
		t.Error("Start after Close succeeded")
	}
}

// BenchmarkRunc reports what runc itself takes for a trivial container
// (create, start, delete), the floor under a container's cold start.
func BenchmarkRunc(b *testing.B) {
	c, err := NewContainer(ContainerOptions{StateDir: b.TempDir(), Owner: "benchrunc"})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	var create, start, del time.Duration
	for b.Loop() {
		times, err := c.MeasureRunc(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		create, start, del = create+times.Create, start+times.Start, del+times.Delete
	}
	n := float64(b.N)
	b.ReportMetric(float64(create.Microseconds())/1000/n, "create-ms")
	b.ReportMetric(float64(start.Microseconds())/1000/n, "start-ms")
	b.ReportMetric(float64(del.Microseconds())/1000/n, "delete-ms")
}
