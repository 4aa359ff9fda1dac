package e2e

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/openfc/openfc/pkg/fcsign"
)

// consoleFunctionCode is the function the test creates from the console:
// FC 2.0's Node.js HTTP handler, answering with what it received.
const consoleFunctionCode = `'use strict';
exports.handler = (request, response, context) => {
  const chunks = [];
  request.on('data', (c) => chunks.push(c));
  request.on('end', () => {
    response.setHeader('Content-Type', 'text/plain; charset=utf-8');
    response.send('console says hi ' + request.method + ' ' + request.path + ' [' + Buffer.concat(chunks) + ']');
  });
};
`

// TestConsole drives the web console in headless Chromium: a bad secret
// shows FC's signature error; signing in, creating a service and a
// Node.js function with its HTTP trigger; Test Function shows the
// function's answer; the trigger's URL opened in the browser answers.
func TestConsole(t *testing.T) {
	s := startServer(t, "")
	checkConsoleHeaders(t, s)
	b := newConsoleBrowser(t)

	b.do("opening the console", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible("#signin"))
	b.shoot("signin")

	consoleSignIn(t, b)

	b.do("creating a service",
		chromedp.SetValue(`#create-service input[name=serviceName]`, "consolesvc"),
		chromedp.SetValue(`#create-service input[name=description]`, "made in the console"),
		chromedp.Click(`#create-service button[type=submit]`),
		chromedp.WaitVisible(`#service-list a[href="#/services/consolesvc"]`))
	b.shoot("services")

	b.do("opening the service",
		chromedp.Click(`#service-list a[href="#/services/consolesvc"]`),
		chromedp.WaitVisible("#create-function"),
		chromedp.SetValue(`#create-function input[name=functionName]`, "hello"),
		chromedp.SetValue(`#create-function input[name=memorySize]`, "256"),
		chromedp.SetValue(`#create-function input[name=timeout]`, "30"),
		chromedp.SetValue(`#create-function textarea[name=code]`, consoleFunctionCode))
	b.shoot("functions")
	b.do("creating a function with its HTTP trigger",
		chromedp.Click(`#create-function button[type=submit]`),
		chromedp.WaitVisible("#function-tabs"))
	b.goTo("#/services/consolesvc/functions/hello/config", `document.querySelector('#tab-config dl.props')`)
	if mem := b.text(`#main dl.props`); !strings.Contains(mem, "256 MB") || !strings.Contains(mem, "nodejs20") {
		t.Errorf("function page: %q; want nodejs20 and 256 MB", mem)
	}

	b.goTo("#/services/consolesvc/functions/hello/test", `document.querySelector('#test-function')`)
	b.do("testing the function",
		chromedp.SetValue("#test-method", "POST"),
		chromedp.SetValue("#test-path", "/p/q?x=1"),
		chromedp.SetValue("#test-body", "ping"),
		chromedp.Click(`#test-function button[type=submit]`),
		chromedp.WaitVisible("#test-response-body"))
	if got, want := b.text("#test-response-body"), "console says hi POST /p/q [ping]"; got != want {
		t.Errorf("Test Function body %q; want %q", got, want)
	}
	if st := b.text("#test-status"); !strings.HasPrefix(st, "200") {
		t.Errorf("Test Function status %q; want 200", st)
	}
	if d := b.text("#test-duration"); !strings.HasSuffix(d, " ms") {
		t.Errorf("Test Function duration %q", d)
	}
	if hd := b.text("#test-headers"); !strings.Contains(hd, "x-fc-request-id:") {
		t.Errorf("Test Function headers %q; want x-fc-request-id", hd)
	}
	b.shoot("function")
	light, dark := b.colorScheme("light"), b.colorScheme("dark")
	if light == dark {
		t.Errorf("the page's background is %s in light and dark schemes alike", light)
	}
	b.shoot("function-dark")
	b.colorScheme("light")
	consoleSignedFunction(t, b)

	// The trigger's public URL, opened in the browser.
	b.goTo("#/services/consolesvc/functions/hello/triggers",
		`document.querySelector('h1 .name')?.textContent === 'consolesvc/hello' && document.querySelector('a.url-internet')`)
	href := step(b, "reading the trigger URL", chromedp.AttributeValue(`a.url-internet`, "href")).Value
	u, err := url.Parse(href)
	if err != nil || !strings.HasSuffix(u.Hostname(), ".fcapp.localhost") || u.Port() != strings.TrimPrefix(s.URL[strings.LastIndex(s.URL, ":"):], ":") {
		t.Fatalf("trigger URL %q (%v); want a subdomain of fcapp.localhost on the server's port", href, err)
	}
	b.do("opening the trigger URL", chromedp.Navigate(href))
	page := step(b, "reading the trigger's answer", chromedp.Text("body"))
	if got, want := strings.TrimSpace(page), "console says hi GET / []"; got != want {
		t.Errorf("the trigger URL in the browser: %q; want %q", got, want)
	}

	consoleDeleteServices(t, b, s)
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("the console's pages reported errors: %v", errs)
	}
}

// consoleSignIn signs in: a bad secret first shows FC's signature error as
// FC reports it; then the right one, typed and sent with the keyboard
// alone, is kept in sessionStorage only.
func consoleSignIn(t *testing.T, b *consoleBrowser) {
	t.Helper()
	// A bad secret: FC's error as FC reports it.
	b.do("signing in with a bad secret",
		chromedp.SetValue("#access-key-id", accessKeyID),
		chromedp.SetValue("#access-key-secret", "not-the-secret"),
		chromedp.Click("#signin button[type=submit]"),
		chromedp.WaitVisible("#signin .fc-error"))
	b.checkFCError("#signin", "bad secret", "SignatureNotMatch", "does not match the signature you provided")
	b.shoot("signin-error")

	// The right secret, typed and sent with the keyboard alone: the error
	// left the focus on the secret, Enter submits.
	if id := step(b, "reading the focus", chromedp.Evaluate[string](`document.activeElement.id`)); id != "access-key-secret" {
		t.Errorf("after the error the focus is on %q; want the secret's field", id)
	}
	b.do("signing in with the keyboard",
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)), // select the bad secret
		chromedp.KeyEvent(accessKeySecret+kb.Enter),
		chromedp.WaitVisible("#create-service"))
	// The right secret is kept in sessionStorage only.
	stored := step(b, "reading sessionStorage", chromedp.Evaluate[string](`sessionStorage.getItem('openfc.accessKey') || ''`))
	local := step(b, "reading localStorage", chromedp.Evaluate[int](`localStorage.length`))
	cookies := step(b, "reading cookies", chromedp.Evaluate[string](`document.cookie`))
	if !strings.Contains(stored, accessKeySecret) || local != 0 || cookies != "" {
		t.Errorf("after sign-in: sessionStorage %q, localStorage has %d items, cookies %q; want the key in sessionStorage only", stored, local, cookies)
	}
}

// consoleDeleteServices goes back to the services (same tab: the key is
// still in sessionStorage), deletes services and signs out.
func consoleDeleteServices(t *testing.T, b *consoleBrowser, s *server) {
	t.Helper()
	// Deleting a service with functions shows FC's refusal; an empty one goes.
	b.do("back to the services",
		chromedp.Navigate(s.URL+"/#/services"),
		chromedp.WaitVisible(`#service-list a[href="#/services/consolesvc"]`),
		chromedp.Click(`button[aria-label="Delete service consolesvc"]`),
		chromedp.Click(`button[aria-label="Confirm deleting service consolesvc"]`))
	if code := b.text("#main .fc-error .error-code"); code != "ServiceNotEmpty" {
		t.Errorf("deleting a service with functions: %q; want ServiceNotEmpty", code)
	}
	b.do("creating and deleting an empty service",
		chromedp.SetValue(`#create-service input[name=serviceName]`, "tmpsvc"),
		chromedp.Click(`#create-service button[type=submit]`),
		chromedp.WaitVisible(`#service-list a[href="#/services/tmpsvc"]`),
		chromedp.Click(`button[aria-label="Delete service tmpsvc"]`),
		chromedp.Click(`button[aria-label="Confirm deleting service tmpsvc"]`),
		chromedp.WaitNotPresent(`#service-list a[href="#/services/tmpsvc"]`))
	b.do("signing out", chromedp.Click("#sign-out"), chromedp.WaitVisible("#signin"))
	if left := step(b, "reading sessionStorage", chromedp.Evaluate[int](`sessionStorage.length`)); left != 0 {
		t.Errorf("after sign-out sessionStorage holds %d items", left)
	}
}

// consoleSignedFunction creates a function whose trigger wants FC's
// signature (authType function): Test Function signs its call in the
// browser, query included, and gets the function's answer.
func consoleSignedFunction(t *testing.T, b *consoleBrowser) {
	t.Helper()
	b.goTo("#/services/consolesvc", `document.getElementById('create-function')`)
	b.do("creating a function with a signed trigger",
		chromedp.SetValue(`#create-function input[name=functionName]`, "secure"),
		chromedp.SetValue(`#create-function select[name=authType]`, "function"),
		chromedp.SetValue(`#create-function textarea[name=code]`, consoleFunctionCode),
		chromedp.Click(`#create-function button[type=submit]`),
		chromedp.WaitVisible("#function-tabs"))
	b.goTo("#/services/consolesvc/functions/secure/test", `document.querySelector('#test-function')`)
	b.do("testing the signed function",
		chromedp.SetValue("#test-path", "/s t?b=2&a=1&a=0"),
		chromedp.Click(`#test-function button[type=submit]`),
		chromedp.WaitVisible("#test-response-body"))
	if st := b.text("#test-status"); !strings.HasPrefix(st, "200") {
		t.Errorf("Test Function of a signed trigger: status %q, body %q; want 200", st, b.text("#test-response-body"))
	}
	if got, want := b.text("#test-response-body"), "console says hi GET /s t []"; got != want {
		t.Errorf("Test Function of a signed trigger: body %q; want %q", got, want)
	}
}

// checkConsoleHeaders checks the console page's security headers over
// plain HTTP, as the browser gets them.
func checkConsoleHeaders(t *testing.T, s *server) {
	t.Helper()
	resp, body := s.do("GET", "/", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `<main id="main"`) {
		t.Fatalf("GET /: %d %.300s", resp.StatusCode, body)
	}
	for k, want := range map[string]string{
		"Content-Security-Policy": "default-src 'self'; script-src 'self'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-cache",
	} {
		if got := resp.Header.Get(k); !strings.HasPrefix(got, want) {
			t.Errorf("GET /: %s %q; want %q", k, got, want)
		}
	}
	// A signed request keeps the API's answer.
	req, err := http.NewRequest("GET", s.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	fcsign.Sign(adminCreds, req)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if r2.StatusCode != 400 || !strings.Contains(string(b2), "PathNotSupported") {
		t.Errorf("signed GET /: %d %s; want the API's PathNotSupported", r2.StatusCode, b2)
	}
}
