package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// logLine is a record of `openfc logs --json`.
type logLine struct {
	Node      string `json:"node"`
	Instance  string `json:"instanceId"`
	RequestID string `json:"requestId"`
	Message   string `json:"message"`
}

// jsonLogs runs `openfc logs ref --json args…` against s and returns its
// records.
func (s *server) jsonLogs(ref string, args ...string) ([]logLine, error) {
	out, err := s.tryCLI(append([]string{"logs", ref, "--json"}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("openfc logs: %w\n%s", err, out)
	}
	var recs []logLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var r logLine
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			return nil, fmt.Errorf("openfc logs --json line %q: %w", l, err)
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// printOn makes s's echo function print msg and returns the request id.
func printOn(t *testing.T, s *server, service, name, msg string) string {
	t.Helper()
	resp, body := s.do("GET", "/2016-08-15/proxy/"+service+"/"+name+"/print?msg="+msg, nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("print through %s: %d %s", s.URL, resp.StatusCode, body)
	}
	id := resp.Header.Get("X-Fc-Request-Id")
	if id == "" {
		t.Fatal("no X-Fc-Request-Id")
	}
	return id
}

// waitRequestLogs waits until `openfc logs --request-id id` through s
// shows msg, and returns that request's records.
func waitRequestLogs(t *testing.T, s *server, ref, id, msg string) []logLine {
	t.Helper()
	var recs []logLine
	waitFor(t, 10*time.Second, func() error {
		var err error
		if recs, err = s.jsonLogs(ref, "--request-id", id); err != nil {
			return err
		}
		for _, r := range recs {
			if r.Message == msg {
				return nil
			}
		}
		return fmt.Errorf("request %s's logs through %s do not show %q yet: %+v", id, s.URL, msg, recs)
	})
	return recs
}

// Logs live in the cluster: a request served by n3 shows in `openfc
// logs` through n2 (named n3), and `logs --follow` through n1 prints an
// invocation n3 serves.
func TestClusterLogsFromAnyNode(t *testing.T) {
	nodes := startCluster(t, 3)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	n1.deployEcho(echoOpts{service: "clog", name: "echo"})
	waitFor(t, 10*time.Second, func() error {
		if resp, body := n3.do("GET", "/2016-08-15/proxy/clog/echo/on", nil, nil); resp.StatusCode != 200 {
			return fmt.Errorf("n3: %d %s", resp.StatusCode, body)
		}
		return nil
	})

	hello := "hello-" + rand.Text()
	id := printOn(t, n3, "clog", "echo", hello)
	recs := waitRequestLogs(t, n2, "clog/echo", id, hello)
	sawStart := false
	for _, r := range recs {
		if r.RequestID != id || r.Node != "n3" {
			t.Errorf("logs --request-id %s through n2 has %+v; want only that request's records, from node n3", id, r)
		}
		sawStart = sawStart || strings.Contains(r.Message, "FC Invoke Start RequestId: "+id)
	}
	if !sawStart {
		t.Errorf("request %s's logs through n2 lack its Start marker: %+v", id, recs)
	}

	// --follow through n1 prints what n3 serves after it started.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--endpoint", n1.URL, "logs", "clog/echo", "--follow", "--json")
	cmd.Env = testEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	followed := make(chan logLine, 1024)
	go func() {
		defer close(followed)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var r logLine
			if json.Unmarshal(sc.Bytes(), &r) == nil {
				followed <- r
			}
		}
	}()
	await := func(msg string) logLine {
		t.Helper()
		timer := time.NewTimer(15 * time.Second)
		defer timer.Stop()
		for {
			select {
			case r, ok := <-followed:
				if !ok {
					t.Fatalf("logs --follow through n1 ended before %q", msg)
				}
				if r.Message == msg {
					return r
				}
			case <-timer.C:
				t.Fatalf("logs --follow through n1 did not print %q within 15s", msg)
			}
		}
	}
	await(hello) // the backlog: the stream is open
	later := "later-" + rand.Text()
	laterID := printOn(t, n3, "clog", "echo", later)
	if r := await(later); r.Node != "n3" || r.RequestID != laterID {
		t.Errorf("followed %+v; want node n3, request %s", r, laterID)
	}
	cancel()
	_ = cmd.Wait()
}

// A single node's logs survive its restart; its metrics count the
// records it had to drop (none here).
func TestLogsSurviveRestart(t *testing.T) {
	s := startServer(t, "", "--admin-listen", "127.0.0.1:0")
	s.deployEcho(echoOpts{service: "rlog", name: "echo"})
	before := "before-" + rand.Text()
	id := printOn(t, s, "rlog", "echo", before)
	waitRequestLogs(t, s, "rlog/echo", id, before)

	s.stop()
	s = s.restart()
	if err := s.waitServing(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	recs, err := s.jsonLogs("rlog/echo", "--request-id", id)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		found = found || r.Message == before
	}
	if !found {
		t.Fatalf("after the restart, request %s's logs are %+v; want %q", id, recs, before)
	}
	// And new output joins the old.
	after := "after-" + rand.Text()
	id2 := printOn(t, s, "rlog", "echo", after)
	waitRequestLogs(t, s, "rlog/echo", id2, after)
	all, err := s.jsonLogs("rlog/echo")
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range all {
		if r.Message == before || r.Message == after {
			order = append(order, r.Message)
		}
	}
	if strings.Join(order, ",") != before+","+after {
		t.Errorf("all logs after the restart hold %v; want %s then %s", order, before, after)
	}
	resp, err := http.Get("http://" + s.AdminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`(?m)^openfc_log_records_dropped_total\{node="[^"]+"\} 0$`).Match(metrics) {
		t.Errorf("/metrics has no openfc_log_records_dropped_total of 0")
	}
}
