package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openfc/openfc/pkg/fcsign"
)

// floodKinds are the unauthenticated requests of a flood, in turn: no
// credentials, a made-up signature, an unknown key, a stale date, a
// signed URL past its expiry. Each builds its request on req.
var floodKinds = []struct {
	name   string
	status int
	code   string
	make   func(req *http.Request)
}{
	{"no credentials", 400, "MissingRequiredHeader", func(req *http.Request) {}},
	{"bad signature", 403, "SignatureNotMatch", func(req *http.Request) {
		req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		req.Header.Set("Authorization", fcsign.AuthorizationValue(accessKeyID, "bm90LWEtc2lnbmF0dXJl"))
	}},
	{"unknown key", 403, "InvalidAccessKeyID", func(req *http.Request) {
		fcsign.Sign(fcsign.Credentials{AccessKeyID: "LTAIfloodfloodflood00", AccessKeySecret: "x"}, req)
	}},
	{"stale date", 403, "AccessDenied", func(req *http.Request) {
		req.Header.Set("Date", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))
		fcsign.Sign(adminCreds, req)
	}},
	{"expired signed URL", 403, "AccessDenied", func(req *http.Request) {
		q := req.URL.Query()
		q.Set(fcsign.QueryAccessKeyID, accessKeyID)
		q.Set(fcsign.QueryExpires, fmt.Sprint(time.Now().Add(-time.Minute).Unix()))
		q.Set(fcsign.QuerySignature, "bm90LWEtc2lnbmF0dXJl")
		req.URL.RawQuery = q.Encode()
	}},
}

// An unauthenticated flood of 5,000 requests on a trigger with authType
// function is refused before anything reaches an instance: every request
// gets its FC error, and the function has no instance afterwards. One
// signed call then starts one, which proves the instance list shows them.
func TestUnauthenticatedFloodStartsNoInstance(t *testing.T) {
	s := startServer(t, "")
	s.deployAuthEcho("flood", "guarded")
	const total, workers = 5000, 32
	url := s.URL + "/2016-08-15/proxy/flood/guarded/hello?x=1"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()

	var (
		mu     sync.Mutex
		counts = map[string]int{}
		wrong  []string
		wg     sync.WaitGroup
		next   = make(chan int)
	)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				k := floodKinds[i%len(floodKinds)]
				req, _ := http.NewRequest("GET", url, nil)
				k.make(req)
				status, code, err := floodCall(client, req)
				mu.Lock()
				counts[k.name]++
				if err != nil || status != k.status || code != k.code {
					wrong = append(wrong, fmt.Sprintf("%s: %d %s %v", k.name, status, code, err))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range total {
		next <- i
	}
	close(next)
	wg.Wait()
	t.Logf("%d rejected requests in %v: %v", total, time.Since(start).Round(time.Millisecond), counts)
	if len(wrong) > 0 {
		t.Errorf("%d of %d flood requests got another answer than their rejection; first: %s", len(wrong), total, strings.Join(wrong[:min(5, len(wrong))], "; "))
	}
	if list := s.lcMustInstances(t, "flood/guarded"); len(list) != 0 {
		t.Fatalf("the flood started instances: %v", lcIDs(list))
	}

	resp, body := s.signedDo("GET", "/2016-08-15/proxy/flood/guarded/hello?x=1", "")
	if resp.StatusCode != 200 {
		t.Fatalf("signed call: %d %s", resp.StatusCode, body)
	}
	if list := s.lcMustInstances(t, "flood/guarded"); len(list) != 1 {
		t.Errorf("after one signed call: instances %v; want one", lcIDs(list))
	}
}

// floodCall sends req and returns its status and FC error code.
func floodCall(c *http.Client, req *http.Request) (int, string, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, "", err
	}
	var e fcError
	if err := json.Unmarshal(b, &e); err != nil {
		return resp.StatusCode, "", fmt.Errorf("not an FC error: %s", b)
	}
	return resp.StatusCode, e.ErrorCode, nil
}
