package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/openfc/openfc/internal/route"
)

// slowStreams is a gRPC TestService whose server stream sends one small
// message every 50 ms, however many were asked for, until its client or
// the instance's server ends it.
type slowStreams struct {
	testpb.UnimplementedTestServiceServer
}

func (slowStreams) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, s grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	for range req.GetResponseParameters() {
		select {
		case <-time.After(50 * time.Millisecond):
		case <-s.Context().Done():
			return s.Context().Err()
		}
		if err := s.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
	return nil
}

// streamsInstance is an instance speaking gRPC (h2c) and WebSocket on
// one port, as a function may.
func streamsInstance(t *testing.T) (addr string, stop func()) {
	t.Helper()
	g := grpc.NewServer()
	testpb.RegisterTestServiceServer(g, slowStreams{})
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv := &http.Server{Protocols: &p, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			g.ServeHTTP(w, r)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(context.Background())
			if err != nil || c.Write(context.Background(), typ, msg) != nil {
				return
			}
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Close(); g.Stop(); <-done }
}

// Shutdown with a WebSocket and a gRPC stream open: the WebSocket gets
// 1001 at once, the gRPC stream runs until the grace period ends and then
// gets UNAVAILABLE, Shutdown returns, and no goroutine is left behind.
func TestServerShutdownEndsStreams(t *testing.T) {
	e := newTestEnv(t, Limits{})
	addr, stopInstance := streamsInstance(t)
	e.inst.dial = dialTo(addr)
	// What runs now is the test's (its servers); what starts from here
	// must be gone once the front door has shut down.
	before := goleak.IgnoreCurrent()
	srv := e.gw.NewServer(ServerOptions{FastHTTP1: fastHTTP1(t)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	ws, _, err := websocket.Dial(ctx, "ws://"+ln.Addr().String()+"/2016-08-15/proxy/svc/anon/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if err := ws.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := ws.Read(ctx); err != nil || string(got) != "hi" {
		t.Fatalf("echo: %q, %v", got, err)
	}
	host := route.SubdomainLabel("svc", "anon", "aaaa1111") + "." + testDomain
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithAuthority(host))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := testpb.NewTestServiceClient(conn).StreamingOutputCall(ctx,
		&testpb.StreamingOutputCallRequest{ResponseParameters: make([]*testpb.ResponseParameters, 1000)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	if n := e.gw.streams.count(); n != 2 {
		t.Fatalf("%d streams open; want 2", n)
	}

	start := time.Now()
	shut, shutCancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer shutCancel()
	shutErr := make(chan error, 1)
	go func() { shutErr <- srv.Shutdown(shut) }()
	_, _, err = ws.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || !strings.Contains(ce.Reason, "shutting down") || time.Since(start) > 400*time.Millisecond {
		t.Errorf("WebSocket at shutdown: %v after %v; want 1001 at once", err, time.Since(start))
	}
	for err = nil; err == nil; {
		_, err = stream.Recv()
	}
	if st, _ := status.FromError(err); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "shutting down") || time.Since(start) < 450*time.Millisecond {
		t.Errorf("gRPC stream at shutdown: %v after %v; want UNAVAILABLE at the end of the grace period", err, time.Since(start))
	}
	if err := <-shutErr; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v; want the grace period's end", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	if n := e.gw.streams.count(); n != 0 {
		t.Errorf("%d streams still open after Shutdown", n)
	}
	if a, r := e.inst.counts(); a != r {
		t.Errorf("%d leases taken, %d released", a, r)
	}
	conn.Close()
	ws.CloseNow()
	e.gw.upstream.CloseIdle()
	stopInstance()
	goleak.VerifyNone(t, before)
}
