package images

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Names in the layers dir that are not a layer's: an unpack writes into
// ".unpack-<hex>-<random>" and renames it to "<hex>" when done; a sweep
// renames a directory to ".trash-<hex>-<random>" before removing it, so
// that no Get finds it half removed.
const (
	unpackPrefix = ".unpack-"
	trashPrefix  = ".trash-"
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
	tmp := filepath.Join(s.layersDir, unpackPrefix+id+"-"+rand.Text())
	if err := mkdir755(tmp); err != nil {
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
	entries, err := os.ReadDir(s.layersDir)
	if err != nil {
		return 0, fmt.Errorf("images: %w", err)
	}
	var remove []string
	removed := 0
	s.mu.Lock()
	for _, e := range entries {
		name := e.Name()
		switch {
		case !e.IsDir():
		case strings.HasPrefix(name, trashPrefix):
			remove = append(remove, name)
		case strings.HasPrefix(name, unpackPrefix):
			// In progress while its layer is held, else a crash's.
			id, _, _ := strings.Cut(strings.TrimPrefix(name, unpackPrefix), "-")
			if s.holds[id] == 0 {
				remove = append(remove, name)
			}
		case s.holds[name] > 0 || keep(name):
		default:
			trash := trashPrefix + name + "-" + rand.Text()
			if err := os.Rename(filepath.Join(s.layersDir, name), filepath.Join(s.layersDir, trash)); err != nil {
				s.log.Warn("images: cannot remove an unused layer", "layer", name, "err", err)
				continue
			}
			remove = append(remove, trash)
			removed++
		}
	}
	s.mu.Unlock()
	var errs []error
	for _, name := range remove {
		if err := os.RemoveAll(filepath.Join(s.layersDir, name)); err != nil {
			errs = append(errs, fmt.Errorf("images: %w", err))
		}
	}
	return removed, errors.Join(errs...)
}
