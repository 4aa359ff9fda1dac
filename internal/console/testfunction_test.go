package console

import (
	"net/http"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/auth"
)

// TestJSTestRequest checks Test Function's request: the query rows are
// added to the path's own query, header rows kept (a repeated one
// joined), and a signed call with both verifies on the server; the log
// tail decodes as UTF-8.
func TestJSTestRequest(t *testing.T) {
	var got struct {
		URL     string              `json:"url"`
		Path    string              `json:"path"`
		Query   map[string][]string `json:"query"`
		Headers map[string]string   `json:"headers"`
		Log     string              `json:"log"`
	}
	runJS(t, `
globalThis.location = { origin: 'http://console.test' };
const dir = process.env.JS_DIR;
const test = await import(dir + '/test.js');
const { sign } = await import(dir + '/fcsign.js');
const r = test.testRequest('svc', 'fn', 'p q?z=1&a=0', [['a', 'b c'], ['x+y', '1&2'], ['ü', '✓']],
  [['X-Echo', 'one'], ['x-fc-trace', 't'], ['X-Echo', 'two']]);
r.headers['X-Fc-Log-Type'] = 'Tail';
await sign({ accessKeyId: 'akid', accessKeySecret: 'the secret' }, 'GET', r.path, r.headers, r.query);
const log = test.decodeLogTail(Buffer.from('héllo ✓ log\n').toString('base64'));
process.stdout.write(JSON.stringify({ ...r, log }));
`, nil, &got)
	if got.Path != "/2016-08-15/proxy/svc/fn/p q" || !strings.HasPrefix(got.URL, "/2016-08-15/proxy/svc/fn/p%20q?z=1&a=0&") {
		t.Errorf("testRequest: url %q, path %q", got.URL, got.Path)
	}
	wantQuery := map[string][]string{"z": {"1"}, "a": {"0", "b c"}, "x+y": {"1&2"}, "ü": {"✓"}}
	for k, v := range wantQuery {
		if strings.Join(got.Query[k], "|") != strings.Join(v, "|") {
			t.Errorf("query %q = %q; want %q (all: %v)", k, got.Query[k], v, got.Query)
		}
	}
	if got.Headers["X-Echo"] != "one, two" || got.Headers["x-fc-trace"] != "t" {
		t.Errorf("headers %v; want X-Echo \"one, two\" and x-fc-trace", got.Headers)
	}
	if got.Log != "héllo ✓ log\n" {
		t.Errorf("decodeLogTail: %q", got.Log)
	}

	// The request as fetch sends it verifies on the server, query rows
	// and x-fc-* header rows signed.
	r, err := http.NewRequest("GET", "http://h"+got.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range got.Headers {
		r.Header.Set(k, v)
	}
	v := &auth.Verifier{Keys: func(id string) (auth.Key, bool) { return auth.Key{Secret: "the secret"}, id == "akid" }}
	if _, err := v.VerifyHeader(r, true); err != nil {
		t.Errorf("a signed Test Function request with query and header rows: %v (url %s, headers %v)", err, got.URL, got.Headers)
	}
	r.Header.Set("X-Fc-Trace", "changed")
	if _, err := v.VerifyHeader(r, true); err == nil {
		t.Errorf("a changed x-fc-* header still verified: the header rows are not signed")
	}
}
