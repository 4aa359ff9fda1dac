package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSlowStartIsNotATimeout: a function whose server takes 4 s to
// listen, with timeout 3, answers its first request: the start has
// --start-timeout (120 s), and the function's timeout counts from when
// the request reaches the ready instance.
func TestSlowStartIsNotATimeout(t *testing.T) {
	s := startServer(t, "")
	s.deployEcho(echoOpts{service: "slow", name: "start", timeout: 3,
		command: "[sh]\n        args: [-c, 'sleep 4; exec python3 server.py']"})
	began := time.Now()
	r := s.getEcho("/2016-08-15/proxy/slow/start/", nil)
	if took := time.Since(began); r.Name != "start" || took < 4*time.Second {
		t.Fatalf("got %q after %v; want the function's answer after its 4 s start", r.Name, took)
	}
	// Warm now: a second request is quick.
	began = time.Now()
	if r := s.getEcho("/2016-08-15/proxy/slow/start/again", nil); r.Name != "start" || time.Since(began) > 2*time.Second {
		t.Fatalf("warm request: %q after %v", r.Name, time.Since(began))
	}
}

// TestNeverListens: a server that never listens answers 502
// FunctionNotStarted with the tail of its output once --start-timeout
// ends, and the next request tries a fresh instance (its output names
// another instance id).
func TestNeverListens(t *testing.T) {
	s := startServer(t, "", "--start-timeout", "2s")
	s.deployEcho(echoOpts{service: "never", name: "listens",
		command: "[sh]\n        args: [-c, 'echo \"booting instance $FC_INSTANCE_ID\"; exec sleep 600']"})
	var seen []string
	for i := range 2 {
		began := time.Now()
		resp, body := s.do("GET", "/2016-08-15/proxy/never/listens/", nil, nil)
		e := decodeError(t, resp, body)
		if resp.StatusCode != http.StatusBadGateway || e.ErrorCode != "FunctionNotStarted" || resp.Header.Get("X-Fc-Error-Type") != "UnhandledInvocationError" {
			t.Fatalf("request %d: %d %s %q; want 502 FunctionNotStarted (UnhandledInvocationError)", i, resp.StatusCode, e.ErrorCode, e.ErrorMessage)
		}
		if took := time.Since(began); took < 1500*time.Millisecond || took > 20*time.Second {
			t.Errorf("request %d failed after %v; want about the 2 s start timeout", i, took)
		}
		_, id, ok := strings.Cut(e.ErrorMessage, "booting instance ")
		if !ok {
			t.Fatalf("request %d: the message has no output tail: %q", i, e.ErrorMessage)
		}
		seen = append(seen, strings.Fields(id)[0])
	}
	if seen[0] == seen[1] {
		t.Errorf("both requests report instance %s; want a fresh instance for the second", seen[0])
	}
}

// TestHostNetworkPorts: where instances share the host network
// (--netns off), each instance gets a port of its own (FC_SERVER_PORT,
// PORT) and a request only ever reaches the instance it leased: two
// functions that listen where they are told each answer for themselves;
// of two that both insist on port 9000, the second fails with
// FunctionNotStarted naming the port and the fix, and never answers with
// the first one's body.
func TestHostNetworkPorts(t *testing.T) {
	s := startServer(t, "", "--netns", "off", "--start-timeout", "10s")
	told := "[sh]\n        args: [-c, 'ECHO_PORT=$FC_SERVER_PORT exec python3 server.py']"
	s.deployEcho(echoOpts{service: "hostnet", name: "one", command: told})
	s.deployEcho(echoOpts{service: "hostnet", name: "two", command: told})
	a := s.getEcho("/2016-08-15/proxy/hostnet/one/", nil)
	b := s.getEcho("/2016-08-15/proxy/hostnet/two/", nil)
	if a.Name != "one" || b.Name != "two" || a.PID == b.PID {
		t.Fatalf("got %q (pid %d) and %q (pid %d); want each function's own answer", a.Name, a.PID, b.Name, b.PID)
	}
	for _, r := range []echoReply{a, b} {
		port := r.Env["FC_SERVER_PORT"]
		if port == "" || port == "9000" || r.Env["FC_CUSTOM_LISTEN_PORT"] != port {
			t.Errorf("%s: FC_SERVER_PORT %q, FC_CUSTOM_LISTEN_PORT %q; want a port of its own in both", r.Name, port, r.Env["FC_CUSTOM_LISTEN_PORT"])
		}
	}
	if a.Env["FC_SERVER_PORT"] == b.Env["FC_SERVER_PORT"] {
		t.Errorf("both instances were given port %s", a.Env["FC_SERVER_PORT"])
	}

	// Two that hard-code 9000 (pyecho's default).
	s.deployEcho(echoOpts{service: "hostnet", name: "first"})
	s.deployEcho(echoOpts{service: "hostnet", name: "second"})
	if r := s.getEcho("/2016-08-15/proxy/hostnet/first/", nil); r.Name != "first" {
		t.Fatalf("first answered as %q", r.Name)
	}
	resp, body := s.do("GET", "/2016-08-15/proxy/hostnet/second/", nil, nil)
	if resp.StatusCode == http.StatusOK {
		var r echoReply
		_ = json.Unmarshal(body, &r)
		t.Fatalf("second answered 200 as %q: a request reached another function's process", r.Name)
	}
	e := decodeError(t, resp, body)
	if resp.StatusCode != http.StatusBadGateway || e.ErrorCode != "FunctionNotStarted" ||
		!strings.Contains(e.ErrorMessage, "port 9000") || !strings.Contains(e.ErrorMessage, "--netns on") {
		t.Fatalf("second: %d %s %q; want 502 FunctionNotStarted naming port 9000 and the fix", resp.StatusCode, e.ErrorCode, e.ErrorMessage)
	}
	if r := s.getEcho("/2016-08-15/proxy/hostnet/first/again", nil); r.Name != "first" {
		t.Fatalf("first answered as %q afterwards", r.Name)
	}
}
