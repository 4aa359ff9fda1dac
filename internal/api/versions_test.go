package api_test

import (
	"net/http"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

// TestVersionsAndAliasesAPI: publish, list in both directions with
// pages, aliases CRUD with If-Match, a version's function, and the
// refusals FC makes (a version an alias uses, an unknown version, a
// service that still has versions).
func TestVersionsAndAliasesAPI(t *testing.T) {
	e := newEnv(t)
	e.createService("s")
	e.createFunction("s", "f")
	for i := range 3 {
		var v fc.Version
		e.must(http.MethodPost, "/services/s/versions", map[string]any{"description": "d"}, &v)
		if want := string(rune('1' + i)); v.VersionID != want || v.Description != "d" || v.CreatedTime == "" {
			t.Fatalf("publish %d: %+v", i, v)
		}
	}
	var page struct {
		Versions  []fc.Version `json:"versions"`
		NextToken string       `json:"nextToken"`
		Direction string       `json:"direction"`
	}
	e.must(http.MethodGet, "/services/s/versions?limit=2", nil, &page)
	if len(page.Versions) != 2 || page.Versions[0].VersionID != "3" || page.NextToken != "1" || page.Direction != "BACKWARD" {
		t.Fatalf("first page, newest first: %+v", page)
	}
	e.must(http.MethodGet, "/services/s/versions?direction=FORWARD&startKey=2", nil, &page)
	if len(page.Versions) != 2 || page.Versions[0].VersionID != "2" || page.NextToken != "" {
		t.Fatalf("forward from 2: %+v", page)
	}

	var al fc.Alias
	h := e.must(http.MethodPost, "/services/s/aliases", map[string]any{"aliasName": "prod", "versionId": "1",
		"additionalVersionWeight": map[string]float64{"2": 0.3}}, &al)
	if al.AliasName != "prod" || al.AdditionalVersionWeight["2"] != 0.3 {
		t.Fatalf("create alias: %+v", al)
	}
	_, err := e.do(http.MethodPost, "/services/s/aliases", map[string]any{"aliasName": "prod", "versionId": "1"}, nil)
	wantAPIError(t, err, 409, "AliasAlreadyExists", "prod")
	_, err = e.do(http.MethodPost, "/services/s/aliases", map[string]any{"aliasName": "x", "versionId": "9"}, nil)
	wantAPIError(t, err, 404, "VersionNotFound", "9")
	_, err = e.do(http.MethodDelete, "/services/s/versions/2", nil, nil)
	wantAPIError(t, err, 400, "VersionInUse", "prod")

	code, _, body := e.raw(http.MethodPut, "/services/s/aliases/prod", http.Header{"If-Match": {`"999"`}}, []byte(`{"versionId":"3"}`), true)
	if code != 412 {
		t.Errorf("stale If-Match: %d %s", code, body)
	}
	code, _, body = e.raw(http.MethodPut, "/services/s/aliases/prod", http.Header{"If-Match": {h.Get("ETag")}},
		[]byte(`{"versionId":"3","additionalVersionWeight":{}}`), true)
	if code != 200 {
		t.Fatalf("update alias: %d %s", code, body)
	}
	var moved fc.Alias
	e.must(http.MethodGet, "/services/s/aliases/prod", nil, &moved)
	if moved.VersionID != "3" || len(moved.AdditionalVersionWeight) != 0 {
		t.Errorf("after update: %+v", moved)
	}
	e.must(http.MethodDelete, "/services/s/versions/2", nil, nil)

	var fn fc.Function
	e.must(http.MethodGet, "/services/s.prod/functions/f", nil, &fn)
	if fn.FunctionName != "f" {
		t.Errorf("function at alias: %+v", fn)
	}
	_, err = e.do(http.MethodGet, "/services/s.2/functions/f", nil, nil)
	wantAPIError(t, err, 404, "VersionNotFound")
	_, err = e.do(http.MethodGet, "/services/s.dev/functions/f", nil, nil)
	wantAPIError(t, err, 404, "AliasNotFound")

	e.createFunction("s", "g") // LATEST only
	var fns struct {
		Functions []fc.Function `json:"functions"`
	}
	e.must(http.MethodGet, "/services/s.prod/functions", nil, &fns)
	if len(fns.Functions) != 1 || fns.Functions[0].FunctionName != "f" {
		t.Errorf("functions of prod's version: %+v", fns.Functions)
	}
	e.must(http.MethodDelete, "/services/s/functions/g", nil, nil)
	e.must(http.MethodDelete, "/services/s/functions/f", nil, nil)
	_, err = e.do(http.MethodDelete, "/services/s", nil, nil)
	wantAPIError(t, err, 400, "ServiceNotEmpty", "versions")
	e.must(http.MethodGet, "/services/s.3/functions/f", nil, &fn) // a version keeps a deleted function
}
