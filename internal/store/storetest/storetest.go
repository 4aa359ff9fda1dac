// Package storetest gives a test a JetStream of its own: an embedded
// NATS server in a temporary directory, and the store opened on it.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/natsx"
	"github.com/openfc/openfc/internal/store"
)

// Conn starts an embedded NATS server with JetStream, closed when the
// test ends. The context ends then too, or after two minutes.
func Conn(t testing.TB) (context.Context, *natsx.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	conn, err := natsx.Start(ctx, natsx.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("natsx.Start: %v", err)
	}
	t.Cleanup(conn.Close)
	return ctx, conn
}

// Open is Conn with the store opened on the server, closed when the
// test ends.
func Open(t testing.TB) (context.Context, *natsx.Conn, *store.JetStream) {
	t.Helper()
	ctx, conn := Conn(t)
	st, err := store.Open(ctx, conn.JS, 1, nil)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(st.Close)
	return ctx, conn, st
}
