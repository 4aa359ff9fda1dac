package gateway

import (
	"strings"
	"sync"

	"github.com/openfc/openfc/internal/fc"
)

// headerCache holds FC's function headers (fc.FunctionHeaders) rendered
// as header lines, per function: functions are immutable values from the
// catalog (a changed function is a new pointer), so a warm request writes
// them as one string. A published version's function is a pointer of its
// own (the version's snapshot, fc.Function.VersionID set), so the key is
// per function version and x-fc-version-id in the lines is that version.
type headerCache struct {
	region, account string

	mu    sync.RWMutex
	byFn  map[*fc.Function]*fnHeaders
	limit int
}

type fnHeaders struct {
	// lines are fc.FunctionHeaders as "Name: value\r\n" lines.
	lines string
	// qualified is "service/function", the access log's and metrics'
	// name.
	qualified string
}

func newHeaderCache(region, account string) *headerCache {
	return &headerCache{region: region, account: account, byFn: map[*fc.Function]*fnHeaders{}, limit: 4096}
}

// of returns fn's rendered headers, computing them on first use. The
// cache starts over when it holds limit functions (old versions pile up).
func (c *headerCache) of(fn *fc.Function) *fnHeaders {
	c.mu.RLock()
	fh := c.byFn[fn]
	c.mu.RUnlock()
	if fh != nil {
		return fh
	}
	var b strings.Builder
	for _, f := range fc.FunctionHeaders(fn, c.region, c.account) {
		b.WriteString(f.Name)
		b.WriteString(": ")
		b.WriteString(oneLine(f.Value))
		b.WriteString("\r\n")
	}
	fh = &fnHeaders{lines: b.String(), qualified: fn.ServiceName + "/" + fn.FunctionName}
	c.mu.Lock()
	if len(c.byFn) >= c.limit {
		c.byFn = map[*fc.Function]*fnHeaders{}
	}
	c.byFn[fn] = fh
	c.mu.Unlock()
	return fh
}

// oneLine turns CR and LF (which validation does not let into a
// function's fields) into spaces, so that a value cannot end its line.
func oneLine(v string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, v)
}
