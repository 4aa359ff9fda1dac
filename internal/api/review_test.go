package api_test

import (
	"net/http"
	"sync"
	"testing"
)

// A trigger may only name a qualifier that exists (only LATEST so far),
// and an update may not give a function a second HTTP trigger on it.
func TestTriggerQualifierRules(t *testing.T) {
	e := newEnv(t)
	e.createService("q")
	e.createFunction("q", "fn")
	prod := httpTrigger("p", "GET")
	prod["qualifier"] = "prod"
	_, err := e.do(http.MethodPost, fnPath("q", "fn")+"/triggers", prod, nil)
	wantAPIError(t, err, 404, "AliasNotFound", "prod")
	v3 := httpTrigger("p", "GET")
	v3["qualifier"] = "3"
	_, err = e.do(http.MethodPost, fnPath("q", "fn")+"/triggers", v3, nil)
	wantAPIError(t, err, 404, "VersionNotFound", "3")

	e.must(http.MethodPost, fnPath("q", "fn")+"/triggers", httpTrigger("a", "GET"), nil)
	_, err = e.do(http.MethodPost, fnPath("q", "fn")+"/triggers", httpTrigger("b", "GET"), nil)
	wantAPIError(t, err, 400, "InvalidArgument", "triggerName")
	// Updating the existing trigger in place is fine.
	e.must(http.MethodPut, trigPath("q", "fn", "a"), map[string]any{"triggerConfig": map[string]any{"authType": "anonymous", "methods": []string{"POST"}}}, nil)
}

// Preconditions come before the emptiness check.
func TestStaleIfMatchBeforeNotEmpty(t *testing.T) {
	e := newEnv(t)
	e.createService("pre")
	h := e.must(http.MethodGet, svcPath("pre"), nil, nil)
	stale := etagOf(t, h)
	e.must(http.MethodPut, svcPath("pre"), map[string]any{"description": "changed"}, nil)
	e.createFunction("pre", "fn")
	e.must(http.MethodPost, fnPath("pre", "fn")+"/triggers", httpTrigger("t", "GET"), nil)

	status, hdr, body := e.raw(http.MethodDelete, svcPath("pre"), http.Header{"If-Match": {stale}}, nil, true)
	wantRawError(t, status, hdr, body, 412, "PreconditionFailed")

	fh := e.must(http.MethodGet, fnPath("pre", "fn"), nil, nil)
	fstale := etagOf(t, fh)
	e.must(http.MethodPut, fnPath("pre", "fn"), map[string]any{"description": "changed"}, nil)
	status, hdr, body = e.raw(http.MethodDelete, fnPath("pre", "fn"), http.Header{"If-Match": {fstale}}, nil, true)
	wantRawError(t, status, hdr, body, 412, "PreconditionFailed")
}

// Concurrent creates of one function with one new zip: one wins, the
// others get 409, and the winner's code package survives their cleanup.
func TestConcurrentCreateKeepsCode(t *testing.T) {
	e := newEnv(t)
	e.createService("race")
	zipBytes := appZip(t, "race-shared")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.do(http.MethodPost, svcPath("race")+"/functions", fnBody("fn", zipBytes), nil); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d creates succeeded; want exactly 1", ok)
	}
	if !e.codeStored(zipBytes) {
		t.Fatal("the created function's code package was deleted by a losing request's cleanup")
	}
}
