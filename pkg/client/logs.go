package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// LogRecord is one line of a function instance's output, or one of the
// runtime's markers such as "FC Invoke Start RequestId: <id>".
type LogRecord struct {
	Time       time.Time `json:"time"`
	Function   string    `json:"function"`       // "service/function"
	Node       string    `json:"node,omitempty"` // the node whose instance wrote it
	InstanceID string    `json:"instanceId"`
	RequestID  string    `json:"requestId,omitempty"` // the invocation the line belongs to, when known
	Message    string    `json:"message"`             // one line, without the trailing newline
}

// LogsQuery selects the records Logs returns. The zero value asks for
// every record the server keeps for the function.
type LogsQuery struct {
	// Qualifier is a version or alias; empty means LATEST.
	Qualifier string
	// RequestID and InstanceID keep only that invocation's or instance's
	// records.
	RequestID, InstanceID string
	// Tail keeps only the last Tail records; 0 keeps all.
	Tail int
	// Since keeps only records at or after it.
	Since time.Time
	// Follow keeps the stream open after the kept records, delivering new
	// ones as they are written, until ctx ends or the stream is closed.
	Follow bool
}

func (q LogsQuery) values() url.Values {
	v := url.Values{}
	if q.RequestID != "" {
		v.Set("requestId", q.RequestID)
	}
	if q.InstanceID != "" {
		v.Set("instanceId", q.InstanceID)
	}
	if q.Tail > 0 {
		v.Set("tail", strconv.Itoa(q.Tail))
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if q.Follow {
		v.Set("follow", "true")
	}
	return v
}

// LogStream reads the records of a Logs call. It is not safe for
// concurrent use, except that Close may be called while Next waits.
type LogStream struct {
	body io.ReadCloser
	dec  *json.Decoder
}

// Logs opens a function's recent instance logs (GET
// /services/{service}[.{qualifier}]/functions/{function}/logs, an openfc
// extension to the FC API). API errors (an unknown function, a bad query)
// are returned as *Error. The caller must Close the stream. A following
// stream lasts until ctx ends, Close is called or the server ends it, so
// do not use an http.Client with a Timeout for it.
func (c *Client) Logs(ctx context.Context, service, function string, q LogsQuery) (*LogStream, error) {
	path := apiPath("services", qualified(service, q.Qualifier), "functions", function, "logs")
	req, err := c.newRequest(ctx, http.MethodGet, path, q.values(), nil, "", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fc: logs of %s/%s: %w", qualified(service, q.Qualifier), function, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, parseError(resp)
	}
	return &LogStream{body: resp.Body, dec: json.NewDecoder(resp.Body)}, nil
}

// Next returns the next record. It returns io.EOF when the server ended
// the stream cleanly; with Follow it waits for the next record.
func (s *LogStream) Next() (LogRecord, error) {
	var r LogRecord
	if err := s.dec.Decode(&r); err != nil {
		if errors.Is(err, io.EOF) {
			return r, io.EOF
		}
		return r, fmt.Errorf("fc: reading logs: %w", err)
	}
	return r, nil
}

// Close ends the stream and releases its connection.
func (s *LogStream) Close() error { return s.body.Close() }
