package runtimes

import (
	"sync"
	"time"

	"github.com/openfc/openfc/internal/runtimes/launch"
)

// checkTTL is how long a launcher's Check result is reused: the check
// runs the interpreter (tens of milliseconds), every cold start asks, and
// an interpreter installed or removed meanwhile is noticed within it.
const checkTTL = time.Minute

// checked is a launcher whose Check results are remembered per runtime
// name for checkTTL.
type checked struct {
	launch.Runtime
	now func() time.Time

	mu      sync.Mutex
	results map[string]checkResult
}

type checkResult struct {
	warning string
	err     error
	at      time.Time
}

func newChecked(rt launch.Runtime, now func() time.Time) *checked {
	return &checked{Runtime: rt, now: now, results: map[string]checkResult{}}
}

// Check returns the launcher's answer for rt, asking it at most once per
// checkTTL.
func (c *checked) Check(rt string) (string, error) {
	now := c.now()
	c.mu.Lock()
	r, ok := c.results[rt]
	c.mu.Unlock()
	if ok && now.Sub(r.at) < checkTTL {
		return r.warning, r.err
	}
	w, err := c.Runtime.Check(rt)
	c.mu.Lock()
	c.results[rt] = checkResult{warning: w, err: err, at: now}
	c.mu.Unlock()
	return w, err
}
