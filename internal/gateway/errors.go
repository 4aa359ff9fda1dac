package gateway

import (
	"cmp"
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/upstream"
)

// This file is where a call's failures become FC errors (their status and
// X-Fc-Error-Type come from fc's one table).

// errBadResponse marks an answer the function may not send.
type errBadResponse struct{ msg string }

func (e *errBadResponse) Error() string { return e.msg }

// acquireError maps a failure to get an instance slot: the client left;
// other errors (FC errors of the instance manager: throttled, not
// started…) pass.
func acquireError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fc.Errorf(fc.CodeClientClosedRequest, "client Closed Request")
	}
	return err
}

// crashWait is how long a broken exchange waits for its instance's exit,
// to tell a crash (and an out-of-memory kill) from a connection error.
// Only a failed call waits; under load (runc reaping a killed container
// on a busy machine) 200 ms proved too short, and the client got a bare
// "connection reset" instead of the out-of-memory error.
const crashWait = time.Second

// exchangeError maps a failed exchange with an instance: a body over the
// limit, an answer the function may not send, its timeout, the client
// gone, a crash, or its server failing.
func exchangeError(ctx context.Context, c *call, err error) error {
	var bad *errBadResponse
	if fe := cmp.Or(c.grpcIn.exceeded(), c.grpcOut.exceeded()); fe != nil {
		return fe
	}
	switch {
	case errors.Is(context.Cause(ctx), errShuttingDown):
		return fc.Errorf(fc.CodeServiceUnavailable, "openfc is shutting down; call again")
	case c.body != nil && c.body.exceeded():
		return bodyTooLarge(c.body.n, c.body.limit)
	case errors.As(err, &bad):
		return fc.Errorf(fc.CodeBadResponse, "BadResponse: %s", bad.msg)
	case errors.Is(err, upstream.ErrUpgradeMismatch):
		return fc.Errorf(fc.CodeBadResponse, "BadResponse: %v", err)
	case c.timedOut(ctx):
		return fc.Errorf(fc.CodeFunctionTimeout, "Function timed out after %d seconds", c.fn.Timeout)
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this answer.
		return fc.Errorf(fc.CodeClientClosedRequest, "client Closed Request")
	}
	if exited, exitErr := c.lease.Exited(crashWait); exited {
		var fe *fc.Error
		if errors.As(exitErr, &fe) {
			return fe // the instance manager's own account (out of memory)
		}
		return &fc.Error{Code: fc.CodeFunctionCrashed, Err: err,
			Message: "Process exited unexpectedly before completing request (instance " + c.lease.InstanceID() + ": " + describeExit(exitErr) + ")"}
	}
	return &fc.Error{Code: fc.CodeFunctionConnection, Message: "the function's HTTP server failed: " + err.Error(), Err: err}
}

// brokenAnswer says why an answer's body did not arrive whole, when the
// function is to blame ("" when the client left).
func brokenAnswer(ctx context.Context, c *call, err error) string {
	switch {
	case c.timedOut(ctx):
		return "Function timed out after " + strconv.Itoa(c.fn.Timeout) + " seconds while sending its answer"
	case ctx.Err() != nil:
		return ""
	}
	return "the function's answer broke off: " + err.Error()
}

// timedOut reports whether the call ran out of its function's timeout
// (and not because the client left).
func (c *call) timedOut(ctx context.Context) bool {
	return !c.deadline.IsZero() && !time.Now().Before(c.deadline) && ctx.Err() == nil
}

func describeExit(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
