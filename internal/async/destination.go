package async

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

// This file is the destinations: where the record of a finished
// invocation goes (another function, invoked asynchronously with the
// record as its event, or an http(s) URL it is POSTed to).

// Conditions of a failure record (requestContext.condition).
const (
	conditionRetriesExhausted = "RetriesExhausted"
	conditionExpired          = "EventAgeExceeded"
)

// Destination status of a task (destinationStatus).
const (
	destinationSucceeded = "Succeeded"
	destinationFailed    = "Failed"
)

const (
	urlDestinationTries = 3
	urlDestinationPause = time.Second
)

// record is what a destination receives (FC's shape).
type record struct {
	Timestamp      int64 `json:"timestamp"`
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

// functionArn is the ARN of the function that ran j.
func (s *Service) functionArn(j *job) string {
	return fmt.Sprintf("acs:fc:%s:%s:services/%s.%s/functions/%s", s.o.Region, s.o.AccountID, j.req.Service, j.q, j.req.Function)
}

func (s *Service) newRecord(j *job, out *fc.AsyncOutcome, status, condition string) []byte {
	var r record
	r.Timestamp = time.Now().UnixMilli()
	r.RequestContext.RequestID = j.req.RequestID
	r.RequestContext.FunctionArn = s.functionArn(j)
	r.RequestContext.Condition = condition
	r.RequestContext.ApproximateInvokeCount = j.retried
	if out != nil {
		r.RequestContext.ApproximateInvokeCount++
		r.ResponseContext.StatusCode = out.Status
		r.ResponsePayload = string(out.Body)
		if status != fc.TaskSucceeded {
			if _, detail := classify(out, j.req.Event); detail != "" {
				r.ResponseContext.FunctionError = detail
			}
		}
		if out.Err != nil {
			r.ResponseContext.StatusCode = out.Err.Status()
		}
	}
	r.RequestPayload = string(j.req.Body)
	data, _ := json.Marshal(&r) // plain strings and numbers: cannot fail
	return data
}

// notify sends the record of j's end to the destination its config
// names for status (success: onSuccess; failure or expiry: onFailure) and
// returns the task's destination status ("" when there is none).
func (s *Service) notify(ctx context.Context, j *job, out *fc.AsyncOutcome, status, condition string) string {
	dc := (*fc.DestinationConfig)(nil)
	if j.cfg != nil {
		dc = j.cfg.DestinationConfig
	}
	if dc == nil {
		return ""
	}
	var d *fc.Destination
	switch status {
	case fc.TaskSucceeded:
		d = dc.OnSuccess
	case fc.TaskFailed, fc.TaskExpired:
		d = dc.OnFailure
	}
	if d == nil || d.Destination == "" {
		return ""
	}
	if err := s.deliver(ctx, d.Destination, s.newRecord(j, out, status, condition)); err != nil {
		s.log.Warn("async: destination", "request_id", j.req.RequestID, "destination", d.Destination, "err", err)
		return destinationFailed
	}
	return destinationSucceeded
}

// deliver sends rec to dest: a function gets it as the event of an async
// invocation (queued like any other); a URL gets it POSTed, tried a few
// times.
func (s *Service) deliver(ctx context.Context, dest string, rec []byte) error {
	t, err := fc.ParseDestination(dest)
	if err != nil {
		return err
	}
	if t.URL == "" {
		now := time.Now()
		return s.Enqueue(ctx, &fc.AsyncRequest{
			RequestID: fc.NewRequestID(),
			Service:   t.Service, Qualifier: t.Qualifier, Function: t.Function,
			Event:  true,
			Method: http.MethodPost, Path: "/",
			Header:   http.Header{"Content-Type": {"application/json"}},
			Body:     rec,
			Accepted: now, NotBefore: now,
		})
	}
	for try := 1; ; try++ {
		err = s.post(ctx, t.URL, rec)
		if err == nil || try == urlDestinationTries {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(urlDestinationPause):
		}
	}
}

func (s *Service) post(ctx context.Context, u string, rec []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(rec))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.o.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("POST %s: status %d", u, resp.StatusCode)
	}
	return nil
}
