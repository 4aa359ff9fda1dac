package wsrelay

import (
	"errors"
	"io"
	"math"
)

// pump relays the frames one side sends to the other, until that side's
// connection ends, and then tells Run.
func (r *Relay) pump(from who) {
	p := pump{
		r:    r,
		from: from,
		src:  &r.peers[from],
		dst:  &r.peers[from.other()],
		buf:  make([]byte, copyBufSize),
	}
	err := p.run()
	r.events <- event{kind: evEnded, from: from, err: err}
}

// pump is one direction of the relay. It reads frame headers to know
// where frames and messages end and streams each frame's bytes, as they
// came, through buf.
type pump struct {
	r        *Relay
	from     who
	src, dst *peer
	buf      []byte
	raw      [maxHeaderLen]byte

	inMessage bool  // a fragmented data message is open
	msgLen    int64 // payload bytes of the current data message so far
	over      bool  // a message over MaxMessage was reported
}

// run relays frames until src's connection ends, and returns why.
func (p *pump) run() error {
	for {
		h, n, err := readHeader(p.src.br, &p.raw)
		if err == nil {
			err = h.check(p.from == client, p.inMessage)
		}
		if err == nil {
			if h.control() {
				err = p.control(h, n)
			} else {
				err = p.data(h, n)
			}
		}
		if errors.Is(err, errProtocol) {
			return p.protocolError(err)
		}
		if err != nil {
			return err
		}
	}
}

// protocolError reports a frame that breaks RFC 6455 and then discards
// what src sends until its connection ends: past a bad frame the stream
// cannot be parsed, so src's close frame would not be recognised anyway.
func (p *pump) protocolError(err error) error {
	p.r.stopForwarding()
	p.r.events <- event{kind: evProtocol, from: p.from, err: err}
	if _, err := io.Copy(io.Discard, p.src.br); err != nil {
		return err
	}
	return io.EOF
}

// data relays a data frame, unless it would take its message over
// MaxMessage: then the relay closes with 1009 and the frame is dropped.
func (p *pump) data(h header, n int) error {
	if h.opcode != opContinuation {
		p.msgLen = 0
	}
	total := p.msgLen + h.length
	if h.length > math.MaxInt64-p.msgLen {
		total = math.MaxInt64
	}
	drop := false
	if limit := p.r.o.MaxMessage; limit > 0 && total > limit {
		drop = true
		if !p.over {
			p.over = true
			// Stop forwarding now, not when Run gets the event: the next
			// frame must not slip through.
			p.r.stopForwarding()
			p.r.events <- event{kind: evTooBig, from: p.from, size: total}
		}
	}
	forwarded, err := p.stream(h, n, drop)
	p.msgLen, p.inMessage = total, !h.fin
	if h.fin && forwarded {
		p.src.messages++
	}
	return err
}

// stream copies a data frame, header and payload, from src to dst
// through buf, holding dst's write token for the whole frame. A frame it
// must not forward (drop, or the relay is closing) is read and discarded
// without the token, so that the relay's close frame need not wait for
// it. It reports whether the whole frame went to dst.
func (p *pump) stream(h header, n int, drop bool) (bool, error) {
	fwd := false
	if !drop {
		p.dst.wtok <- struct{}{}
		if fwd = p.open(); !fwd {
			<-p.dst.wtok
		}
	}
	defer func() {
		if fwd {
			<-p.dst.wtok
		}
	}()
	head := copy(p.buf, p.raw[:n])
	left := h.length
	for {
		m := 0
		var rerr error
		if left > 0 {
			// Read, not ReadFull: a frame that comes slowly goes on as
			// it comes.
			m, rerr = p.src.br.Read(p.buf[head : head+int(min(left, int64(len(p.buf)-head)))])
			left -= int64(m)
		}
		if fwd && head+m > 0 {
			if _, err := p.dst.s.Write(p.buf[:head+m]); err != nil {
				// dst is lost; the rest of the frame is read and dropped.
				fwd = false
				p.r.setFlags(func() { p.dst.broken = true })
				<-p.dst.wtok
			} else {
				p.src.bytes += int64(m)
			}
		}
		head = 0
		if left == 0 {
			return fwd, nil
		}
		if rerr != nil {
			return false, unexpected(rerr)
		}
	}
}

// control relays a ping, pong or close frame. Control frames are small
// (≤125 bytes), so each is read whole first: the relay must see a close
// frame's code. A close frame marks src as closed: nothing it sends after
// is forwarded.
func (p *pump) control(h header, n int) error {
	frame := p.buf[:n+int(h.length)]
	copy(frame, p.raw[:n])
	if _, err := io.ReadFull(p.src.br, frame[n:]); err != nil {
		return unexpected(err)
	}
	isClose := h.opcode == opClose
	var code uint16
	var reason string
	if isClose {
		var err error
		if code, reason, err = parseClose(h, frame[n:]); err != nil {
			return err
		}
	}
	p.dst.wtok <- struct{}{}
	fwd := p.open()
	if isClose {
		p.r.setFlags(func() { p.src.closeRecv = true })
	}
	if fwd {
		_, err := p.dst.s.Write(frame)
		p.r.setFlags(func() {
			switch {
			case err != nil:
				p.dst.broken = true
			case isClose:
				// Set once the frame is out: a side is closed as soon
				// as its handshake is complete, not before this frame.
				p.dst.closeSent = true
			}
		})
	}
	<-p.dst.wtok
	if isClose {
		p.r.events <- event{kind: evClose, from: p.from, code: code, reason: reason}
	}
	return nil
}

// open reports whether a frame from src may go to dst: neither has
// closed, dst has not failed, and the relay is not closing.
func (p *pump) open() bool {
	p.r.mu.Lock()
	defer p.r.mu.Unlock()
	return !p.src.closeRecv && !p.dst.noMore && !p.dst.closeSent && !p.dst.broken
}
