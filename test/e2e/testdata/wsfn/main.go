// Command wsfn is the e2e tests' WebSocket function: on /ws it echoes
// every message, answers "big N" with an N-byte message and "stream N"
// with N messages one every 100 ms; it records how each connection ended
// (the close code and reason it got), which GET /closes lists. Its own
// read limit is far above openfc's.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

type closeRecord struct {
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

type server struct {
	mu     sync.Mutex
	closes []closeRecord
}

func (s *server) ws(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(64 << 20)
	ctx := context.Background()
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			rec := closeRecord{Code: -1, Reason: err.Error()}
			if errors.As(err, &ce) {
				rec = closeRecord{Code: int(ce.Code), Reason: ce.Reason}
			}
			s.mu.Lock()
			s.closes = append(s.closes, rec)
			s.mu.Unlock()
			return
		}
		if err := s.answer(ctx, c, typ, msg); err != nil {
			return
		}
	}
}

func (s *server) answer(ctx context.Context, c *websocket.Conn, typ websocket.MessageType, msg []byte) error {
	text := string(msg)
	switch {
	case typ == websocket.MessageText && strings.HasPrefix(text, "big "):
		n, _ := strconv.Atoi(strings.TrimPrefix(text, "big "))
		return c.Write(ctx, websocket.MessageBinary, make([]byte, n))
	case typ == websocket.MessageText && strings.HasPrefix(text, "stream "):
		n, _ := strconv.Atoi(strings.TrimPrefix(text, "stream "))
		go func() { // ends with the connection
			for i := range n {
				time.Sleep(100 * time.Millisecond)
				if c.Write(ctx, websocket.MessageText, []byte(strconv.Itoa(i))) != nil {
					return
				}
			}
		}()
		return nil
	}
	return c.Write(ctx, typ, msg)
}

func (s *server) list(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = json.NewEncoder(w).Encode(s.closes)
}

func main() {
	port := os.Getenv("FC_SERVER_PORT")
	if port == "" {
		port = "9000"
	}
	s := &server{closes: []closeRecord{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", s.ws)
	mux.HandleFunc("/closes", s.list)
	log.Fatal(http.ListenAndServe(":"+port, mux))
}
