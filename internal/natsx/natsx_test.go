package natsx

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func start(t *testing.T, o Options) *Conn {
	t.Helper()
	c, err := Start(testCtx(t), o)
	if err != nil {
		t.Fatalf("Start(%+v): %v", o, err)
	}
	t.Cleanup(c.Close)
	return c
}

func putGet(t *testing.T, ctx context.Context, js jetstream.JetStream, key, val string) {
	t.Helper()
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "t", Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	if _, err := kv.PutString(ctx, key, val); err != nil {
		t.Fatalf("put: %v", err)
	}
	e, err := kv.Get(ctx, key)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got := string(e.Value()); got != val {
		t.Fatalf("get %s = %q, want %q", key, got, val)
	}
}

func TestEmbeddedInProcessOnly(t *testing.T) {
	ctx := testCtx(t)
	c := start(t, Options{DataDir: t.TempDir()})
	if u := c.ClientURL(); u != "" {
		t.Errorf("ClientURL without a listener = %q, want empty", u)
	}
	if !c.NC.IsConnected() {
		t.Fatal("in-process connection is not connected")
	}
	putGet(t, ctx, c.JS, "k", "v")
}

func TestEmbeddedDataSurvivesRestart(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	c, err := Start(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	putGet(t, ctx, c.JS, "k", "before")
	if _, err := os.Stat(filepath.Join(dir, "jetstream")); err != nil {
		t.Fatalf("JetStream store is not in DataDir/jetstream: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "jetstream", "jetstream")); err == nil {
		t.Fatal("JetStream store is nested in DataDir/jetstream/jetstream")
	}
	c.Close()
	c.Close() // idempotent
	if !c.NC.IsClosed() {
		t.Fatal("connection not closed after Close")
	}

	c2 := start(t, Options{DataDir: dir})
	kv, err := c2.JS.KeyValue(ctx, "t")
	if err != nil {
		t.Fatalf("bucket lost across restart: %v", err)
	}
	e, err := kv.Get(ctx, "k")
	if err != nil {
		t.Fatalf("key lost across restart: %v", err)
	}
	if string(e.Value()) != "before" {
		t.Fatalf("value after restart = %q", e.Value())
	}
}

func TestEmbeddedListenerAndExternalClient(t *testing.T) {
	ctx := testCtx(t)
	srv := start(t, Options{DataDir: t.TempDir(), Listen: "127.0.0.1:-1"})
	u := srv.ClientURL()
	if !strings.HasPrefix(u, "nats://127.0.0.1:") || strings.HasSuffix(u, ":-1") {
		t.Fatalf("ClientURL = %q, want nats://127.0.0.1:<port>", u)
	}
	putGet(t, ctx, srv.JS, "k", "from-embedded")

	ext := start(t, Options{URL: u})
	if ext.ClientURL() != "" {
		t.Errorf("external ClientURL = %q, want empty", ext.ClientURL())
	}
	kv, err := ext.JS.KeyValue(ctx, "t")
	if err != nil {
		t.Fatalf("external client does not see the bucket: %v", err)
	}
	e, err := kv.Get(ctx, "k")
	if err != nil || string(e.Value()) != "from-embedded" {
		t.Fatalf("external get = %v, %v", e, err)
	}
	ext.Close()
	// Closing an external connection must leave the server running.
	putGet(t, ctx, srv.JS, "k2", "still-up")
}

func TestStartErrors(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	busy := taken.Addr().String()
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"embedded without data dir", Options{}, "DataDir is required"},
		{"bad listen address", Options{DataDir: t.TempDir(), Listen: "nonsense"}, "listen address"},
		{"bad listen port", Options{DataDir: t.TempDir(), Listen: "127.0.0.1:99999"}, "bad port"},
		{"client port taken", Options{DataDir: t.TempDir(), Listen: busy}, "the NATS client port: listen tcp " + busy},
		{"route port taken", Options{DataDir: t.TempDir(), Cluster: Cluster{NodeName: "n1", Listen: busy, Peers: []string{"127.0.0.1:1"}}},
			"the NATS cluster port: listen tcp " + busy},
		{"unreachable external", Options{URL: "nats://127.0.0.1:1"}, "connect to"},
		{"credentials are not logged", Options{URL: "nats://alice:s3cret@127.0.0.1:1"}, "nats://redacted@127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Start(testCtx(t), tt.o)
			if err == nil {
				c.Close()
				t.Fatalf("Start succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error %q leaks the password", err)
			}
		})
	}
}

func TestStartCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, err := Start(ctx, Options{DataDir: t.TempDir()})
	if err == nil {
		c.Close()
		t.Fatal("Start with a canceled context succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

func TestEmbeddedSyncAlways(t *testing.T) {
	for _, want := range []bool{false, true} {
		c := start(t, Options{DataDir: t.TempDir(), SyncAlways: want})
		if got := c.ns.JetStreamConfig().SyncAlways; got != want {
			t.Errorf("SyncAlways %v: server's JetStream config has %v", want, got)
		}
		putGet(t, testCtx(t), c.JS, "k", "v")
	}
}
