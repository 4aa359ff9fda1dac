// Command server is the gRPC echo example: a gRPC server that listens on
// FC's port (FC_SERVER_PORT, 9000 by default) with HTTP/2 cleartext, as
// an FC custom-runtime function serving gRPC does. Build it into the
// function's code directory (see ../README.md):
//
//	go build -o examples/grpc-echo/code/bootstrap ./examples/grpc-echo/server
package main

import (
	"context"
	"log"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/openfc/openfc/examples/grpc-echo/echopb"
)

type echo struct {
	echopb.UnimplementedEchoServer
	instance string
}

// requestID is the x-fc-request-id openfc (or FC) gave the call.
func requestID(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("x-fc-request-id"); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (e *echo) Say(ctx context.Context, req *echopb.EchoRequest) (*echopb.EchoReply, error) {
	if req.GetMessage() == "" {
		return nil, status.Error(codes.InvalidArgument, "say something")
	}
	return &echopb.EchoReply{Message: req.GetMessage(), RequestId: requestID(ctx), Instance: e.instance}, nil
}

func (e *echo) Count(req *echopb.CountRequest, stream grpc.ServerStreamingServer[echopb.EchoReply]) error {
	id := requestID(stream.Context())
	for i := range req.GetTimes() {
		if i > 0 {
			select {
			case <-time.After(time.Duration(req.GetIntervalMs()) * time.Millisecond):
			case <-stream.Context().Done():
				return stream.Context().Err()
			}
		}
		if err := stream.Send(&echopb.EchoReply{Message: req.GetMessage(), RequestId: id, Instance: e.instance, Seq: i + 1}); err != nil {
			return err
		}
	}
	return nil
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
	s := grpc.NewServer()
	echopb.RegisterEchoServer(s, &echo{instance: os.Getenv("FC_INSTANCE_ID")})
	log.Printf("gRPC echo listening on :%s", port)
	log.Fatal(s.Serve(ln))
}
