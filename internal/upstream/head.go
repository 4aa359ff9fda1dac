package upstream

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// HeadWriter appends header lines to a request head being written: an
// HTTP/1.1 head serialized into a buffer, or the header map of an
// HTTP/2 request (Request.HTTP2). Hooks.AppendHeaders writes both the
// same way.
type HeadWriter struct {
	bw *bufio.Writer
	h  http.Header // HTTP/2: the header being built; nil for HTTP/1.1
}

// Header writes "key: value" (over HTTP/2, adds value to key). The caller
// makes sure neither holds CR or LF.
func (h HeadWriter) Header(key, value string) {
	if h.h != nil {
		h.h.Add(key, value)
		return
	}
	h.bw.WriteString(key)
	h.bw.WriteString(": ")
	h.bw.WriteString(value)
	h.bw.WriteString("\r\n")
}

// Lines writes header lines rendered ahead of time, each "Key: value"
// ending in CRLF. Over HTTP/2 they are parsed back into the header (a
// line without a colon is skipped).
func (h HeadWriter) Lines(s string) {
	if h.h == nil {
		h.bw.WriteString(s)
		return
	}
	for line := range strings.SplitSeq(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSuffix(line, "\r"), ":")
		if ok && k != "" {
			h.h.Add(k, strings.Trim(v, " \t"))
		}
	}
}

// WriteHead writes req's head as Do sends it (tests and tools use it to
// see what an instance gets). It serializes straight from the incoming
// headers, filtering while writing, instead of cloning a header map and
// editing it; errors surface at the flush.
func WriteHead(bw *bufio.Writer, req *Request) {
	bw.WriteString(req.Method)
	bw.WriteByte(' ')
	bw.WriteString(req.Path)
	if req.RawQuery != "" {
		bw.WriteByte('?')
		bw.WriteString(req.RawQuery)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(req.Host)
	bw.WriteString("\r\n")
	h := req.Header
	connTokens := h["Connection"]
	for k, vs := range h {
		if !forwarded(req, connTokens, k, vs) {
			continue
		}
		for _, v := range vs {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	if upgrade := upgradeType(h); upgrade != "" {
		bw.WriteString("Connection: Upgrade\r\nUpgrade: ")
		bw.WriteString(upgrade)
		bw.WriteString("\r\n")
	}
	switch {
	case req.Body != nil && req.ContentLength >= 0:
		bw.WriteString("Content-Length: ")
		var nb [20]byte
		bw.Write(strconv.AppendInt(nb[:0], req.ContentLength, 10))
		bw.WriteString("\r\n")
	case req.Body != nil:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	case req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch:
		bw.WriteString("Content-Length: 0\r\n")
	}
	if req.Hooks != nil {
		req.Hooks.AppendHeaders(HeadWriter{bw: bw})
	}
	bw.WriteString("\r\n")
}

// forwarded reports whether the incoming header k (its values vs) goes to
// the instance, over HTTP/1.1 and HTTP/2 alike: never a hop-by-hop one,
// except "Te: trailers" (gRPC needs it; nor is it the caller's to
// refuse), nor one the Connection header (its values connTokens) names,
// nor the framing (Content-Length, Expect) or Host, which the exchange
// writes itself; of the others, the ones Hooks.ForwardHeader accepts.
func forwarded(req *Request, connTokens []string, k string, vs []string) bool {
	switch {
	case isHopHeader(k):
		return k == "Te" && len(vs) == 1 && strings.EqualFold(vs[0], "trailers")
	case k == "Content-Length", k == "Expect", k == "Host",
		len(connTokens) > 0 && listedIn(connTokens, k):
		return false
	}
	return req.Hooks == nil || req.Hooks.ForwardHeader(k)
}

// isHopHeader: the hop-by-hop headers of RFC 9110 §7.6.1 (plus the legacy
// Proxy-Connection) never cross a proxy.
func isHopHeader(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// removeHopHeaders drops a response's hop-by-hop headers and the ones
// its Connection header names: they belong to the connection to the
// instance, not to the answer. An upgrade keeps "Connection: Upgrade" and
// its Upgrade.
func removeHopHeaders(h http.Header, upgrade string) {
	if conn := h["Connection"]; len(conn) > 0 {
		for k := range h {
			if listedIn(conn, k) {
				delete(h, k)
			}
		}
	}
	for _, k := range [...]string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
		delete(h, k)
	}
	if upgrade != "" {
		h["Connection"] = []string{"Upgrade"}
		h["Upgrade"] = []string{upgrade}
	}
}

// listedIn reports whether the header k is named in a Connection header.
func listedIn(conn []string, k string) bool {
	for _, v := range conn {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" && asciiEqualFold(f, k) {
				return true
			}
		}
	}
	return false
}

// asciiEqualFold compares header names as HTTP does: ASCII letters in
// any case, nothing else folded (strings.EqualFold would match the
// Kelvin sign to "k").
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// upgradeType is the protocol a request or 101 response upgrades to, ""
// if none.
func upgradeType(h http.Header) string {
	conn := h["Connection"]
	if len(conn) == 0 || !listedIn(conn, "Upgrade") {
		return ""
	}
	return h.Get("Upgrade")
}

// checkUpgrade accepts a 101 only to the protocol the request asked for.
func checkUpgrade(reqHeader, respHeader http.Header) error {
	want, got := upgradeType(reqHeader), upgradeType(respHeader)
	if want == "" || !strings.EqualFold(want, got) {
		return fmt.Errorf("%w: to %q when %q was requested", ErrUpgradeMismatch, got, want)
	}
	return nil
}
