package cli

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/openfc/openfc/internal/api"
	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/images"
	"github.com/openfc/openfc/internal/store/storetest"
	"github.com/openfc/openfc/pkg/client"
	"github.com/openfc/openfc/pkg/fcsign"
)

// imagesCLI serves the images API over a real image store and returns a
// function that runs the CLI against it.
func imagesCLI(t *testing.T) func(args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, conn := storetest.Conn(t)
	st, err := images.New(ctx, images.Options{JS: conn.JS, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	srv := httptest.NewServer(api.New(api.Options{
		Verifier:   &auth.Verifier{Keys: auth.AdminKey(fcsign.Credentials{AccessKeyID: cliKeyID, AccessKeySecret: cliKeySecret})},
		AccountID:  cliAccount,
		Images:     st,
		ImageUsers: func(ref string) []string { return map[string][]string{"example.com/used:1": {"demo/fn"}}[ref] },
	}))
	t.Cleanup(srv.Close)
	env := map[string]string{"OPENFC_ENDPOINT": srv.URL, "OPENFC_ACCESS_KEY_ID": cliKeyID,
		"OPENFC_ACCESS_KEY_SECRET": cliKeySecret, "OPENFC_DATA": t.TempDir(), "HOME": t.TempDir(), "TZ": "UTC"}
	return func(args ...string) (string, string, error) {
		var out, errb bytes.Buffer
		root := NewRoot(&out, &errb, func(k string) string { return env[k] })
		root.SetArgs(args)
		err := root.ExecuteContext(ctx)
		return out.String(), errb.String(), err
	}
}

func TestImagesCommands(t *testing.T) {
	run := imagesCLI(t)
	dir := t.TempDir()
	img, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(dir, "app.tar")
	tag, _ := name.NewTag("example.com/app:v1")
	if err := tarball.WriteToFile(tarPath, tag, img); err != nil {
		t.Fatal(err)
	}
	layoutDir := filepath.Join(dir, "layout")
	lp, err := layout.Write(layoutDir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}

	out, stderr, err := run("images", "import", tarPath)
	if err != nil || !strings.Contains(out, "imported example.com/app:v1 sha256:") {
		t.Fatalf("import tarball: %q, %v", out, err)
	}
	if !strings.Contains(stderr, "uploading "+tarPath+":") || !strings.Contains(stderr, "(100%)") {
		t.Errorf("no progress on stderr: %q", stderr)
	}
	// A layout directory is tarred on the fly; its image has no name.
	if _, _, err := run("images", "import", layoutDir); err == nil || !strings.Contains(err.Error(), "--ref") {
		t.Errorf("import of an unnamed layout: %v", err)
	}
	if out, _, err := run("images", "import", layoutDir, "--ref", "example.com/used:1"); err != nil || !strings.Contains(out, "imported example.com/used:1") {
		t.Fatalf("import layout dir: %q, %v", out, err)
	}

	out, _, err = run("images", "list")
	if err != nil || !strings.HasPrefix(out, "REF") || !strings.Contains(out, "example.com/app:v1") || !strings.Contains(out, "import") {
		t.Errorf("list: %q, %v", out, err)
	}
	out, _, err = run("images", "list", "--json")
	var list []client.Image
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 {
		t.Errorf("list --json: %q, %v", out, err)
	}

	_, _, err = run("images", "rm", "example.com/used:1")
	if !client.HasCode(err, "ImageInUse") || !strings.Contains(err.Error(), "--force") {
		t.Errorf("rm of a used image: %v", err)
	}
	if out, _, err := run("images", "rm", "example.com/used:1", "example.com/app:v1", "--force"); err != nil || strings.Count(out, "removed ") != 2 {
		t.Errorf("rm --force: %q, %v", out, err)
	}
	if _, _, err := run("images", "rm", "example.com/app:v1"); !client.HasCode(err, "ImageNotFound") {
		t.Errorf("rm of a missing image: %v", err)
	}
	if _, _, err := run("images", "import", filepath.Join(dir, "missing.tar")); !os.IsNotExist(err) {
		t.Errorf("import of a missing file: %v", err)
	}
}
