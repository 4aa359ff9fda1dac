package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleImages imports an image tarball from the Images page, with
// the upload's progress, sees it listed, and deletes it; a tarball that
// is not an image shows FC's error.
func TestConsoleImages(t *testing.T) {
	s := startServer(t, "")
	b := newConsoleBrowser(t)
	b.signIn(s.URL)

	dir := t.TempDir()
	good := filepath.Join(dir, "app.tar")
	saveImage(t, good, "example.com/console:v1", tarLayer(t, map[string]string{"app/server": strings.Repeat("x", 3<<20)}))
	b.do("opening the images", chromedp.Click("#nav-images"), chromedp.WaitVisible("#import-image"))
	b.do("importing a tarball",
		chromedp.SetUploadFiles("#image-file", []string{good}),
		chromedp.Click(`#import-image button[type=submit]`))
	b.waitJS("the image listed", `document.querySelector('#image-list code[data-image="example.com/console:v1"]')`)
	if st := b.text("#image-status"); !strings.Contains(st, "Imported example.com/console:v1") {
		t.Errorf("import status %q", st)
	}
	fi, err := os.Stat(good)
	if err != nil {
		t.Fatal(err)
	}
	progress := step(b, "reading the progress", chromedp.Evaluate[string](`(() => { const p = document.getElementById('image-progress'); return p.hidden + ' ' + p.value + '/' + p.max; })()`))
	if want := fmt.Sprintf("false %d/%d", fi.Size(), fi.Size()); progress != want {
		t.Errorf("the upload's progress bar: %q; want %q (the tarball's size, all sent)", progress, want)
	}
	out := s.cli("images", "list")
	if !strings.Contains(out, "example.com/console:v1") {
		t.Errorf("openfc images list after the console's import: %s", out)
	}
	b.shoot("images")

	bad := filepath.Join(dir, "bad.tar")
	if err := os.WriteFile(bad, []byte("not a tarball"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.do("importing something that is not an image",
		chromedp.SetUploadFiles("#image-file", []string{bad}),
		chromedp.Click(`#import-image button[type=submit]`),
		chromedp.WaitVisible("#images-errors .fc-error"))
	b.checkFCError("#images-errors", "a bad tarball", "InvalidArgument", "")
	b.shoot("images-error")

	b.do("deleting the image",
		chromedp.Click(`button[aria-label="Delete image example.com/console:v1"]`),
		chromedp.Click(`button[aria-label="Confirm deleting image example.com/console:v1"]`),
		chromedp.WaitNotPresent(`#image-list code[data-image="example.com/console:v1"]`))
	if out := s.cli("images", "list"); strings.Contains(out, "example.com/console:v1") {
		t.Errorf("openfc images list after the console's delete: %s", out)
	}
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("the console's pages reported errors: %v", errs)
	}
}
