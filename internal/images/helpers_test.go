package images

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/openfc/openfc/internal/natsx"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// clock is a settable time for collection tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a store on an embedded NATS server.
type env struct {
	nats  *natsx.Conn
	store *Store
	clock *clock
	cache string
}

// newEnv starts an embedded NATS server (as internal/store's tests do)
// and opens a store on it.
func newEnv(t *testing.T) *env {
	t.Helper()
	c, err := natsx.Start(testCtx(t), natsx.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("natsx.Start: %v", err)
	}
	t.Cleanup(c.Close)
	// The clock starts at the real time: blobs carry the object store's
	// real modification times.
	e := &env{nats: c, clock: &clock{t: time.Now()}, cache: t.TempDir()}
	e.store = e.open(t)
	return e
}

// open opens a(nother) store on the env's NATS and cache.
func (e *env) open(t *testing.T) *Store {
	t.Helper()
	s, err := New(testCtx(t), Options{JS: e.nats.JS, CacheDir: e.cache, Now: e.clock.now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// file is one entry of a hand-made layer.
type file struct {
	name, body, link string
	typ              byte
	mode             int64
	uid, gid         int
}

// tarBytes writes entries as an uncompressed tar.
func tarBytes(t *testing.T, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Typeflag: f.typ, Mode: f.mode, Uid: f.uid, Gid: f.gid, Linkname: f.link,
			ModTime: time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC), Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(f.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("tar header %s: %v", f.name, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, f.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// layer makes a gzip-compressed layer of entries.
func layer(t *testing.T, files ...file) v1.Layer {
	t.Helper()
	b := tarBytes(t, files...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// image makes a linux/amd64 image of layers, with a config a container
// runs by.
func image(t *testing.T, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config = v1.Config{Entrypoint: []string{"/app/server"}, Cmd: []string{"--port", "9000"},
		Env: []string{"PATH=/usr/bin", "MODE=test"}, User: "1000:1000", WorkingDir: "/app",
		ExposedPorts: map[string]struct{}{"9000/tcp": {}}}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// registryServer is an in-process registry; its host is 127.0.0.1:port,
// which go-containerregistry talks to over plain HTTP.
type registryServer struct {
	host  string
	close func()
	mu    sync.Mutex
	gets  int // manifest GETs
}

func newRegistry(t *testing.T) *registryServer {
	t.Helper()
	rs := &registryServer{}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(httpCounter(h, rs))
	t.Cleanup(srv.Close)
	rs.host, rs.close = strings.TrimPrefix(srv.URL, "http://"), srv.Close
	return rs
}

func (rs *registryServer) manifestGets() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.gets
}

// push writes img to the registry as repo:tag and returns the reference.
func (rs *registryServer) push(t *testing.T, repoTag string, img v1.Image) string {
	t.Helper()
	ref := rs.host + "/" + repoTag
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref
}

// httpCounter counts the manifest GETs the registry serves.
func httpCounter(h http.Handler, rs *registryServer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") {
			rs.mu.Lock()
			rs.gets++
			rs.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}
