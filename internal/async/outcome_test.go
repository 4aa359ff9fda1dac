package async

import (
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		name  string
		out   fc.AsyncOutcome
		event bool
		want  verdict
	}{
		{"200", fc.AsyncOutcome{Status: 200}, false, verdictSucceeded},
		{"HTTP function's own 500", fc.AsyncOutcome{Status: 500}, false, verdictSucceeded},
		{"x-fc-status 200", fc.AsyncOutcome{Status: 200, FCStatus: "200"}, true, verdictSucceeded},
		{"x-fc-status 404", fc.AsyncOutcome{Status: 200, FCStatus: "404"}, false, verdictFunctionError},
		{"event 404", fc.AsyncOutcome{Status: 404}, true, verdictFunctionError},
		{"crash", fc.AsyncOutcome{Err: fc.Errorf(fc.CodeFunctionCrashed, "exited")}, false, verdictFunctionError},
		{"timeout", fc.AsyncOutcome{Err: fc.Errorf(fc.CodeFunctionTimeout, "timeout")}, false, verdictFunctionError},
		{"bad response", fc.AsyncOutcome{Err: fc.Errorf(fc.CodeBadResponse, "headers")}, false, verdictFunctionError},
		{"throttled", fc.AsyncOutcome{Err: fc.Errorf(fc.CodeResourceThrottled, "busy")}, false, verdictThrottled},
		{"unavailable", fc.AsyncOutcome{Err: fc.Errorf(fc.CodeServiceUnavailable, "down")}, false, verdictThrottled},
		{"internal", fc.AsyncOutcome{Err: fc.Errorf(fc.CodeInternalServerError, "oops")}, false, verdictThrottled},
		{"function gone", fc.AsyncOutcome{Err: fc.Errorf(fc.CodeFunctionNotFound, "gone")}, false, verdictInvalid},
		{"service gone", fc.AsyncOutcome{Err: fc.Errorf(fc.CodeServiceNotFound, "gone")}, false, verdictInvalid},
		{"method refused", fc.AsyncOutcome{Err: fc.Errorf(fc.CodeMethodNotAllowed, "no")}, false, verdictInvalid},
	} {
		if got, _ := classify(&c.out, c.event); got != c.want {
			t.Errorf("%s: verdict %d, want %d", c.name, got, c.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	if got := backoff(time.Second, 0); got != time.Second {
		t.Errorf("backoff(1s, 0) = %s", got)
	}
	if got := backoff(time.Second, 3); got != 8*time.Second {
		t.Errorf("backoff(1s, 3) = %s", got)
	}
	if got := backoff(500*time.Millisecond, 100); got != maxBackoff {
		t.Errorf("backoff capped = %s", got)
	}
}
