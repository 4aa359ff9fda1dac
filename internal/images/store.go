package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/singleflight"

	"github.com/openfc/openfc/internal/store"
)

// bucket names both the KV bucket of records and the object store of
// blobs (their streams are KV_openfc_images and OBJ_openfc_images).
const bucket = "openfc_images"

// Defaults of Options.
const (
	DefaultGrace       = 10 * time.Minute
	DefaultPullTimeout = 10 * time.Minute
	// blobReadTimeout bounds a blob read whose ctx has no deadline
	// (nats.go would otherwise apply its 5s API timeout to the whole read).
	blobReadTimeout = 10 * time.Minute
	// maxJSONBlob bounds the manifests, configs and indexes read whole.
	maxJSONBlob = 8 << 20
)

// Options configure a Store.
type Options struct {
	// JS is where blobs and records live.
	JS jetstream.JetStream
	// Replicas is how many copies a new bucket gets (1 when zero).
	Replicas int
	// CacheDir is this node's directory for unpacked layers (layers/)
	// and uploads being imported (tmp/), e.g. DATA/images.
	CacheDir string
	Logger   *slog.Logger
	// Grace is how long a pulled image must have gone unused, and a blob
	// unreferenced, before Collect removes it: DefaultGrace when zero.
	Grace time.Duration
	// PullTimeout bounds a pull: DefaultPullTimeout when zero.
	PullTimeout time.Duration
	// Transport carries registry requests; nil means go-containerregistry's
	// default (proxies from the environment).
	Transport http.RoundTripper
	// Keychain finds credentials when Get has no Auth; nil means
	// authn.DefaultKeychain (the operator's docker config).
	Keychain authn.Keychain
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Store is the image store. Its methods are safe for concurrent use.
//
// Lock order: pass, then mu.
type Store struct {
	opts       Options
	log        *slog.Logger
	kv         jetstream.KeyValue
	blobs      jetstream.ObjectStore
	blobStream jetstream.Stream
	layersDir  string
	tmpDir     string
	platform   v1.Platform

	// ctx ends with Close: it bounds the pulls (shared by their callers,
	// so no caller's ctx may end them) and the unpacks.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // pulls in flight
	pulls  singleflight.Group

	pass sync.Mutex // one Collect at a time; guards unrefSince
	// unrefSince is when Collect first found each pulled image unused
	// (by reference) and each blob unreferenced (by digest).
	unrefSince map[string]time.Time

	// keys serialises the puts of one blob and the unpacks of one layer.
	keys keyLocks

	mu sync.Mutex // guards what follows
	// holds counts, per layer (diff ID hex), the Gets whose images use it:
	// Collect never removes a held layer directory.
	holds map[string]int
	// writing holds, per blob digest, the imports and pulls storing it:
	// Collect spares a blob held at any time since its pass began (seq).
	writing map[string]writeHold
	seq     uint64 // counts holdWriting calls and releases
	// infos caches parsed images by manifest digest (immutable content).
	infos  map[string]*imageInfo
	closed bool
}

// New opens (creating when needed) the store's buckets on o.JS and its
// cache directory, and removes what an interrupted unpack or import left
// there.
func New(ctx context.Context, o Options) (*Store, error) {
	if o.JS == nil || o.CacheDir == "" {
		return nil, errors.New("images: JS and CacheDir are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.PullTimeout <= 0 {
		o.PullTimeout = DefaultPullTimeout
	}
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Store{
		opts: o, log: o.Logger,
		layersDir: filepath.Join(o.CacheDir, "layers"),
		tmpDir:    filepath.Join(o.CacheDir, "tmp"),
		platform:  v1.Platform{OS: "linux", Architecture: runtime.GOARCH},
		holds:     map[string]int{}, writing: map[string]writeHold{},
		infos: map[string]*imageInfo{}, unrefSince: map[string]time.Time{},
	}
	var err error
	if s.kv, err = store.OpenKV(ctx, o.JS, store.Spec{Name: bucket, Description: "openfc image references", Replicas: o.Replicas}); err != nil {
		return nil, err
	}
	if s.blobs, err = store.OpenObjectStore(ctx, o.JS, store.Spec{Name: bucket, Description: "openfc image blobs by digest", Replicas: o.Replicas}); err != nil {
		return nil, err
	}
	if s.blobStream, err = store.ObjectStream(ctx, o.JS, bucket); err != nil {
		return nil, err
	}
	for _, d := range []string{s.layersDir, s.tmpDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("images: cache dir: %w", err)
		}
	}
	// Uploads of a previous run: nobody imports them any more.
	if err := clearDir(s.tmpDir); err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Close ends the pulls in flight and waits for them. Gets and imports
// after it fail with ErrClosed; layer directories stay for the next run.
func (s *Store) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// clearDir removes everything in dir.
func clearDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
	}
	return errors.Join(errs...)
}

// tempFile creates a file for an upload in the cache's tmp dir.
func (s *Store) tempFile() (*os.File, error) {
	f, err := os.CreateTemp(s.tmpDir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	return f, nil
}

// record reads a reference's record; ErrNotFound when there is none.
func (s *Store) record(ctx context.Context, ref string) (Record, uint64, error) {
	e, err := s.kv.Get(ctx, recordKey(ref))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Record{}, 0, notFoundf("image %s is not stored", ref)
	}
	if err != nil {
		return Record{}, 0, fmt.Errorf("images: reading %s: %w", ref, err)
	}
	var r Record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return Record{}, 0, fmt.Errorf("images: record of %s: %w", ref, err)
	}
	return r, e.Revision(), nil
}

// putRecord writes a reference's record.
func (s *Store) putRecord(ctx context.Context, r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, recordKey(r.Ref), b); err != nil {
		return fmt.Errorf("images: writing %s: %w", r.Ref, err)
	}
	return nil
}

// listed is a record and its revision.
type listed struct {
	Record
	rev uint64
}

// records lists every record, sorted by reference.
func (s *Store) records(ctx context.Context) ([]listed, error) {
	ctx, cancel := context.WithCancel(ctx) // also ends nats.go's per-watch goroutine
	defer cancel()
	w, err := s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("images: listing: %w", err)
	}
	defer func() {
		_ = w.Stop()
		for range w.Updates() { // until nats.go closes it: its sender never blocks
		}
	}()
	var out []listed
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("images: listing: watcher closed early")
			}
			if e == nil {
				sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
				return out, nil
			}
			if e.Operation() != jetstream.KeyValuePut {
				continue
			}
			var r Record
			if err := json.Unmarshal(e.Value(), &r); err != nil {
				s.log.Warn("images: skipping an unreadable record", "key", e.Key(), "err", err)
				continue
			}
			out = append(out, listed{r, e.Revision()})
		case <-ctx.Done():
			return nil, fmt.Errorf("images: listing: %w", ctx.Err())
		}
	}
}

// List returns every stored image reference, sorted.
func (s *Store) List(ctx context.Context) ([]Record, error) {
	ls, err := s.records(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Record, len(ls))
	for i, l := range ls {
		out[i] = l.Record
	}
	return out, nil
}

// Remove deletes a reference's record; its blobs and layer directories go
// with the next Collect once nothing else uses them (running instances
// keep theirs). ref may be a reference, or the digest ("sha256:<hex>") of
// a stored image, which removes every reference to it. It returns the
// records removed; ErrNotFound when none matched.
func (s *Store) Remove(ctx context.Context, ref string) ([]Record, error) {
	var match func(Record) bool
	if h, err := parseDigest(ref); err == nil {
		match = func(r Record) bool { return r.Digest == h.String() }
	} else {
		norm, err := Normalize(ref)
		if err != nil {
			return nil, err
		}
		match = func(r Record) bool { return r.Ref == norm }
		ref = norm
	}
	ls, err := s.records(ctx)
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, l := range ls {
		if !match(l.Record) {
			continue
		}
		if err := s.kv.Delete(ctx, recordKey(l.Ref), jetstream.LastRevision(l.rev)); err != nil {
			return out, fmt.Errorf("images: removing %s: %w", l.Ref, err)
		}
		out = append(out, l.Record)
	}
	if len(out) == 0 {
		return nil, notFoundf("image %s is not stored", ref)
	}
	return out, nil
}

// openBlob streams a stored blob; ErrNotFound when it is not stored. The
// stream gets blobReadTimeout when ctx has no deadline.
func (s *Store) openBlob(ctx context.Context, digest string) (io.ReadCloser, error) {
	cancel := context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok {
		ctx, cancel = context.WithTimeout(ctx, blobReadTimeout)
	}
	res, err := s.blobs.Get(ctx, digest)
	if err != nil {
		cancel()
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return nil, notFoundf("blob %s is not stored", digest)
		}
		return nil, fmt.Errorf("images: reading blob %s: %w", digest, err)
	}
	return &blobReader{ObjectResult: res, cancel: cancel}, nil
}

// blobReader is a blob read that releases its context on Close.
type blobReader struct {
	jetstream.ObjectResult
	cancel context.CancelFunc
}

func (r *blobReader) Close() error {
	err := r.ObjectResult.Close()
	r.cancel()
	return err
}

// readBlob reads a small stored blob (manifest, config) whole, checking
// its digest.
func (s *Store) readBlob(ctx context.Context, digest string) ([]byte, error) {
	rc, err := s.openBlob(ctx, digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxJSONBlob+1))
	if err != nil {
		return nil, fmt.Errorf("images: reading blob %s: %w", digest, err)
	}
	if len(b) > maxJSONBlob {
		return nil, invalidf("blob %s is over %d bytes", digest, maxJSONBlob)
	}
	if got := digestBytes(b); got != digest {
		return nil, invalidf("stored blob %s has digest %s", digest, got)
	}
	return b, nil
}

// hasBlob reports whether a blob is stored.
func (s *Store) hasBlob(ctx context.Context, digest string) (bool, error) {
	_, err := s.blobs.GetInfo(ctx, digest)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("images: stat blob %s: %w", digest, err)
	}
	return true, nil
}

// digestBytes is the sha256 digest of b.
func digestBytes(b []byte) string {
	d := newDigester()
	_, _ = d.Write(b)
	return d.digest()
}
