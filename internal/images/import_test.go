package images

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// saveTarball writes img as a `docker save`-style tarball tagged tag.
func saveTarball(t *testing.T, tag string, img v1.Image) []byte {
	t.Helper()
	r, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tarball.Write(r, img, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImportDockerTarball(t *testing.T) {
	ctx := testCtx(t)
	e := newEnv(t)
	base, top := twoLayers(t)
	img := image(t, layer(t, base...), layer(t, top...))
	tb := saveTarball(t, "example.com/app:v1", img)
	p := filepath.Join(t.TempDir(), "app.tar")
	if err := os.WriteFile(p, tb, 0o600); err != nil {
		t.Fatal(err)
	}

	var last, total int64
	recs, err := e.store.ImportPath(ctx, p, ImportOptions{Progress: func(d, tot int64) { last, total = d, tot }})
	if err != nil {
		t.Fatalf("ImportPath: %v", err)
	}
	if len(recs) != 1 || recs[0].Ref != "example.com/app:v1" || recs[0].Source != SourceImport || recs[0].Size <= 0 {
		t.Fatalf("records = %+v", recs)
	}
	if last != total || total != recs[0].Size {
		t.Errorf("progress ended at %d/%d, size %d", last, total, recs[0].Size)
	}

	// Streamed, under another name.
	recs, err = e.store.Import(ctx, bytes.NewReader(tb), ImportOptions{Ref: "myapp"})
	if err != nil || len(recs) != 1 || recs[0].Ref != "docker.io/library/myapp:latest" {
		t.Fatalf("Import = %+v, %v", recs, err)
	}
	got, release, err := e.store.Get(ctx, "myapp:latest", nil) // no registry: it is stored
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer release()
	wantFile(t, filepath.Join(got.Layers[0], "app/server"), "#!server", 0o755)
	if got.Config.WorkingDir != "/app" {
		t.Errorf("Config = %+v", got.Config)
	}
	if entries, _ := os.ReadDir(filepath.Join(e.cache, "tmp")); len(entries) != 0 {
		t.Errorf("the upload was left in tmp: %v", entries)
	}

	if _, err := e.store.Import(ctx, bytes.NewReader(tb), ImportOptions{Ref: "x@sha256:" + strings.Repeat("0", 64)}); !errors.Is(err, ErrInvalid) {
		t.Errorf("import under a digest reference: %v", err)
	}
	if _, err := e.store.Import(ctx, strings.NewReader("not a tarball"), ImportOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("import of garbage: %v", err)
	}
}

func TestImportUnnamedNeedsRef(t *testing.T) {
	ctx := testCtx(t)
	e := newEnv(t)
	img := image(t, layer(t, file{name: "f", body: "f"}))
	var buf bytes.Buffer
	if err := tarball.Write(nil, img, &buf); err != nil {
		t.Fatal(err)
	}
	_, err := e.store.Import(ctx, bytes.NewReader(buf.Bytes()), ImportOptions{})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "--ref") {
		t.Errorf("import of an unnamed image: %v", err)
	}
}

func TestImportOCILayout(t *testing.T) {
	ctx := testCtx(t)
	e := newEnv(t)
	dir := t.TempDir()
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	amd := image(t, layer(t, file{name: "arch", body: "amd64"}))
	arm := platformImage(t, "arm64", layer(t, file{name: "arch", body: "arm64"}))
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"io.containerd.image.name":          "example.com/multi:1",
		"org.opencontainers.image.ref.name": "1",
	})); err != nil {
		t.Fatal(err)
	}
	single := image(t, layer(t, file{name: "single", body: "s"}))
	if err := lp.AppendImage(single, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "example.com/single:2"})); err != nil {
		t.Fatal(err)
	}

	recs, err := e.store.ImportPath(ctx, dir, ImportOptions{})
	if err != nil {
		t.Fatalf("ImportPath of a layout dir: %v", err)
	}
	amdDigest, _ := amd.Digest()
	singleDigest, _ := single.Digest()
	if len(recs) != 2 || recs[0].Ref != "example.com/multi:1" || recs[0].Digest != amdDigest.String() ||
		recs[1].Ref != "example.com/single:2" || recs[1].Digest != singleDigest.String() {
		t.Fatalf("records = %+v (amd64 %s)", recs, amdDigest)
	}

	// The same layout as an OCI archive stream (what the CLI sends for a
	// directory), under one name: refused, as it holds two images.
	if _, err := e.store.Import(ctx, bytes.NewReader(tarDir(t, dir)), ImportOptions{Ref: "one:1"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("one --ref for two images: %v", err)
	}
	recs, err = e.store.Import(ctx, bytes.NewReader(tarDir(t, dir)), ImportOptions{})
	if err != nil || len(recs) != 2 {
		t.Fatalf("Import of an OCI archive: %+v, %v", recs, err)
	}
	img, release, err := e.store.Get(ctx, "example.com/multi:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	release()
	wantFile(t, filepath.Join(img.Layers[0], "arch"), "amd64", 0o644)
}

func TestImportRefusesOtherPlatforms(t *testing.T) {
	ctx := testCtx(t)
	e := newEnv(t)
	tb := saveTarball(t, "example.com/arm:1", platformImage(t, "arm64", layer(t, file{name: "f"})))
	_, err := e.store.Import(ctx, bytes.NewReader(tb), ImportOptions{})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "linux/arm64") {
		t.Errorf("import of an arm64 image: %v", err)
	}
}

func TestImportRejectsUnsafeLayers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []file
		entry string
	}{
		{"dot-dot", []file{{name: "../../etc/x", body: "x"}}, "../../etc/x"},
		{"absolute", []file{{name: "/etc/x", body: "x"}}, "/etc/x"},
		{"symlink escape", []file{{name: "a/b", typ: tar.TypeSymlink, link: "../../../etc"}}, "a/b"},
		{"hard link outside", []file{{name: "h", typ: tar.TypeLink, link: "../etc/passwd"}}, "h"},
		{"hard link absolute", []file{{name: "h", typ: tar.TypeLink, link: "/etc/passwd"}}, "h"},
		{"hard link to nothing", []file{{name: "h", typ: tar.TypeLink, link: "missing"}}, "h"},
		{"through a symlink", []file{{name: "s", typ: tar.TypeSymlink, link: "/etc"}, {name: "s/passwd", body: "p"}}, "s/passwd"},
		{"through a file", []file{{name: "f", body: "f"}, {name: "f/x", body: "x"}}, "f/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			e := newEnv(t)
			tb := saveTarball(t, "example.com/bad:1", image(t, layer(t, file{name: "ok", body: "ok"}), layer(t, tc.files...)))
			_, err := e.store.Import(ctx, bytes.NewReader(tb), ImportOptions{})
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"`+tc.entry+`"`) {
				t.Fatalf("Import: %v; want ErrInvalid naming %q", err, tc.entry)
			}
			t.Logf("refused: %v", err)
			if recs, _ := e.store.List(ctx); len(recs) != 0 {
				t.Errorf("records written: %+v", recs)
			}
			// The good layer went in before the bad one was read; the bad
			// one, the config and the manifest did not.
			if objs, _ := e.store.blobs.List(ctx); len(objs) > 1 {
				t.Errorf("%d blobs stored, want at most the good layer", len(objs))
			}
		})
	}
}

// The unpacker applies the rules again (a store another version wrote),
// and writes nothing outside its directory.
func TestExtractRejectsUnsafeEntries(t *testing.T) {
	for _, files := range [][]file{
		{{name: "../x", body: "x"}},
		{{name: "s", typ: tar.TypeSymlink, link: ".."}, {name: "s/x", body: "x"}},
		{{name: "s", typ: tar.TypeSymlink, link: "/tmp"}, {name: "s/x", body: "x"}},
	} {
		parent := t.TempDir()
		root := filepath.Join(parent, "root")
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := extractLayer(bytes.NewReader(tarBytes(t, files...)), root)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%v: extract: %v, want ErrInvalid", files, err)
		}
		if _, err := os.Stat(filepath.Join(parent, "x")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%v: wrote outside the layer", files)
		}
	}
}

// platformImage is image for another architecture.
func platformImage(t *testing.T, arch string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img := image(t, layers...)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Architecture = arch
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// tarDir tars a directory as the CLI streams an OCI layout.
func tarDir(t *testing.T, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if d.Type().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Directories a layer implies are rwxr-xr-x whatever the umask: the
// container's user walks them.
func TestExtractImpliedDirsIgnoreUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	root := filepath.Join(t.TempDir(), "root")
	if err := mkdir755(root); err != nil {
		t.Fatal(err)
	}
	if _, err := extractLayer(bytes.NewReader(tarBytes(t, file{name: "a/b/c", body: "c"})), root); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{root, filepath.Join(root, "a"), filepath.Join(root, "a/b")} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v %v, want rwxr-xr-x", p, fi.Mode(), err)
		}
	}
	wantFile(t, filepath.Join(root, "a/b/c"), "c", 0o644)
}

// A `docker save` tarball as Docker before 25 wrote it: uncompressed
// layer.tar files in per-layer directories, a layer two images share
// stored once and symbolically linked from the other's directory.
func TestImportLegacyDockerSave(t *testing.T) {
	ctx := testCtx(t)
	e := newEnv(t)
	shared := tarBytes(t, file{name: "shared", body: "s"})
	own := tarBytes(t, file{name: "own", body: "o"})
	config := func(diffIDs ...[]byte) []byte {
		ids := []string{}
		for _, d := range diffIDs {
			ids = append(ids, `"`+digestBytes(d)+`"`)
		}
		return []byte(`{"architecture":"amd64","os":"linux","config":{"Cmd":["/own"]},"rootfs":{"type":"layers","diff_ids":[` + strings.Join(ids, ",") + `]}}`)
	}
	c1, c2 := config(shared), config(shared, own)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body []byte) {
		h.Size = int64(len(body))
		if h.Typeflag == 0 {
			h.Typeflag, h.Mode = tar.TypeReg, 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	add(&tar.Header{Name: "a/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	add(&tar.Header{Name: "a/layer.tar"}, shared)
	add(&tar.Header{Name: "b/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	add(&tar.Header{Name: "b/layer.tar", Typeflag: tar.TypeSymlink, Linkname: "../a/layer.tar"}, nil)
	add(&tar.Header{Name: "c/layer.tar"}, own)
	add(&tar.Header{Name: "c1.json"}, c1)
	add(&tar.Header{Name: "c2.json"}, c2)
	add(&tar.Header{Name: "manifest.json"}, []byte(`[
		{"Config":"c1.json","RepoTags":["one:1"],"Layers":["a/layer.tar"]},
		{"Config":"c2.json","RepoTags":["two:1","two:latest"],"Layers":["b/layer.tar","c/layer.tar"]}]`))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}

	recs, err := e.store.Import(ctx, &buf, ImportOptions{})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if got := []string{recs[0].Ref, recs[1].Ref, recs[2].Ref}; !slices.Equal(got, []string{"docker.io/library/one:1", "docker.io/library/two:1", "docker.io/library/two:latest"}) {
		t.Errorf("refs = %v", got)
	}
	// The shared layer is one blob, stored uncompressed under its diff ID.
	names := e.blobNames(t)
	if !slices.Contains(names, digestBytes(shared)) || len(names) != 6 { // 2 layers, 2 configs, 2 manifests
		t.Errorf("blobs = %v", names)
	}
	img, release, err := e.store.Get(ctx, "two", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	wantFile(t, filepath.Join(img.Layers[0], "shared"), "s", 0o644)
	wantFile(t, filepath.Join(img.Layers[1], "own"), "o", 0o644)
	if !slices.Equal(img.Config.Cmd, []string{"/own"}) {
		t.Errorf("Config = %+v", img.Config)
	}
}

func TestImportZstdLayer(t *testing.T) {
	ctx := testCtx(t)
	e := newEnv(t)
	b := tarBytes(t, file{name: "z", body: "zstd"})
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithCompression(compression.ZStd))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Import(ctx, bytes.NewReader(saveTarball(t, "example.com/z:1", image(t, l))), ImportOptions{}); err != nil {
		t.Fatalf("Import: %v", err)
	}
	img, release, err := e.store.Get(ctx, "example.com/z:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	wantFile(t, filepath.Join(img.Layers[0], "z"), "zstd", 0o644)
}
