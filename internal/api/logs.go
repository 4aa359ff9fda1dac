package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/logs"
)

// LogReader reads functions' instance logs (a *logs.Journal). Functions
// are named "service/function". An error means the logs cannot be read
// now (NATS unreachable).
type LogReader interface {
	Query(ctx context.Context, function string, f logs.Filter) ([]logs.Record, error)
	Follow(ctx context.Context, function string, f logs.Filter) (<-chan logs.Record, error)
}

// logsQuery parses GetFunctionLogs' query: requestId, instanceId,
// tail (>= 0), since (RFC 3339) and follow (a bool).
func logsQuery(r *http.Request) (f logs.Filter, follow bool, err error) {
	q := r.URL.Query()
	f.RequestID, f.Instance = q.Get("requestId"), q.Get("instanceId")
	if s := q.Get("tail"); s != "" {
		n, perr := strconv.Atoi(s)
		if perr != nil || n < 0 {
			return f, false, fc.Errorf(fc.CodeInvalidArgument, "tail %q is invalid: use a whole number, 0 for all", s)
		}
		f.Tail = n
	}
	if s := q.Get("since"); s != "" {
		t, perr := time.Parse(time.RFC3339Nano, s)
		if perr != nil {
			return f, false, fc.Errorf(fc.CodeInvalidArgument, "since %q is invalid: use an RFC 3339 time such as 2006-01-02T15:04:05Z", s)
		}
		f.Since = t
	}
	if s := q.Get("follow"); s != "" {
		b, perr := strconv.ParseBool(s)
		if perr != nil {
			return f, false, fc.Errorf(fc.CodeInvalidArgument, "follow %q is invalid: use true or false", s)
		}
		follow = b
	}
	return f, follow, nil
}

// functionLogs serves GET …/functions/{function}/logs: the function's
// recent instance output as NDJSON, one logs.Record per line. With
// follow=true the response stays open and each new record is flushed as
// it comes, until the client goes away or the log reader ends the stream
// (the function is deleted, or the server shuts down).
func (a *API) functionLogs(w http.ResponseWriter, r *http.Request, reqID string) {
	service, _, err := a.splitQualifier(r.PathValue("service"))
	if err != nil {
		a.writeErr(w, r, reqID, err)
		return
	}
	name := r.PathValue("function")
	f, follow, err := logsQuery(r)
	if err != nil {
		a.writeErr(w, r, reqID, err)
		return
	}
	if _, _, err := a.opts.Store.GetFunction(r.Context(), service, name); err != nil {
		a.writeErr(w, r, reqID, a.functionErr(r.Context(), err, service, name))
		return
	}
	if a.opts.Logs == nil {
		a.writeErr(w, r, reqID, fc.Errorf(fc.CodeServiceUnavailable, "function logs are not available on this server"))
		return
	}
	key := service + "/" + name
	setHeaders := func() {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set(fc.HeaderRequestID, reqID)
	}
	enc := json.NewEncoder(w)
	if !follow {
		recs, err := a.opts.Logs.Query(r.Context(), key, f)
		if err != nil {
			a.logsUnavailable(w, r, reqID, err)
			return
		}
		setHeaders()
		w.WriteHeader(http.StatusOK)
		for _, rec := range recs {
			if enc.Encode(rec) != nil {
				return
			}
		}
		return
	}

	rc := http.NewResponseController(w)
	// A stream has no end of its own: lift any server write deadline.
	_ = rc.SetWriteDeadline(time.Time{})
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	ch, err := a.opts.Logs.Follow(ctx, key, f)
	if err != nil {
		a.logsUnavailable(w, r, reqID, err)
		return
	}
	setHeaders()
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil {
		return
	}
	for rec := range ch {
		if err := enc.Encode(rec); err != nil {
			return
		}
		// Batch what is already waiting into one flush.
		if len(ch) == 0 {
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}

// logsUnavailable answers a read of the logs that failed (NATS
// unreachable): 503, the cause in the server's log.
func (a *API) logsUnavailable(w http.ResponseWriter, r *http.Request, reqID string, err error) {
	a.log.Warn("reading function logs failed", "request_id", reqID, "path", r.URL.Path, "err", err)
	a.writeErr(w, r, reqID, fc.Errorf(fc.CodeServiceUnavailable, "function logs cannot be read now; try again"))
}
