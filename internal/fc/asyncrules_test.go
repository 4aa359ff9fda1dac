package fc

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestParseInvocationType(t *testing.T) {
	for _, tc := range []struct {
		h       http.Header
		want    InvocationType
		wantErr bool
	}{
		{header(), Sync, false},
		{header(HeaderInvocationType, "sync"), Sync, false},
		{header(HeaderInvocationType, "Async"), Async, false},
		{header(HeaderInvocationType, "ASYNC"), Async, false},
		{header(HeaderStatefulAsyncInvocationID, "job-1"), Async, false},
		{header(HeaderInvocationType, "Async", HeaderStatefulAsyncInvocationID, "job-1"), Async, false},
		{header(HeaderInvocationType, "Sync", HeaderStatefulAsyncInvocationID, "job-1"), Sync, true},
		{header(HeaderInvocationType, "Later"), Sync, true},
	} {
		got, err := ParseInvocationType(tc.h)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%v: got %v, %v; want %v, error %v", tc.h, got, err, tc.want, tc.wantErr)
		}
		if err != nil && AsError(err).Code != CodeInvalidArgument {
			t.Errorf("%v: error %v; want InvalidArgument", tc.h, err)
		}
	}
}

func TestParseAsyncParams(t *testing.T) {
	p, err := ParseAsyncParams(header(HeaderAsyncDelay, "3600", HeaderStatefulAsyncInvocationID, "_video-01"))
	if err != nil || p.Delay != time.Hour || p.TaskID != "_video-01" {
		t.Fatalf("got %+v, %v", p, err)
	}
	if p, err := ParseAsyncParams(header()); err != nil || p != (AsyncParams{}) {
		t.Fatalf("no headers: %+v, %v", p, err)
	}
	for _, h := range []http.Header{
		header(HeaderAsyncDelay, "3601"), header(HeaderAsyncDelay, "-1"), header(HeaderAsyncDelay, "1.5"),
		header(HeaderAsyncDelay, "soon"),
	} {
		_, err := ParseAsyncParams(h)
		if err == nil || AsError(err).Code != CodeInvalidArgument || !strings.Contains(err.Error(), HeaderAsyncDelay) {
			t.Errorf("%v: %v; want InvalidArgument naming %s", h, err, HeaderAsyncDelay)
		}
	}
	for _, id := range []string{"", "1abc", "-a", "a b", "a.b", strings.Repeat("a", 129)} {
		_, err := ParseAsyncParams(http.Header{http.CanonicalHeaderKey(HeaderStatefulAsyncInvocationID): {id}})
		if err == nil || !strings.Contains(err.Error(), HeaderStatefulAsyncInvocationID) {
			t.Errorf("task id %q: %v; want InvalidArgument naming the header", id, err)
		}
	}
	if _, err := ParseAsyncParams(header(HeaderStatefulAsyncInvocationID, strings.Repeat("a", 128))); err != nil {
		t.Errorf("128-character id: %v", err)
	}
}

func TestParseDestination(t *testing.T) {
	d, err := ParseDestination("acs:fc:cn-hangzhou:123:services/s.prod/functions/f")
	if err != nil || d != (DestinationTarget{Region: "cn-hangzhou", Account: "123", Service: "s", Qualifier: "prod", Function: "f"}) {
		t.Fatalf("got %+v, %v", d, err)
	}
	if d, err := ParseDestination("acs:fc:r:1:services/s/functions/f"); err != nil || d.Qualifier != LATEST || d.Function != "f" {
		t.Fatalf("no qualifier: %+v, %v", d, err)
	}
	if d, err := ParseDestination("https://hooks.example.com/done?x=1"); err != nil || d.URL != "https://hooks.example.com/done?x=1" {
		t.Fatalf("url: %+v, %v", d, err)
	}
	if d, err := ParseDestination("acs:fc:::services/s/functions/f"); err != nil || d.Region != "" || d.Account != "" || d.Service != "s" {
		t.Fatalf("Serverless Devs' form: %+v, %v", d, err)
	}
	for _, s := range []string{"", "acs:mns:r:1:/queues/q/messages", "acs:fc:r:1:functions/f", "acs:fc:r:1:services/s",
		"acs:fc:r:1:services/s/functions/", "acs:fc:r:1:services/1s/functions/f", "http://", "ftp://x/y"} {
		if _, err := ParseDestination(s); err == nil || AsError(err).Code != CodeInvalidArgument {
			t.Errorf("%q: %v; want InvalidArgument", s, err)
		}
	}
}

func TestValidateAsyncInvokeConfig(t *testing.T) {
	n := func(i int) *int { return &i }
	age := func(i int64) *int64 { return &i }
	ok := &AsyncInvokeConfig{MaxAsyncRetryAttempts: n(8), MaxAsyncEventAgeInSeconds: age(604800),
		DestinationConfig: &DestinationConfig{OnFailure: &Destination{"acs:fc:r:1:services/s/functions/dlq"}}}
	if err := ValidateAsyncInvokeConfig(ok); err != nil {
		t.Fatal(err)
	}
	for field, c := range map[string]*AsyncInvokeConfig{
		"maxAsyncRetryAttempts":           {MaxAsyncRetryAttempts: n(9)},
		"maxAsyncEventAgeInSeconds":       {MaxAsyncEventAgeInSeconds: age(0)},
		"destinationConfig.onSuccess":     {DestinationConfig: &DestinationConfig{OnSuccess: &Destination{"nowhere"}}},
		"destinationConfig.onFailure.des": {DestinationConfig: &DestinationConfig{OnFailure: &Destination{""}}},
	} {
		err := ValidateAsyncInvokeConfig(c)
		if err == nil || !strings.Contains(err.Error(), strings.TrimSuffix(field, ".des")) {
			t.Errorf("%s: %v; want an error naming it", field, err)
		}
	}
}
