package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// resolve finds the image ref names: its record, else (for a digest
// reference) a stored manifest with that digest, else its registry.
func (s *Store) resolve(ctx context.Context, r name.Reference, norm string, auth *Auth) (*imageInfo, error) {
	rec, _, err := s.record(ctx, norm)
	if err == nil {
		return s.info(ctx, rec.Digest)
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if d, ok := r.(name.Digest); ok {
		if info, err := s.info(ctx, d.DigestStr()); err == nil {
			// Recorded, so that collection sees it like a pulled image.
			rec := Record{Ref: norm, Digest: info.digest, Size: info.size, Created: s.opts.Now().UTC(), Source: SourcePull}
			return info, s.putRecord(ctx, rec)
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	return s.pullShared(ctx, r, norm, auth)
}

// info returns a stored image's parsed manifest and config.
func (s *Store) info(ctx context.Context, digest string) (*imageInfo, error) {
	s.mu.Lock()
	info := s.infos[digest]
	s.mu.Unlock()
	if info != nil {
		return info, nil
	}
	rawManifest, err := s.readBlob(ctx, digest)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(rawManifest))
	if err != nil {
		return nil, invalidf("stored manifest %s: %v", digest, err)
	}
	rawConfig, err := s.readBlob(ctx, m.Config.Digest.String())
	if err != nil {
		return nil, err
	}
	if info, err = parseImage(rawManifest, rawConfig, s.platform); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.infos[digest] = info
	s.mu.Unlock()
	return info, nil
}

// pullShared pulls ref once for all the Gets that want it at the same
// time. The pull is the store's (bounded by PullTimeout, ended by Close),
// not the first caller's: a caller whose ctx ends stops waiting, the pull
// goes on for the others.
func (s *Store) pullShared(ctx context.Context, r name.Reference, norm string, auth *Auth) (*imageInfo, error) {
	key := norm
	if auth != nil {
		key += "\x00" + auth.Username
	}
	ch := s.pulls.DoChan(key, func() (any, error) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		s.wg.Add(1)
		s.mu.Unlock()
		defer s.wg.Done()
		pctx, cancel := context.WithTimeout(s.ctx, s.opts.PullTimeout)
		defer cancel()
		return s.pull(pctx, r, norm, auth)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*imageInfo), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the pull of %s: %w", norm, ctx.Err())
	}
}

// pull fetches ref's image for this node's platform (from an index when
// the reference names one) and stores it.
func (s *Store) pull(ctx context.Context, r name.Reference, norm string, auth *Auth) (*imageInfo, error) {
	opts := []remote.Option{remote.WithContext(ctx), remote.WithPlatform(s.platform), remote.WithUserAgent("openfc")}
	if s.opts.Transport != nil {
		opts = append(opts, remote.WithTransport(s.opts.Transport))
	}
	if auth != nil {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: auth.Username, Password: auth.Password}))
	} else {
		opts = append(opts, remote.WithAuthFromKeychain(s.opts.Keychain))
	}
	s.log.Info("pulling image", "ref", norm)
	img, err := remote.Image(r, opts...)
	if err != nil {
		return nil, pullErr(norm, err)
	}
	rawManifest, err := img.RawManifest()
	if err != nil {
		return nil, pullErr(norm, err)
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return nil, pullErr(norm, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, pullErr(norm, err)
	}
	src := source{manifest: rawManifest, config: rawConfig, openLayer: func(_ context.Context, i int) (io.ReadCloser, error) {
		if i >= len(layers) {
			return nil, invalidf("layer %d is not in the image", i)
		}
		return layers[i].Compressed()
	}}
	recs, err := s.storeImage(ctx, src, []string{norm}, SourcePull, nil)
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", norm, err)
	}
	return s.info(ctx, recs[0].Digest)
}

// pullErr explains a registry's failure: every one is ErrNotFound (the
// image cannot be had), with what the registry said.
func pullErr(ref string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusNotFound:
			return notFoundf("the registry has no image %s", ref)
		case http.StatusUnauthorized, http.StatusForbidden:
			return notFoundf("the registry refused access to %s (check the function's registryConfig, or the server's docker config): %v", ref, err)
		}
		return notFoundf("pulling %s: %v", ref, err)
	}
	if errors.Is(err, ErrInvalid) {
		return err
	}
	return notFoundf("%s is not stored, and pulling it failed (import it with `openfc images import`): %v", ref, err)
}
