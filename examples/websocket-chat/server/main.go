// Command server is the WebSocket chat example: a chat room served by
// one FC custom-runtime function. GET / is the page, /chat the
// WebSocket every browser tab joins; a message one member sends goes to
// every member. Build it into the function's code directory (see
// ../README.md):
//
//	go build -o examples/websocket-chat/code/bootstrap ./examples/websocket-chat/server
//
// The room lives in the instance: the s.yaml keeps the function on one
// instance (instanceConcurrency 100, at most one instance).
package main

import (
	"context"
	_ "embed"
	"log"
	"net/http"
	"os"
	"sync"

	"github.com/coder/websocket"
)

//go:embed index.html
var page []byte

// room is the members and their outgoing queues.
type room struct {
	mu      sync.Mutex
	members map[chan []byte]struct{}
}

func (r *room) join() chan []byte {
	ch := make(chan []byte, 64)
	r.mu.Lock()
	r.members[ch] = struct{}{}
	r.mu.Unlock()
	return ch
}

func (r *room) leave(ch chan []byte) {
	r.mu.Lock()
	delete(r.members, ch)
	r.mu.Unlock()
}

// say sends msg to every member; a member too slow to keep up misses it.
func (r *room) say(msg []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for ch := range r.members {
		select {
		case ch <- msg:
		default:
		}
	}
}

func (r *room) chat(w http.ResponseWriter, req *http.Request) {
	c, err := websocket.Accept(w, req, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	out := r.join()
	defer r.leave(out)
	go func() { // ends with ctx
		for {
			select {
			case msg := <-out:
				if c.Write(ctx, websocket.MessageText, msg) != nil {
					cancel()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			return // the member left, or openfc closed the connection (its timeout, a shutdown)
		}
		r.say(msg)
	}
}

func main() {
	port := os.Getenv("FC_SERVER_PORT")
	if port == "" {
		port = "9000"
	}
	r := &room{members: map[chan []byte]struct{}{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	mux.HandleFunc("GET /chat", r.chat)
	log.Printf("chat listening on :%s", port)
	log.Fatal(http.ListenAndServe(":"+port, mux))
}
