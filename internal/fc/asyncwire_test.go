package fc

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestAsyncRequestJSONKeepsHeaderBytes: a header value that is not UTF-8
// (Latin-1 "héllo") crosses the queue byte for byte, as a synchronous
// call passes it; UTF-8 values stay plain strings, and a record queued
// before the format (plain strings only) still decodes.
func TestAsyncRequestJSONKeepsHeaderBytes(t *testing.T) {
	req := AsyncRequest{
		RequestID: "r1", Method: "POST", Path: "/p",
		Header:   http.Header{"X-Echo": {"h\xe9llo", "plain"}, "X-Utf8": {"héllo"}},
		Body:     []byte("b\xff"),
		Accepted: time.Unix(1, 0).UTC(), NotBefore: time.Unix(2, 0).UTC(),
	}
	data, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"X-Utf8":["héllo"]`) || !strings.Contains(string(data), `{"b64":"aOlsbG8="}`) {
		t.Errorf("wire form %s", data)
	}
	var got AsyncRequest
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, req) {
		t.Errorf("round trip:\n got %#v\nwant %#v", got, req)
	}

	var old AsyncRequest
	if err := json.Unmarshal([]byte(`{"requestId":"r0","method":"GET","path":"/","header":{"A":["1","2"]},"accepted":"1970-01-01T00:00:01Z","notBefore":"1970-01-01T00:00:01Z"}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.RequestID != "r0" || !reflect.DeepEqual(old.Header, http.Header{"A": {"1", "2"}}) {
		t.Errorf("an older record: %#v", old)
	}
	if err := json.Unmarshal([]byte(`{"header":{"A":[{"b64":"%%"}]}}`), &old); err == nil {
		t.Error("a bad b64 value decoded")
	}
}

func TestAsyncOutcomeJSONKeepsHeaderBytes(t *testing.T) {
	o := AsyncOutcome{Status: 200, Header: http.Header{"X-Name": {"\xe9t\xe9"}}, Body: []byte("ok"), Duration: time.Second}
	data, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var got AsyncOutcome
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, o) {
		t.Errorf("round trip:\n got %#v\nwant %#v", got, o)
	}
}
