package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/openfc/openfc/pkg/client"
)

// tarLayer is a layer of regular files, name → body.
func tarLayer(t *testing.T, files map[string]string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for n, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, body)
	}
	tw.Close()
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// saveImage writes an image of layers as a docker save tarball tagged tag.
func saveImage(t *testing.T, path, tag string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(path, ref, img); err != nil {
		t.Fatal(err)
	}
	return img
}

func TestImagesImportListRemove(t *testing.T) {
	srv := startServer(t, "")
	dir := t.TempDir()
	good := filepath.Join(dir, "good.tar")
	img := saveImage(t, good, "example.com/e2e:v1", tarLayer(t, map[string]string{"app/server": "#!"}))

	// A docker save tarball has no manifest: openfc writes one.
	out := srv.cli("images", "import", good)
	if !strings.Contains(out, "imported example.com/e2e:v1 sha256:") || !strings.Contains(out, "uploading "+good) {
		t.Fatalf("import: %s", out)
	}

	// A layer with an entry that leaves it: refused, naming the entry.
	bad := filepath.Join(dir, "bad.tar")
	saveImage(t, bad, "example.com/evil:v1", tarLayer(t, map[string]string{"../../etc/x": "x"}))
	out, err := srv.tryCLI("images", "import", bad)
	if err == nil || !strings.Contains(out, "InvalidArgument") || !strings.Contains(out, `layer entry "../../etc/x": a path outside the layer`) {
		t.Fatalf("import of a path-traversal layer: %v\n%s", err, out)
	}

	// An OCI layout directory, tarred on the fly by the CLI; its manifest
	// (and digest) is kept.
	digest, _ := img.Digest()
	lp, err := layout.Write(filepath.Join(dir, "oci"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	if out := srv.cli("images", "import", filepath.Join(dir, "oci"), "--ref", "local/oci:1"); !strings.Contains(out, "imported docker.io/local/oci:1 "+digest.String()) {
		t.Fatalf("import of a layout dir: %s", out)
	}

	// Kept in JetStream across a restart.
	srv.stop()
	srv = startServer(t, srv.dataDir)
	var list []client.Image
	if err := json.Unmarshal([]byte(srv.cli("images", "list", "--json")), &list); err != nil || len(list) != 2 ||
		list[0].Ref != "docker.io/local/oci:1" || list[0].Digest != digest.String() || list[1].Ref != "example.com/e2e:v1" {
		t.Fatalf("list after restart: %+v, %v", list, err)
	}
	if out := srv.cli("images", "rm", digest.String(), "example.com/e2e:v1"); strings.Count(out, "removed ") != 2 {
		t.Errorf("rm by digest and by reference: %s", out)
	}
	if out := srv.cli("images", "list"); strings.Contains(out, "e2e") {
		t.Errorf("list after rm: %s", out)
	}
}
