package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestHTTP2ProxyForm: HTTP/2 requests (h2c with prior knowledge, and h2
// over TLS) reach functions on the proxy form and meet the same limits
// and errors as HTTP/1.1, byte for byte in the error body's code and
// message.
func TestHTTP2ProxyForm(t *testing.T) {
	cert, key := selfSignedCert(t)
	s := startServer(t, "", "--tls-listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key)
	tlsAddr := s.TLSAddr
	s.deployEcho(echoOpts{service: "h2", name: "echo", methods: "[GET, POST]"})
	base := s.URL + "/2016-08-15/proxy/h2/echo"

	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2 := &http.Client{Transport: &http.Transport{Protocols: &p}, Timeout: 60 * time.Second}
	h1 := &http.Client{Timeout: 60 * time.Second}

	resp, body := send(t, h2, "POST", base+"/a/b?x=1", strings.NewReader("payload"), nil)
	var echo echoReply
	if resp.Proto != "HTTP/2.0" || resp.StatusCode != 200 || json.Unmarshal(body, &echo) != nil ||
		echo.Method != "POST" || echo.Path != "/a/b?x=1" || echo.Body != "payload" {
		t.Fatalf("h2c POST: %s %d %s", resp.Proto, resp.StatusCode, body)
	}

	big := http.Header{"X-Big": {strings.Repeat("b", 9000)}}
	for _, tc := range []struct {
		name, method, url string
		body              []byte
		header            http.Header
	}{
		{"header limit", "GET", base + "/", nil, big},
		{"path limit", "GET", base + "/" + strings.Repeat("p", 5000), nil, nil},
		{"body limit", "POST", base + "/", make([]byte, 32<<20+1), nil},
		{"method not allowed", "PUT", base + "/", nil, nil},
		{"no such function", "GET", s.URL + "/2016-08-15/proxy/h2/nope/", nil, nil},
	} {
		r1, b1 := send(t, h1, tc.method, tc.url, bytes.NewReader(tc.body), tc.header)
		r2, b2 := send(t, h2, tc.method, tc.url, bytes.NewReader(tc.body), tc.header)
		e1, e2 := decodeError(t, r1, b1), decodeError(t, r2, b2)
		if r2.Proto != "HTTP/2.0" || r1.StatusCode != r2.StatusCode || r1.StatusCode < 400 ||
			r1.Header.Get("X-Fc-Error-Type") != r2.Header.Get("X-Fc-Error-Type") ||
			e1.ErrorCode != e2.ErrorCode || e1.ErrorMessage != e2.ErrorMessage {
			t.Errorf("%s: HTTP/1.1 %d %+v; %s %d %+v", tc.name, r1.StatusCode, e1, r2.Proto, r2.StatusCode, e2)
		}
	}

	// curl, as a user would: h2c with prior knowledge, and h2 over TLS.
	for _, args := range [][]string{
		{"--http2-prior-knowledge", base + "/curl"},
		{"-k", "--http2", "https://" + tlsAddr + "/2016-08-15/proxy/h2/echo/curl"},
	} {
		out, err := exec.Command("curl", append([]string{"-sS", "-i", "--max-time", "30"}, args...)...).CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "HTTP/2 200") || !strings.Contains(string(out), `"path": "/curl"`) &&
			!strings.Contains(string(out), `"path":"/curl"`) {
			t.Errorf("curl %v: %v\n%s", args, err, out)
		}
	}
}

func send(t *testing.T, c *http.Client, method, url string, body io.Reader, h http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}
