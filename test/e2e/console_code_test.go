package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// cspWatch records the page's Content-Security-Policy violations in
// window.cspViolations and as console errors (which pageErrors keeps). It
// is added to every new document before the page's own scripts run.
const cspWatch = `window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  const el = e.composedPath()[0];
  const v = e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber +
    ' on ' + (el && el.outerHTML ? el.outerHTML.slice(0, 200) : String(el)) + ' (page ' + location.hash + ')';
  window.cspViolations.push(v);
  console.error('CSP violation: ' + v);
});`

// cmContent is the editor's content element, in #code-editor's shadow
// root (a JS path: CSS selectors stop at shadow roots).
const cmContent = `document.querySelector('#code-editor')?.shadowRoot?.querySelector('.cm-content')`

// editorText returns the editor's text once it shows.
func editorText(b *consoleBrowser) string {
	b.t.Helper()
	b.do("waiting for the editor", chromedp.WaitVisible(chromedp.JSPath(cmContent)))
	return step(b, "reading the editor", chromedp.Evaluate[string](cmContent+`.innerText`))
}

// codeMaxZip is the server's --max-code-size in TestConsoleCode: small,
// so that a file typed in the browser can make the zip too large.
const codeMaxZip = 512 << 10

// codeTestZip builds a deflated zip of files (name → content).
func codeTestZip(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(fs.FileMode(0o644))
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestConsoleCode drives the Code tab: the deployed index.js in the tree
// and the editor, an edit typed into CodeMirror and deployed with its
// progress, the function answering with the new text (Test Function and
// a plain call); a package with a binary and a 2 MiB file shows them
// read-only; a zip over the server's limit shows FC's EntityTooLarge.
// The page raises no CSP violation (CodeMirror's styles are
// constructable stylesheets) and no error.
func TestConsoleCode(t *testing.T) {
	s := startServer(t, "", "--max-code-size", fmt.Sprint(codeMaxZip))
	b := newConsoleBrowser(t)
	b.do("watching CSP violations", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspWatch})
		return err
	}))
	b.signIn(s.URL)
	b.createNodeFunction("codesvc", "hello", consoleFunctionCode)

	b.goTo("#/services/codesvc/functions/hello/code", cmContent)
	if sel := b.text(`#file-tree [aria-selected=true]`); sel != "index.js" {
		t.Errorf("selected file %q; want index.js", sel)
	}
	if text := editorText(b); !strings.Contains(text, "'console says hi '") {
		t.Errorf("the editor shows %q; want index.js", text)
	}
	styled := step(b, "reading the editor's styles", chromedp.Evaluate[bool](
		`(() => { const root = document.querySelector('#code-editor').shadowRoot;
		  return root.adoptedStyleSheets.length > 1 && getComputedStyle(root.querySelector('.cm-editor')).display === 'flex'; })()`))
	if !styled {
		t.Errorf("CodeMirror's styles are not applied (no constructable stylesheet)")
	}
	b.shoot("code")
	// The editor follows prefers-color-scheme (One Dark when dark).
	editorColor := `getComputedStyle(` + cmContent + `).color`
	b.colorScheme("dark")
	darkText := step(b, "reading the dark editor", chromedp.Evaluate[string](editorColor))
	b.shoot("code-dark")
	b.colorScheme("light")
	if lightText := step(b, "reading the light editor", chromedp.Evaluate[string](editorColor)); lightText == darkText {
		t.Errorf("the editor's text is %s in light and dark schemes alike", lightText)
	}
	// At 390 px the tab's content fits the width (shoot left it at 1280).
	b.do("sizing to 390 px", chromedp.EmulateViewport(390, 900), chromedp.Sleep(150*time.Millisecond))
	wide := step(b, "looking for overflow", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('#main *')].filter((e) => e.getBoundingClientRect().right > innerWidth + 1).map((e) => e.tagName + '.' + e.className)`))
	if len(wide) > 0 {
		t.Errorf("at 390 px these overflow the width: %v", wide)
	}
	b.do("sizing back", chromedp.EmulateViewport(1280, 900))

	// Type the new code through CodeMirror: select all, then the text as
	// the keyboard's input would insert it.
	newCode := strings.Replace(consoleFunctionCode, "'console says hi '", "'code tab says hello '", 1)
	b.do("editing index.js",
		chromedp.Click(chromedp.JSPath(cmContent)),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		insertText(newCode),
		chromedp.WaitVisible(`#file-tree [data-file="index.js"] .tree-dirty`))
	if text := editorText(b); !strings.Contains(text, "'code tab says hello '") {
		t.Fatalf("after typing the editor shows %q", text)
	}
	b.do("deploying", chromedp.Click("#code-deploy"), chromedp.WaitVisible(`#deploy-progress[data-state=done]`))
	done := step(b, "reading the progress", chromedp.Evaluate[bool](`(() => { const p = document.getElementById('deploy-progress'); return p.value === p.max && p.max > 1; })()`))
	status := b.text("#deploy-status")
	sum := s.codeChecksum("codesvc", "hello")
	if !done || !strings.HasPrefix(status, "Deployed: checksum "+sum) {
		t.Errorf("after Deploy: progress done %v, status %q; want done and the new checksum %s", done, status, sum)
	}
	b.shoot("code-deployed")

	resp, body := s.do("POST", "/2016-08-15/proxy/codesvc/hello/p", strings.NewReader("x"), nil)
	if got, want := string(body), "code tab says hello POST /p [x]"; resp.StatusCode != 200 || got != want {
		t.Errorf("calling the deployed function: %d %q; want %q", resp.StatusCode, got, want)
	}
	b.goTo("#/services/codesvc/functions/hello/test", `document.querySelector('#test-function')`)
	b.do("testing the function",
		chromedp.SetValue("#test-path", "/t"),
		chromedp.Click(`#test-function button[type=submit]`),
		chromedp.WaitVisible("#test-response-body"))
	if got, want := b.text("#test-response-body"), "code tab says hello GET /t []"; got != want {
		t.Errorf("Test Function after Deploy: %q; want %q", got, want)
	}

	consoleCodeFiles(t, b, s)
	if v := step(b, "reading CSP violations", chromedp.Evaluate[[]string](`window.cspViolations`)); len(v) > 0 {
		t.Errorf("CSP violations: %v", v)
	}
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("the console's pages reported errors: %v", errs)
	}
}

// consoleCodeFiles deploys a package from Go (a folder, a PNG-ish binary,
// a 2 MiB text file) and checks the Code tab: keyboard navigation of the
// tree, the binary and the large file read-only with a note; then a file
// typed in the browser makes the zip too large: FC's EntityTooLarge.
func consoleCodeFiles(t *testing.T, b *consoleBrowser, s *server) {
	t.Helper()
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 200<<10)...)
	if _, err := rand.Read(png[16:]); err != nil {
		t.Fatal(err)
	}
	zipBytes := codeTestZip(t, map[string][]byte{
		"index.js":    []byte(consoleFunctionCode),
		"lib/util.js": []byte("module.exports = 42;\n"),
		"logo.png":    png,
		"big.txt":     bytes.Repeat([]byte("a line of a large text file\n"), (2<<20)/28+1),
	})
	spec, _ := json.Marshal(map[string]any{"functionName": "files", "runtime": "nodejs20", "handler": "index.handler",
		"code": map[string]any{"zipFile": base64.StdEncoding.EncodeToString(zipBytes)}})
	if resp, body := s.signedDo("POST", "/2016-08-15/services/codesvc/functions", string(spec)); resp.StatusCode != 200 {
		t.Fatalf("creating files: %d %s", resp.StatusCode, body)
	}
	b.goTo("#/services/codesvc/functions/files/code", cmContent)

	// The keyboard: Home goes to the first item (the folder lib), Right
	// opens it, Down enters it, Enter opens lib/util.js.
	b.do("walking the tree with the keyboard",
		chromedp.Focus(`#file-tree [aria-selected=true]`),
		chromedp.KeyEvent(kb.Home),
		chromedp.KeyEvent(kb.ArrowRight),
		chromedp.KeyEvent(kb.ArrowDown),
		chromedp.KeyEvent(kb.Enter))
	if f := b.text("#code-file"); f != "lib/util.js" {
		t.Errorf("after Home, Right, Down, Enter the open file is %q; want lib/util.js", f)
	}
	if f := step(b, "reading the focus", chromedp.Evaluate[string](`document.activeElement.dataset.file || document.activeElement.tagName`)); f != "lib/util.js" {
		t.Errorf("after opening lib/util.js from the tree the focus is on %q; want its tree item", f)
	}
	if exp := step(b, "reading lib's state", chromedp.Evaluate[string](`document.querySelector('#file-tree [data-dir="lib"]').getAttribute('aria-expanded')`)); exp != "true" {
		t.Errorf("lib aria-expanded %q after ArrowRight", exp)
	}

	for _, tc := range []struct{ file, note string }{
		{"logo.png", "Binary file"},
		{"big.txt", "Large file (2.0 MiB)"},
	} {
		b.do("opening "+tc.file, chromedp.Click(`#file-tree [data-file="`+tc.file+`"]`),
			chromedp.WaitVisible(`#code-note`))
		if note := b.text("#code-note"); !strings.HasPrefix(note, tc.note) || !strings.Contains(note, "read-only") {
			t.Errorf("%s: note %q; want %q, read-only", tc.file, note, tc.note)
		}
		editable := step(b, "reading "+tc.file+"'s editor", chromedp.Evaluate[string](cmContent+`.getAttribute('contenteditable')`))
		if editable != "false" {
			t.Errorf("%s: contenteditable %q; want false (read-only)", tc.file, editable)
		}
		if tc.file == "logo.png" {
			if text := strings.Join(strings.Fields(editorText(b)), " "); !strings.HasPrefix(text, "00000000 89 50 4e 47") {
				t.Errorf("logo.png shown as %.80q; want a hex dump", text)
			}
			b.shoot("code-binary")
		}
	}

	// A new file of random text: the zip goes over --max-code-size.
	blob := make([]byte, 450<<10)
	if _, err := rand.Read(blob); err != nil {
		t.Fatal(err)
	}
	b.do("adding a large file",
		chromedp.Click("#code-new"),
		chromedp.SetValue("#code-path", "blob.txt"),
		chromedp.Click(`#code-path-form button[type=submit]`),
		chromedp.WaitVisible(`#file-tree [data-file="blob.txt"]`),
		chromedp.Click(chromedp.JSPath(cmContent)),
		insertText(base64.StdEncoding.EncodeToString(blob)),
		chromedp.Click("#code-deploy"),
		chromedp.WaitVisible("#main .fc-error"))
	// The body is within the API's bound (the zip's limit in base64 plus
	// room): the zip itself is refused, as the API reports it.
	b.checkFCError("#main", "deploying a zip over the limit", "InvalidArgument", "over the limit of 524288 bytes")
	if st := b.text("#deploy-status"); st != "Deploy failed." {
		t.Errorf("deploy status %q", st)
	}
	b.shoot("code-too-large")
}

// insertText enters text at the focus as the keyboard's input (an IME
// commit) does: through the editor's own input handling.
func insertText(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: text})
		return err
	})
}
