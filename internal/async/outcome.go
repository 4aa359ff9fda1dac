package async

import (
	"strconv"

	"github.com/openfc/openfc/internal/fc"
)

// verdict is what an attempt's outcome means for the request.
type verdict int

const (
	verdictSucceeded verdict = iota
	// verdictFunctionError is retried up to maxAsyncRetryAttempts.
	verdictFunctionError
	// verdictThrottled (no capacity, or a system error) waits and is
	// tried again until the event's maximum age, not counted as a retry.
	verdictThrottled
	// verdictInvalid can never run: the function is gone, or the request
	// is refused by its trigger. It ends at once.
	verdictInvalid
)

// classify reads an attempt's outcome (spec §6.3, §1.4). An answer is a
// success unless its x-fc-status is 400 or more, or, for an event
// invocation, its status is: an HTTP function's own 500 without
// x-fc-status is an answer like any other, as in FC. detail describes a
// failure for the task's timeline.
func classify(out *fc.AsyncOutcome, event bool) (verdict, string) {
	if e := out.Err; e != nil {
		detail := string(e.Code) + ": " + e.Message
		switch e.Code {
		case fc.CodeFunctionNotFound, fc.CodeServiceNotFound, fc.CodeTriggerNotFound,
			fc.CodeAliasNotFound, fc.CodeVersionNotFound:
			return verdictInvalid, detail
		case fc.CodeResourceThrottled, fc.CodeServiceUnavailable:
			return verdictThrottled, detail
		}
		switch {
		case e.Code.Type() == fc.UnhandledInvocationError:
			return verdictFunctionError, detail
		case e.Status() >= 500:
			return verdictThrottled, detail
		default:
			return verdictInvalid, detail
		}
	}
	if n, err := strconv.Atoi(out.FCStatus); err == nil && n >= 400 {
		return verdictFunctionError, "the function answered x-fc-status " + out.FCStatus
	}
	if event && out.FCStatus == "" && out.Status >= 400 {
		return verdictFunctionError, "the function answered status " + strconv.Itoa(out.Status)
	}
	return verdictSucceeded, ""
}
