package gateway

import (
	"bufio"
	"bytes"
	"net/http"
	"net/textproto"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/upstream"
)

// fuzzHeader builds a header from lines "key:value"; keys are used as
// given (canonical or not) when canon is false.
func fuzzHeader(raw string, canon bool) http.Header {
	h := http.Header{}
	for _, line := range strings.Split(raw, "\n") {
		k, v, _ := strings.Cut(line, ":")
		if canon {
			if !validToken(k) {
				continue // the transport never yields such a key
			}
			k = textproto.CanonicalMIMEHeaderKey(k)
		}
		h[k] = append(h[k], v)
	}
	return h
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// hasFCPrefix reports whether k starts with "x-fc-" in any ASCII case.
func hasFCPrefix(k string) bool {
	if len(k) < 5 {
		return false
	}
	for i, want := range []byte("x-fc-") {
		c := k[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != want {
			return false
		}
	}
	return true
}

func cloneHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, v := range h {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// FuzzWriteHead: the request head written to an instance parses as
// HTTP/1.1; the client's x-fc-*, hop-by-hop and X-Forwarded-* headers
// are replaced by openfc's, every other header arrives with exactly its
// values, the path and query byte for byte.
func FuzzWriteHead(f *testing.F) {
	for _, s := range []string{
		"X-Fc-Request-Id:spoof\nX-Other:1",
		"x-fc-base-path:/evil\nx-fc-account-id:1\nHost:h",
		"X-FC-ACCESS-KEY-ID:AK\nx-fcx:kept\nX-Fc:kept",
		"X-Fc-:empty suffix\nx-f-c-:kept",
		"x-fc-a:1\nx-fc-a:2\nA:\n:",
		"Authorization:FC a:b\nConnection:keep-alive, X-Drop\nKeep-Alive:timeout=5\nX-Drop:1",
		"Te:trailers\nUpgrade:websocket\nConnection:Upgrade\nX-Forwarded-For:6.6.6.6",
		"Transfer-Encoding:chunked\nContent-Length:5\nExpect:100-continue",
	} {
		f.Add(s, "/p/a%20b", "x=1&y=%zz", "GET")
	}
	g := New(Options{Region: "cn-hangzhou", AccountID: "123"})
	fn := &fc.Function{ServiceName: "svc", FunctionName: "fn", Handler: "index.handler", MemorySize: 128, Timeout: 3}
	f.Fuzz(func(t *testing.T, raw, path, query, method string) {
		if !validToken(method) || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#") || strings.Contains(query, "#") || !validTarget(path+"?"+query) {
			return // the server never yields such a request
		}
		h := http.Header{}
		for k, vs := range fuzzHeader(raw, true) {
			for _, v := range vs {
				if v = strings.TrimSpace(v); validValue(v) && k != "Host" {
					h[k] = append(h[k], v)
				}
			}
		}
		r := &http.Request{Method: method, Host: "example.com", Header: h, RemoteAddr: "10.0.0.1:5555", Body: http.NoBody}
		c := &call{g: g, requestID: "req-1", r: r, fn: fn, qualifier: fc.LATEST, path: path, rawQuery: query, controlPath: fc.ControlHTTPInvoke, stripAuth: true}
		var buf bytes.Buffer
		bw := bufio.NewWriter(&buf)
		upstream.WriteHead(bw, &upstream.Request{Method: method, Path: path, RawQuery: query, Host: r.Host, Header: h, Hooks: c})
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}
		got, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(buf.Bytes())))
		if err != nil {
			t.Fatalf("head does not parse: %v\n%s", err, buf.Bytes())
		}
		wantURI := path
		if query != "" {
			wantURI += "?" + query
		}
		if got.Method != method || got.RequestURI != wantURI || got.Host != "example.com" {
			t.Fatalf("request line %s %s host %s; want %s %s example.com", got.Method, got.RequestURI, got.Host, method, wantURI)
		}
		want := map[string]string{"X-Fc-Request-Id": "req-1", "X-Fc-Function-Name": "fn", "X-Fc-Service-Name": "svc", "X-Fc-Region": "cn-hangzhou",
			"X-Fc-Account-Id": "123", "X-Fc-Qualifier": "LATEST", "X-Fc-Control-Path": "/http-invoke", "X-Forwarded-For": "10.0.0.1",
			"X-Forwarded-Host": "example.com", "X-Forwarded-Proto": "http"}
		for k, v := range want {
			if vs := got.Header[k]; len(vs) != 1 || vs[0] != v {
				t.Fatalf("%s = %q; want [%q]\n%s", k, vs, v, buf.Bytes())
			}
		}
		for k := range got.Header {
			if hasFCPrefix(k) && strings.Contains(strings.ToLower(raw), strings.ToLower(k)) && want[k] == "" &&
				!strings.HasPrefix(k, "X-Fc-Function-") && k != "X-Fc-Version-Id" {
				t.Fatalf("the client's %s reached the instance", k)
			}
		}
		upgrade := upgradeOf(h)
		for k, vs := range h {
			dropped := hasFCPrefix(k) || hopHeader(k) || k == "Authorization" || k == "Expect" || k == "Content-Length" ||
				k == "X-Forwarded-For" || k == "X-Forwarded-Host" || k == "X-Forwarded-Proto" || connectionNames(h, k)
			switch {
			case k == "Te" && len(vs) == 1 && strings.EqualFold(vs[0], "trailers"):
				dropped = false
			case upgrade != "" && (k == "Upgrade" || k == "Connection"):
				continue // rewritten as Connection: Upgrade / Upgrade: <type>
			}
			if dropped {
				if _, ok := got.Header[k]; ok && want[k] == "" && k != "Transfer-Encoding" {
					t.Fatalf("%s reached the instance: %q", k, got.Header[k])
				}
				continue
			}
			if !reflect.DeepEqual(got.Header[k], vs) {
				t.Fatalf("%s = %q at the instance; the client sent %q", k, got.Header[k], vs)
			}
		}
	})
}

// The oracle's own view of HTTP's hop-by-hop rules (RFC 9110 §7.6.1),
// written plainly.
func hopHeader(k string) bool {
	for _, h := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
		if k == h {
			return true
		}
	}
	return false
}

// connectionNames reports whether a Connection header of h names k
// (header names compare in ASCII case only).
func connectionNames(h http.Header, k string) bool {
	lower := func(s string) string {
		b := []byte(s)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return string(b)
	}
	for _, v := range h["Connection"] {
		for _, f := range strings.Split(v, ",") {
			if lower(strings.TrimSpace(f)) == lower(k) {
				return true
			}
		}
	}
	return false
}

// upgradeOf is the protocol a request asks to upgrade to ("" none).
func upgradeOf(h http.Header) string {
	if !connectionNames(h, "Upgrade") {
		return ""
	}
	return h.Get("Upgrade")
}

// validValue: what net/http's server accepts as a header value.
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// validTarget: a request target net/http's server accepts.
func validTarget(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	_, err := url.ParseRequestURI(s)
	return err == nil
}

// FuzzResponseFilter: after filtering a function's response (upstream
// has dropped the hop-by-hop headers: FuzzRemoveHopHeaders there),
// x-fc-*, Server and Date are gone, Content-Length describes the body
// that is sent, everything else is untouched; on the proxy form
// Content-Disposition is then an attachment.
func FuzzResponseFilter(f *testing.F) {
	f.Add(200, "GET", int64(5), "X-Fc-Status:500\nServer:x\nDate:d\nContent-Length:99\nX-A:1", false)
	f.Add(101, "GET", int64(-1), "Upgrade:websocket\nConnection:Upgrade\nKeep-Alive:1", false)
	f.Add(200, "HEAD", int64(7), "Content-Length:7\nUpgrade:h2c", true)
	f.Add(204, "GET", int64(0), "Content-Length:0\nContent-Disposition:inline", true)
	f.Add(304, "GET", int64(-1), "Content-Length:12\nContent-Disposition:attachment; filename=x", true)
	f.Add(500, "POST", int64(-1), "x-fc-:1\nX-Fc-Error-Type:Unhandled\nContent-Disposition: Attachment", true)
	f.Add(200, "GET", int64(3), "Content-Disposition:\nContent-Disposition:inline", true)
	f.Fuzz(func(t *testing.T, status int, method string, contentLength int64, raw string, proxyForm bool) {
		if status < 100 || status > 999 {
			status = 100 + (status%900+900)%900
		}
		if contentLength < -1 {
			contentLength = -1
		}
		h := fuzzHeader(raw, true)
		orig := cloneHeader(h)
		resp := &http.Response{StatusCode: status, Header: h, ContentLength: contentLength}
		filterResponseHeaders(resp, method, "")
		for k := range h {
			if hasFCPrefix(k) {
				t.Fatalf("x-fc key %q survived", k)
			}
		}
		for _, k := range []string{"Server", "Date"} {
			if _, ok := h[k]; ok {
				t.Fatalf("%s survived: %v", k, h)
			}
		}
		cl, hasCL := h["Content-Length"]
		switch {
		case method == http.MethodHead || status < 200 || status == 204 || status == 304:
			if !reflect.DeepEqual(cl, orig["Content-Length"]) {
				t.Fatalf("Content-Length of a bodiless %s %d changed: %q -> %q", method, status, orig["Content-Length"], cl)
			}
		case contentLength >= 0:
			if want := []string{strconv.FormatInt(contentLength, 10)}; !reflect.DeepEqual(cl, want) {
				t.Fatalf("Content-Length = %q; want %q", cl, want)
			}
		default:
			if hasCL {
				t.Fatalf("Content-Length %q on a body of unknown length", cl)
			}
		}
		for k, v := range orig {
			switch {
			case hasFCPrefix(k), k == "Server", k == "Date", k == "Content-Length":
				continue
			}
			if !reflect.DeepEqual(h[k], v) {
				t.Fatalf("%s changed: %q -> %q", k, v, h[k])
			}
		}
		if !proxyForm {
			return
		}
		before := h.Values("Content-Disposition")
		forceAttachment(h, new([1]string))
		got := h.Values("Content-Disposition")
		if len(got) != 1 || !isAttachment(got[0]) {
			t.Fatalf("Content-Disposition %q -> %q; want one attachment", before, got)
		}
		if len(before) == 1 && isAttachment(before[0]) && got[0] != before[0] {
			t.Fatalf("the function's attachment %q was replaced by %q", before, got)
		}
	})
}
