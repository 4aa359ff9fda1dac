// Command grpcfn is the e2e tests' gRPC function: gRPC's interop
// TestService over HTTP/2 cleartext on FC_SERVER_PORT, answering with
// what the tests check (the x-fc-request-id it got, trailers, streams
// paced as asked). Its own message limits are far above openfc's, so
// that the limit the tests meet is openfc's.
package main

import (
	"context"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	testpb "google.golang.org/grpc/interop/grpc_testing"
)

type service struct {
	testpb.UnimplementedTestServiceServer
}

// UnaryCall answers ResponseSize bytes, and tells in its header and
// trailer what it saw: the request id and the payload's size. A payload
// "fail" answers FAILED_PRECONDITION (a status the function chose).
func (service) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	_ = grpc.SetHeader(ctx, metadata.Pairs("x-seen-request-id", first(md.Get("x-fc-request-id")), "x-seen-authority", first(md.Get(":authority"))))
	_ = grpc.SetTrailer(ctx, metadata.Pairs("x-trailer-size", strconv.Itoa(len(req.GetPayload().GetBody()))))
	if string(req.GetPayload().GetBody()) == "fail" {
		return nil, status.Error(codes.FailedPrecondition, "the function says no")
	}
	return &testpb.SimpleResponse{Payload: &testpb.Payload{Body: make([]byte, req.GetResponseSize())}}, nil
}

// StreamingOutputCall answers one message per ResponseParameters, each
// IntervalUs after the previous one.
func (service) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	for _, p := range req.GetResponseParameters() {
		select {
		case <-time.After(time.Duration(p.GetIntervalUs()) * time.Microsecond):
		case <-stream.Context().Done():
			return stream.Context().Err()
		}
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: make([]byte, p.GetSize())}}); err != nil {
			return err
		}
	}
	return nil
}

// StreamingInputCall answers the sum of the payloads it got.
func (service) StreamingInputCall(stream grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	total := 0
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(total)})
		}
		if err != nil {
			return err
		}
		total += len(req.GetPayload().GetBody())
	}
}

// FullDuplexCall answers each request at once, as its ResponseParameters
// say, echoing its payload.
func (service) FullDuplexCall(stream grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		for _, p := range req.GetResponseParameters() {
			body := req.GetPayload().GetBody()
			if p.GetSize() > 0 {
				body = make([]byte, p.GetSize())
			}
			if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: body}}); err != nil {
				return err
			}
		}
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func main() {
	port := os.Getenv("FC_SERVER_PORT")
	if port == "" {
		port = "9000"
	}
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		log.Fatal(err)
	}
	s := grpc.NewServer(grpc.MaxRecvMsgSize(64<<20), grpc.MaxSendMsgSize(64<<20))
	testpb.RegisterTestServiceServer(s, service{})
	log.Fatal(s.Serve(ln))
}
