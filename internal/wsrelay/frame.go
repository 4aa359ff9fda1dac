package wsrelay

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode/utf8"
)

// Opcodes (RFC 6455 §5.2). Opcodes 3–7 and 0xB–0xF are reserved: no
// extension in use defines them, and the relay could not tell where a
// message made of them ends, so they are a protocol error.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// Close codes the relay itself uses (RFC 6455 §7.4.1).
const (
	codeGoingAway     = 1001
	codeProtocolError = 1002
	codeNoStatus      = 1005 // never sent in a frame: "no code"
	codeTooBig        = 1009
)

const (
	// maxHeaderLen is the longest frame header: 2 bytes, an 8-byte
	// length and a 4-byte masking key.
	maxHeaderLen = 14
	// maxControlPayload bounds a control frame's payload (§5.5).
	maxControlPayload = 125
	// maxReason is what is left of a close frame's payload after the code.
	maxReason = maxControlPayload - 2
)

// errProtocol marks a violation of RFC 6455's framing by a peer, as
// opposed to an I/O error: it is answered with close 1002.
var errProtocol = errors.New("websocket protocol error")

// header is a frame header as it came on the wire. The relay parses it
// only to know where the frame ends and what it counts for; the bytes it
// forwards are the raw ones, never a re-encoding.
type header struct {
	fin    bool
	rsv    byte // RSV1–3, in place (0x70): extensions' bits, passed on untouched
	opcode byte
	masked bool
	key    [4]byte
	length int64
}

func (h header) control() bool { return h.opcode&0x8 != 0 }

// readHeader reads one frame header from r into raw and parses it; raw[:n]
// are its bytes as they came. At a frame boundary a connection that ends
// gives io.EOF; one that ends inside a header, io.ErrUnexpectedEOF.
func readHeader(r io.Reader, raw *[maxHeaderLen]byte) (h header, n int, err error) {
	if _, err := io.ReadFull(r, raw[:2]); err != nil {
		return header{}, 0, err
	}
	b0, b1 := raw[0], raw[1]
	h = header{
		fin:    b0&0x80 != 0,
		rsv:    b0 & 0x70,
		opcode: b0 & 0x0f,
		masked: b1&0x80 != 0,
	}
	n = 2
	switch l := b1 & 0x7f; l {
	case 126:
		if _, err := io.ReadFull(r, raw[n:n+2]); err != nil {
			return header{}, 0, unexpected(err)
		}
		h.length = int64(binary.BigEndian.Uint16(raw[n:]))
		n += 2
	case 127:
		if _, err := io.ReadFull(r, raw[n:n+8]); err != nil {
			return header{}, 0, unexpected(err)
		}
		l := binary.BigEndian.Uint64(raw[n:])
		if l > math.MaxInt64 {
			return header{}, 0, fmt.Errorf("%w: payload length has its most significant bit set", errProtocol)
		}
		h.length = int64(l)
		n += 8
	default:
		h.length = int64(l)
	}
	if h.masked {
		if _, err := io.ReadFull(r, raw[n:n+4]); err != nil {
			return header{}, 0, unexpected(err)
		}
		copy(h.key[:], raw[n:n+4])
		n += 4
	}
	return h, n, nil
}

// unexpected turns an EOF inside a header into io.ErrUnexpectedEOF: the
// connection did not end at a frame boundary.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// check applies RFC 6455's rules that a header alone can break. fromClient
// says which way the frame travels (client frames must be masked, the
// server's must not, §5.1); inMessage, whether a fragmented data message
// is open (§5.4).
func (h header) check(fromClient, inMessage bool) error {
	switch {
	case fromClient && !h.masked:
		return fmt.Errorf("%w: unmasked frame from the client", errProtocol)
	case !fromClient && h.masked:
		return fmt.Errorf("%w: masked frame from the server", errProtocol)
	}
	switch h.opcode {
	case opContinuation:
		if !inMessage {
			return fmt.Errorf("%w: continuation frame outside a message", errProtocol)
		}
	case opText, opBinary:
		if inMessage {
			return fmt.Errorf("%w: new data message inside a fragmented one", errProtocol)
		}
	case opClose, opPing, opPong:
		if !h.fin {
			return fmt.Errorf("%w: fragmented control frame", errProtocol)
		}
		if h.length > maxControlPayload {
			return fmt.Errorf("%w: control frame of %d bytes (at most %d)", errProtocol, h.length, maxControlPayload)
		}
	default:
		return fmt.Errorf("%w: reserved opcode %#x", errProtocol, h.opcode)
	}
	return nil
}

// appendHeader appends h encoded with the shortest length form.
func appendHeader(b []byte, h header) []byte {
	b0 := h.rsv&0x70 | h.opcode&0x0f
	if h.fin {
		b0 |= 0x80
	}
	var m byte
	if h.masked {
		m = 0x80
	}
	switch {
	case h.length < 126:
		b = append(b, b0, m|byte(h.length))
	case h.length <= math.MaxUint16:
		b = append(b, b0, m|126)
		b = binary.BigEndian.AppendUint16(b, uint16(h.length))
	default:
		b = append(b, b0, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(h.length))
	}
	if h.masked {
		b = append(b, h.key[:]...)
	}
	return b
}

// maskBytes XORs b with key (§5.3); pos is b's offset in the payload.
// Masking and unmasking are the same operation.
func maskBytes(b []byte, key [4]byte, pos int) {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
}

// closeFrame builds a close frame of the relay's own. Frames to the
// instance are masked with a fresh random key, since there the relay
// speaks as a client (§5.3); frames to the client are not.
func closeFrame(code uint16, reason string, masked bool) []byte {
	reason = truncateReason(reason)
	payload := make([]byte, 2, 2+len(reason))
	binary.BigEndian.PutUint16(payload, code)
	payload = append(payload, reason...)
	h := header{fin: true, opcode: opClose, masked: masked, length: int64(len(payload))}
	if masked {
		// crypto/rand.Read never fails (it crashes the program instead).
		_, _ = rand.Read(h.key[:])
		maskBytes(payload, h.key, 0)
	}
	return append(appendHeader(make([]byte, 0, maxHeaderLen+len(payload)), h), payload...)
}

// parseClose reads the code and reason of a close frame's payload, which
// it leaves as it is (a masked payload is unmasked in a copy).
func parseClose(h header, payload []byte) (code uint16, reason string, err error) {
	switch len(payload) {
	case 0:
		return codeNoStatus, "", nil
	case 1:
		return 0, "", fmt.Errorf("%w: close frame with a 1-byte payload", errProtocol)
	}
	var buf [maxControlPayload]byte
	p := buf[:copy(buf[:], payload)]
	if h.masked {
		maskBytes(p, h.key, 0)
	}
	return binary.BigEndian.Uint16(p), string(p[2:]), nil
}

// truncateReason cuts a close reason to what fits in a close frame,
// between two UTF-8 characters.
func truncateReason(s string) string {
	if len(s) <= maxReason {
		return s
	}
	i := maxReason
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
