package daemon

import (
	"runtime/debug"
	"time"
)

// memTrimQuiet is how long after the last code upload the server hands
// free memory back to the OS. Deploying several functions sends their
// uploads a few milliseconds apart; one trim follows the whole deploy.
const memTrimQuiet = 500 * time.Millisecond

// memTrimmer returns the heap's free memory to the OS once code uploads
// have stopped for a moment. An upload allocates a few times the size of
// its zip (its base64, the zip, NATS's copies while storing it); left to
// itself, an idle server keeps those pages for minutes, since it does not
// allocate enough to reach its next garbage collection.
type memTrimmer struct {
	t     *time.Timer
	quiet time.Duration
}

// newMemTrimmer returns a stopped trimmer that runs trim (nil:
// debug.FreeOSMemory) quiet after its last poke.
func newMemTrimmer(quiet time.Duration, trim func()) *memTrimmer {
	if trim == nil {
		trim = debug.FreeOSMemory
	}
	t := time.AfterFunc(time.Hour, trim)
	t.Stop()
	return &memTrimmer{t: t, quiet: quiet}
}

// poke (re)starts the quiet period. Safe for concurrent use.
func (m *memTrimmer) poke() { m.t.Reset(m.quiet) }

// stop cancels a pending trim; a trim already running finishes on its own.
func (m *memTrimmer) stop() { m.t.Stop() }
