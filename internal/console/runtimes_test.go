package console

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/codezip"
	"github.com/openfc/openfc/internal/fc"
)

// jsRuntime is one runtime of the create form with the zip of its
// starting code as runtimes.js and zip.js make it.
type jsRuntime struct {
	Runtime string `json:"runtime"`
	Family  string `json:"family"`
	Zip     string `json:"zip"` // base64
}

// createFormRuntimes runs runtimes.js and zip.js in node: every runtime
// the create form offers, zipped with handler "main.handler".
func createFormRuntimes(t *testing.T) []jsRuntime {
	t.Helper()
	script := `
const rt = await import(process.env.JS_DIR + '/runtimes.js');
const zip = await import(process.env.JS_DIR + '/zip.js');
const out = rt.runtimes.map(([runtime, , family]) => {
  const files = rt.codeFiles(runtime, 'main.handler').map((f) => ({ name: f.name, data: new TextEncoder().encode(f.code), mode: f.executable ? 0o100755 : 0o100644 }));
  return { runtime, family, zip: zip.base64(zip.makeZip(files)) };
});
process.stdout.write(JSON.stringify(out));
`
	var out []jsRuntime
	runJS(t, script, nil, &out)
	return out
}

// TestCreateFormRuntimes checks the create form's runtimes against FC's
// rules: each is one openfc runs, of the kind its starting code is for;
// a built-in runtime's code is the handler's file, and a custom
// runtime's zip has the executable bootstrap the API requires.
func TestCreateFormRuntimes(t *testing.T) {
	rts := createFormRuntimes(t)
	if len(rts) < 10 {
		t.Fatalf("the create form offers %d runtimes", len(rts))
	}
	ext := map[string]string{"nodejs": "main.js", "python": "main.py", "php": "main.php"}
	for _, r := range rts {
		if err := fc.ValidateRuntime(r.Runtime); err != nil {
			t.Errorf("%s: %v", r.Runtime, err)
		}
		custom := r.Family == "custom"
		if custom != fc.IsCustomRuntime(r.Runtime) || !custom && !fc.IsBuiltinRuntime(r.Runtime) ||
			!strings.HasPrefix(r.Runtime, strings.TrimSuffix(r.Family, "js")) {
			t.Errorf("%s is offered as a %s runtime", r.Runtime, r.Family)
		}
		b, err := base64.StdEncoding.DecodeString(r.Zip)
		if err != nil {
			t.Fatal(err)
		}
		info, err := codezip.Check(b, codezip.Limits{})
		if err != nil {
			t.Errorf("%s: the starting code's zip: %v", r.Runtime, err)
			continue
		}
		if info.HasBootstrap != custom {
			t.Errorf("%s: executable bootstrap %v; want %v", r.Runtime, info.HasBootstrap, custom)
		}
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name+" "+f.Mode().String())
		}
		want := ext[r.Family] + " -rw-r--r--"
		if custom {
			want = "server.py -rw-r--r--,bootstrap -rwxr-xr-x"
		}
		if got := strings.Join(names, ","); got != want {
			t.Errorf("%s: zip holds %s; want %s", r.Runtime, got, want)
		}
	}
}
