package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/api"
	"github.com/openfc/openfc/internal/codezip"
	"github.com/openfc/openfc/internal/fc"
)

// badCase is a request the API must refuse without leaving anything behind.
type badCase struct {
	name   string
	method string // default POST
	path   string
	body   any // JSON-encoded; []byte is sent as is
	status int // default 400
	code   string
	msg    []string // substrings of ErrorMessage (field names, entries)
	// gone is a path that must answer 404 afterwards ("" to skip).
	gone string
	// zip, when set, must not be in the code store afterwards.
	zip []byte
}

// runBad runs the cases; after each one the store must hold exactly what
// it held before.
func runBad(t *testing.T, e *env, cases []badCase) {
	t.Helper()
	parent := e.t
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			defer func() { e.t = parent }()
			before := e.snapshot()
			m := tc.method
			if m == "" {
				m = http.MethodPost
			}
			status := tc.status
			if status == 0 {
				status = 400
			}
			h, err := e.do(m, tc.path, tc.body, nil)
			wantAPIError(t, err, status, tc.code, tc.msg...)
			if et := h.Get("X-Fc-Error-Type"); et != "FcCommonError" {
				t.Errorf("X-Fc-Error-Type = %q; want FcCommonError", et)
			}
			if after := e.snapshot(); !slices.Equal(before, after) {
				t.Errorf("the refused request changed the store:\nbefore %v\nafter  %v", before, after)
			}
			if tc.gone != "" {
				if _, err := e.do(http.MethodGet, tc.gone, nil, nil); err == nil || !strings.Contains(err.Error(), "404") {
					t.Errorf("GET %s after the refused request: %v; want 404", tc.gone, err)
				}
			}
			if tc.zip != nil && e.codeStored(tc.zip) {
				t.Errorf("the refused request stored its code package")
			}
		})
	}
}

// with returns a copy of body with key set to v (nil deletes key).
func with(body map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(body))
	for k, v := range body {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
		} else {
			out[k] = kv[i+1]
		}
	}
	return out
}

// randomZip is a stored (uncompressed) zip of n random bytes plus a
// bootstrap, so it is about n bytes long.
func randomZip(t *testing.T, n int) []byte {
	t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "blob.bin", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Store}
	h.SetMode(0o755)
	w, _ = zw.CreateHeader(h)
	w.Write([]byte("#!/bin/sh\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBadFunctionInput(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	fns := svcPath("svc") + "/functions"

	// fn returns a create case for function name with a unique valid zip
	// and the body modified by kv.
	type fnCase struct {
		name string
		fn   string // functionName; default "f"
		zip  []byte // default: appZip(name)
		body func(map[string]any) any
		code string
		msg  []string
	}
	set := func(kv ...any) func(map[string]any) any {
		return func(b map[string]any) any { return with(b, kv...) }
	}
	crc := func(kv ...any) func(map[string]any) any {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return set("customRuntimeConfig", m)
	}
	bigEnv := map[string]string{}
	for i := range 5 {
		bigEnv["K"+string(rune('A'+i))] = strings.Repeat("v", 1000)
	}
	noBootstrap := appZip(t, "nobootstrap")
	nonExecBootstrap := makeZip(t, zipEntry{name: "bootstrap", body: "#!/bin/sh\n", mode: 0o644})
	tooBig := randomZip(t, testMaxCode+1024)
	// Past the request cap (MaxCodeSize in base64 + 1 MiB): farOver is
	// counted whole, hugelyOver (beyond twice the cap) only in part.
	farOver, hugelyOver := randomZip(t, 1200<<10), randomZip(t, 2<<20)

	var cases []badCase
	for _, c := range []fnCase{
		// Names.
		{name: "name starts with digit", fn: "1fn", code: "InvalidArgument", msg: []string{"functionName", "1fn"}},
		{name: "name starts with dash", fn: "-fn", code: "InvalidArgument", msg: []string{"functionName"}},
		{name: "name with dot", fn: "f.n", code: "InvalidArgument", msg: []string{"functionName"}},
		{name: "name with space", fn: "f n", code: "InvalidArgument", msg: []string{"functionName"}},
		{name: "name with slash", fn: "f/n", code: "InvalidArgument", msg: []string{"functionName"}},
		{name: "name 65 chars", fn: "f" + strings.Repeat("x", 64), code: "InvalidArgument", msg: []string{"functionName", "64"}},
		{name: "name empty", fn: "", body: set("functionName", ""), code: "InvalidArgument", msg: []string{"functionName"}},
		// Runtime.
		{name: "unknown runtime", body: set("runtime", "cobol85"), code: "InvalidArgument", msg: []string{"runtime", "cobol85"}},
		{name: "built-in runtime not yet", body: set("runtime", "dotnetcore3.1"), code: "InvalidArgument", msg: []string{"runtime", "dotnetcore3.1"}},
		{name: "built-in handler", body: set("runtime", "nodejs18", "handler", "index"), code: "InvalidArgument", msg: []string{"handler", "file.function"}},
		{name: "no runtime", body: set("runtime", nil), code: "InvalidArgument", msg: []string{"runtime"}},
		// Custom runtime config.
		{name: "no command, no bootstrap", zip: noBootstrap, body: set("customRuntimeConfig", nil), code: "InvalidArgument", msg: []string{"customRuntimeConfig.command", "bootstrap"}},
		{name: "empty command, no bootstrap", body: crc("command", []string{}), code: "InvalidArgument", msg: []string{"customRuntimeConfig.command"}},
		{name: "no command, bootstrap not executable", zip: nonExecBootstrap, body: set("customRuntimeConfig", nil), code: "InvalidArgument", msg: []string{"customRuntimeConfig.command"}},
		{name: "empty command word", body: crc("command", []string{"python3", ""}), code: "InvalidArgument", msg: []string{"customRuntimeConfig.command[1]"}},
		{name: "args without command", body: crc("args", []string{"x"}), code: "InvalidArgument", msg: []string{"customRuntimeConfig.command"}},
		{name: "port 70000", body: crc("command", []string{"x"}, "port", 70000), code: "InvalidArgument", msg: []string{"customRuntimeConfig.port", "70000"}},
		{name: "port -1", body: crc("command", []string{"x"}, "port", -1), code: "InvalidArgument", msg: []string{"customRuntimeConfig.port"}},
		{name: "caPort -1", body: set("caPort", -1), code: "InvalidArgument", msg: []string{"caPort", "-1"}},
		{name: "caPort 65536", body: set("caPort", 65536), code: "InvalidArgument", msg: []string{"caPort"}},
		// Sizes and limits.
		{name: "memorySize 100", body: set("memorySize", 100), code: "InvalidArgument", msg: []string{"memorySize", "100"}},
		{name: "memorySize 64", body: set("memorySize", 64), code: "InvalidArgument", msg: []string{"memorySize", "64", "128"}},
		{name: "memorySize 200", body: set("memorySize", 200), code: "InvalidArgument", msg: []string{"memorySize", "64"}},
		{name: "memorySize 65536", body: set("memorySize", 65536), code: "InvalidArgument", msg: []string{"memorySize"}},
		{name: "timeout 90000", body: set("timeout", 90000), code: "InvalidArgument", msg: []string{"timeout", "90000"}},
		{name: "timeout -1", body: set("timeout", -1), code: "InvalidArgument", msg: []string{"timeout"}},
		{name: "instanceConcurrency 300", body: set("instanceConcurrency", 300), code: "InvalidArgument", msg: []string{"instanceConcurrency", "300"}},
		{name: "initializationTimeout 301", body: set("initializationTimeout", 301, "initializer", "i.h"), code: "InvalidArgument", msg: []string{"initializationTimeout"}},
		// Environment.
		{name: "env key starts with digit", body: set("environmentVariables", map[string]string{"1BAD": "x"}), code: "InvalidArgument", msg: []string{"environmentVariables", "1BAD"}},
		{name: "env key with dash", body: set("environmentVariables", map[string]string{"BAD-KEY": "x"}), code: "InvalidArgument", msg: []string{"environmentVariables", "BAD-KEY"}},
		{name: "env over 4 KB", body: set("environmentVariables", bigEnv), code: "InvalidArgument", msg: []string{"environmentVariables", "4096"}},
		// Code.
		{name: "missing code", body: set("code", nil), code: "InvalidArgument", msg: []string{"code"}},
		{name: "empty zipFile", body: set("code", map[string]any{"zipFile": ""}), code: "InvalidArgument", msg: []string{"code.zipFile"}},
		{name: "oss code", body: set("code", map[string]any{"ossBucketName": "b", "ossObjectName": "o.zip"}), code: "InvalidArgument", msg: []string{"code.ossBucketName"}},
		{name: "zipFile not base64", body: set("code", map[string]any{"zipFile": "not base64!!"}), code: "InvalidArgument", msg: []string{"code.zipFile", "base64"}},
		{name: "zipFile not a zip", zip: []byte("this is not a zip archive at all"), code: "InvalidArgument", msg: []string{"code.zipFile", "zip"}},
		{name: "zip entry ../evil", zip: makeZip(t, zipEntry{name: "app.py", body: "x"}, zipEntry{name: "../evil", body: "x"}),
			code: "InvalidArgument", msg: []string{"code.zipFile", "../evil"}},
		{name: "zip entry a/../../evil", zip: makeZip(t, zipEntry{name: "a/../../evil", body: "x"}),
			code: "InvalidArgument", msg: []string{"code.zipFile", "a/../../evil"}},
		{name: "zip entry absolute", zip: makeZip(t, zipEntry{name: "app.py", body: "x"}, zipEntry{name: "/etc/evil", body: "x"}),
			code: "InvalidArgument", msg: []string{"code.zipFile", "/etc/evil", "absolute"}},
		{name: "zip symlink escaping", zip: makeZip(t, zipEntry{name: "app.py", body: "x"}, zipEntry{name: "link", body: "../../etc/passwd", symlink: true}),
			code: "InvalidArgument", msg: []string{"code.zipFile", "link"}},
		{name: "zip symlink absolute", zip: makeZip(t, zipEntry{name: "link", body: "/etc/passwd", symlink: true}),
			code: "InvalidArgument", msg: []string{"code.zipFile", "link", "/etc/passwd"}},
		{name: "zip symlink escaping via another link", zip: makeZip(t,
			zipEntry{name: "a/up", body: "..", symlink: true}, zipEntry{name: "b", body: "a/up/../x", symlink: true}),
			code: "InvalidArgument", msg: []string{"code.zipFile"}},
		// Code limits: the size as sent (the zip's bytes, not its
		// base64), the limit and the knob that raises it.
		{name: "zip over MaxCodeSize", zip: tooBig, body: set("customRuntimeConfig", nil), code: "InvalidArgument",
			msg: []string{fmt.Sprintf("code.zipFile is %d bytes, over the limit of 65536 bytes; raise it with --max-code-size", len(tooBig))}},
		{name: "zip unpacks over MaxUnpackedCodeSize", zip: makeZip(t, zipEntry{name: "zeros", body: strings.Repeat("\x00", 2<<20)}), code: "InvalidArgument",
			msg: []string{"code.zipFile: the files unpack to 2097152 bytes, over the limit of 1048576 bytes; raise it with --max-unpacked-code-size"}},
		// A body past the request cap is not decoded; the zip in it is
		// measured as it is read on.
		{name: "zip far over MaxCodeSize", zip: farOver, body: set("customRuntimeConfig", nil), code: "InvalidArgument",
			msg: []string{fmt.Sprintf("code.zipFile is %d bytes, over the limit of 65536 bytes; raise it with --max-code-size", len(farOver))}},
		{name: "zip hugely over MaxCodeSize", zip: hugelyOver, body: set("customRuntimeConfig", nil), code: "InvalidArgument",
			msg: []string{"code.zipFile is more than ", "bytes, over the limit of 65536 bytes; raise it with --max-code-size"}},
		// JSON.
		{name: "memorySize is a string", body: set("memorySize", "big"), code: "InvalidArgument", msg: []string{"memorySize"}},
		{name: "port is a string", body: crc("command", []string{"x"}, "port", "9000"), code: "InvalidArgument", msg: []string{"port"}},
		{name: "environmentVariables is a list", body: set("environmentVariables", []string{"A=1"}), code: "InvalidArgument", msg: []string{"environmentVariables"}},
		{name: "command is a string", body: crc("command", "python3 app.py"), code: "InvalidArgument", msg: []string{"command"}},
		{name: "code is a string", body: set("code", "UEsDBA=="), code: "InvalidArgument", msg: []string{"code"}},
	} {
		fname := "f"
		if c.fn != "" || c.name == "name empty" {
			fname = c.fn
		}
		zipBytes := c.zip
		if zipBytes == nil {
			zipBytes = appZip(t, c.name)
		}
		body := fnBody(fname, zipBytes)
		var sent any = body
		if c.body != nil {
			sent = c.body(body)
		}
		gone := ""
		if fname != "" && !strings.ContainsAny(fname, "/ ") {
			gone = fnPath("svc", fname)
		}
		cases = append(cases, badCase{name: c.name, path: fns, body: sent, code: c.code, msg: c.msg, gone: gone, zip: zipBytes})
	}
	for _, raw := range []struct{ name, body string }{
		{"malformed JSON", `{"functionName": "f", "runtime": `},
		{"trailing garbage", `{"functionName": "f"} {}`},
		{"JSON array", `[1, 2]`},
		{"empty body", ``},
	} {
		cases = append(cases, badCase{name: raw.name, path: fns, body: []byte(raw.body), code: "InvalidArgument", msg: []string{"JSON"}, gone: fnPath("svc", "f")})
	}
	runBad(t, e, cases)
}

// The limits' edges and the cases the refusals must not catch.
func TestFunctionInputAccepted(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	fns := svcPath("svc") + "/functions"
	bootstrap := func(tag string) []byte {
		return makeZip(t, zipEntry{name: "bootstrap", body: "#!/bin/sh\n# " + tag + "\n", mode: 0o755})
	}
	for _, tc := range []struct {
		name  string
		body  map[string]any
		check func(*testing.T, *fc.Function)
	}{
		{"executable bootstrap, no command", with(fnBody("boot", bootstrap("a")), "customRuntimeConfig", nil), func(t *testing.T, f *fc.Function) {
			if f.CustomRuntimeConfig != nil && len(f.CustomRuntimeConfig.Command) > 0 {
				t.Errorf("customRuntimeConfig = %+v", f.CustomRuntimeConfig)
			}
		}},
		{"bootstrap symlink to executable", with(fnBody("bootlink", makeZip(t,
			zipEntry{name: "bin/start", body: "#!/bin/sh\n", mode: 0o755}, zipEntry{name: "bootstrap", body: "bin/start", symlink: true})),
			"customRuntimeConfig", nil), nil},
		{"symlink inside the code", fnBody("inside", makeZip(t,
			zipEntry{name: "node_modules/x/cli.js", body: "console.log(1)\n", mode: 0o755},
			zipEntry{name: "node_modules/.bin/x", body: "../x/cli.js", symlink: true},
			zipEntry{name: "app.py", body: "x"})), nil},
		{"port 0", with(fnBody("port0", appZip(t, "port0")), "customRuntimeConfig", map[string]any{"command": []string{"x"}, "port": 0}), func(t *testing.T, f *fc.Function) {
			if f.Port() != 9000 {
				t.Errorf("port = %d; want the default 9000", f.Port())
			}
		}},
		{"port 65535", with(fnBody("port65535", appZip(t, "port65535")), "customRuntimeConfig", map[string]any{"command": []string{"x"}, "port": 65535}), func(t *testing.T, f *fc.Function) {
			if f.Port() != 65535 {
				t.Errorf("port = %d", f.Port())
			}
		}},
		{"timeout 0 is the default", with(fnBody("t0", appZip(t, "t0")), "timeout", 0), func(t *testing.T, f *fc.Function) {
			if f.Timeout != fc.DefaultTimeout {
				t.Errorf("timeout = %d; want %d", f.Timeout, fc.DefaultTimeout)
			}
		}},
		{"timeout 86400", with(fnBody("tmax", appZip(t, "tmax")), "timeout", 86400), nil},
		{"memorySize 32768", with(fnBody("mem", appZip(t, "mem")), "memorySize", 32768), nil},
		{"instanceConcurrency 200", with(fnBody("conc", appZip(t, "conc")), "instanceConcurrency", 200), nil},
		{"name 64 chars", fnBody("F"+strings.Repeat("_", 62)+"9", appZip(t, "long")), nil},
		{"name with _ and -", fnBody("_a-B_9", appZip(t, "chars")), nil},
		{"env exactly 4 KB", with(fnBody("env4k", appZip(t, "env4k")), "environmentVariables", map[string]string{"K": strings.Repeat("v", 4095)}), nil},
		{"zip exactly MaxCodeSize", fnBody("maxzip", zipOfSize(t, testMaxCode)), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			var out fc.Function
			e.must(http.MethodPost, fns, tc.body, &out)
			var got fc.Function
			e.must(http.MethodGet, fnPath("svc", out.FunctionName), nil, &got)
			if got.FunctionName != tc.body["functionName"] || got.CodeChecksum == "" {
				t.Fatalf("GET after create = %+v", got)
			}
			rc, err := e.st.GetCode(e.ctx, got.CodeChecksum)
			if err != nil {
				t.Fatalf("code %s not stored: %v", got.CodeChecksum, err)
			}
			rc.Close()
			if tc.check != nil {
				tc.check(t, &got)
			}
		})
	}
}

// zipOfSize returns a valid zip of exactly n bytes (n a few hundred bytes
// or more), with an executable bootstrap.
func zipOfSize(t *testing.T, n int) []byte {
	t.Helper()
	z := randomZip(t, n)
	over := len(z) - n
	z = randomZip(t, n-over)
	if len(z) != n {
		t.Fatalf("zipOfSize(%d) made %d bytes", n, len(z))
	}
	return z
}

func TestBadUpdateKeepsFunction(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	e.createFunction("svc", "fn")
	path := fnPath("svc", "fn")
	var before fc.Function
	e.must(http.MethodGet, path, nil, &before)
	evil := makeZip(t, zipEntry{name: "../evil", body: "x"})
	cases := []badCase{
		{name: "code with ../", method: http.MethodPut, path: path, body: map[string]any{"code": map[string]any{"zipFile": b64(evil)}}, code: "InvalidArgument", msg: []string{"code.zipFile", "../evil"}, zip: evil},
		{name: "code not base64", method: http.MethodPut, path: path, body: map[string]any{"code": map[string]any{"zipFile": "%%%"}}, code: "InvalidArgument", msg: []string{"code.zipFile"}},
		{name: "memorySize 100", method: http.MethodPut, path: path, body: map[string]any{"memorySize": 100}, code: "InvalidArgument", msg: []string{"memorySize"}},
		{name: "memorySize string", method: http.MethodPut, path: path, body: map[string]any{"memorySize": "big"}, code: "InvalidArgument", msg: []string{"memorySize"}},
		{name: "runtime built-in", method: http.MethodPut, path: path, body: map[string]any{"runtime": "java8"}, code: "InvalidArgument", msg: []string{"runtime"}},
		{name: "drop the command, no bootstrap", method: http.MethodPut, path: path, body: map[string]any{"customRuntimeConfig": nil}, code: "InvalidArgument", msg: []string{"customRuntimeConfig.command"}},
		{name: "env key", method: http.MethodPut, path: path, body: map[string]any{"environmentVariables": map[string]string{"1BAD": "x"}}, code: "InvalidArgument", msg: []string{"1BAD"}},
		{name: "rename", method: http.MethodPut, path: path, body: map[string]any{"functionName": "other"}, code: "InvalidArgument", msg: []string{"functionName"}, gone: fnPath("svc", "other")},
		{name: "malformed JSON", method: http.MethodPut, path: path, body: []byte(`{"description":`), code: "InvalidArgument", msg: []string{"JSON"}},
		{name: "service: bad JSON type", method: http.MethodPut, path: svcPath("svc"), body: map[string]any{"description": 5}, code: "InvalidArgument", msg: []string{"description"}},
	}
	runBad(t, e, cases)
	e.t = t
	var after fc.Function
	e.must(http.MethodGet, path, nil, &after)
	if a, b := mustJSON(t, after), mustJSON(t, before); a != b {
		t.Errorf("refused updates changed the function:\nbefore %s\nafter  %s", b, a)
	}
	if n := len(e.functionChanges()); n != 0 {
		t.Errorf("FunctionChanged called %d times for refused updates", n)
	}
}

func TestBadServiceInput(t *testing.T) {
	e := newEnv(t)
	var cases []badCase
	for _, tc := range []struct {
		name, svc string
	}{
		{"starts with digit", "1svc"},
		{"starts with dash", "-svc"},
		{"dot", "s.v"},
		{"space", "s v"},
		{"unicode", "sérvice"},
		{"129 chars", "s" + strings.Repeat("v", 128)},
		{"empty", ""},
	} {
		gone := ""
		if tc.svc != "" && !strings.ContainsAny(tc.svc, " .") {
			gone = svcPath(tc.svc)
		}
		cases = append(cases, badCase{name: tc.name, path: "/services", body: map[string]any{"serviceName": tc.svc, "description": "x"},
			code: "InvalidArgument", msg: []string{"serviceName"}, gone: gone})
	}
	cases = append(cases,
		badCase{name: "malformed JSON", path: "/services", body: []byte(`{"serviceName": "ok"`), code: "InvalidArgument", msg: []string{"JSON"}, gone: svcPath("ok")},
		badCase{name: "wrong type", path: "/services", body: map[string]any{"serviceName": 12}, code: "InvalidArgument", msg: []string{"serviceName"}},
	)
	runBad(t, e, cases)
	e.t = t
	// The edges that are fine.
	for _, n := range []string{"s" + strings.Repeat("v", 127), "_svc", "a-b_c9"} {
		if _, err := e.do(http.MethodPost, "/services", map[string]any{"serviceName": n}, nil); err != nil {
			t.Errorf("create service %q: %v", n, err)
		}
	}
}

func TestBadTriggerInput(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	e.createFunction("svc", "fn")
	e.createFunction("svc", "fn2")
	trs := fnPath("svc", "fn") + "/triggers"
	e.must(http.MethodPost, trs, httpTrigger("http", "GET"), nil)
	cfg := func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	fresh := func(name string) map[string]any { return httpTrigger(name, "GET") }
	var cases []badCase
	for _, tc := range []struct {
		name   string
		path   string // default: fn2's triggers (no trigger yet)
		body   any
		status int
		code   string
		msg    []string
		gone   string
	}{
		{name: "method TRACE", body: with(fresh("t"), "triggerConfig", cfg("authType", "anonymous", "methods", []string{"GET", "TRACE"})), code: "InvalidArgument", msg: []string{"triggerConfig.methods[1]", "TRACE"}},
		{name: "no methods", body: with(fresh("t"), "triggerConfig", cfg("authType", "anonymous")), code: "InvalidArgument", msg: []string{"triggerConfig.methods"}},
		{name: "method twice", body: with(fresh("t"), "triggerConfig", cfg("authType", "anonymous", "methods", []string{"GET", "get"})), code: "InvalidArgument", msg: []string{"triggerConfig.methods[1]"}},
		{name: "no triggerConfig", body: with(fresh("t"), "triggerConfig", nil), code: "InvalidArgument", msg: []string{"triggerConfig"}},
		{name: "authType bogus", body: with(fresh("t"), "triggerConfig", cfg("authType", "bogus", "methods", []string{"GET"})), code: "InvalidArgument", msg: []string{"triggerConfig.authType", "bogus"}},
		{name: "authType jwt", body: with(fresh("t"), "triggerConfig", cfg("authType", "jwt", "methods", []string{"GET"})), code: "InvalidArgument", msg: []string{"triggerConfig.authType", "jwt"}},
		{name: "type oss", body: with(fresh("t"), "triggerType", "oss"), code: "InvalidArgument", msg: []string{"triggerType", "oss"}},
		{name: "no type", body: with(fresh("t"), "triggerType", nil), code: "InvalidArgument", msg: []string{"triggerType"}},
		{name: "name starts with digit", body: fresh("1t"), code: "InvalidArgument", msg: []string{"triggerName", "1t"}},
		{name: "name with dot", body: fresh("t.x"), code: "InvalidArgument", msg: []string{"triggerName"}},
		{name: "name 129 chars", body: fresh("t" + strings.Repeat("x", 128)), code: "InvalidArgument", msg: []string{"triggerName", "128"}},
		{name: "methods is a string", body: with(fresh("t"), "triggerConfig", cfg("methods", "GET")), code: "InvalidArgument", msg: []string{"methods"}},
		{name: "malformed JSON", body: []byte(`{"triggerName":`), code: "InvalidArgument", msg: []string{"JSON"}},
		{name: "second HTTP trigger", path: trs, body: fresh("http2"), code: "InvalidArgument", msg: []string{"triggerName", "http2", "http"}, gone: trigPath("svc", "fn", "http2")},
		{name: "duplicate name", path: trs, body: fresh("http"), status: 409, code: "TriggerAlreadyExists", msg: []string{"http"}},
		{name: "unknown function", path: fnPath("svc", "nofn") + "/triggers", body: fresh("t"), status: 404, code: "FunctionNotFound", msg: []string{"nofn"}},
	} {
		p := tc.path
		if p == "" {
			p = fnPath("svc", "fn2") + "/triggers"
		}
		gone := tc.gone
		if gone == "" && tc.path == "" {
			gone = trigPath("svc", "fn2", "t")
		}
		cases = append(cases, badCase{name: tc.name, path: p, body: tc.body, status: tc.status, code: tc.code, msg: tc.msg, gone: gone})
	}
	// Updates that would break the trigger.
	for _, tc := range []struct {
		name string
		body any
		msg  string
	}{
		{"update: method TRACE", map[string]any{"triggerConfig": cfg("authType", "anonymous", "methods", []string{"TRACE"})}, "TRACE"},
		{"update: type oss", map[string]any{"triggerType": "oss"}, "triggerType"},
		{"update: no triggerConfig", map[string]any{"triggerConfig": nil}, "triggerConfig"},
	} {
		cases = append(cases, badCase{name: tc.name, method: http.MethodPut, path: trigPath("svc", "fn", "http"), body: tc.body, code: "InvalidArgument", msg: []string{tc.msg}})
	}
	runBad(t, e, cases)
	e.t = t
	var tr fc.Trigger
	e.must(http.MethodGet, trigPath("svc", "fn", "http"), nil, &tr)
	if tr.TriggerConfig == nil || !slices.Equal(tr.TriggerConfig.Methods, []string{"GET"}) || tr.TriggerType != "http" {
		t.Errorf("trigger after refused updates = %+v", tr)
	}
	// The name-length edge is fine.
	e.must(http.MethodPost, fnPath("svc", "fn2")+"/triggers", fresh("t"+strings.Repeat("x", 127)), nil)
}

// failingStore makes function writes fail as if another writer won a race.
type failingStore struct {
	api.Store
}

func (failingStore) CreateFunction(context.Context, string, *fc.Function) (uint64, error) {
	return 0, fmt.Errorf("injected: %w", fc.ErrAlreadyExists)
}

func (failingStore) UpdateFunction(context.Context, string, *fc.Function, uint64) (uint64, error) {
	return 0, fmt.Errorf("injected: %w", fc.ErrConflict)
}

// When the metadata write fails after the code was uploaded, the upload
// is removed again.
func TestStoreFailureRemovesUploadedCode(t *testing.T) {
	var st api.Store
	e := newEnvWith(t, func(s api.Store) api.Store { st = s; return failingStore{s} })
	e.createService("svc")
	// Seed a function directly in the store (the API cannot create one).
	seedZip := appZip(t, "seed")
	if err := st.PutCode(e.ctx, codezip.Checksum(seedZip), bytes.NewReader(seedZip)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateFunction(e.ctx, "svc", &fc.Function{FunctionName: "old", Runtime: "custom.debian10", Handler: "index.handler",
		Timeout: 3, MemorySize: 128, InstanceConcurrency: 1, CodeChecksum: codezip.Checksum(seedZip), CodeSize: int64(len(seedZip)),
		CustomRuntimeConfig: &fc.CustomRuntimeConfig{Command: []string{"x"}}}); err != nil {
		t.Fatal(err)
	}
	createZip, updateZip := appZip(t, "create"), appZip(t, "update")
	runBad(t, e, []badCase{
		{name: "create loses a race", path: svcPath("svc") + "/functions", body: fnBody("new", createZip), status: 409, code: "FunctionAlreadyExists", msg: []string{"new"}, gone: fnPath("svc", "new"), zip: createZip},
		{name: "update loses a race", method: http.MethodPut, path: fnPath("svc", "old"), body: map[string]any{"code": map[string]any{"zipFile": b64(updateZip)}}, status: 412, code: "PreconditionFailed", zip: updateZip},
		// Code that was stored already stays: the existing function uses it.
		{name: "update with the current code loses a race", method: http.MethodPut, path: fnPath("svc", "old"), body: map[string]any{"code": map[string]any{"zipFile": b64(seedZip)}}, status: 412, code: "PreconditionFailed"},
	})
	e.t = t
	if !e.codeStored(seedZip) {
		t.Errorf("a failed update deleted the code package the function uses")
	}
}
