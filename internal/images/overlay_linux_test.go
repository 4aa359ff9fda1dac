package images

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The unpacked layers are overlayfs lower directories as they are: the
// whiteout hides the base layer's file, the opaque directory its
// contents, and the top layer's files win. (Needs root, as make test.)
func TestLayersMountAsOverlay(t *testing.T) {
	ctx := testCtx(t)
	e := newEnv(t)
	rs := newRegistry(t)
	base, top := twoLayers(t)
	ref := rs.push(t, "ovl:1", image(t, layer(t, base...), layer(t, top...)))
	img, release, err := e.store.Get(ctx, ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	dir := t.TempDir()
	upper, work, merged := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "merged")
	for _, d := range []string{upper, work, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	lower := slices.Clone(img.Layers)
	slices.Reverse(lower) // overlayfs lists the top layer first
	opts := "lowerdir=" + strings.Join(lower, ":") + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Fatalf("mounting the layers as overlayfs (as root): %v", err)
	}
	defer unix.Unmount(merged, unix.MNT_DETACH)

	if _, err := os.Lstat(filepath.Join(merged, "etc/old")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("etc/old is not whited out: %v", err)
	}
	entries, err := os.ReadDir(filepath.Join(merged, "data"))
	if err != nil || len(entries) != 1 || entries[0].Name() != "y" {
		t.Errorf("data (opaque) holds %v, %v; want only y", entries, err)
	}
	wantFile(t, filepath.Join(merged, "app/server"), "#!server", 0o755)
	wantFile(t, filepath.Join(merged, "app/hard"), "two", 0o700)
	if l, _ := os.Readlink(filepath.Join(merged, "bin/sh")); l != "/bin/busybox" {
		t.Errorf("bin/sh -> %q", l)
	}
	// A write lands in the upper directory, not in the shared layers.
	if err := os.WriteFile(filepath.Join(merged, "app/server"), []byte("changed"), 0o755); err != nil {
		t.Fatal(err)
	}
	wantFile(t, filepath.Join(img.Layers[0], "app/server"), "#!server", 0o755)
}
