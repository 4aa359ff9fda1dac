package api

import (
	"io"

	"github.com/openfc/openfc/internal/fc"
)

// tooLarge answers a body over the request cap (maxBody); head is what was
// read of it, one byte past the cap, and rest what is left. A function
// create or update that big carries a code zip over the code limit, and
// the error says so in the units the user sent: the zip's bytes, not the
// size of their base64 in the body, with the limit and its knob. To give
// the zip's whole size the body is read on (and dropped) for up to as
// much again; past that the error gives what was counted, "more than".
// Reading on also lets a client that is still sending the body receive
// the answer instead of a reset connection. Any other body is
// EntityTooLarge.
func (a *API) tooLarge(head []byte, rest io.Reader, limit int64) error {
	var c zipFileCounter
	_, _ = c.Write(head)
	_, _ = io.Copy(&c, io.LimitReader(rest, limit))
	size, complete := c.size()
	if c.found && (!complete || size > a.lim.MaxZipBytes) {
		return a.lim.ZipTooLarge(size, !complete)
	}
	return fc.Errorf(fc.CodeEntityTooLarge, "payload size exceeds maximum allowed size (%d bytes)", limit)
}

// zipFileKey is the JSON key whose string value is a code zip in base64.
const zipFileKey = `"zipFile"`

// zipFileCounter is an io.Writer that finds the string value of the
// "zipFile" key in a JSON stream and counts the bytes its base64 decodes
// to, without keeping any of it. It follows only as much JSON as that
// needs: a "zipFile" inside some other string could fool it, which at
// worst misstates a size in an error message.
type zipFileCounter struct {
	state   counterState
	matched int   // bytes of zipFileKey matched (stKey)
	esc     int   // in a value: 0, 1 after '\', 2..5 inside \uXXXX
	chars   int64 // base64 characters of the current value, padding aside
	best    int64 // the most characters of any value seen
	found   bool  // a value started
	closed  bool  // the value with the most characters ended
}

type counterState int

const (
	stKey   counterState = iota // looking for zipFileKey
	stColon                     // after the key, before ':'
	stOpen                      // after ':', before the value's '"'
	stValue                     // inside the value
)

// Write consumes p; it never fails.
func (c *zipFileCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		c.step(b)
	}
	return len(p), nil
}

func (c *zipFileCounter) step(b byte) {
	switch c.state {
	case stKey:
		c.matchKey(b)
	case stColon, stOpen:
		switch {
		case b == ' ' || b == '\t' || b == '\n' || b == '\r':
		case c.state == stColon && b == ':':
			c.state = stOpen
		case c.state == stOpen && b == '"':
			c.state, c.chars, c.esc, c.found = stValue, 0, 0, true
		default: // not the key after all
			c.state, c.matched = stKey, 0
			c.matchKey(b)
		}
	case stValue:
		c.valueByte(b)
	}
}

// matchKey advances the match of zipFileKey by b.
func (c *zipFileCounter) matchKey(b byte) {
	switch {
	case b == zipFileKey[c.matched]:
		c.matched++
	case b == '"':
		c.matched = 1
	default:
		c.matched = 0
	}
	if c.matched == len(zipFileKey) {
		c.state, c.matched = stColon, 0
	}
}

// valueByte counts one byte of the value: base64's alphabet counts
// ('/' also when escaped as "\/"), padding and line breaks do not.
func (c *zipFileCounter) valueByte(b byte) {
	switch {
	case c.esc == 1:
		c.esc = 0
		switch b {
		case '/':
			c.count()
		case 'u':
			c.esc = 2
		}
	case c.esc > 1:
		if c.esc++; c.esc > 5 {
			c.esc = 0
		}
	case b == '\\':
		c.esc = 1
	case b == '"':
		if c.chars >= c.best {
			c.best, c.closed = c.chars, true
		}
		c.state = stKey
	case b >= 'A' && b <= 'Z', b >= 'a' && b <= 'z', b >= '0' && b <= '9', b == '+', b == '/':
		c.count()
	}
}

func (c *zipFileCounter) count() {
	c.chars++
	if c.chars > c.best {
		c.best, c.closed = c.chars, false
	}
}

// size returns the decoded size of the largest value, and whether that
// value ended (else it is a lower bound).
func (c *zipFileCounter) size() (int64, bool) {
	return c.best * 6 / 8, c.closed
}
