package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc/codes"

	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// TestShutdownWithOpenStreams: SIGTERM with a WebSocket and a gRPC
// stream open (each with a function timeout far beyond the shutdown
// timeout): the WebSocket gets close 1001 at once, the gRPC stream runs
// on until the shutdown timeout and then ends with UNAVAILABLE (a status,
// not a broken connection), and the server exits within the shutdown
// timeout plus its close grace.
func TestShutdownWithOpenStreams(t *testing.T) {
	s := startServer(t, "", "--shutdown-timeout", "3s")
	wsCode := goBootstrap(t, "./test/e2e/testdata/wsfn")
	s.deployEcho(echoOpts{service: "ws", name: "fn", code: wsCode, command: "[./bootstrap]", methods: "[GET]", timeout: 60, concurrency: 10})
	grpcCode := goBootstrap(t, "./test/e2e/testdata/grpcfn")
	s.deployEcho(echoOpts{service: "grpc", name: "fn", code: grpcCode, command: "[./bootstrap]", methods: "[POST]", timeout: 60, concurrency: 10})

	ws := wsDial(t, "ws"+strings.TrimPrefix(s.URL, "http")+"/2016-08-15/proxy/ws/fn/ws")
	ctx := ctxFor(t, 60*time.Second)
	if err := ws.Write(ctx, websocket.MessageText, []byte("stream 1000")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.Read(ctx); err != nil {
		t.Fatal(err)
	}
	c := grpcClient(t, strings.TrimPrefix(s.URL, "http://"), triggerHost(t, s, "grpc/fn"), false)
	params := make([]*testpb.ResponseParameters, 100)
	for i := range params {
		params[i] = &testpb.ResponseParameters{Size: 1, IntervalUs: 200_000}
	}
	stream, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: params})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, reason := wsEnded(t, ws)
	if took := time.Since(start); code != websocket.StatusGoingAway || !strings.Contains(reason, "shutting down") || took > 2*time.Second {
		t.Errorf("WebSocket at SIGTERM: close %d %q after %v; want 1001 \"…shutting down\" at once", code, reason, took)
	}
	got := 0
	for {
		if _, err = stream.Recv(); err != nil {
			break
		}
		got++
	}
	took := time.Since(start)
	wantStatus(t, "gRPC stream at the shutdown timeout", err, codes.Unavailable, "shutting down")
	if took < 2500*time.Millisecond || got < 5 {
		t.Errorf("the gRPC stream ended after %v with %d more messages; want it to run until the 3 s shutdown timeout", took, got)
	}
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("the server did not exit within 15 s of SIGTERM (shutdown timeout 3 s)")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the server took %v to exit; want the 3 s shutdown timeout plus a few seconds", took)
	}
	if !strings.Contains(s.log.String(), "shutdown complete") {
		t.Errorf("no \"shutdown complete\" in the log")
	}
}
