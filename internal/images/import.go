package images

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ImportOptions configure an import.
type ImportOptions struct {
	// Ref names the image. Empty: the names the tarball gives its images
	// (`docker save`'s RepoTags; an OCI index's io.containerd.image.name
	// annotation, or an org.opencontainers.image.ref.name that is a whole
	// reference). With Ref, the tarball must hold one image.
	Ref string
	// Progress, when set, is told how much of the import is stored.
	Progress ProgressFunc
}

// OCI annotations that name an image in an index.
const (
	annotationContainerdName = "io.containerd.image.name"
	annotationRefName        = "org.opencontainers.image.ref.name"
)

// Import stores the images of a tarball read from r: a `docker save`
// tarball or an OCI image archive (a tar of an OCI layout). The tarball
// is spooled to the cache's tmp dir, then read in place. Every layer is
// checked before it is stored (a tar entry that would escape the layer
// fails the import, naming the entry). It returns the records written.
func (s *Store) Import(ctx context.Context, r io.Reader, o ImportOptions) ([]Record, error) {
	if err := s.checkImport(o); err != nil {
		return nil, err
	}
	f, err := s.tempFile()
	if err != nil {
		return nil, err
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	if _, err := io.Copy(f, r); err != nil {
		return nil, fmt.Errorf("receiving the tarball: %w", err)
	}
	t, err := indexTar(f)
	if err != nil {
		return nil, err
	}
	return s.importFiles(ctx, t, o)
}

// ImportPath imports a tarball (as Import) or an OCI layout directory on
// this machine.
func (s *Store) ImportPath(ctx context.Context, p string, o ImportOptions) ([]Record, error) {
	if err := s.checkImport(o); err != nil {
		return nil, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	if fi.IsDir() {
		return s.importFiles(ctx, dirFiles{root: p}, o)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	defer f.Close()
	t, err := indexTar(f)
	if err != nil {
		return nil, err
	}
	return s.importFiles(ctx, t, o)
}

// checkImport refuses an import before its tarball is read: the store is
// closed, or the reference it names is not one.
func (s *Store) checkImport(o ImportOptions) error {
	if s.isClosed() {
		return ErrClosed
	}
	if o.Ref != "" {
		_, err := importRef(o.Ref)
		return err
	}
	return nil
}

// found is an image read from an archive, and the names it gives it.
type found struct {
	names []string
	src   source
	info  *imageInfo
}

// importFiles stores every image of an archive under its references,
// after checking all of them (so that a bad one stores nothing).
func (s *Store) importFiles(ctx context.Context, fsys files, o ImportOptions) ([]Record, error) {
	imgs, err := s.readArchive(ctx, fsys)
	if err != nil {
		return nil, err
	}
	refs, err := importRefs(imgs, o.Ref)
	if err != nil {
		return nil, err
	}
	var total, offset int64
	for _, img := range imgs {
		total += img.info.size
	}
	var out []Record
	for i, img := range imgs {
		var progress ProgressFunc
		if o.Progress != nil {
			base := offset
			progress = func(done, _ int64) { o.Progress(base+done, total) }
		}
		recs, err := s.storeImage(ctx, img.src, refs[i], SourceImport, progress)
		out = append(out, recs...)
		if err != nil {
			return out, err
		}
		offset += img.info.size
	}
	return out, nil
}

// importRefs returns the normalised references of each image: ref for
// the only one, else the names the archive gives.
func importRefs(imgs []found, ref string) ([][]string, error) {
	out := make([][]string, len(imgs))
	if ref != "" {
		if len(imgs) != 1 {
			return nil, invalidf("the tarball holds %d images; a reference names one", len(imgs))
		}
		norm, err := importRef(ref)
		if err != nil {
			return nil, err
		}
		out[0] = []string{norm}
		return out, nil
	}
	for i, img := range imgs {
		seen := map[string]bool{}
		for _, n := range img.names {
			norm, err := Normalize(n)
			if err != nil {
				return nil, fmt.Errorf("image %d of the tarball: %w", i, err)
			}
			if !seen[norm] {
				seen[norm] = true
				out[i] = append(out[i], norm)
			}
		}
		if len(out[i]) == 0 {
			return nil, invalidf("image %d of the tarball (%s) has no name: give it one (openfc images import FILE --ref name:tag)", i, img.info.digest)
		}
	}
	return out, nil
}

// importRef checks and normalises the reference an import is asked to
// store an image under: a tag, not a digest.
func importRef(ref string) (string, error) {
	r, err := parseRef(ref)
	if err != nil {
		return "", err
	}
	if _, ok := r.(name.Digest); ok {
		return "", invalidf("name the image by a tag (name:tag), not a digest: %s", ref)
	}
	return refString(r), nil
}

// readArchive reads the images of an OCI layout (index.json), else of a
// `docker save` tarball (manifest.json). Docker 25's docker save writes
// both: the OCI index keeps the registry's manifests (and digests).
func (s *Store) readArchive(ctx context.Context, fsys files) ([]found, error) {
	raw, err := readSmall(fsys, "index.json")
	if err == nil {
		return s.readLayout(ctx, fsys, raw)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	raw, err = readSmall(fsys, "manifest.json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, invalidf("neither a docker save tarball (manifest.json) nor an OCI image (index.json)")
	}
	if err != nil {
		return nil, err
	}
	return s.readDockerSave(fsys, raw)
}

// readLayout reads the images an OCI index lists.
func (s *Store) readLayout(ctx context.Context, fsys files, rawIndex []byte) ([]found, error) {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(rawIndex))
	if err != nil {
		return nil, invalidf("index.json: %v", err)
	}
	if len(idx.Manifests) == 0 {
		return nil, invalidf("index.json lists no image")
	}
	read := func(_ context.Context, digest string) ([]byte, error) {
		p, err := blobPath(digest)
		if err != nil {
			return nil, err
		}
		b, err := readSmall(fsys, p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, invalidf("blob %s is missing", digest)
		}
		return b, err
	}
	var out []found
	for _, d := range idx.Manifests {
		rawManifest, err := resolveManifest(ctx, read, d, s.platform)
		if err != nil {
			return nil, err
		}
		f, err := s.layoutImage(ctx, fsys, read, rawManifest)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", d.Digest, err)
		}
		if n := d.Annotations[annotationContainerdName]; n != "" {
			f.names = append(f.names, n)
		} else if n := d.Annotations[annotationRefName]; strings.ContainsAny(n, ":/@") {
			f.names = append(f.names, n) // a whole reference, not just a tag
		}
		out = append(out, f)
	}
	return out, nil
}

// layoutImage reads one image of an OCI layout from its raw manifest.
func (s *Store) layoutImage(ctx context.Context, fsys files, read func(context.Context, string) ([]byte, error), rawManifest []byte) (found, error) {
	m, err := v1.ParseManifest(bytes.NewReader(rawManifest))
	if err != nil {
		return found{}, invalidf("manifest: %v", err)
	}
	rawConfig, err := read(ctx, m.Config.Digest.String())
	if err != nil {
		return found{}, err
	}
	info, err := parseImage(rawManifest, rawConfig, s.platform)
	if err != nil {
		return found{}, err
	}
	open := func(_ context.Context, i int) (io.ReadCloser, error) {
		p, err := blobPath(info.manifest.Layers[i].Digest.String())
		if err != nil {
			return nil, err
		}
		return fsys.open(p)
	}
	return found{src: source{manifest: rawManifest, config: rawConfig, openLayer: open}, info: info}, nil
}

// dockerSaveImage is an entry of a `docker save` manifest.json.
type dockerSaveImage struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// readDockerSave reads the images of a `docker save` tarball. Its layers
// are files named in manifest.json; openfc writes each image an OCI
// manifest for them (digest and size read from the files, the media type
// from their first bytes).
func (s *Store) readDockerSave(fsys files, raw []byte) ([]found, error) {
	var entries []dockerSaveImage
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, invalidf("manifest.json: %v", err)
	}
	if len(entries) == 0 {
		return nil, invalidf("manifest.json lists no image")
	}
	var out []found
	for i, e := range entries {
		rawConfig, err := readSmall(fsys, e.Config)
		if err != nil {
			return nil, invalidf("image %d: config %s: %v", i, e.Config, err)
		}
		m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
			Config: v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(rawConfig)), Digest: mustHash(digestBytes(rawConfig))}}
		for _, l := range e.Layers {
			d, err := describeLayer(fsys, l)
			if err != nil {
				return nil, fmt.Errorf("image %d: layer %s: %w", i, l, err)
			}
			m.Layers = append(m.Layers, d)
		}
		rawManifest, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		info, err := parseImage(rawManifest, rawConfig, s.platform)
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		layers := e.Layers
		open := func(_ context.Context, n int) (io.ReadCloser, error) { return fsys.open(layers[n]) }
		out = append(out, found{names: e.RepoTags, info: info,
			src: source{manifest: rawManifest, config: rawConfig, openLayer: open}})
	}
	return out, nil
}

// describeLayer reads a layer file once for its descriptor.
func describeLayer(fsys files, name string) (v1.Descriptor, error) {
	rc, err := fsys.open(name)
	if err != nil {
		return v1.Descriptor{}, invalidf("%v", err)
	}
	defer rc.Close()
	br := bufio.NewReader(rc)
	head, _ := br.Peek(4)
	mt := compressedMediaType(head)
	d := newDigester()
	n, err := io.Copy(d, br)
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: types.MediaType(mt), Size: n, Digest: mustHash(d.digest())}, nil
}

// mustHash parses a digest the store computed.
func mustHash(s string) v1.Hash {
	h, err := v1.NewHash(s)
	if err != nil {
		panic(err)
	}
	return h
}
