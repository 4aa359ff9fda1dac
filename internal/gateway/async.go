package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/route"
)

// This file is asynchronous invocation's two halves in the chain. At
// accept (enqueue), an async call that passed every check, its
// authentication and its body limit is persisted in the queue and
// answered 202: no instance is acquired. Later a queue worker runs it
// (RunAsync, frontdoor.go) through the same chain, from the persisted
// request, without its authentication or this stage, with the async
// acquire class; asyncWriter turns the outcome into the attempt's value.

// enqueue is the accept stage: the call, read whole, goes to the queue
// and the outcome is 202 with the request id (and the task id of a
// stateful invocation).
func (g *Gateway) enqueue(ctx context.Context, c *call) {
	params, err := fc.ParseAsyncParams(c.r.Header)
	if err != nil {
		c.fail(err)
		return
	}
	body, err := c.readBody() // a body over the limit is refused as such
	if err != nil {
		c.fail(err)
		return
	}
	if g.opts.Queue == nil {
		c.fail(fc.Errorf(fc.CodeServiceUnavailable, "asynchronous invocation is not available"))
		return
	}
	req := c.asyncRequest(body, params)
	if err := g.opts.Queue.Enqueue(ctx, req); err != nil {
		c.fail(err)
		return
	}
	h := http.Header{fc.HeaderRequestID: {c.requestID}}
	if req.TaskID != "" {
		h[fc.HeaderStatefulAsyncInvocationID] = []string{req.TaskID}
	}
	c.out = Outcome{Status: http.StatusAccepted, Header: h, ContentLength: 0}
}

// asyncRequest is the call as persisted: the request as the instance is
// to see it, without openfc's own credentials.
func (c *call) asyncRequest(body []byte, p fc.AsyncParams) *fc.AsyncRequest {
	h := c.r.Header.Clone()
	if c.stripAuth {
		delete(h, "Authorization")
	}
	now := time.Now()
	req := &fc.AsyncRequest{
		RequestID: c.requestID, TaskID: p.TaskID,
		Service: c.fn.ServiceName, Qualifier: c.qualifier, Function: c.fn.FunctionName, Event: c.event,
		Method: c.r.Method, Path: c.path, RawQuery: c.rawQuery, BasePath: c.basePath, Host: c.r.Host,
		Header: h, Body: body, RemoteAddr: c.r.RemoteAddr, TLS: c.r.TLS != nil,
		KeyID: c.keyID, Accepted: now, NotBefore: now.Add(p.Delay),
	}
	if c.trigger != nil {
		req.Trigger = c.trigger.TriggerName
	}
	if c.viaDomain {
		req.Domain = route.HostName(c.r.Host)
	}
	return req
}

// queuedCall builds the call that runs an accepted request: its
// http.Request is synthesized from what was persisted.
func (g *Gateway) queuedCall(ctx context.Context, req *fc.AsyncRequest) *call {
	u := &url.URL{Path: req.Path, RawQuery: req.RawQuery}
	if p, err := url.PathUnescape(req.Path); err == nil {
		u.Path, u.RawPath = p, req.Path
	}
	r := (&http.Request{
		Method: req.Method, URL: u, RequestURI: u.RequestURI(), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: req.Header.Clone(), Host: req.Host, RemoteAddr: req.RemoteAddr, ContentLength: int64(len(req.Body)),
		Body: http.NoBody,
	}).WithContext(ctx)
	if r.Header == nil {
		r.Header = http.Header{}
	}
	if req.TLS {
		r.TLS = &tls.ConnectionState{} // the instance sees X-Forwarded-Proto: https
	}
	c := g.newCall(r, req.RequestID)
	c.queued, c.keyID, c.logTail = req, req.KeyID, false
	if len(req.Body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(req.Body))
		c.body = &limitedBody{rc: r.Body, limit: noBodyLimit}
	}
	return c
}

// resolveQueued finds the function (and HTTP trigger) of an accepted
// request by its names: it may have changed, or gone, since the accept.
func (g *Gateway) resolveQueued(c *call) error {
	req := c.queued
	c.qualifier, c.viaDomain = req.Qualifier, req.Domain != ""
	if c.qualifier == "" {
		c.qualifier = fc.LATEST
	}
	fn, trig, err := g.lookupFunction(req.Service, c.qualifier, req.Function)
	if err != nil {
		return err
	}
	c.fn = fn
	if req.Event {
		c.event = true
		c.path, c.controlPath, c.stripAuth = fc.ControlInvoke, fc.ControlInvoke, true
		return nil
	}
	if trig == nil || trig.TriggerConfig == nil {
		return fc.Errorf(fc.CodeTriggerNotFound, "function '%s' of service '%s' has no HTTP trigger", req.Function, req.Service)
	}
	c.trigger, c.controlPath = trig, fc.ControlHTTPInvoke
	c.path, c.rawQuery, c.basePath = req.Path, req.RawQuery, req.BasePath
	return nil
}

// asyncWriter delivers a run's outcome as an fc.AsyncOutcome: the
// function's answer with its body kept up to fc.MaxTaskReturnPayload
// (the rest read and dropped), or the FC error.
type asyncWriter struct {
	out fc.AsyncOutcome
}

func (w *asyncWriter) deliver(ctx context.Context, c *call) delivery {
	o := &c.out
	w.out.InstanceID, w.out.FCStatus = o.InstanceID, o.FCStatus
	if o.Err != nil {
		w.out.Err = o.Err
		return delivery{status: o.Err.Status(), errType: string(o.Err.Code.Type())}
	}
	w.out.Status, w.out.Header = o.Status, o.Header
	if o.Body == nil {
		return delivery{status: o.Status}
	}
	defer o.Body.Close()
	body, err := io.ReadAll(io.LimitReader(o.Body, fc.MaxTaskReturnPayload))
	if err == nil {
		_, err = io.Copy(io.Discard, o.Body)
	}
	w.out.Body = body
	if err != nil {
		d := delivery{status: o.Status, aborted: true, broken: brokenAnswer(ctx, c, err)}
		msg := d.broken
		if msg == "" {
			msg = "the invocation was stopped while the function answered"
		}
		w.out.Err = fc.Errorf(fc.CodeBadResponse, "%s", msg)
		if c.timedOut(ctx) {
			w.out.Err = fc.Errorf(fc.CodeFunctionTimeout, "%s", msg)
		}
		return d
	}
	return delivery{status: o.Status}
}
