package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nats-io/nats.go/jetstream"
)

// source is an image to store: its raw manifest and config, and its
// layers' blobs as the source holds them.
type source struct {
	manifest, config []byte
	// openLayer opens the blob of the manifest's layer i.
	openLayer func(ctx context.Context, i int) (io.ReadCloser, error)
}

// ProgressFunc is told, as an image is stored, how many of its bytes
// (manifest, config and layer blobs) are stored so far; blobs the store
// already had count at once.
type ProgressFunc func(done, total int64)

// storeImage stores an image under refs: its layers (each checked by
// scanLayer and against its diff ID), config and manifest, then a record
// per reference, so that a record never names a blob not yet stored.
func (s *Store) storeImage(ctx context.Context, src source, refs []string, origin Source, progress ProgressFunc) ([]Record, error) {
	info, err := parseImage(src.manifest, src.config, s.platform)
	if err != nil {
		return nil, err
	}
	release := s.holdWriting(info.blobs())
	defer release()
	var done int64
	report := func(n int64) {
		done += n
		if progress != nil {
			progress(done, info.size)
		}
	}
	for i, l := range info.manifest.Layers {
		open := func() (io.ReadCloser, error) { return src.openLayer(ctx, i) }
		if err := s.putLayer(ctx, l, info.diffIDs[i], open, report); err != nil {
			return nil, fmt.Errorf("layer %d (%s): %w", i, l.Digest, err)
		}
	}
	for _, b := range [][]byte{src.config, src.manifest} {
		if err := s.putSmall(ctx, b); err != nil {
			return nil, err
		}
		report(int64(len(b)))
	}
	now := s.opts.Now().UTC()
	out := make([]Record, 0, len(refs))
	for _, ref := range refs {
		r := Record{Ref: ref, Digest: info.digest, Size: info.size, Created: now, Source: origin}
		if err := s.putRecord(ctx, r); err != nil {
			return out, err
		}
		out = append(out, r)
	}
	s.mu.Lock()
	s.infos[info.digest] = info
	s.mu.Unlock()
	s.log.Info("stored image", "refs", refs, "digest", info.digest, "bytes", info.size, "source", origin)
	return out, nil
}

// putSmall stores a manifest or config unless it is stored already.
func (s *Store) putSmall(ctx context.Context, b []byte) error {
	digest := digestBytes(b)
	unlock := s.keys.lock("blob " + digest)
	defer unlock()
	if ok, err := s.hasBlob(ctx, digest); err != nil || ok {
		return err
	}
	if _, err := s.blobs.Put(ctx, jetstream.ObjectMeta{Name: digest}, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("images: storing blob %s: %w", digest, err)
	}
	return nil
}

// putLayer stores a layer blob unless it is stored already. On its way to
// the object store the blob is checked: its size and digest against the
// manifest's descriptor, its tar entries by scanLayer, its uncompressed
// digest against diffID. A blob that fails is not stored (the reader's
// error makes the object store drop what it had written).
func (s *Store) putLayer(ctx context.Context, l v1.Descriptor, diffID string, open func() (io.ReadCloser, error), report func(int64)) error {
	digest := l.Digest.String()
	unlock := s.keys.lock("blob " + digest)
	defer unlock()
	if ok, err := s.hasBlob(ctx, digest); err != nil {
		return err
	} else if ok {
		report(l.Size)
		return nil
	}
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	sc := startScan()
	defer sc.stop()
	v := &verifyReader{
		r: io.TeeReader(&countReader{r: rc, report: report}, sc.pw), d: newDigester(), want: digest, size: l.Size,
		check: func() error {
			id, err := sc.finish()
			if err != nil {
				return err
			}
			if id != diffID {
				return invalidf("the layer's uncompressed digest is %s, its config says %s", id, diffID)
			}
			return nil
		},
	}
	if _, err := s.blobs.Put(ctx, jetstream.ObjectMeta{Name: digest}, v); err != nil {
		if errors.Is(err, ErrInvalid) {
			return err
		}
		return fmt.Errorf("images: storing blob %s: %w", digest, err)
	}
	return nil
}

// scan checks a layer blob in a goroutine as it streams by (pw): it
// decompresses it and runs scanLayer.
type scan struct {
	pw   *io.PipeWriter
	done chan scanResult
	once sync.Once
	res  scanResult
}

type scanResult struct {
	diffID string
	err    error
}

// errScanStopped ends a scan whose blob was not read to its end.
var errScanStopped = errors.New("layer read stopped")

func startScan() *scan {
	pr, pw := io.Pipe()
	sc := &scan{pw: pw, done: make(chan scanResult, 1)}
	go func() {
		id, err := scanBlob(pr)
		if err != nil {
			// Writes fail from now on, with the scan's error, which is
			// then the Put's: the blob's reader never blocks on a scan
			// that stopped.
			pr.CloseWithError(err)
		} else {
			_, _ = io.Copy(io.Discard, pr) // a compressed stream's trailing bytes
		}
		sc.done <- scanResult{id, err}
	}()
	return sc
}

// finish tells the scan the blob ended and returns its result.
func (sc *scan) finish() (string, error) {
	sc.once.Do(func() {
		sc.pw.Close()
		sc.res = <-sc.done
	})
	return sc.res.diffID, sc.res.err
}

// stop ends the scan (if finish did not) and waits for its goroutine.
func (sc *scan) stop() {
	sc.once.Do(func() {
		sc.pw.CloseWithError(errScanStopped)
		sc.res = <-sc.done
	})
}

// scanBlob decompresses a layer blob and checks its entries.
func scanBlob(r io.Reader) (string, error) {
	zr, err := decompress(r)
	if err != nil {
		return "", err
	}
	defer zr.Close()
	return scanLayer(zr)
}

// countReader reports the bytes read through it.
type countReader struct {
	r      io.Reader
	report func(int64)
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.report(int64(n))
	}
	return n, err
}

// holdWriting keeps blobs from collection while an import or pull stores
// them and writes the records that reference them; a Collect that began
// before release also spares them.
func (s *Store) holdWriting(digests []string) (release func()) {
	s.mu.Lock()
	s.seq++
	for _, d := range digests {
		h := s.writing[d]
		h.n++
		s.writing[d] = h
	}
	s.mu.Unlock()
	return sync.OnceFunc(func() {
		s.mu.Lock()
		s.seq++
		for _, d := range digests {
			h := s.writing[d]
			h.n--
			h.released = s.seq
			s.writing[d] = h
		}
		s.mu.Unlock()
	})
}

// writeHold is how many imports and pulls store a blob, and the seq at
// which the last one ended.
type writeHold struct {
	n        int
	released uint64
}

// keyLocks serialises work on one key (a blob's put, a layer's unpack); an
// entry lives while someone holds or waits for it.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	users int
}

// lock locks key and returns its unlock.
func (k *keyLocks) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyLock{}
		k.m[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
