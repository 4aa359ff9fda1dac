package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// serverImage builds testdata/ctrserver statically and packs it into an
// image: /srv/app as the entrypoint, a /data directory to write in, and a
// /etc/passwd naming user app (uid 1000), the image's user.
func serverImage(t *testing.T) v1.Image {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "app")
	goBuild(t, "./test/e2e/testdata/ctrserver", bin)
	app, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"srv/", "etc/", "data/", "tmp/"} {
		mode := int64(0o755)
		if d == "data/" || d == "tmp/" {
			mode = 0o1777
		}
		tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: mode})
	}
	files := []struct {
		name string
		mode int64
		body []byte
	}{
		{"srv/app", 0o755, app},
		{"etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/data:/bin/sh\n")},
		{"etc/group", 0o644, []byte("root:x:0:\napp:x:1000:\n")},
	}
	for _, f := range files {
		tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: f.mode, Size: int64(len(f.body))})
		tw.Write(f.body)
	}
	tw.Close()
	b := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.Entrypoint = []string{"/srv/app"}
	cfg.Config.Env = []string{"PATH=/usr/bin:/bin", "NAME=from-the-image"}
	cfg.Config.User = "app"
	cfg.Config.WorkingDir = "/data"
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// pushImage serves an in-process registry on 127.0.0.1 and pushes img to
// it as repo:tag; it returns the reference.
func pushImage(t *testing.T, img v1.Image, repoTag string) string {
	t.Helper()
	reg := httptest.NewServer(registry.New())
	t.Cleanup(reg.Close)
	ref := strings.TrimPrefix(reg.URL, "http://") + "/" + repoTag
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref
}

// deployContainer deploys an fc3 custom-container function.
func (s *server) deployContainer(service, fn, image string, memory int, env string) {
	s.t.Helper()
	yaml := fmt.Sprintf(`edition: 3.0.0
name: %s
resources:
  fn:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: %s
      runtime: custom-container
      memorySize: %d
      timeout: 20
      customContainerConfig:
        image: %s
        port: 9000
      environmentVariables:
        NAME: %s
      triggers:
        - triggerName: http
          triggerType: http
          triggerConfig:
            authType: anonymous
            methods: [GET]
`, service, fn, memory, image, env)
	s.cli("deploy", "-f", writeYAML(s.t, yaml))
}

func (s *server) getOK(path string) string {
	s.t.Helper()
	resp, body := s.do("GET", path, nil, nil)
	if resp.StatusCode != 200 {
		s.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return string(body)
}

// TestCustomContainer: an image built here, pulled from an in-process
// registry by one function and imported from a tarball for another, runs
// under runc: both containers on port 9000 at once, each answering for
// itself with its instance id as hostname, as the image's user in its
// working directory; a write in one is invisible to the other; a server
// on the host is reachable; a memory-limit kill answers 502
// UnhandledInvocationError saying so, and a fresh container serves next.
func TestCustomContainer(t *testing.T) {
	runcTool().mustFind(t)
	img := serverImage(t)
	pulled := pushImage(t, img, "e2e/ctr:v1")
	s := startServer(t, "")
	tarPath := filepath.Join(t.TempDir(), "ctr.tar")
	ref, _ := name.NewTag("example.com/e2e/ctr:v1")
	if err := tarball.WriteToFile(tarPath, ref, img); err != nil {
		t.Fatal(err)
	}
	s.cli("images", "import", tarPath)
	s.deployContainer("ctr", "pulled", pulled, 128, "pulled")
	s.deployContainer("ctr", "imported", "example.com/e2e/ctr:v1", 128, "imported")

	for _, fn := range []string{"pulled", "imported"} {
		body := s.getOK("/2016-08-15/proxy/ctr/" + fn + "/")
		if !strings.HasPrefix(body, fn+" ") {
			t.Fatalf("%s answered %q; want its own NAME (the function's env over the image's)", fn, body)
		}
		if got := s.getOK("/2016-08-15/proxy/ctr/" + fn + "/whoami"); got != "uid=1000 gid=1000 cwd=/data" {
			t.Errorf("%s runs as %q; want the image's user and working dir", fn, got)
		}
	}
	// Writes stay in the instance's own layer.
	s.getOK("/2016-08-15/proxy/ctr/pulled/write?f=/data/mine&v=pulled-wrote")
	if got := s.getOK("/2016-08-15/proxy/ctr/pulled/read?f=/data/mine"); got != "pulled-wrote" {
		t.Fatalf("read back %q", got)
	}
	if resp, body := s.do("GET", "/2016-08-15/proxy/ctr/imported/read?f=/data/mine", nil, nil); resp.StatusCode != 404 {
		t.Errorf("the other container sees the write: %d %q", resp.StatusCode, body)
	}
	// The host, through the instance's network.
	port := hostServer(t)
	if got := s.getOK(fmt.Sprintf("/2016-08-15/proxy/ctr/pulled/fetch?url=http://host.openfc.internal:%d/", port)); got != "from the host" {
		t.Errorf("container → host: %q", got)
	}
	// Out of memory: 256 MB in a 128 MB container.
	first := s.getOK("/2016-08-15/proxy/ctr/imported/")
	resp, body := s.do("GET", "/2016-08-15/proxy/ctr/imported/alloc?mb=256", nil, nil)
	e := decodeError(t, resp, body)
	if resp.StatusCode != 502 || resp.Header.Get("X-Fc-Error-Type") != "UnhandledInvocationError" || !strings.Contains(strings.ToLower(e.ErrorMessage), "out of memory") {
		t.Fatalf("memory-limit kill: %d %s %q; want 502 UnhandledInvocationError, out of memory", resp.StatusCode, resp.Header.Get("X-Fc-Error-Type"), e.ErrorMessage)
	}
	again := s.getOK("/2016-08-15/proxy/ctr/imported/")
	if again == first {
		t.Errorf("after the kill the same instance answered (%q); want a fresh one", again)
	}
}

// containerLeftovers lists what the server with dataDir left of its
// containers: runc state, mounts under its data dir, cgroups named after
// its owner id.
func containerLeftovers(t *testing.T, dataDir string) []string {
	t.Helper()
	var left []string
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], dataDir) {
			left = append(left, "mount "+f[4])
		}
	}
	owner := ownerID(dataDir)
	filepath.WalkDir("/sys/fs/cgroup", func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if strings.Contains(filepath.Base(p), owner) {
			left = append(left, "cgroup "+p)
			return filepath.SkipDir
		}
		return nil
	})
	runc := runcTool().mustFind(t)
	out, _ := exec.Command(runc, "--root", filepath.Join(dataDir, "run", "containers", "runc"), "list", "-q").Output()
	for _, id := range strings.Fields(string(out)) {
		left = append(left, "runc "+id)
	}
	return left
}

// TestCustomContainerCleanup: a stopped server leaves no container, mount,
// cgroup, link or rule; after kill -9 the next start removes what the
// killed run left.
func TestCustomContainerCleanup(t *testing.T) {
	runcTool().mustFind(t)
	ref := pushImage(t, serverImage(t), "e2e/clean:v1")
	data := t.TempDir()
	s := startServer(t, data)
	s.deployContainer("ctrclean", "fn", ref, 128, "x")
	s.getOK("/2016-08-15/proxy/ctrclean/fn/")
	if len(containerLeftovers(t, data)) == 0 {
		t.Fatal("no mount, cgroup or runc state while a container runs; the checks prove nothing")
	}
	s.stop()
	waitFor(t, 10*time.Second, func() error {
		if left := append(containerLeftovers(t, data), netLeftovers(t, data)...); len(left) > 0 {
			return fmt.Errorf("left after stop: %v", left)
		}
		return nil
	})

	s = startServer(t, data)
	s.getOK("/2016-08-15/proxy/ctrclean/fn/")
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	if len(containerLeftovers(t, data)) == 0 {
		t.Fatal("kill -9 left nothing behind; the restart proves nothing")
	}
	s = startServer(t, data)
	s.stop()
	waitFor(t, 10*time.Second, func() error {
		if left := append(containerLeftovers(t, data), netLeftovers(t, data)...); len(left) > 0 {
			return fmt.Errorf("left after kill -9, restart and stop: %v", left)
		}
		return nil
	})
}

// TestIsolationContainer: with --isolation container a custom-runtime
// function runs under runc with the host's root read-only and its code at
// /code (its working directory and FC_FUNC_CODE_PATH); the data dir is
// hidden from it.
func TestIsolationContainer(t *testing.T) {
	runcTool().mustFind(t)
	code := goBootstrap(t, "./test/e2e/testdata/ctrserver")
	data := t.TempDir()
	s := startServer(t, data, "--isolation", "container")
	s.deployEcho(echoOpts{service: "iso", name: "ctr", code: code, command: "[./bootstrap]"})
	if got := s.getOK("/2016-08-15/proxy/iso/ctr/whoami"); got != "uid=0 gid=0 cwd=/code" {
		t.Errorf("whoami: %q; want root in /code", got)
	}
	if got := s.getOK("/2016-08-15/proxy/iso/ctr/env?k=FC_FUNC_CODE_PATH"); got != "/code" {
		t.Errorf("FC_FUNC_CODE_PATH=%q; want /code", got)
	}
	for _, f := range []string{"/code/x", "/etc/x", "/x"} {
		resp, body := s.do("GET", "/2016-08-15/proxy/iso/ctr/write?f="+f+"&v=1", nil, nil)
		if resp.StatusCode != 500 || !strings.Contains(string(body), "read-only") {
			t.Errorf("write %s: %d %q; want a read-only file system", f, resp.StatusCode, body)
		}
	}
	if got := s.getOK("/2016-08-15/proxy/iso/ctr/write?f=/tmp/x&v=1"); got != "written" {
		t.Errorf("write /tmp: %q", got)
	}
	if resp, body := s.do("GET", "/2016-08-15/proxy/iso/ctr/read?f="+filepath.Join(data, "credentials.json"), nil, nil); resp.StatusCode != 404 {
		t.Errorf("the data dir is visible: %d %q", resp.StatusCode, body)
	}
	if out := s.cli("instances"); !strings.Contains(out, "169.254.") {
		t.Errorf("the container has no address of its own:\n%s", out)
	}
}

// TestBuiltinRuntimesInContainers: with --isolation container, built-in
// runtimes run under runc too: the bootstrap, kept in the data directory
// the container hides, is bound back read-only, and the handler answers;
// the rest of the data directory stays out of sight.
func TestBuiltinRuntimesInContainers(t *testing.T) {
	runcTool().mustFind(t)
	data := t.TempDir()
	s := startServerEnv(t, data, []string{pythonEnv(t)}, "--isolation", "container")
	deployNodeFC2(s, "ctrrt", "node", 1)
	deployPy(s, "ctrrt", "py", 1)
	if body := s.getOK("/2016-08-15/proxy/ctrrt/node/init"); !strings.Contains(body, `"inits":1`) {
		t.Errorf("node in a container: %s", body)
	}
	var init struct{ InitCalls int }
	if err := json.Unmarshal([]byte(s.getOK("/2016-08-15/proxy/ctrrt/py/init")), &init); err != nil || init.InitCalls != 1 {
		t.Errorf("python in a container: initializer ran %d times (%v)", init.InitCalls, err)
	}
	resp, body := s.do("GET", "/2016-08-15/proxy/ctrrt/py/boom", nil, nil)
	if resp.StatusCode != 502 || resp.Header.Get("X-Fc-Error-Type") != "UnhandledInvocationError" {
		t.Errorf("python exception in a container: %d %q %s", resp.StatusCode, resp.Header.Get("X-Fc-Error-Type"), body)
	}
	for _, ref := range []string{"ctrrt/node", "ctrrt/py"} {
		if out := s.cli("instances", ref); !strings.Contains(out, "169.254.") {
			t.Errorf("%s has no address of its own:\n%s", ref, out)
		}
	}
	// The bootstraps end on SIGTERM, pid 1 of their containers or not:
	// the server stops without waiting out the stop grace (10 s).
	began := time.Now()
	s.stop()
	if d := time.Since(began); d > 8*time.Second {
		t.Errorf("the server took %v to stop its built-in containers", d)
	}
}
