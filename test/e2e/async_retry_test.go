package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAsyncRetries: with maxAsyncRetryAttempts 2, a function error (an
// answer with x-fc-status: 500, or the instance crashing) runs 1 + 2
// times, every attempt with the 202's request id, then never again; a
// plain 500 from the function's own server (no x-fc-status) is a
// completed invocation and runs once. The crashing request has a
// function of its own: its crash would otherwise cut the other requests
// its instance is running, a failed attempt of theirs too.
func TestAsyncRetries(t *testing.T) {
	s := startServer(t, "")
	f := s.deployRec(recOpts{service: "rt", name: "rec"})
	c := s.deployRec(recOpts{service: "rt", name: "crash"})
	for _, fn := range []*recFn{f, c} {
		fn.putAsyncConfig(t, `{"maxAsyncRetryAttempts":2}`)
	}
	resp, body := s.signedDo("GET", f.api("/async-invoke-config"), "")
	var cfg struct {
		Retries *int `json:"maxAsyncRetryAttempts"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &cfg) != nil || cfg.Retries == nil || *cfg.Retries != 2 {
		t.Fatalf("GET async-invoke-config: %d %s; want maxAsyncRetryAttempts 2", resp.StatusCode, body)
	}

	accept := func(fn *recFn, path string) string {
		resp, body := s.do("POST", fn.proxy(path), strings.NewReader(path), asyncHeader())
		return wantAccepted(t, path, resp, body)
	}
	failing := accept(f, "fail?fail=1")
	plain := accept(f, "plain?plain=500")
	crashing := accept(c, "crash?crash=1")

	for _, tc := range []struct {
		fn *recFn
		id string
	}{{f, failing}, {c, crashing}} {
		runs := tc.fn.waitRuns(t, tc.id, 3, 90*time.Second)
		for i := 1; i < len(runs); i++ {
			t.Logf("%s: attempt %d %v after the previous", runs[0].Path, i+1, runs[i].at().Sub(runs[i-1].at()).Round(time.Millisecond))
		}
	}
	f.waitRuns(t, plain, 1, 30*time.Second)
	// No attempt beyond 1 + maxAsyncRetryAttempts, and no retry of the
	// completed one.
	time.Sleep(8 * time.Second)
	for _, tc := range []struct {
		fn   *recFn
		id   string
		want int
	}{{f, failing, 3}, {c, crashing, 3}, {f, plain, 1}} {
		if runs := tc.fn.runs(tc.id, "start"); len(runs) != tc.want {
			t.Errorf("request %s (%s) ran %d times; want %d", tc.id, pathOf(runs), len(runs), tc.want)
		}
	}
}

func pathOf(runs []recEntry) string {
	if len(runs) == 0 {
		return "-"
	}
	return runs[0].Path
}

// TestAsyncMaxAge: with maxAsyncEventAgeInSeconds 1, a request delayed by
// 3 s is older than its max age when due: it never runs, and as a task it
// ends Expired. An undelayed one still runs.
func TestAsyncMaxAge(t *testing.T) {
	s := startServer(t, "")
	f := s.deployRec(recOpts{service: "ma", name: "rec"})
	f.putAsyncConfig(t, `{"maxAsyncEventAgeInSeconds":1}`)

	resp, body := s.do("POST", f.proxy("old-task"), strings.NewReader("x"),
		asyncHeader("X-Fc-Async-Delay", "3", "X-Fc-Stateful-Async-Invocation-Id", "old-1"))
	task := wantAccepted(t, "delayed task", resp, body)
	resp, body = s.do("POST", f.proxy("old-plain"), strings.NewReader("x"), asyncHeader("X-Fc-Async-Delay", "3"))
	plain := wantAccepted(t, "delayed request", resp, body)
	resp, body = s.do("POST", f.proxy("fresh"), strings.NewReader("x"), asyncHeader())
	fresh := wantAccepted(t, "undelayed request", resp, body)

	f.waitRuns(t, fresh, 1, 30*time.Second)
	var got *asyncTask
	waitFor(t, 30*time.Second, func() error {
		got = f.getTask(t, "old-1")
		if got.Status != "Expired" {
			return fmt.Errorf("task old-1 is %s; want Expired", got.Status)
		}
		return nil
	})
	if got.RequestID != task || got.EndTime == 0 {
		t.Errorf("expired task: requestId %q endTime %d; want %s and an end", got.RequestID, got.EndTime, task)
	}
	time.Sleep(3 * time.Second)
	for _, id := range []string{task, plain} {
		if runs := f.runs(id, "start"); len(runs) != 0 {
			t.Errorf("request %s ran %d times after its max age; want never", id, len(runs))
		}
	}
}

// destRecord is FC's record of a finished async invocation, as posted to
// a destination.
type destRecord struct {
	Timestamp      any `json:"timestamp"`
	RequestContext struct {
		RequestID              string `json:"requestId"`
		FunctionArn            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload  string `json:"requestPayload"`
	ResponseContext struct {
		StatusCode    int    `json:"statusCode"`
		FunctionError string `json:"functionError"`
	} `json:"responseContext"`
	ResponsePayload string `json:"responsePayload"`
}

// TestAsyncDestinations: onSuccess to an HTTP URL (the daemon POSTs FC's
// record there) and onFailure to another function (invoked with the
// record as its event); each gets only its own outcome.
func TestAsyncDestinations(t *testing.T) {
	var mu sync.Mutex
	var posted []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posted = append(posted, string(b))
		mu.Unlock()
	}))
	defer hook.Close()

	s := startServer(t, "")
	src := s.deployRec(recOpts{service: "ds", name: "src"})
	dst := s.deployRec(recOpts{service: "ds", name: "dst"})
	arn := "acs:fc:cn-hangzhou:" + accountID + ":services/ds.LATEST/functions/dst"
	src.putAsyncConfig(t, fmt.Sprintf(`{"maxAsyncRetryAttempts":0,"destinationConfig":{"onSuccess":{"destination":%q},"onFailure":{"destination":%q}}}`, hook.URL+"/hook", arn))

	resp, body := s.do("POST", src.proxy("ok"), strings.NewReader("ok-body"), asyncHeader())
	okID := wantAccepted(t, "succeeding request", resp, body)
	resp, body = s.do("POST", src.proxy("bad?fail=1"), strings.NewReader("bad-body"), asyncHeader())
	badID := wantAccepted(t, "failing request", resp, body)

	var ok destRecord
	waitFor(t, 30*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(posted) == 0 {
			return fmt.Errorf("nothing posted to the onSuccess URL")
		}
		return json.Unmarshal([]byte(posted[0]), &ok)
	})
	if c := ok.RequestContext; c.RequestID != okID || !strings.Contains(c.FunctionArn, "services/ds") || !strings.Contains(c.FunctionArn, "functions/src") || c.ApproximateInvokeCount != 1 {
		t.Errorf("onSuccess record's requestContext: %+v; want request %s of ds/src, 1 invocation", c, okID)
	}
	if ok.RequestPayload != "ok-body" || ok.ResponseContext.StatusCode != 200 || ok.ResponseContext.FunctionError != "" || ok.ResponsePayload != "done:/ok" {
		t.Errorf("onSuccess record: payload %q, response %+v %q; want ok-body, 200 without error, done:/ok", ok.RequestPayload, ok.ResponseContext, ok.ResponsePayload)
	}

	var runs []recEntry
	waitFor(t, 30*time.Second, func() error {
		runs = nil
		for _, e := range dst.entries() {
			if e.Phase == "start" {
				runs = append(runs, e)
			}
		}
		if len(runs) == 0 {
			return fmt.Errorf("the onFailure function did not run")
		}
		return nil
	})
	var bad destRecord
	if err := json.Unmarshal([]byte(runs[0].Body), &bad); err != nil {
		t.Fatalf("the onFailure function got %q (%s %s); want the record JSON: %v", runs[0].Body, runs[0].Method, runs[0].Path, err)
	}
	if c := bad.RequestContext; c.RequestID != badID || !strings.Contains(c.FunctionArn, "functions/src") || c.ApproximateInvokeCount != 1 {
		t.Errorf("onFailure record's requestContext: %+v; want request %s of ds/src, 1 invocation", c, badID)
	}
	if bad.RequestPayload != "bad-body" || bad.ResponseContext.StatusCode != 500 {
		t.Errorf("onFailure record: payload %q, response %+v; want bad-body, 500", bad.RequestPayload, bad.ResponseContext)
	}
	if runs[0].Path != "/invoke" {
		t.Errorf("the onFailure function was called at %s; want an event invocation (/invoke)", runs[0].Path)
	}

	// Each outcome went to its own destination only.
	time.Sleep(2 * time.Second)
	mu.Lock()
	defer mu.Unlock()
	if len(posted) != 1 {
		t.Errorf("%d records posted to the onSuccess URL; want 1: %q", len(posted), posted)
	}
	n := 0
	for _, e := range dst.entries() {
		if e.Phase == "start" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the onFailure function ran %d times; want once", n)
	}
}

// TestAsyncConfigFromYAML: an fc3 s.yaml's asyncInvokeConfig deploys the
// function's async config: the API reads it back, and it takes effect
// (asyncTask: every async request is a task; maxAsyncRetryAttempts 1: a
// failing request runs twice).
func TestAsyncConfigFromYAML(t *testing.T) {
	s := startServer(t, "")
	f := s.deployRec(recOpts{service: "ay", name: "rec", props: `      asyncInvokeConfig:
        maxAsyncRetryAttempts: 1
        maxAsyncEventAgeInSeconds: 300
        asyncTask: true
        destinationConfig:
          onFailure:
            destination: acs:fc:cn-hangzhou:` + accountID + `:services/ay.LATEST/functions/rec
`})
	resp, body := s.signedDo("GET", f.api("/async-invoke-config"), "")
	var cfg struct {
		Retries           *int   `json:"maxAsyncRetryAttempts"`
		MaxAge            *int64 `json:"maxAsyncEventAgeInSeconds"`
		Stateful          bool   `json:"statefulInvocation"`
		DestinationConfig struct {
			OnFailure struct{ Destination string } `json:"onFailure"`
		} `json:"destinationConfig"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &cfg) != nil || cfg.Retries == nil || *cfg.Retries != 1 ||
		cfg.MaxAge == nil || *cfg.MaxAge != 300 || !cfg.Stateful || !strings.HasSuffix(cfg.DestinationConfig.OnFailure.Destination, "services/ay.LATEST/functions/rec") {
		t.Fatalf("GET async-invoke-config after the deploy: %d %s; want retries 1, max age 300, statefulInvocation, the onFailure destination", resp.StatusCode, body)
	}
	resp, body = s.do("POST", f.proxy("y?fail=1"), strings.NewReader("y"), asyncHeader())
	id := wantAccepted(t, "async under asyncTask", resp, body)
	task := resp.Header.Get("X-Fc-Stateful-Async-Invocation-Id")
	if task == "" {
		t.Errorf("202 without a task id under asyncTask: true")
	}
	f.waitRuns(t, id, 2, 60*time.Second)
	if task != "" {
		f.waitTask(t, task, "Failed", 30*time.Second)
	}
	// Listed through the API's list of configs too.
	resp, body = s.signedDo("GET", "/2016-08-15/services/ay/functions/rec/async-invoke-configs", "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"maxAsyncRetryAttempts":1`) {
		t.Errorf("GET async-invoke-configs: %d %s; want the deployed config", resp.StatusCode, body)
	}
}
