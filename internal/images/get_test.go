package images

import (
	"archive/tar"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// twoLayers is an image whose top layer whites out, makes opaque and
// hard links what the base layer has.
func twoLayers(t *testing.T) (base, top []file) {
	base = []file{
		{name: "app/", typ: tar.TypeDir},
		{name: "app/server", body: "#!server", mode: 0o755},
		{name: "etc/", typ: tar.TypeDir, mode: 0o750},
		{name: "etc/old", body: "old"},
		{name: "data/", typ: tar.TypeDir},
		{name: "data/x", body: "x"},
		{name: "bin/sh", typ: tar.TypeSymlink, link: "/bin/busybox"}, // bin/ is implied
		{name: "suid", body: "s", mode: 0o4755, uid: 1000, gid: 1001},
		{name: "dev/null", typ: tar.TypeChar},
		{name: "./", typ: tar.TypeDir, mode: 0o755},
	}
	top = []file{
		{name: "etc/.wh.old"},
		{name: "data/", typ: tar.TypeDir},
		{name: "data/.wh..wh..opq"},
		{name: "data/y", body: "y"},
		{name: "app/server2", body: "two", mode: 0o700},
		{name: "app/hard", typ: tar.TypeLink, link: "app/server2"},
		{name: "lib/rel", typ: tar.TypeSymlink, link: "../app/server2"},
	}
	return base, top
}

func TestGetPullsAndUnpacks(t *testing.T) {
	ctx := testCtx(t)
	e := newEnv(t)
	rs := newRegistry(t)
	base, top := twoLayers(t)
	src := image(t, layer(t, base...), layer(t, top...))
	ref := rs.push(t, "test/app:v1", src)

	img, release, err := e.store.Get(ctx, ref, nil)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer release()
	want, _ := src.Digest()
	if img.Ref != ref || img.Digest != want.String() {
		t.Errorf("Ref, Digest = %s, %s; want %s, %s", img.Ref, img.Digest, ref, want)
	}
	c := img.Config
	if !slices.Equal(c.Entrypoint, []string{"/app/server"}) || !slices.Equal(c.Cmd, []string{"--port", "9000"}) ||
		!slices.Equal(c.Env, []string{"PATH=/usr/bin", "MODE=test"}) || c.User != "1000:1000" || c.WorkingDir != "/app" ||
		!slices.Equal(c.ExposedPorts, []string{"9000/tcp"}) {
		t.Errorf("Config = %+v", c)
	}
	if len(img.Layers) != 2 {
		t.Fatalf("Layers = %v", img.Layers)
	}
	low, up := img.Layers[0], img.Layers[1]
	if filepath.Dir(low) != filepath.Join(e.cache, "layers") || strings.Contains(low, ":") {
		t.Errorf("layer dir %s: want CacheDir/layers/<hex> (no ':', which overlayfs options split on)", low)
	}

	wantFile(t, filepath.Join(low, "app/server"), "#!server", 0o755)
	wantFile(t, filepath.Join(low, "suid"), "s", 0o755|os.ModeSetuid)
	if st := stat(t, filepath.Join(low, "suid")); st.Uid != 1000 || st.Gid != 1001 {
		t.Errorf("suid owner = %d:%d, want 1000:1001", st.Uid, st.Gid)
	}
	if l, err := os.Readlink(filepath.Join(low, "bin/sh")); err != nil || l != "/bin/busybox" {
		t.Errorf("bin/sh -> %q, %v", l, err)
	}
	if _, err := os.Lstat(filepath.Join(low, "dev/null")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a device was created: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(low, "etc")); err != nil || fi.Mode().Perm() != 0o750 || !fi.ModTime().Equal(time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)) {
		t.Errorf("etc: %v %v", fi, err)
	}

	// Whiteout: a 0/0 character device; opaque: the overlay xattr.
	fi, err := os.Lstat(filepath.Join(up, "etc/old"))
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 || stat(t, filepath.Join(up, "etc/old")).Rdev != 0 {
		t.Errorf("etc/old is not a whiteout: %v %v", fi, err)
	}
	buf := make([]byte, 8)
	if n, err := unix.Lgetxattr(filepath.Join(up, "data"), "trusted.overlay.opaque", buf); err != nil || string(buf[:n]) != "y" {
		t.Errorf("data opaque xattr = %q, %v", buf[:n], err)
	}
	wantFile(t, filepath.Join(up, "data/y"), "y", 0o644)
	if stat(t, filepath.Join(up, "app/hard")).Ino != stat(t, filepath.Join(up, "app/server2")).Ino {
		t.Error("app/hard is not a hard link of app/server2")
	}
	if l, _ := os.Readlink(filepath.Join(up, "lib/rel")); l != "../app/server2" {
		t.Errorf("lib/rel -> %q", l)
	}

	// Stored: another node (a store on the same JetStream with its own
	// cache) gets it with the registry gone.
	rs.close()
	other, err := New(ctx, Options{JS: e.nats.JS, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	img2, release2, err := other.Get(ctx, ref, nil)
	if err != nil {
		t.Fatalf("Get on another node without the registry: %v", err)
	}
	release2()
	wantFile(t, filepath.Join(img2.Layers[1], "app/server2"), "two", 0o700)
	recs, err := e.store.List(ctx)
	if err != nil || len(recs) != 1 || recs[0].Source != SourcePull || recs[0].Ref != ref {
		t.Errorf("List = %+v, %v", recs, err)
	}
}

func TestSharedLayerStoredOnce(t *testing.T) {
	ctx := testCtx(t)
	e := newEnv(t)
	rs := newRegistry(t)
	base := layer(t, file{name: "shared", body: "base"})
	a := rs.push(t, "a:1", image(t, base, layer(t, file{name: "a", body: "a"})))
	b := rs.push(t, "b:1", image(t, base, layer(t, file{name: "b", body: "b"})))
	imgA, relA, err := e.store.Get(ctx, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer relA()
	imgB, relB, err := e.store.Get(ctx, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer relB()
	if imgA.Layers[0] != imgB.Layers[0] || imgA.Layers[1] == imgB.Layers[1] {
		t.Errorf("layers: %v and %v; want the base shared", imgA.Layers, imgB.Layers)
	}
	// The shared layer, two top layers, two configs, two manifests.
	objs, err := e.store.blobs.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 7 {
		names := []string{}
		for _, o := range objs {
			names = append(names, o.Name)
		}
		t.Errorf("%d blobs stored, want 7: %v", len(objs), names)
	}
}

func TestConcurrentGetsPullOnce(t *testing.T) {
	ctx := testCtx(t)
	e := newEnv(t)
	rs := newRegistry(t)
	ref := rs.push(t, "c:1", image(t, layer(t, file{name: "f", body: "f"})))
	before := rs.manifestGets()
	var wg sync.WaitGroup
	dirs := make([]string, 4)
	for i := range dirs {
		wg.Go(func() {
			img, release, err := e.store.Get(ctx, ref, nil)
			if err != nil {
				t.Errorf("Get: %v", err)
				return
			}
			defer release()
			dirs[i] = img.Layers[0]
		})
	}
	wg.Wait()
	if n := rs.manifestGets() - before; n != 1 {
		t.Errorf("%d manifest fetches, want 1", n)
	}
	for _, d := range dirs {
		if d != dirs[0] {
			t.Errorf("layer dirs differ: %v", dirs)
		}
	}
}

func TestGetNotFound(t *testing.T) {
	ctx := testCtx(t)
	e := newEnv(t)
	rs := newRegistry(t)
	for _, ref := range []string{rs.host + "/nope:1", "127.0.0.1:1/gone:1"} {
		_, _, err := e.store.Get(ctx, ref, nil)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("Get %s: %v, want ErrNotFound", ref, err)
		}
	}
	if _, _, err := e.store.Get(ctx, "Bad Ref!", nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("Get of a malformed reference: %v", err)
	}
}

func TestGetAfterCloseFails(t *testing.T) {
	e := newEnv(t)
	e.store.Close()
	if _, _, err := e.store.Get(testCtx(t), "x:1", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                               "docker.io/library/busybox:latest",
		"busybox:1.36":                          "docker.io/library/busybox:1.36",
		"docker.io/library/busybox:latest":      "docker.io/library/busybox:latest",
		"index.docker.io/library/busybox":       "docker.io/library/busybox:latest",
		"user/app":                              "docker.io/user/app:latest",
		"127.0.0.1:5000/app":                    "127.0.0.1:5000/app:latest",
		"registry.example.com/ns/app:v2":        "registry.example.com/ns/app:v2",
		"app@sha256:" + strings.Repeat("a", 64): "docker.io/library/app@sha256:" + strings.Repeat("a", 64),
	} {
		got, err := Normalize(in)
		if err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "UPPER/case", "a@sha256:short", "a@md5:" + strings.Repeat("a", 32)} {
		if _, err := Normalize(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Normalize(%q): %v, want ErrInvalid", bad, err)
		}
	}
}

func wantFile(t *testing.T, p, body string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil || string(b) != body {
		t.Errorf("%s = %q, %v; want %q", p, b, err, body)
		return
	}
	fi, _ := os.Lstat(p)
	if got := fi.Mode() & (os.ModePerm | os.ModeSetuid); got != mode {
		t.Errorf("%s mode = %v, want %v", p, got, mode)
	}
}

func stat(t *testing.T, p string) *syscall.Stat_t {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t)
}

// An image that repeats a layer (an empty one, say) stacks it once, at
// its highest place: overlayfs refuses a lower directory twice.
func TestGetStacksRepeatedLayersOnce(t *testing.T) {
	ctx := testCtx(t)
	e := newEnv(t)
	rs := newRegistry(t)
	empty := layer(t)
	a := layer(t, file{name: "a", body: "a"})
	ref := rs.push(t, "rep:1", image(t, empty, a, empty))
	img, release, err := e.store.Get(ctx, ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if len(img.Layers) != 2 || img.Layers[0] == img.Layers[1] {
		t.Fatalf("Layers = %v", img.Layers)
	}
	wantFile(t, filepath.Join(img.Layers[0], "a"), "a", 0o644)
}
