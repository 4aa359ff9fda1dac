package instance

import (
	"io"
	"sync"
	"time"
)

// tailBuffer keeps the last max bytes written to it and forwards every
// write, prefixed per line with a timestamp and the instance id, to out.
type tailBuffer struct {
	mu   sync.Mutex
	buf  []byte
	max  int
	out  io.Writer
	id   string
	line bool // at start of line
}

func newTailBuffer(max int, id string, out io.Writer) *tailBuffer {
	return &tailBuffer{max: max, out: out, id: id, line: true}
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	if t.out != nil {
		var b []byte
		for _, c := range p {
			if t.line {
				b = append(b, time.Now().UTC().Format("2006-01-02T15:04:05.000Z")...)
				b = append(b, ' ')
				b = append(b, t.id...)
				b = append(b, ' ')
				t.line = false
			}
			b = append(b, c)
			if c == '\n' {
				t.line = true
			}
		}
		_, _ = t.out.Write(b)
	}
	return len(p), nil
}

// String returns the kept tail.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
