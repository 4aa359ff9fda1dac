package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/openfc/openfc/internal/dircache"
)

// Get returns ref's image with every layer unpacked on this node, held
// until release is called (Collect never removes a held layer). ref is
// looked up among the stored images (by reference, or by digest for a
// digest reference); one that is not stored is pulled from its registry
// with auth (nil: the operator's docker config, else anonymous) and
// stored. ErrNotFound when it is neither stored nor pullable, ErrInvalid
// when the reference or the image is refused.
func (s *Store) Get(ctx context.Context, ref string, auth *Auth) (img *Image, release func(), err error) {
	r, err := parseRef(ref)
	if err != nil {
		return nil, nil, err
	}
	if s.isClosed() {
		return nil, nil, ErrClosed
	}
	norm := refString(r)
	info, err := s.resolve(ctx, r, norm, auth)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(info.diffIDs))
	for i, id := range info.diffIDs {
		ids[i] = strings.TrimPrefix(id, "sha256:")
	}
	// Held before the directories are looked at: a sweep either ran
	// before (and the layer is unpacked again) or leaves it alone.
	release = s.hold(ids)
	img = &Image{Ref: norm, Digest: info.digest, Config: info.config}
	for _, i := range distinctLayers(ids) {
		dir, err := s.unpack(ctx, info, i)
		if err != nil {
			release()
			return nil, nil, fmt.Errorf("image %s: layer %d (%s): %w", norm, i, info.manifest.Layers[i].Digest, err)
		}
		img.Layers = append(img.Layers, dir)
	}
	return img, release, nil
}

// distinctLayers returns the indexes of the layers to stack, lowest
// first: a layer that comes again higher up (empty layers often do) is
// stacked once, at its highest place. overlayfs refuses a lower directory
// twice, and the lower copy changes nothing: the higher one has every
// file, whiteout and opaque marker it has, above whatever came between.
func distinctLayers(ids []string) []int {
	last := map[string]int{}
	for i, id := range ids {
		last[id] = i
	}
	var out []int
	for i, id := range ids {
		if last[id] == i {
			out = append(out, i)
		}
	}
	return out
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// hold counts a Get's use of layers; release ends it (once).
func (s *Store) hold(ids []string) (release func()) {
	s.mu.Lock()
	for _, id := range ids {
		s.holds[id]++
	}
	s.mu.Unlock()
	return sync.OnceFunc(func() {
		s.mu.Lock()
		for _, id := range ids {
			if s.holds[id]--; s.holds[id] <= 0 {
				delete(s.holds, id)
			}
		}
		s.mu.Unlock()
	})
}

// unpack makes sure layer i of the image is unpacked and returns its
// directory: one unpack per layer at a time, into a temporary directory
// renamed into place once complete.
func (s *Store) unpack(ctx context.Context, info *imageInfo, i int) (string, error) {
	id := strings.TrimPrefix(info.diffIDs[i], "sha256:")
	dest := filepath.Join(s.layersDir, id)
	unlock := s.keys.lock("layer " + id)
	defer unlock()
	if _, err := os.Lstat(dest); err == nil {
		return dest, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("images: layer dir: %w", err)
	}
	rc, err := s.openBlob(ctx, info.manifest.Layers[i].Digest.String())
	if err != nil {
		return "", err
	}
	defer rc.Close()
	tmp, err := dircache.TempDir(s.layersDir, id)
	if err == nil {
		err = os.Chmod(tmp, 0o755) // MkdirTemp makes it 0700; the container's users read it
	}
	if err != nil {
		return "", fmt.Errorf("images: %w", err)
	}
	d := newDigester()
	v := &verifyReader{r: rc, d: d, want: info.manifest.Layers[i].Digest.String(), size: -1}
	zr, err := decompress(v)
	if err == nil {
		var got string
		got, err = extractLayer(zr, tmp)
		zr.Close()
		if err == nil && got != info.diffIDs[i] {
			err = invalidf("the stored layer's uncompressed digest is %s, not %s", got, info.diffIDs[i])
		}
	}
	if err == nil {
		// The blob's digest is checked at its end.
		_, err = io.Copy(io.Discard, v)
	}
	if err == nil {
		err = os.Rename(tmp, dest)
	}
	if err != nil {
		if rmErr := os.RemoveAll(tmp); rmErr != nil {
			s.log.Warn("images: cannot remove a failed unpack", "dir", tmp, "err", rmErr)
		}
		return "", err
	}
	s.log.Debug("unpacked layer", "diff_id", info.diffIDs[i])
	return dest, nil
}

// sweepLayers removes the layer directories of this node that keep
// refuses (by diff ID hex) and nothing holds, the unpacks a crash
// interrupted and the trash a crash left. It returns how many layer
// directories it removed.
func (s *Store) sweepLayers(keep func(id string) bool) (int, error) {
	busy := func(id string) bool { return s.holds[id] > 0 }
	retire := func(id string) bool { return !busy(id) && !keep(id) }
	n, err := dircache.Sweep(s.layersDir, &s.mu, busy, retire, s.log)
	if err != nil {
		return n, fmt.Errorf("images: %w", err)
	}
	return n, nil
}
