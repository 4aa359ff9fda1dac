package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/openfc/openfc/pkg/fcsign"
)

// configFunctionCode is the Python function the test creates from the
// console: FC 2.0's WSGI handler, answering with its GREETING variable.
const configFunctionCode = `import os


def handler(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain; charset=utf-8')])
    return [os.environ.get('GREETING', 'unset').encode('utf-8')]
`

// TestConsoleConfig drives the Configuration and Triggers tabs in
// headless Chromium: a Python function created from the console with an
// environment variable answers with it; editing the variable and the
// memory changes what the function answers and what GetFunction shows;
// a value FC refuses shows FC's error; the trigger's authentication,
// methods and Disable Internet URL, edited in the console, change what a
// plain HTTP client gets; a trigger is deleted and created again.
func TestConsoleConfig(t *testing.T) {
	s := startServerEnv(t, "", []string{"OPENFC_PYTHON=/usr/bin/python3"})
	b := newConsoleBrowser(t)
	b.do("opening the console", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible("#signin"))
	consoleSignIn(t, b)
	b.createService("cfgsvc")

	b.goTo("#/services/cfgsvc", `document.getElementById('create-function')`)
	b.setValue(`#create-function select[name=runtime]`, "python3.10")
	if label := b.text(`label[for="` + b.attr(`#create-function textarea[name=code]`, "id") + `"]`); label != "Code (index.py)" {
		t.Errorf("the code's label for python3.10: %q; want Code (index.py)", label)
	}
	b.do("creating a Python function with an environment variable",
		chromedp.SetValue(`#create-function input[name=functionName]`, "greet"),
		chromedp.Click(`#create-function .kv-add`),
		chromedp.SetValue(`#create-function input[name=envKey]`, "GREETING"),
		chromedp.SetValue(`#create-function input[name=envValue]`, "hola"),
		chromedp.SetValue(`#create-function textarea[name=code]`, configFunctionCode))
	b.shoot("create-python")
	b.do("submitting", chromedp.Click(`#create-function button[type=submit]`), chromedp.WaitVisible("#function-tabs"))

	urls := configTriggerURLs(t, s)
	for _, u := range urls {
		if resp, body := configGet(t, s, "GET", u, false); resp.StatusCode != 200 || string(body) != "hola" {
			t.Errorf("GET %s: %d %q; want 200 hola", u, resp.StatusCode, body)
		}
	}

	configEdit(t, b, s, urls)
	configTriggers(t, b, s, urls)
	configCustomRuntime(t, b, s)

	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("the console's pages reported errors: %v", errs)
	}
}

// configEdit edits the function on the Configuration tab: a memory size
// FC refuses shows FC's error; then the new variable and memory are
// shown, answered and stored.
func configEdit(t *testing.T, b *consoleBrowser, s *server, urls []string) {
	t.Helper()
	b.goTo("#/services/cfgsvc/functions/greet/config", `document.querySelector('#config-form')`)
	b.do("editing with a memory size FC refuses",
		chromedp.Click("#edit-config"),
		chromedp.WaitVisible(`#config-form input[name=memorySize]`),
		chromedp.SetValue(`#config-form input[name=memorySize]`, "100"),
		chromedp.Click(`#config-form button[type=submit]`),
		chromedp.WaitVisible(`#config-form .fc-error`))
	b.checkFCError("#config-form", "memory 100", "InvalidArgument", "memorySize 100")
	b.shoot("config-error")
	configEnvKeyboard(t, b)
	b.do("saving memory 256 and GREETING=salut",
		chromedp.SetValue(`#config-form input[name=memorySize]`, "256"),
		chromedp.SetValue(`#config-form input[name=envValue]`, "salut"),
		chromedp.Click(`#config-form button[type=submit]`))
	b.waitJS("the saved configuration", `(document.querySelector('#tab-config dl.props')?.textContent || '').includes('256 MB')`)
	if props := b.text(`#tab-config dl.props`); !strings.Contains(props, "GREETING = salut") || !strings.Contains(props, "python3.10") {
		t.Errorf("the configuration after saving: %q; want python3.10 and GREETING = salut", props)
	}
	if got := step(b, "reading the focus", chromedp.Evaluate[string](`document.activeElement.id + ' ' + (document.querySelector('.saved')?.textContent || '')`)); got != "edit-config Saved" {
		t.Errorf("after saving, the focus and status: %q; want edit-config and Saved", got)
	}
	b.shoot("config")
	b.colorScheme("dark")
	b.shoot("config-dark")
	b.colorScheme("light")

	waitFor(t, 30*time.Second, func() error {
		if resp, body := configGet(t, s, "GET", urls[0], false); resp.StatusCode != 200 || string(body) != "salut" {
			return fmt.Errorf("GET after the update: %d %q; want salut", resp.StatusCode, body)
		}
		return nil
	})
	resp, body := s.signedDo("GET", "/2016-08-15/services/cfgsvc/functions/greet", "")
	var f struct {
		MemorySize           int               `json:"memorySize"`
		EnvironmentVariables map[string]string `json:"environmentVariables"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &f) != nil || f.MemorySize != 256 || f.EnvironmentVariables["GREETING"] != "salut" {
		t.Errorf("GetFunction after the update: %d %s; want memorySize 256, GREETING salut", resp.StatusCode, body)
	}
}

// configTriggers edits the HTTP trigger on the Triggers tab and checks
// each change with a plain HTTP client.
func configTriggers(t *testing.T, b *consoleBrowser, s *server, urls []string) {
	t.Helper()
	const form = `form.trigger-edit[data-trigger="httpTrigger"]`
	summary := func(want string) {
		b.waitJS("the trigger saying "+want, `(document.querySelector('.trigger-summary')?.textContent || '').includes(`+strconv.Quote(want)+`)`)
	}
	b.goTo("#/services/cfgsvc/functions/greet/triggers", `document.querySelector('`+form+`')`)
	b.do("requiring FC's signature",
		chromedp.SetValue(form+` select[name=authType]`, "function"),
		chromedp.Click(form+` button[type=submit]`))
	summary("Authentication: function")
	for _, u := range urls {
		resp, body := configGet(t, s, "GET", u, false)
		checkPlatformError(t, "unsigned GET "+u, resp, body, 400, "MissingRequiredHeader", "FcCommonError", "Authorization")
		if resp, body := configGet(t, s, "GET", u, true); resp.StatusCode != 200 || string(body) != "salut" {
			t.Errorf("signed GET %s: %d %q; want salut", u, resp.StatusCode, body)
		}
	}

	b.do("allowing POST only, anonymously",
		chromedp.SetValue(form+` select[name=authType]`, "anonymous"),
		chromedp.Click(form+` input[name=method][value=GET]`),
		chromedp.Click(form+` button[type=submit]`))
	summary("Authentication: anonymous; methods: POST")
	for _, u := range urls {
		resp, body := configGet(t, s, "GET", u, false)
		checkPlatformError(t, "GET "+u, resp, body, 403, "MethodNotAllowed", "FcCommonError", "method GET is not allowed")
		if resp, body := configGet(t, s, "POST", u, false); resp.StatusCode != 200 || string(body) != "salut" {
			t.Errorf("POST %s: %d %q; want salut", u, resp.StatusCode, body)
		}
	}
	b.shoot("triggers")

	b.do("disabling the internet URL",
		chromedp.Click(form+` input[name=disableURLInternet]`),
		chromedp.Click(form+` button[type=submit]`))
	summary("Internet URL disabled")
	// openfc refuses both default URLs (the subdomain and the proxy
	// form); a custom domain still reaches the function, as on FC.
	for _, u := range urls {
		resp, body := configGet(t, s, "POST", u, false)
		checkPlatformError(t, "disabled POST "+u, resp, body, 403, "AccessDenied", "FcCommonError", "internet URL is disabled")
	}
	s.createDomain(t, map[string]any{"domainName": "cfg.example.test", "routeConfig": routes(
		map[string]any{"path": "/*", "serviceName": "cfgsvc", "functionName": "greet"})})
	if resp, body := s.viaHost(t, "POST", "cfg.example.test", "/"); resp.StatusCode != 200 || string(body) != "salut" {
		t.Errorf("POST through the custom domain: %d %q; want salut", resp.StatusCode, body)
	}
	if n := step(b, "counting URLs", chromedp.Evaluate[int](`document.querySelectorAll('a.url-internet, a.url-intranet').length`)); n != 0 {
		t.Errorf("the disabled trigger shows %d URLs", n)
	}
	b.shoot("triggers-disabled")

	b.do("deleting the trigger",
		chromedp.Click(`button[aria-label="Delete trigger httpTrigger"]`),
		chromedp.Click(`button[aria-label="Confirm deleting trigger httpTrigger"]`),
		chromedp.WaitVisible("#create-trigger"))
	b.do("creating an HTTP trigger",
		chromedp.Click(`#create-trigger button[type=submit]`),
		chromedp.WaitVisible(form))
	urls = configTriggerURLs(t, s)
	if resp, body := configGet(t, s, "GET", urls[0], false); resp.StatusCode != 200 || string(body) != "salut" {
		t.Errorf("GET of the new trigger: %d %q; want salut", resp.StatusCode, body)
	}
	configJWTTrigger(t, b, s)
}

// configJWTTrigger: a jwt trigger's authConfig (set through the API) is
// shown read-only, and saving other settings in the console keeps it.
func configJWTTrigger(t *testing.T, b *consoleBrowser, s *server) {
	t.Helper()
	const path = "/2016-08-15/services/cfgsvc/functions/greet/triggers/httpTrigger"
	ac := jwtAuthConfig(t, newECSigner(t, "k1"))
	if resp, body := s.signedDo("PUT", path, `{"triggerConfig":{"authType":"jwt","methods":["GET"],"authConfig":`+ac+`}}`); resp.StatusCode != 200 {
		t.Fatalf("UpdateTrigger to jwt: %d %s", resp.StatusCode, body)
	}
	const form = `form.trigger-edit[data-trigger="httpTrigger"]`
	b.goTo("#/services/cfgsvc/functions/greet/config", `document.querySelector('#config-form')`)
	b.goTo("#/services/cfgsvc/functions/greet/triggers", `document.querySelector('details.jwt-config')`)
	if got := step(b, "reading the auth type", chromedp.Evaluate[string](`document.querySelector('`+form+` select[name=authType]').value`)); got != "jwt" {
		t.Errorf("a jwt trigger's form says authType %q", got)
	}
	if cfg := step(b, "reading the JWT configuration", chromedp.Evaluate[string](`document.querySelector('details.jwt-config pre').textContent`)); !strings.Contains(cfg, `"tokenLookup"`) {
		t.Errorf("the JWT configuration shown: %q", cfg)
	}
	b.do("allowing POST on the jwt trigger",
		chromedp.Click(form+` input[name=method][value=POST]`),
		chromedp.Click(form+` button[type=submit]`))
	b.waitJS("the jwt trigger saved", `(document.querySelector('.trigger-summary')?.textContent || '').includes('methods: GET, POST')`)
	if got := step(b, "reading the focus", chromedp.Evaluate[string](`document.activeElement.textContent + ' ' + (document.querySelector('.saved')?.textContent || '')`)); got != "Save trigger Saved" {
		t.Errorf("after saving, the focus and status: %q; want the Save button and Saved", got)
	}
	resp, body := s.signedDo("GET", path, "")
	var tr struct {
		TriggerConfig struct {
			AuthType   string
			Methods    []string
			AuthConfig struct{ Whitelist []string }
		}
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &tr) != nil || tr.TriggerConfig.AuthType != "jwt" ||
		strings.Join(tr.TriggerConfig.Methods, ",") != "GET,POST" || strings.Join(tr.TriggerConfig.AuthConfig.Whitelist, ",") != "/public/*" {
		t.Errorf("GetTrigger after saving in the console: %d %s; want jwt, GET and POST, its authConfig kept", resp.StatusCode, body)
	}
	b.shoot("triggers-jwt")
}

// configEnvKeyboard checks the variables editor's focus and labels: Add
// puts the focus on the new row's name, labelled by its number; Remove
// moves it to the row left, and removes the variable.
func configEnvKeyboard(t *testing.T, b *consoleBrowser) {
	t.Helper()
	focused := func() string {
		return step(b, "reading the focus", chromedp.Evaluate[string](`(() => {
  const a = document.activeElement;
  const l = a && a.id ? document.querySelector('label[for="' + a.id + '"]') : null;
  return (a ? a.tagName + ' ' + (a.name || a.textContent) : '') + ' | ' + (l ? l.textContent : '');
})()`))
	}
	b.do("adding a variable", chromedp.Click(`#config-form .kv-add`))
	if got, want := focused(), "INPUT envKey | Name of variable 2"; got != want {
		t.Errorf("after Add the focus is on %q; want %q", got, want)
	}
	b.do("typing its name", chromedp.KeyEvent("EXTRA"))
	b.do("removing it", chromedp.Click(`#config-form button[aria-label="Remove variable 2"]`))
	if got, want := focused(), "INPUT envKey | Name of variable 1"; got != want {
		t.Errorf("after Remove the focus is on %q; want %q", got, want)
	}
	if n := step(b, "counting rows", chromedp.Evaluate[int](`document.querySelectorAll('#config-form .kv-row').length`)); n != 1 {
		t.Errorf("after Remove the editor has %d rows; want 1", n)
	}
}

// configCustomRuntime creates functions from the console with the
// starting code of Node.js, PHP and a custom runtime (an executable
// bootstrap running a Python server): each answers. The custom one's
// port, edited on the Configuration tab, is stored as
// customRuntimeConfig.port.
func configCustomRuntime(t *testing.T, b *consoleBrowser, s *server) {
	t.Helper()
	for _, c := range []struct{ runtime, name, files string }{
		{"nodejs20", "nodefn", "index.js"}, {"php7.2", "phpfn", "index.php"}, {"custom.debian10", "cust", "server.py,bootstrap"},
	} {
		b.goTo("#/services/cfgsvc", `document.getElementById('create-function')`)
		b.setValue(`#create-function select[name=runtime]`, c.runtime)
		if n := step(b, "listing code files", chromedp.Evaluate[string](`[...document.querySelectorAll('#create-function textarea')].map((x) => x.dataset.file).join(',')`)); n != c.files {
			t.Errorf("%s's code files: %q; want %s", c.runtime, n, c.files)
		}
		b.do("creating a "+c.runtime+" function",
			chromedp.SetValue(`#create-function input[name=functionName]`, c.name),
			chromedp.Click(`#create-function button[type=submit]`),
			chromedp.WaitVisible("#function-tabs"))
		if resp, body := s.do("GET", "/2016-08-15/proxy/cfgsvc/"+c.name+"/", nil, nil); resp.StatusCode != 200 || string(body) != "Hello from "+c.name+"!\n" {
			t.Errorf("GET of the %s function with its starting code: %d %q", c.runtime, resp.StatusCode, body)
		}
	}
	b.goTo("#/services/cfgsvc/functions/cust/config", `document.querySelector('#config-form input[name=port]')`)
	b.do("setting the port",
		chromedp.Click("#edit-config"),
		chromedp.SetValue(`#config-form input[name=port]`, "9100"),
		chromedp.Click(`#config-form button[type=submit]`))
	b.waitJS("the saved port", `(document.querySelector('#tab-config dl.props')?.textContent || '').includes('port 9100')`)
	resp, body := s.signedDo("GET", "/2016-08-15/services/cfgsvc/functions/cust", "")
	var f struct {
		CustomRuntimeConfig struct{ Port int } `json:"customRuntimeConfig"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &f) != nil || f.CustomRuntimeConfig.Port != 9100 {
		t.Errorf("GetFunction after setting the port: %d %s; want customRuntimeConfig.port 9100", resp.StatusCode, body)
	}
	waitFor(t, 30*time.Second, func() error {
		if resp, body := s.do("GET", "/2016-08-15/proxy/cfgsvc/cust/", nil, nil); resp.StatusCode != 200 || string(body) != "Hello from cust!\n" {
			return fmt.Errorf("GET after the port change: %d %q", resp.StatusCode, body)
		}
		return nil
	})
	b.shoot("config-custom")
}

// configTriggerURLs returns the urlInternet (a trigger subdomain) and
// urlIntranet (the proxy form) of cfgsvc/greet's trigger, from the API.
func configTriggerURLs(t *testing.T, s *server) []string {
	t.Helper()
	resp, body := s.signedDo("GET", "/2016-08-15/services/cfgsvc/functions/greet/triggers", "")
	var got struct {
		Triggers []struct{ URLInternet, URLIntranet string }
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &got) != nil || len(got.Triggers) != 1 {
		t.Fatalf("ListTriggers: %d %s", resp.StatusCode, body)
	}
	tr := got.Triggers[0]
	if !strings.Contains(tr.URLInternet, ".fcapp.localhost:") || !strings.Contains(tr.URLIntranet, "/proxy/cfgsvc/greet/") {
		t.Fatalf("trigger URLs %q %q", tr.URLInternet, tr.URLIntranet)
	}
	return []string{tr.URLInternet, tr.URLIntranet}
}

// configGet sends method to a trigger URL, connecting to the server (a
// trigger subdomain of fcapp.localhost is named in Host), signed with
// the admin key when signed. The signature covers the query on both
// forms, as the gateway verifies an HTTP trigger's calls (fcsign.Sign
// adds it on the proxy form only).
func configGet(t *testing.T, s *server, method, rawURL string, signed bool) (*http.Response, []byte) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, s.URL+u.RequestURI(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = u.Host
	if signed {
		req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		sts := fcsign.StringToSign(method, fcsign.SignedPath(req.URL), req.Header, req.URL.Query(), true)
		req.Header.Set("Authorization", fcsign.AuthorizationValue(accessKeyID, fcsign.Signature(accessKeySecret, sts)))
	}
	return rulesSend(t, req)
}
