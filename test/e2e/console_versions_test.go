package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// markerCode is a Node.js HTTP handler answering marker, so that a call
// tells which code (version) served it.
func markerCode(marker string) string {
	return `'use strict';
exports.handler = (request, response, context) => {
  response.setHeader('Content-Type', 'text/plain; charset=utf-8');
  response.send(` + fmt.Sprintf("%q", marker) + `);
};
`
}

// TestConsoleVersions drives the Versions & Aliases and Custom domains
// pages: a version published from the page keeps its code after LATEST
// changes; an alias created from the page routes the proxy form to it,
// and its gray release (edited on the page) sends every call to the
// additional version at 100 %; deleting a version an alias uses shows
// FC's VersionInUse; a custom domain added from the page routes its Host
// to the function, its stored private key is never shown back, and
// deleting it stops the routing.
func TestConsoleVersions(t *testing.T) {
	s := startServer(t, "")
	b := newConsoleBrowser(t)
	b.do("opening the console", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible("#signin"))
	consoleSignIn(t, b)

	const svc, fn = "versvc", "marked"
	b.do("creating a service and a function answering v1",
		chromedp.SetValue(`#create-service input[name=serviceName]`, svc),
		chromedp.Click(`#create-service button[type=submit]`),
		chromedp.WaitVisible(`#service-list a[href="#/services/`+svc+`"]`),
		chromedp.Click(`#service-list a[href="#/services/`+svc+`"]`),
		chromedp.WaitVisible("#create-function"),
		chromedp.SetValue(`#create-function input[name=functionName]`, fn),
		chromedp.SetValue(`#create-function textarea[name=code]`, markerCode("marker v1")),
		chromedp.Click(`#create-function button[type=submit]`),
		chromedp.WaitVisible("#function-tabs"))

	b.goTo("#/services/"+svc, `document.getElementById('versions-link')`)
	b.do("publishing version 1 from the page",
		chromedp.Click("#versions-link"),
		chromedp.WaitVisible("#publish-version"),
		chromedp.SetValue("#publish-description", "first release"),
		chromedp.Click(`#publish-version button[type=submit]`),
		chromedp.WaitVisible(`#version-list li[data-version="1"]`))
	b.waitJS("the publishing's status", `document.getElementById('versions-status').textContent === 'Published version 1.'`)

	s.updateFunctionCode(t, svc, fn, markerCode("marker latest"))
	proxy := "/2016-08-15/proxy/" + svc + "/" + fn + "/"
	waitFor(t, 30*time.Second, func() error {
		if got := s.getText(t, s.URL+proxy); got != "marker latest" {
			return fmt.Errorf("LATEST answers %q after the update", got)
		}
		return nil
	})

	b.waitJS("version 1 in the alias form", `document.querySelector('#alias-version option[value="1"]')`)
	b.do("creating alias prod -> version 1 from the page",
		chromedp.SetValue("#alias-name", "prod"),
		chromedp.SetValue("#alias-version", "1"),
		chromedp.SetValue("#alias-description", "stable"),
		chromedp.Click(`#alias-form button[type=submit]`),
		chromedp.WaitVisible(`#alias-list li[data-alias="prod"]`))
	if got := s.getText(t, s.URL+"/2016-08-15/proxy/"+svc+".prod/"+fn+"/"); got != "marker v1" {
		t.Errorf("the proxy URL of prod answers %q; want version 1's marker", got)
	}
	if got := s.getText(t, s.URL+proxy); got != "marker latest" {
		t.Errorf("the plain proxy URL answers %q; want LATEST's marker", got)
	}

	// The URL the page shows for prod is the one that calls version 1.
	b.do("opening prod's URLs",
		chromedp.Click(`#alias-list li[data-alias="prod"] summary`),
		chromedp.WaitVisible(`#alias-list li[data-alias="prod"] a.qualified-url`))
	href := step(b, "reading prod's URL", chromedp.AttributeValue(`#alias-list li[data-alias="prod"] a.qualified-url`, "href")).Value
	if want := s.URL + "/2016-08-15/proxy/" + svc + ".prod/" + fn + "/"; href != want {
		t.Errorf("prod's URL on the page %q; want %q", href, want)
	}
	if got := s.getText(t, href); got != "marker v1" {
		t.Errorf("prod's URL from the page answers %q; want version 1's marker", got)
	}

	consoleGrayRelease(t, b, s, svc, fn)

	b.do("deleting version 1 while prod uses it",
		chromedp.Click(`button[aria-label="Delete version 1"]`),
		chromedp.Click(`button[aria-label="Confirm deleting version 1"]`),
		chromedp.WaitVisible("#versions-errors .fc-error"))
	b.checkFCError("#versions-errors", "deleting a version prod uses", "VersionInUse", "prod")
	b.do("opening version 1's URLs",
		chromedp.Click(`#version-list li[data-version="1"] summary`),
		chromedp.WaitVisible(`#version-list li[data-version="1"] a.qualified-url`))
	v1 := step(b, "reading version 1's URL", chromedp.AttributeValue(`#version-list li[data-version="1"] a.qualified-url`, "href")).Value
	if got := s.getText(t, v1); got != "marker v1" {
		t.Errorf("version 1's URL from the page %q answers %q; want version 1's marker", v1, got)
	}
	b.shoot("versions")

	consoleDomains(t, b, s, svc, fn)
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("the console's pages reported errors: %v", errs)
	}
}

// consoleGrayRelease publishes version 2 (LATEST's code) from the page
// and edits prod to send 100 % of its calls to it as the additional
// version: the proxy URL of prod then answers version 2's marker.
func consoleGrayRelease(t *testing.T, b *consoleBrowser, s *server, svc, fn string) {
	t.Helper()
	b.do("publishing version 2",
		chromedp.SetValue("#publish-description", "second release"),
		chromedp.Click(`#publish-version button[type=submit]`),
		chromedp.WaitVisible(`#version-list li[data-version="2"]`))
	b.waitJS("version 2 in the alias form", `document.querySelector('#alias-extra option[value="2"]')`)
	b.do("editing prod", chromedp.Click(`button[aria-label="Edit alias prod"]`))
	b.setValue("#alias-extra", "2")
	b.do("version 2 takes 100 %",
		chromedp.SetValue("#alias-weight", "100"),
		chromedp.Click(`#alias-form button[type=submit]`))
	b.waitJS("the alias saved or an error", `/^Saved alias/.test(document.getElementById('versions-status').textContent) || document.querySelector('#versions-errors .fc-error')`)
	if got := b.text(`#alias-list li[data-alias="prod"] .alias-target`); got != "→ version 1, version 2 takes 100%" {
		t.Errorf("prod after the edit shows %q", got)
	}
	if got := s.getText(t, s.URL+"/2016-08-15/proxy/"+svc+".prod/"+fn+"/"); got != "marker latest" {
		t.Errorf("prod with version 2 at 100%% answers %q; want version 2's (LATEST's) marker", got)
	}
	_, body := s.signedDo("GET", "/2016-08-15/services/"+svc+"/aliases/prod", "")
	var al struct {
		VersionID string             `json:"versionId"`
		Weights   map[string]float64 `json:"additionalVersionWeight"`
	}
	if err := json.Unmarshal(body, &al); err != nil || al.VersionID != "1" || al.Weights["2"] != 1 {
		t.Errorf("prod as stored: %s (%v); want version 1 with version 2 at weight 1", body, err)
	}
}

// consoleDomains adds a custom domain from the page, serving HTTP and
// HTTPS, routing /* to the function: its Host reaches the function; the
// edit form never shows the stored private key, and saving without one
// keeps it; deleting the domain stops the routing.
func consoleDomains(t *testing.T, b *consoleBrowser, s *server, svc, fn string) {
	t.Helper()
	const domain = "shop.example.com"
	certPEM, keyPEM, _ := domainCert(t, domain)
	b.do("opening the domains", chromedp.Click("#nav-domains"), chromedp.WaitVisible("#domain-form"))
	consoleRouteRowKeyboard(t, b)
	b.do("adding a custom domain",
		chromedp.SetValue("#domain-name", domain),
	)
	b.setValue("#domain-protocol", "HTTP,HTTPS")
	b.do("filling the certificate and the route",
		chromedp.WaitVisible("#domain-cert"),
		chromedp.SetValue("#domain-cert-name", "shop"),
		chromedp.SetValue("#domain-cert", certPEM),
		chromedp.SetValue("#domain-key", keyPEM),
		chromedp.SetValue(`#route-rows input[name=serviceName]`, svc),
		chromedp.SetValue(`#route-rows input[name=functionName]`, fn),
		chromedp.Click(`#domain-form button[type=submit]`),
		chromedp.WaitVisible(`#domain-list li[data-domain="`+domain+`"]`))
	b.waitJS("the adding's status", `document.getElementById('domains-status').textContent.startsWith('Added domain `+domain+`.')`)
	curl := b.text(`#domain-list li[data-domain="` + domain + `"] .domain-curl`)
	if want := "curl -H 'Host: " + domain + "' " + s.URL + "/"; curl != want {
		t.Errorf("how to call it: %q; want %q", curl, want)
	}
	if got := viaHostText(t, s, domain, "/cart"); got != "200 marker latest" {
		t.Errorf("GET /cart with Host %s: %q; want the function's answer", domain, got)
	}
	b.shoot("domains")
	if light, dark := b.colorScheme("light"), b.colorScheme("dark"); light == dark {
		t.Errorf("the domains page's background is %s in light and dark schemes alike", light)
	}
	b.shoot("domains-dark")
	b.colorScheme("light")

	b.do("editing the domain", chromedp.Click(`button[aria-label="Edit domain `+domain+`"]`),
		chromedp.WaitVisible(`#domain-key-note`))
	cert := step(b, "reading the certificate field", chromedp.Evaluate[string](`document.getElementById('domain-cert').value`))
	key := step(b, "reading the key field", chromedp.Evaluate[string](`document.getElementById('domain-key').value`))
	pageText := step(b, "reading the page", chromedp.Evaluate[string](`document.body.innerText`))
	keyLine := strings.Split(keyPEM, "\n")[1] // a line of the key's base64
	if strings.TrimSpace(cert) != strings.TrimSpace(certPEM) || key != "" || strings.Contains(pageText, keyLine) {
		t.Errorf("edit form: certificate shown %v, key field %q, key on the page %v; want the certificate and no key",
			strings.TrimSpace(cert) == strings.TrimSpace(certPEM), key, strings.Contains(pageText, keyLine))
	}
	b.shoot("domain-edit")
	b.do("saving the domain without a key", chromedp.Click(`#domain-form button[type=submit]`))
	b.waitJS("the domain saved or an error", `/^Saved/.test(document.getElementById('domains-status').textContent) || document.querySelector('#domains-errors .fc-error')`)
	if st := b.text("#domains-status"); !strings.HasPrefix(st, "Saved domain "+domain) {
		t.Errorf("saving without a key: status %q", st)
	}
	if got := viaHostText(t, s, domain, "/cart"); got != "200 marker latest" {
		t.Errorf("GET /cart with Host %s after the edit: %q", domain, got)
	}

	b.do("deleting the domain",
		chromedp.Click(`button[aria-label="Delete domain `+domain+`"]`),
		chromedp.Click(`button[aria-label="Confirm deleting domain `+domain+`"]`),
		chromedp.WaitNotPresent(`#domain-list li[data-domain="`+domain+`"]`))
	resp, body := s.viaHost(t, "GET", domain, "/cart")
	if e := decodeError(t, resp, body); resp.StatusCode != http.StatusNotFound || e.ErrorCode != "DomainNameNotFound" {
		t.Errorf("Host %s after the delete: %d %s; want 404 DomainNameNotFound", domain, resp.StatusCode, e.ErrorCode)
	}
}

// consoleRouteRowKeyboard adds and removes a route row with the keyboard
// alone: Enter on "Add route" adds a row and focuses its path; Enter on
// its "Remove route 2" removes it.
func consoleRouteRowKeyboard(t *testing.T, b *consoleBrowser) {
	t.Helper()
	state := func() string {
		return step(b, "reading the route rows", chromedp.Evaluate[string](
			`document.querySelectorAll('#route-rows .route-row').length + ' ' + document.activeElement.name + ' ' + (document.activeElement.closest('.route-row')?.querySelector('legend').textContent || '')`))
	}
	b.do("adding a route with the keyboard", chromedp.Focus("#add-route"), chromedp.KeyEvent(kb.Enter))
	if got := state(); got != "2 path Route 2" {
		t.Errorf("after Enter on Add route: %q; want 2 rows, the focus on route 2's path", got)
	}
	b.do("removing it with the keyboard", chromedp.Focus(`button[aria-label="Remove route 2"]`), chromedp.KeyEvent(kb.Enter))
	if got := state(); got != "1 path Route 1" {
		t.Errorf("after Enter on Remove route 2: %q; want 1 row, the focus on route 1's path", got)
	}
}

// viaHostText is "status body" of a GET to the front door with Host host.
func viaHostText(t *testing.T, s *server, host, target string) string {
	t.Helper()
	resp, body := s.viaHost(t, "GET", host, target)
	return fmt.Sprintf("%d %s", resp.StatusCode, body)
}

// getText GETs a URL and returns its body, or "status body" when the
// status is not 200.
func (s *server) getText(t *testing.T, u string) string {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := rulesSend(t, req)
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("%d %s", resp.StatusCode, body)
	}
	return string(body)
}

// updateFunctionCode replaces a function's code (UpdateFunction) with an
// index.js holding code.
func (s *server) updateFunctionCode(t *testing.T, service, function, code string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("index.js")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(code)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{"code": map[string]string{"zipFile": base64.StdEncoding.EncodeToString(buf.Bytes())}})
	if err != nil {
		t.Fatal(err)
	}
	p := "/2016-08-15/services/" + url.PathEscape(service) + "/functions/" + url.PathEscape(function)
	if resp, out := s.signedDo("PUT", p, string(body)); resp.StatusCode != http.StatusOK {
		t.Fatalf("UpdateFunction %s/%s: %d %s", service, function, resp.StatusCode, out)
	}
}
