package e2e

import (
	"context"
	"crypto/tls"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// maxMessage is FC's limit on one gRPC or WebSocket message.
const maxMessage = 6 << 20

// grpcServer starts openfc with HTTPS too (a self-signed certificate)
// and deploys testdata/grpcfn as grpc/fn (POST allowed, timeout 3 s) and
// grpc/getonly (GET only). It returns the server, its TLS address and
// fn's trigger host.
func grpcServer(t *testing.T) (s *server, tlsAddr, host string) {
	t.Helper()
	cert, key := selfSignedCert(t)
	s = startServer(t, "", "--tls-listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key)
	tlsAddr = s.TLSAddr
	code := goBootstrap(t, "./test/e2e/testdata/grpcfn")
	s.deployEcho(echoOpts{service: "grpc", name: "fn", code: code, command: "[./bootstrap]", methods: "[POST]", timeout: 3, concurrency: 20})
	s.deployEcho(echoOpts{service: "grpc", name: "getonly", code: code, command: "[./bootstrap]", methods: "[GET]"})
	return s, tlsAddr, triggerHost(t, s, "grpc/fn")
}

// triggerHost is the host (and port) of the function's trigger subdomain.
func triggerHost(t *testing.T, s *server, fn string) string {
	t.Helper()
	u, err := url.Parse(corsTriggerURL(t, s, fn))
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// grpcClient dials openfc at addr (h2c, or TLS) naming the function by
// its trigger host, with message limits far above openfc's.
func grpcClient(t *testing.T, addr, host string, useTLS bool) testpb.TestServiceClient {
	t.Helper()
	creds := insecure.NewCredentials()
	if useTLS {
		creds = credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds), grpc.WithAuthority(host),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return testpb.NewTestServiceClient(conn)
}

// TestGRPC: the four kinds of gRPC call through a trigger subdomain, over
// h2c and over TLS: metadata and trailers both ways, the function's own
// statuses, FC's 6 MB message limit both ways (RESOURCE_EXHAUSTED), the
// function's timeout ending a stream (DEADLINE_EXCEEDED), and platform
// errors as gRPC statuses.
func TestGRPC(t *testing.T) {
	s, tlsAddr, host := grpcServer(t)
	plain := strings.TrimPrefix(s.URL, "http://")
	for _, tc := range []struct {
		name string
		addr string
		tls  bool
	}{{"h2c", plain, false}, {"tls", tlsAddr, true}} {
		t.Run(tc.name, func(t *testing.T) {
			c := grpcClient(t, tc.addr, host, tc.tls)
			grpcCallKinds(t, c)
			grpcLimits(t, c)
		})
	}
	t.Run("deadline", func(t *testing.T) { grpcDeadline(t, grpcClient(t, plain, host, false)) })
	t.Run("errors", func(t *testing.T) {
		// POST is not among the trigger's methods: gRPC cannot call it.
		getOnly := grpcClient(t, plain, triggerHost(t, s, "grpc/getonly"), false)
		_, err := getOnly.UnaryCall(ctxFor(t, 30*time.Second), &testpb.SimpleRequest{})
		wantStatus(t, "POST missing from methods", err, codes.Unimplemented, "MethodNotAllowed")
		nobody := grpcClient(t, plain, "nobody-nowhere-0123456789.fcapp.localhost", false)
		_, err = nobody.UnaryCall(ctxFor(t, 30*time.Second), &testpb.SimpleRequest{})
		wantStatus(t, "unknown trigger", err, codes.NotFound, "TriggerNotFound")
	})
}

func grpcCallKinds(t *testing.T, c testpb.TestServiceClient) {
	ctx := ctxFor(t, 30*time.Second)
	var header, trailer metadata.MD
	resp, err := c.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 1000, Payload: &testpb.Payload{Body: []byte("hello")}},
		grpc.Header(&header), grpc.Trailer(&trailer))
	if err != nil {
		t.Fatalf("unary: %v", err)
	}
	if len(resp.GetPayload().GetBody()) != 1000 {
		t.Errorf("unary: %d bytes; want 1000", len(resp.GetPayload().GetBody()))
	}
	if id := header.Get("x-seen-request-id"); len(id) != 1 || id[0] == "" || header.Get("x-fc-request-id")[0] != id[0] {
		t.Errorf("unary: the function saw request id %v, the client got %v", id, header.Get("x-fc-request-id"))
	}
	if got := trailer.Get("x-trailer-size"); len(got) != 1 || got[0] != "5" {
		t.Errorf("unary: trailer x-trailer-size %v; want [5] (trailers: %v)", got, trailer)
	}
	_, err = c.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("fail")}})
	wantStatus(t, "the function's own status", err, codes.FailedPrecondition, "the function says no")

	out, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{
		{Size: 10}, {Size: 20, IntervalUs: 100_000}, {Size: 30, IntervalUs: 100_000}}})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for {
		m, err := out.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("server streaming: %v", err)
		}
		sizes = append(sizes, len(m.GetPayload().GetBody()))
	}
	if len(sizes) != 3 || sizes[0] != 10 || sizes[1] != 20 || sizes[2] != 30 {
		t.Errorf("server streaming: sizes %v; want [10 20 30]", sizes)
	}

	in, err := c.StreamingInputCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := in.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: make([]byte, 100_000)}}); err != nil {
			t.Fatalf("client streaming: %v", err)
		}
	}
	if r, err := in.CloseAndRecv(); err != nil || r.GetAggregatedPayloadSize() != 300_000 {
		t.Errorf("client streaming: %v, %v; want 300000", r.GetAggregatedPayloadSize(), err)
	}

	// Bidi: each answer arrives before the next request is sent.
	bidi, err := c.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		body := []byte(strings.Repeat("x", i+1))
		err := bidi.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: body},
			ResponseParameters: []*testpb.ResponseParameters{{}}})
		if err != nil {
			t.Fatalf("bidi send %d: %v", i, err)
		}
		m, err := bidi.Recv()
		if err != nil || string(m.GetPayload().GetBody()) != string(body) {
			t.Fatalf("bidi %d: %q, %v", i, m.GetPayload().GetBody(), err)
		}
	}
	_ = bidi.CloseSend()
	if _, err := bidi.Recv(); err != io.EOF {
		t.Errorf("bidi end: %v; want EOF (status OK)", err)
	}
}

// grpcLimits: a message just under 6 MB passes each way; one over fails
// with RESOURCE_EXHAUSTED, whichever side sent it, and the function stays
// usable.
func grpcLimits(t *testing.T, c testpb.TestServiceClient) {
	ctx := ctxFor(t, 60*time.Second)
	under := maxMessage - 64 // room for the protobuf framing
	if _, err := c.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: make([]byte, under)}}); err != nil {
		t.Errorf("request of 6 MB - 64: %v", err)
	}
	if r, err := c.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: int32(under)}); err != nil || len(r.GetPayload().GetBody()) != under {
		t.Errorf("answer of 6 MB - 64: %v", err)
	}
	_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: make([]byte, maxMessage+1)}})
	wantStatus(t, "request over 6 MB", err, codes.ResourceExhausted, "over the limit of 6291456 bytes")
	_, err = c.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: maxMessage + 1})
	wantStatus(t, "answer over 6 MB", err, codes.ResourceExhausted, "over the limit of 6291456 bytes")

	// Client streaming: many messages under the limit make a stream far
	// over the synchronous body limit: only messages are limited.
	in, err := c.StreamingInputCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 8 {
		if err := in.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: make([]byte, 5<<20)}}); err != nil {
			t.Fatalf("client streaming 40 MB: %v", err)
		}
	}
	if r, err := in.CloseAndRecv(); err != nil || r.GetAggregatedPayloadSize() != 40<<20 {
		t.Errorf("client streaming 40 MB: %d, %v", r.GetAggregatedPayloadSize(), err)
	}
	if _, err := c.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 1}); err != nil {
		t.Errorf("after the limits: %v", err)
	}
}

// grpcDeadline: a stream that would outlive the function's timeout (3 s)
// gets what was sent, then DEADLINE_EXCEEDED from openfc at the timeout.
func grpcDeadline(t *testing.T, c testpb.TestServiceClient) {
	ctx := ctxFor(t, 30*time.Second)
	if _, err := c.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil { // a warm instance: the timeout counts from it
		t.Fatal(err)
	}
	params := make([]*testpb.ResponseParameters, 10)
	for i := range params {
		params[i] = &testpb.ResponseParameters{Size: 1, IntervalUs: 1_000_000}
	}
	start := time.Now()
	out, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: params})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for {
		if _, err = out.Recv(); err != nil {
			break
		}
		got++
	}
	took := time.Since(start)
	wantStatus(t, "stream past the timeout", err, codes.DeadlineExceeded, "timed out after 3 seconds")
	if got < 1 || got > 3 || took < 2500*time.Millisecond || took > 6*time.Second {
		t.Errorf("stream past the timeout: %d messages in %v; want 2 or so, ended at about 3 s", got, took)
	}
}

func wantStatus(t *testing.T, what string, err error, code codes.Code, msg string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != code || !strings.Contains(st.Message(), msg) {
		t.Errorf("%s: %v; want %v containing %q", what, err, code, msg)
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// selfSignedCert writes a certificate for localhost and
// *.fcapp.localhost, and its key, as PEM files.
func selfSignedCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	certPEM, keyPEM, _ := domainCert(t, "localhost", "*.fcapp.localhost")
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, []byte(certPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte(keyPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
