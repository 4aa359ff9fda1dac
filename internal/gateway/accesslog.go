package gateway

import (
	"context"
	"log/slog"
	"strings"
	"time"
)

// logAccess writes the call's access log line and records its metrics.
// A call failed when the platform or the function answered with an
// error, the function reported a non-2xx x-fc-status, or its answer
// broke off.
func (g *Gateway) logAccess(ctx context.Context, c *call, d delivery) {
	fn := ""
	if c.fn != nil {
		fn = g.headers.of(c.fn).qualified
	}
	fcStatus := c.out.FCStatus
	failed := d.errType != "" || d.broken != "" || fcStatus != "" && !strings.HasPrefix(fcStatus, "2")
	g.opts.Metrics.end(c.start, fn, d.status, d.errType, result(failed, d.aborted))
	if !g.access.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := make([]slog.Attr, 0, 14) // room for every optional one: one allocation
	attrs = append(attrs,
		slog.String("request_id", c.requestID), slog.String("function", fn), slog.String("method", c.r.Method),
		slog.String("path", c.r.URL.Path), slog.Int("status", d.status), slog.String("error_type", d.errType),
		slog.Duration("duration", time.Since(c.start)),
	)
	if fcStatus != "" {
		attrs = append(attrs, slog.String("fc_status", fcStatus))
	}
	if c.out.InstanceID != "" {
		attrs = append(attrs, slog.String("instance", c.out.InstanceID))
	}
	if c.forwardedTo != "" {
		attrs = append(attrs, slog.String("forwarded_to", c.forwardedTo))
	}
	if c.keyID != "" {
		attrs = append(attrs, slog.String("key_id", c.keyID))
	}
	if failed {
		attrs = append(attrs, slog.Bool("failed", true))
	}
	if d.aborted {
		attrs = append(attrs, slog.Bool("aborted", true))
		if d.broken != "" {
			attrs = append(attrs, slog.String("broken", d.broken))
		}
	}
	g.access.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
}

// result is the metrics' result label: success, failed, or aborted (the
// answer's body did not arrive whole).
func result(failed, aborted bool) string {
	switch {
	case aborted:
		return "aborted"
	case failed:
		return "failed"
	}
	return "success"
}
