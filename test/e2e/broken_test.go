package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/pkg/fcsign"
)

// brokenCall is how one call of a function that breaks its answer off
// ended for the caller.
type brokenCall struct {
	status    int
	requestID string
	body      []byte
	readErr   error // reading the body (nil: it looked whole)
}

// brokenDo sends req and reads the answer to its end, keeping the error
// instead of failing: a cut answer is what these tests expect.
func brokenDo(t *testing.T, req *http.Request) brokenCall {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return brokenCall{status: resp.StatusCode, requestID: resp.Header.Get("X-Fc-Request-Id"), body: b, readErr: err}
}

// brokenWaysIn are the ways a caller reaches a function: each returns a
// request whose answer the function breaks off in mode ("length":
// 400 of 1000 declared bytes, then the process exits; "chunked": a
// 400-byte chunk and the connection dropped).
func brokenWaysIn(t *testing.T, s *server, subdomain string) map[string]func(mode string) *http.Request {
	return map[string]func(string) *http.Request{
		"proxy form": func(mode string) *http.Request {
			return s.newRequest("GET", "/2016-08-15/proxy/brk/echo/broken?mode="+mode, "")
		},
		"subdomain": func(mode string) *http.Request {
			u, err := url.Parse(subdomain)
			if err != nil {
				t.Fatal(err)
			}
			req := s.newRequest("GET", "/broken?mode="+mode, "")
			req.Host = u.Host
			return req
		},
		"InvokeFunction": func(mode string) *http.Request {
			req := s.newRequest("POST", "/2016-08-15/services/brk/functions/echo/invocations", "broken:"+mode)
			req.Header.Set("Content-Type", "application/octet-stream")
			fcsign.Sign(adminCreds, req)
			return req
		},
	}
}

// TestBrokenAnswerEveryWayIn: a function that breaks its answer off
// mid-body leaves the caller with a failed read, never a clean short 200,
// on every way in (proxy form, trigger subdomain, the InvokeFunction API);
// each such call is in the access log as aborted, counted with
// result="aborted", and the function's log says why under its request id.
func TestBrokenAnswerEveryWayIn(t *testing.T) {
	s := startServer(t, "", "--admin-listen", "127.0.0.1:0")
	admin := s.AdminAddr
	s.deployEcho(echoOpts{service: "brk", name: "echo"})
	subdomain := corsTriggerURL(t, s, "brk/echo")
	aborted := map[string]string{"function": "brk/echo", "status": "200", "result": "aborted"}
	before := rulesMetric(t, admin, aborted)
	calls := 0
	for way, build := range brokenWaysIn(t, s, subdomain) {
		for _, mode := range []string{"length", "chunked"} {
			t.Run(way+"/"+mode, func(t *testing.T) {
				// A whole answer first: the instance that breaks off has
				// served before, so its exit is not a crash loop.
				if r := brokenDo(t, s.newRequest("GET", "/2016-08-15/proxy/brk/echo/ok", "")); r.status != 200 || r.readErr != nil {
					t.Fatalf("warm-up call: %d %v", r.status, r.readErr)
				}
				r := brokenDo(t, build(mode))
				calls++
				if r.readErr == nil {
					t.Fatalf("got %d with %d bytes read cleanly; want the cut to show", r.status, len(r.body))
				}
				if want := strings.Repeat(mode[:1], 400); r.status != 200 || string(r.body) != want {
					t.Errorf("got %d and %q before the cut; want 200 and %q", r.status, r.body, want)
				}
				recs := s.rulesLogRecords(r.requestID)
				if len(recs) != 1 || recs[0]["aborted"] != "true" || recs[0]["failed"] != "true" || recs[0]["broken"] == "" {
					t.Errorf("access log of %s: %v; want one record, aborted and failed, saying why", r.requestID, recs)
				}
				waitFor(t, 10*time.Second, func() error {
					out, lines := s.lcLogs(t, "brk/echo", "--request-id", r.requestID)
					for _, l := range lines {
						if strings.HasPrefix(l.message, "Error: ") && strings.Contains(l.message, "broke off") {
							return nil
						}
					}
					return fmt.Errorf("no Error line for %s in:\n%s", r.requestID, out)
				})
			})
		}
	}
	if got := rulesMetric(t, admin, aborted) - before; got != float64(calls) {
		t.Errorf("openfc_http_requests_total{result=aborted} grew by %v; want %d", got, calls)
	}
}

// TestBrokenAnswerNodeSDK: the official Node SDK's invokeFunction
// rejects an answer the function broke off; it does not resolve with a
// short body.
func TestBrokenAnswerNodeSDK(t *testing.T) {
	s := startServer(t, "")
	s.deployEcho(echoOpts{service: "brk", name: "echo"})
	invoke := func(event string) map[string]any {
		var res map[string]any
		runSDK(t, s, "invoke.js", time.Minute, &res, "OPENFC_SERVICE=brk", "OPENFC_FUNCTION=echo", "OPENFC_EVENT="+event)
		return res
	}
	if res := invoke("hello"); res["resolved"] != true {
		t.Fatalf("a whole answer: %v; want it resolved", res)
	}
	for _, mode := range []string{"length", "chunked"} {
		if res := invoke("broken:" + mode); res["resolved"] != false {
			t.Errorf("broken:%s: the SDK resolved %v; want a rejection", mode, res)
		}
		if res := invoke("hello"); res["resolved"] != true { // the instance is replaced or reused
			t.Fatalf("after broken:%s: %v; want it resolved", mode, res)
		}
	}
}
