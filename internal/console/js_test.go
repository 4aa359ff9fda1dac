package console

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/pkg/fcsign"
)

// jsModules finds node and writes every console module to a fresh
// directory as <name>.js, with a package.json that makes them ES
// modules, so their own imports resolve.
func jsModules(t *testing.T) (node, dir string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed to test the console's JavaScript (apt-get install nodejs): %v", err)
	}
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"type":"module"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	entries, err := assets.ReadDir("assets/js")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := assets.ReadFile("assets/js/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return node, dir
}

// runJS runs an ES module script with node, every console module
// importable from the directory in the JS_DIR environment variable as
// <name>.js (a package.json makes them ES modules, so their own imports
// resolve); input goes to stdin as JSON, and the script's stdout is
// decoded into out. The tests need node, as the built-in
// Node.js runtime does: without it they fail.
func runJS(t *testing.T, script string, input, out any) {
	t.Helper()
	node, dir := jsModules(t)
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	// The script is a module beside the console's: it imports them as
	// './name.js', or from JS_DIR.
	if err := os.WriteFile(filepath.Join(dir, "main.js"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "main.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "JS_DIR="+dir)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("decoding node's output %q: %v", b, err)
	}
}

// jsPrelude reads the input and imports the modules.
const jsPrelude = `
const dir = process.env.JS_DIR;
const fcsign = await import(dir + '/fcsign.js');
const zip = await import(dir + '/zip.js');
const unzip = await import(dir + '/unzip.js');
let raw = '';
for await (const chunk of process.stdin) raw += chunk;
const input = JSON.parse(raw);
`

type signCase struct {
	Method    string              `json:"method"`
	Path      string              `json:"path"`
	Headers   map[string][]string `json:"headers"`
	Query     map[string][]string `json:"query"`
	WithQuery bool                `json:"withQuery"`
	Secret    string              `json:"secret"`
}

// TestJSSignerMatchesFcsign checks the browser's signer against
// pkg/fcsign on fixed requests: the string to sign and the signature.
func TestJSSignerMatchesFcsign(t *testing.T) {
	const date = "Tue, 09 Apr 2024 08:01:02 GMT"
	cases := []signCase{
		{Method: "POST", Path: "/2016-08-15/services", Secret: "secret",
			Headers: map[string][]string{"content-type": {"application/json"}, "Content-MD5": {"ZDQxZA=="}, "Date": {date}, "x-fc-account-id": {"1234567890"}, "User-Agent": {"x"}}},
		{Method: "get", Path: "/2016-08-15/services/svc/functions", Secret: "sëcret✓",
			Headers: map[string][]string{"x-fc-date": {date}, "X-Fc-Trace-Id": {" abc\t"}, "X-FC-LOG-TYPE": {"Tail"}, "x-fc-multi": {"b", " a"}}},
		{Method: "GET", Path: "/2016-08-15/proxy/svc.LATEST/fn/some path/中文", Secret: "k", WithQuery: true,
			Headers: map[string][]string{"date": {date}},
			// "！" (U+FF01) sorts before "😀" in UTF-8 bytes (Go), after it
			// in UTF-16 units (JavaScript's default sort).
			Query: map[string][]string{"x": {"2", "1", "10"}, "a": {"b c"}, "empty": {""}, "k=v": {"="}, "z": {"ü"}, "Z": {"up"}, "u": {"😀", "！"}}},
		{Method: "PUT", Path: "/2016-08-15/proxy/svc/fn/", Secret: "k", WithQuery: true,
			Headers: map[string][]string{"Content-Type": {"text/plain"}, "x-fc-date": {date}, "x-fc-invocation-type": {"Async"}},
			Query:   map[string][]string{}},
	}
	var got []struct {
		StringToSign string `json:"sts"`
		Signature    string `json:"sig"`
	}
	runJS(t, jsPrelude+`
const out = [];
for (const c of input) {
  const sts = fcsign.stringToSign(c.method, c.path, c.headers, c.query, c.withQuery);
  out.push({ sts, sig: await fcsign.signature(c.secret, sts) });
}
process.stdout.write(JSON.stringify(out));
`, cases, &got)
	if len(got) != len(cases) {
		t.Fatalf("node answered %d cases; want %d", len(got), len(cases))
	}
	for i, c := range cases {
		want := fcsign.StringToSign(c.Method, c.Path, http.Header(c.Headers), url.Values(c.Query), c.WithQuery)
		if got[i].StringToSign != want {
			t.Errorf("case %d: JS string to sign\n%q\nfcsign's\n%q", i, got[i].StringToSign, want)
		}
		if sig := fcsign.Signature(c.Secret, want); got[i].Signature != sig {
			t.Errorf("case %d: JS signature %q; fcsign's %q", i, got[i].Signature, sig)
		}
	}
}

// TestJSSignVerifies checks that what the browser sends (sign: x-fc-date,
// Authorization) passes the server's verifier, for a management call and
// for a signed HTTP-trigger call.
func TestJSSignVerifies(t *testing.T) {
	type req struct {
		Method string              `json:"method"`
		Path   string              `json:"path"`
		Query  map[string][]string `json:"query"`
	}
	reqs := []req{
		{Method: "GET", Path: "/2016-08-15/services"},
		{Method: "POST", Path: "/2016-08-15/proxy/svc/fn/a b", Query: map[string][]string{"q": {"1", "2"}}},
	}
	var got []map[string]string
	runJS(t, jsPrelude+`
const cred = { accessKeyId: 'akid', accessKeySecret: 'the secret' };
const out = [];
for (const r of input) {
  const headers = { 'content-type': 'application/json' };
  out.push(await fcsign.sign(cred, r.method, r.path, headers, r.query));
}
process.stdout.write(JSON.stringify(out));
`, reqs, &got)
	v := &auth.Verifier{Keys: func(id string) (auth.Key, bool) {
		return auth.Key{Secret: "the secret"}, id == "akid"
	}}
	for i, rq := range reqs {
		u := &url.URL{Scheme: "http", Host: "h", Path: rq.Path, RawQuery: url.Values(rq.Query).Encode()}
		r, err := http.NewRequest(rq.Method, u.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, val := range got[i] {
			r.Header.Set(k, val)
		}
		if r.Header.Get("Date") != "" || r.Header.Get(fcsign.HeaderFCDate) == "" {
			t.Errorf("request %d: headers %v; want x-fc-date and no Date (fetch cannot send Date)", i, got[i])
		}
		if _, err := v.VerifyHeader(r, rq.Query != nil); err != nil {
			t.Errorf("request %d (%v) signed by the JS signer: %v", i, got[i], err)
		}
		r.Header.Set("Authorization", "FC akid:"+fcsign.Signature("wrong", "x"))
		if _, err := v.VerifyHeader(r, rq.Query != nil); err == nil {
			t.Errorf("request %d with a wrong signature verified", i)
		}
	}
}

// TestJSZip checks the browser's zip writer with archive/zip: names,
// contents and CRC-32 (checked by archive/zip as it reads).
func TestJSZip(t *testing.T) {
	files := map[string]string{"index.js": "exports.handler = () => {};\n", "dir/ünï.txt": "", "big.bin": string(bytes.Repeat([]byte{0, 1, 2, 255}, 40000))}
	type entry struct {
		Name string `json:"name"`
		Data string `json:"data"` // base64
	}
	var in []entry
	for name, data := range files {
		in = append(in, entry{name, base64.StdEncoding.EncodeToString([]byte(data))})
	}
	var out struct {
		Zip string `json:"zip"`
		CRC uint32 `json:"crc"`
	}
	runJS(t, jsPrelude+`
const entries = input.map((e) => ({ name: e.name, data: Uint8Array.from(atob(e.data), (c) => c.charCodeAt(0)) }));
const z = zip.makeZip(entries);
process.stdout.write(JSON.stringify({ zip: zip.base64(z), crc: zip.crc32(new TextEncoder().encode('123456789')) }));
`, in, &out)
	if out.CRC != 0xcbf43926 {
		t.Errorf("crc32(\"123456789\") = %#x; want 0xcbf43926", out.CRC)
	}
	b, err := base64.StdEncoding.DecodeString(out.Zip)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("archive/zip cannot read the JS zip: %v", err)
	}
	if len(zr.File) != len(files) {
		t.Fatalf("%d entries; want %d", len(zr.File), len(files))
	}
	for _, f := range zr.File {
		want, ok := files[f.Name]
		if !ok {
			t.Errorf("unexpected entry %q", f.Name)
			continue
		}
		data := zipEntry(t, f)
		if string(data) != want {
			t.Errorf("%s: %d bytes; want %d", f.Name, len(data), len(want))
		}
		if f.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v; want 0644", f.Name, f.Mode())
		}
	}
}

// TestJSParses checks every module of the console is valid JavaScript
// (node --check), so a syntax error fails here and not only in a browser.
func TestJSParses(t *testing.T) {
	node, dir := jsModules(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".js") {
			continue
		}
		if out, err := exec.Command(node, "--check", filepath.Join(dir, e.Name())).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", e.Name(), err, out)
		}
	}
	if len(entries) < 5 {
		t.Errorf("only %d modules under assets/js", len(entries))
	}
}

// zipEntry reads an entry of a zip the console wrote; archive/zip checks
// its CRC as it reads.
func zipEntry(t *testing.T, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	return data
}
