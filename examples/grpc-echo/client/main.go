// Command client calls the gRPC echo example through openfc: it dials
// openfc's front door and names the function by its trigger subdomain
// (the :authority), as FC serves gRPC on trigger and custom domains, not
// on the proxy path.
//
//	go run ./examples/grpc-echo/client -authority grpc-echo-demo-<id>.fcapp.localhost:8080 -count 3
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/openfc/openfc/examples/grpc-echo/echopb"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "openfc's front door (--listen, or --tls-listen with -tls)")
	authority := flag.String("authority", "", "the function's trigger host, as `openfc deploy` printed it (required)")
	useTLS := flag.Bool("tls", false, "HTTPS (h2 by ALPN); the certificate is not verified")
	message := flag.String("message", "hello", "what to say")
	count := flag.Int("count", 0, "stream this many answers (server streaming) instead of one")
	flag.Parse()
	if *authority == "" {
		log.Fatal("-authority is required: the trigger host `openfc deploy` printed, e.g. grpc-echo-demo-<id>.fcapp.localhost:8080")
	}
	creds := insecure.NewCredentials() // h2c: HTTP/2 with prior knowledge
	if *useTLS {
		creds = credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(creds), grpc.WithAuthority(*authority))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	c := echopb.NewEchoClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if *count == 0 {
		r, err := c.Say(ctx, &echopb.EchoRequest{Message: *message})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s (request %s, instance %s)\n", r.GetMessage(), r.GetRequestId(), r.GetInstance())
		return
	}
	stream, err := c.Count(ctx, &echopb.CountRequest{Message: *message, Times: int32(*count), IntervalMs: 200})
	if err != nil {
		log.Fatal(err)
	}
	for {
		r, err := stream.Recv()
		if err == io.EOF {
			return
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%d: %s (request %s)\n", r.GetSeq(), r.GetMessage(), r.GetRequestId())
	}
}
