package instance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/images"
	"github.com/openfc/openfc/internal/sandbox"
)

// fakeImages serves one image and counts the holds on it.
type fakeImages struct {
	mu    sync.Mutex
	img   images.Image
	err   error
	held  int
	refs  []string
	auths []*images.Auth
}

func (f *fakeImages) Image(ctx context.Context, ref string, auth *images.Auth) (*images.Image, func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refs, f.auths = append(f.refs, ref), append(f.auths, auth)
	if f.err != nil {
		return nil, nil, f.err
	}
	f.held++
	img := f.img
	img.Ref = ref
	var once sync.Once
	return &img, func() {
		once.Do(func() {
			f.mu.Lock()
			f.held--
			f.mu.Unlock()
		})
	}, nil
}

func (f *fakeImages) holds() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.held
}

func testImage() images.Image {
	return images.Image{Digest: "sha256:abc", Layers: []string{"/cache/l1", "/cache/l2"},
		Config: images.Config{Entrypoint: []string{"/bin/server"}, Cmd: []string{"--port", "9000"},
			Env: []string{"PATH=/usr/bin:/bin", "APP_MODE=image", "SHARED=image", "FC_REGION=spoofed"}, User: "1000:1000", WorkingDir: "/srv"}}
}

func containerFn(name string) *fc.Function {
	return &fc.Function{ServiceName: "s", FunctionName: name, Runtime: fc.RuntimeCustomContainer, InstanceConcurrency: 1, Timeout: 3, MemorySize: 256,
		EnvironmentVariables:  map[string]string{"SHARED": "function", "OWN": "1"},
		CustomContainerConfig: &fc.CustomContainerConfig{Image: "registry.example.com/app:v1"}}
}

func envMap(env []string) map[string]string {
	out := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := out[k]; dup {
			out[k] = "DUPLICATE"
			continue
		}
		out[k] = v
	}
	return out
}

// A custom-container function runs its image: its layers, user, working
// directory and command; the image's env, then the function's, then
// FC's; its port and memory; no code.
func TestContainerSpec(t *testing.T) {
	imgs := &fakeImages{img: testImage()}
	m, sb := newMgr(t, Options{Images: imgs, Region: "cn-hangzhou"})
	fn := containerFn("ctr")
	fn.CAPort = 8080
	fn.CustomContainerConfig.RegistryConfig = &fc.RegistryConfig{AuthConfig: &fc.RegistryAuthConfig{UserName: "u", Password: "p"}}
	l := mustAcquire(t, m, fn, "r1")
	spec := sb.byID(l.InstanceID()).spec
	root := spec.Root
	if root == nil || !slices.Equal(root.Layers, []string{"/cache/l1", "/cache/l2"}) || root.User != "1000:1000" || root.WorkingDir != "/srv" {
		t.Fatalf("Root = %+v", root)
	}
	if !slices.Equal(spec.Command, []string{"/bin/server", "--port", "9000"}) || spec.Dir != "" || spec.Port != 8080 || spec.MemoryMB != 256 {
		t.Errorf("spec: command %q dir %q port %d memory %d", spec.Command, spec.Dir, spec.Port, spec.MemoryMB)
	}
	env := envMap(spec.Env)
	for k, want := range map[string]string{"PATH": "/usr/bin:/bin", "APP_MODE": "image", "SHARED": "function", "OWN": "1",
		"FC_REGION": "cn-hangzhou", "FC_FUNCTION_NAME": "ctr", "FC_INSTANCE_ID": l.InstanceID(), "FC_FUNCTION_MEMORY_SIZE": "256"} {
		if env[k] != want {
			t.Errorf("env %s = %q; want %q", k, env[k], want)
		}
	}
	if _, ok := env["FC_FUNC_CODE_PATH"]; ok {
		t.Errorf("an image has no code path: %v", env)
	}
	if !slices.Contains(spec.PortEnv, "FC_SERVER_PORT") {
		t.Errorf("PortEnv %q", spec.PortEnv)
	}
	if len(imgs.auths) != 1 || imgs.auths[0] == nil || *imgs.auths[0] != (images.Auth{Username: "u", Password: "p"}) || imgs.refs[0] != "registry.example.com/app:v1" {
		t.Errorf("image asked as %q with %+v", imgs.refs, imgs.auths)
	}
	// The image is held while the instance lives, and given back once it
	// has stopped.
	if imgs.holds() != 1 {
		t.Fatalf("image held %d times; want 1", imgs.holds())
	}
	l.Release()
	m.Forget(fn.ServiceName, fn.FunctionName)
	waitFor(t, "the image to be released", func() bool { return imgs.holds() == 0 })
}

// The command of a container: Docker's rule of entrypoint and arguments.
func TestContainerCommand(t *testing.T) {
	img := images.Config{Entrypoint: []string{"/entry"}, Cmd: []string{"cmd"}}
	for _, tt := range []struct {
		name          string
		command, args []string
		img           images.Config
		want          []string
	}{
		{"image's", nil, nil, img, []string{"/entry", "cmd"}},
		{"new entrypoint drops CMD", []string{"/other"}, nil, img, []string{"/other"}},
		{"new arguments keep ENTRYPOINT", nil, []string{"a"}, img, []string{"/entry", "a"}},
		{"both", []string{"/other"}, []string{"a"}, img, []string{"/other", "a"}},
		{"CMD only image", nil, []string{"/bin/sh", "-c", "x"}, images.Config{Cmd: []string{"/app"}}, []string{"/bin/sh", "-c", "x"}},
		{"nothing", nil, nil, images.Config{}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &fc.CustomContainerConfig{Command: tt.command, Args: tt.args}
			if got := containerCommand(c, tt.img); !slices.Equal(got, tt.want) {
				t.Errorf("got %q; want %q", got, tt.want)
			}
		})
	}
}

// A container that cannot start says why: no image store, an image that
// cannot be got, an image with nothing to run, no runc on the node.
func TestContainerStartErrors(t *testing.T) {
	ctx := context.Background()
	m, _ := newMgr(t, Options{})
	_, err := m.Acquire(ctx, containerFn("nostore"), "r")
	if fe := fcErr(t, err, fc.CodeFunctionNotStarted); !strings.Contains(fe.Message, "no image store") {
		t.Errorf("message %q", fe.Message)
	}

	imgs := &fakeImages{err: errors.New("manifest unknown")}
	m, _ = newMgr(t, Options{Images: imgs})
	_, err = m.Acquire(ctx, containerFn("missing"), "r")
	if fe := fcErr(t, err, fc.CodeFunctionNotStarted); !strings.Contains(fe.Message, "registry.example.com/app:v1: manifest unknown") {
		t.Errorf("message %q", fe.Message)
	}

	imgs = &fakeImages{img: images.Image{Layers: []string{"/l"}}}
	m, _ = newMgr(t, Options{Images: imgs})
	_, err = m.Acquire(ctx, containerFn("empty"), "r")
	if fe := fcErr(t, err, fc.CodeFunctionNotStarted); !strings.Contains(fe.Message, "no ENTRYPOINT or CMD") {
		t.Errorf("message %q", fe.Message)
	}
	if imgs.holds() != 0 {
		t.Errorf("a failed start left the image held %d times", imgs.holds())
	}

	imgs = &fakeImages{img: testImage()}
	sb := &fakeSandbox{failStart: fmt.Errorf("sandbox: start instance x: %w", sandbox.ErrNoRuntime)}
	m, _ = newMgr(t, Options{Images: imgs, Sandbox: sb})
	_, err = m.Acquire(ctx, containerFn("norunc"), "r")
	if fe := fcErr(t, err, fc.CodeFunctionNotStarted); fe.Message != "The function cannot be started: runc is not installed on this node (apt-get install runc)" {
		t.Errorf("message %q", fe.Message)
	}
	if imgs.holds() != 0 {
		t.Errorf("a failed start left the image held %d times", imgs.holds())
	}
}

// With --isolation container, custom runtimes run in containers too: the
// host's root with the code at /code.
func TestRuntimeInContainer(t *testing.T) {
	m, sb := newMgr(t, Options{RuntimesInContainers: true})
	l := mustAcquire(t, m, testFn(1), "r")
	defer l.Release()
	spec := sb.byID(l.InstanceID()).spec
	if spec.Root == nil || len(spec.Root.Layers) != 0 || spec.Dir != "/tmp" || !slices.Equal(spec.Command, []string{"x"}) || spec.MemoryMB != 128 {
		t.Fatalf("spec: root %+v dir %q command %q memory %d", spec.Root, spec.Dir, spec.Command, spec.MemoryMB)
	}
	env := envMap(spec.Env)
	if env["FC_FUNC_CODE_PATH"] != "/code" || env["HOME"] != "/tmp" {
		t.Errorf("env %v", env)
	}

	// Without it, a plain process in the code directory.
	m2, sb2 := newMgr(t, Options{})
	l2 := mustAcquire(t, m2, testFn(1), "r")
	defer l2.Release()
	spec = sb2.byID(l2.InstanceID()).spec
	if spec.Root != nil || envMap(spec.Env)["FC_FUNC_CODE_PATH"] != "/tmp" {
		t.Errorf("process spec: root %+v env %v", spec.Root, spec.Env)
	}
}

// A container killed by its memory limit fails the request in flight with
// the memory message, and is replaced by a fresh instance.
func TestContainerOutOfMemory(t *testing.T) {
	imgs := &fakeImages{img: testImage()}
	m, sb := newMgr(t, Options{Images: imgs})
	fn := containerFn("oom")
	l := mustAcquire(t, m, fn, "r1")
	in := sb.byID(l.InstanceID())
	in.exitErr = fmt.Errorf("container %s: %w", in.id, sandbox.ErrOutOfMemory)
	in.exit()
	exited, err := l.Exited(waitLimit)
	if !exited {
		t.Fatal("Exited did not see the exit")
	}
	var fe *fc.Error
	if !errors.As(err, &fe) || fe.Code.Status() != 502 || fe.Code.Type() != fc.UnhandledInvocationError ||
		!strings.HasPrefix(fe.Message, "Function ran out of memory (memorySize 256 MB)") || !errors.Is(err, sandbox.ErrOutOfMemory) {
		t.Fatalf("Exited error %v; want a 502 UnhandledInvocationError saying the function ran out of memory", err)
	}
	l.Release()
	waitFor(t, "the killed instance gone", func() bool { return len(m.ListInstances("", "")) == 0 })
	l2 := mustAcquire(t, m, fn, "r2")
	defer l2.Release()
	if l2.InstanceID() == l.InstanceID() || sb.count() != 2 {
		t.Fatalf("not replaced: %s after %s, %d started", l2.InstanceID(), l.InstanceID(), sb.count())
	}
	waitFor(t, "the killed instance's image released", func() bool { return imgs.holds() == 1 })
}
