package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/fc"
)

// CodeInfo describes a stored code package.
type CodeInfo struct {
	Checksum string
	Size     int64
	// ModTime is when the package was stored.
	ModTime time.Time
}

// PutCode stores the zip read from r under checksum unless it is stored
// already (storing the same checksum twice is a no-op).
func (s *JetStream) PutCode(ctx context.Context, checksum string, r io.Reader) error {
	if checksum == "" {
		return fc.Errorf(fc.CodeInvalidArgument, "code checksum is empty")
	}
	_, err := s.code.GetInfo(ctx, checksum)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("store: stat code %s: %w", checksum, err)
	}
	if _, err := s.code.Put(ctx, jetstream.ObjectMeta{Name: checksum}, r); err != nil {
		return fmt.Errorf("store: put code %s: %w", checksum, err)
	}
	return nil
}

// GetCode opens the zip stored under checksum; fc.ErrNotFound when it is
// absent. The stream is bound to ctx; when ctx has no deadline it gets
// codeReadTimeout. Close releases it.
func (s *JetStream) GetCode(ctx context.Context, checksum string) (io.ReadCloser, error) {
	if checksum == "" {
		return nil, fmt.Errorf("store: code with empty checksum: %w", fc.ErrNotFound)
	}
	cancel := context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok {
		ctx, cancel = context.WithTimeout(ctx, codeReadTimeout)
	}
	res, err := s.code.Get(ctx, checksum)
	if err != nil {
		cancel()
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return nil, fmt.Errorf("store: code %s: %w", checksum, fc.ErrNotFound)
		}
		return nil, fmt.Errorf("store: get code %s: %w", checksum, err)
	}
	return &codeReader{ObjectResult: res, cancel: cancel}, nil
}

// codeReader is an object read that releases its context on Close.
type codeReader struct {
	jetstream.ObjectResult
	cancel context.CancelFunc
}

// Close closes the object stream and releases its context.
func (r *codeReader) Close() error {
	err := r.ObjectResult.Close()
	r.cancel()
	return err
}

// DeleteCode removes the zip stored under checksum; a missing zip is fine.
// DeleteObject says how the object goes for good.
func (s *JetStream) DeleteCode(ctx context.Context, checksum string) error {
	if checksum == "" {
		return nil
	}
	return DeleteObject(ctx, s.code, s.codeStream, codeBucket, checksum)
}

// ListCode lists the stored zips.
func (s *JetStream) ListCode(ctx context.Context) ([]CodeInfo, error) {
	objs, err := s.code.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: list code: %w", err)
	}
	out := make([]CodeInfo, 0, len(objs))
	for _, o := range objs {
		out = append(out, CodeInfo{Checksum: o.Name, Size: int64(o.Size), ModTime: o.ModTime})
	}
	return out, nil
}

// FunctionCodeChecksums returns the code checksum of every function in
// the store (read from the store, not the catalog: with a shared store,
// another node may have just written one).
func (s *JetStream) FunctionCodeChecksums(ctx context.Context) ([]string, error) {
	items, err := s.list(ctx, bFunctions, "*.*")
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		v, err := decode(bFunctions, it.key, it.val)
		if err != nil {
			return nil, err
		}
		if sum := v.(*fc.Function).CodeChecksum; sum != "" {
			out = append(out, sum)
		}
	}
	return out, nil
}

// FunctionImages returns, for every image reference a custom-container
// function names, the functions ("service/function") that name it, read
// from the store as FunctionCodeChecksums is.
func (s *JetStream) FunctionImages(ctx context.Context) (map[string][]string, error) {
	items, err := s.list(ctx, bFunctions, "*.*")
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, it := range items {
		v, err := decode(bFunctions, it.key, it.val)
		if err != nil {
			return nil, err
		}
		fn := v.(*fc.Function)
		if c := fn.CustomContainerConfig; fn.IsContainer() && c != nil && c.Image != "" {
			out[c.Image] = append(out[c.Image], fn.ServiceName+"/"+fn.FunctionName)
		}
	}
	return out, nil
}
