package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openfc/openfc/internal/wsrelay"
)

// This file holds upgraded connections (101): a WebSocket relayed frame
// by frame under FC's rules, any other protocol as bytes.

// closeGoingAway is WebSocket's close code 1001: the connection ends
// because the server goes away (its timeout, a shutdown).
const closeGoingAway = 1001

// wsCloseGrace is how long after the function's timeout the instance's
// side of a WebSocket stays open: the relay closes it itself at the
// timeout, with a close frame each side reads, within twice its own
// grace (a frame in progress, then the closing handshake).
const wsCloseGrace = 3 * time.Second

// isUpgrade reports whether the client asks to switch protocols.
func isUpgrade(r *http.Request) bool { return len(r.Header["Upgrade"]) > 0 }

// tunnel completes an upgrade the instance accepted (101) and relays the
// connection until either side closes it or the function's timeout ends
// it. The instance slot is held for the tunnel's life.
func (w *httpWriter) tunnel(c *call) delivery {
	up := c.out.Body.(io.ReadWriteCloser)
	client, brw, err := http.NewResponseController(w.rw).Hijack()
	if err != nil {
		_ = up.Close()
		c.fail(&errBadResponse{msg: "switching protocols: " + err.Error()})
		return w.writeError(c, c.out.Err)
	}
	defer client.Close()
	h := c.out.Header
	if c.origin != "" {
		addCORSDefaults(h, c.origin)
	}
	_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	_ = h.Write(brw)
	_, _ = brw.WriteString("\r\n")
	if err := brw.Flush(); err != nil {
		_ = up.Close()
		return delivery{status: http.StatusSwitchingProtocols, aborted: true}
	}
	if isWebSocket(h) {
		return c.relayWebSocket(hijacked{br: brw.Reader, Conn: client}, up)
	}
	_ = client.SetDeadline(c.deadline) // the instance side has it already
	var wg sync.WaitGroup
	wg.Go(func() { // client → instance
		_, _ = io.Copy(up, brw.Reader)
		_ = up.Close()
	})
	_, _ = io.Copy(client, up)
	_ = client.Close()
	_ = up.Close()
	wg.Wait()
	return delivery{status: http.StatusSwitchingProtocols}
}

// relayWebSocket relays a WebSocket frame by frame under FC's rules: a
// message is at most the stream message limit in either direction (else
// both sides get close 1009), the connection lives at most the
// function's timeout (then 1001, the reason told). A shutdown closes it
// too (streams).
func (c *call) relayWebSocket(client, instance wsrelay.Side) delivery {
	r := wsrelay.New(client, instance, wsrelay.Options{
		MaxMessage:     c.g.limits.MaxStreamMessage,
		Deadline:       c.deadline,
		DeadlineCode:   closeGoingAway,
		DeadlineReason: "the function's timeout of " + strconv.Itoa(c.fn.Timeout) + "s elapsed",
	})
	if c.stream != nil {
		c.g.streams.relaying(c.stream, r)
	}
	res := r.Run()
	d := delivery{status: http.StatusSwitchingProtocols}
	if res.Ended == wsrelay.EndedTooBig && res.Dir == "instance" {
		d.broken = "the function sent a WebSocket message over the limit: " + res.Reason
	}
	return d
}

// isWebSocket reports whether a 101 switched to WebSocket.
func isWebSocket(h http.Header) bool {
	for _, v := range h["Upgrade"] {
		if strings.EqualFold(v, "websocket") {
			return true
		}
	}
	return false
}

// hijacked is the client's connection after the handshake: its reads
// begin with what net/http had buffered.
type hijacked struct {
	br *bufio.Reader
	net.Conn
}

func (h hijacked) Read(p []byte) (int, error) { return h.br.Read(p) }
