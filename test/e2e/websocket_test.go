package e2e

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsClose is how a WebSocket connection ended, as testdata/wsfn records it.
type wsClose struct {
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

// deployWS deploys testdata/wsfn as ws/fn (GET, timeout 3 s) and returns
// its WebSocket URL on the proxy form.
func deployWS(t *testing.T, s *server) string {
	t.Helper()
	code := goBootstrap(t, "./test/e2e/testdata/wsfn")
	s.deployEcho(echoOpts{service: "ws", name: "fn", code: code, command: "[./bootstrap]", methods: "[GET]", timeout: 3, concurrency: 10})
	return "ws" + strings.TrimPrefix(s.URL, "http") + "/2016-08-15/proxy/ws/fn/ws"
}

func wsDial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.Dial(ctxFor(t, 30*time.Second), url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	if resp.Header.Get("X-Fc-Request-Id") == "" {
		t.Errorf("the 101 has no X-Fc-Request-Id: %v", resp.Header)
	}
	c.SetReadLimit(64 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// wsCloses lists how the function's connections ended.
func (s *server) wsCloses(t *testing.T) []wsClose {
	t.Helper()
	resp, body := s.do("GET", "/2016-08-15/proxy/ws/fn/closes", nil, nil)
	var out []wsClose
	if resp.StatusCode != 200 || json.Unmarshal(body, &out) != nil {
		t.Fatalf("closes: %d %s", resp.StatusCode, body)
	}
	return out
}

// wsEnded reads until c ends and returns its close code and reason.
func wsEnded(t *testing.T, c *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	for {
		_, _, err := c.Read(ctxFor(t, 20*time.Second))
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("the connection ended without a close frame: %v", err)
		}
		return ce.Code, ce.Reason
	}
}

// TestWebSocket: messages both ways through openfc, FC's 6 MB limit on
// each message in either direction (close 1009 to both sides), the
// function's timeout ending the connection (1001, the reason told), and
// a client vanishing mid-stream freeing its instance slot.
func TestWebSocket(t *testing.T) {
	s := startServer(t, "")
	url := deployWS(t, s)
	ctx := ctxFor(t, 60*time.Second)

	c := wsDial(t, url)
	for _, msg := range []string{"hello", strings.Repeat("m", 200_000)} {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.Read(ctx); err != nil || string(got) != msg {
			t.Fatalf("echo of %d bytes: %d bytes, %v", len(msg), len(got), err)
		}
	}
	// 6 MB exactly passes both ways.
	if err := c.Write(ctx, websocket.MessageBinary, make([]byte, maxMessage)); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.Read(ctx); err != nil || len(got) != maxMessage {
		t.Fatalf("6 MB echo: %d bytes, %v", len(got), err)
	}
	// One byte more from the client: both sides get 1009.
	go c.Write(ctx, websocket.MessageBinary, make([]byte, maxMessage+1)) // fails once openfc closes
	if code, reason := wsEnded(t, c); code != websocket.StatusMessageTooBig || !strings.Contains(reason, "limit") {
		t.Errorf("client's message over 6 MB: close %d %q; want 1009", code, reason)
	}

	// One byte more from the function: 1009 as well.
	c2 := wsDial(t, url)
	if err := c2.Write(ctx, websocket.MessageText, []byte("big 6291457")); err != nil {
		t.Fatal(err)
	}
	if code, _ := wsEnded(t, c2); code != websocket.StatusMessageTooBig {
		t.Errorf("function's message over 6 MB: close %d; want 1009", code)
	}

	// An idle connection outlives nothing: at the function's timeout
	// (3 s) openfc closes it with 1001 and says why.
	c3 := wsDial(t, url)
	start := time.Now()
	code, reason := wsEnded(t, c3)
	took := time.Since(start)
	if code != websocket.StatusGoingAway || !strings.Contains(reason, "timeout") || took < 2*time.Second || took > 6*time.Second {
		t.Errorf("at the timeout: close %d %q after %v; want 1001 naming the timeout after about 3 s", code, reason, took)
	}
	waitFor(t, 5*time.Second, func() error {
		got := map[int]int{}
		for _, cl := range s.wsCloses(t) {
			got[cl.Code]++
		}
		// (The function that sent too much is cut while it writes: it
		// reads no close frame.)
		if got[1009] < 1 || got[1001] < 1 {
			return errors.New("the function saw closes " + strings.TrimSpace(string(mustJSON(s.wsCloses(t)))) + "; want 1009 (the client's message) and 1001")
		}
		return nil
	})

	// A client that vanishes mid-stream frees its slot.
	c4 := wsDial(t, url)
	if err := c4.Write(ctx, websocket.MessageText, []byte("stream 100")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c4.Read(ctx); err != nil {
		t.Fatal(err)
	}
	if n := inFlight(t, s, "ws/fn"); n != 1 {
		t.Errorf("while the WebSocket is open: %d in flight; want 1", n)
	}
	c4.CloseNow() // no close frame: the TCP connection just ends
	waitFor(t, 5*time.Second, func() error {
		if n := inFlight(t, s, "ws/fn"); n != 0 {
			return errors.New("the vanished client's slot is still held")
		}
		return nil
	})
}

// inFlight sums the requests in flight on a function's instances.
func inFlight(t *testing.T, s *server, fn string) int {
	t.Helper()
	n := 0
	for _, in := range s.lcMustInstances(t, fn) {
		n += in.InFlight
	}
	return n
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
