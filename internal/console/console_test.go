package console

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func serve(t *testing.T, h http.Handler, method, target string, header http.Header) (*http.Response, string) {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	resp := w.Result()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// checkSecurityHeaders checks the headers every answer carries.
func checkSecurityHeaders(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
			"img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %s = %q; want %q", what, k, got, v)
		}
	}
}

func TestPage(t *testing.T) {
	h := New(Options{})
	for _, target := range []string{"/", "/console", "/console/", "/console/index.html"} {
		resp, body := serve(t, h, "GET", target, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: status %d", target, resp.StatusCode)
		}
		checkSecurityHeaders(t, "GET "+target, resp)
		if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", target, ct)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q; want no-cache", target, cc)
		}
		if strings.Contains(body, versionPlacehold) || !strings.Contains(body, "/console/"+h.Version()+"/js/boot.js") {
			t.Errorf("GET %s: the page does not refer to the versioned assets:\n%s", target, body)
		}
	}
}

// TestPageHasNoInlineCode checks what the CSP would refuse anyway: no
// inline script or style, no event handler attributes.
func TestPageHasNoInlineCode(t *testing.T) {
	_, body := serve(t, New(Options{}), "GET", "/", nil)
	for _, re := range []string{`<script(?:(?:\s+[a-z]+="[^"]*")*)>\s*[^<\s]`, `<style`, `\sstyle=`, `\son[a-z]+=`} {
		if regexp.MustCompile(`(?i)` + re).MatchString(body) {
			t.Errorf("the page matches %s:\n%s", re, body)
		}
	}
	for _, m := range regexp.MustCompile(`<script([^>]*)>`).FindAllStringSubmatch(body, -1) {
		if !strings.Contains(m[1], "src=") {
			t.Errorf("inline script %q", m[0])
		}
	}
}

// TestAssetsReachable follows every reference of the page and every
// module import: each must be served under the versioned path.
func TestAssetsReachable(t *testing.T) {
	h := New(Options{})
	_, page := serve(t, h, "GET", "/", nil)
	refs := regexp.MustCompile(`(?:src|href)="(/console/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 2 {
		t.Fatalf("the page refers to %d assets; want the stylesheet and the script", len(refs))
	}
	seen := map[string]bool{}
	queue := []string{}
	for _, m := range refs {
		queue = append(queue, m[1])
	}
	// Static imports and exports, and boot.js's dynamic import().
	importRe := regexp.MustCompile(`(?m)(?:^\s*(?:import|export)\s[^'"]*?from\s+|\bimport\()'(\.\.?/[^']+)'`)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		resp, body := serve(t, h, "GET", p, nil)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: status %d", p, resp.StatusCode)
			continue
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control %q; want immutable", p, cc)
		}
		checkSecurityHeaders(t, "GET "+p, resp)
		dir := p[:strings.LastIndex(p, "/")+1]
		for _, m := range importRe.FindAllStringSubmatch(body, -1) {
			queue = append(queue, path.Join(dir, m[1]))
		}
	}
	// Every module is in use: none is left behind by a change.
	entries, err := assets.ReadDir("assets/js")
	if err != nil {
		t.Fatal(err)
	}
	wants := []string{"vendor/codemirror.js", "app.css"}
	for _, e := range entries {
		wants = append(wants, "js/"+e.Name())
	}
	for _, want := range wants {
		if !seen["/console/"+h.Version()+"/"+want] {
			t.Errorf("%s is not reached from the page (reached: %v)", want, seen)
		}
	}
}

func TestAssetPaths(t *testing.T) {
	h := New(Options{})
	v := h.Version()
	tests := []struct {
		name, target string
		status       int
		ctype, cache string
	}{
		{"versioned script", "/console/" + v + "/js/app.js", 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"versioned style", "/console/" + v + "/app.css", 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable"},
		{"unversioned script", "/console/js/app.js", 200, "text/javascript; charset=utf-8", "no-cache"},
		{"another version", "/console/0123456789abcdef/js/app.js", 200, "text/javascript; charset=utf-8", "no-cache"},
		{"unknown file", "/console/" + v + "/js/nope.js", 404, "", "no-cache"},
		{"unknown path", "/console/nope", 404, "", "no-cache"},
		{"page under a version", "/console/" + v + "/index.html", 404, "", "no-cache"},
		{"directory", "/console/" + v + "/js/", 404, "", "no-cache"},
		{"dot segments", "/console/" + v + "/../js/app.js", 404, "", "no-cache"},
		{"outside /console/", "/app.css", 404, "", "no-cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := serve(t, h, "GET", tt.target, nil)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d; want %d", resp.StatusCode, tt.status)
			}
			checkSecurityHeaders(t, tt.target, resp)
			if tt.ctype != "" && resp.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type %q; want %q", resp.Header.Get("Content-Type"), tt.ctype)
			}
			if resp.Header.Get("Cache-Control") != tt.cache {
				t.Errorf("Cache-Control %q; want %q", resp.Header.Get("Cache-Control"), tt.cache)
			}
		})
	}
}

func TestHeadAndConditional(t *testing.T) {
	h := New(Options{})
	get, body := serve(t, h, "GET", "/", nil)
	head, hbody := serve(t, h, "HEAD", "/", nil)
	if head.StatusCode != 200 || hbody != "" {
		t.Fatalf("HEAD /: status %d, body %q; want 200 and no body", head.StatusCode, hbody)
	}
	if cl := head.Header.Get("Content-Length"); cl == "" || cl != get.Header.Get("Content-Length") || len(body) == 0 {
		t.Errorf("HEAD Content-Length %q, GET's %q (body %d bytes)", cl, get.Header.Get("Content-Length"), len(body))
	}
	checkSecurityHeaders(t, "HEAD /", head)
	etag := get.Header.Get("ETag")
	if etag == "" {
		t.Fatal("GET / has no ETag")
	}
	again, _ := serve(t, h, "GET", "/", http.Header{"If-None-Match": {etag}})
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("GET / with If-None-Match %s: status %d; want 304", etag, again.StatusCode)
	}
	post, _ := serve(t, h, "POST", "/", nil)
	if post.StatusCode != http.StatusMethodNotAllowed || post.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: status %d, Allow %q; want 405 and GET, HEAD", post.StatusCode, post.Header.Get("Allow"))
	}
}

// TestJSBuildsNoMarkup checks the modules never parse strings as markup or
// code (what the API returns is shown as text) and never set inline
// styles, which the CSP would refuse.
func TestJSBuildsNoMarkup(t *testing.T) {
	entries, err := assets.ReadDir("assets/js")
	if err != nil {
		t.Fatal(err)
	}
	banned := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|\.style\b|'style'|"style"`)
	for _, e := range entries {
		b, err := assets.ReadFile("assets/js/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			if m := banned.FindString(line); m != "" {
				t.Errorf("%s:%d uses %s: %s", e.Name(), i+1, m, strings.TrimSpace(line))
			}
		}
	}
}

// TestGzip: a large asset is sent gzipped to a client that takes gzip,
// under its own ETag, and as it is to one that does not; both say Vary.
func TestGzip(t *testing.T) {
	h := New(Options{})
	p := "/console/" + h.Version() + "/vendor/codemirror.js"
	_, plain := serve(t, h, "GET", p, nil)
	for _, tc := range []struct {
		accept string
		gzip   bool
	}{
		{"gzip, deflate, br", true},
		{"br;q=1, GZIP;q=0.5", true},
		{"*", true},
		{"gzip;q=0", false},
		{"identity", false},
		{"", false},
	} {
		hdr := http.Header{}
		if tc.accept != "" {
			hdr.Set("Accept-Encoding", tc.accept)
		}
		resp, body := serve(t, h, "GET", p, hdr)
		if resp.StatusCode != 200 || resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Fatalf("%q: %d, Vary %q", tc.accept, resp.StatusCode, resp.Header.Get("Vary"))
		}
		got := body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			got = string(b)
			if !strings.HasSuffix(resp.Header.Get("ETag"), `-gzip"`) || len(body) > len(plain)/2 {
				t.Errorf("%q: gzipped ETag %q, %d bytes of %d", tc.accept, resp.Header.Get("ETag"), len(body), len(plain))
			}
		}
		if (resp.Header.Get("Content-Encoding") == "gzip") != tc.gzip || got != plain {
			t.Errorf("%q: Content-Encoding %q, body intact %v; want gzip %v", tc.accept, resp.Header.Get("Content-Encoding"), got == plain, tc.gzip)
		}
	}
}
