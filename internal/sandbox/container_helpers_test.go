//go:build linux

package sandbox

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openfc/openfc/internal/sandbox/network"
)

// ctServer builds testdata/ctserver once per test binary, static, into a
// directory TestMain removes.
var ctServer = struct {
	once sync.Once
	dir  string
	path string
	err  error
}{}

func TestMain(m *testing.M) {
	code := m.Run()
	if ctServer.dir != "" {
		os.RemoveAll(ctServer.dir)
	}
	os.Exit(code)
}

func serverBinary(t *testing.T) string {
	t.Helper()
	ctServer.once.Do(func() {
		ctServer.dir, ctServer.err = os.MkdirTemp("", "openfc-ctserver-")
		if ctServer.err != nil {
			return
		}
		ctServer.path = filepath.Join(ctServer.dir, "server")
		cmd := exec.Command("go", "build", "-o", ctServer.path, "./testdata/ctserver")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			ctServer.err = errors.New("go build ./testdata/ctserver: " + err.Error() + ": " + string(out))
		}
	})
	if ctServer.err != nil {
		t.Fatal(ctServer.err)
	}
	return ctServer.path
}

// requireRunc fails the test when runc is missing: these tests never
// skip, CI installs runc.
func requireRunc(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("runc"); err != nil {
		t.Fatalf("runc is needed for the container tests (apt-get install runc): %v", err)
	}
	if os.Geteuid() != 0 {
		t.Fatal("the container tests need root")
	}
}

// writeFiles writes files (path: content) below dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// imageLayers returns two unpacked layers, lowest first: the server with
// an /etc/passwd and /etc/group (user app, 1000, also in group extra), and
// one on top that replaces /srv/which and deletes /srv/gone with an
// overlayfs whiteout (a 0:0 character device), the form unpacked layers
// take.
func imageLayers(t *testing.T) []string {
	t.Helper()
	base, top := t.TempDir(), t.TempDir()
	bin, err := os.ReadFile(serverBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "server"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, base, map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
		"etc/group":  "root:x:0:\napp:x:1000:\nextra:x:2000:app\n",
		"srv/which":  "base",
		"srv/base":   "from the base layer",
		"srv/gone":   "deleted by the top layer",
	})
	writeFiles(t, top, map[string]string{"srv/which": "top"})
	if err := unix.Mknod(filepath.Join(top, "srv/gone"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	return []string{base, top}
}

// newContainer returns a container sandbox of a fresh owner, with
// instance networks when withNet, closed at the end of the test.
func newContainer(t *testing.T, withNet bool) (*Container, ContainerOptions) {
	t.Helper()
	requireRunc(t)
	no := netOptions(t)
	o := ContainerOptions{StateDir: filepath.Join(t.TempDir(), "containers"), Owner: no.Owner, Logger: testLogger(t)}
	if withNet {
		m, err := network.New(no)
		if err != nil {
			t.Fatalf("instance networks: %v", err)
		}
		t.Cleanup(func() { m.Close() })
		o.Network = m
	}
	c, err := NewContainer(o)
	if err != nil {
		t.Fatalf("NewContainer: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		assertNoLeftovers(t, c, "")
	})
	return c, o
}

// serverSpec runs the test server of layers on port 9000.
func serverSpec(id string, layers []string, body string) (Spec, *syncBuffer) {
	out := &syncBuffer{}
	return Spec{
		ID:       id,
		Command:  []string{"/server"},
		Env:      []string{"BODY=" + body},
		Port:     9000,
		PortEnv:  []string{"PORT", "FC_SERVER_PORT"},
		Output:   out,
		Root:     &RootFS{Layers: layers},
		MemoryMB: 128,
	}, out
}

// startIn starts spec in c and stops it at the end of the test.
func startIn(t *testing.T, c *Container, spec Spec) Instance {
	t.Helper()
	in, err := c.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		in.Stop(ctx)
	})
	return in
}

// assertNoLeftovers checks that nothing of instance id (of every
// instance, and the sandbox's own mount and cgroups, when id is "") is
// left: mounts, cgroup directories, runc state, bundle.
func assertNoLeftovers(t *testing.T, c *Container, id string) {
	t.Helper()
	under := c.opts.StateDir
	cgroup := c.cgroupParent()
	if id != "" {
		under = filepath.Join(c.bundleDir(), id)
		cgroup += "/" + id
	}
	if m, err := mountsUnder(under); err != nil || len(m) > 0 {
		t.Errorf("mounts left under %s: %v %v", under, m, err)
	}
	for _, mnt := range c.cg.mounts {
		if _, err := os.Stat(filepath.Join(mnt, cgroup)); err == nil {
			t.Errorf("cgroup left: %s", filepath.Join(mnt, cgroup))
		}
	}
	if id != "" {
		for _, p := range []string{filepath.Join(c.runcRoot(), c.prefix+id), under} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("left behind: %s", p)
			}
		}
	}
	if ents, _ := os.ReadDir(c.runcRoot()); len(ents) > 0 && id == "" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("runc state left: %s", strings.Join(names, ", "))
	}
}
