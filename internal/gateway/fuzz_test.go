package gateway

import (
	"net/http"
	"net/textproto"
	"reflect"
	"strconv"
	"strings"
	"testing"
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

// FuzzFilterRequestHeaders: after filtering, no x-fc-* key remains and
// every other key keeps exactly its values.
func FuzzFilterRequestHeaders(f *testing.F) {
	for _, s := range []string{
		"X-Fc-Request-Id:spoof\nX-Other:1",
		"x-fc-base-path:/evil\nx-fc-account-id:1\nHost:h",
		"X-FC-ACCESS-KEY-ID:AK\nx-fcx:kept\nX-Fc:kept",
		"X-Fc-:empty suffix\nx-f-c-:kept",
		"x-fc-a:1\nx-fc-a:2\nA:\n:",
		"Authorization:FC a:b\nConnection:keep-alive\nKeep-Alive:timeout=5",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		h := fuzzHeader(raw, false)
		orig := cloneHeader(h)
		filterRequestHeaders(h)
		for k := range h {
			if hasFCPrefix(k) {
				t.Fatalf("x-fc key %q survived filtering of %q", k, raw)
			}
		}
		for k, v := range orig {
			if hasFCPrefix(k) {
				continue
			}
			if got, ok := h[k]; !ok || !reflect.DeepEqual(got, v) {
				t.Fatalf("key %q changed from %q to %q (present %v)", k, v, got, ok)
			}
		}
		if len(h) > len(orig) {
			t.Fatalf("filtering added keys: %v -> %v", orig, h)
		}
	})
}

// FuzzResponseFilter: after filtering a function's response, x-fc-*,
// Connection, Keep-Alive, Server and Date are gone, Upgrade survives only
// on a 101, Content-Length describes the body that is sent, everything
// else is untouched; on the proxy form Content-Disposition is then an
// attachment.
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
		resp := &http.Response{StatusCode: status, Header: h, ContentLength: contentLength, Request: &http.Request{Method: method}}
		filterResponseHeaders(resp)
		for k := range h {
			if hasFCPrefix(k) {
				t.Fatalf("x-fc key %q survived", k)
			}
		}
		for _, k := range []string{"Connection", "Keep-Alive", "Server", "Date"} {
			if _, ok := h[k]; ok {
				t.Fatalf("%s survived: %v", k, h)
			}
		}
		if _, ok := h["Upgrade"]; ok && status != http.StatusSwitchingProtocols {
			t.Fatalf("Upgrade survived a %d", status)
		}
		if v, ok := orig["Upgrade"]; ok && status == http.StatusSwitchingProtocols && !reflect.DeepEqual(h["Upgrade"], v) {
			t.Fatalf("Upgrade of a 101 changed: %q -> %q", v, h["Upgrade"])
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
			case hasFCPrefix(k), k == "Connection", k == "Keep-Alive", k == "Server", k == "Date", k == "Upgrade", k == "Content-Length":
				continue
			}
			if !reflect.DeepEqual(h[k], v) {
				t.Fatalf("%s changed: %q -> %q", k, v, h[k])
			}
		}
		if !proxyForm {
			return
		}
		before := h.Get("Content-Disposition")
		forceAttachment(h)
		got := h.Get("Content-Disposition")
		if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(got)), "attachment") {
			t.Fatalf("Content-Disposition %q -> %q; want an attachment", before, got)
		}
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(before)), "attachment") && got != before {
			t.Fatalf("the function's attachment %q was replaced by %q", before, got)
		}
	})
}
