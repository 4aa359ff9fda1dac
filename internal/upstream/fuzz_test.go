package upstream

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"testing"
)

// FuzzRemoveHopHeaders checks removeHopHeaders on any response header
// against RFC 9110 §7.6.1, written out here: the hop-by-hop headers and
// the ones the Connection header names are gone; Connection and Upgrade
// are there (as "Upgrade" and the protocol) only for an upgrade; nothing
// else is touched.
//
// raw is "Key: value" lines (keys canonicalised, lines whose key is not
// a token skipped); status says whether the answer is a 101, which alone
// passes the upgrade protocol on (as Do does).
func FuzzRemoveHopHeaders(f *testing.F) {
	f.Add("Connection: X-Foo, keep-alive\nX-Foo: 1\nX-Bar: 2\nKeep-Alive: timeout=5\n", 200, "")
	f.Add("Connection: Upgrade\nUpgrade: websocket\nSec-WebSocket-Accept: abc\n", 101, "websocket")
	f.Add("Connection: upgrade, x-a\nConnection: X-B\nx-a: 1\nX-B: 2\nx-c: 3\nUpgrade: h2c\n", 101, "h2c")
	f.Add("Te: trailers\nTrailer: X-T\nTransfer-Encoding: chunked\nProxy-Connection: close\n"+
		"Proxy-Authenticate: Basic\nProxy-Authorization: Basic x\nContent-Type: text/plain\n", 200, "x")
	f.Add("Connection: ,, Content-Type ,\nContent-Type: a\nContent-Length: 1\n", 204, "")
	f.Add("connection: set-cookie\nset-cookie: a=1\nset-cookie: b=2\nX-Set-Cookie: c\n", 101, "")
	f.Fuzz(func(t *testing.T, raw string, status int, upgrade string) {
		h := http.Header{}
		for line := range strings.SplitSeq(raw, "\n") {
			k, v, ok := strings.Cut(strings.TrimSuffix(line, "\r"), ":")
			if !ok || !isToken(k) {
				continue
			}
			k = textproto.CanonicalMIMEHeaderKey(k)
			h[k] = append(h[k], strings.Trim(v, " \t"))
		}
		if status != http.StatusSwitchingProtocols {
			upgrade = ""
		}
		orig := h.Clone()

		removeHopHeaders(h, upgrade)

		hop := map[string]bool{
			"Connection": true, "Proxy-Connection": true, "Keep-Alive": true, "Te": true, "Trailer": true,
			"Transfer-Encoding": true, "Proxy-Authenticate": true, "Proxy-Authorization": true, "Upgrade": true,
		}
		// The options the Connection header names: tokens, compared
		// without regard to ASCII case. A list element that is not a token
		// names no header by the RFC; what a header only such an element
		// matches becomes is not checked (kept, it must be untouched).
		named, odd := map[string]bool{}, false
		for _, v := range orig["Connection"] {
			for _, e := range strings.Split(v, ",") {
				if e = strings.Trim(e, " \t"); isToken(e) {
					named[asciiLower(e)] = true
				} else if e != "" {
					odd = true
				}
			}
		}
		for k, vs := range orig {
			if k == "Connection" || k == "Upgrade" {
				continue // below
			}
			got, present := h[k]
			switch {
			case hop[k] || named[asciiLower(k)]:
				if present {
					t.Errorf("%s %q is still there", k, got)
				}
			case !present && odd:
				// named by an element that is not a token, maybe
			case !slices.Equal(got, vs):
				t.Errorf("%s is %q; want it untouched: %q", k, got, vs)
			}
		}
		for k, v := range h {
			if _, ok := orig[k]; !ok && k != "Connection" && k != "Upgrade" {
				t.Errorf("%s %q was added", k, v)
			}
		}
		if upgrade != "" {
			if !slices.Equal(h["Connection"], []string{"Upgrade"}) || !slices.Equal(h["Upgrade"], []string{upgrade}) {
				t.Errorf("after a 101 to %q: Connection %q, Upgrade %q; want Upgrade and %q", upgrade, h["Connection"], h["Upgrade"], upgrade)
			}
		} else if c, u := h["Connection"], h["Upgrade"]; c != nil || u != nil {
			t.Errorf("without an upgrade: Connection %q, Upgrade %q are there", c, u)
		}
	})
}

// isToken: a non-empty RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
